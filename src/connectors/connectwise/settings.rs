//! `[connections.<name>]` with `kind = "connectwise"`: the login site and company, the API
//! member's public key, the integration's clientId, which company types bill, and whether (and
//! as which API member) `reconcile push` may write agreement additions back.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{
    Connector, KindInfo, KindSettings, LineWriter, Role, SecretFn, WritePurpose, is_false,
};
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
    /// Whether `reconcile push` may change agreement additions (`connect --allow-write`); off,
    /// the connection only reads.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_write: bool,
    /// A second API member's public key used only for writes (its role has Finance >
    /// Agreements: Edit); its private key is the secret `write_private_key`. Without it,
    /// writes use the read member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_public_key: Option<String>,
}

/// The secret field holding the write member's private key.
pub const WRITE_SECRET: &str = "write_private_key";

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "connectwise",
        name: "ConnectWise PSA",
        role: Role::Psa,
        // The write member's key is listed so `disconnect` removes it; `secrets_needed` leaves
        // it out, since a sync never needs it.
        secrets: &["private_key", WRITE_SECRET],
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
        if self
            .write_public_key
            .as_deref()
            .is_some_and(|k| k.trim().is_empty())
        {
            bail!(
                "[connections.{name}] write_public_key is empty; give the write API member's public key or remove the key"
            );
        }
        Ok(())
    }

    fn secrets_needed(&self) -> Vec<&'static str> {
        vec!["private_key"]
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

    fn allows_write(&self) -> bool {
        self.allow_write
    }

    /// Planning reads with the read member; writing needs `allow_write`, and uses the write
    /// member when one is configured.
    fn writer(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
        purpose: WritePurpose,
    ) -> Result<Option<Box<dyn LineWriter>>> {
        let (public_key, private_key) = match purpose {
            WritePurpose::Read => (self.public_key.as_str(), secret("private_key")?),
            WritePurpose::Write if !self.allow_write => bail!(
                "connection `{name}` is read-only: `reconcile push` may not change its agreement additions. Give an API member whose role has Finance > Agreements: Edit, then run `reconcile connect connectwise --name {name} --allow-write ...` (with `--write-public-key KEY` for a separate write member)"
            ),
            WritePurpose::Write => match &self.write_public_key {
                Some(key) => (key.as_str(), secret(WRITE_SECRET)?),
                None => (self.public_key.as_str(), secret("private_key")?),
            },
        };
        Ok(Some(Box::new(super::Writer::new(
            name,
            self,
            public_key,
            private_key,
            retry,
        )?)))
    }
}
