//! `reconcile connect acronis`: the data-center URL and client id as flags, the client secret
//! from a hidden prompt or stdin.

use anyhow::{Result, bail};

use super::Settings;
use crate::connectors::{Common, ConnectArgs, NewConnection, clean_url, read_secret};

/// Connect Acronis Cyber Protect Cloud (an API client of the partner tenant). The client can
/// also change tenants; reconcile only reads
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The data center URL shown with the API client (such as https://eu2-cloud.acronis.com;
    /// http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// The API client's id (Settings > API clients in the Management portal)
    #[arg(long)]
    pub client_id: String,
    /// Read the client secret from stdin instead of a prompt
    #[arg(long)]
    pub client_secret_stdin: bool,
}

const AFTER_HELP: &str = "\
Create the API client in the Acronis Management portal of your partner tenant: Settings > API
clients > Create API client; copy the client ID, the secret (shown once) and the data center URL.

The client acts on the partner tenant and every tenant under it, and the same API changes tenants,
offering items and pricing: reconcile only sends GET requests. Keep the secret in the OS keyring,
as connect does.

Secret: a hidden prompt on a terminal; from stdin when it is not a terminal, or with
--client-secret-stdin:

  printf %s \"$ACRONIS_SECRET\" | reconcile connect acronis --url https://eu2-cloud.acronis.com --client-id \"$ACRONIS_ID\"";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let Some(url) = clean_url(self.url).or_else(|| saved.map(|s| s.url.clone())) else {
            bail!(
                "--url is required: the data center URL shown when the API client was created (such as https://eu2-cloud.acronis.com); Acronis pins each partner to one data center"
            );
        };
        let secret = read_secret("Acronis API client secret", self.client_secret_stdin)?;
        let settings = Settings {
            url,
            client_id: self.client_id.trim().to_string(),
        };
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("client_secret", secret)],
        ))
    }
}
