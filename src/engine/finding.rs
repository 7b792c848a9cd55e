//! What the engine produces: the [`Finding`] rows and their [`FindingKind`], the stable id a
//! row keeps across runs, the report order, and how a finding turns `stale_source` when the
//! data it was computed from is not trustworthy.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Basis;

/// What a finding says about one line or one mapping gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    UnmappedAccount,
    UnmappedService,
    UnderBilled,
    OverBilled,
    UsageNoBilling,
    BillingNoUsage,
    /// The PSA line's recorded unit cost is not the vendor's (the rules are in `engine/cost.rs`).
    CostMismatch,
    /// Computed from a connection whose data is not trustworthy now (see the module header).
    StaleSource,
    /// A difference smaller than the configured tolerance.
    WithinTolerance,
    Match,
}

impl FindingKind {
    /// Every kind, in report order.
    pub const ALL: [FindingKind; 10] = [
        FindingKind::UnmappedAccount,
        FindingKind::UnmappedService,
        FindingKind::StaleSource,
        FindingKind::UnderBilled,
        FindingKind::OverBilled,
        FindingKind::UsageNoBilling,
        FindingKind::BillingNoUsage,
        FindingKind::CostMismatch,
        FindingKind::WithinTolerance,
        FindingKind::Match,
    ];

    /// The position in the report: [`FindingKind::ALL`] order.
    pub fn rank(self) -> usize {
        FindingKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(usize::MAX)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::UnmappedAccount => "unmapped_account",
            FindingKind::UnmappedService => "unmapped_service",
            FindingKind::UnderBilled => "under_billed",
            FindingKind::OverBilled => "over_billed",
            FindingKind::UsageNoBilling => "usage_no_billing",
            FindingKind::BillingNoUsage => "billing_no_usage",
            FindingKind::CostMismatch => "cost_mismatch",
            FindingKind::StaleSource => "stale_source",
            FindingKind::WithinTolerance => "within_tolerance",
            FindingKind::Match => "match",
        }
    }

    /// Whether the finding asks for action: everything but a match and a difference within
    /// tolerance. A stale source asks for a sync (or a look at the connector).
    pub fn is_discrepancy(self) -> bool {
        !matches!(self, FindingKind::Match | FindingKind::WithinTolerance)
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable across runs for the same line or gap (not for the same numbers).
    pub id: String,
    pub kind: FindingKind,
    pub psa_connection: Option<String>,
    pub company_id: Option<String>,
    pub company: Option<String>,
    pub product: Option<String>,
    pub vendor_connection: Option<String>,
    /// Service keys counted (`ninjaone/total-workstations`).
    pub services: Vec<String>,
    /// Vendor account names counted or concerned.
    pub accounts: Vec<String>,
    pub billed: Option<Decimal>,
    pub less_included: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub difference: Option<Decimal>,
    pub unit_price: Option<Decimal>,
    pub monthly_impact: Option<Decimal>,
    pub agreements: Vec<String>,
    pub note: String,
    /// Items the finding's services count that are pending approval (not billable); `None`
    /// when there are none.
    #[serde(default)]
    pub pending: Option<Decimal>,
    /// Items not in contact for longer than the stale threshold (not billable).
    #[serde(default)]
    pub inactive: Option<Decimal>,
    /// Items an `[[exclude]]` removed (not billable).
    #[serde(default)]
    pub excluded: Option<Decimal>,
    /// What each exclusion removed: its reason → units.
    #[serde(default)]
    pub excluded_by: BTreeMap<String, Decimal>,
    /// The quantity the `[contract]` says to bill for `actual` (included, minimum, rounding);
    /// `None` when no contract applies, then `difference` = actual − billed.
    #[serde(default)]
    pub contract_qty: Option<Decimal>,
    /// The count basis `actual` used: `latest`, `peak`, `average`, `end-of-period`, or for a
    /// finding summing services with different bases `<service>: <basis>` joined with ", ".
    #[serde(default)]
    pub basis: String,
    /// How many snapshots `actual` came from (1 for `latest`).
    #[serde(default)]
    pub snapshots: usize,
    /// Per month: max(billed − less included, 0) × unit price ÷ months in the cycle.
    #[serde(default)]
    pub revenue: Option<Decimal>,
    /// Per month: actual × the vendor's unit cost.
    #[serde(default)]
    pub cost: Option<Decimal>,
    /// revenue − cost.
    #[serde(default)]
    pub margin: Option<Decimal>,
    /// margin ÷ revenue × 100; `None` when revenue is 0 or either is unknown.
    #[serde(default)]
    pub margin_pct: Option<Decimal>,
    /// What one unit costs the MSP per month, from the vendor or `[cost]`.
    #[serde(default)]
    pub vendor_unit_cost: Option<Decimal>,
    /// What the PSA line records one unit costs, per month (`cost_mismatch` only).
    #[serde(default)]
    pub psa_unit_cost: Option<Decimal>,
    /// Where `vendor_unit_cost` came from: `vendor (<services>)`, `config ([cost."…"])`.
    #[serde(default)]
    pub cost_source: String,
    /// Margin negative, or under `[margin] low_margin_pct`.
    #[serde(default)]
    pub low_margin: bool,
}

/// A finding with every field empty, on the `latest` basis: the rest of a literal that sets
/// only what its kind says.
pub fn blank() -> Finding {
    Finding {
        id: String::new(),
        kind: FindingKind::Match,
        psa_connection: None,
        company_id: None,
        company: None,
        product: None,
        vendor_connection: None,
        services: Vec::new(),
        accounts: Vec::new(),
        billed: None,
        less_included: None,
        actual: None,
        difference: None,
        unit_price: None,
        monthly_impact: None,
        agreements: Vec::new(),
        note: String::new(),
        pending: None,
        inactive: None,
        excluded: None,
        excluded_by: BTreeMap::new(),
        contract_qty: None,
        basis: Basis::Latest.as_str().to_string(),
        snapshots: 1,
        revenue: None,
        cost: None,
        margin: None,
        margin_pct: None,
        vendor_unit_cost: None,
        psa_unit_cost: None,
        cost_source: String::new(),
        low_margin: false,
    }
}

/// A stable short id from the parts that name a line or a gap (FNV-1a, 64 bits).
pub fn finding_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0x1f)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("F{:010x}", h >> 24)
}

/// Sorts findings for the report: by kind in [`FindingKind::ALL`] order, then company name
/// (case-insensitive), product, accounts, services, id.
pub(super) fn sort_for_report(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        a.kind
            .rank()
            .cmp(&b.kind.rank())
            .then_with(|| lower(&a.company).cmp(&lower(&b.company)))
            .then_with(|| a.product.cmp(&b.product))
            .then_with(|| a.accounts.cmp(&b.accounts))
            .then_with(|| a.services.cmp(&b.services))
            .then_with(|| a.id.cmp(&b.id))
    });
}

fn lower(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").to_lowercase()
}

/// Turns `f` into a `stale_source` finding when a connection it depends on is unhealthy.
pub(super) fn mark_stale(
    f: &mut Finding,
    deps: &BTreeSet<String>,
    unhealthy: &BTreeMap<String, String>,
) {
    let reasons: Vec<String> = deps
        .iter()
        .filter_map(|c| {
            unhealthy
                .get(c)
                .map(|r| format!("`{c}` is not healthy: {r}"))
        })
        .collect();
    mark_stale_because(f, reasons);
}

/// Turns a finding into `stale_source` for these reasons (none: leaves it), keeping what it
/// would have been in the note.
pub(super) fn mark_stale_because(f: &mut Finding, reasons: Vec<String>) {
    if reasons.is_empty() {
        return;
    }
    let was = match f.monthly_impact {
        Some(m) => format!(
            "from this data it would be {} with impact {}/month",
            f.kind.as_str(),
            m
        ),
        None => format!("from this data it would be {}", f.kind.as_str()),
    };
    let mut note = format!("{}; {was}", reasons.join("; "));
    if !f.note.is_empty() {
        note = format!("{note}; {}", f.note);
    }
    f.kind = FindingKind::StaleSource;
    f.monthly_impact = None;
    (f.revenue, f.cost, f.margin, f.margin_pct) = (None, None, None, None);
    f.low_margin = false;
    f.note = note;
}
