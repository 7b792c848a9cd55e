//! What the sandboxes' tests share: a quick retry policy, connectors to the demo's NinjaOne and
//! ConnectWise sandboxes, a sync's snapshot of either side, and what a vendor snapshot counts
//! per account and service (to hold against the sandbox's own `usage`).

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;

use secrecy::SecretString;

use crate::connectors::connectwise::{self, ConnectWise};
use crate::connectors::ninjaone::{self, NinjaOne};
use crate::connectors::{Connector, SyncCx};
use crate::demo::Sandbox;
use crate::http::RetryPolicy;
use crate::model::{PsaSnapshot, ServiceDef, Snapshot, VendorSnapshot};

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

/// What `services` count in `v`, by (account name, service key), leaving out zeros: the
/// connector's view of the sandbox's records, to compare with the sandbox's `usage`.
pub fn counted_by_account(
    v: &VendorSnapshot,
    services: &[&ServiceDef],
) -> BTreeMap<(String, String), Decimal> {
    let names: BTreeMap<&str, &str> = v
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let mut counted: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for item in &v.items {
        for s in services {
            let w = s.weight(item);
            if !w.is_zero() {
                *counted
                    .entry((names[item.account_id.as_str()].to_string(), s.key.clone()))
                    .or_default() += w;
            }
        }
    }
    counted
}

/// Holds what `psa` bills now, per (company name, product), against what the sample planted
/// (the NinjaOne lines and every vendor's), after `round` (a PSA's whole units); returns how
/// many planted lines were checked. Lines count when they and their agreement are active now.
pub fn assert_bills_the_planted(
    sample: &crate::demo::sample::SampleMsp,
    psa: &PsaSnapshot,
    round: impl Fn(Decimal) -> Decimal,
) -> usize {
    use std::collections::HashMap;
    let now = jiff::Timestamp::now();
    let names: HashMap<&str, &str> = psa
        .companies
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let agreements: HashMap<&str, _> = psa.agreements.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut billed: HashMap<(&str, &str), Decimal> = HashMap::new();
    for l in &psa.lines {
        let agreement_active = agreements
            .get(l.agreement_id.as_str())
            .is_some_and(|a| a.is_active_at(now));
        if l.is_active_at(now) && agreement_active {
            *billed
                .entry((names[l.company_id.as_str()], l.product_identifier.as_str()))
                .or_default() += l.quantity;
        }
    }
    let expected = sample
        .planted
        .expected
        .iter()
        .chain(sample.vendors.iter().flat_map(|v| v.expected.iter()));
    let mut checked = 0;
    for e in expected {
        let got = billed
            .get(&(e.company.as_str(), e.product.as_str()))
            .copied()
            .unwrap_or(Decimal::ZERO);
        assert_eq!(got, round(e.billed), "{} / {}", e.company, e.product);
        checked += 1;
    }
    assert!(checked > 10, "{checked}");
    checked
}
