//! Counting usage: each vendor item weighed per service and classified ([`classify`]), tallied
//! per account, then summed per (PSA company, product) over the accounts and services mapped
//! to it: on the as-of snapshot, or for a service on another [`Basis`] aggregated over the
//! billing period's snapshots.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::cost::{CostTally, PairCost};
use super::rules::counted_without_exclusions;
use super::{Bases, Basis, Input, ItemStatus, Rules, Usage, VendorInput, classify};
use crate::model::{CompanyTarget, ProductTarget, VendorAccount};

/// (PSA connection, company id, product).
pub(super) type PairKey = (String, String, String);

/// What the vendor side counted, for the PSA side to compare with the billing lines.
#[derive(Default)]
pub(super) struct Counted {
    /// Usage counted per (PSA connection, company id, product).
    pub usage: BTreeMap<PairKey, PairUsage>,
    /// (PSA connection, product) pairs some service maps to → the vendor connections mapping.
    pub mapped_products: BTreeMap<(String, String), BTreeSet<String>>,
}

/// The usage counted for one (PSA connection, company, product).
#[derive(Default)]
pub(super) struct PairUsage {
    pub actual: Decimal,
    /// Per service counted: its basis; how many snapshots; notes on the per-snapshot counts.
    pub bases: BTreeMap<String, Basis>,
    pub snapshots: usize,
    pub basis_notes: Vec<String>,
    pub pending: Decimal,
    pub inactive: Decimal,
    pub excluded: Decimal,
    pub excluded_by: BTreeMap<String, Decimal>,
    pub services: BTreeSet<String>,
    pub accounts: BTreeSet<String>,
    pub vendors: BTreeSet<String>,
    /// Mapped accounts whose usage the sync could not read, as notes naming them.
    pub unreadable: BTreeSet<String>,
    /// Items of a class the connector does not know (or that had none), which a service that
    /// counts by class therefore did not count: said in the finding, never silent.
    pub unclassified: u64,
    /// What the units counted on the as-of snapshot cost.
    pub cost: PairCost,
}

impl PairUsage {
    /// Adds an account's units of one service beside the count: pending, inactive, excluded;
    /// the counted units too when `counted` (the service is counted on the as-of snapshot).
    fn add(&mut self, t: &Tally, counted: bool) {
        if counted {
            self.actual += t.counted;
        }
        self.unclassified += t.unclassified;
        self.pending += t.pending;
        self.inactive += t.inactive;
        self.excluded += t.excluded;
        for (r, n) in &t.excluded_by {
            *self.excluded_by.entry(r.clone()).or_default() += n;
        }
    }
}

/// One account's items: (not pending, pending), and units per service index.
struct AccountTally {
    items: (u64, u64),
    services: Vec<Tally>,
}

/// Units of one service on one account, by what [`classify`] decided.
#[derive(Debug, Clone, Default)]
pub(super) struct Tally {
    pub counted: Decimal,
    pending: Decimal,
    inactive: Decimal,
    excluded: Decimal,
    excluded_by: BTreeMap<String, Decimal>,
    /// Items flagged `unknown_class` that this service, counting by class, left out.
    unclassified: u64,
    /// What the counted units cost.
    cost: CostTally,
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

/// Counted units per account id, by service index, of one snapshot.
type CountedUnits = HashMap<String, Vec<Decimal>>;

/// One vendor connection's items, tallied: per account on the as-of snapshot, and per
/// snapshot of the billing period for the services counted on another basis.
pub(super) struct VendorTally {
    /// `<vendor connection>/<service key>` by service index.
    pub labels: Vec<String>,
    per_account: HashMap<String, AccountTally>,
    /// By service index: whether any counted unit of it, on any account, has a cost.
    pub costed: Vec<bool>,
    /// The period's snapshots (oldest first) with their counted units; empty when there is no
    /// period, no snapshot in it, or every service is counted on `latest`.
    history: Vec<(Timestamp, CountedUnits)>,
    /// `history`'s times as text, written once for every note that lists them.
    history_at: Vec<String>,
}

impl VendorTally {
    pub fn new(v: &VendorInput, input: &Input) -> VendorTally {
        let labels = service_labels(v);
        // The as-of tally beside the period's snapshots: each is a pass over every item.
        let (per_account, history) = std::thread::scope(|scope| {
            let as_of = scope.spawn(|| tally_accounts(v, &labels, input.rules, input.as_of));
            let history = period_history(v, &labels, input, false);
            (
                as_of
                    .join()
                    .expect("tallying the as-of snapshot does not panic"),
                history,
            )
        });
        let history_at = history.iter().map(|(at, _)| at.to_string()).collect();
        let costed = (0..labels.len())
            .map(|si| {
                per_account.values().any(|a| {
                    let c = &a.services[si].cost;
                    c.units > Decimal::ZERO || !c.other_currencies.is_empty()
                })
            })
            .collect();
        VendorTally {
            labels,
            per_account,
            costed,
            history,
            history_at,
        }
    }

    /// An account's items on the as-of snapshot: (not pending, pending).
    pub fn items(&self, account: &str) -> (u64, u64) {
        self.per_account
            .get(account)
            .map(|a| a.items)
            .unwrap_or_default()
    }

    /// An account's units of service `si` on the as-of snapshot.
    pub fn service(&self, account: &str, si: usize) -> Option<&Tally> {
        self.per_account.get(account).map(|a| &a.services[si])
    }
}

/// Per account: its items (not pending, pending), and per service its units by status at
/// `as_of`.
fn tally_accounts(
    v: &VendorInput,
    labels: &[String],
    rules: &Rules,
    as_of: Timestamp,
) -> HashMap<String, AccountTally> {
    let account_names: HashMap<&str, &str> = v
        .snapshot
        .accounts()
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    // Keyed by an owned id so one lookup per item serves both.
    let mut per_account: HashMap<String, AccountTally> = HashMap::new();
    let rates: Vec<_> = labels.iter().map(|l| rules.costs.get(l)).collect();
    let currency = rules.margin.currency.as_str();
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
                if s.classes.is_some() && item.attr("unknown_class") == Some("true") {
                    per.services[si].unclassified += 1;
                }
                continue;
            }
            let status = classify(item, account_name, v.connection, &labels[si], rules, as_of);
            if status == ItemStatus::Counted {
                per.services[si].cost.add(item, w, rates[si], currency);
            }
            per.services[si].add(&status, w);
        }
    });
    per_account
}

/// `<vendor connection>/<service key>` of each of `v`'s services, by service index.
fn service_labels(v: &VendorInput) -> Vec<String> {
    v.services
        .iter()
        .map(|s| format!("{}/{}", v.connection, s.key))
        .collect()
}

/// The period's snapshots, each counted (and classified at its own time), when some service
/// of `v` is counted on a basis other than latest, or `always`; else none.
fn period_history(
    v: &VendorInput,
    labels: &[String],
    input: &Input,
    always: bool,
) -> Vec<(Timestamp, CountedUnits)> {
    let wanted = |p: &super::PeriodInput| {
        always
            || labels
                .iter()
                .any(|l| p.bases.for_service(l) != Basis::Latest)
    };
    let snaps = match input.period {
        Some(p) if wanted(p) => match p.snapshots.get(v.connection) {
            Some(snaps) => snaps,
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let mut weights = Weights::default();
    for (_, snap) in snaps {
        weights.fill(v, *snap);
    }
    let weights = &weights;
    let count = |(at, snap): &(Timestamp, &dyn Usage)| {
        (
            *at,
            counted_units(v, labels, *snap, input.rules, *at, weights),
        )
    };
    // Each snapshot is counted on its own: side by side on the machine's cores.
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(snaps.len());
    if threads < 2 {
        return snaps.iter().map(count).collect();
    }
    let chunk = snaps.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = snaps
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(count).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("counting a snapshot does not panic"))
            .collect()
    })
}

/// Each service's weight of each item version of one shared table (see
/// [`Usage::each_version`]), worked out the first time a run shows the version: day to day
/// nearly every version is the same, and matching services (globs, slugs, quantities) is most
/// of what counting a snapshot costs.
#[derive(Default)]
struct Weights {
    table: Option<usize>,
    /// How many services each version is weighed for.
    services: usize,
    /// Whether every version of the table was worked out.
    complete: bool,
    /// Per version: whether it was worked out yet.
    seen: Vec<bool>,
    /// Per version and service (`version * services + service`), in one flat array read in
    /// order: [`ZERO`](Weights::ZERO), [`ONE`](Weights::ONE) (nearly every device) or
    /// [`OTHER`](Weights::OTHER), whose weight is then in `other` at the same place.
    kind: Vec<u8>,
    other: Vec<Decimal>,
    /// Per version, its account as a dense number (`u32::MAX` until looked up), so a
    /// snapshot's tally is indexed rather than hashed per item.
    account: Vec<u32>,
    /// Dense number → account id, and back.
    ids: Vec<String>,
    index: HashMap<String, u32>,
}

impl Weights {
    const ZERO: u8 = 0;
    const ONE: u8 = 1;
    const OTHER: u8 = 2;

    /// Works out what the versions of `snap`'s table not seen yet need (all of them, the first
    /// time), when it is a view of this table (the first view seen picks the table).
    fn fill(&mut self, v: &VendorInput, snap: &dyn Usage) {
        let Some(table) = snap.versions() else {
            return;
        };
        if *self.table.get_or_insert(table) != table || self.complete {
            return;
        }
        let n = v.services.len();
        self.services = n;
        // One pass over the whole table sees every version of every run.
        self.complete = true;
        snap.each_table_version(&mut |i, item| {
            if self.seen.len() <= i {
                self.seen.resize(i + 1, false);
                self.kind.resize((i + 1) * n, Self::ZERO);
                self.other.resize((i + 1) * n, Decimal::ZERO);
            }
            if !self.seen[i] {
                self.seen[i] = true;
                for (si, s) in v.services.iter().enumerate() {
                    let w = s.weight(item);
                    self.kind[i * n + si] = if w.is_zero() {
                        Self::ZERO
                    } else if w == Decimal::ONE {
                        Self::ONE
                    } else {
                        self.other[i * n + si] = w;
                        Self::OTHER
                    };
                }
                self.account_of(i, item.account_id());
            }
        });
    }

    fn account_of(&mut self, i: usize, id: &str) -> u32 {
        if self.account.len() <= i {
            self.account.resize(i + 1, u32::MAX);
        }
        if self.account[i] == u32::MAX {
            self.account[i] = match self.index.get(id) {
                Some(d) => *d,
                None => {
                    let d = self.ids.len() as u32;
                    self.ids.push(id.to_string());
                    self.index.insert(id.to_string(), d);
                    d
                }
            };
        }
        self.account[i]
    }
}

/// The counted units per account id and service index of one snapshot, classified at `at`:
/// through what `weights` worked out when the snapshot is a view of its table.
fn counted_units(
    v: &VendorInput,
    labels: &[String],
    snap: &dyn Usage,
    rules: &Rules,
    at: Timestamp,
    weights: &Weights,
) -> CountedUnits {
    if weights.table.is_none()
        || snap.versions() != weights.table
        || weights.services != v.services.len()
    {
        return counted_units_plain(v, labels, snap, rules, at);
    }
    let names: HashMap<&str, &str> = snap
        .accounts()
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let n = v.services.len();
    // Per dense account: its name in this snapshot (looked up once), its units, and apart
    // the units of weight 1 (nearly all), counted as integers.
    type Units<'a> = (&'a str, Vec<Decimal>, Vec<u64>);
    let mut dense: Vec<Option<Units>> = vec![None; weights.ids.len()];
    let mut missed = false;
    // Without exclusions (the usual case) an item's status needs neither its account's name
    // nor a lookup of the service's threshold per item.
    let plain = rules.exclusions.is_empty();
    let thresholds: Vec<Option<u32>> = labels.iter().map(|l| rules.inactive_after(l)).collect();
    snap.each_version(&mut |i, item| {
        let (Some(true), Some(&d)) = (weights.seen.get(i).copied(), weights.account.get(i)) else {
            missed = true;
            return;
        };
        let kinds = &weights.kind[i * n..(i + 1) * n];
        if kinds.iter().all(|k| *k == Weights::ZERO) {
            return;
        }
        let (account_name, units, ones) = dense[d as usize].get_or_insert_with(|| {
            (
                names.get(item.account_id()).copied().unwrap_or(""),
                vec![Decimal::ZERO; n],
                vec![0; n],
            )
        });
        for (si, &kind) in kinds.iter().enumerate() {
            if kind == Weights::ZERO {
                continue;
            }
            let counted = if plain {
                counted_without_exclusions(item, thresholds[si], rules.count_pending, at)
            } else {
                classify(item, account_name, v.connection, &labels[si], rules, at)
                    == ItemStatus::Counted
            };
            if counted {
                if kind == Weights::ONE {
                    ones[si] += 1;
                } else {
                    units[si] += weights.other[i * n + si];
                }
            }
        }
    });
    if missed {
        // A version `fill` did not see: never a partial count.
        return counted_units_plain(v, labels, snap, rules, at);
    }
    let mut out = CountedUnits::new();
    for (d, entry) in dense.into_iter().enumerate() {
        if let Some((_, mut units, ones)) = entry {
            for (u, n) in units.iter_mut().zip(ones) {
                *u += Decimal::from(n);
            }
            if units.iter().any(|u| !u.is_zero()) {
                out.insert(weights.ids[d].clone(), units);
            }
        }
    }
    out
}

/// [`counted_units`] item by item.
fn counted_units_plain(
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

/// One vendor service's counted units on one vendor account over a billing period, on every
/// basis: what `db prune` keeps forever of a period's records, whatever the mappings say.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCount {
    pub connection: String,
    pub account_id: String,
    /// The account's name on the as-of snapshot (empty when it lists none).
    pub account: String,
    /// The service key (`total-workstations`).
    pub service: String,
    /// On the as-of snapshot.
    pub latest: Decimal,
    pub peak: Decimal,
    pub average: Decimal,
    pub end_of_period: Decimal,
    /// The period's snapshots peak, average and end-of-period were taken from (1 without a
    /// period: then they are the as-of count).
    pub snapshots: usize,
}

/// Every vendor service's counted units per account ([`ServiceCount`]), in connection,
/// account id and service order, whatever the configured bases and mappings. Counted units
/// only: pending, inactive and excluded items are not. An account with no unit of a service
/// on any snapshot has no line for it.
pub fn service_counts(input: &Input) -> Vec<ServiceCount> {
    let mut out = Vec::new();
    for v in &input.vendors {
        let labels = service_labels(v);
        let as_of = tally_accounts(v, &labels, input.rules, input.as_of);
        // Every service's history, whatever its own basis.
        let history = period_history(v, &labels, input, true);
        let names: HashMap<&str, &str> = v
            .snapshot
            .accounts()
            .iter()
            .map(|a| (a.id.as_str(), a.name.as_str()))
            .collect();
        let accounts: BTreeSet<&str> = as_of
            .keys()
            .map(String::as_str)
            .chain(
                history
                    .iter()
                    .flat_map(|(_, u)| u.keys().map(String::as_str)),
            )
            .collect();
        for account in accounts {
            for (si, s) in v.services.iter().enumerate() {
                let latest = as_of
                    .get(account)
                    .map(|a| a.services[si].counted)
                    .unwrap_or_default();
                let per_snapshot: Vec<(Timestamp, Decimal)> = history
                    .iter()
                    .map(|(at, units)| (*at, units.get(account).map(|u| u[si]).unwrap_or_default()))
                    .collect();
                let on = |b: Basis| {
                    if per_snapshot.is_empty() {
                        latest
                    } else {
                        aggregate(b, &per_snapshot)
                    }
                };
                let line = ServiceCount {
                    connection: v.connection.to_string(),
                    account_id: account.to_string(),
                    account: names.get(account).copied().unwrap_or("").to_string(),
                    service: s.key.clone(),
                    latest,
                    peak: on(Basis::Peak),
                    average: on(Basis::Average),
                    end_of_period: on(Basis::EndOfPeriod),
                    snapshots: per_snapshot.len().max(1),
                };
                if [line.latest, line.peak, line.average, line.end_of_period]
                    .iter()
                    .any(|n| !n.is_zero())
                {
                    out.push(line);
                }
            }
        }
    }
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

/// A vendor service mapped to a PSA product, ready to be counted per company.
pub(super) struct MappedService<'a> {
    pub vendor: &'a VendorInput<'a>,
    /// Its index in the vendor's services.
    pub index: usize,
    pub product: &'a ProductTarget,
}

impl Counted {
    /// Counts service `s` for every company on its product's PSA connection that some of the
    /// vendor's `mapped_accounts` map to, and records that the vendor maps to the product.
    pub fn add_service(
        &mut self,
        s: &MappedService,
        tally: &VendorTally,
        mapped_accounts: &[(&VendorAccount, &CompanyTarget)],
        bases: Option<&Bases>,
    ) {
        let (v, p) = (s.vendor, s.product);
        self.mapped_products
            .entry((p.connection.clone(), p.product_identifier.clone()))
            .or_default()
            .insert(v.connection.to_string());
        let label = &tally.labels[s.index];
        let basis = bases.map(|b| b.for_service(label)).unwrap_or_default();
        let per_company = self.add_as_of(s, tally, mapped_accounts, basis);
        if basis == Basis::Latest {
            return;
        }
        for (company_id, accounts) in per_company {
            let key = (
                p.connection.clone(),
                company_id.to_string(),
                p.product_identifier.clone(),
            );
            let u = self.usage.get_mut(&key).expect("entered above");
            add_period_count(u, label, basis, tally, &accounts, s.index);
        }
    }

    /// Adds what the as-of snapshot says of service `s` on each mapped account to its
    /// company's usage (its counted units only on the `latest` basis, or when the period has
    /// no snapshot); returns the account ids counted per company.
    fn add_as_of<'m>(
        &mut self,
        s: &MappedService,
        tally: &VendorTally,
        mapped_accounts: &[(&'m VendorAccount, &'m CompanyTarget)],
        basis: Basis,
    ) -> BTreeMap<&'m str, Vec<&'m str>> {
        let (v, p) = (s.vendor, s.product);
        let label = &tally.labels[s.index];
        let snapshots = if basis == Basis::Latest {
            1
        } else {
            tally.history.len().max(1)
        };
        let mut per_company: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (account, company) in mapped_accounts {
            if company.connection != p.connection {
                continue;
            }
            let t = tally
                .service(account.id.as_str(), s.index)
                .cloned()
                .unwrap_or_default();
            let u = self
                .usage
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
            u.add(&t, basis == Basis::Latest || tally.history.is_empty());
            u.services.insert(label.clone());
            u.cost.add(label, &t.cost);
            if tally.costed[s.index] {
                u.cost.costed_elsewhere.insert(label.clone());
            }
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
            u.bases.insert(label.clone(), basis);
            u.snapshots = u.snapshots.max(snapshots);
        }
        per_company
    }
}

/// Adds service `si`'s count on `basis` over the period's snapshots, summed over one
/// company's `accounts`, to its usage, with a note showing the per-snapshot counts (or saying
/// the as-of snapshot was used, when the period has none).
fn add_period_count(
    u: &mut PairUsage,
    label: &str,
    basis: Basis,
    tally: &VendorTally,
    accounts: &[&str],
    si: usize,
) {
    let history = &tally.history;
    if history.is_empty() {
        u.basis_notes.push(format!(
            "{label} ({}): no snapshot inside the billing period, so the as-of snapshot was used",
            basis.as_str()
        ));
        return;
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
    // One string written in place: a period's report writes one such note per company and
    // service, each listing every snapshot.
    use std::fmt::Write as _;
    let mut note = String::with_capacity(64 + per_snapshot.len() * 32);
    let _ = write!(
        note,
        "{label} {} of {} snapshot(s) = {}: ",
        basis.as_str(),
        per_snapshot.len(),
        quantity.normalize()
    );
    for (k, ((_, n), at)) in per_snapshot.iter().zip(&tally.history_at).enumerate() {
        if k > 0 {
            note.push_str(", ");
        }
        let _ = write!(note, "{n} at {at}");
    }
    u.basis_notes.push(note);
}
