//! `[connections.<name>]` with `kind = "webroot"`: the GSM console's keycode, the API client id,
//! the console admin's email, and the API host.

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::model::ServiceDef;

/// Webroot's Unity API host.
pub const DEFAULT_URL: &str = "https://unityapi.webrootcloudav.com";

/// `[connections.<name>]` with `kind = "webroot"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The GSM parent keycode (`XXXX-XXXX-XXXX-XXXX-XXXX`).
    pub gsm_key: String,
    /// The API client id (GSM console > Settings > API Access).
    pub client_id: String,
    /// The console admin the API signs in as (an email address).
    pub username: String,
    /// The API host; default `https://unityapi.webrootcloudav.com` (http only on loopback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Endpoints per request (`pageSize`, 1 to 1000; default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

impl Settings {
    pub fn host(&self) -> &str {
        self.url
            .as_deref()
            .map(|u| u.trim().trim_end_matches('/'))
            .unwrap_or(DEFAULT_URL)
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "webroot",
        name: "Webroot",
        role: Role::Vendor,
        secrets: &["client_secret", "password"],
        // No published limit: one request at a time.
        concurrency: 1,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> Result<()> {
        crate::http::check_url(name, self.host())
            .map_err(|e| anyhow!("[connections.{name}] url: {e}"))?;
        for (key, v) in [
            ("gsm_key", &self.gsm_key),
            ("client_id", &self.client_id),
            ("username", &self.username),
        ] {
            if v.trim().is_empty() {
                bail!("[connections.{name}] {key} is empty");
            }
        }
        if !self
            .gsm_key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            bail!(
                "[connections.{name}] gsm_key `{}` is not a keycode (letters, digits and dashes, as the GSM console shows it)",
                self.gsm_key
            );
        }
        if self.page_size.is_some_and(|p| !(1..=1000).contains(&p)) {
            bail!("[connections.{name}] page_size must be between 1 and 1000");
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
        Ok(Box::new(super::Webroot::new(
            name,
            self,
            (secret("client_secret")?, secret("password")?),
            retry,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_the_key_in_errors() {
        let ok = "gsm_key = \"ABCD-1234-EFGH-5678-IJKL\"\nclient_id = \"client_x\"\nusername = \"api@msp.example\"\n";
        let s: Settings = toml::from_str(ok).unwrap();
        assert_eq!(s.host(), DEFAULT_URL);
        s.validate("w").unwrap();
        let s: Settings = toml::from_str(&ok.replace("ABCD-1234", "AB/CD")).unwrap();
        let e = s.validate("w").unwrap_err().to_string();
        assert!(e.contains("[connections.w] gsm_key"), "{e}");
        let s: Settings = toml::from_str(&format!("{ok}url = \"http://unity.example\"")).unwrap();
        assert!(
            s.validate("w")
                .unwrap_err()
                .to_string()
                .contains("[connections.w] url")
        );
        assert!(toml::from_str::<Settings>("gsm_key = \"x\"").is_err());
    }
}
