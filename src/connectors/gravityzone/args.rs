//! `reconcile connect gravityzone`: the Access URL and the billed month as flags; the API key
//! from a hidden prompt or stdin, never from a flag.

use anyhow::Result;

use super::settings::{Settings, UsageMonth};
use crate::connectors::{Common, ConnectArgs, KindSettings, NewConnection, read_secret};

/// Connect Bitdefender GravityZone Cloud (an API key with the Companies, Network and Licensing
/// APIs).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The Access URL shown next to the key, such as
    /// https://cloud.gravityzone.bitdefender.com/api (http:// on loopback only)
    #[arg(long)]
    pub url: String,
    /// Which month's licence usage to read: the last closed month (what Bitdefender invoices) or
    /// the month so far
    #[arg(long, value_enum)]
    pub usage_month: Option<UsageMonth>,
    /// Read the API key from stdin instead of a prompt
    #[arg(long)]
    pub api_key_stdin: bool,
}

const AFTER_HELP: &str = "\
GravityZone has no read-only API key: the Companies and Network APIs also hold methods that
change things. reconcile only calls getCompanyDetails, findCompaniesByName, getEndpointsList and
getMonthlyUsagePerProductType; keep the key as safe as an administrator password.

In GravityZone Control Center, signed in to your partner company: My Account > API keys > Add.
Enable the Companies, Network and Licensing APIs only, save, and copy the key and the Access URL
shown with it. The key is read from a hidden prompt, or from stdin:

  printf '%s' \"$GZ_API_KEY\" | reconcile connect gravityzone --url https://cloud.gravityzone.bitdefender.com/api --api-key-stdin";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let key = read_secret("GravityZone API key", self.api_key_stdin)?;
        let settings = Settings {
            url: self.url.trim().trim_end_matches('/').to_string(),
            usage_month: self
                .usage_month
                .or_else(|| saved.and_then(|s| s.usage_month)),
            page_size: saved.and_then(|s| s.page_size),
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("api_key", key)],
        ))
    }
}
