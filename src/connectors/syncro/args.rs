//! `reconcile connect syncro`: the account's subdomain (or API URL) and the billable-customer
//! rules as flags; the API token from a hidden prompt or stdin, never from a flag.

use anyhow::Result;

use super::Settings;
use crate::connectors::{
    Common, ConnectArgs, KindSettings, NewConnection, read_secret, read_two_secrets,
};

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
    /// Let `reconcile push` change schedule line items (quantity, and cost where a mapping opts
    /// in). The token that writes needs Recurring Invoices - Edit; without this flag the
    /// connection stays read-only
    #[arg(long)]
    pub allow_write: bool,
    /// Use a second API token, with Recurring Invoices - Edit, for writes only (asked for after
    /// the read token, or the second line of stdin); the read token keeps read permissions
    #[arg(long, requires = "allow_write")]
    pub write_token: bool,
    /// Read the API token from stdin instead of a prompt (with --write-token: two lines, the
    /// read token, then the write token)
    #[arg(long)]
    pub api_token_stdin: bool,
}

const AFTER_HELP: &str = "\
Create the API token in Syncro: Admin > API Tokens > New Token > Custom Permissions, and give it
Customers - List/Search, Recurring Invoices - List and Products - List/Search (nothing else).
For `reconcile push` (--allow-write) the token that writes also needs Recurring Invoices - Edit;
--write-token keeps that right on a second token.
The token is read from a hidden prompt, or from stdin when stdin is not a terminal:

  printf '%s\\n' \"$SYNCRO_TOKEN\" | reconcile connect syncro --subdomain acme";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let secrets = if self.write_token {
            let (read, write) = read_two_secrets(
                ("Syncro API token", "Syncro write API token"),
                self.api_token_stdin,
            )?;
            vec![("api_token", read), (super::settings::WRITE_SECRET, write)]
        } else {
            vec![(
                "api_token",
                read_secret("Syncro API token", self.api_token_stdin)?,
            )]
        };
        let settings = Settings {
            subdomain: self.subdomain,
            url: self.url,
            business_only: self.business_only,
            billable_property: self.billable_property,
            billable_property_values: self.billable_values,
            requests_per_minute: self.requests_per_minute,
            allow_write: self.allow_write,
            write_token: self.write_token,
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(&self.common, settings, secrets))
    }
}
