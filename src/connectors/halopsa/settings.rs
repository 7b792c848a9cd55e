//! `[connections.<name>]` with `kind = "halopsa"`: the instance, the API application, the tenant,
//! the auth server and which clients bill.

use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{
    Connector, KindInfo, KindSettings, LineWriter, Role, SecretFn, WritePurpose,
};
use crate::http::RetryPolicy;
use crate::http::check_url;

/// `[connections.<name>]` with `kind = "halopsa"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The instance, `https://acme.halopsa.com` (the API is at `{url}/api`).
    pub url: String,
    /// The API application's client id (Configuration > Integrations > HaloPSA API).
    pub client_id: String,
    /// Hosted (halopsa.com) instances: the tenant name sent with the token request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Pins the auth server instead of asking `/api/authinfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    /// OAuth scope; `all` unless the application grants narrower read scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Only clients of these customer types bill (type name or id; empty: any type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billable_client_types: Vec<String>,
    /// Only clients under these top levels bill (top-level name or id; empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billable_top_levels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
    /// Whether `reconcile push` may change recurring-invoice lines (`connect --allow-write`);
    /// off, the connection only reads.
    #[serde(default, skip_serializing_if = "crate::connectors::is_false")]
    pub allow_write: bool,
    /// A second API application used only for writes (its agent may edit recurring invoices);
    /// its secret is `write_client_secret`. Without it writes use `client_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_client_id: Option<String>,
}

/// The secret field holding the write application's client secret.
pub const WRITE_SECRET: &str = "write_client_secret";

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "halopsa",
        name: "HaloPSA",
        role: Role::Psa,
        // The write secret is listed so `disconnect` removes it; `secrets_needed` leaves it
        // out, since a sync never needs it.
        secrets: &["client_secret", WRITE_SECRET],
        concurrency: 4,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        check_url(name, &self.url).map_err(|e| anyhow::anyhow!("connections.{name}.url: {e}"))?;
        if let Some(a) = &self.auth_url {
            check_url(name, a).map_err(|e| anyhow::anyhow!("connections.{name}.auth_url: {e}"))?;
        }
        if self.client_id.trim().is_empty() {
            anyhow::bail!(
                "connections.{name}.client_id is empty; give the API application's client id"
            );
        }
        if self.page_size == Some(0) {
            anyhow::bail!("connections.{name}.page_size must be at least 1");
        }
        if self.tenant.as_deref().is_some_and(|t| t.trim().is_empty()) {
            anyhow::bail!("connections.{name}.tenant is empty; remove it or give the tenant name");
        }
        Ok(())
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::HaloPsa::new(name, self, secret, retry)?))
    }

    fn secrets_needed(&self) -> Vec<&'static str> {
        vec!["client_secret"]
    }

    fn allows_write(&self) -> bool {
        self.allow_write
    }

    /// Planning reads as the read application; writing needs `allow_write`, and signs in as
    /// the write application when one is configured.
    fn writer(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
        purpose: WritePurpose,
    ) -> anyhow::Result<Option<Box<dyn LineWriter>>> {
        let halo = match purpose {
            WritePurpose::Read => super::HaloPsa::new(name, self, secret, retry)?,
            WritePurpose::Write if !self.allow_write => anyhow::bail!(
                "connection `{name}` is read-only: `reconcile push` may not change its recurring invoices. Give an API application whose agent may edit recurring invoices, then run `reconcile connect halopsa --name {name} --allow-write ...` (with --write-client-id for a separate application)"
            ),
            WritePurpose::Write => match &self.write_client_id {
                Some(id) => {
                    let as_writer = Settings {
                        client_id: id.clone(),
                        ..self.clone()
                    };
                    let write_secret = |_: &str| secret(WRITE_SECRET);
                    super::HaloPsa::new(name, &as_writer, &write_secret, retry)?
                }
                None => super::HaloPsa::new(name, self, secret, retry)?,
            },
        };
        Ok(Some(Box::new(super::write::Writer::new(halo))))
    }
}
