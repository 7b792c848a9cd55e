//! `[connections.<name>]` with `kind = "gravityzone"`: the Access URL, the billed month and the
//! page size.

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::{Args, MAX_PAGE};
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::model::{ServiceDef, ServiceFamily};

/// `[connections.<name>]` with `kind = "gravityzone"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The API's Access URL as Control Center shows it next to the key
    /// (`https://cloud.gravityzone.bitdefender.com/api`; http only on loopback).
    pub url: String,
    /// Which month's licence usage to read: `previous` (the last closed month, the default) or
    /// `current` (month to date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_month: Option<UsageMonth>,
    /// Endpoints per request (`perPage`, 1 to 100; default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

/// Which month's licence usage is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum UsageMonth {
    /// The last closed month: what Bitdefender invoices.
    #[default]
    Previous,
    /// The month so far.
    Current,
}

impl Settings {
    /// The Access URL without a trailing `/`.
    pub fn access_url(&self) -> &str {
        self.url.trim().trim_end_matches('/')
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "gravityzone",
        name: "Bitdefender GravityZone",
        role: Role::Vendor,
        secrets: &["api_key"],
        // 10 requests a second per key, 5 for the Licensing methods: paced by a rate limit,
        // with a few in flight.
        concurrency: 2,
        reads_files: false,
    };
    type Args = Args;
    const HIGH_WATERMARK: Option<&'static str> =
        Some("its monthly usage: the month's high watermark of protected endpoints");

    fn validate(&self, name: &str) -> Result<()> {
        crate::http::check_url(name, self.access_url())
            .map_err(|e| anyhow!("[connections.{name}] url: {e}"))?;
        if self.page_size.is_some_and(|p| !(1..=MAX_PAGE).contains(&p)) {
            bail!("[connections.{name}] page_size must be between 1 and {MAX_PAGE}");
        }
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
    ) -> Result<Box<dyn Connector>> {
        Ok(Box::new(super::GravityZone::new(
            name,
            self,
            secret("api_key")?,
            retry,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_the_key_in_errors() {
        let s: Settings =
            toml::from_str("url = \"https://cloud.gravityzone.bitdefender.com/api/\"").unwrap();
        assert_eq!(
            s.access_url(),
            "https://cloud.gravityzone.bitdefender.com/api"
        );
        s.validate("g").unwrap();
        let s: Settings = toml::from_str("url = \"https://x.example\"\npage_size = 500").unwrap();
        let e = s.validate("g").unwrap_err().to_string();
        assert!(e.contains("[connections.g] page_size"), "{e}");
        let s: Settings =
            toml::from_str("url = \"https://x.example\"\nusage_month = \"current\"").unwrap();
        assert_eq!(s.usage_month, Some(UsageMonth::Current));
        assert!(toml::from_str::<Settings>("url = \"https://x\"\nusage_month = \"last\"").is_err());
    }
}
