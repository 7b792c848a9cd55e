//! `[connections.<name>]` with `kind = "jumpcloud"`: the provider id, the region (or a console
//! URL) and the page size.

use serde::{Deserialize, Serialize};

use super::Args;
use super::MAX_PAGE_SIZE;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::http::check_url;
use crate::model::{ServiceDef, ServiceFamily};

/// JumpCloud's regions and their console hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Us,
    Eu,
    In,
}

impl Region {
    pub fn host_url(self) -> &'static str {
        match self {
            Region::Us => "https://console.jumpcloud.com",
            Region::Eu => "https://console.eu.jumpcloud.com",
            Region::In => "https://console.in.jumpcloud.com",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::In => "in",
        }
    }
}

/// `[connections.<name>]` with `kind = "jumpcloud"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The MSP's provider id (MTP > Account Management > Account Overview).
    pub provider_id: String,
    /// `us` (default), `eu` or `in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The console URL instead of a region (https, or http on loopback only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Records per request, 1 to 100 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

impl Settings {
    /// The console URL: `url` when given, else the region's host (US by default).
    pub fn base_url(&self) -> String {
        match &self.url {
            Some(u) => u.trim().trim_end_matches('/').to_string(),
            None => self.region.unwrap_or(Region::Us).host_url().to_string(),
        }
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "jumpcloud",
        name: "JumpCloud",
        role: Role::Vendor,
        secrets: &["api_key"],
        concurrency: 4,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        let pid = self.provider_id.trim();
        if pid.is_empty() {
            anyhow::bail!(
                "[connections.{name}] provider_id is empty; copy the Provider ID from the Multi-Tenant Portal (Account Management > Account Overview)"
            );
        }
        if !pid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            anyhow::bail!(
                "[connections.{name}] provider_id `{pid}` is not a JumpCloud provider id (letters and digits only, like 5f0c9e2b1a2b3c4d5e6f7a8b)"
            );
        }
        if self.region.is_some() && self.url.is_some() {
            anyhow::bail!(
                "[connections.{name}] has both region and url; keep one (url is for a console the regions do not cover)"
            );
        }
        if let Some(url) = &self.url {
            check_url(name, url.trim_end_matches('/'))
                .map_err(|e| anyhow::anyhow!("[connections.{name}] url: {e}"))?;
        }
        if let Some(n) = self.page_size
            && !(1..=MAX_PAGE_SIZE).contains(&n)
        {
            anyhow::bail!(
                "[connections.{name}] page_size = {n} is out of range; JumpCloud accepts 1 to {MAX_PAGE_SIZE}"
            );
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
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::JumpCloud::new(name, self, secret, retry)?))
    }
}
