//! `reconcile demo`.

use anyhow::Result;

use crate::app::App;
use crate::cli::Exit;

/// TODO
#[derive(Debug, clap::Args)]
pub struct Args {}

impl Args {
    pub async fn run(self, _app: &App) -> Result<Exit> {
        anyhow::bail!("not yet")
    }
}
