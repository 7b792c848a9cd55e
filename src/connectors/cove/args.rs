//! `reconcile connect cove`: the partner and the API user as flags, the password from a hidden
//! prompt or stdin.

use anyhow::Result;

use super::Settings;
use crate::connectors::{Common, ConnectArgs, NewConnection, clean_url, read_secret};

/// Connect N-able Cove Data Protection (a partner's API user)
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The partner name exactly as the Management Console shows it (case included)
    #[arg(long)]
    pub partner: String,
    /// The API user's login name
    #[arg(long)]
    pub username: String,
    /// The JSON-RPC host (default https://api.backup.management; http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// Read the password from stdin instead of a prompt
    #[arg(long)]
    pub password_stdin: bool,
}

const AFTER_HELP: &str = "\
Create a dedicated API user in the Cove Management Console at your top partner level, with the
least role that still lists devices; the same API changes devices and partners, and reconcile only
calls Login, EnumeratePartners and EnumerateAccountStatistics.

Password: a hidden prompt on a terminal; from stdin when it is not a terminal, or with
--password-stdin:

  printf %s \"$COVE_PASSWORD\" | reconcile connect cove --partner 'Bluewave MSP (ops@bluewave.example)' --username api-reconcile";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let password = read_secret("Cove API user's password", self.password_stdin)?;
        let settings = Settings {
            partner: self.partner.trim().to_string(),
            username: self.username.trim().to_string(),
            url: clean_url(self.url),
        };
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("password", password)],
        ))
    }
}
