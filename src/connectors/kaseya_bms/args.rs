//! `reconcile connect kaseya-bms`: the data centre (or API host), the API user and tenant and
//! the billing rules as flags; the password from a hidden prompt or stdin, never from a flag.

use anyhow::Result;

use super::Settings;
use crate::connectors::bms_api::{LoginArgs, Region};
use crate::connectors::{Common, ConnectArgs, NewConnection};

/// Connect Kaseya BMS (API v2: an API user's login; accounts, contracts and invoices)
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub login: LoginArgs,
    /// The tenant's data centre: na (api.bms.kaseya.com), emea (api.bmsemea.kaseya.com) or
    /// apac (api.bmsapac.kaseya.com) [default: na]
    #[arg(long, value_enum, conflicts_with = "url")]
    pub region: Option<Region>,
    /// The API host instead of --region (https://api.bms.kaseya.com; http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
}

const AFTER_HELP: &str = "\
Make a dedicated API user: Admin > My Company > Security Roles, copy a role and leave it view
access to CRM accounts, finance contracts, invoices and services only (no edit); then
Admin > My Company > Users, add the user with that role. The tenant is the company name shown
under My Settings. Kaseya BMS's API cannot list a contract's recurring services, so billed
quantities are read from each contract's last invoice (see --invoice-months).
The password is read from a hidden prompt, or from stdin when stdin is not a terminal:

  printf '%s\\n' \"$BMS_PASSWORD\" | reconcile connect kaseya-bms --user api.reconcile --tenant Acme";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.login.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        self.login.into_connection(self.region, self.url, saved)
    }
}
