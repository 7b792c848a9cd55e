//! The reconcile engine: snapshots and mappings in, findings out. Pure: no I/O, no clock (the
//! caller passes `as_of`), so every rule is tested by a table below.
//!
//! The rules, in the order a billing manager would check them:
//! - every vendor account is mapped to a PSA company, marked "not billed", or reported as
//!   `unmapped_account`;
//! - every vendor service with usage on mapped accounts is mapped to a PSA product, marked "not
//!   billed", or reported as `unmapped_service`;
//! - for each (PSA company, product) that has usage or a billing line: billed quantity = the sum
//!   of `quantity` over lines in force at `as_of` (effective on or before it, not cancelled by it)
//!   on the company's active agreements, counting only lines billed to the customer; actual =
//!   the mapped services' counted units over the accounts mapped to the company;
//! - each item is classified per service by [`classify`], in this order: excluded (the first
//!   [`Rules::exclusions`] entry matching its account id or folded name, its name glob and/or
//!   the service; with its reason), pending approval (unless [`Rules::count_pending`]), inactive
//!   (last contact more than the service's or the global `inactive_after_days` days before
//!   `as_of`; an item with no last contact is never inactive), else counted. Only counted units
//!   are in actual; pending, inactive and excluded units are reported beside it (`pending`,
//!   `inactive`, `excluded`, `excluded_by` per reason, and a note each), never dropped
//!   silently. A service's units per item are 1 when its class and filters hold, or for a
//!   bundle the sum over its parts. An unmapped account matched by an account-only exclusion is
//!   excluded, not reported as `unmapped_account`;
//! - contract per `<psa connection>/<product>` ([`Contract`]): contract quantity =
//!   max(actual − included, 0), rounded (ceil by default, or none), then at least minimum; with
//!   a contract, difference = contract quantity − billed, and it stands for actual in the kind
//!   and the impact below; without, difference = actual − billed. `usage_no_billing` needs a
//!   positive target and no counted line; `billing_no_usage` a billed quantity and a zero target;
//! - money impact per month = (max(actual − less included, 0) − max(billed − less included, 0)) ×
//!   unit price ÷ months in the billing cycle. The unit price is that of the most recently
//!   effective line, or the catalog price when there is no line. Positive means revenue not being
//!   billed, negative means the client is charged for more than it uses.
//! - tolerance (materiality), for `under_billed` and `over_billed` only (never for
//!   `usage_no_billing` / `billing_no_usage`, which are categorical): with diff = actual − billed,
//!   an increase (diff > 0, the under-billed direction) is `within_tolerance` when
//!   diff ≤ increase_abs OR diff ≤ increase_pct ÷ 100 × billed; a decrease (diff < 0) is
//!   `within_tolerance` when |diff| ≤ decrease_abs OR |diff| ≤ decrease_pct ÷ 100 × billed.
//!   Percentages are in percent (10 = 10 %) of the billed quantity; 0 (the default) means no
//!   tolerance. The values used are, per key, the smallest over the services counted in the
//!   finding of that service's override (`<vendor connection>/<service key>`) or else the
//!   global value. A `within_tolerance` finding keeps its money impact, which is reported in
//!   `within_tolerance_monthly` (net, signed) and not in the under/over-billed totals;
//! - source health: a finding that depends on an unhealthy connection becomes `stale_source`
//!   with the connection's reason in `note` (followed by what the finding would have been) and
//!   no money impact (`monthly_impact` is empty; not in any total). A vendor-side finding
//!   depends on its vendor connection; a PSA-side finding depends on its PSA connection, on the
//!   vendor connections whose usage it counts, and on every vendor connection with a service
//!   mapped to its product (so a vendor that lost its devices cannot produce "billing, no
//!   usage" everywhere). Which connections are unhealthy is decided by the caller
//!   ([`crate::pipeline`]) and passed in [`Input::unhealthy`];
//! - order: by kind in [`FindingKind::ALL`] order (unmapped first, a mapping gap hides money;
//!   then stale sources; then under/over-billed, usage with no billing, billing with no usage;
//!   then within tolerance; matches last), within a kind by company name (case-insensitive),
//!   product, accounts, services, id.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{
    AccountMapping, BillCustomer, PsaAgreement, PsaLine, PsaSnapshot, ServiceDef, ServiceMapping,
};

mod explain;
mod rules;
mod usage;

pub use explain::{ExplainedItem, ExplainedLine, Explanation, explain};
pub use rules::{Contract, Exclusion, ItemStatus, Rounding, Rules, classify};
pub use usage::{ItemSpec, ItemTable, Row, Usage};

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
    /// Computed from a connection whose data is not trustworthy now (see the module header).
    StaleSource,
    /// A difference smaller than the configured tolerance.
    WithinTolerance,
    Match,
}

impl FindingKind {
    /// Every kind, in report order.
    pub const ALL: [FindingKind; 9] = [
        FindingKind::UnmappedAccount,
        FindingKind::UnmappedService,
        FindingKind::StaleSource,
        FindingKind::UnderBilled,
        FindingKind::OverBilled,
        FindingKind::UsageNoBilling,
        FindingKind::BillingNoUsage,
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
}

/// Money totals over a set of findings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Revenue per month not being billed (under-billed lines and usage with no line).
    pub under_billed_monthly: Decimal,
    /// Charges per month for more than is used (over-billed lines and lines with no usage).
    pub over_billed_monthly: Decimal,
    /// Discrepancies whose money impact is unknown (no price, unmapped, unknown billing cycle);
    /// `stale_source` findings are not counted here (their count is in `by_kind`).
    pub discrepancies_without_impact: usize,
    /// Net money impact per month of `within_tolerance` findings (positive = under-billed),
    /// which is in neither total above.
    #[serde(default)]
    pub within_tolerance_monthly: Decimal,
    pub by_kind: BTreeMap<String, usize>,
    /// Unmapped vendor accounts an account-wide `[[exclude]]` removed (they have no finding, so
    /// the report lists them here). Filled by the caller from [`excluded_accounts`].
    #[serde(default)]
    pub excluded_accounts: Vec<ExcludedAccount>,
}

/// A vendor account an `[[exclude]]` took out of reconciliation, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedAccount {
    pub vendor_connection: String,
    pub account_id: String,
    pub account: String,
    pub items: usize,
    pub reason: String,
}

/// The unmapped accounts that account-wide exclusions remove: the ones [`reconcile`] leaves out
/// of `unmapped_account` findings. (A mapped account's excluded items show in its findings.)
pub fn excluded_accounts(input: &Input) -> Vec<ExcludedAccount> {
    let mapped: std::collections::HashSet<(&str, &str)> = input
        .accounts
        .iter()
        .map(|m| (m.vendor_connection.as_str(), m.account_id.as_str()))
        .collect();
    let mut out = Vec::new();
    for v in &input.vendors {
        // Items per account, counted once and only when some account is excluded.
        let mut per_account: Option<HashMap<String, usize>> = None;
        for a in v.snapshot.accounts() {
            if mapped.contains(&(v.connection, a.id.as_str())) {
                continue;
            }
            if let Some(e) = input.rules.account_excluded(v.connection, &a.id, &a.name) {
                let per_account = per_account.get_or_insert_with(|| {
                    let mut n: HashMap<String, usize> = HashMap::new();
                    v.snapshot
                        .each_item(&mut |i| match n.get_mut(i.account_id()) {
                            Some(c) => *c += 1,
                            None => {
                                n.insert(i.account_id().to_string(), 1);
                            }
                        });
                    n
                });
                out.push(ExcludedAccount {
                    vendor_connection: v.connection.to_string(),
                    account_id: a.id.clone(),
                    account: a.name.clone(),
                    items: per_account.get(a.id.as_str()).copied().unwrap_or(0),
                    reason: e.reason.clone(),
                });
            }
        }
    }
    out
}

impl Totals {
    pub fn of(findings: &[Finding]) -> Totals {
        let mut t = Totals::default();
        for k in FindingKind::ALL {
            t.by_kind.insert(k.as_str().to_string(), 0);
        }
        for f in findings {
            *t.by_kind.entry(f.kind.as_str().to_string()).or_default() += 1;
            match f.kind {
                FindingKind::StaleSource => continue,
                FindingKind::WithinTolerance => {
                    t.within_tolerance_monthly += f.monthly_impact.unwrap_or_default();
                    continue;
                }
                _ => {}
            }
            match f.monthly_impact {
                Some(m) if m > Decimal::ZERO => t.under_billed_monthly += m,
                Some(m) if m < Decimal::ZERO => t.over_billed_monthly -= m,
                Some(_) => {}
                None if f.kind.is_discrepancy() => t.discrepancies_without_impact += 1,
                None => {}
            }
        }
        t
    }
}

/// One vendor connection's current snapshot and service definitions.
pub struct VendorInput<'a> {
    pub connection: &'a str,
    pub services: &'a [ServiceDef],
    /// A `VendorSnapshot` or the compact [`ItemTable`].
    pub snapshot: &'a dyn Usage,
}

/// How a service's billed count is taken from the snapshots of a billing period.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The as-of snapshot (the newest successful sync at `as_of`).
    #[default]
    Latest,
    /// The highest count in any snapshot of the period (high watermark).
    Peak,
    /// The mean count over the period's snapshots (rounded to 2 decimal places).
    Average,
    /// The newest snapshot inside the period.
    EndOfPeriod,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Latest => "latest",
            Basis::Peak => "peak",
            Basis::Average => "average",
            Basis::EndOfPeriod => "end-of-period",
        }
    }
}

/// The basis per `<vendor connection>/<service key>`, else the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bases {
    pub default: Basis,
    pub services: BTreeMap<String, Basis>,
}

impl Bases {
    pub fn for_service(&self, service: &str) -> Basis {
        self.services.get(service).copied().unwrap_or(self.default)
    }
}

/// The billing period's snapshots, for services counted on a basis other than `latest`.
pub struct PeriodInput<'a> {
    /// Per vendor connection: its successful snapshots that finished inside the period, up to
    /// `as_of`, with their finish times, oldest first.
    pub snapshots: BTreeMap<&'a str, Vec<(Timestamp, &'a dyn Usage)>>,
    pub bases: &'a Bases,
}

/// One PSA connection's current snapshot.
pub struct PsaInput<'a> {
    pub connection: &'a str,
    pub snapshot: &'a PsaSnapshot,
}

pub struct Input<'a> {
    pub as_of: Timestamp,
    pub vendors: Vec<VendorInput<'a>>,
    pub psas: Vec<PsaInput<'a>>,
    pub accounts: &'a [AccountMapping],
    pub services: &'a [ServiceMapping],
    pub tolerances: &'a Tolerances,
    /// Stale threshold, pending approval, exclusions, contract arithmetic.
    pub rules: &'a Rules,
    /// Unhealthy connections and why (`the last sync failed ...`); see the module header.
    pub unhealthy: &'a BTreeMap<String, String>,
    /// The billing period's snapshots and the count basis per service; `None` counts every
    /// service on the as-of snapshot (`latest`).
    pub period: Option<&'a PeriodInput<'a>>,
}

/// How far actual may be from billed before it is a discrepancy; all zero means exact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tolerance {
    /// Actual above billed (under-billed direction), in units.
    pub increase_abs: Decimal,
    /// Actual above billed, in percent of billed.
    pub increase_pct: Decimal,
    /// Actual below billed (over-billed direction), in units.
    pub decrease_abs: Decimal,
    /// Actual below billed, in percent of billed.
    pub decrease_pct: Decimal,
}

impl Tolerance {
    /// Whether `difference` (actual − billed) is small enough to be within tolerance.
    pub fn allows(&self, billed: Decimal, difference: Decimal) -> bool {
        let hundred = Decimal::ONE_HUNDRED;
        if difference > Decimal::ZERO {
            difference <= self.increase_abs || difference <= self.increase_pct / hundred * billed
        } else if difference < Decimal::ZERO {
            let d = -difference;
            d <= self.decrease_abs || d <= self.decrease_pct / hundred * billed
        } else {
            true
        }
    }

    /// Per key, the smaller of the two.
    fn min(&self, o: &Tolerance) -> Tolerance {
        Tolerance {
            increase_abs: self.increase_abs.min(o.increase_abs),
            increase_pct: self.increase_pct.min(o.increase_pct),
            decrease_abs: self.decrease_abs.min(o.decrease_abs),
            decrease_pct: self.decrease_pct.min(o.decrease_pct),
        }
    }
}

/// The global tolerance and complete per-service ones (the config fills in inherited keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tolerances {
    pub default: Tolerance,
    /// By `<vendor connection>/<service key>`.
    pub services: BTreeMap<String, Tolerance>,
}

impl Tolerances {
    /// The tolerance for a finding counting `services`: per key, the smallest of each
    /// service's own (override or global); the global one when there are no services.
    pub fn for_services(&self, services: &[String]) -> Tolerance {
        services
            .iter()
            .map(|s| self.services.get(s).unwrap_or(&self.default))
            .fold(None, |acc: Option<Tolerance>, t| {
                Some(acc.map_or_else(|| t.clone(), |a| a.min(t)))
            })
            .unwrap_or_else(|| self.default.clone())
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

/// Months per billing cycle, for cycle names ConnectWise and most PSAs use; `None` if unknown.
pub fn months_per_cycle(cycle: Option<&str>) -> Option<Decimal> {
    let Some(c) = cycle else {
        return Some(Decimal::ONE);
    };
    let c: String = c
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Some(match c.as_str() {
        "monthly" | "month" => Decimal::ONE,
        "quarterly" | "quarter" => Decimal::from(3),
        "semiannual" | "semiannually" | "biannual" | "biannually" | "halfyearly" => {
            Decimal::from(6)
        }
        "annual" | "annually" | "yearly" | "year" => Decimal::from(12),
        "biennial" | "biennially" => Decimal::from(24),
        "weekly" => Decimal::from(12) / Decimal::from(52),
        "biweekly" => Decimal::from(12) / Decimal::from(26),
        _ => return None,
    })
}

#[derive(Default)]
struct PairUsage {
    actual: Decimal,
    /// Per service counted: its basis; how many snapshots; notes on the per-snapshot counts.
    bases: BTreeMap<String, Basis>,
    snapshots: usize,
    basis_notes: Vec<String>,
    pending: Decimal,
    inactive: Decimal,
    excluded: Decimal,
    excluded_by: BTreeMap<String, Decimal>,
    services: BTreeSet<String>,
    accounts: BTreeSet<String>,
    vendors: BTreeSet<String>,
    /// Mapped accounts whose usage the sync could not read, as notes naming them.
    unreadable: BTreeSet<String>,
}

/// One account's items: (not pending, pending), and units per service index.
struct AccountTally {
    items: (u64, u64),
    services: Vec<Tally>,
}

/// Units of one service on one account, by what [`classify`] decided.
#[derive(Debug, Clone, Default)]
struct Tally {
    counted: Decimal,
    pending: Decimal,
    inactive: Decimal,
    excluded: Decimal,
    excluded_by: BTreeMap<String, Decimal>,
}

impl Tally {
    fn add(&mut self, status: &ItemStatus, w: Decimal) {
        match status {
            ItemStatus::Counted => self.counted += w,
            ItemStatus::Pending => self.pending += w,
            ItemStatus::Inactive { .. } => self.inactive += w,
            ItemStatus::Excluded { reason } => {
                self.excluded += w;
                *self.excluded_by.entry(reason.clone()).or_default() += w;
            }
        }
    }

    fn any(&self) -> bool {
        self.counted + self.pending + self.inactive + self.excluded > Decimal::ZERO
    }
}

/// Computes every finding, sorted for the report: mapping gaps first, then by company.
pub fn findings(input: &Input) -> Vec<Finding> {
    let mut findings = Vec::new();
    let account_map: HashMap<(&str, &str), &AccountMapping> = input
        .accounts
        .iter()
        .map(|m| ((m.vendor_connection.as_str(), m.account_id.as_str()), m))
        .collect();
    let service_map: HashMap<(&str, &str), &ServiceMapping> = input
        .services
        .iter()
        .map(|m| ((m.vendor_connection.as_str(), m.service_key.as_str()), m))
        .collect();

    // (psa connection, company id, product) → usage counted for it.
    let mut usage: BTreeMap<(String, String, String), PairUsage> = BTreeMap::new();
    // (psa connection, product) pairs some service maps to → the vendor connections mapping.
    let mut mapped_products: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();

    for v in &input.vendors {
        let labels: Vec<String> = v
            .services
            .iter()
            .map(|s| format!("{}/{}", v.connection, s.key))
            .collect();
        let account_names: HashMap<&str, &str> = v
            .snapshot
            .accounts()
            .iter()
            .map(|a| (a.id.as_str(), a.name.as_str()))
            .collect();
        // Per account: items (not pending, pending), and per service units by status. Keyed by
        // an owned id so one lookup per item serves both.
        let mut per_account: HashMap<String, AccountTally> = HashMap::new();
        v.snapshot.each_item(&mut |item| {
            let account_id = item.account_id();
            if !per_account.contains_key(account_id) {
                per_account.insert(
                    account_id.to_string(),
                    AccountTally {
                        items: (0, 0),
                        services: vec![Tally::default(); v.services.len()],
                    },
                );
            }
            let per = per_account.get_mut(account_id).expect("inserted above");
            if item.pending_approval() {
                per.items.1 += 1
            } else {
                per.items.0 += 1
            }
            let account_name = account_names.get(account_id).copied().unwrap_or("");
            for (si, s) in v.services.iter().enumerate() {
                let w = s.weight(item);
                if w.is_zero() {
                    continue;
                }
                let status = classify(
                    item,
                    account_name,
                    v.connection,
                    &labels[si],
                    input.rules,
                    input.as_of,
                );
                per.services[si].add(&status, w);
            }
        });
        let tally = |account: &str, si: usize| -> Option<&Tally> {
            per_account.get(account).map(|a| &a.services[si])
        };

        // The period's snapshots, counted (each classified at its own time), for the services
        // on a basis other than latest: per snapshot, (account, service index) → counted units.
        let bases = input.period.map(|p| p.bases);
        let any_period_basis =
            bases.is_some_and(|b| labels.iter().any(|l| b.for_service(l) != Basis::Latest));
        let history: Vec<(Timestamp, CountedUnits)> = match input.period {
            Some(p) if any_period_basis => p
                .snapshots
                .get(v.connection)
                .map(|snaps| {
                    snaps
                        .iter()
                        .map(|(at, snap)| (*at, counted_units(v, &labels, *snap, input.rules, *at)))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };

        let mut mapped_accounts = Vec::new();
        for account in v.snapshot.accounts() {
            match account_map.get(&(v.connection, account.id.as_str())) {
                None if input
                    .rules
                    .account_excluded(v.connection, &account.id, &account.name)
                    .is_some() => {}
                None => {
                    let (n, pending) = per_account
                        .get(account.id.as_str())
                        .map(|a| a.items)
                        .unwrap_or_default();
                    findings.push(Finding {
                        id: finding_id(&["account", v.connection, &account.id]),
                        kind: FindingKind::UnmappedAccount,
                        vendor_connection: Some(v.connection.to_string()),
                        accounts: vec![account.name.clone()],
                        actual: Some(Decimal::from(n)),
                        note: format!(
                            "{n} item(s){} not counted for any company; map it: reconcile map account {} \"{}\" --to <company>",
                            pending_note(pending),
                            v.connection,
                            account.name
                        ),
                        ..blank()
                    });
                }
                Some(m) => {
                    if let Some(target) = &m.target {
                        mapped_accounts.push((account, target));
                    }
                }
            }
        }

        for (si, service) in v.services.iter().enumerate() {
            let service_label = format!("{}/{}", v.connection, service.key);
            let total: Decimal = mapped_accounts
                .iter()
                .map(|(a, _)| {
                    tally(a.id.as_str(), si)
                        .map(|c| c.counted)
                        .unwrap_or_default()
                })
                .sum();
            match service_map.get(&(v.connection, service.key.as_str())) {
                None => {
                    if total > Decimal::ZERO {
                        let total = total.normalize();
                        findings.push(Finding {
                            id: finding_id(&["service", v.connection, &service.key]),
                            kind: FindingKind::UnmappedService,
                            vendor_connection: Some(v.connection.to_string()),
                            services: vec![service_label.clone()],
                            actual: Some(total),
                            note: format!(
                                "{} ({total} across mapped accounts) is not mapped to a product; map it: reconcile map service {} {} --to <product identifier> (or --not-billed)",
                                service.name, v.connection, service.key
                            ),
                            ..blank()
                        });
                    }
                }
                Some(ServiceMapping { target: None, .. }) => {}
                Some(ServiceMapping {
                    target: Some(p), ..
                }) => {
                    mapped_products
                        .entry((p.connection.clone(), p.product_identifier.clone()))
                        .or_default()
                        .insert(v.connection.to_string());
                    let basis = bases
                        .map(|b| b.for_service(&service_label))
                        .unwrap_or_default();
                    // Company → the mapped account ids counted for it.
                    let mut per_company: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                    for (account, company) in &mapped_accounts {
                        if company.connection != p.connection {
                            continue;
                        }
                        let t = tally(account.id.as_str(), si).cloned().unwrap_or_default();
                        let u = usage
                            .entry((
                                company.connection.clone(),
                                company.company_id.clone(),
                                p.product_identifier.clone(),
                            ))
                            .or_default();
                        per_company
                            .entry(company.company_id.as_str())
                            .or_default()
                            .push(account.id.as_str());
                        if basis == Basis::Latest || history.is_empty() {
                            u.actual += t.counted;
                        }
                        u.pending += t.pending;
                        u.inactive += t.inactive;
                        u.excluded += t.excluded;
                        for (r, n) in &t.excluded_by {
                            *u.excluded_by.entry(r.clone()).or_default() += n;
                        }
                        u.services.insert(service_label.clone());
                        if let Some(why) = v.snapshot.unreadable().get(&account.id) {
                            u.unreadable.insert(format!(
                                "`{}` could not read {}: {why}",
                                v.connection, account.name
                            ));
                        }
                        if t.any() {
                            u.accounts.insert(account.name.clone());
                        }
                        u.vendors.insert(v.connection.to_string());
                        u.bases.insert(service_label.clone(), basis);
                        u.snapshots = u.snapshots.max(if basis == Basis::Latest {
                            1
                        } else {
                            history.len().max(1)
                        });
                    }
                    if basis == Basis::Latest {
                        continue;
                    }
                    for (company_id, accounts) in per_company {
                        let u = usage
                            .get_mut(&(
                                p.connection.clone(),
                                company_id.to_string(),
                                p.product_identifier.clone(),
                            ))
                            .expect("entered above");
                        if history.is_empty() {
                            u.basis_notes.push(format!(
                                "{service_label} ({}): no snapshot inside the billing period, so the as-of snapshot was used",
                                basis.as_str()
                            ));
                            continue;
                        }
                        let per_snapshot: Vec<(Timestamp, Decimal)> = history
                            .iter()
                            .map(|(at, counts)| {
                                let n: Decimal = accounts
                                    .iter()
                                    .map(|a| counts.get(*a).map(|c| c[si]).unwrap_or_default())
                                    .sum();
                                (*at, n)
                            })
                            .collect();
                        let quantity = aggregate(basis, &per_snapshot);
                        u.actual += quantity;
                        u.basis_notes.push(format!(
                            "{service_label} {} of {} snapshot(s) = {}: {}",
                            basis.as_str(),
                            per_snapshot.len(),
                            quantity.normalize(),
                            per_snapshot
                                .iter()
                                .map(|(at, n)| format!("{n} at {at}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
            }
        }
    }

    for f in &mut findings {
        // Vendor-side findings so far: they depend on their vendor connection only.
        let deps: BTreeSet<String> = f.vendor_connection.iter().cloned().collect();
        mark_stale(f, &deps, input.unhealthy);
    }
    for psa in &input.psas {
        findings.extend(psa_findings(psa, input, &mapped_products, &usage));
    }

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
    findings
}

/// Counted units per account id, by service index, of one snapshot.
type CountedUnits = HashMap<String, Vec<Decimal>>;

/// The counted units per account id and service index of one snapshot, classified at `at`.
fn counted_units(
    v: &VendorInput,
    labels: &[String],
    snap: &dyn Usage,
    rules: &Rules,
    at: Timestamp,
) -> CountedUnits {
    let names: HashMap<&str, &str> = snap
        .accounts()
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let mut out = CountedUnits::new();
    snap.each_item(&mut |item| {
        let account_name = names.get(item.account_id()).copied().unwrap_or("");
        for (si, s) in v.services.iter().enumerate() {
            let w = s.weight(item);
            if w.is_zero() {
                continue;
            }
            if classify(item, account_name, v.connection, &labels[si], rules, at)
                == ItemStatus::Counted
            {
                if !out.contains_key(item.account_id()) {
                    out.insert(
                        item.account_id().to_string(),
                        vec![Decimal::ZERO; v.services.len()],
                    );
                }
                out.get_mut(item.account_id()).expect("inserted above")[si] += w;
            }
        }
    });
    out
}

/// One service's quantity for one (company, product) from its per-snapshot counts (oldest
/// first, not empty): peak = the maximum, average = the mean rounded to 2 places,
/// end-of-period = the newest; latest is not aggregated (the newest is returned).
pub fn aggregate(basis: Basis, per_snapshot: &[(Timestamp, Decimal)]) -> Decimal {
    let counts = per_snapshot.iter().map(|(_, n)| *n);
    match basis {
        Basis::Peak => counts.max().unwrap_or_default(),
        Basis::Average if per_snapshot.is_empty() => Decimal::ZERO,
        Basis::Average => (counts.sum::<Decimal>() / Decimal::from(per_snapshot.len())).round_dp(2),
        Basis::EndOfPeriod | Basis::Latest => {
            per_snapshot.last().map(|(_, n)| *n).unwrap_or_default()
        }
    }
}

/// Turns `f` into a `stale_source` finding when a connection it depends on is unhealthy.
fn mark_stale(f: &mut Finding, deps: &BTreeSet<String>, unhealthy: &BTreeMap<String, String>) {
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
fn mark_stale_because(f: &mut Finding, reasons: Vec<String>) {
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
    f.note = note;
}

fn lower(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").to_lowercase()
}

fn pending_note(pending: u64) -> String {
    if pending > 0 {
        format!(" (+{pending} pending approval, not billable)")
    } else {
        String::new()
    }
}

fn blank() -> Finding {
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
    }
}

/// Why a billing line is not summed into the billed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineSkip {
    AgreementNotActive,
    NotInForce,
    NotBillable,
}

impl LineSkip {
    fn as_str(self) -> &'static str {
        match self {
            LineSkip::AgreementNotActive => "agreement not active",
            LineSkip::NotInForce => "cancelled or not yet effective",
            LineSkip::NotBillable => "not billed to the customer (DoNotBill/NoCharge)",
        }
    }
}

/// Why a line is not counted at `as_of`, or `None` when it is.
fn line_status(
    l: &PsaLine,
    agreements: &HashMap<&str, &PsaAgreement>,
    as_of: Timestamp,
) -> Option<LineSkip> {
    let agreement_active = agreements
        .get(l.agreement_id.as_str())
        .is_some_and(|a| a.is_active_at(as_of));
    if !agreement_active {
        Some(LineSkip::AgreementNotActive)
    } else if !l.is_active_at(as_of) {
        Some(LineSkip::NotInForce)
    } else if l.bill_customer != BillCustomer::Billable {
        Some(LineSkip::NotBillable)
    } else {
        None
    }
}

fn psa_findings(
    psa: &PsaInput,
    input: &Input,
    mapped_products: &BTreeMap<(String, String), BTreeSet<String>>,
    usage: &BTreeMap<(String, String, String), PairUsage>,
) -> Vec<Finding> {
    let snap = psa.snapshot;
    let conn = psa.connection;
    let companies: HashMap<&str, &crate::model::PsaCompany> =
        snap.companies.iter().map(|c| (c.id.as_str(), c)).collect();
    let agreements: HashMap<&str, &PsaAgreement> =
        snap.agreements.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut catalog: HashMap<&str, &crate::model::PsaProduct> = HashMap::new();
    for p in snap.products.iter().filter(|p| !p.inactive) {
        catalog.entry(p.identifier.as_str()).or_insert(p);
    }
    let mapped_company_names: HashMap<&str, &str> = input
        .accounts
        .iter()
        .filter_map(|m| m.target.as_ref())
        .filter(|t| t.connection == conn)
        .map(|t| (t.company_id.as_str(), t.company_name.as_str()))
        .collect();

    // (company, product) → the lines on it, for products some service maps to.
    let mut lines: BTreeMap<(String, String), Vec<&PsaLine>> = BTreeMap::new();
    for l in &snap.lines {
        if mapped_products.contains_key(&(conn.to_string(), l.product_identifier.clone())) {
            lines
                .entry((l.company_id.clone(), l.product_identifier.clone()))
                .or_default()
                .push(l);
        }
    }
    let mut pairs: BTreeSet<(String, String)> = lines.keys().cloned().collect();
    for ((c, company, product), u) in usage {
        if c == conn
            && (u.actual > Decimal::ZERO || u.pending + u.inactive + u.excluded > Decimal::ZERO)
        {
            pairs.insert((company.clone(), product.clone()));
        }
    }

    let mut out = Vec::new();
    for (company_id, product) in pairs {
        let company = companies.get(company_id.as_str());
        // Lines on non-billable companies nobody maps to are not our business.
        if company.is_some_and(|c| !c.billable)
            && !mapped_company_names.contains_key(company_id.as_str())
        {
            continue;
        }
        let u = usage.get(&(conn.to_string(), company_id.clone(), product.clone()));
        let all_lines = lines
            .get(&(company_id.clone(), product.clone()))
            .cloned()
            .unwrap_or_default();
        let mut notes = Vec::new();
        let mut counted: Vec<&PsaLine> = Vec::new();
        let (mut not_in_force, mut not_billable, mut inactive_agreement) = (0, 0, 0);
        for l in all_lines {
            match line_status(l, &agreements, input.as_of) {
                Some(LineSkip::AgreementNotActive) => inactive_agreement += 1,
                Some(LineSkip::NotInForce) => not_in_force += 1,
                Some(LineSkip::NotBillable) => not_billable += 1,
                None => counted.push(l),
            }
        }
        if not_in_force > 0 {
            notes.push(format!(
                "{not_in_force} line(s) cancelled or not yet effective, not counted"
            ));
        }
        if inactive_agreement > 0 {
            notes.push(format!(
                "{inactive_agreement} line(s) on agreements not active, not counted"
            ));
        }
        if not_billable > 0 {
            notes.push(format!(
                "{not_billable} line(s) marked DoNotBill/NoCharge, not counted"
            ));
        }
        let billed: Decimal = counted.iter().map(|l| l.quantity).sum();
        let less_included: Decimal = counted.iter().map(|l| l.less_included).sum();
        let actual = u.map(|u| u.actual).unwrap_or_default();
        if let Some(u) = u {
            notes.extend(u.basis_notes.iter().cloned());
        }
        let (basis, snapshots) = match u {
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
        };
        if let Some(p) = u.map(|u| u.pending).filter(|p| *p > Decimal::ZERO) {
            notes.push(format!("{p} item(s) pending approval, not counted"));
        }
        let services: Vec<String> = u
            .map(|u| u.services.iter().cloned().collect())
            .unwrap_or_default();
        if let Some(n) = u.map(|u| u.inactive).filter(|n| *n > Decimal::ZERO) {
            let days: BTreeSet<String> = services
                .iter()
                .filter_map(|s| input.rules.inactive_after(s))
                .map(|d| d.to_string())
                .collect();
            notes.push(format!(
                "{n} item(s) inactive (no contact for more than {} days), not counted",
                days.into_iter().collect::<Vec<_>>().join("/")
            ));
        }
        if let Some(u) = u.filter(|u| u.excluded > Decimal::ZERO) {
            for (reason, n) in &u.excluded_by {
                notes.push(format!("{n} item(s) excluded: {reason}"));
            }
        }
        let contract = input.rules.contracts.get(&format!("{conn}/{product}"));
        let contract_qty = contract.map(|c| c.billable(actual));
        let mut target = contract_qty.unwrap_or(actual);
        if snap.whole_units && target != target.ceil() {
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
        let difference = target - billed;
        let mut kind = if counted.is_empty() && target > Decimal::ZERO {
            FindingKind::UsageNoBilling
        } else if billed > Decimal::ZERO && target == Decimal::ZERO {
            FindingKind::BillingNoUsage
        } else if difference > Decimal::ZERO {
            FindingKind::UnderBilled
        } else if difference < Decimal::ZERO {
            FindingKind::OverBilled
        } else {
            FindingKind::Match
        };
        if matches!(kind, FindingKind::UnderBilled | FindingKind::OverBilled) {
            let t = input.tolerances.for_services(&services);
            if t.allows(billed, difference) {
                kind = FindingKind::WithinTolerance;
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
            }
        }

        // Price: the line most recently in force, else the catalog.
        let price_line = counted
            .iter()
            .max_by(|a, b| a.effective.cmp(&b.effective).then(a.id.cmp(&b.id)));
        let (unit_price, cycle) = match price_line {
            Some(l) => {
                let prices: BTreeSet<Decimal> =
                    counted.iter().map(|l| l.unit_price.normalize()).collect();
                if prices.len() > 1 {
                    notes.push(format!(
                        "lines at {} prices; impact uses {} (line {})",
                        prices.len(),
                        l.unit_price,
                        l.id
                    ));
                }
                (
                    Some(l.unit_price),
                    agreements
                        .get(l.agreement_id.as_str())
                        .and_then(|a| a.billing_cycle.clone()),
                )
            }
            None => match catalog.get(product.as_str()).and_then(|p| p.price) {
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
            },
        };
        let monthly_impact = unit_price.and_then(|price| {
            let chargeable = |q: Decimal| (q - less_included).max(Decimal::ZERO);
            let per_cycle = (chargeable(target) - chargeable(billed)) * price;
            match months_per_cycle(cycle.as_deref()) {
                Some(m) => Some((per_cycle / m).round_dp(2)),
                None => {
                    notes.push(format!(
                        "billing cycle `{}` is not one this tool converts to months; impact per cycle is {}",
                        cycle.as_deref().unwrap_or_default(),
                        per_cycle.round_dp(2)
                    ));
                    None
                }
            }
        });

        let company_name = company.map(|c| c.name.clone()).or_else(|| {
            mapped_company_names
                .get(company_id.as_str())
                .map(|s| s.to_string())
        });
        match company {
            None => notes.push("company is not in the PSA's current snapshot (deleted?)".into()),
            Some(c) if !c.billable => notes.push(format!(
                "company is not billable: {}",
                c.not_billable_reason.as_deref().unwrap_or("")
            )),
            _ => {}
        }
        let mut agreement_names: Vec<String> = counted
            .iter()
            .filter_map(|l| {
                agreements
                    .get(l.agreement_id.as_str())
                    .map(|a| a.name.clone())
            })
            .collect();
        agreement_names.sort();
        agreement_names.dedup();

        let mut deps: BTreeSet<String> = u.map(|u| u.vendors.clone()).unwrap_or_default();
        if let Some(v) = mapped_products.get(&(conn.to_string(), product.clone())) {
            deps.extend(v.iter().cloned());
        }
        deps.insert(conn.to_string());
        let mut finding = Finding {
            id: finding_id(&["line", conn, &company_id, &product]),
            kind,
            psa_connection: Some(conn.to_string()),
            company_id: Some(company_id.clone()),
            company: company_name,
            product: Some(product.clone()),
            vendor_connection: u
                .map(|u| u.vendors.iter().cloned().collect::<Vec<_>>().join(","))
                .filter(|s| !s.is_empty()),
            services,
            accounts: u
                .map(|u| u.accounts.iter().cloned().collect())
                .unwrap_or_default(),
            billed: Some(billed),
            less_included: Some(less_included),
            actual: Some(actual),
            difference: Some(difference),
            unit_price,
            monthly_impact,
            agreements: agreement_names,
            note: notes.join("; "),
            pending: u.map(|u| u.pending).filter(|n| *n > Decimal::ZERO),
            inactive: u.map(|u| u.inactive).filter(|n| *n > Decimal::ZERO),
            excluded: u.map(|u| u.excluded).filter(|n| *n > Decimal::ZERO),
            excluded_by: u
                .map(|u| u.excluded_by.iter().map(|(r, n)| (r.clone(), *n)).collect())
                .unwrap_or_default(),
            contract_qty,
            basis,
            snapshots,
        };
        mark_stale(&mut finding, &deps, input.unhealthy);
        if finding.kind != FindingKind::StaleSource
            && let Some(u) = u
        {
            mark_stale_because(&mut finding, u.unreadable.iter().cloned().collect());
        }
        out.push(finding);
    }
    out
}

#[cfg(test)]
mod tests;
