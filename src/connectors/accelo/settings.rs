//! `[connections.<name>]` with `kind = "accelo"`: the deployment (or a URL), the service
//! application's client id, which company standings bill and the request rate.

use serde::{Deserialize, Serialize};

use super::{Args, MAX_REQUESTS_PER_HOUR};
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::{RetryPolicy, check_url};

/// Company standings that bill unless the settings say otherwise.
pub const DEFAULT_BILLABLE_STANDING: &str = "active";

fn default_standings() -> Vec<String> {
    vec![DEFAULT_BILLABLE_STANDING.to_string()]
}

/// `[connections.<name>]` with `kind = "accelo"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The deployment: `acme` for `https://acme.api.accelo.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The API host instead of `deployment` (`https://acme.api.accelo.com`; http only on
    /// loopback, for tests and the demo). The API is at `{url}/api/v0`, the token endpoint at
    /// `{url}/oauth2/v0/token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The service application's client id (Configuration > API > Register Application).
    pub client_id: String,
    /// Company standings that bill (compared without case; default `active`); the others are
    /// kept, not billable. Empty: every company bills.
    #[serde(default = "default_standings")]
    pub billable_standings: Vec<String>,
    /// At most this many requests an hour (1 to 5,000; default 5,000, the deployment's limit),
    /// lower when other integrations share the deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_hour: Option<usize>,
}

impl Settings {
    /// The API host: `https://acme.api.accelo.com`, or `url`.
    pub fn host(&self) -> String {
        match (&self.url, &self.deployment) {
            (Some(u), _) => u.trim().trim_end_matches('/').to_string(),
            (None, Some(d)) => format!("https://{}.api.accelo.com", clean_deployment(d)),
            (None, None) => String::new(),
        }
    }

    pub fn requests_per_hour(&self) -> usize {
        self.requests_per_hour.unwrap_or(MAX_REQUESTS_PER_HOUR)
    }
}

/// `acme`, `acme.api.accelo.com`, `acme.accelo.com` or `https://acme.accelo.com/` all mean
/// `acme`.
pub fn clean_deployment(d: &str) -> String {
    let d = d.trim();
    let d = d
        .strip_prefix("https://")
        .or_else(|| d.strip_prefix("http://"))
        .unwrap_or(d)
        .trim_end_matches('/');
    let d = d
        .strip_suffix(".api.accelo.com")
        .or_else(|| d.strip_suffix(".accelo.com"))
        .unwrap_or(d);
    d.to_ascii_lowercase()
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "accelo",
        name: "Accelo",
        role: Role::Psa,
        secrets: &["client_secret"],
        concurrency: 4,
        reads_files: false,
    };
    const REPORT_ONLY: Option<&'static str> = Some(
        "whether a material on a contract period can be changed in place, and with which write scope, is not documented",
    );
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        match (&self.deployment, &self.url) {
            (Some(_), Some(_)) => {
                anyhow::bail!("connection `{name}`: give `deployment` or `url`, not both")
            }
            (None, None) => anyhow::bail!(
                "connection `{name}`: `deployment` is missing (the part before .api.accelo.com, `acme` for https://acme.api.accelo.com)"
            ),
            (Some(d), None) => {
                let c = clean_deployment(d);
                if c.is_empty() || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    anyhow::bail!(
                        "connection `{name}`: `deployment = \"{d}\"` is not an Accelo deployment; give the part before .api.accelo.com (`acme` for https://acme.api.accelo.com)"
                    );
                }
            }
            (None, Some(u)) => {
                check_url(name, u)?;
            }
        }
        if self.client_id.trim().is_empty() {
            anyhow::bail!(
                "connection `{name}`: `client_id` is empty; give the service application's client id (Configuration > API)"
            );
        }
        let n = self.requests_per_hour();
        if !(1..=MAX_REQUESTS_PER_HOUR).contains(&n) {
            anyhow::bail!(
                "connection `{name}`: `requests_per_hour` is {n}; give 1 to {MAX_REQUESTS_PER_HOUR} (Accelo allows {MAX_REQUESTS_PER_HOUR} an hour per deployment)"
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
        Ok(Box::new(super::Accelo::new(name, self, secret, retry)?))
    }
}
