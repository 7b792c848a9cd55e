//! `reconcile report`: print the latest findings as a table, CSV or JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use crate::app::App;
use crate::cli::Exit;
use crate::output::{Format, report};

/// Print the findings of the latest `reconcile` run.
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
        let store = app.store()?;
        let record = store.latest_reconcile()?.ok_or_else(|| {
            anyhow!("nothing to report yet: run `reconcile sync` and `reconcile reconcile` first")
        })?;
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
