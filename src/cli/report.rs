//! `reconcile report`: print the latest findings as a table, CSV or JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::output::{CsvStyle, Format, report, write_atomically};
use crate::pipeline;
use crate::pipeline::snapshots::Scope;
use crate::review;
use crate::store::{ReconcileRecord, Store};

/// Print the findings of the latest `reconcile` run.
///
/// When a sync or a mapping changed anything since then, the findings are computed (and stored)
/// again first, so `reconcile sync && reconcile report` is always current.
///
/// CSV columns, in this order (stable): finding_id, type, company, company_id, product,
/// billed_qty, less_included, actual_qty, difference, unit_price, monthly_impact, currency,
/// vendor_connection, vendor_accounts, services, psa_connection, agreements, note, decision,
/// decided_by, decided_at, decision_note, pending_qty, inactive_qty, excluded_qty, exclusions,
/// contract_qty, basis, snapshots, revenue_monthly, cost_monthly, margin_monthly, margin_pct,
/// vendor_unit_cost, psa_unit_cost, cost_source, low_margin. pending_qty to contract_qty:
/// devices not counted because pending approval, inactive (`[rules] inactive_after_days`) or
/// excluded (`[[exclude]]`; `exclusions` lists `reason: units`), and the quantity the
/// `[contract]` says to bill (empty without one); `basis` is how actual was counted (latest,
/// peak, average, end-of-period; see `[basis]`) and `snapshots` from how many synced
/// snapshots. The money per month each line earns: revenue = (billed − included) × unit price,
/// cost = actual × the vendor's unit cost (from the vendor where it reports one, else
/// `[cost."<vendor connection>/<service>"] unit_cost`; `cost_source` says which), margin and
/// margin %; `low_margin` is true when the margin is negative or under `[margin]
/// low_margin_pct`.
///
/// With --period YYYY-MM or --as-of DATE the findings are computed (and stored) for that
/// period or moment from the stored snapshots, as `reconcile reconcile --period` does.
/// Types, in report order: unmapped_account, unmapped_service, stale_source, under_billed,
/// over_billed, usage_no_billing, billing_no_usage, cost_mismatch (the PSA line records
/// another unit cost than the vendor's: the PSA's margin reports are off; no billing impact),
/// within_tolerance, match. JSON has the same
/// fields per finding, plus totals.
///
/// On a terminal the table lists what asks for action: matches (and findings within tolerance)
/// are counted in one line unless --matches. The table fits the terminal's width (or COLUMNS):
/// ids, types and numbers never wrap, long notes end in … (`reconcile explain ID` shows all of
/// a finding), and on a narrow terminal the least important columns give way first (unit
/// price, note, billed, actual). CSV and JSON list every finding, with every money column in
/// the currency's decimals (4.50, -12.00; 0 for JPY, 3 for KWD).
///
/// --format html writes one self-contained page (no scripts, nothing fetched from elsewhere) for
/// a browser or a mail attachment: the totals, the discrepancies table, a section per company,
/// and per discrepancy a chart of the vendor count against the billed quantity over the last 12
/// billing periods (each earlier period reconciled from its own stored syncs, as `--period`
/// would, or from the lines `db prune` kept of it; a period before the first sync is blank).
/// Absolute paths in notes are shortened to file names.
///
/// CSV is safe to open in a spreadsheet: a text cell that begins with =, +, -, @, a tab or a
/// carriage return gets a leading ' (--csv-raw writes it as it is). For Excel, add --bom.
///
/// Findings with a review decision that applies (`reconcile review`) are left out unless --all.
/// Totals, and --exit-code's discrepancies, count only open findings: those no decision applies
/// to. A decision that no longer applies (its numbers changed, or a dismissal from another
/// month) leaves the finding open, with `decision` empty and `decision_note` saying why, e.g.
/// "earlier approve no longer applies: quantities changed".
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<report::ReportFormat>,
    /// Write to FILE (atomically) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Leave out matches and findings within tolerance in every format (totals still cover every
    /// open finding)
    #[arg(long)]
    pub only_discrepancies: bool,
    /// List matches and findings within tolerance in the table too (by default it counts them
    /// in one line; CSV and JSON always list them)
    #[arg(long, conflicts_with = "only_discrepancies")]
    pub matches: bool,
    /// Only findings of companies whose name or id matches GLOB (`*`, `?`, any case), or, for an
    /// unmapped account, whose account name does; the totals cover those findings
    #[arg(long, value_name = "GLOB", add = crate::cli::complete::companies())]
    pub company: Option<String>,
    /// Only findings of these types (comma-separated or repeated): unmapped_account,
    /// unmapped_service, stale_source, under_billed, over_billed, usage_no_billing,
    /// billing_no_usage, cost_mismatch, within_tolerance, match
    #[arg(long = "type", value_name = "TYPE", value_delimiter = ',', value_parser = report::parse_kind)]
    pub types: Vec<crate::engine::FindingKind>,
    #[command(flatten)]
    pub csv: CsvStyle,
    /// Also show findings a review decision applies to (approved, dismissed, ignored); they stay
    /// out of the totals
    #[arg(long)]
    pub all: bool,
    /// Exit 1 when any discrepancy is open (no review decision applies), like `git diff --exit-code`; 3 when any finding is
    /// stale_source or any connection is unhealthy (never synced, last sync failed, too old), which wins over 1
    #[arg(long)]
    pub exit_code: bool,
    /// One row per finding (default), or per service offering: for each PSA product across
    /// every client, units billed and used, revenue, cost and margin per month, and the
    /// clients where it loses money, largest loss first. CSV columns (stable): psa_connection,
    /// product, clients, billed_qty, actual_qty, revenue_monthly, cost_monthly,
    /// margin_monthly, margin_pct, currency, clients_losing_money, losses,
    /// clients_without_cost
    #[arg(long, value_enum, default_value_t = report::By::Finding, value_name = "ROW")]
    pub by: report::By,
    #[command(flatten)]
    pub scope: crate::cli::ScopeArgs,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        // The stored findings are read as they are from a database this user cannot write;
        // findings computed afresh are then shown without being stored.
        let mut store = app.store_read()?;
        // Any connection unhealthy (never synced, last sync failed, too old): --exit-code's 3
        // even when no finding depends on it yet.
        let mut unhealthy = false;
        let mut save_later = false;
        let mut record = if self.scope.is_current() {
            current_record(app, &config, &mut store, &mut unhealthy)?
        } else if store.read_only().is_some() {
            let done = pipeline::findings::compute(&config, &store, self.scope.scope(&config)?)?;
            unhealthy = !done.unhealthy.is_empty();
            for w in done.warnings() {
                app.warn(w);
            }
            not_stored(app, &store);
            done.record
        } else {
            let done = pipeline::findings::compute(&config, &store, self.scope.scope(&config)?)?;
            unhealthy = !done.unhealthy.is_empty();
            for w in done.warnings() {
                app.warn(w);
            }
            match same_as_latest(&store, &done.record)? {
                // The same report again: stored once (it stays the latest, which `review` and
                // `explain` read).
                Some(latest) => latest,
                None => {
                    save_later = true;
                    done.record
                }
            }
        };
        let html = self.format == Some(report::ReportFormat::Html);
        // Findings computed for a period or a moment are stored; a table or CSV is written
        // meanwhile (neither shows the stored run's id), and only after both succeeded.
        let overlap = save_later && !html && self.format != Some(report::ReportFormat::Json);
        if save_later && !overlap {
            record.id = store.save_reconcile_with(&record, None)?;
        }
        if html && self.by == report::By::Service {
            anyhow::bail!(
                "--by service has no HTML page yet: use --format csv (or table, json) with --by service, or --format html without it"
            );
        }
        // The charts' earlier periods, each reconciled from its own stored syncs.
        let charts = if html {
            let last = match self.scope.scope(&config)? {
                Scope::Period(p) => p,
                _ => crate::period::Period::containing(
                    record.as_of.parse().map_err(|e| {
                        anyhow::anyhow!("the findings' as-of time `{}`: {e}", record.as_of)
                    })?,
                    config.period.anchor_day,
                )?,
            };
            let (charts, skipped) = pipeline::trend::charts(&config, &store, last, CHART_PERIODS)?;
            for s in skipped {
                app.warn(format!("chart period left blank: {s}"));
            }
            charts
        } else {
            Default::default()
        };
        let decisions = store.decisions()?;
        let opts = report::Options {
            format: self
                .format
                .and_then(report::ReportFormat::shared)
                .unwrap_or(match &self.output {
                    Some(_) => Format::Csv,
                    None => Format::default_for_stdout(),
                }),
            only_discrepancies: self.only_discrepancies,
            matches: self.matches,
            filter: report::Filter {
                company: self.company.clone(),
                types: self.types.clone(),
            },
            csv: self.csv,
            review: report::ReviewView {
                decisions: &decisions,
                all: self.all,
                anchor_day: config.period.anchor_day,
            },
            table: match &self.output {
                // A file is not the terminal: its width is the default one, and no colours.
                Some(_) => report::TableStyle::default(),
                None => app.table_style(),
            },
            by: self.by,
        };
        let view = report::View::new(&record, &opts.review, &opts.filter);
        let write = |out: &mut dyn Write| match html {
            true => report::render_html(out, &view, &opts, &charts),
            false => report::render(out, &view, &opts),
        };
        if overlap {
            let (saved, page) = std::thread::scope(|scope| {
                let saving = scope.spawn(|| store.save_reconcile_with(&record, None));
                let mut page = Vec::new();
                let written = write(&mut page).map(|()| page);
                (
                    saving.join().expect("storing the findings does not panic"),
                    written,
                )
            });
            saved?;
            let page = page?;
            match &self.output {
                None => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&page)?;
                    out.flush()?;
                }
                Some(path) => write_atomically(path, |out| Ok(out.write_all(&page)?))?,
            }
        } else {
            match &self.output {
                None => {
                    let mut out = std::io::stdout().lock();
                    write(&mut out)?;
                    out.flush()?;
                }
                Some(path) => write_atomically(path, write)?,
            }
        }
        let open = view.open(|k| k.is_discrepancy());
        let stale = view.open(|k| k == crate::engine::FindingKind::StaleSource) || unhealthy;
        Ok(if self.exit_code && stale {
            Exit::StaleSources
        } else if self.exit_code && open {
            Exit::Discrepancies
        } else {
            Exit::Ok
        })
    }
}

/// How many billing periods an HTML chart spans, the report's own the last.
const CHART_PERIODS: u32 = 12;

/// The findings for the current snapshots and mappings. `reconcile sync && reconcile report`
/// must never print findings computed from older data, so when a sync or a mapping changed
/// anything since the last `reconcile`, they are computed and stored again first.
///
/// Recomputing reads every usage record; when the inputs the latest result was computed from
/// are unchanged and the clock has not reached a moment that could change it, the stored result
/// is exactly what recomputing would return, so it is shown as it is.
fn current_record(
    app: &App,
    config: &Config,
    store: &mut Store,
    any_unhealthy: &mut bool,
) -> Result<ReconcileRecord> {
    if let Some((record, unhealthy)) =
        pipeline::findings::stored_if_current(config, store, jiff::Timestamp::now())?
    {
        *any_unhealthy = !unhealthy.is_empty();
        for w in pipeline::health::warnings(&unhealthy) {
            app.warn(w);
        }
        return Ok(record);
    }
    let latest = store.latest_reconcile()?;
    let fresh = match pipeline::findings::compute(config, store, Scope::Current) {
        Ok(f) => f,
        Err(e) => {
            return Err(e.context(if latest.is_some() {
                "cannot bring the findings up to date"
            } else {
                "nothing to report yet"
            }));
        }
    };
    *any_unhealthy = !fresh.unhealthy.is_empty();
    for w in fresh.warnings() {
        app.warn(w);
    }
    // A new month is a new billing period (dismissals end with it), even when nothing else
    // changed: then the findings are stored again with the new date.
    if store.read_only().is_some() {
        // Shown, not stored: the next report that can write stores them.
        not_stored(app, store);
        return Ok(match latest {
            Some(latest)
                if latest.sources == fresh.record.sources
                    && latest.findings == fresh.record.findings =>
            {
                latest
            }
            _ => fresh.record,
        });
    }
    if let Some(latest) = latest
        && latest.sources == fresh.record.sources
        && latest.findings == fresh.record.findings
        && review::period_of(&latest.as_of, config.period.anchor_day).ok()
            == review::period_of(&fresh.record.as_of, config.period.anchor_day).ok()
    {
        // Still what the current inputs give: say so, so the next report need not recompute.
        store.set_reconcile_inputs(latest.id, fresh.inputs.as_ref())?;
        return Ok(latest);
    }
    let mut record = fresh.record;
    record.id = store.save_reconcile_with(&record, fresh.inputs.as_ref())?;
    app.info("findings recomputed from the current snapshots and mappings");
    Ok(record)
}

/// The latest stored result when it is exactly `fresh` (the same moment, the same syncs, the
/// same findings): a period reported twice is stored once, not 6 MB again for a month of daily
/// syncs of 100,000 devices. Its findings are read only when the moment and syncs match.
fn same_as_latest(store: &Store, fresh: &ReconcileRecord) -> Result<Option<ReconcileRecord>> {
    let Some((_, as_of, sources)) = store.latest_reconcile_head()? else {
        return Ok(None);
    };
    if as_of != fresh.as_of || serde_json::to_string(&fresh.sources)? != sources {
        return Ok(None);
    }
    Ok(store
        .latest_reconcile()?
        .filter(|latest| latest.findings == fresh.findings && latest.currency == fresh.currency))
}

/// Says that findings computed for this report could not be stored.
fn not_stored(app: &App, store: &Store) {
    if let Some(why) = store.read_only() {
        app.warn(format!(
            "findings computed for this report from the stored snapshots and mappings, and not stored: {}",
            why.lines().next().unwrap_or(why)
        ));
    }
}
