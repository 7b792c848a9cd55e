//! `[connections.<name>]` with `kind = "nsight"`: the dashboard's server.

use anyhow::{Result, anyhow};
use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::model::ServiceDef;

/// `[connections.<name>]` with `kind = "nsight"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The dashboard's server, as its URL shows it (`https://www.systemmonitor.us`,
    /// `https://wwweurope1.systemmonitor.eu.com`, ...; http only on loopback). A URL ending in
    /// `/api` means the same.
    pub url: String,
}

impl Settings {
    /// The server without a trailing `/` or `/api`.
    pub fn server(&self) -> &str {
        let u = self.url.trim().trim_end_matches('/');
        u.strip_suffix("/api").unwrap_or(u)
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "nsight",
        name: "N-able N-sight RMM",
        role: Role::Vendor,
        secrets: &["api_key"],
        // No published limit: one call at a time.
        concurrency: 1,
        reads_files: false,
    };
    type Args = Args;
    const HIGH_WATERMARK: Option<&'static str> = Some("the month's device high watermark");

    fn validate(&self, name: &str) -> Result<()> {
        crate::http::check_url(name, self.server())
            .map_err(|e| anyhow!("[connections.{name}] url: {e}"))?;
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
        Ok(Box::new(super::Nsight::new(
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
    fn the_url_is_the_server_and_errors_name_the_key() {
        let s: Settings = toml::from_str("url = \"https://www.systemmonitor.us/api/\"").unwrap();
        assert_eq!(s.server(), "https://www.systemmonitor.us");
        s.validate("n").unwrap();
        let s: Settings = toml::from_str("url = \"http://www.systemmonitor.us\"").unwrap();
        assert!(
            s.validate("n")
                .unwrap_err()
                .to_string()
                .contains("[connections.n] url")
        );
        assert!(toml::from_str::<Settings>("url = \"https://x\"\nregion = \"us\"").is_err());
    }
}
