//! `[connections.<name>]` with `kind = "autotask"`: the API user, the zone lookup, which company
//! types bill, the product field and the request budget.

use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{
    Connector, KindInfo, KindSettings, LineWriter, Role, SecretFn, WritePurpose,
};
use crate::http::RetryPolicy;
use crate::http::check_url;

pub(super) fn default_billable_types() -> Vec<String> {
    vec!["Customer".into()]
}

/// `[connections.<name>]` with `kind = "autotask"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The API-only user's user name (`api@example.com`); also the zone lookup key.
    pub username: String,
    /// The API user's API Tracking Identifier (sent as `ApiIntegrationCode`).
    pub integration_code: String,
    /// Zone lookup base (default [`super::DEFAULT_ZONE_LOOKUP`]); tests point it at a local server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_lookup_url: Option<String>,
    /// Company types (picklist labels such as `Customer`, or their numbers) whose companies are
    /// billable; empty means every type. Default `["Customer"]`.
    #[serde(default = "default_billable_types")]
    pub billable_company_types: Vec<String>,
    /// The Service field that identifies a line's product (what services map to): `name` by
    /// default, or another Service field such as `invoiceDescription` or `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_field: Option<String>,
    /// Stop a sync before the database's hourly request count passes this percentage of its
    /// threshold (default 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_threshold_percent: Option<u64>,
    /// Read unit rows that ended at most this many days ago (default 35).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_days: Option<i64>,
    /// Whether `reconcile push` may adjust contract service units (`connect --allow-write`);
    /// off, the connection only reads.
    #[serde(default, skip_serializing_if = "crate::connectors::is_false")]
    pub allow_write: bool,
    /// A second API-only user used only for writes (its security level may edit contracts);
    /// its secret is `write_secret`. Without it writes use `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_username: Option<String>,
}

/// The secret field holding the write user's secret.
pub const WRITE_SECRET: &str = "write_secret";

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "autotask",
        name: "Autotask PSA",
        role: Role::Psa,
        // The write user's secret is listed so `disconnect` removes it; `secrets_needed`
        // leaves it out, since a sync never needs it.
        secrets: &["secret", WRITE_SECRET],
        // Published: 3 concurrent requests per endpoint.
        concurrency: 3,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        if self.username.trim().is_empty() {
            anyhow::bail!(
                "connection `{name}`: `username` is empty; give the API-only user's user name"
            );
        }
        if self.integration_code.trim().is_empty() {
            anyhow::bail!(
                "connection `{name}`: `integration_code` is empty; give the API user's API Tracking Identifier"
            );
        }
        if let Some(u) = &self.zone_lookup_url {
            check_url(name, u).map_err(|e| anyhow::anyhow!("`zone_lookup_url`: {e}"))?;
        }
        if let Some(p) = self.max_threshold_percent
            && !(1..=100).contains(&p)
        {
            anyhow::bail!("connection `{name}`: `max_threshold_percent` must be 1 to 100, not {p}");
        }
        if let Some(d) = self.history_days
            && d < 0
        {
            anyhow::bail!("connection `{name}`: `history_days` must not be negative");
        }
        if let Some(f) = &self.product_field
            && f.trim().is_empty()
        {
            anyhow::bail!("connection `{name}`: `product_field` is empty; leave it out for `name`");
        }
        Ok(())
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::Autotask::new(name, self, secret, retry)?))
    }

    fn secrets_needed(&self) -> Vec<&'static str> {
        vec!["secret"]
    }

    fn allows_write(&self) -> bool {
        self.allow_write
    }

    /// Planning reads as the read user; writing needs `allow_write`, and acts as the write
    /// user when one is configured.
    fn writer(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
        purpose: WritePurpose,
    ) -> anyhow::Result<Option<Box<dyn LineWriter>>> {
        let at = match purpose {
            WritePurpose::Read => super::Autotask::new(name, self, secret, retry)?,
            WritePurpose::Write if !self.allow_write => anyhow::bail!(
                "connection `{name}` is read-only: `reconcile push` may not adjust its contracts. Give an API user whose security level may edit contracts, then run `reconcile connect autotask --name {name} --allow-write ...` (with --write-username for a separate user)"
            ),
            WritePurpose::Write => match &self.write_username {
                Some(user) => {
                    let as_writer = Settings {
                        username: user.clone(),
                        ..self.clone()
                    };
                    let write_secret = |_: &str| secret(WRITE_SECRET);
                    super::Autotask::new(name, &as_writer, &write_secret, retry)?
                }
                None => super::Autotask::new(name, self, secret, retry)?,
            },
        };
        Ok(Some(Box::new(super::write::Writer::new(at))))
    }
}
