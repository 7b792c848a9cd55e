//! `[connections.<name>]` with `kind = "ncentral"`: the server's URL, the page size and the
//! device filters to read.

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::{Args, MAX_PAGE};
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::model::{ServiceDef, ServiceFamily};

/// `[connections.<name>]` with `kind = "ncentral"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The N-central server (`https://ncentral.example.com`; http only on loopback, for tests
    /// and the demo). A URL ending in `/api` means the same.
    pub url: String,
    /// Records per request (`pageSize`, 1 to 1000; default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
    /// Device filters (names or ids) whose devices are counted per customer, one service each
    /// (`<filter>:device-filter`), as N-central's own PSA billing maps a filter to a product.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_filters: Vec<String>,
}

impl Settings {
    /// The server's URL without a trailing `/` or `/api`.
    pub fn host(&self) -> &str {
        let u = self.url.trim().trim_end_matches('/');
        u.strip_suffix("/api").unwrap_or(u)
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "ncentral",
        name: "N-able N-central",
        role: Role::Vendor,
        secrets: &["api_token"],
        // N-central limits the requests in flight per endpoint (429 past it) and publishes no
        // figure: one at a time.
        concurrency: 1,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> Result<()> {
        crate::http::check_url(name, self.host())
            .map_err(|e| anyhow!("[connections.{name}] url: {e}"))?;
        if self.page_size.is_some_and(|p| !(1..=MAX_PAGE).contains(&p)) {
            bail!("[connections.{name}] page_size must be between 1 and {MAX_PAGE}");
        }
        if let Some(f) = self.device_filters.iter().find(|f| f.trim().is_empty()) {
            bail!(
                "[connections.{name}] device_filters holds an empty name (`{f}`); give filter names or ids"
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
    ) -> Result<Box<dyn Connector>> {
        Ok(Box::new(super::Ncentral::new(
            name,
            self,
            secret("api_token")?,
            retry,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> Settings {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn the_url_is_the_server_and_errors_name_the_key() {
        let s = parse("url = \"https://nc.example.com/api/\"");
        assert_eq!(s.host(), "https://nc.example.com");
        s.validate("n").unwrap();
        let e = parse("url = \"http://nc.example.com\"")
            .validate("n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[connections.n] url"), "{e}");
        let e = parse("url = \"https://nc.example.com\"\npage_size = 1001")
            .validate("n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("page_size must be between 1 and 1000"), "{e}");
        let e = parse("url = \"https://nc.example.com\"\ndevice_filters = [\" \"]")
            .validate("n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("device_filters"), "{e}");
        assert!(toml::from_str::<Settings>("url = \"https://x\"\nfilters = []").is_err());
    }
}
