//! `reconcile connect webroot`: the GSM keycode, the API client id and the console admin's email
//! as flags; the client secret and the admin's password from two hidden prompts or two lines of
//! stdin, never from a flag.

use anyhow::Result;

use super::settings::Settings;
use crate::connectors::{Common, ConnectArgs, KindSettings, NewConnection, read_two_secrets};

/// Connect Webroot (Unity API, a GSM console's API client and a dedicated console admin).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The GSM parent keycode, as the GSM console shows it
    #[arg(long)]
    pub gsm_key: String,
    /// The API client id (GSM console > Settings > API Access)
    #[arg(long)]
    pub client_id: String,
    /// The email address of the console admin the API signs in as
    #[arg(long)]
    pub username: String,
    /// The API host instead of https://unityapi.webrootcloudav.com (http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// Read the client secret and the admin's password from stdin (two lines) instead of
    /// prompts
    #[arg(long)]
    pub secrets_stdin: bool,
}

const AFTER_HELP: &str = "\
Webroot's Unity API signs in as a console admin: create a dedicated GSM console admin for it
with access to the sites to reconcile (no two-factor prompt for it), then in the GSM console:
Settings > API Access > create an API client, and copy its id and secret. The client secret and
the admin's password are read from two hidden prompts, or from two lines of stdin:

  printf '%s\\n%s\\n' \"$WR_CLIENT_SECRET\" \"$WR_PASSWORD\" | reconcile connect webroot --gsm-key XXXX-XXXX-XXXX-XXXX-XXXX --client-id client_x --username api@msp.example --secrets-stdin";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let (secret, password) = read_two_secrets(
            (
                "Webroot API client secret",
                "Webroot console admin password",
            ),
            self.secrets_stdin,
        )?;
        let settings = Settings {
            gsm_key: self.gsm_key.trim().to_string(),
            client_id: self.client_id.trim().to_string(),
            username: self.username.trim().to_string(),
            url: crate::connectors::clean_url(self.url),
            page_size: saved.and_then(|s| s.page_size),
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("client_secret", secret), ("password", password)],
        ))
    }
}
