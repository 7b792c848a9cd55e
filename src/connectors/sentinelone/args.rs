//! `reconcile connect sentinelone`: the console URL as a flag; the API token from a hidden
//! prompt or stdin.

use anyhow::Result;

use super::Settings;
use crate::connectors::{Common, ConnectArgs, NewConnection, read_secret};

/// Connect SentinelOne (a service user's API token; Viewer role is enough).
///
/// Create the token in the SentinelOne console: Settings > Users > Service Users > New
/// Service User, role Viewer on the account or site scope, and pick an expiration date.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Your management console URL: https://<tenant>.sentinelone.net (http:// on loopback only)
    #[arg(long)]
    pub url: String,
    /// Read the API token from stdin instead of a prompt
    #[arg(long)]
    pub api_token_stdin: bool,
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let secret = read_secret("SentinelOne API token", self.api_token_stdin)?;
        let settings = Settings {
            url: self.url.trim().trim_end_matches('/').to_string(),
            page_size: saved.and_then(|s| s.page_size),
        };
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("api_token", secret)],
        ))
    }
}
