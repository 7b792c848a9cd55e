//! What each line earns: the vendor's unit cost of the units counted, where it came from, and
//! per line finding its revenue, cost, margin and margin % per month; the `low_margin` note;
//! and the `cost_mismatch` finding when the PSA's recorded unit cost is not the vendor's.
//!
//! The rules (the module header of [`crate::engine`] refers here):
//! - a counted item's unit cost per month is its `unit_cost` attribute (a connector sets it
//!   where the vendor reports what a unit costs the MSP: Pax8's partner cost, Sherweb's fee, a
//!   CSV import's cost column), in its `cost_currency` (default: the report's currency); else
//!   the `[cost."<vendor connection>/<service key>"]` rate of the service that counted it; else
//!   none. A cost in another currency than the report's is never converted: it counts as none;
//! - a finding's vendor unit cost = Σ (units × unit cost) ÷ Σ units over the items its services
//!   counted on the as-of snapshot, known only when every counted unit has a cost (a partial
//!   cost would understate it: when some cost of its services is known anywhere, the note
//!   names the services to give a `[cost]`); cost =
//!   actual × vendor unit cost (2 places; 0 when actual is 0, whatever the rate);
//! - revenue = max(billed − less included, 0) × unit price ÷ months in the billing cycle (2
//!   places), known when the unit price and the cycle are; margin = revenue − cost; margin % =
//!   margin ÷ revenue × 100 (1 place), none when revenue is 0;
//! - `low_margin` (a note, and a flag) when margin < 0, or margin % < `[margin]
//!   low_margin_pct`. Never on a `stale_source` finding, whose numbers are not trusted;
//! - `cost_mismatch` (a finding of its own, beside the line's): when `[margin] check_psa_cost`
//!   (default on), the PSA records line costs, the line finding is not stale, it has counted
//!   lines and a known vendor unit cost, and the price line's unit cost per month (its cost ÷
//!   months in its cycle, 4 places) differs from the vendor's (4 places). A recorded 0 is a
//!   mismatch too: the PSA's margin report then shows the line as pure profit. It has no money
//!   impact (what the client is billed is not wrong); its note says by how much the PSA's
//!   margin is off per month.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::{Finding, FindingKind, finding_id};
use crate::model::ItemView;

pub use crate::model::{COST_CURRENCY_ATTR, UNIT_COST_ATTR};

/// A configured cost of one unit of a service per month (`[cost."<service>"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostRate {
    pub unit_cost: Decimal,
    pub currency: String,
}

/// `[margin]` and the currency findings are reported in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Margin {
    /// The report's currency: costs in another are not used.
    pub currency: String,
    /// A margin under this percent of revenue is `low_margin`; a negative margin always is.
    pub low_margin_pct: Option<Decimal>,
    /// Whether `cost_mismatch` findings are made.
    pub check_psa_cost: bool,
}

impl Default for Margin {
    fn default() -> Margin {
        Margin {
            currency: "USD".into(),
            low_margin_pct: None,
            check_psa_cost: true,
        }
    }
}

/// The cost of the units one service counted on one account (or summed over many).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct CostTally {
    /// Counted units with a known cost, and what they cost per month.
    pub units: Decimal,
    pub amount: Decimal,
    /// Counted units without one.
    pub uncosted: Decimal,
    /// Where the costs came from: `vendor` and/or `config`.
    pub sources: BTreeSet<&'static str>,
    /// Currencies of costs not used because they are not the report's.
    pub other_currencies: BTreeSet<String>,
}

impl CostTally {
    /// Adds `w` counted units of `item`, costed by its attribute, else by `config`.
    pub fn add(&mut self, item: &dyn ItemView, w: Decimal, config: Option<&CostRate>, cur: &str) {
        let from_item = item
            .attr(UNIT_COST_ATTR)
            .and_then(|v| v.trim().parse::<Decimal>().ok())
            .filter(|c| *c >= Decimal::ZERO);
        let rate = match from_item {
            Some(c) => {
                let currency = item.attr(COST_CURRENCY_ATTR).unwrap_or(cur);
                Some((c, currency, "vendor"))
            }
            None => config.map(|c| (c.unit_cost, c.currency.as_str(), "config")),
        };
        match rate {
            Some((c, currency, source)) if currency.eq_ignore_ascii_case(cur) => {
                self.units += w;
                self.amount += w * c;
                self.sources.insert(source);
            }
            Some((_, currency, _)) => {
                self.uncosted += w;
                self.other_currencies.insert(currency.to_ascii_uppercase());
            }
            None => self.uncosted += w,
        }
    }

    pub fn merge(&mut self, o: &CostTally) {
        self.units += o.units;
        self.amount += o.amount;
        self.uncosted += o.uncosted;
        self.sources.extend(o.sources.iter().copied());
        self.other_currencies
            .extend(o.other_currencies.iter().cloned());
    }
}

/// What one (company, product)'s usage cost, per service label, on the as-of snapshot.
#[derive(Debug, Clone, Default)]
pub(super) struct PairCost {
    pub total: CostTally,
    /// Services with counted units that have no cost.
    pub uncosted_services: BTreeSet<String>,
    /// Services costed from the vendor, and from config.
    pub vendor_services: BTreeSet<String>,
    pub config_services: BTreeSet<String>,
    /// Services with a cost on some account of the vendor: a unit without one here is worth a
    /// note.
    pub costed_elsewhere: BTreeSet<String>,
}

impl PairCost {
    pub fn add(&mut self, label: &str, t: &CostTally) {
        self.total.merge(t);
        if t.uncosted > Decimal::ZERO {
            self.uncosted_services.insert(label.to_string());
        }
        if t.sources.contains("vendor") {
            self.vendor_services.insert(label.to_string());
        }
        if t.sources.contains("config") {
            self.config_services.insert(label.to_string());
        }
    }

    /// The vendor unit cost per month, when every counted unit has one.
    fn unit_cost(&self) -> Option<Decimal> {
        let t = &self.total;
        (t.units > Decimal::ZERO && t.uncosted.is_zero()).then(|| (t.amount / t.units).round_dp(4))
    }

    /// Where the unit cost came from, for the `cost_source` column.
    fn source(&self) -> String {
        let mut parts = Vec::new();
        if !self.vendor_services.is_empty() {
            parts.push(format!(
                "vendor ({})",
                self.vendor_services
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.config_services.is_empty() {
            parts.push(format!(
                "config ({})",
                self.config_services
                    .iter()
                    .map(|s| format!("[cost.\"{s}\"]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        parts.join(" + ")
    }
}

/// What a line finding needs to be priced and costed.
pub(super) struct Earning<'a> {
    pub billed: Decimal,
    pub less_included: Decimal,
    pub actual: Decimal,
    pub unit_price: Option<Decimal>,
    /// Months in the price line's billing cycle; `None` for a cycle not convertible.
    pub months: Option<Decimal>,
    pub cost: Option<&'a PairCost>,
}

/// Sets the revenue, cost, margin, margin %, vendor unit cost, cost source and `low_margin`
/// of a line finding, adding notes on what is unknown and why.
pub(super) fn earn(f: &mut Finding, e: &Earning, margin: &Margin, notes: &mut Vec<String>) {
    let revenue = match (e.unit_price, e.months) {
        (Some(p), Some(m)) => {
            Some(((e.billed - e.less_included).max(Decimal::ZERO) * p / m).round_dp(2))
        }
        _ => None,
    };
    let unit_cost = e.cost.and_then(PairCost::unit_cost);
    let cost = if e.actual.is_zero() {
        Some(Decimal::ZERO)
    } else {
        unit_cost.map(|c| (e.actual * c).round_dp(2))
    };
    if let Some(c) = e.cost {
        f.cost_source = c.source();
        // Said only when some cost of these services is known: with none configured or
        // reported anywhere, an empty cost column says it, and every note would repeat it.
        let some_known = c.total.units > Decimal::ZERO
            || !c.total.other_currencies.is_empty()
            || !c.costed_elsewhere.is_empty();
        if unit_cost.is_none() && !e.actual.is_zero() && some_known {
            notes.push(uncosted_note(c, &margin.currency));
        }
    }
    f.revenue = revenue;
    f.cost = cost;
    f.vendor_unit_cost = unit_cost;
    let (Some(revenue), Some(cost)) = (revenue, cost) else {
        return;
    };
    let m = revenue - cost;
    f.margin = Some(m);
    f.margin_pct = (!revenue.is_zero()).then(|| (m / revenue * Decimal::ONE_HUNDRED).round_dp(1));
    let pct = f
        .margin_pct
        .map(|p| format!(" ({} %)", p.normalize()))
        .unwrap_or_default();
    if m < Decimal::ZERO {
        f.low_margin = true;
        notes.push(format!(
            "low_margin: loses {}/month{pct}: revenue {}, cost {}",
            m2(-m),
            m2(revenue),
            m2(cost)
        ));
    } else if let (Some(limit), Some(p)) = (margin.low_margin_pct, f.margin_pct)
        && p < limit
    {
        f.low_margin = true;
        notes.push(format!(
            "low_margin: margin {}/month{pct} is under [margin] low_margin_pct = {}",
            m2(m),
            limit.normalize()
        ));
    }
}

/// Money for a note: at least 2 places, more only when it has them (`12.50`, `1.0417`).
fn m2(d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// Why a finding's cost is unknown, and what to set.
fn uncosted_note(c: &PairCost, currency: &str) -> String {
    if !c.total.other_currencies.is_empty() {
        return format!(
            "cost unknown: the vendor's or configured cost is in {}, the report in {currency} (not converted)",
            c.total
                .other_currencies
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let services: Vec<String> = c
        .uncosted_services
        .iter()
        .map(|s| format!("[cost.\"{s}\"] unit_cost"))
        .collect();
    format!(
        "cost unknown for {} unit(s): the vendor reports none; set {}",
        c.total.uncosted.normalize(),
        services.join(", ")
    )
}

/// The PSA's recorded unit cost per month of a line, 4 places; `None` for a cycle not
/// convertible to months.
pub(super) fn psa_unit_cost(unit_cost: Decimal, months: Option<Decimal>) -> Option<Decimal> {
    months.map(|m| (unit_cost / m).round_dp(4))
}

/// The `cost_mismatch` finding beside `line` when its PSA unit cost (per month) is not the
/// vendor's; `line_id` names the price line in the note.
pub(super) fn mismatch(line: &Finding, psa_cost: Decimal, line_id: &str) -> Option<Finding> {
    let vendor = line.vendor_unit_cost?;
    if line.kind == FindingKind::StaleSource || psa_cost.round_dp(4) == vendor.round_dp(4) {
        return None;
    }
    let per_unit = vendor - psa_cost;
    let actual = line.actual.unwrap_or_default();
    let off = (per_unit * actual).round_dp(2);
    let recorded = if psa_cost.is_zero() {
        "records no unit cost (0)".to_string()
    } else {
        format!("records unit cost {}/month", m2(psa_cost))
    };
    let note = format!(
        "the PSA {recorded} on line {line_id}, the vendor's is {}/month ({}): the PSA's margin on this line is off by {} × {} = {}/month",
        m2(vendor),
        line.cost_source,
        m2(per_unit),
        actual.normalize(),
        m2(off)
    );
    let mut f = line.clone();
    f.id = finding_id(&[
        "cost",
        line.psa_connection.as_deref().unwrap_or(""),
        line.company_id.as_deref().unwrap_or(""),
        line.product.as_deref().unwrap_or(""),
    ]);
    f.kind = FindingKind::CostMismatch;
    f.monthly_impact = None;
    f.psa_unit_cost = Some(psa_cost);
    // The line's own finding carries its revenue and margin; summing both rows must not count
    // them twice.
    (f.revenue, f.cost, f.margin, f.margin_pct) = (None, None, None, None);
    f.low_margin = false;
    f.note = note;
    Some(f)
}
