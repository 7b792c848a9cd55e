//! `reconcile connect ninjaone`: the region (or instance URL) and the API client's id as flags;
//! the client secret from a hidden prompt or stdin.

use anyhow::Result;

use super::settings::{Region, Settings};
use crate::connectors::{Common, ConnectArgs, NewConnection, read_secret};

/// Connect NinjaOne (OAuth2 client credentials, scope `monitoring`).
///
/// Create the client in NinjaOne: Administration > Apps > API > Client App IDs > Add,
/// application platform "API Services (machine-to-machine)", scope Monitoring, grant type
/// Client Credentials.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("instance").required(true).args(["region", "url"])))]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// NinjaOne region of your instance
    #[arg(long, value_enum)]
    pub region: Option<Region>,
    /// Instance URL instead of a region (https://..., or http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// The API client's Client ID
    #[arg(long)]
    pub client_id: String,
    /// Read the client secret from stdin instead of a prompt
    #[arg(long)]
    pub client_secret_stdin: bool,
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let secret = read_secret("NinjaOne client secret", self.client_secret_stdin)?;
        let settings = Settings {
            region: self.region,
            url: self.url,
            client_id: self.client_id,
            page_size: saved.and_then(|s| s.page_size),
            device_listing: saved.map(|s| s.device_listing).unwrap_or_default(),
        };
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("client_secret", secret)],
        ))
    }
}
