//! `reconcile connect pulseway`: the API user and tenant, the billing rules and (for tests) the
//! API host as flags; the password from a hidden prompt or stdin, never from a flag.

use anyhow::Result;

use super::Settings;
use crate::connectors::bms_api::LoginArgs;
use crate::connectors::{Common, ConnectArgs, NewConnection};

/// Connect Pulseway PSA (API v2: an API Employee's login; accounts, contracts and invoices)
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub login: LoginArgs,
    /// The API host [default: https://api.psa.pulseway.com] (http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
}

const AFTER_HELP: &str = "\
Make an API Employee (it uses no licence and cannot log in to the web app): HR > Employees >
New, user type \"API Employee\", a valid email to set its password, and a security role with
view access to CRM accounts, finance contracts, invoices and services only. The tenant is the
company name shown under My Settings. Pulseway PSA's API cannot list a contract's recurring
services, so billed quantities are read from each contract's last invoice (see
--invoice-months). The password is read from a hidden prompt, or from stdin:

  printf '%s\\n' \"$PSA_PASSWORD\" | reconcile connect pulseway --user api@acme.example --tenant Acme";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.login.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        self.login.into_connection(None, self.url, saved)
    }
}
