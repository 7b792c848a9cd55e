//! `reconcile report`: print the latest findings as a table, CSV or JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::output::{Format, report};
use crate::pipeline;
use crate::store::{ReconcileRecord, Store};

/// Print the findings of the latest `reconcile` run.
///
/// When a sync or a mapping changed anything since then, the findings are computed (and stored)
/// again first, so `reconcile sync && reconcile report` is always current.
///
/// CSV columns, in this order (stable): finding_id, type, company, company_id, product,
/// billed_qty, less_included, actual_qty, difference, unit_price, monthly_impact, currency,
/// vendor_connection, vendor_accounts, services, psa_connection, agreements, note.
/// Types: match, under_billed, over_billed, usage_no_billing, billing_no_usage,
/// unmapped_account, unmapped_service. JSON has the same fields per finding, plus totals.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write to FILE (atomically) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Leave out matches (totals still cover everything)
    #[arg(long)]
    pub only_discrepancies: bool,
    /// Exit 1 when any discrepancy is open, like `git diff --exit-code`
    #[arg(long)]
    pub exit_code: bool,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let mut store = app.store()?;
        let record = current_record(app, &config, &mut store)?;
        let format = self.format.unwrap_or(match &self.output {
            Some(_) => Format::Csv,
            None => Format::default_for_stdout(),
        });
        match &self.output {
            None => {
                let mut out = std::io::stdout().lock();
                report::render(&mut out, &record, format, self.only_discrepancies)?;
                out.flush()?;
            }
            Some(path) => write_atomically(path, |out| {
                report::render(out, &record, format, self.only_discrepancies)
            })?,
        }
        let open = record.findings.iter().any(|f| f.kind.is_discrepancy());
        Ok(if self.exit_code && open {
            Exit::Discrepancies
        } else {
            Exit::Ok
        })
    }
}

/// The findings for the current snapshots and mappings. `reconcile sync && reconcile report`
/// must never print findings computed from older data, so when a sync or a mapping changed
/// anything since the last `reconcile`, they are computed and stored again first.
fn current_record(app: &App, config: &Config, store: &mut Store) -> Result<ReconcileRecord> {
    let latest = store.latest_reconcile()?;
    let fresh = match pipeline::compute(config, store) {
        Ok(f) => f,
        Err(e) => {
            return Err(e.context(if latest.is_some() {
                "cannot bring the findings up to date"
            } else {
                "nothing to report yet"
            }));
        }
    };
    for (name, error) in &fresh.stale {
        app.warn(format!(
            "the last sync of `{name}` failed, so its previous snapshot was used: {error}"
        ));
    }
    if let Some(latest) = latest
        && latest.sources == fresh.record.sources
        && latest.findings == fresh.record.findings
    {
        return Ok(latest);
    }
    let mut record = fresh.record;
    record.id = store.save_reconcile(&record)?;
    app.info("findings recomputed from the current snapshots and mappings");
    Ok(record)
}

/// Writes through a temp file in the same directory and renames it: a reader (or a cron mail)
/// never sees half a report.
pub fn write_atomically(
    path: &std::path::Path,
    body: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        body(&mut w)?;
        w.flush()?;
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
