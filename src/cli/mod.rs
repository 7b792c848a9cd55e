//! The command line: global options, the subcommands (one file each, whose doc comments are the
//! `--help`), and the exit codes.
#![allow(
    clippy::print_stderr,
    reason = "the command line is the layer that talks to the person at the terminal"
)]

pub mod complete;
pub mod completions;
pub mod connect;
pub mod db;
#[cfg(feature = "demo")]
pub mod demo;
pub mod disconnect;
pub mod explain;
pub mod history;
pub mod man;
pub mod map;
pub mod push;
pub mod reconcile;
pub mod report;
pub mod review;
pub mod status;
pub mod sync;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::pipeline::snapshots::Scope;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  open discrepancies found (only with `report --exit-code`); `push apply`: lines need review
  2  error (bad config, unreachable API, rejected credentials, a failed sync, ...); `push
     apply`: a write failed
  3  a source is unhealthy, so findings are marked stale_source (only with `report --exit-code`;
     wins over 1)";

/// Reconcile what an MSP bills in its PSA against what its vendor tools say each client uses.
///
/// Pulls vendor usage (devices, agents, licenses, users, seats and subscriptions, or any
/// vendor's CSV/JSON export) and PSA billing (recurring lines, or any PSA's CSV/JSON billing
/// export) into a local SQLite file, maps vendor accounts and services to PSA companies and
/// products, and reports every line that is under-billed, over-billed, unbilled or unmapped,
/// with its money impact. `reconcile connect --help` lists every system it reads. It never writes
/// to a vendor; it writes to a PSA only through `reconcile push`, for the services you opt in,
/// on connections made with --allow-write.
///
/// Typical use: `reconcile sync && reconcile reconcile && reconcile report`.
#[cfg_attr(
    feature = "demo",
    doc = " Try it without any account: `reconcile demo`."
)]
#[derive(Debug, Parser)]
#[command(name = "reconcile", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Configuration file [default: $XDG_CONFIG_HOME/reconcile/config.toml]
    #[arg(long, global = true, env = "RECONCILE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// SQLite database [default: $XDG_DATA_HOME/reconcile/reconcile.db]
    #[arg(long, global = true, env = "RECONCILE_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Print nothing on stderr but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log more on stderr (-v requests, -vv everything)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colours in tables and log lines: auto (on a terminal, unless NO_COLOR is set;
    /// CLICOLOR_FORCE=1 forces them), always, never
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: crate::output::color::ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Connect(Box<connect::Args>),
    Disconnect(disconnect::Args),
    Status(status::Args),
    Sync(sync::Args),
    Map(map::Args),
    Reconcile(reconcile::Args),
    Report(report::Args),
    Explain(explain::Args),
    History(history::Args),
    Review(review::Args),
    Push(push::Args),
    Db(db::Args),
    #[cfg(feature = "demo")]
    Demo(demo::Args),
    Completions(completions::Args),
    Man(man::Args),
}

/// `--period` / `--as-of`: which stored snapshots to reconcile (the current ones without either).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScopeArgs {
    /// Reconcile the billing period YYYY-MM (e.g. 2026-10; periods start on `[period]
    /// anchor_day`) from stored history: as of the period's end (or now, if sooner), with each
    /// service counted on its `[basis]` over the period's snapshots
    #[arg(long, value_name = "YYYY-MM", conflicts_with = "as_of")]
    pub period: Option<String>,
    /// Reconcile as of DATE (YYYY-MM-DD: the end of that day, UTC; or an RFC 3339 time) from
    /// each connection's newest successful sync finished by then
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

impl ScopeArgs {
    pub fn scope(&self, config: &crate::config::Config) -> Result<Scope> {
        Scope::from_flags(config, self.period.as_deref(), self.as_of.as_deref())
    }

    pub fn is_current(&self) -> bool {
        self.period.is_none() && self.as_of.is_none()
    }
}

/// How a command that succeeded wants the process to exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Discrepancies,
    /// Some findings come from an unhealthy source (`stale_source`).
    StaleSources,
    /// `push apply`: lines need review or drifted; nothing failed.
    NeedsReview,
    /// `push apply`: a write failed.
    WriteFailed,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Discrepancies => 1,
            Exit::StaleSources => 3,
            Exit::NeedsReview => 1,
            Exit::WriteFailed => 2,
        }
    }
}

/// The exit code for an error.
pub const EXIT_ERROR: u8 = 2;

/// The command line as clap sees it, with `--version` saying what this build reads and
/// writes: the database schema and the connectors built in.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    static LONG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Cli::command().long_version(LONG.get_or_init(long_version).as_str())
}

/// `0.1.0`, then the database schema version and the connectors, for `--version`.
pub fn long_version() -> String {
    use crate::connectors::{ConnectorKind, Role};
    let names = |role: Role| {
        ConnectorKind::ALL
            .iter()
            .filter(|k| k.role() == role)
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{}\ndatabase schema: {} (a database of an older schema is upgraded when opened)\nvendor connectors: {}\nPSA connectors: {}\nfeatures: {}",
        env!("CARGO_PKG_VERSION"),
        crate::store::schema_version(),
        names(Role::Vendor),
        names(Role::Psa),
        if cfg!(feature = "demo") {
            "demo"
        } else {
            "(none)"
        }
    )
}

impl Command {
    pub async fn run(self, app: &App) -> Result<Exit> {
        match self {
            Command::Connect(a) => a.run(app).await,
            Command::Disconnect(a) => a.run(app).await,
            Command::Status(a) => a.run(app).await,
            Command::Sync(a) => a.run(app).await,
            Command::Map(a) => a.run(app).await,
            Command::Reconcile(a) => a.run(app).await,
            Command::Report(a) => a.run(app).await,
            Command::Explain(a) => a.run(app).await,
            Command::History(a) => a.run(app).await,
            Command::Review(a) => a.run(app).await,
            Command::Push(a) => a.run(app).await,
            Command::Db(a) => a.run(app).await,
            #[cfg(feature = "demo")]
            Command::Demo(a) => a.run(app).await,
            Command::Completions(a) => a.run(),
            Command::Man(a) => a.run(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
