//! `reconcile connect autotask`: the API-only user's user name and API Tracking Identifier as
//! flags, its secret from a hidden prompt or stdin (never a flag).

use anyhow::{Result, bail};

use super::Settings;
use crate::connectors::{Common, ConnectArgs, NewConnection, read_secret, read_two_secrets};

/// Connect Autotask PSA (API-only user; zone found from the user name).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The API-only user's user name (api@example.com); also finds the database's zone
    #[arg(long)]
    pub username: String,
    /// The API user's API Tracking Identifier (sent as ApiIntegrationCode)
    #[arg(long)]
    pub integration_code: String,
    /// Company type (picklist label such as Customer, or its number) whose companies are
    /// billable; repeat for several. Default: Customer
    #[arg(long = "billable-type", value_name = "TYPE")]
    pub billable_types: Vec<String>,
    /// The Service field a line's product is identified by (default: name)
    #[arg(long, value_name = "FIELD")]
    pub product_field: Option<String>,
    /// Zone lookup base URL (default https://webservices.autotask.net/atservicesrest/; http://
    /// on loopback only)
    #[arg(long)]
    pub zone_lookup_url: Option<String>,
    /// Let `reconcile push` adjust contract service units (whole units, as adjustments dated
    /// at the effective date, with a contract note). The API user that writes needs a security
    /// level that may edit Contracts; without this flag the connection stays read-only
    #[arg(long)]
    pub allow_write: bool,
    /// A second API-only user, used only for writes (its security level may edit Contracts);
    /// its secret is asked for after the read user's (or is the second line of stdin)
    #[arg(long, requires = "allow_write")]
    pub write_username: Option<String>,
    /// Read the secret from stdin instead of a prompt (with --write-username: two lines, the
    /// read user's secret, then the write user's)
    #[arg(long)]
    pub secret_stdin: bool,
}

const AFTER_HELP: &str = "\
Create an API-only user in Autotask: Admin > Account Settings & Users > Resources/Users > New
API User. Give it the `API User (system)` security level (or one that can view Companies,
Contracts and Services), generate its secret, and under API Tracking Identifier choose Custom
(Internal Integration) and name it: that identifier is --integration-code.

The secret is read from a hidden prompt, or from stdin when stdin is not a terminal or with
--secret-stdin:

  printf '%s' \"$AT_SECRET\" | reconcile connect autotask --username api@example.com --integration-code \"$AT_CODE\"";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        if self.username.trim().is_empty() || self.integration_code.trim().is_empty() {
            bail!("--username and --integration-code must not be empty");
        }
        let write_username = self
            .write_username
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        let secrets = if write_username.is_some() {
            let (read, write) = read_two_secrets(
                ("Autotask API user secret", "Autotask write user secret"),
                self.secret_stdin,
            )?;
            vec![("secret", read), (super::settings::WRITE_SECRET, write)]
        } else {
            vec![(
                "secret",
                read_secret("Autotask API user secret", self.secret_stdin)?,
            )]
        };
        let settings = Settings {
            username: self.username.trim().to_string(),
            integration_code: self.integration_code.trim().to_string(),
            zone_lookup_url: self
                .zone_lookup_url
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty()),
            billable_company_types: if self.billable_types.is_empty() {
                vec!["Customer".into()]
            } else {
                self.billable_types
            },
            product_field: self.product_field.filter(|f| !f.trim().is_empty()),
            max_threshold_percent: saved.and_then(|s| s.max_threshold_percent),
            history_days: saved.and_then(|s| s.history_days),
            allow_write: self.allow_write,
            write_username,
        };
        Ok(NewConnection::new(&self.common, settings, secrets))
    }
}
