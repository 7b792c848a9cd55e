//! `[connections.<name>]` with `kind = "pax8"`: the client id, and the API and token URLs and
//! audience (Pax8's docs have given two pairs).

use serde::{Deserialize, Serialize};

use super::Args;
use super::{DEFAULT_API_URL, DEFAULT_AUDIENCE, DEFAULT_TOKEN_URL};
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::http::check_url;
use crate::model::{ServiceDef, ServiceFamily};

/// `[connections.<name>]` with `kind = "pax8"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The credentials' client id (Pax8 app > Integrations > Credentials).
    pub client_id: String,
    /// The Partner API base (default [`DEFAULT_API_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The token endpoint (default [`DEFAULT_TOKEN_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// The token's audience (default [`DEFAULT_AUDIENCE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

impl Settings {
    pub fn api_url(&self) -> &str {
        self.api_url.as_deref().unwrap_or(DEFAULT_API_URL).trim()
    }

    pub fn token_url(&self) -> &str {
        self.token_url
            .as_deref()
            .unwrap_or(DEFAULT_TOKEN_URL)
            .trim()
    }

    pub fn audience(&self) -> &str {
        self.audience.as_deref().unwrap_or(DEFAULT_AUDIENCE).trim()
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "pax8",
        name: "Pax8",
        role: Role::Vendor,
        secrets: &["client_secret"],
        // Two lists read one page after the other; a third-party guide's 1,000 calls a minute
        // is never approached.
        concurrency: 4,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        if self.client_id.trim().is_empty() {
            anyhow::bail!(
                "[connections.{name}] client_id is empty; copy the client id from Integrations > Credentials in the Pax8 app"
            );
        }
        if self.audience().is_empty() {
            anyhow::bail!(
                "[connections.{name}] audience is empty; remove the key for the default ({DEFAULT_AUDIENCE})"
            );
        }
        check_url(name, self.api_url())
            .map_err(|e| anyhow::anyhow!("[connections.{name}] api_url: {e}"))?;
        check_url(name, self.token_url())
            .map_err(|e| anyhow::anyhow!("[connections.{name}] token_url: {e}"))?;
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
        Ok(Box::new(super::Pax8::new(name, self, secret, retry)?))
    }
}
