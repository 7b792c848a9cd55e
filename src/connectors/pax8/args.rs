//! `reconcile connect pax8`: the client id as a flag; the client secret from a hidden prompt or
//! stdin.

use anyhow::Result;

use super::Settings;
use crate::connectors::{Common, ConnectArgs, NewConnection, clean_url, read_secret};

/// Connect Pax8 (API credentials: client credentials with an audience). The credentials can
/// also place orders; reconcile only reads
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The credentials' client id (Integrations > Credentials in the Pax8 app)
    #[arg(long)]
    pub client_id: String,
    /// Partner API base URL (default https://api.pax8.com/v1; http:// on loopback only)
    #[arg(long)]
    pub api_url: Option<String>,
    /// Token endpoint (default https://api.pax8.com/v1/token; older credentials:
    /// https://login.pax8.com/oauth/token)
    #[arg(long)]
    pub token_url: Option<String>,
    /// The token's audience (default https://api.pax8.com; older credentials: api://p8p.client)
    #[arg(long)]
    pub audience: Option<String>,
    /// Read the client secret from stdin instead of a prompt
    #[arg(long)]
    pub client_secret_stdin: bool,
}

const AFTER_HELP: &str = "\
Create the credentials in the Pax8 app: Integrations > Credentials tab (a Partner Admin or Primary
Partner Admin can); copy the client id and the client secret (shown once).

Pax8 has no read-only credentials: the same key can order, change quantities (a real order with
the vendor) and cancel. reconcile only ever reads companies and subscriptions (GET); keep the
secret in the OS keyring, as connect does.

Secret: a hidden prompt on a terminal; from stdin when it is not a terminal, or with
--client-secret-stdin:

  printf %s \"$PAX8_SECRET\" | reconcile connect pax8 --client-id \"$PAX8_ID\"";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let secret = read_secret("Pax8 client secret", self.client_secret_stdin)?;
        let settings = Settings {
            client_id: self.client_id.trim().to_string(),
            api_url: clean_url(self.api_url),
            token_url: clean_url(self.token_url),
            audience: self
                .audience
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty()),
        };
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("client_secret", secret)],
        ))
    }
}
