//! `reconcile connect nsight`: the dashboard's server as a flag; the API key from a hidden prompt
//! or stdin, never from a flag.

use anyhow::Result;

use super::settings::Settings;
use crate::connectors::{Common, ConnectArgs, KindSettings, NewConnection, read_secret};

/// Connect N-able N-sight RMM (Data Extraction API, a dashboard user's API key).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Your dashboard's server, as its URL shows it: https://www.systemmonitor.us (US),
    /// https://www.systemmonitor.co.uk (UK), https://wwweurope1.systemmonitor.eu.com (EU),
    /// https://www.system-monitor.com (AU), ... (http:// on loopback only)
    #[arg(long)]
    pub url: String,
    /// Read the API key from stdin instead of a prompt
    #[arg(long)]
    pub api_key_stdin: bool,
}

const AFTER_HELP: &str = "\
The key belongs to a dashboard user and sees what that user sees: create a dedicated user with
access to the clients to reconcile, sign in as it, and generate its key in Settings > General
Settings > API. The key is read from a hidden prompt, or from stdin:

  printf '%s' \"$NSIGHT_API_KEY\" | reconcile connect nsight --url https://www.systemmonitor.us --api-key-stdin";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let key = read_secret("N-sight API key", self.api_key_stdin)?;
        let settings = Settings {
            url: self.url.trim().trim_end_matches('/').to_string(),
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("api_key", key)],
        ))
    }
}
