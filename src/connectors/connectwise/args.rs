//! `reconcile connect connectwise`: the site, company and keys as flags; the private key (and
//! the write member's, when one is given) from a hidden prompt or stdin.

use anyhow::Result;

use super::Settings;
use super::settings::WRITE_SECRET;
use crate::connectors::{Common, ConnectArgs, NewConnection, read_secret, read_two_secrets};

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
    /// Let `reconcile push` change agreement additions (quantity, and unit cost where a mapping
    /// opts in). The API member that writes needs Finance > Agreements: Edit in its security
    /// role; without this flag the connection stays read-only
    #[arg(long)]
    pub allow_write: bool,
    /// A second API member's public key, used only for writes (its role has Finance >
    /// Agreements: Edit; the read member keeps its read-only role). Its private key is asked
    /// for after the read member's (or is the second line of stdin)
    #[arg(long, requires = "allow_write")]
    pub write_public_key: Option<String>,
    /// Read the private key from stdin instead of a prompt (with --write-public-key: two lines,
    /// the read member's private key, then the write member's)
    #[arg(long)]
    pub private_key_stdin: bool,
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let write_public_key = self
            .write_public_key
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty());
        let secrets = if write_public_key.is_some() {
            let (read, write) = read_two_secrets(
                (
                    "ConnectWise private key",
                    "ConnectWise write member's private key",
                ),
                self.private_key_stdin,
            )?;
            vec![("private_key", read), (WRITE_SECRET, write)]
        } else {
            vec![(
                "private_key",
                read_secret("ConnectWise private key", self.private_key_stdin)?,
            )]
        };
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
            allow_write: self.allow_write,
            write_public_key,
        };
        Ok(NewConnection::new(&self.common, settings, secrets))
    }
}
