//! `reconcile connect accelo`: the deployment (or API host), the service application's client id
//! and the billable standings as flags; the client secret from a hidden prompt or stdin, never
//! from a flag.

use anyhow::Result;

use super::Settings;
use super::settings::DEFAULT_BILLABLE_STANDING;
use crate::connectors::{
    Common, ConnectArgs, KindSettings, NewConnection, clean_list, clean_url, read_secret,
};

/// Connect Accelo (a service application, scope read(all); companies, contracts and the
/// materials on their open periods)
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The deployment: `acme` for https://acme.api.accelo.com
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    pub deployment: Option<String>,
    /// The API host instead of --deployment (https://acme.api.accelo.com; http:// on loopback
    /// only)
    #[arg(long)]
    pub url: Option<String>,
    /// The service application's client id
    #[arg(long)]
    pub client_id: String,
    /// A company standing that bills (repeat for several) [default: active]; companies of other
    /// standings are kept, not billable
    #[arg(long = "billable-standing")]
    pub billable_standings: Vec<String>,
    /// At most this many requests an hour (1-5000; Accelo allows 5,000 per deployment)
    #[arg(long)]
    pub requests_per_hour: Option<usize>,
    /// Read the client secret from stdin instead of a prompt
    #[arg(long)]
    pub client_secret_stdin: bool,
}

const AFTER_HELP: &str = "\
Register a service application in Accelo: Configuration > API > Register Application, type
\"Service\". Its client id goes in --client-id; its client secret is read from a hidden prompt,
or from stdin. reconcile asks for the scope read(all) only (no write scope).
Per-seat quantities are read from the materials on each active contract's open period: a
contract billed as a fixed value with no materials has no per-seat line to reconcile.

  printf '%s\\n' \"$ACCELO_SECRET\" | reconcile connect accelo --deployment acme --client-id 1a2b3c";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let secret = read_secret("Accelo client secret", self.client_secret_stdin)?;
        let standings = clean_list(self.billable_standings);
        let settings = Settings {
            deployment: self.deployment.map(|d| d.trim().to_string()),
            url: clean_url(self.url),
            client_id: self.client_id.trim().to_string(),
            billable_standings: if standings.is_empty() {
                saved
                    .map(|s| s.billable_standings.clone())
                    .unwrap_or_else(|| vec![DEFAULT_BILLABLE_STANDING.into()])
            } else {
                standings
            },
            requests_per_hour: self
                .requests_per_hour
                .or(saved.and_then(|s| s.requests_per_hour)),
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("client_secret", secret)],
        ))
    }
}
