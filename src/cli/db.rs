//! `reconcile db`: what the database holds (`stats`), dropping old history's records (`prune`),
//! what pruned periods counted (`kept`) and giving the space back (`vacuum`).

use std::io::Write;

use anyhow::Result;
use clap::Subcommand;

use crate::app::App;
use crate::cli::Exit;
use crate::output::{Format, new_table, write_json};

/// Look after the database: its size and what each connection's history stores, pruning
/// history older than `[history] keep_months`, and giving freed space back.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// The database's size and free space, and per connection its sync runs (ok, failed,
    /// oldest, newest) and the records they store. A usage item is stored once per version (a
    /// device unchanged for a year is one record; its daily last contact is kept compactly per
    /// sync); vendor accounts and PSA records are stored with every sync.
    ///
    /// CSV columns (stable): connection, kind, runs, ok_runs, failed_runs, oldest, newest,
    /// accounts, items, psa_records. JSON adds the totals: bytes, free_bytes, schema_version,
    /// reconcile_runs, findings, review_decisions, kept_periods, kept_lines,
    /// kept_service_counts (what `prune` kept of pruned periods).
    Stats {
        /// Output format [default: table on a terminal, csv otherwise]
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(flatten)]
        csv: crate::output::CsvStyle,
    },
    /// Drops the records of successful syncs that finished more than `[history] keep_months`
    /// (13 by default) months ago: their items, accounts, last contacts and PSA records. The
    /// runs themselves stay (when, how they ended, their record counts). Kept whatever their
    /// age: each connection's current snapshot and its newest sync before the cutoff. Review
    /// decisions, mappings and stored findings are never touched. A pruned period can no
    /// longer be reconciled or explained; but first, each billing period the prune touches is
    /// reconciled one last time and its lines are kept forever (per company and product: the
    /// vendor count on the configured basis, latest and peak, the billed quantity, the
    /// difference and money), so `reconcile history` and the HTML report's charts still show it;
    /// and so is what each vendor service counted per account, whatever it was mapped to
    /// (`reconcile db kept`).
    ///
    /// Prints what went (with --dry-run: what would go), per connection. CSV columns (stable):
    /// connection, runs, oldest, newest, accounts, item_versions, psa_records, kept_runs. The
    /// file does not shrink until `reconcile db vacuum`; meanwhile new syncs reuse the space.
    Prune {
        /// Say what would go; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Keep this many months instead of `[history] keep_months`.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1200))]
        keep_months: Option<u32>,
        /// Output format [default: table on a terminal, csv otherwise]
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(flatten)]
        csv: crate::output::CsvStyle,
    },
    /// What pruned billing periods counted, kept forever by `prune`: per vendor connection,
    /// account and service, the counted units on every basis (latest: the period's as-of sync;
    /// peak, average, end-of-period: over the period's syncs), whatever the service and account
    /// were mapped to. Pending, inactive and excluded items are not counted. Oldest period
    /// first.
    ///
    /// CSV columns (stable): period, connection, account_id, account, service, latest, peak,
    /// average, end_of_period, snapshots.
    Kept {
        /// Only this billing period (`2025-11`)
        #[arg(long, value_name = "YYYY-MM")]
        period: Option<String>,
        /// Only this vendor connection
        #[arg(long, value_name = "NAME")]
        connection: Option<String>,
        /// Output format [default: table on a terminal, csv otherwise]
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(flatten)]
        csv: crate::output::CsvStyle,
    },
    /// Rebuilds the database file without its free space (after `prune`), and prints its size
    /// before and after on stderr. Needs free disk about the database's size, and holds off
    /// other reconcile processes while it runs (they wait, then go on).
    Vacuum,
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

/// The start of the history that `keep_months` keeps: that many calendar months before `now`
/// (UTC).
pub fn cutoff(now: jiff::Timestamp, keep_months: u32) -> Result<jiff::Timestamp> {
    Ok(now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_sub(jiff::Span::new().months(i64::from(keep_months)))?
        .timestamp())
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        match self.action {
            Action::Prune {
                dry_run,
                keep_months,
                format,
                csv,
            } => {
                let config = app.config()?;
                let keep = keep_months.unwrap_or(config.history.keep_months);
                let cut = cutoff(jiff::Timestamp::now(), keep)?;
                let mut store = app.store()?;
                // What the periods it touches reconciled to is kept first: `history` and the
                // HTML charts show them after their records are gone.
                let kept: Vec<String> = if dry_run {
                    crate::pipeline::trend::periods_to_keep(&config, &store, cut)?
                        .iter()
                        .map(ToString::to_string)
                        .collect()
                } else {
                    let (kept, failed) =
                        crate::pipeline::trend::keep_before_prune(&config, &mut store, cut)?;
                    for f in failed {
                        app.warn(format!(
                            "period not kept (its lines will not be in `history` once pruned): {f}"
                        ));
                    }
                    kept
                };
                let rows = store.prune(cut, dry_run)?;
                let mut out = std::io::stdout().lock();
                match format.unwrap_or_else(Format::default_for_stdout) {
                    Format::Csv => crate::output::write_csv_styled(&mut out, &rows, &[], csv)?,
                    Format::Json => write_json(&mut out, &rows)?,
                    Format::Table => {
                        let mut t = new_table(&[
                            "connection",
                            "runs",
                            "oldest",
                            "newest",
                            "accounts",
                            "item versions",
                            "PSA records",
                            "runs kept",
                        ]);
                        for r in &rows {
                            t.add_row(vec![
                                r.connection.clone(),
                                r.runs.to_string(),
                                r.oldest.clone().unwrap_or_default(),
                                r.newest.clone().unwrap_or_default(),
                                r.accounts.to_string(),
                                r.item_versions.to_string(),
                                r.psa_records.to_string(),
                                r.kept_runs.to_string(),
                            ]);
                        }
                        writeln!(out, "{t}")?;
                    }
                }
                out.flush()?;
                let runs: u64 = rows.iter().map(|r| r.runs).sum();
                if !kept.is_empty() {
                    app.info(format!(
                        "{} what {} billing period(s) reconciled to ({} to {}), for `reconcile history` and the HTML report's charts.",
                        if dry_run { "Would keep" } else { "Kept" },
                        kept.len(),
                        kept[0],
                        kept[kept.len() - 1]
                    ));
                }
                app.info(match (dry_run, runs) {
                    (_, 0) => format!(
                        "Nothing to prune: no sync's records are older than {keep} month(s) (before {cut})."
                    ),
                    (true, n) => format!(
                        "Dry run: the records of {n} sync(s) finished before {cut} ({keep} month(s) kept) would go; nothing was changed."
                    ),
                    (false, n) => format!(
                        "Pruned the records of {n} sync(s) finished before {cut} ({keep} month(s) kept). `reconcile db vacuum` gives the space back to the disk."
                    ),
                });
                Ok(Exit::Ok)
            }
            Action::Kept {
                period,
                connection,
                format,
                csv,
            } => {
                let store = app.store_read()?;
                let rows = store.kept_counts(period.as_deref(), connection.as_deref())?;
                if rows.is_empty() {
                    app.info(if store.kept_periods()?.is_empty() {
                        "Nothing kept yet: `reconcile db prune` keeps what each period it touches counted.".to_string()
                    } else {
                        format!(
                            "No kept count matches; kept periods: {}.",
                            store.kept_periods()?.join(", ")
                        )
                    });
                }
                let mut out = std::io::stdout().lock();
                match format.unwrap_or_else(Format::default_for_stdout) {
                    Format::Csv => crate::output::write_csv_styled(&mut out, &rows, &[], csv)?,
                    Format::Json => write_json(&mut out, &rows)?,
                    Format::Table => {
                        let mut t = new_table(&[
                            "period",
                            "connection",
                            "account",
                            "service",
                            "latest",
                            "peak",
                            "average",
                            "end of period",
                            "syncs",
                        ]);
                        for r in &rows {
                            t.add_row(vec![
                                r.period.clone(),
                                r.connection.clone(),
                                format!("{} ({})", r.account, r.account_id),
                                r.service.clone(),
                                r.latest.to_string(),
                                r.peak.to_string(),
                                r.average.to_string(),
                                r.end_of_period.to_string(),
                                r.snapshots.to_string(),
                            ]);
                        }
                        writeln!(out, "{t}")?;
                    }
                }
                out.flush()?;
                Ok(Exit::Ok)
            }
            Action::Vacuum => {
                let mut store = app.store()?;
                let (before, after) = store.vacuum()?;
                app.info(format!(
                    "Vacuumed the database: {} before, {} now.",
                    size(before),
                    size(after)
                ));
                Ok(Exit::Ok)
            }
            Action::Stats { format, csv } => {
                let store = app.store_read()?;
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
                            "Database: {} ({} free; `VACUUM` would give it back), schema {}; {} reconcile run(s), {} finding(s), {} review decision(s); kept of pruned periods: {} period(s), {} line(s), {} vendor count(s)",
                            size(st.bytes),
                            size(st.free_bytes),
                            st.schema_version,
                            st.reconcile_runs,
                            st.findings,
                            st.review_decisions,
                            st.kept_periods,
                            st.kept_lines,
                            st.kept_service_counts
                        )?;
                    }
                }
                out.flush()?;
                Ok(Exit::Ok)
            }
        }
    }
}
