//! `[connections.<name>]` with `kind = "sentinelone"`: the management console URL and the page
//! size.

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::model::ServiceDef;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The management console URL (`https://usea1-acme.sentinelone.net`).
    pub url: String,
    /// Records per request, at most 1000 (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "sentinelone",
        name: "SentinelOne",
        role: Role::Vendor,
        secrets: &["api_token"],
        concurrency: 4,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> Result<()> {
        crate::http::check_url(name, self.url.trim())
            .map_err(|e| anyhow!("[connections.{name}] url: {e}"))?;
        if self.page_size.is_some_and(|p| !(1..=1000).contains(&p)) {
            bail!(
                "[connections.{name}] page_size must be between 1 and 1000 (SentinelOne's maximum)"
            );
        }
        Ok(())
    }

    fn services() -> Vec<ServiceDef> {
        super::services()
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> Result<Box<dyn Connector>> {
        Ok(Box::new(super::SentinelOne::new(
            name,
            self,
            secret("api_token")?,
            retry,
        )?))
    }
}
