//! `reconcile connect sherweb`: the API key's Client ID as a flag; the Client Secret and the
//! Subscription Key, two secrets, from two hidden prompts or as two lines on stdin.

use anyhow::Result;

use super::Settings;
use crate::connectors::{Common, ConnectArgs, NewConnection, clean_url, read_two_secrets};

/// Connect Sherweb (API key: client credentials, scope `service-provider`, plus the
/// Subscription Key).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The API key's Client ID (Security > APIs in the Sherweb Partner Portal)
    #[arg(long)]
    pub client_id: String,
    /// Service Provider API base URL (default https://api.sherweb.com/service-provider/v1;
    /// http:// on loopback only)
    #[arg(long)]
    pub api_url: Option<String>,
    /// OAuth2 token endpoint (default https://api.sherweb.com/auth/oidc/connect/token; http://
    /// on loopback only)
    #[arg(long)]
    pub token_url: Option<String>,
    /// Read the Client Secret and the Subscription Key from stdin, one per line, instead of
    /// two prompts
    #[arg(long)]
    pub secrets_stdin: bool,
}

const AFTER_HELP: &str = "\
Create the API key in the Sherweb Partner Portal (cumulus.sherweb.com): Security > APIs, enter an
application name, Create; copy the Client ID, the Client Secret (shown once) and the Subscription
Key.

Secrets: on a terminal, two hidden prompts ask for the Client Secret, then the Subscription Key.
When stdin is not a terminal, or with --secrets-stdin, both are read from stdin as two lines: the
Client Secret on the first, the Subscription Key on the second:

  printf '%s\\n%s\\n' \"$SW_SECRET\" \"$SW_KEY\" | reconcile connect sherweb --client-id \"$SW_ID\"";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let (secret, key) = read_two_secrets(
            ("Sherweb Client Secret", "Sherweb Subscription Key"),
            self.secrets_stdin,
        )?;
        let settings = Settings {
            client_id: self.client_id.trim().to_string(),
            api_url: clean_url(self.api_url),
            token_url: clean_url(self.token_url),
        };
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("client_secret", secret), ("subscription_key", key)],
        ))
    }
}
