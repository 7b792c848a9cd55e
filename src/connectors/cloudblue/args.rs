//! `reconcile connect cloudblue`: the API host, the API user and tenant and the billing rules as
//! flags; the password from a hidden prompt or stdin, never from a flag.

use anyhow::Result;

use super::Settings;
use crate::connectors::bms_api::LoginArgs;
use crate::connectors::{Common, ConnectArgs, NewConnection};

/// Connect CloudBlue PSA (the BMS v2 API: a user's login; accounts, contracts and invoices)
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub login: LoginArgs,
    /// The tenant's API host, the one serving its Swagger page (https://...; http:// on
    /// loopback only). Required: CloudBlue PSA has no one public API host
    #[arg(long)]
    pub url: String,
}

const AFTER_HELP: &str = "\
Make a dedicated user whose security role only views CRM accounts, finance contracts, invoices
and services. The tenant is the company name shown under My Settings. The API host is the one
your tenant's Swagger page is on (legacy Vorex tenants: https://api.vorexlogin.com); `connect`
signs in and reads one page of each list, which confirms the host serves the BMS v2 API.
Billed quantities are read from each contract's last invoice (see --invoice-months).
The password is read from a hidden prompt, or from stdin:

  printf '%s\\n' \"$PSA_PASSWORD\" | reconcile connect cloudblue --url https://api.example.com --user api --tenant Acme";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.login.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        self.login.into_connection(None, Some(self.url), saved)
    }
}
