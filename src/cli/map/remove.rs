//! `reconcile map remove`: remove one account or service mapping.

use anyhow::{Result, bail};

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::store::Store;

use super::account::account_id_for;

/// Remove one mapping.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    what: What,
    /// Vendor connection
    #[arg(add = crate::cli::complete::vendors())]
    vendor: String,
    /// Account id or service key
    key: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum What {
    Account,
    Service,
}

impl Args {
    pub fn run(self, app: &App, config: &Config, store: &mut Store) -> Result<Exit> {
        let Args { what, vendor, key } = self;
        let removed = match what {
            What::Account => {
                // Accept the name too, as `map account` does.
                let id = account_id_for(config, store, &vendor, &key).unwrap_or(key.clone());
                store.remove_account_mapping(&vendor, &id)?
            }
            What::Service => store.remove_service_mapping(&vendor, &key)?,
        };
        if !removed {
            bail!(
                "no {} mapping for `{key}` of `{vendor}`; `reconcile map list` shows them",
                match what {
                    What::Account => "account",
                    What::Service => "service",
                }
            );
        }
        app.info(format!("removed the mapping of `{key}` ({vendor})"));
        Ok(Exit::Ok)
    }
}
