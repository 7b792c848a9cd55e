//! `[connections.<name>]` with `kind = "acronis"`: the data-center URL and the API client id.

use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::http::check_url;
use crate::model::{ServiceDef, ServiceFamily};

/// `[connections.<name>]` with `kind = "acronis"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The data-center URL shown when the API client was created
    /// (`https://eu2-cloud.acronis.com`).
    pub url: String,
    /// The API client's id (Management portal > Settings > API clients).
    pub client_id: String,
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "acronis",
        name: "Acronis Cyber Protect Cloud",
        role: Role::Vendor,
        secrets: &["client_secret"],
        // No published limit.
        concurrency: 4,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        if self.client_id.trim().is_empty() {
            anyhow::bail!(
                "[connections.{name}] client_id is empty; copy the client ID from Settings > API clients in the Acronis Management portal"
            );
        }
        if self.url.trim().is_empty() {
            anyhow::bail!(
                "[connections.{name}] url is empty; set the data center URL shown with the API client (such as https://eu2-cloud.acronis.com)"
            );
        }
        check_url(name, self.url.trim())
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
        Ok(Box::new(super::Acronis::new(name, self, secret, retry)?))
    }
}
