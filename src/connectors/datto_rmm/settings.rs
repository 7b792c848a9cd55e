//! `[connections.<name>]` with `kind = "datto-rmm"`: the platform (or a URL), the page size and
//! the request rate.

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::{Args, MAX_REQUESTS_PER_MINUTE};
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::model::{ServiceDef, ServiceFamily};

/// `[connections.<name>]` with `kind = "datto-rmm"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The Datto RMM platform of the account, as in its URL (`merlot` for
    /// `https://merlot.centrastage.net`); or give `url` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The API URL instead of `platform` (`https://merlot-api.centrastage.net`; http only on
    /// loopback, for tests and the demo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Records per request (`max`); default: the API's own default, which is also its maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
    /// At most this many requests a minute (1 to 600; default 600, Datto RMM's read limit per
    /// account), lower when other tools use the same Datto RMM account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<usize>,
}

/// The Datto RMM platforms, each with its own API host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Pinotage,
    Merlot,
    Concord,
    Vidal,
    Zinfandel,
    Syrah,
}

impl Platform {
    /// `https://<platform>-api.centrastage.net`.
    pub fn host_url(self) -> String {
        let name = match self {
            Platform::Pinotage => "pinotage",
            Platform::Merlot => "merlot",
            Platform::Concord => "concord",
            Platform::Vidal => "vidal",
            Platform::Zinfandel => "zinfandel",
            Platform::Syrah => "syrah",
        };
        format!("https://{name}-api.centrastage.net")
    }
}

impl Settings {
    /// The API host (`https://merlot-api.centrastage.net`): the token endpoint is under it at
    /// `/auth/oauth/token`, the REST API at `/api/v2`. A `url` ending in `/api` means the same.
    pub fn host_url(&self, name: &str) -> Result<String> {
        match (&self.platform, &self.url) {
            (Some(p), None) => Ok(p.host_url()),
            (None, Some(u)) => {
                let u = u.trim().trim_end_matches('/');
                Ok(u.strip_suffix("/api").unwrap_or(u).to_string())
            }
            (Some(_), Some(_)) => {
                bail!("[connections.{name}] sets both `platform` and `url`; keep one of them")
            }
            (None, None) => bail!(
                "[connections.{name}] sets neither `platform` nor `url`; add `platform = \"merlot\"` (the name in your Datto RMM URL: pinotage, merlot, concord, vidal, zinfandel or syrah)"
            ),
        }
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "datto-rmm",
        name: "Datto RMM",
        role: Role::Vendor,
        secrets: &["api_key", "api_secret"],
        // Datto RMM escalates from 429 to blocking the caller's IP address: one request at a
        // time, paced under the per-account limit, never races it.
        concurrency: 1,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> Result<()> {
        let host = self.host_url(name)?;
        crate::http::check_url(name, &host)
            .map_err(|e| anyhow!("[connections.{name}] url: {e}"))?;
        if self.page_size.is_some_and(|p| !(1..=1000).contains(&p)) {
            bail!("[connections.{name}] page_size must be between 1 and 1000");
        }
        if let Some(n) = self.requests_per_minute
            && !(1..=MAX_REQUESTS_PER_MINUTE).contains(&n)
        {
            bail!(
                "[connections.{name}] requests_per_minute is {n}; give 1 to {MAX_REQUESTS_PER_MINUTE} (Datto RMM allows {MAX_REQUESTS_PER_MINUTE} reads a minute per account)"
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
        Ok(Box::new(super::DattoRmm::new(
            name,
            self,
            (secret("api_key")?, secret("api_secret")?),
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
    fn platforms_name_their_api_host_and_errors_name_the_key() {
        let s = parse("platform = \"merlot\"");
        assert_eq!(
            s.host_url("d").unwrap(),
            "https://merlot-api.centrastage.net"
        );
        s.validate("d").unwrap();
        let s = parse("url = \"http://127.0.0.1:9/api/\"");
        assert_eq!(s.host_url("d").unwrap(), "http://127.0.0.1:9");
        let e = parse("").validate("d").unwrap_err().to_string();
        assert!(e.contains("`platform`") && e.contains("zinfandel"), "{e}");
        let e = parse("platform = \"syrah\"\nurl = \"https://x\"")
            .validate("d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("both `platform` and `url`"), "{e}");
        let e = parse("url = \"http://rmm.example.com\"")
            .validate("d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[connections.d] url"), "{e}");
        let e = parse("platform = \"vidal\"\nrequests_per_minute = 601")
            .validate("d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("requests_per_minute is 601"), "{e}");
        let e = parse("platform = \"vidal\"\npage_size = 0")
            .validate("d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("page_size"), "{e}");
        assert!(toml::from_str::<Settings>("platform = \"shiraz\"").is_err());
        assert!(toml::from_str::<Settings>("platform = \"merlot\"\nregion = \"eu\"").is_err());
    }
}
