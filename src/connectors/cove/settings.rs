//! `[connections.<name>]` with `kind = "cove"`: the partner and API user to log in as, and the
//! host.

use serde::{Deserialize, Serialize};

use super::Args;
use super::DEFAULT_URL;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::http::check_url;
use crate::model::{ServiceDef, ServiceFamily};

/// `[connections.<name>]` with `kind = "cove"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The partner name exactly as the Management Console shows it (case included).
    pub partner: String,
    /// The API user's login name.
    pub username: String,
    /// The JSON-RPC host (default [`DEFAULT_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Settings {
    pub fn url(&self) -> &str {
        self.url.as_deref().unwrap_or(DEFAULT_URL).trim()
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "cove",
        name: "N-able Cove Data Protection",
        role: Role::Vendor,
        secrets: &["password"],
        // The visa chain makes calls serial.
        concurrency: 1,
        reads_files: false,
    };
    const HIGH_WATERMARK: Option<&'static str> =
        Some("N-able bills Cove on each month's peak device count (its Maximum Value report)");
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        for (key, v) in [("partner", &self.partner), ("username", &self.username)] {
            if v.trim().is_empty() {
                anyhow::bail!(
                    "[connections.{name}] {key} is empty; give the Cove partner name and the API user's login name"
                );
            }
        }
        check_url(name, self.url())
            .map_err(|e| anyhow::anyhow!("[connections.{name}] url: {e}"))?;
        Ok(())
    }

    fn services() -> Vec<ServiceDef> {
        super::services()
    }

    fn families() -> Vec<ServiceFamily> {
        super::families()
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::Cove::new(name, self, secret, retry)?))
    }
}
