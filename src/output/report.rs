//! The discrepancy report: one [`ReportRow`] per finding, rendered as a table with totals, as
//! CSV (one row per finding, the columns documented in the README), or as one JSON document.

use std::io::Write;

use anyhow::Result;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{Format, money, new_table, qty, write_csv, write_csv_header, write_json};
use crate::reconcile::{Finding, FindingKind, Totals};
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
        }
    }
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
}

pub fn kind_label(k: FindingKind) -> &'static str {
    match k {
        FindingKind::UnmappedAccount => "unmapped account",
        FindingKind::UnmappedService => "unmapped service",
        FindingKind::UnderBilled => "under-billed",
        FindingKind::OverBilled => "over-billed",
        FindingKind::UsageNoBilling => "usage, no billing line",
        FindingKind::BillingNoUsage => "billing line, no usage",
        FindingKind::Match => "match",
    }
}

/// Writes the report. Totals always cover every finding of the run, whatever is shown.
pub fn render(
    out: &mut dyn Write,
    record: &ReconcileRecord,
    format: Format,
    only_discrepancies: bool,
) -> Result<()> {
    let shown: Vec<&Finding> = record
        .findings
        .iter()
        .filter(|f| !only_discrepancies || f.kind.is_discrepancy())
        .collect();
    let rows: Vec<ReportRow> = shown
        .iter()
        .map(|f| ReportRow::from_finding(f, &record.currency))
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
                totals: &record.totals,
            },
        ),
        Format::Table => render_table(out, record, &shown),
    }
}

fn opt(d: Option<Decimal>, f: fn(Decimal) -> String) -> String {
    d.map(f).unwrap_or_default()
}

fn render_table(out: &mut dyn Write, record: &ReconcileRecord, shown: &[&Finding]) -> Result<()> {
    let cur = &record.currency;
    if shown.is_empty() {
        writeln!(out, "No findings to show.")?;
    } else {
        let impact_header = format!("Impact/mo ({cur})");
        let mut t = new_table(&[
            "Type",
            "Company / account",
            "Product / service",
            "Billed",
            "Actual",
            "Diff",
            "Unit price",
            &impact_header,
            "Note",
        ]);
        for f in shown {
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
            t.add_row(vec![
                kind_label(f.kind).to_string(),
                who,
                what,
                billed,
                opt(f.actual, qty),
                diff,
                opt(f.unit_price, money),
                opt(f.monthly_impact, money),
                f.note.clone(),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    let t = &record.totals;
    writeln!(
        out,
        "Totals per month ({cur}): under-billed {}, over-billed {}{}",
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
            "F1,under_billed,\"Acme, Inc\",1,WS,5,0,7,2,30.50,61.00,USD,ninja,Acme; Acme 2,ninja/total-workstations,cw,MSA,"
        );
    }
}
