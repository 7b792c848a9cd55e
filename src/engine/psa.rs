//! The PSA side: per PSA connection, every (company, product) with usage counted for it or a
//! line on a mapped product, its billed quantity compared with what the usage (and contract)
//! says to bill, classified, priced and checked for stale sources.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;

use super::cost::{self, Earning};
use super::count::{Counted, PairKey, PairUsage};
use super::finding::{blank, mark_stale, mark_stale_because};
use super::lines::{Billed, billed, line_price, monthly_impact, price_line};
use super::{Basis, Finding, FindingKind, Input, PsaInput, Rounding, Rules, finding_id};
use crate::model::{PsaAgreement, PsaCompany, PsaLine, PsaProduct, PsaSnapshot, months_per_cycle};

/// The line findings of one PSA connection.
pub(super) fn psa_findings(psa: &PsaInput, input: &Input, counted: &Counted) -> Vec<Finding> {
    let side = PsaSide::new(psa, input, counted);
    let lines = side.lines_by_pair();
    side.pairs(&lines)
        .into_iter()
        .flat_map(|(company_id, product)| {
            let key = (company_id, product);
            let on_pair = lines.get(&key).map(Vec::as_slice).unwrap_or_default();
            side.pair_finding(&key.0, &key.1, on_pair)
        })
        .collect()
}

/// One PSA connection's snapshot, indexed, with what the vendor side counted.
struct PsaSide<'s> {
    conn: &'s str,
    psa: &'s PsaInput<'s>,
    snap: &'s PsaSnapshot,
    input: &'s Input<'s>,
    counted: &'s Counted,
    companies: HashMap<&'s str, &'s PsaCompany>,
    agreements: HashMap<&'s str, &'s PsaAgreement>,
    /// Active products by identifier (the first one listed when several share it).
    catalog: HashMap<&'s str, &'s PsaProduct>,
    /// Company id → its name, for the companies some account is mapped to on this connection.
    mapped_company_names: HashMap<&'s str, &'s str>,
}

/// What one (company, product)'s lines bill against what its usage says to bill.
struct Comparison<'l> {
    billed: Billed<'l>,
    actual: Decimal,
    contract_qty: Option<Decimal>,
    /// What billed is compared with: the contract quantity, else actual; in whole units when
    /// the PSA bills only those.
    target: Decimal,
    kind: FindingKind,
    unit_price: Option<Decimal>,
    /// Months in the price's billing cycle (1 for a catalog price); `None` when not convertible.
    months: Option<Decimal>,
    /// The line whose price (and recorded cost) the finding uses.
    price_line: Option<&'l PsaLine>,
    monthly_impact: Option<Decimal>,
}

impl<'s> PsaSide<'s> {
    fn new(psa: &'s PsaInput<'s>, input: &'s Input<'s>, counted: &'s Counted) -> PsaSide<'s> {
        let snap = psa.snapshot;
        let conn = psa.connection;
        let mut catalog = HashMap::new();
        for p in snap.products.iter().filter(|p| !p.inactive) {
            catalog.entry(p.identifier.as_str()).or_insert(p);
        }
        PsaSide {
            conn,
            psa,
            snap,
            input,
            counted,
            companies: snap.companies.iter().map(|c| (c.id.as_str(), c)).collect(),
            agreements: snap.agreements.iter().map(|a| (a.id.as_str(), a)).collect(),
            catalog,
            mapped_company_names: input
                .accounts
                .iter()
                .filter_map(|m| m.target.as_ref())
                .filter(|t| t.connection == conn)
                .map(|t| (t.company_id.as_str(), t.company_name.as_str()))
                .collect(),
        }
    }

    /// (company, product) → the lines on it, for products some service maps to.
    fn lines_by_pair(&self) -> BTreeMap<(String, String), Vec<&'s PsaLine>> {
        let mut lines: BTreeMap<(String, String), Vec<&PsaLine>> = BTreeMap::new();
        for l in &self.snap.lines {
            let product = (self.conn.to_string(), l.product_identifier.clone());
            if self.counted.mapped_products.contains_key(&product) {
                lines
                    .entry((l.company_id.clone(), l.product_identifier.clone()))
                    .or_default()
                    .push(l);
            }
        }
        lines
    }

    /// The (company, product) pairs to compare: those with lines, and those with usage
    /// (counted, or pending, inactive or excluded) on this connection.
    fn pairs(
        &self,
        lines: &BTreeMap<(String, String), Vec<&PsaLine>>,
    ) -> BTreeSet<(String, String)> {
        let mut pairs: BTreeSet<(String, String)> = lines.keys().cloned().collect();
        for ((c, company, product), u) in &self.counted.usage {
            if c == self.conn
                && (u.actual > Decimal::ZERO || u.pending + u.inactive + u.excluded > Decimal::ZERO)
            {
                pairs.insert((company.clone(), product.clone()));
            }
        }
        pairs
    }

    /// The finding for one (company, product) and its `cost_mismatch` if any, or none for a
    /// non-billable company no account is mapped to (its lines are not our business).
    fn pair_finding(&self, company_id: &str, product: &str, lines: &[&PsaLine]) -> Vec<Finding> {
        let company = self.companies.get(company_id).copied();
        if company.is_some_and(|c| !c.billable)
            && !self.mapped_company_names.contains_key(company_id)
        {
            return Vec::new();
        }
        let key: PairKey = (
            self.conn.to_string(),
            company_id.to_string(),
            product.to_string(),
        );
        let u = self.counted.usage.get(&key);
        let services: Vec<String> = u
            .map(|u| u.services.iter().cloned().collect())
            .unwrap_or_default();
        let mut notes = Vec::new();
        let c = self.compare(product, u, &services, lines, &mut notes);
        let company_name = company.map(|c| c.name.clone()).or_else(|| {
            self.mapped_company_names
                .get(company_id)
                .map(|s| s.to_string())
        });
        company_notes(company, &mut notes);
        let (months, price_line) = (c.months, c.price_line);
        let earning = Earning {
            billed: c.billed.quantity,
            less_included: c.billed.less_included,
            actual: c.actual,
            unit_price: c.unit_price,
            months,
            cost: u.map(|u| &u.cost),
        };
        let mut earned = blank();
        cost::earn(&mut earned, &earning, &self.input.rules.margin, &mut notes);
        let mut finding = Finding {
            id: finding_id(&["line", self.conn, company_id, product]),
            psa_connection: Some(self.conn.to_string()),
            company_id: Some(company_id.to_string()),
            company: company_name,
            product: Some(product.to_string()),
            agreements: self.agreement_names(&c.billed),
            note: notes.join("; "),
            revenue: earned.revenue,
            cost: earned.cost,
            margin: earned.margin,
            margin_pct: earned.margin_pct,
            vendor_unit_cost: earned.vendor_unit_cost,
            cost_source: earned.cost_source,
            low_margin: earned.low_margin,
            ..comparison_finding(c, u, services)
        };
        self.mark_if_stale(&mut finding, u, product);
        let margin = &self.input.rules.margin;
        let mismatch = price_line
            .filter(|_| margin.check_psa_cost && self.psa.records_cost)
            .and_then(|l| Some((l, cost::psa_unit_cost(l.unit_cost, months)?)))
            .and_then(|(l, psa_cost)| cost::mismatch(&finding, psa_cost, &l.id));
        std::iter::once(finding).chain(mismatch).collect()
    }

    /// Compares what the lines bill with what the usage says to bill, noting each step.
    fn compare<'l>(
        &self,
        product: &str,
        u: Option<&PairUsage>,
        services: &[String],
        lines: &[&'l PsaLine],
        notes: &mut Vec<String>,
    ) -> Comparison<'l> {
        let billed = billed(lines, &self.agreements, self.input.as_of, notes);
        let actual = u.map(|u| u.actual).unwrap_or_default();
        if let Some(u) = u {
            usage_notes(u, services, self.input.rules, notes);
        }
        let (contract_qty, target) = self.target(product, actual, notes);
        let kind = kind_of(&billed, target);
        let kind = self.apply_tolerance(
            kind,
            billed.quantity,
            target - billed.quantity,
            services,
            notes,
        );
        let (unit_price, cycle) = self.price(&billed, product, kind, notes);
        let monthly_impact = unit_price
            .and_then(|price| monthly_impact(price, cycle.as_deref(), target, &billed, notes));
        let price_line =
            price_line(billed.lines.iter().copied().enumerate()).map(|i| billed.lines[i]);
        Comparison {
            months: months_per_cycle(cycle.as_deref()),
            price_line,
            billed,
            actual,
            contract_qty,
            target,
            kind,
            unit_price,
            monthly_impact,
        }
    }

    /// The contract quantity for `actual` (if a contract applies), and the quantity billed is
    /// compared with: the contract quantity or actual, rounded up when the PSA bills whole
    /// units only.
    fn target(
        &self,
        product: &str,
        actual: Decimal,
        notes: &mut Vec<String>,
    ) -> (Option<Decimal>, Decimal) {
        let conn = self.conn;
        let contract = self.input.rules.contracts.get(&format!("{conn}/{product}"));
        let contract_qty = contract.map(|c| c.billable(actual));
        let mut target = contract_qty.unwrap_or(actual);
        if self.snap.whole_units && target != target.ceil() {
            // The PSA takes whole units only: a line can never say 2.5, so 2.5 counted is
            // billed right at 3, and 3 is what the line is compared with.
            notes.push(format!(
                "{conn} bills whole units only: {} counted, compared as {}",
                target.normalize(),
                target.ceil()
            ));
            target = target.ceil();
        }
        if let (Some(c), Some(q)) = (contract, contract_qty) {
            notes.push(format!(
                "contract: {} counted, {} included, minimum {}, rounding {}: bill {}",
                actual,
                c.included.normalize(),
                c.minimum.normalize(),
                match c.rounding {
                    Rounding::Ceil => "ceil",
                    Rounding::None => "none",
                },
                q.normalize()
            ));
        }
        (contract_qty, target)
    }

    /// `within_tolerance` for an under- or over-billed `difference` the services' tolerance
    /// allows (saying which limits), else `kind`.
    fn apply_tolerance(
        &self,
        kind: FindingKind,
        billed: Decimal,
        difference: Decimal,
        services: &[String],
        notes: &mut Vec<String>,
    ) -> FindingKind {
        if !matches!(kind, FindingKind::UnderBilled | FindingKind::OverBilled) {
            return kind;
        }
        let t = self.input.tolerances.for_services(services);
        if !t.allows(billed, difference) {
            return kind;
        }
        let (abs, pct) = if difference > Decimal::ZERO {
            (t.increase_abs, t.increase_pct)
        } else {
            (t.decrease_abs, t.decrease_pct)
        };
        notes.push(format!(
            "difference {difference} is within tolerance ({} units or {}% of billed)",
            abs.normalize(),
            pct.normalize()
        ));
        FindingKind::WithinTolerance
    }

    /// The unit price and billing cycle the impact uses: the price line's, else the catalog
    /// price (monthly); noted unless the finding is a match.
    fn price(
        &self,
        billed: &Billed,
        product: &str,
        kind: FindingKind,
        notes: &mut Vec<String>,
    ) -> (Option<Decimal>, Option<String>) {
        if let Some((price, cycle)) = line_price(billed, &self.agreements, notes) {
            return (Some(price), cycle);
        }
        match self.catalog.get(product).and_then(|p| p.price) {
            Some(price) => {
                if kind != FindingKind::Match {
                    notes.push("no line: impact uses the catalog price".into());
                }
                (Some(price), None)
            }
            None => {
                if kind != FindingKind::Match {
                    notes.push(format!(
                        "no line and no catalog price for {product}: impact unknown"
                    ));
                }
                (None, None)
            }
        }
    }

    /// The names of the agreements the counted lines are on, sorted, once each.
    fn agreement_names(&self, billed: &Billed) -> Vec<String> {
        let mut names: Vec<String> = billed
            .lines
            .iter()
            .filter_map(|l| {
                self.agreements
                    .get(l.agreement_id.as_str())
                    .map(|a| a.name.clone())
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Makes the finding `stale_source` when a connection it depends on is unhealthy (this
    /// PSA, the vendors whose usage it counts, every vendor with a service mapped to the
    /// product), else when the sync could not read a mapped account or the company's billing.
    fn mark_if_stale(&self, finding: &mut Finding, u: Option<&PairUsage>, product: &str) {
        let mut deps: BTreeSet<String> = u.map(|u| u.vendors.clone()).unwrap_or_default();
        let key = (self.conn.to_string(), product.to_string());
        if let Some(v) = self.counted.mapped_products.get(&key) {
            deps.extend(v.iter().cloned());
        }
        deps.insert(self.conn.to_string());
        mark_stale(finding, &deps, self.input.unhealthy);
        if finding.kind == FindingKind::StaleSource {
            return;
        }
        let mut reasons: Vec<String> = u
            .map(|u| u.unreadable.iter().cloned().collect())
            .unwrap_or_default();
        if let Some(why) = (finding.company_id.as_deref()).and_then(|c| self.snap.unreadable.get(c))
        {
            let company = finding.company.as_deref().unwrap_or("this company");
            reasons.push(format!(
                "`{}` could not read what {company} is billed: {why}",
                self.conn
            ));
        }
        mark_stale_because(finding, reasons);
    }
}

/// The kind before tolerance: no counted line for a positive target, lines for a zero
/// target, else the sign of the difference.
fn kind_of(billed: &Billed, target: Decimal) -> FindingKind {
    let difference = target - billed.quantity;
    if billed.lines.is_empty() && target > Decimal::ZERO {
        FindingKind::UsageNoBilling
    } else if billed.quantity > Decimal::ZERO && target == Decimal::ZERO {
        FindingKind::BillingNoUsage
    } else if difference > Decimal::ZERO {
        FindingKind::UnderBilled
    } else if difference < Decimal::ZERO {
        FindingKind::OverBilled
    } else {
        FindingKind::Match
    }
}

/// Notes on how the usage was counted: the period basis, and the units pending approval,
/// inactive or excluded beside the count.
fn usage_notes(u: &PairUsage, services: &[String], rules: &Rules, notes: &mut Vec<String>) {
    notes.extend(u.basis_notes.iter().cloned());
    if u.unclassified > 0 {
        notes.push(format!(
            "{} item(s) of a class the connector does not know, counted by no service that counts by class (see `explain`)",
            u.unclassified
        ));
    }
    if u.pending > Decimal::ZERO {
        notes.push(format!(
            "{} item(s) pending approval, not counted",
            u.pending
        ));
    }
    if u.inactive > Decimal::ZERO {
        let days: BTreeSet<String> = services
            .iter()
            .filter_map(|s| rules.inactive_after(s))
            .map(|d| d.to_string())
            .collect();
        notes.push(format!(
            "{} item(s) inactive (no contact for more than {} days), not counted",
            u.inactive,
            days.into_iter().collect::<Vec<_>>().join("/")
        ));
    }
    if u.excluded > Decimal::ZERO {
        for (reason, n) in &u.excluded_by {
            notes.push(format!("{n} item(s) excluded: {reason}"));
        }
    }
}

/// Notes on a company missing from the PSA's snapshot or not billable.
fn company_notes(company: Option<&PsaCompany>, notes: &mut Vec<String>) {
    match company {
        None => notes.push("company is not in the PSA's current snapshot (deleted?)".into()),
        Some(c) if !c.billable => notes.push(format!(
            "company is not billable: {}",
            c.not_billable_reason.as_deref().unwrap_or("")
        )),
        _ => {}
    }
}

/// The numbers of a line finding, and what its usage counted, before the company, the
/// agreements and the notes are set.
fn comparison_finding(c: Comparison, u: Option<&PairUsage>, services: Vec<String>) -> Finding {
    let (basis, snapshots) = basis_of(u);
    let positive = |n: Decimal| Some(n).filter(|n| *n > Decimal::ZERO);
    Finding {
        kind: c.kind,
        vendor_connection: u
            .map(|u| u.vendors.iter().cloned().collect::<Vec<_>>().join(","))
            .filter(|s| !s.is_empty()),
        services,
        accounts: u
            .map(|u| u.accounts.iter().cloned().collect())
            .unwrap_or_default(),
        billed: Some(c.billed.quantity),
        less_included: Some(c.billed.less_included),
        actual: Some(c.actual),
        difference: Some(c.target - c.billed.quantity),
        unit_price: c.unit_price,
        monthly_impact: c.monthly_impact,
        pending: u.and_then(|u| positive(u.pending)),
        inactive: u.and_then(|u| positive(u.inactive)),
        excluded: u.and_then(|u| positive(u.excluded)),
        excluded_by: u
            .map(|u| u.excluded_by.iter().map(|(r, n)| (r.clone(), *n)).collect())
            .unwrap_or_default(),
        contract_qty: c.contract_qty,
        basis,
        snapshots,
        ..blank()
    }
}

/// The basis `actual` was counted on (one name, or per service when they differ) and from
/// how many snapshots.
fn basis_of(u: Option<&PairUsage>) -> (String, usize) {
    match u {
        Some(u) if !u.bases.is_empty() => {
            let distinct: BTreeSet<Basis> = u.bases.values().copied().collect();
            let basis = if distinct.len() == 1 {
                u.bases.values().next().unwrap().as_str().to_string()
            } else {
                u.bases
                    .iter()
                    .map(|(s, b)| format!("{s}: {}", b.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (basis, u.snapshots.max(1))
        }
        _ => (Basis::Latest.as_str().to_string(), 1),
    }
}
