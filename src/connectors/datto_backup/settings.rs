//! `[connections.<name>]` with `kind = "datto-backup"`: the API key pair's public key and the
//! host.

use serde::{Deserialize, Serialize};

use super::Args;
use super::DEFAULT_URL;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::http::check_url;
use crate::model::{ServiceDef, ServiceFamily};

/// `[connections.<name>]` with `kind = "datto-backup"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The API key pair's public key (Datto Partner Portal > Admin > Integrations).
    pub public_key: String,
    /// The REST API host (default [`DEFAULT_URL`]).
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
        key: "datto-backup",
        name: "Datto SaaS Protection and BCDR",
        role: Role::Vendor,
        secrets: &["secret_key"],
        // No published limit; public clients keep to about 60 requests a minute.
        concurrency: 2,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        if self.public_key.trim().is_empty() {
            anyhow::bail!(
                "[connections.{name}] public_key is empty; copy the public key from Admin > Integrations in the Datto Partner Portal"
            );
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
        Ok(Box::new(super::DattoBackup::new(
            name, self, secret, retry,
        )?))
    }
}
