//! `reconcile connect jumpcloud`: an MTP administrator's API key, the provider id, and the
//! region (or a console URL). The key is read from a prompt or stdin, never from a flag.

use anyhow::Result;

use super::{Region, Settings};
use crate::connectors::{Common, ConnectArgs, KindSettings, NewConnection, read_secret};

/// Connect JumpCloud (an MTP administrator's API key and your provider id).
///
/// Find the Provider ID and generate the API key in the Multi-Tenant Portal: Account
/// Management > Account Overview, signed in as an administrator with the Read Only role, API
/// access enabled and access to the client orgs.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("console").args(["region", "url"])))]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
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
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
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
            page_size: saved.and_then(|s| s.page_size),
        };
        // Settings first: a typo fails before the key is asked for.
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        let key = read_secret("JumpCloud API key", self.api_key_stdin)?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("api_key", key)],
        ))
    }
}
