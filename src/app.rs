//! What every command gets: resolved paths, verbosity, the secret store, the retry policy, and
//! helpers that open the config and the database with errors that say where they looked.

use anyhow::Result;

use crate::config::{Config, ConfigDocument, Paths};
use crate::http::RetryPolicy;
use crate::secrets::Secrets;
use crate::store::Store;

pub struct App {
    pub paths: Paths,
    pub quiet: bool,
    pub verbose: u8,
    pub secrets: Secrets,
    pub retry: RetryPolicy,
    /// `--color`.
    pub color: crate::output::color::ColorChoice,
}

impl App {
    /// The config, with the secret store scoped to it (see [`Config::keyring_id`]).
    ///
    /// A config of a version before `keyring_id` gets one on first use, and its connections'
    /// unscoped secrets move under it: copied, the id saved, then the old entries deleted (the
    /// copies deleted instead when the id cannot be saved). The id is derived from the file's
    /// path, so two first runs at once agree on it. A file this user cannot write keeps its
    /// unscoped entries.
    pub fn config(&self) -> Result<Config> {
        if self.paths.config_given && !self.paths.config.exists() {
            anyhow::bail!(
                "config file {} does not exist (given with --config or RECONCILE_CONFIG); check the path, or create it with `reconcile --config {} connect <kind> ...`",
                self.paths.config.display(),
                self.paths.config.display()
            );
        }
        let mut config = Config::load(&self.paths.config)?;
        if config.keyring_id.is_none()
            && !config.connections.is_empty()
            && let Ok(mut doc) = ConfigDocument::open(&self.paths.config)
        {
            let id = doc.ensure_keyring_id();
            self.secrets.set_namespace(&id);
            let mut copied = Vec::new();
            for (name, c) in &config.connections {
                for field in c.kind().secret_fields() {
                    if let Ok(true) = self.secrets.copy_unscoped(name, field) {
                        copied.push((name, *field));
                    }
                }
            }
            if doc.save().is_ok() {
                for (name, field) in copied {
                    let _ = self.secrets.delete_unscoped(name, field);
                }
                config.keyring_id = Some(id);
            } else {
                // Take the copies back out: a config that cannot be written keeps its unscoped
                // entries, and the next run tries again from the same state.
                for (name, field) in copied {
                    let _ = self.secrets.delete_scoped(name, field);
                }
                self.secrets.clear_namespace();
            }
        }
        if let Some(id) = &config.keyring_id {
            self.secrets.set_namespace(id);
        }
        Ok(config)
    }

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

    /// The width and colours of a table on stdout.
    pub fn table_style(&self) -> crate::output::report::TableStyle {
        crate::output::report::TableStyle {
            width: crate::output::table_width(),
            color: self.color.stdout(),
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
