//! `reconcile connect keeper`: a Keeper MSP connection through Keeper Commander, either its
//! Service Mode REST server (`--url`, API key read like every other secret) or the local
//! `keeper` executable (`--commander`, no secret: Commander keeps its own login).

use anyhow::{Result, bail};

use super::{Mode, Settings};
use crate::connectors::{Common, ConnectArgs, NewConnection, read_secret};

/// Connect Keeper MSP through Keeper Commander (Service Mode or the `keeper` executable).
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("route").required(true).args(["url", "commander"])))]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Service mode: your Commander Service Mode server, https://host:port (http:// on
    /// loopback only). The API key is then prompted for, or read from stdin
    #[arg(long)]
    pub url: Option<String>,
    /// Commander mode: run the local `keeper` executable instead (it must be logged in as an
    /// MSP administrator with persistent login); no secret is stored
    #[arg(long)]
    pub commander: bool,
    /// Commander mode: path of the `keeper` executable (default: `keeper` on PATH)
    #[arg(long, requires = "commander")]
    pub executable: Option<String>,
    /// Commander mode: an argument put before the command, e.g. `--arg=--config
    /// --arg=/etc/keeper/config.json` (repeat for several)
    #[arg(long = "arg", requires = "commander", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Commander mode: seconds `keeper` may run before it is stopped (default 120)
    #[arg(long, requires = "commander")]
    pub timeout_secs: Option<u64>,
    /// Service mode: read the API key from stdin instead of a prompt
    #[arg(long, requires = "url")]
    pub api_key_stdin: bool,
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        if let Some(url) = self.url {
            let key = read_secret("Keeper Service Mode API key", self.api_key_stdin)?;
            let settings = Settings {
                mode: Mode::Service,
                url: Some(url.trim().trim_end_matches('/').to_string()),
                executable: None,
                args: Vec::new(),
                timeout_secs: None,
            };
            return Ok(NewConnection::new(
                &self.common,
                settings,
                vec![("api_key", key)],
            ));
        }
        if !self.commander {
            bail!("give --url (Service Mode) or --commander (the local `keeper` executable)");
        }
        let settings = Settings {
            mode: Mode::Commander,
            url: None,
            executable: self.executable,
            args: self.args,
            timeout_secs: self.timeout_secs,
        };
        Ok(NewConnection::new(&self.common, settings, Vec::new()))
    }
}
