//! `reconcile review`: approve, dismiss or ignore a finding, list the decisions, undo one.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde::Serialize;

use crate::app::App;
use crate::cli::Exit;
use crate::output::{Format, new_table, qty, write_json};
use crate::review::{self, Decision, Verdict};

/// Record what you decided about a finding, so the report stops showing it.
///
/// `approve`: the difference is accepted. `dismiss`: hide it for this billing period (the
/// billing period, UTC, of the latest findings). `ignore`: hide it until its numbers change.
/// Every decision stops applying, and the finding shows up again as open, when its type or its
/// billed, less-included or actual quantity changes; `report --all` shows decided findings too.
///
/// FINDING_ID is the first column of `reconcile report` (`finding_id` in CSV and JSON) and must
/// be in the latest findings. Decisions are your data: they survive syncs and upgrades.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Accept the difference: hidden while its numbers stay the same.
    Approve(Decide),
    /// Hide it for the current billing period (a calendar month unless [period] anchor_day says otherwise; UTC).
    #[allow(
        rustdoc::broken_intra_doc_links,
        reason = "`[period]` is the config table, in --help text"
    )]
    Dismiss(Decide),
    /// Hide it until its numbers change.
    Ignore(Decide),
    /// List every decision and whether it still applies.
    List {
        /// Output format [default: table on a terminal, csv otherwise]
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(flatten)]
        csv: crate::output::CsvStyle,
    },
    /// Remove the decision about a finding: it is open again.
    Undo {
        /// Finding id, as in `reconcile report`
        #[arg(add = crate::cli::complete::finding_ids())]
        finding_id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct Decide {
    /// Finding id: the first column of `reconcile report`
    #[arg(add = crate::cli::complete::finding_ids())]
    pub finding_id: String,
    /// Why (shown by `report --all` and `review list`)
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Who decided [default: $USER, else $USERNAME, else "unknown"]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// One row of `review list`.
#[derive(Debug, Serialize)]
struct ListRow {
    finding_id: String,
    decision: Verdict,
    status: String,
    company: String,
    product: String,
    #[serde(rename = "type")]
    kind: String,
    billed_qty: String,
    actual_qty: String,
    period: String,
    decided_by: String,
    decided_at: String,
    note: String,
}

const LIST_COLUMNS: &[&str] = &[
    "finding_id",
    "decision",
    "status",
    "company",
    "product",
    "type",
    "billed_qty",
    "actual_qty",
    "period",
    "decided_by",
    "decided_at",
    "note",
];

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let mut store = app.store()?;
        let (verdict, decide) = match self.action {
            Action::Approve(d) => (Verdict::Approve, d),
            Action::Dismiss(d) => (Verdict::Dismiss, d),
            Action::Ignore(d) => (Verdict::Ignore, d),
            Action::List { format, csv } => {
                return list(&store, format, csv, config.period.anchor_day);
            }
            Action::Undo { finding_id } => {
                if !store.remove_decision(&finding_id)? {
                    bail!(
                        "there is no decision about finding `{finding_id}`; `reconcile review list` shows them"
                    );
                }
                app.info(format!(
                    "removed the decision about `{finding_id}`: it is open again"
                ));
                return Ok(Exit::Ok);
            }
        };
        let Some(record) = store.latest_reconcile()? else {
            bail!("there are no findings yet: run `reconcile reconcile` (or `reconcile report`)");
        };
        let Some(finding) = record.findings.iter().find(|f| f.id == decide.finding_id) else {
            bail!(
                "no finding `{}` in the latest findings; `reconcile report` lists them (finding ids are in the first column)",
                decide.finding_id
            );
        };
        if !finding.kind.is_discrepancy() {
            bail!(
                "finding `{}` is a {}: there is nothing to decide",
                finding.id,
                finding.kind.as_str()
            );
        }
        let period = review::period_of(&record.as_of, config.period.anchor_day)
            .context("the latest findings have no valid `as_of`")?;
        let by = review::who(decide.by, |k| std::env::var(k).ok());
        let decision = Decision::new(
            finding,
            verdict,
            decide.note.filter(|n| !n.trim().is_empty()),
            by,
            jiff::Timestamp::now().to_string(),
            period,
        );
        store.set_decision(&decision)?;
        let what = [finding.company.as_deref(), finding.product.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
        let until = match verdict {
            Verdict::Dismiss => format!("for {} or until its numbers change", decision.period),
            _ => "until its numbers change".to_string(),
        };
        app.info(format!(
            "{} `{}` ({}{}); hidden from `reconcile report` {until}",
            verdict.past(),
            finding.id,
            finding.kind.as_str(),
            if what.is_empty() {
                String::new()
            } else {
                format!(", {what}")
            }
        ));
        Ok(Exit::Ok)
    }
}

fn list(
    store: &crate::store::Store,
    format: Option<Format>,
    csv: crate::output::CsvStyle,
    anchor_day: i8,
) -> Result<Exit> {
    let decisions = store.decisions()?;
    let record = store.latest_reconcile()?;
    let rows: Vec<ListRow> = decisions
        .iter()
        .map(|d| {
            let finding = record
                .as_ref()
                .and_then(|r| r.findings.iter().find(|f| f.id == d.finding_id));
            let status = match (finding, &record) {
                (Some(f), Some(r)) => {
                    let period = review::period_of(&r.as_of, anchor_day).unwrap_or_default();
                    match d.lapse(f, &period) {
                        None => "applies".to_string(),
                        Some(l) => format!("no longer applies: {}", l.as_str()),
                    }
                }
                _ => "finding not in the latest findings".to_string(),
            };
            ListRow {
                finding_id: d.finding_id.clone(),
                decision: d.verdict,
                status,
                company: finding.and_then(|f| f.company.clone()).unwrap_or_default(),
                product: finding.and_then(|f| f.product.clone()).unwrap_or_default(),
                kind: d.kind.as_str().to_string(),
                billed_qty: d.billed.map(qty).unwrap_or_default(),
                actual_qty: d.actual.map(qty).unwrap_or_default(),
                period: d.period.clone(),
                decided_by: d.decided_by.clone(),
                decided_at: d.decided_at.clone(),
                note: d.note.clone().unwrap_or_default(),
            }
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match format.unwrap_or_else(Format::default_for_stdout) {
        Format::Csv => crate::output::write_csv_styled(&mut out, &rows, LIST_COLUMNS, csv)?,
        Format::Json => write_json(&mut out, &rows)?,
        Format::Table if rows.is_empty() => {
            std::io::Write::write_all(&mut out, b"No review decisions.\n")?
        }
        Format::Table => {
            let mut t = new_table(&[
                "Finding",
                "Decision",
                "Status",
                "Company",
                "Product",
                "Numbers when decided",
                "By",
                "At",
                "Note",
            ]);
            for r in rows {
                t.add_row(vec![
                    r.finding_id,
                    r.decision.to_string(),
                    r.status,
                    r.company,
                    r.product,
                    format!(
                        "{}: billed {}, actual {}",
                        r.kind, r.billed_qty, r.actual_qty
                    ),
                    r.decided_by,
                    r.decided_at,
                    r.note,
                ]);
            }
            std::io::Write::write_all(&mut out, format!("{t}\n").as_bytes())?;
        }
    }
    std::io::Write::flush(&mut out)?;
    Ok(Exit::Ok)
}
