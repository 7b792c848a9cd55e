//! `reconcile connect ncentral`: the server's URL and device filters as flags; the User-API
//! Token from a hidden prompt or stdin, never from a flag.

use anyhow::Result;

use super::settings::Settings;
use crate::connectors::{
    Common, ConnectArgs, KindSettings, NewConnection, clean_list, read_secret,
};

/// Connect N-able N-central (REST API-Service, an API-only user's User-API Token).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The N-central server, https://ncentral.example.com (http:// on loopback only)
    #[arg(long)]
    pub url: String,
    /// A device filter (name or id) whose devices are counted per customer as a service of
    /// their own; repeat for several
    #[arg(long = "device-filter", value_name = "FILTER")]
    pub device_filters: Vec<String>,
    /// Read the User-API Token from stdin instead of a prompt
    #[arg(long)]
    pub token_stdin: bool,
}

const AFTER_HELP: &str = "\
Create a dedicated API-only user with MFA off and a role that can read customers and devices
(Administration > User Management > Roles; no write permission is needed), with access groups
covering every customer to reconcile. Then open the user: API Access > Generate JSON Web Token.
The token is read from a hidden prompt, or from stdin:

  printf '%s' \"$NCENTRAL_TOKEN\" | reconcile connect ncentral --url https://ncentral.example.com --token-stdin";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let token = read_secret("N-central User-API Token (JWT)", self.token_stdin)?;
        let filters = clean_list(self.device_filters);
        let settings = Settings {
            url: self.url.trim().trim_end_matches('/').to_string(),
            page_size: saved.and_then(|s| s.page_size),
            device_filters: if filters.is_empty() {
                saved.map(|s| s.device_filters.clone()).unwrap_or_default()
            } else {
                filters
            },
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("api_token", token)],
        ))
    }
}
