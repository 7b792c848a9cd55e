//! `[connections.<name>]` with `kind = "tigerpaw"`: the MSP's own REST API host, which accounts
//! bill and the request rate.

use serde::{Deserialize, Serialize};

use super::{Args, DEFAULT_REQUESTS_PER_MINUTE};
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::{RetryPolicy, check_url};

/// Account types that bill unless the settings say otherwise.
pub const DEFAULT_BILLABLE_TYPE: &str = "Customer";

fn default_types() -> Vec<String> {
    vec![DEFAULT_BILLABLE_TYPE.to_string()]
}

/// `[connections.<name>]` with `kind = "tigerpaw"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The MSP's Tigerpaw REST API host (`https://api.example-msp.com`; http only on
    /// loopback). Tigerpaw installs the API per MSP, so there is no default.
    pub url: String,
    /// Account types that bill (compared without case; default `Customer`); vendors, prospects
    /// and other types are kept, not billable. Empty: every active account bills.
    #[serde(default = "default_types")]
    pub billable_types: Vec<String>,
    /// At most this many requests a minute (1 to 600; default 120: Tigerpaw publishes no limit,
    /// and the API runs on the MSP's own server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<usize>,
}

/// The most `requests_per_minute` allows.
pub const MAX_REQUESTS_PER_MINUTE: usize = 600;

impl Settings {
    pub fn requests_per_minute(&self) -> usize {
        self.requests_per_minute
            .unwrap_or(DEFAULT_REQUESTS_PER_MINUTE)
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "tigerpaw",
        name: "Tigerpaw",
        role: Role::Psa,
        secrets: &["api_token"],
        // No published limit: gentle on the MSP's own server.
        concurrency: 2,
        reads_files: false,
    };
    // An additional charge has a price but no cost field.
    const LINE_COST: bool = false;

    const REPORT_ONLY: Option<&'static str> = Some(
        "its REST API has no documented write for agreement additional charges (only a legacy SOAP operation whose schema is not public)",
    );
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        if self.url.trim().is_empty() {
            anyhow::bail!(
                "connection `{name}`: `url` is empty; give your Tigerpaw REST API host (the one serving /gettingstarted)"
            );
        }
        check_url(name, self.url.trim())?;
        let n = self.requests_per_minute();
        if !(1..=MAX_REQUESTS_PER_MINUTE).contains(&n) {
            anyhow::bail!(
                "connection `{name}`: `requests_per_minute` is {n}; give 1 to {MAX_REQUESTS_PER_MINUTE}"
            );
        }
        Ok(())
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::Tigerpaw::new(name, self, secret, retry)?))
    }
}
