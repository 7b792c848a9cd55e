//! `reconcile connect connectwise`: the site, company and keys as flags; the private key from a
//! hidden prompt or stdin.

use anyhow::Result;

use super::Settings;
use crate::connectors::{Common, ConnectArgs, NewConnection, read_secret};

/// Connect ConnectWise PSA (API member keys plus your integration's clientId).
///
/// Create an API member (System > Members > API Members) with a read-only security role, add
/// an API key to it, and get a clientId at developer.connectwise.com.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Your login site: na.myconnectwise.net, eu.myconnectwise.net, au.myconnectwise.net, or
    /// your on-premises host
    #[arg(long)]
    pub site: String,
    /// The company id you log in with
    #[arg(long)]
    pub company_id: String,
    /// The API member's public key
    #[arg(long)]
    pub public_key: String,
    /// Your integration's clientId (a GUID from developer.connectwise.com)
    #[arg(long)]
    pub client_id: String,
    /// Pin the API codebase (e.g. v4_6_release/); discovered through login/companyinfo when not
    /// given
    #[arg(long)]
    pub codebase: Option<String>,
    /// Company type that counts as a billable client (repeat for several); default every type
    #[arg(long = "billable-type", value_name = "TYPE")]
    pub billable_types: Vec<String>,
    /// Read the private key from stdin instead of a prompt
    #[arg(long)]
    pub private_key_stdin: bool,
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let secret = read_secret("ConnectWise private key", self.private_key_stdin)?;
        let settings = Settings {
            site: self.site,
            company_id: self.company_id,
            public_key: self.public_key,
            client_id: self.client_id,
            codebase: self.codebase,
            // Without --billable-type the saved list stays.
            billable_company_types: if self.billable_types.is_empty() {
                saved
                    .map(|s| s.billable_company_types.clone())
                    .unwrap_or_default()
            } else {
                self.billable_types
            },
            page_size: saved.and_then(|s| s.page_size),
        };
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("private_key", secret)],
        ))
    }
}
