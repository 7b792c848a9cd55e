//! `reconcile connect jumpcloud`: an MTP administrator's API key, the provider id, and the
//! region (or a console URL). The key is read from a prompt or stdin, never from a flag.

use anyhow::Result;
use secrecy::SecretString;
use toml_edit::Value;

use super::{Plan, read_secret};
use crate::config::ConnectionSettings;
use crate::connectors::jumpcloud::{Region, Settings};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("console").args(["region", "url"])))]
pub struct Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "jumpcloud")]
    pub name: String,
    /// Your Provider ID (Multi-Tenant Portal > Account Management > Account Overview)
    #[arg(long)]
    pub provider_id: String,
    /// JumpCloud region of your Multi-Tenant Portal [default: us]
    #[arg(long, value_enum)]
    pub region: Option<Region>,
    /// Console URL instead of a region (https://..., or http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// Read the API key from stdin instead of a prompt
    #[arg(long)]
    pub api_key_stdin: bool,
    /// Save without checking the API key against the API
    #[arg(long)]
    pub no_verify: bool,
}

impl Args {
    /// What to save, and whether to verify it first. Secrets are read here (through
    /// [`super::read_secret`]), never from a flag value.
    pub fn plan(self) -> Result<(Plan, bool)> {
        let url = self.url.map(|u| u.trim().trim_end_matches('/').to_string());
        let region = if url.is_some() {
            None
        } else {
            Some(self.region.unwrap_or(Region::Us))
        };
        let settings = Settings {
            provider_id: self.provider_id.trim().to_string(),
            region,
            url,
            page_size: None,
            secret_command: Default::default(),
        };
        // Settings first: a typo fails before the key is asked for.
        settings.validate(&self.name)?;
        let key = read_secret("JumpCloud API key", self.api_key_stdin)?;
        Ok((plan(&self.name, settings, key), !self.no_verify))
    }
}

/// What `connect jumpcloud` saves: `url` replaces `region` and the other way round.
pub fn plan(name: &str, settings: Settings, key: SecretString) -> Plan {
    let mut values = vec![
        ("kind", Value::from("jumpcloud")),
        ("provider_id", Value::from(settings.provider_id.as_str())),
    ];
    let remove = match (&settings.url, settings.region) {
        (Some(u), _) => {
            values.push(("url", Value::from(u.as_str())));
            vec!["region"]
        }
        (None, r) => {
            values.push(("region", Value::from(r.unwrap_or(Region::Us).as_str())));
            vec!["url"]
        }
    };
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::JumpCloud(settings),
        values,
        remove,
        secrets: vec![("api_key", key)],
    }
}
