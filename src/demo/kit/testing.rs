//! What the sandboxes' tests share: a quick retry policy, connectors to the demo's NinjaOne and
//! ConnectWise sandboxes, and a sync's snapshot of either side.

use std::time::Duration;

use secrecy::SecretString;

use crate::connectors::connectwise::{self, ConnectWise};
use crate::connectors::ninjaone::{self, NinjaOne};
use crate::connectors::{Connector, SyncCx};
use crate::demo::Sandbox;
use crate::http::RetryPolicy;
use crate::model::{PsaSnapshot, Snapshot, VendorSnapshot};

/// Two attempts, short waits: a refused request fails the test quickly.
pub fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(1),
        timeout: Duration::from_secs(20),
        ..RetryPolicy::default()
    }
}

/// A NinjaOne connector to the sandbox, with `secret` and the page size asked for.
pub fn ninja(sb: &Sandbox, page_size: Option<usize>, secret: &str) -> NinjaOne {
    let settings = ninjaone::Settings {
        page_size,
        ..sb.settings()
    };
    NinjaOne::new("ninjaone", &settings, SecretString::from(secret), retry()).unwrap()
}

/// A ConnectWise connector to the sandbox, with `private_key` and the page size asked for.
pub fn cw(sb: &Sandbox, page_size: Option<usize>, private_key: &str) -> ConnectWise {
    let settings = connectwise::Settings {
        page_size,
        ..sb.settings()
    };
    let key = SecretString::from(private_key);
    ConnectWise::new("connectwise", &settings, key, retry()).unwrap()
}

pub async fn vendor_snapshot(c: &dyn Connector) -> VendorSnapshot {
    match c.sync(&SyncCx::silent()).await.unwrap() {
        Snapshot::Vendor(v) => v,
        other => panic!("expected a vendor snapshot, got {other:?}"),
    }
}

pub async fn psa_snapshot(c: &dyn Connector) -> PsaSnapshot {
    match c.sync(&SyncCx::silent()).await.unwrap() {
        Snapshot::Psa(p) => p,
        other => panic!("expected a PSA snapshot, got {other:?}"),
    }
}
