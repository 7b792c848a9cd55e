//! `reconcile connect syncro`: the account's subdomain (or API URL) and the billable-customer
//! rules as flags; the API token from a hidden prompt or stdin, never from a flag.

use anyhow::Result;

use super::Settings;
use crate::connectors::{Common, ConnectArgs, KindSettings, NewConnection, read_secret};

/// Connect Syncro (API token; customers, recurring invoices and their lines).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The account's subdomain: `acme` for https://acme.syncromsp.com
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    pub subdomain: Option<String>,
    /// The API base URL instead of --subdomain (https://acme.syncromsp.com/api/v1; http:// on
    /// loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// Only customers with a business name bill (individuals do not)
    #[arg(long)]
    pub business_only: bool,
    /// A customer property (custom field) that marks billable customers, e.g. `Type`
    #[arg(long)]
    pub billable_property: Option<String>,
    /// A value of --billable-property that bills (repeat for several; without any, any value
    /// other than blank/false/no/0 bills)
    #[arg(long = "billable-value", requires = "billable_property")]
    pub billable_values: Vec<String>,
    /// At most this many requests a minute (1-180; Syncro allows 180 per IP address)
    #[arg(long)]
    pub requests_per_minute: Option<usize>,
    /// Read the API token from stdin instead of a prompt
    #[arg(long)]
    pub api_token_stdin: bool,
}

const AFTER_HELP: &str = "\
Create the API token in Syncro: Admin > API Tokens > New Token > Custom Permissions, and give it
Customers - List/Search, Recurring Invoices - List and Products - List/Search (nothing else).
The token is read from a hidden prompt, or from stdin when stdin is not a terminal:

  printf '%s\\n' \"$SYNCRO_TOKEN\" | reconcile connect syncro --subdomain acme";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let token = read_secret("Syncro API token", self.api_token_stdin)?;
        let settings = Settings {
            subdomain: self.subdomain,
            url: self.url,
            business_only: self.business_only,
            billable_property: self.billable_property,
            billable_property_values: self.billable_values,
            requests_per_minute: self.requests_per_minute,
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("api_token", token)],
        ))
    }
}
