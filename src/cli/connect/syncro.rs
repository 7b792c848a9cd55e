//! `reconcile connect syncro`: the account's subdomain (or API URL) and the billable-customer
//! rules as flags; the API token from a hidden prompt or stdin, never from a flag.

use anyhow::Result;
use secrecy::SecretString;
use toml_edit::Value;

use super::{Plan, read_secret};
use crate::config::ConnectionSettings;
use crate::connectors::syncro::Settings;

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "syncro")]
    pub name: String,
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
    /// Save without checking the credentials against the API
    #[arg(long)]
    pub no_verify: bool,
}

const AFTER_HELP: &str = "\
Create the API token in Syncro: Admin > API Tokens > New Token > Custom Permissions, and give it
Customers - List/Search, Recurring Invoices - List and Products - List/Search (nothing else).
The token is read from a hidden prompt, or from stdin when stdin is not a terminal:

  printf '%s\\n' \"$SYNCRO_TOKEN\" | reconcile connect syncro --subdomain acme";

impl Args {
    /// What to save, and whether to verify it first. Secrets are read here (through
    /// [`super::read_secret`]), never from a flag value.
    pub fn plan(self) -> Result<(Plan, bool)> {
        let token = read_secret("Syncro API token", self.api_token_stdin)?;
        let settings = Settings {
            subdomain: self.subdomain,
            url: self.url,
            business_only: self.business_only,
            billable_property: self.billable_property,
            billable_property_values: self.billable_values,
            requests_per_minute: self.requests_per_minute,
            secret_command: Default::default(),
        };
        settings.validate(&self.name)?;
        Ok((plan(&self.name, settings, token), !self.no_verify))
    }
}

/// The plan for `settings` with the token already read (the demo calls this).
pub fn plan(name: &str, settings: Settings, api_token: SecretString) -> Plan {
    let mut values = vec![("kind", Value::from("syncro"))];
    let mut remove = Vec::new();
    let mut opt = |key: &'static str, v: Option<Value>| match v {
        Some(v) => values.push((key, v)),
        None => remove.push(key),
    };
    opt("subdomain", settings.subdomain.as_deref().map(Value::from));
    opt("url", settings.url.as_deref().map(Value::from));
    opt(
        "business_only",
        settings.business_only.then(|| Value::from(true)),
    );
    opt(
        "billable_property",
        settings.billable_property.as_deref().map(Value::from),
    );
    opt(
        "billable_property_values",
        (!settings.billable_property_values.is_empty()).then(|| {
            Value::Array(
                settings
                    .billable_property_values
                    .iter()
                    .map(String::as_str)
                    .collect(),
            )
        }),
    );
    opt(
        "requests_per_minute",
        settings.requests_per_minute.map(|n| Value::from(n as i64)),
    );
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::Syncro(settings),
        values,
        remove,
        secrets: vec![("api_token", api_token)],
    }
}
