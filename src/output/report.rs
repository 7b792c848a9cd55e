//! The discrepancy report: one [`ReportRow`] per finding, rendered as a table with totals, as
//! CSV (one row per finding, the columns documented in the README), or as one JSON document.

use std::io::Write;

use anyhow::Result;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{Format, money, new_table, qty, write_csv, write_csv_header, write_json};
use crate::engine::{Finding, FindingKind, Totals};
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
    "pending_qty",
    "inactive_qty",
    "excluded_qty",
    "exclusions",
    "contract_qty",
    "basis",
    "snapshots",
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
    /// Items pending approval, not counted.
    pub pending_qty: Option<Decimal>,
    /// Items past the stale threshold (`[rules] inactive_after_days`), not counted.
    pub inactive_qty: Option<Decimal>,
    /// Items an `[[exclude]]` removed, not counted.
    pub excluded_qty: Option<Decimal>,
    /// What each exclusion removed: `reason: units`, joined with "; ".
    pub exclusions: String,
    /// The quantity the `[contract]` says to bill (included, minimum, rounding); empty when no
    /// contract applies (then `difference` = actual − billed).
    pub contract_qty: Option<Decimal>,
    /// How actual was counted: latest, peak, average, end-of-period (`[basis]`).
    pub basis: String,
    /// How many synced snapshots actual came from.
    pub snapshots: usize,
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
            pending_qty: f.pending.map(|d| d.normalize()),
            inactive_qty: f.inactive.map(|d| d.normalize()),
            excluded_qty: f.excluded.map(|d| d.normalize()),
            exclusions: exclusions_of(f),
            contract_qty: f.contract_qty.map(|d| d.normalize()),
            basis: if f.basis.is_empty() {
                "latest".to_string()
            } else {
                f.basis.clone()
            },
            snapshots: f.snapshots.max(1),
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
    /// The config's billing-period anchor day (dismissals last one period).
    pub anchor_day: i8,
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
    /// Money per month by company, over open findings (the same findings as `totals`).
    totals_by_company: Vec<CompanyTotal>,
    /// Whether findings with a decision that applies are listed (`--all`).
    all: bool,
    /// How many findings a decision applies to (never in the totals).
    decided: usize,
}

/// One company's money per month over its open findings: what a billing manager fixes first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompanyTotal {
    pub company: String,
    pub company_id: String,
    pub psa_connection: String,
    /// Under-billed lines plus usage with no billing line.
    #[serde(with = "rust_decimal::serde::str")]
    pub under_billed_monthly: Decimal,
    /// Over-billed lines plus billing lines with no usage, as a positive amount (like [`Totals`]).
    #[serde(with = "rust_decimal::serde::str")]
    pub over_billed_monthly: Decimal,
    /// Under minus over: what the company's billing is off by per month (negative: charged too much).
    #[serde(with = "rust_decimal::serde::str")]
    pub net_monthly: Decimal,
}

/// Per-company totals over `findings`, companies with any impact only, largest |net| first.
/// The same kinds count as in [`Totals`]: within tolerance, stale sources and unmapped findings
/// carry no counted impact.
pub fn company_totals<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<CompanyTotal> {
    let mut by: std::collections::BTreeMap<(String, String), CompanyTotal> = Default::default();
    for f in findings {
        let (Some(id), Some(impact)) = (&f.company_id, f.monthly_impact) else {
            continue;
        };
        let under = matches!(
            f.kind,
            FindingKind::UnderBilled | FindingKind::UsageNoBilling
        );
        let over = matches!(
            f.kind,
            FindingKind::OverBilled | FindingKind::BillingNoUsage
        );
        if !under && !over {
            continue;
        }
        let psa = f.psa_connection.clone().unwrap_or_default();
        let t = by
            .entry((psa.clone(), id.clone()))
            .or_insert_with(|| CompanyTotal {
                company: f.company.clone().unwrap_or_default(),
                company_id: id.clone(),
                psa_connection: psa,
                under_billed_monthly: Decimal::ZERO,
                over_billed_monthly: Decimal::ZERO,
                net_monthly: Decimal::ZERO,
            });
        if under {
            t.under_billed_monthly += impact;
        } else {
            t.over_billed_monthly -= impact;
        }
        t.net_monthly += impact;
    }
    let mut out: Vec<CompanyTotal> = by
        .into_values()
        .filter(|t| !t.under_billed_monthly.is_zero() || !t.over_billed_monthly.is_zero())
        .collect();
    out.sort_by(|a, b| {
        b.net_monthly
            .abs()
            .cmp(&a.net_monthly.abs())
            .then_with(|| a.company.to_lowercase().cmp(&b.company.to_lowercase()))
    });
    out
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
    let period = review::period_of(&record.as_of, review.anchor_day).unwrap_or_default();
    let reviewed = review::review(&record.findings, review.decisions, &period);
    let decided = reviewed.decided();
    let by_company = company_totals(
        record
            .findings
            .iter()
            .zip(&reviewed.states)
            .filter(|(_, s)| !s.is_decided())
            .map(|(f, _)| f),
    );
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
        open_totals = Totals {
            excluded_accounts: record.totals.excluded_accounts.clone(),
            ..Totals::of(&open)
        };
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
                totals_by_company: by_company,
                all: review.all,
                decided,
            },
        ),
        Format::Table => render_table(
            out,
            record,
            totals,
            &by_company,
            &shown,
            review.all,
            decided,
        ),
    }
}

/// `reason: units` per exclusion that removed something from the finding.
fn exclusions_of(f: &Finding) -> String {
    f.excluded_by
        .iter()
        .map(|(r, n)| format!("{r}: {}", n.normalize()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The actual count, with what was left out beside it: `55 (+3 inactive, +1 excluded)`.
fn actual_cell(f: &Finding) -> String {
    let Some(a) = f.actual else {
        return String::new();
    };
    let mut extra = Vec::new();
    for (n, what) in [
        (f.inactive, "inactive"),
        (f.pending, "pending"),
        (f.excluded, "excluded"),
    ] {
        if let Some(n) = n.filter(|n| *n > Decimal::ZERO) {
            extra.push(format!("+{} {what}", qty(n)));
        }
    }
    let mut cell = qty(a);
    if !f.basis.is_empty() && f.basis != "latest" {
        extra.insert(0, format!("{} of {}", f.basis, f.snapshots.max(1)));
    }
    if !extra.is_empty() {
        cell = format!("{cell} ({})", extra.join(", "));
    }
    if let Some(c) = f.contract_qty {
        cell = format!("{cell}; bill {}", qty(c));
    }
    cell
}

fn opt(d: Option<Decimal>, f: fn(Decimal) -> String) -> String {
    d.map(f).unwrap_or_default()
}

fn render_table(
    out: &mut dyn Write,
    record: &ReconcileRecord,
    totals: &Totals,
    by_company: &[CompanyTotal],
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
                actual_cell(f),
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
        let mut removed: std::collections::BTreeMap<&str, Decimal> = Default::default();
        for (f, _) in shown {
            for (reason, n) in &f.excluded_by {
                *removed.entry(reason.as_str()).or_default() += *n;
            }
        }
        if !removed.is_empty() {
            let parts: Vec<String> = removed
                .iter()
                .map(|(r, n)| format!("{} by \"{r}\"", qty(*n)))
                .collect();
            writeln!(out, "Excluded from the counts: {}", parts.join(", "))?;
        }
        for a in &totals.excluded_accounts {
            writeln!(
                out,
                "Excluded account: {} ({} on {}, {} item(s)) by \"{}\"",
                a.account, a.account_id, a.vendor_connection, a.items, a.reason
            )?;
        }
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
    if !t.within_tolerance_monthly.is_zero() {
        writeln!(
            out,
            "Within tolerance (not in the totals): {} {cur} per month, net",
            money(t.within_tolerance_monthly)
        )?;
    }
    if !by_company.is_empty() {
        let mut ct = new_table(&[
            "Company",
            &format!("Under-billed/mo ({cur})"),
            &format!("Over-billed/mo ({cur})"),
            &format!("Net/mo ({cur})"),
        ]);
        for c in by_company {
            ct.add_row(vec![
                c.company.clone(),
                money(c.under_billed_monthly),
                money(c.over_billed_monthly),
                money(c.net_monthly),
            ]);
        }
        writeln!(out, "Per company, largest first:\n{ct}")?;
    }
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

    fn base() -> Finding {
        Finding {
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
            pending: None,
            inactive: None,
            excluded: None,
            excluded_by: Default::default(),
            contract_qty: None,
            basis: "latest".into(),
            snapshots: 1,
        }
    }

    #[test]
    fn csv_header_matches_the_documented_columns() {
        let f = base();
        let mut out = Vec::new();
        write_csv(&mut out, &[ReportRow::from_finding(&f, "USD")]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), COLUMNS.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "F1,under_billed,\"Acme, Inc\",1,WS,5,0,7,2,30.50,61.00,USD,ninja,Acme; Acme 2,ninja/total-workstations,cw,MSA,,,,,,,,,,,latest,1"
        );
    }

    #[test]
    fn company_totals_add_up_open_money_by_company_largest_first() {
        let line = |kind, company: &str, id: &str, impact: i64| Finding {
            kind,
            company: Some(company.into()),
            company_id: Some(id.into()),
            monthly_impact: Some(Decimal::from(impact)),
            ..base()
        };
        let findings = vec![
            line(FindingKind::UnderBilled, "Acme", "1", 100),
            line(FindingKind::UsageNoBilling, "Acme", "1", 20),
            line(FindingKind::OverBilled, "Acme", "1", -50),
            line(FindingKind::BillingNoUsage, "Beta", "2", -300),
            // Carry no counted money, as in the overall totals.
            line(FindingKind::WithinTolerance, "Gamma", "3", 999),
            line(FindingKind::Match, "Gamma", "3", 0),
        ];
        let t = company_totals(&findings);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(
            (
                t[0].company.as_str(),
                t[0].under_billed_monthly,
                t[0].over_billed_monthly,
                t[0].net_monthly
            ),
            (
                "Beta",
                Decimal::ZERO,
                Decimal::from(300),
                Decimal::from(-300)
            )
        );
        assert_eq!(
            (
                t[1].company.as_str(),
                t[1].under_billed_monthly,
                t[1].over_billed_monthly,
                t[1].net_monthly
            ),
            (
                "Acme",
                Decimal::from(120),
                Decimal::from(50),
                Decimal::from(70)
            )
        );
        let all = Totals::of(&findings);
        let under: Decimal = t.iter().map(|c| c.under_billed_monthly).sum();
        let over: Decimal = t.iter().map(|c| c.over_billed_monthly).sum();
        assert_eq!(
            (under, over),
            (all.under_billed_monthly, all.over_billed_monthly)
        );
    }
}
