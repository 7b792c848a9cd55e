//! `[connections.<name>]` with `kind = "connectwise"`: the login site and company, the API
//! member's public key, the integration's clientId, and which company types bill.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The login site (`na.myconnectwise.net`, or an on-premises host).
    pub site: String,
    /// The company id you log in with.
    pub company_id: String,
    pub public_key: String,
    /// The integration's clientId GUID from developer.connectwise.com.
    pub client_id: String,
    /// Pin the API codebase (`v4_6_release/`); discovered at each sync when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codebase: Option<String>,
    /// Company type names that count as billable clients; empty means every type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billable_company_types: Vec<String>,
    /// Records per request (default and maximum 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "connectwise",
        name: "ConnectWise PSA",
        role: Role::Psa,
        secrets: &["private_key"],
        concurrency: 10,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> Result<()> {
        if self.page_size.is_some_and(|p| !(1..=1000).contains(&p)) {
            bail!(
                "[connections.{name}] page_size must be between 1 and 1000 (ConnectWise's maximum)"
            );
        }
        Ok(())
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> Result<Box<dyn Connector>> {
        Ok(Box::new(super::ConnectWise::new(
            name,
            self,
            secret("private_key")?,
            retry,
        )?))
    }
}
