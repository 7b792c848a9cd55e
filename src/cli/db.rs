//! `reconcile db`: what the database holds.

use std::io::Write;

use anyhow::Result;
use clap::Subcommand;

use crate::app::App;
use crate::cli::Exit;
use crate::output::{Format, new_table, write_json};

/// Look at the database: its size and what each connection's history stores.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// The database's size and free space, and per connection its sync runs (ok, failed,
    /// oldest, newest) and the records they store. Every sync stores every record it read, so
    /// the records grow with each sync.
    ///
    /// CSV columns (stable): connection, kind, runs, ok_runs, failed_runs, oldest, newest,
    /// accounts, items, psa_records. JSON adds the totals: bytes, free_bytes, schema_version,
    /// reconcile_runs, findings, review_decisions.
    Stats {
        /// Output format [default: table on a terminal, csv otherwise]
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(flatten)]
        csv: crate::output::CsvStyle,
    },
}

/// `1.5 MB` for a person.
fn size(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / MB)
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let store = app.store_read()?;
        match self.action {
            Action::Stats { format, csv } => {
                let st = store.stats()?;
                let mut out = std::io::stdout().lock();
                match format.unwrap_or_else(Format::default_for_stdout) {
                    Format::Csv => {
                        crate::output::write_csv_styled(&mut out, &st.connections, &[], csv)?
                    }
                    Format::Json => write_json(&mut out, &st)?,
                    Format::Table => {
                        let mut t = new_table(&[
                            "connection",
                            "kind",
                            "runs (ok/failed)",
                            "oldest",
                            "newest",
                            "accounts",
                            "items",
                            "PSA records",
                        ]);
                        for c in &st.connections {
                            t.add_row(vec![
                                c.connection.clone(),
                                c.kind.clone(),
                                format!("{} ({}/{})", c.runs, c.ok_runs, c.failed_runs),
                                c.oldest.clone().unwrap_or_default(),
                                c.newest.clone().unwrap_or_default(),
                                c.accounts.to_string(),
                                c.items.to_string(),
                                c.psa_records.to_string(),
                            ]);
                        }
                        writeln!(out, "{t}")?;
                        writeln!(
                            out,
                            "Database: {} ({} free; `VACUUM` would give it back), schema {}; {} reconcile run(s), {} finding(s), {} review decision(s)",
                            size(st.bytes),
                            size(st.free_bytes),
                            st.schema_version,
                            st.reconcile_runs,
                            st.findings,
                            st.review_decisions
                        )?;
                    }
                }
                out.flush()?;
                Ok(Exit::Ok)
            }
        }
    }
}
