//! `[connections.<name>]` with `kind = "syncro"`: the account (subdomain or API URL), which
//! customers bill and the request rate.

use serde::{Deserialize, Serialize};

use super::{Args, MAX_REQUESTS_PER_MINUTE};
use crate::connectors::{
    Connector, KindInfo, KindSettings, LineWriter, Role, SecretFn, WritePurpose,
};
use crate::http::RetryPolicy;
use crate::http::check_url;

/// `[connections.<name>]` with `kind = "syncro"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The account's subdomain: `acme` for `https://acme.syncromsp.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    /// The API base URL instead of `subdomain` (`https://acme.syncromsp.com/api/v1`; http only
    /// on loopback, for tests and the demo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Only customers with a business name bill; individuals (no business name) do not.
    #[serde(default, skip_serializing_if = "crate::connectors::is_false")]
    pub business_only: bool,
    /// A customer property (custom field) that marks billable customers, e.g. `Type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billable_property: Option<String>,
    /// The values of `billable_property` that bill (compared without case). Empty: any value
    /// other than blank, `false`, `no` or `0`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billable_property_values: Vec<String>,
    /// At most this many requests a minute (1 to 180; default 180), lower when other tools
    /// share the account's IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<usize>,
    /// Whether `reconcile push` may change schedule line items (`connect --allow-write`); off,
    /// the connection only reads.
    #[serde(default, skip_serializing_if = "crate::connectors::is_false")]
    pub allow_write: bool,
    /// A second API token (the secret `write_api_token`, with Recurring Invoices - Edit) is
    /// used for writes; without it writes use `api_token`.
    #[serde(default, skip_serializing_if = "crate::connectors::is_false")]
    pub write_token: bool,
}

/// The secret field holding the write token.
pub const WRITE_SECRET: &str = "write_api_token";

impl Settings {
    /// The API base URL.
    pub fn base_url(&self) -> String {
        match (&self.url, &self.subdomain) {
            (Some(u), _) => u.trim().trim_end_matches('/').to_string(),
            (None, Some(s)) => format!("https://{}.syncromsp.com/api/v1", clean_subdomain(s)),
            (None, None) => String::new(),
        }
    }
}

/// `acme`, `acme.syncromsp.com` or `https://acme.syncromsp.com/` all mean `acme`.
pub fn clean_subdomain(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.trim_end_matches('/');
    s.strip_suffix(".syncromsp.com")
        .unwrap_or(s)
        .to_ascii_lowercase()
}

fn valid_subdomain(s: &str) -> Result<(), String> {
    let c = clean_subdomain(s);
    if c.is_empty() || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "`subdomain = \"{s}\"` is not a Syncro subdomain; give the part before .syncromsp.com (`acme` for acme.syncromsp.com)"
        ));
    }
    Ok(())
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "syncro",
        name: "Syncro",
        role: Role::Psa,
        // The write token is listed so `disconnect` removes it; `secrets_needed` leaves it
        // out, since a sync never needs it.
        secrets: &["api_token", WRITE_SECRET],
        concurrency: 4,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        match (&self.subdomain, &self.url) {
            (Some(_), Some(_)) => {
                anyhow::bail!("connection `{name}`: give `subdomain` or `url`, not both")
            }
            (None, None) => anyhow::bail!(
                "connection `{name}`: `subdomain` is missing (the part before .syncromsp.com)"
            ),
            (Some(s), None) => {
                valid_subdomain(s).map_err(|e| anyhow::anyhow!("connection `{name}`: {e}"))?;
            }
            (None, Some(u)) => {
                check_url(name, u)?;
            }
        }
        if let Some(n) = self.requests_per_minute
            && !(1..=MAX_REQUESTS_PER_MINUTE).contains(&n)
        {
            anyhow::bail!(
                "connection `{name}`: `requests_per_minute` is {n}; give 1 to {MAX_REQUESTS_PER_MINUTE} (Syncro allows {MAX_REQUESTS_PER_MINUTE} a minute)"
            );
        }
        if !self.billable_property_values.is_empty() && self.billable_property.is_none() {
            anyhow::bail!(
                "connection `{name}`: `billable_property_values` needs `billable_property` (the customer property they are values of)"
            );
        }
        Ok(())
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::Syncro::new(name, self, secret, retry)?))
    }

    fn secrets_needed(&self) -> Vec<&'static str> {
        vec!["api_token"]
    }

    fn allows_write(&self) -> bool {
        self.allow_write
    }

    /// Planning reads with the read token; writing needs `allow_write`, and uses the write
    /// token when one was given.
    fn writer(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
        purpose: WritePurpose,
    ) -> anyhow::Result<Option<Box<dyn LineWriter>>> {
        let token = match purpose {
            WritePurpose::Read => secret("api_token")?,
            WritePurpose::Write if !self.allow_write => anyhow::bail!(
                "connection `{name}` is read-only: `reconcile push` may not change its recurring invoices. Give a token with Recurring Invoices - Edit, then run `reconcile connect syncro --name {name} --allow-write ...` (with --write-token for a separate token)"
            ),
            WritePurpose::Write if self.write_token => secret(WRITE_SECRET)?,
            WritePurpose::Write => secret("api_token")?,
        };
        Ok(Some(Box::new(super::write::Writer::new(
            name, self, token, retry,
        )?)))
    }
}
