//! `[connections.<name>]` with `kind = "m365"`: the partner tenant, the multi-tenant app, how
//! each tenant's token is obtained, which tenants are read, the hosts, and Partner Center.

use serde::{Deserialize, Serialize};

use super::Args;
use super::{DEFAULT_GRAPH_HOST, DEFAULT_PARTNER_CENTER_HOST, DEFAULT_TOKEN_HOST};
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::http::check_url;
use crate::model::{ServiceDef, ServiceFamily};
use std::collections::HashSet;

/// How each tenant's token is obtained.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// The partner's multi-tenant app, consented in each customer tenant (app-only).
    #[default]
    ClientCredentials,
    /// A partner user's refresh token, redeemed in each customer tenant (GDAP, delegated).
    RefreshToken,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::ClientCredentials => "client-credentials",
            AuthMode::RefreshToken => "refresh-token",
        }
    }
}

/// A customer tenant given in the config: `"<id>"` or `{ id = "<id>", name = "Acme" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(from = "TenantRepr")]
pub struct Tenant {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum TenantRepr {
    Id(String),
    Full {
        id: String,
        #[serde(default)]
        name: Option<String>,
    },
}

impl From<TenantRepr> for Tenant {
    fn from(r: TenantRepr) -> Tenant {
        match r {
            TenantRepr::Id(id) => Tenant { id, name: None },
            TenantRepr::Full { id, name } => Tenant { id, name },
        }
    }
}

/// `[connections.<name>]` with `kind = "m365"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The partner's own tenant (GUID or `contoso.onmicrosoft.com`).
    pub partner_tenant_id: String,
    /// The multi-tenant app's Application (client) ID.
    pub client_id: String,
    #[serde(default)]
    pub auth: AuthMode,
    /// Customer tenants to read instead of the GDAP customer list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_host: Option<String>,
    /// Also read Partner Center subscriptions per tenant.
    #[serde(default, skip_serializing_if = "crate::connectors::is_false")]
    pub partner_center: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_center_host: Option<String>,
}

impl Settings {
    pub fn token_host(&self) -> &str {
        self.token_host.as_deref().unwrap_or(DEFAULT_TOKEN_HOST)
    }
    pub fn graph_host(&self) -> &str {
        self.graph_host.as_deref().unwrap_or(DEFAULT_GRAPH_HOST)
    }
    pub fn partner_center_host(&self) -> &str {
        self.partner_center_host
            .as_deref()
            .unwrap_or(DEFAULT_PARTNER_CENTER_HOST)
    }
}

fn valid_tenant(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "m365",
        name: "Microsoft 365",
        role: Role::Vendor,
        secrets: &["client_secret", "refresh_token"],
        // Tenants are read side by side; Graph throttles per tenant, not per partner.
        concurrency: 10,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        let bad = |key: &str, why: String| anyhow::anyhow!("connection `{name}`: `{key}` {why}");
        if !valid_tenant(&self.partner_tenant_id) {
            return Err(bad(
                "partner_tenant_id",
                format!(
                    "is `{}`; give the partner tenant's ID (a GUID) or its onmicrosoft.com domain",
                    self.partner_tenant_id
                ),
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(bad(
                "client_id",
                "is empty; give the app registration's Application (client) ID".into(),
            ));
        }
        let mut seen = HashSet::new();
        for t in &self.tenants {
            if !valid_tenant(&t.id) {
                return Err(bad(
                    "tenants",
                    format!("holds `{}`, which is not a tenant ID or domain", t.id),
                ));
            }
            if !seen.insert(t.id.to_ascii_lowercase()) {
                return Err(bad("tenants", format!("lists `{}` twice", t.id)));
            }
        }
        for (key, host) in [
            ("token_host", self.token_host()),
            ("graph_host", self.graph_host()),
            ("partner_center_host", self.partner_center_host()),
        ] {
            check_url(name, host).map_err(|e| bad(key, format!("is not usable: {e}")))?;
        }
        Ok(())
    }

    fn secrets_needed(&self) -> Vec<&'static str> {
        // A refresh token only in refresh-token mode.
        match self.auth {
            AuthMode::ClientCredentials => vec!["client_secret"],
            AuthMode::RefreshToken => Self::KIND.secrets.to_vec(),
        }
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
        Ok(Box::new(super::M365::new(name, self, secret, retry)?))
    }
}
