//! `reconcile disconnect`: forget a connection's secrets, config entry and mappings.

use anyhow::{Context, Result, bail};

use crate::app::App;
use crate::cli::Exit;
use crate::config::ConfigDocument;
use crate::connectors::ConnectorKind;

/// Remove a connection: its keyring entries, its config entry and its mappings.
///
/// Synced history stays (for later period comparisons) unless --purge is given. Secrets given
/// through environment variables or a secret_command are not touched: they are yours.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The connection to remove
    #[arg(add = crate::cli::complete::connections())]
    pub name: String,
    /// Also delete its synced history and snapshots
    #[arg(long)]
    pub purge: bool,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let name = &self.name;
        // Rules elsewhere in the file may name this connection ([[custom_service]], contracts,
        // per-service settings). Refuse before anything is removed rather than leave a config
        // that no longer loads, or half a disconnect.
        let mut probe = ConfigDocument::open(&app.paths.config)?;
        if probe.remove_connection(name) {
            probe.validate().with_context(|| {
                format!(
                    "cannot disconnect `{name}`: other settings in {} still refer to it (see below); remove or change them first. Nothing was removed",
                    app.paths.config.display()
                )
            })?;
        }
        // Only once nothing stands in the way: loading the config may give it its keyring_id.
        let config = app.config()?;
        let mut doc = ConfigDocument::open(&app.paths.config)?;
        let kind = config.connections.get(name).map(|s| s.kind());
        let mut store = app.store()?;
        let has_history = store.connections_with_history()?.contains(name);
        // Secret fields of the configured kind, or of every kind when the entry is gone already.
        let fields: Vec<&str> = match kind {
            Some(k) => k.secret_fields().to_vec(),
            None => ConnectorKind::ALL
                .iter()
                .flat_map(|k| k.secret_fields().iter().copied())
                .collect(),
        };
        let mut removed_secrets = Vec::new();
        for f in &fields {
            for source in app.secrets.delete(name, f)? {
                removed_secrets.push(format!("`{f}` from {source}"));
            }
        }
        if kind.is_none() && !has_history && removed_secrets.is_empty() {
            let known: Vec<&str> = config.connections.keys().map(String::as_str).collect();
            bail!(
                "no connection named `{name}`{}",
                if known.is_empty() {
                    String::new()
                } else {
                    format!("; configured connections: {}", known.join(", "))
                }
            );
        }
        for r in &removed_secrets {
            app.info(format!("removed {r}"));
        }
        if doc.remove_connection(name) {
            doc.save()?;
            app.info(format!(
                "removed `{name}` from {}",
                app.paths.config.display()
            ));
        }
        let n = store.remove_mappings_of(name)?;
        app.info(format!("removed {n} mapping(s) involving `{name}`"));
        if self.purge {
            let runs = store.purge_history(name)?;
            app.info(format!("purged {runs} sync run(s) of `{name}`"));
        } else if has_history {
            app.info(format!(
                "kept the synced history of `{name}`; `reconcile disconnect {name} --purge` deletes it"
            ));
        }
        Ok(Exit::Ok)
    }
}
