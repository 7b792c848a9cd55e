//! `reconcile connect datto-rmm`: the platform (or API URL) as a flag; the API key and the API
//! secret from two hidden prompts or two lines of stdin, never from a flag.

use anyhow::Result;

use super::settings::{Platform, Settings};
use crate::connectors::{Common, ConnectArgs, KindSettings, NewConnection, read_two_secrets};

/// Connect Datto RMM (API v2, an API user's key and secret; read-only use of a read/write key).
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("instance").required(true).args(["platform", "url"])))]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The platform in your Datto RMM URL (merlot for https://merlot.centrastage.net)
    #[arg(long, value_enum)]
    pub platform: Option<Platform>,
    /// The API URL instead of --platform (https://merlot-api.centrastage.net; http:// on
    /// loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// At most this many requests a minute (1-600; Datto RMM allows 600 reads a minute per
    /// account, shared with your other integrations)
    #[arg(long)]
    pub requests_per_minute: Option<usize>,
    /// Read the API key and the API secret from stdin (two lines) instead of prompts
    #[arg(long)]
    pub api_key_stdin: bool,
}

const AFTER_HELP: &str = "\
Datto RMM has no read-only API key: a key acts as its user with read and write access to the
whole account, whatever that user's security level. Use a dedicated user, and keep the key as
safe as an administrator password; reconcile only ever reads (GET) with it.

Enable the API (Setup > Global Settings > Access Control > Enable API Access), then in
Setup > Users open the dedicated user and click Generate API Keys. The key and the secret are
read from two hidden prompts, or from two lines of stdin:

  printf '%s\\n%s\\n' \"$DATTO_API_KEY\" \"$DATTO_API_SECRET\" | reconcile connect datto-rmm --platform merlot";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let (key, secret) = read_two_secrets(
            ("Datto RMM API key", "Datto RMM API secret"),
            self.api_key_stdin,
        )?;
        let settings = Settings {
            platform: self.platform,
            url: crate::connectors::clean_url(self.url),
            page_size: saved.and_then(|s| s.page_size),
            requests_per_minute: self
                .requests_per_minute
                .or_else(|| saved.and_then(|s| s.requests_per_minute)),
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("api_key", key), ("api_secret", secret)],
        ))
    }
}
