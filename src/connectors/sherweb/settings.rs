//! `[connections.<name>]` with `kind = "sherweb"`: the API key's client id and the API and token
//! URLs.

use serde::{Deserialize, Serialize};

use super::Args;
use super::{DEFAULT_API_URL, DEFAULT_TOKEN_URL};
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::http::check_url;
use crate::model::{ServiceDef, ServiceFamily};

/// `[connections.<name>]` with `kind = "sherweb"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The API key's Client ID (Sherweb Partner Portal > Security > APIs).
    pub client_id: String,
    /// The Service Provider API base (default [`DEFAULT_API_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The token endpoint (default [`DEFAULT_TOKEN_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
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
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "sherweb",
        name: "Sherweb",
        role: Role::Vendor,
        secrets: &["client_secret", "subscription_key"],
        concurrency: 4,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        if self.client_id.trim().is_empty() {
            anyhow::bail!(
                "[connections.{name}] client_id is empty; copy the Client ID from Security > APIs in the Sherweb Partner Portal"
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
        Ok(Box::new(super::Sherweb::new(name, self, secret, retry)?))
    }
}
