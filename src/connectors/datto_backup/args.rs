//! `reconcile connect datto-backup`: the public key as a flag, the secret key from a hidden
//! prompt or stdin.

use anyhow::Result;

use super::Settings;
use crate::connectors::{Common, ConnectArgs, NewConnection, clean_url, read_secret};

/// Connect Datto SaaS Protection and BCDR (the Partner Portal API key pair). The key pair is
/// partner-wide and can change seats; reconcile only reads
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The API key pair's public key (Admin > Integrations > API keys in the Datto Partner
    /// Portal)
    #[arg(long)]
    pub public_key: String,
    /// The REST API host (default https://api.datto.com; http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// Read the secret key from stdin instead of a prompt
    #[arg(long)]
    pub secret_key_stdin: bool,
}

const AFTER_HELP: &str = "\
Create the key pair in the Datto Partner Portal: Admin > Integrations > API keys; copy the public
key and the secret key (shown once). One pair reads both SaaS Protection and BCDR.

The pair is partner-wide, has no read-only form, and the same API changes SaaS Protection seats:
reconcile only sends GET requests. Keep the secret key in the OS keyring, as connect does.

Secret: a hidden prompt on a terminal; from stdin when it is not a terminal, or with
--secret-key-stdin:

  printf %s \"$DATTO_SECRET\" | reconcile connect datto-backup --public-key \"$DATTO_PUBLIC\"";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let secret = read_secret("Datto API secret key", self.secret_key_stdin)?;
        let settings = Settings {
            public_key: self.public_key.trim().to_string(),
            url: clean_url(self.url),
        };
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("secret_key", secret)],
        ))
    }
}
