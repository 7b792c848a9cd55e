//! The discrepancy report: one [`ReportRow`] per finding, rendered as a table fitted to the
//! terminal (`table.rs`), as CSV (one row per finding, the columns documented in the README), as
//! one JSON document, or as one self-contained HTML page with charts (`html.rs`); the
//! `--company` / `--type` [`Filter`]; and the money in each with its currency's decimals.

mod by_service;
pub mod html;
mod table;

use std::io::Write;

use anyhow::Result;
use rust_decimal::Decimal;
use serde::Serialize;

use super::money::{amount, price};
use super::{CsvStyle, Format, write_csv_styled, write_json};
use crate::engine::{Finding, FindingKind, Totals};
use crate::review::{self, Decision, State};
use crate::store::ReconcileRecord;

pub use by_service::{SERVICE_COLUMNS, ServiceTotal, service_totals};
pub use table::TableStyle;

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
    "revenue_monthly",
    "cost_monthly",
    "margin_monthly",
    "margin_pct",
    "vendor_unit_cost",
    "psa_unit_cost",
    "cost_source",
    "low_margin",
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
    /// Per month: (billed − less included) × unit price ÷ months in the cycle.
    pub revenue_monthly: Option<Decimal>,
    /// Per month: actual × vendor unit cost.
    pub cost_monthly: Option<Decimal>,
    pub margin_monthly: Option<Decimal>,
    /// Margin as a percent of revenue.
    pub margin_pct: Option<Decimal>,
    /// What a unit costs the MSP per month (from the vendor, else `[cost]`).
    pub vendor_unit_cost: Option<Decimal>,
    /// What the PSA line records a unit costs, per month (cost_mismatch rows).
    pub psa_unit_cost: Option<Decimal>,
    /// Where vendor_unit_cost came from.
    pub cost_source: String,
    /// `true` when the margin is negative or under `[margin] low_margin_pct`.
    pub low_margin: bool,
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
            unit_price: f.unit_price.map(|p| price(p, currency)),
            monthly_impact: f.monthly_impact.map(|m| amount(m, currency)),
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
            revenue_monthly: f.revenue.map(|m| amount(m, currency)),
            cost_monthly: f.cost.map(|m| amount(m, currency)),
            margin_monthly: f.margin.map(|m| amount(m, currency)),
            margin_pct: f.margin_pct.map(|p| p.round_dp(1)),
            vendor_unit_cost: f.vendor_unit_cost.map(|p| price(p, currency)),
            psa_unit_cost: f.psa_unit_cost.map(|p| price(p, currency)),
            cost_source: f.cost_source.clone(),
            low_margin: f.low_margin,
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

/// Which findings a report covers: `--company GLOB` and `--type TYPE,...`. The totals, the
/// summary and `--exit-code` cover the findings it keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// A glob (`*`, `?`, case folded) on the company's name or id, or, for a finding with no
    /// company (an unmapped account), on the vendor account's name.
    pub company: Option<String>,
    /// Finding types to keep; all when empty.
    pub types: Vec<FindingKind>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.company.is_none() && self.types.is_empty()
    }

    pub fn keeps(&self, f: &Finding) -> bool {
        if !self.types.is_empty() && !self.types.contains(&f.kind) {
            return false;
        }
        let Some(pattern) = &self.company else {
            return true;
        };
        f.company
            .iter()
            .chain(f.company_id.iter())
            .chain(f.accounts.iter())
            .any(|name| glob(pattern, name))
    }

    /// For the table's first line: `company "acme*", type under_billed`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.company {
            parts.push(format!("company \"{c}\""));
        }
        if !self.types.is_empty() {
            let t: Vec<&str> = self.types.iter().map(|k| k.as_str()).collect();
            parts.push(format!("type {}", t.join(", ")));
        }
        parts.join(", ")
    }
}

/// Parses a `--type` value: a type as the CSV writes it (`under_billed`), or with hyphens.
pub fn parse_kind(s: &str) -> Result<FindingKind, String> {
    let want = s.trim().to_ascii_lowercase().replace('-', "_");
    FindingKind::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == want)
        .ok_or_else(|| {
            let all: Vec<&str> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown finding type `{s}`; one of: {}", all.join(", "))
        })
}

/// Shell-style glob, case folded: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // Greedy match with one backtrack point, linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `report --format`: the shared formats, and HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for people.
    Table,
    /// Comma-separated values with a header row, for spreadsheets and scripts.
    Csv,
    /// One JSON document.
    Json,
    /// One self-contained HTML page (no scripts, nothing fetched) with a chart per
    /// discrepancy, for a browser or a mail attachment.
    Html,
}

impl ReportFormat {
    /// The shared format, or `None` for HTML.
    pub fn shared(self) -> Option<Format> {
        match self {
            ReportFormat::Table => Some(Format::Table),
            ReportFormat::Csv => Some(Format::Csv),
            ReportFormat::Json => Some(Format::Json),
            ReportFormat::Html => None,
        }
    }
}

/// Everything [`render`] needs beside the findings.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    pub format: Format,
    /// Leave out matches and findings within tolerance in every format.
    pub only_discrepancies: bool,
    /// The table lists matches and findings within tolerance too (it counts them otherwise);
    /// CSV and JSON always list them unless `only_discrepancies`.
    pub matches: bool,
    pub filter: Filter,
    pub csv: CsvStyle,
    pub review: ReviewView<'a>,
    pub table: TableStyle,
    /// One row per finding (default), or per service offering (`--by service`).
    pub by: By,
}

/// What one row of the report is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// One row per finding.
    #[default]
    Finding,
    /// One row per PSA product across every client: units, revenue, cost, margin, and the
    /// clients where it loses money.
    Service,
}

/// The findings of a run as a report shows them: reviewed, filtered, with their totals.
pub struct View<'r, 'd> {
    pub record: &'r ReconcileRecord,
    /// Every finding the filter keeps, with its review state.
    pub kept: Vec<(&'r Finding, State<'d>)>,
    /// Totals over the kept findings no decision applies to.
    pub totals: Totals,
    pub by_company: Vec<CompanyTotal>,
    /// Kept findings a decision applies to.
    pub decided: usize,
}

impl<'r, 'd> View<'r, 'd> {
    pub fn new(
        record: &'r ReconcileRecord,
        review: &ReviewView<'d>,
        filter: &Filter,
    ) -> View<'r, 'd> {
        let period = review::period_of(&record.as_of, review.anchor_day).unwrap_or_default();
        let reviewed = review::review(&record.findings, review.decisions, &period);
        let kept: Vec<(&Finding, State)> = record
            .findings
            .iter()
            .zip(reviewed.states)
            .filter(|(f, _)| filter.keeps(f))
            .collect();
        let open: Vec<&Finding> = kept
            .iter()
            .filter(|(_, s)| !s.is_decided())
            .map(|(f, _)| *f)
            .collect();
        let decided = kept.len() - open.len();
        let totals = if decided == 0 && filter.is_empty() {
            record.totals.clone()
        } else {
            let owned: Vec<Finding> = open.iter().map(|f| (*f).clone()).collect();
            Totals {
                excluded_accounts: if filter.is_empty() {
                    record.totals.excluded_accounts.clone()
                } else {
                    Vec::new()
                },
                ..Totals::of(&owned)
            }
        };
        let by_company = company_totals(open.iter().copied());
        View {
            record,
            kept,
            totals,
            by_company,
            decided,
        }
    }

    /// Whether any kept finding is an open discrepancy / an open stale source (`--exit-code`).
    pub fn open(&self, kind: impl Fn(FindingKind) -> bool) -> bool {
        self.kept
            .iter()
            .any(|(f, s)| kind(f.kind) && !s.is_decided())
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    reconcile_run: i64,
    computed_at: &'a str,
    as_of: &'a str,
    currency: &'a str,
    only_discrepancies: bool,
    /// `--company`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    company_filter: Option<&'a str>,
    /// `--type`, when given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    type_filter: Vec<&'static str>,
    findings: Vec<ReportRow>,
    totals: Totals,
    /// Money per month by company, over open findings (the same findings as `totals`).
    totals_by_company: Vec<CompanyTotal>,
    /// Whether findings with a decision that applies are listed (`--all`).
    all: bool,
    /// How many findings a decision applies to (never in the totals).
    decided: usize,
}

/// Writes the report of `view` (made with `opts.review` and `opts.filter`). Totals cover every
/// open finding the filter keeps (those no review decision applies to), whatever is listed;
/// findings a decision applies to are listed only with `review.all`.
pub fn render(out: &mut dyn Write, view: &View, opts: &Options) -> Result<()> {
    let record = view.record;
    let format = opts.format;
    let shown = listed(view, opts, format == Format::Table);
    let cur = &record.currency;
    if opts.by == By::Service {
        let rows = service_totals(view.kept.iter().map(|(f, _)| *f), cur);
        return match format {
            Format::Csv => by_service::write_csv(out, &rows, opts.csv),
            Format::Json => by_service::write_json_report(out, &rows, &record.as_of),
            Format::Table => {
                match by_service::table(&rows, cur, opts.table.width, opts.table.color) {
                    Some((t, rest)) => {
                        writeln!(out, "{t}")?;
                        if let Some(rest) = rest {
                            writeln!(out, "{rest}")?;
                        }
                    }
                    None => {
                        let text = "No product has a known cost: margins need the vendor's cost (Pax8, Sherweb, a CSV import's cost column) or `[cost.\"<vendor connection>/<service>\"] unit_cost` in the config.";
                        for line in super::fit::wrap(text, opts.table.width, usize::MAX).0 {
                            writeln!(out, "{line}")?;
                        }
                    }
                }
                Ok(())
            }
        };
    }
    match format {
        Format::Csv => {
            let rows: Vec<ReportRow> = shown
                .iter()
                .map(|(f, s)| ReportRow::from_finding(f, cur).with_review(s))
                .collect();
            write_csv_styled(out, &rows, COLUMNS, opts.csv)
        }
        Format::Json => {
            let t = &view.totals;
            let totals = Totals {
                under_billed_monthly: amount(t.under_billed_monthly, cur),
                over_billed_monthly: amount(t.over_billed_monthly, cur),
                within_tolerance_monthly: amount(t.within_tolerance_monthly, cur),
                ..t.clone()
            };
            let by_company = view
                .by_company
                .iter()
                .map(|c| CompanyTotal {
                    under_billed_monthly: amount(c.under_billed_monthly, cur),
                    over_billed_monthly: amount(c.over_billed_monthly, cur),
                    net_monthly: amount(c.net_monthly, cur),
                    ..c.clone()
                })
                .collect();
            write_json(
                out,
                &JsonReport {
                    reconcile_run: record.id,
                    computed_at: &record.created_at,
                    as_of: &record.as_of,
                    currency: cur,
                    only_discrepancies: opts.only_discrepancies,
                    company_filter: opts.filter.company.as_deref(),
                    type_filter: opts.filter.types.iter().map(|k| k.as_str()).collect(),
                    findings: shown
                        .iter()
                        .map(|(f, s)| ReportRow::from_finding(f, cur).with_review(s))
                        .collect(),
                    totals,
                    totals_by_company: by_company,
                    all: opts.review.all,
                    decided: view.decided,
                },
            )
        }
        Format::Table => table::render(out, view, &shown, opts),
    }
}

/// The findings a report lists: discrepancies, and matches and findings within tolerance unless
/// `--only-discrepancies` or (`for_people`: a table or a page) unless `--matches`; findings a
/// decision applies to only with `--all`.
fn listed<'v>(
    view: &'v View,
    opts: &Options,
    for_people: bool,
) -> Vec<(&'v Finding, &'v State<'v>)> {
    view.kept
        .iter()
        .filter(|(f, _)| {
            f.kind.is_discrepancy() || !(opts.only_discrepancies || (for_people && !opts.matches))
        })
        .filter(|(_, s)| opts.review.all || !s.is_decided())
        .map(|(f, s)| (*f, s))
        .collect()
}

/// Writes the report of `view` as one HTML page with `charts` (see [`html`]); lists what the
/// table would.
pub fn render_html(
    out: &mut dyn Write,
    view: &View,
    opts: &Options,
    charts: &html::Charts,
) -> Result<()> {
    let shown = listed(view, opts, true);
    html::render(out, view, &shown, charts, opts)
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

/// `reason: units` per exclusion that removed something from the finding.
fn exclusions_of(f: &Finding) -> String {
    f.excluded_by
        .iter()
        .map(|(r, n)| format!("{r}: {}", n.normalize()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::write_csv;

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
            ..crate::engine::blank_finding()
        }
    }

    #[test]
    fn csv_header_matches_the_documented_columns() {
        let f = Finding {
            revenue: Some(Decimal::new(1525, 1)),
            cost: Some(Decimal::from(70)),
            margin: Some(Decimal::new(825, 1)),
            margin_pct: Some(Decimal::new(541, 1)),
            vendor_unit_cost: Some(Decimal::from(10)),
            cost_source: "vendor (pax8/m365-bp)".into(),
            ..base()
        };
        let mut out = Vec::new();
        write_csv(&mut out, &[ReportRow::from_finding(&f, "USD")]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), COLUMNS.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "F1,under_billed,\"Acme, Inc\",1,WS,5,0,7,2,30.50,61.00,USD,ninja,Acme; Acme 2,ninja/total-workstations,cw,MSA,,,,,,,,,,,latest,1,152.50,70.00,82.50,54.1,10.00,,vendor (pax8/m365-bp),false"
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
