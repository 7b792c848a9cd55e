//! `reconcile sync`: read every (or the named) connection into a new snapshot.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Result, bail};

use crate::app::App;
use crate::cli::Exit;
use crate::pipeline::sync::{self, SyncEvents, SyncOutcome, SyncRequest};
use crate::progress::{Bar, Progress};
use crate::store::{Busy, Store};

/// Read vendor usage and PSA billing into the local database.
///
/// Connections sync side by side. Each sync is one run: its records become the connection's
/// current snapshot only when it completes; a failed or interrupted sync is recorded with its
/// error and leaves the previous snapshot current. Exits 2 when any sync failed.
///
/// Odd records never fail a sync: a record that cannot be attributed (no id, no account) is set
/// aside, and an account or company whose counts cannot be read (a null quantity) is marked
/// unreadable, its findings `stale_source`. The sync succeeds as partial: it warns (not under
/// --quiet), and `reconcile status` shows what was set aside or not read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connections to sync [default: all configured]
    #[arg(add = crate::cli::complete::connections())]
    pub names: Vec<String>,
    /// The file an import connection (`kind = "csv"`) reads this time, instead of the `path` in
    /// its config; give exactly one connection name with it
    #[arg(long, value_name = "PATH")]
    pub file: Option<std::path::PathBuf>,
    /// Accept an import file with a header but no rows this time, as 0 items (an empty export
    /// is refused otherwise: it is more often a broken export than nothing in use); for every
    /// time, `reconcile connect csv --allow-empty` (`allow_empty = true`)
    #[arg(long)]
    pub allow_empty: bool,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let names = sync::select_connections(&config, &self.names)?;
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
        if self.allow_empty
            && !names
                .iter()
                .any(|n| config.connection(n).is_ok_and(|c| c.kind().reads_files()))
        {
            bail!(
                "--allow-empty is for import connections (`reconcile connect csv` or `csv-billing`), and none of {} is one",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let mut store = app.store()?;
        let console = Arc::new(SyncConsole::new(app));
        let request = SyncRequest {
            secrets: &app.secrets,
            retry: &app.retry,
            config: &config,
            names: &names,
            file: self.file.as_deref(),
            allow_empty: self.allow_empty,
            events: console.clone(),
        };
        let outcome = tokio::select! {
            r = sync::run(&mut store, request) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(outcomes) = outcome else {
            // Dropping the sync future dropped its connections; only the bookkeeping is left.
            for id in console.started_runs() {
                store.abandon_run(
                    id,
                    "interrupted: stopped by Ctrl-C before the sync finished",
                )?;
            }
            let saved = console.saved();
            let not_saved: Vec<&String> = names.iter().filter(|n| !saved.contains(*n)).collect();
            let kept = kept_snapshots(&store, &not_saved);
            if saved.is_empty() {
                bail!("interrupted; no connection saved a new snapshot: {kept}");
            }
            bail!(
                "interrupted; {} saved a new snapshot before it; {} did not: {kept}",
                saved
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if not_saved.is_empty() {
                    "every other connection".to_string()
                } else {
                    quoted(&not_saved)
                },
            );
        };
        let outcomes = outcomes?;
        // One line for each connection that did not end plainly ok (a failure's error follows).
        for o in &outcomes {
            if o.result.is_ok() && !o.warnings.is_empty() {
                app.info(format!(
                    "`{}`: synced partially ({} warning{}: see above, and `reconcile status`)",
                    o.connection,
                    o.warnings.len(),
                    if o.warnings.len() == 1 { "" } else { "s" }
                ));
            }
        }
        let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
        for o in &failed {
            if let Err(e) = &o.result {
                eprintln!("error: sync of `{}` failed: {e}", o.connection);
            }
        }
        if !failed.is_empty() {
            let names: Vec<&String> = failed.iter().map(|o| &o.connection).collect();
            bail!(
                "{} of {} sync(s) failed ({}); {}",
                failed.len(),
                outcomes.len(),
                failed
                    .iter()
                    .map(|o| o.connection.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                kept_snapshots(&store, &names)
            );
        }
        Ok(Exit::Ok)
    }
}

/// Shows a running sync on stderr: a progress bar per connection on a terminal, else a line per
/// finished connection (none under `--quiet`); partial-sync warnings above the bars (nothing but errors under `--quiet`). Remembers the runs
/// it started, for Ctrl-C.
pub struct SyncConsole {
    quiet: bool,
    progress: Progress,
    bars: Mutex<BTreeMap<i64, Bar>>,
    /// Every run started, in order.
    started: Mutex<Vec<i64>>,
    /// The connections whose run stored a new snapshot, for an interrupted sync's message.
    saved: Mutex<Vec<String>>,
}

impl SyncConsole {
    pub fn new(app: &App) -> SyncConsole {
        SyncConsole {
            quiet: app.quiet,
            progress: Progress::new(app.quiet, app.verbose, app.color.stderr()),
            bars: Mutex::default(),
            started: Mutex::default(),
            saved: Mutex::default(),
        }
    }

    /// The runs this sync started; those not finished yet are what an interrupted sync leaves
    /// `running`.
    pub fn started_runs(&self) -> Vec<i64> {
        lock(&self.started).clone()
    }

    /// The connections whose new snapshot is stored.
    pub fn saved(&self) -> Vec<String> {
        lock(&self.saved).clone()
    }

    /// As [`App::info`]: a line on stderr unless `--quiet` (the console outlives any borrow of
    /// the app, since connectors report from their own tasks).
    fn info(&self, line: String) {
        if !self.quiet {
            self.progress.line(&line);
        }
    }
}

/// A poisoned lock only means a connector task panicked, which ends the process anyway.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SyncEvents for SyncConsole {
    fn waiting(&self, _connection: &str, busy: &Busy, wait: Duration) {
        self.info(format!(
            "{busy}; waiting for it to finish (up to {}s)",
            wait.as_secs()
        ));
    }

    fn run_started(&self, _connection: &str, run: i64) {
        lock(&self.started).push(run);
    }

    fn reading(&self, connection: &str, run: i64) {
        lock(&self.bars).insert(run, self.progress.bar(connection));
    }

    fn progress(&self, run: i64, stage: &str, count: usize) {
        if let Some(bar) = lock(&self.bars).get(&run) {
            bar.update(stage, count);
        }
    }

    fn finished(&self, o: &SyncOutcome) {
        let bar = lock(&self.bars).remove(&o.run_id);
        let name = &o.connection;
        for w in &o.warnings {
            // Not under --quiet: the report carries a partial sync as `stale_source` findings
            // with the reason, and a cron mail must be only the CSV.
            self.info(format!("warning: `{name}` synced partially: {w}"));
        }
        match (&o.result, bar) {
            (Ok(counts), bar) => {
                lock(&self.saved).push(name.clone());
                let line = format!(
                    "synced in {:.1}s: {}",
                    o.elapsed.as_secs_f64(),
                    describe_counts(counts)
                );
                match bar {
                    Some(bar) if bar.is_visible() => bar.finish(&line),
                    _ => self.info(format!("{name}: {line}")),
                }
            }
            (Err(_), Some(bar)) => bar.finish("failed"),
            // It never started reading, so it has no bar; the error is printed at the end.
            (Err(_), None) => {}
        }
    }
}

/// `22 accounts, 1040 items` in a stable order.
pub fn describe_counts(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the connections whose sync did not finish are left with: their previous snapshot, or,
/// for one never synced, none yet (its findings are then `stale_source`).
fn kept_snapshots(store: &Store, names: &[&String]) -> String {
    let (had, never): (Vec<&String>, Vec<&String>) = names
        .iter()
        .partition(|n| store.current_run(n).ok().flatten().is_some());
    let mut parts = Vec::new();
    match had.len() {
        0 => {}
        1 => parts.push(format!("{} keeps its previous snapshot", quoted(&had))),
        _ => parts.push(format!("{} keep their previous snapshots", quoted(&had))),
    }
    match never.len() {
        0 => {}
        1 => parts.push(format!("{} has no snapshot yet", quoted(&never))),
        _ => parts.push(format!("{} have no snapshot yet", quoted(&never))),
    }
    if parts.is_empty() {
        "every previous snapshot stays current".into()
    } else {
        parts.join("; ")
    }
}

fn quoted(names: &[&String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
