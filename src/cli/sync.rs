//! `reconcile sync`: read every (or the named) connection into a new snapshot.

use anyhow::{Result, bail};

use crate::app::App;
use crate::cli::Exit;
use crate::pipeline;
use crate::progress::Progress;

/// Read vendor usage and PSA billing into the local database.
///
/// Connections sync side by side. Each sync is one run: its records become the connection's
/// current snapshot only when it completes; a failed or interrupted sync is recorded with its
/// error and leaves the previous snapshot current. Exits 2 when any sync failed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connections to sync [default: all configured]
    pub names: Vec<String>,
    /// The file an import connection (`kind = "csv"`) reads this time, instead of the `path` in
    /// its config; give exactly one connection name with it
    #[arg(long, value_name = "PATH")]
    pub file: Option<std::path::PathBuf>,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let names = pipeline::select_connections(&config, &self.names)?;
        if let Some(file) = &self.file {
            let [name] = self.names.as_slice() else {
                bail!(
                    "--file needs exactly one connection name: `reconcile sync NAME --file {}`",
                    file.display()
                );
            };
            let kind = config.connection(name)?.kind();
            if !kind.reads_files() {
                bail!(
                    "`{name}` is a {} connection, which reads its API, not a file; --file is for import connections (`reconcile connect csv`)",
                    kind.display_name()
                );
            }
        }
        let mut store = app.store()?;
        let progress = Progress::new(app.quiet, app.verbose);
        let mut started = Vec::new();
        let outcome = tokio::select! {
            r = pipeline::sync(app, &config, &mut store, &names, self.file.as_deref(), &progress, &mut started) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(outcomes) = outcome else {
            // Dropping the sync future dropped its connections; only the bookkeeping is left.
            for id in started {
                store.abandon_run(
                    id,
                    "interrupted: stopped by Ctrl-C before the sync finished",
                )?;
            }
            bail!("interrupted; every connection's previous snapshot stays current");
        };
        let outcomes = outcomes?;
        let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
        for o in &failed {
            if let Err(e) = &o.result {
                eprintln!("error: sync of `{}` failed: {e}", o.connection);
            }
        }
        if !failed.is_empty() {
            bail!(
                "{} of {} sync(s) failed ({}); their previous snapshots stay current",
                failed.len(),
                outcomes.len(),
                failed
                    .iter()
                    .map(|o| o.connection.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(Exit::Ok)
    }
}
