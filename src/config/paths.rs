//! Where the config file and the database live: flags, then environment, then the XDG base
//! directories.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

/// Where the config and database live, after flags, environment and defaults.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config: PathBuf,
    pub db: PathBuf,
    /// The config path was given (`--config` or `RECONCILE_CONFIG`), so a missing file is a
    /// mistake to name, not a first run.
    pub config_given: bool,
}

impl Paths {
    /// Resolves defaults in the XDG base directories (also on macOS, like most CLIs).
    pub fn resolve(config: Option<PathBuf>, db: Option<PathBuf>) -> Result<Paths> {
        use etcetera::BaseStrategy;
        let needs_dirs = config.is_none() || db.is_none();
        let config_given = config.is_some();
        let strategy = if needs_dirs {
            Some(etcetera::choose_base_strategy().map_err(|e| {
                anyhow!("cannot find your home directory ({e}); pass --config and --db")
            })?)
        } else {
            None
        };
        let config = match config {
            Some(c) => c,
            None => strategy
                .as_ref()
                .unwrap()
                .config_dir()
                .join("reconcile")
                .join("config.toml"),
        };
        let db = match db {
            Some(d) => d,
            None => strategy
                .as_ref()
                .unwrap()
                .data_dir()
                .join("reconcile")
                .join("reconcile.db"),
        };
        Ok(Paths {
            config,
            db,
            config_given,
        })
    }
}
