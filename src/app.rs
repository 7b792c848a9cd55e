//! What every command gets: resolved paths, verbosity, the secret store, the retry policy, and
//! helpers that open the config and the database with errors that say where they looked.

use anyhow::Result;

use crate::config::{Config, Paths};
use crate::http::RetryPolicy;
use crate::secrets::Secrets;
use crate::store::Store;

pub struct App {
    pub paths: Paths,
    pub quiet: bool,
    pub verbose: u8,
    pub secrets: Secrets,
    pub retry: RetryPolicy,
}

impl App {
    pub fn config(&self) -> Result<Config> {
        Config::load(&self.paths.config)
    }

    /// The database, for a command that writes it.
    pub fn store(&self) -> Result<Store> {
        Store::open(&self.paths.db)
    }

    /// The database, for a command that only reads it: read-only as it is when this process
    /// cannot write it (a read-only directory), where [`App::store`] fails.
    pub fn store_read(&self) -> Result<Store> {
        Store::open_read(&self.paths.db)
    }

    /// A progress or status line on stderr, unless `--quiet`.
    #[allow(clippy::print_stderr, reason = "the CLI's own status lines")]
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// A warning on stderr, unless `--quiet`.
    #[allow(clippy::print_stderr, reason = "the CLI's own warnings")]
    pub fn warn(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("warning: {}", msg.as_ref());
        }
    }
}
