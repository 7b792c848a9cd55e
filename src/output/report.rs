//! The discrepancy report: one [`ReportRow`] per finding, rendered as a table with totals, as
//! CSV (one row per finding, the columns documented in the README), or as one JSON document.

use std::io::Write;

use anyhow::Result;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{Format, money, new_table, qty, write_csv, write_csv_header, write_json};
use crate::reconcile::{Finding, FindingKind, Totals};
use crate::review::{self, Decision, State};
use crate::store::ReconcileRecord;

/// The stable columns of the CSV and of each JSON finding. Append new columns at the end only.
pub const COLUMNS: &[&str] = &[
    "finding_id",
    "type",
    "company",
    "company_id",
    "product",
    "billed_qty",
    "less_included",
    "actual_qty",
    "difference",
    "unit_price",
    "monthly_impact",
    "currency",
    "vendor_connection",
    "vendor_accounts",
    "services",
    "psa_connection",
    "agreements",
    "note",
    "decision",
    "decided_by",
    "decided_at",
    "decision_note",
];

#[derive(Debug, Serialize)]
pub struct ReportRow {
    pub finding_id: String,
    #[serde(rename = "type")]
    pub kind: FindingKind,
    pub company: Option<String>,
    pub company_id: Option<String>,
    pub product: Option<String>,
    pub billed_qty: Option<Decimal>,
    pub less_included: Option<Decimal>,
    pub actual_qty: Option<Decimal>,
    pub difference: Option<Decimal>,
    pub unit_price: Option<Decimal>,
    pub monthly_impact: Option<Decimal>,
    pub currency: String,
    pub vendor_connection: Option<String>,
    pub vendor_accounts: String,
    pub services: String,
    pub psa_connection: Option<String>,
    pub agreements: String,
    pub note: String,
    /// `approve`, `dismiss` or `ignore` when a decision applies; empty otherwise.
    pub decision: String,
    pub decided_by: String,
    pub decided_at: String,
    /// The decision's note; for a decision that no longer applies (decision empty), why:
    /// `earlier approve no longer applies: quantities changed`.
    pub decision_note: String,
}

impl ReportRow {
    pub fn from_finding(f: &Finding, currency: &str) -> ReportRow {
        ReportRow {
            finding_id: f.id.clone(),
            kind: f.kind,
            company: f.company.clone(),
            company_id: f.company_id.clone(),
            product: f.product.clone(),
            billed_qty: f.billed.map(|d| d.normalize()),
            less_included: f.less_included.map(|d| d.normalize()),
            actual_qty: f.actual.map(|d| d.normalize()),
            difference: f.difference.map(|d| d.normalize()),
            unit_price: f.unit_price,
            monthly_impact: f.monthly_impact.map(|m| m.round_dp(2)),
            currency: currency.to_string(),
            vendor_connection: f.vendor_connection.clone(),
            vendor_accounts: f.accounts.join("; "),
            services: f.services.join("; "),
            psa_connection: f.psa_connection.clone(),
            agreements: f.agreements.join("; "),
            note: f.note.clone(),
            decision: String::new(),
            decided_by: String::new(),
            decided_at: String::new(),
            decision_note: String::new(),
        }
    }

    /// Fills the decision columns from the finding's review state.
    pub fn with_review(mut self, state: &State) -> ReportRow {
        match state {
            State::Open => {}
            State::Decided(d) => {
                self.decision = d.verdict.as_str().to_string();
                self.decided_by = d.decided_by.clone();
                self.decided_at = d.decided_at.clone();
                self.decision_note = d.note.clone().unwrap_or_default();
            }
            State::CameBack(..) => self.decision_note = state.came_back_note().unwrap_or_default(),
        }
        self
    }
}

/// What the report does with review decisions.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewView<'a> {
    pub decisions: &'a [Decision],
    /// Also show the findings a decision hides (`report --all`).
    pub all: bool,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    reconcile_run: i64,
    computed_at: &'a str,
    as_of: &'a str,
    currency: &'a str,
    only_discrepancies: bool,
    findings: Vec<ReportRow>,
    totals: &'a Totals,
    /// Whether findings with a decision that applies are listed (`--all`).
    all: bool,
    /// How many findings a decision applies to (never in the totals).
    decided: usize,
}

pub fn kind_label(k: FindingKind) -> &'static str {
    match k {
        FindingKind::UnmappedAccount => "unmapped account",
        FindingKind::UnmappedService => "unmapped service",
        FindingKind::UnderBilled => "under-billed",
        FindingKind::OverBilled => "over-billed",
        FindingKind::UsageNoBilling => "usage, no billing line",
        FindingKind::BillingNoUsage => "billing line, no usage",
        FindingKind::StaleSource => "stale source",
        FindingKind::WithinTolerance => "within tolerance",
        FindingKind::Match => "match",
    }
}

/// Writes the report. Totals cover every open finding of the run (those no review decision
/// applies to), whatever is shown; findings a decision applies to are listed only with
/// `review.all`.
pub fn render(
    out: &mut dyn Write,
    record: &ReconcileRecord,
    format: Format,
    only_discrepancies: bool,
    review: ReviewView,
) -> Result<()> {
    let period = review::period_of(&record.as_of).unwrap_or_default();
    let reviewed = review::review(&record.findings, review.decisions, &period);
    let decided = reviewed.decided();
    let open_totals;
    let totals = if decided == 0 {
        &record.totals
    } else {
        let open: Vec<Finding> = record
            .findings
            .iter()
            .zip(&reviewed.states)
            .filter(|(_, s)| !s.is_decided())
            .map(|(f, _)| f.clone())
            .collect();
        open_totals = Totals::of(&open);
        &open_totals
    };
    let shown: Vec<(&Finding, &State)> = record
        .findings
        .iter()
        .zip(&reviewed.states)
        .filter(|(f, _)| !only_discrepancies || f.kind.is_discrepancy())
        .filter(|(_, s)| review.all || !s.is_decided())
        .collect();
    let rows: Vec<ReportRow> = shown
        .iter()
        .map(|(f, s)| ReportRow::from_finding(f, &record.currency).with_review(s))
        .collect();
    match format {
        Format::Csv if rows.is_empty() => write_csv_header(out, COLUMNS),
        Format::Csv => write_csv(out, &rows),
        Format::Json => write_json(
            out,
            &JsonReport {
                reconcile_run: record.id,
                computed_at: &record.created_at,
                as_of: &record.as_of,
                currency: &record.currency,
                only_discrepancies,
                findings: rows,
                totals,
                all: review.all,
                decided,
            },
        ),
        Format::Table => render_table(out, record, totals, &shown, review.all, decided),
    }
}

fn opt(d: Option<Decimal>, f: fn(Decimal) -> String) -> String {
    d.map(f).unwrap_or_default()
}

fn render_table(
    out: &mut dyn Write,
    record: &ReconcileRecord,
    totals: &Totals,
    shown: &[(&Finding, &State)],
    all: bool,
    decided: usize,
) -> Result<()> {
    let cur = &record.currency;
    if shown.is_empty() {
        writeln!(out, "No findings to show.")?;
    } else {
        let impact_header = format!("Impact/mo ({cur})");
        let mut headers = vec![
            "ID",
            "Type",
            "Company / account",
            "Product / service",
            "Billed",
            "Actual",
            "Diff",
            "Unit price",
            &impact_header,
            "Note",
        ];
        if all {
            headers.push("Decision");
        }
        let mut t = new_table(&headers);
        for (f, state) in shown {
            let who = f.company.clone().unwrap_or_else(|| f.accounts.join(", "));
            let what = f.product.clone().unwrap_or_else(|| f.services.join(", "));
            let billed = match (f.billed, f.less_included) {
                (Some(b), Some(li)) if li > Decimal::ZERO => {
                    format!("{} ({} incl.)", qty(b), qty(li))
                }
                (b, _) => opt(b, qty),
            };
            let diff = f
                .difference
                .map(|d| {
                    if d > Decimal::ZERO {
                        format!("+{}", qty(d))
                    } else {
                        qty(d)
                    }
                })
                .unwrap_or_default();
            let note = match state.came_back_note() {
                Some(back) if f.note.is_empty() => back,
                Some(back) => format!("{}; {back}", f.note),
                None => f.note.clone(),
            };
            let mut row = vec![
                f.id.clone(),
                kind_label(f.kind).to_string(),
                who,
                what,
                billed,
                opt(f.actual, qty),
                diff,
                opt(f.unit_price, money),
                opt(f.monthly_impact, money),
                note,
            ];
            if all {
                row.push(match state {
                    State::Decided(d) => format!(
                        "{} by {}{}",
                        d.verdict.past(),
                        d.decided_by,
                        d.note
                            .as_deref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    ),
                    _ => String::new(),
                });
            }
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
    }
    let t = totals;
    let decided_note = match (decided, all) {
        (0, _) => String::new(),
        (1, false) => ", 1 decided finding hidden (--all shows it)".to_string(),
        (n, false) => format!(", {n} decided findings hidden (--all shows them)"),
        (1, true) => ", 1 decided finding not counted".to_string(),
        (n, true) => format!(", {n} decided findings not counted"),
    };
    writeln!(
        out,
        "Totals per month ({cur}): under-billed {}, over-billed {}{}{decided_note}",
        money(t.under_billed_monthly),
        money(t.over_billed_monthly),
        if t.discrepancies_without_impact > 0 {
            format!(
                ", plus {} discrepancies with no known price",
                t.discrepancies_without_impact
            )
        } else {
            String::new()
        }
    )?;
    let counts: Vec<String> = FindingKind::ALL
        .iter()
        .filter_map(|k| {
            let n = t.by_kind.get(k.as_str()).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {}", kind_label(*k)))
        })
        .collect();
    writeln!(
        out,
        "Findings: {} (reconciled {}, as of {})",
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        },
        record.created_at,
        record.as_of
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_header_matches_the_documented_columns() {
        let f = Finding {
            id: "F1".into(),
            kind: FindingKind::UnderBilled,
            psa_connection: Some("cw".into()),
            company_id: Some("1".into()),
            company: Some("Acme, Inc".into()),
            product: Some("WS".into()),
            vendor_connection: Some("ninja".into()),
            services: vec!["ninja/total-workstations".into()],
            accounts: vec!["Acme".into(), "Acme 2".into()],
            billed: Some(Decimal::new(50, 1)),
            less_included: Some(Decimal::ZERO),
            actual: Some(Decimal::from(7)),
            difference: Some(Decimal::from(2)),
            unit_price: Some(Decimal::new(3050, 2)),
            monthly_impact: Some(Decimal::new(6100, 2)),
            agreements: vec!["MSA".into()],
            note: String::new(),
        };
        let mut out = Vec::new();
        write_csv(&mut out, &[ReportRow::from_finding(&f, "USD")]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), COLUMNS.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "F1,under_billed,\"Acme, Inc\",1,WS,5,0,7,2,30.50,61.00,USD,ninja,Acme; Acme 2,ninja/total-workstations,cw,MSA,,,,,"
        );
    }
}
