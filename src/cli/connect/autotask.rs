//! `reconcile connect autotask`: NOT BUILT YET (scaffold).

use anyhow::{Result, bail};

use super::Plan;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "autotask")]
    pub name: String,
    /// Save without checking the credentials against the API
    #[arg(long)]
    pub no_verify: bool,
}

impl Args {
    /// What to save, and whether to verify it first. Secrets are read here (through
    /// [`super::read_secret`]), never from a flag value.
    pub fn plan(self) -> Result<(Plan, bool)> {
        bail!("connecting Autotask PSA is not built yet")
    }
}
