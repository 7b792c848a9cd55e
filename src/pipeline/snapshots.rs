//! Which stored snapshots a step works on: the [`Scope`] (current, `--as-of`, `--period`), and
//! [`Current`], the snapshots of every configured connection in that scope loaded from the
//! store with their health, history and the clock bound of findings computed from them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;

use crate::config::Config;
use crate::connectors::{ConnectorKind, Role};
use crate::engine::{Basis, ItemSpec, ItemTable, Rules, Usage};
use crate::mapping::PsaCompanies;
use crate::model::{PsaSnapshot, ServiceDef, VendorSnapshot};
use crate::period::{Period, parse_as_of};
use crate::store::{RunInfo, Store};

use super::health::source_health;

/// Which snapshots a reconcile uses: the current ones, those at a moment (`--as-of`), or those
/// of a billing period (`--period`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scope {
    Current,
    AsOf(Timestamp),
    Period(Period),
}

impl Scope {
    /// From the `--period` / `--as-of` flags (clap makes them exclusive).
    pub fn from_flags(config: &Config, period: Option<&str>, as_of: Option<&str>) -> Result<Scope> {
        Ok(match (period, as_of) {
            (Some(p), _) => Scope::Period(Period::parse(p, config.period.anchor_day)?),
            (None, Some(d)) => Scope::AsOf(parse_as_of(d)?),
            (None, None) => Scope::Current,
        })
    }

    /// The moment reconciled (`now`, `--as-of`, or the end of `--period` but at most `now`)
    /// and the billing period it is in.
    fn moment(self, anchor_day: i8, now: Timestamp) -> Result<(Timestamp, Period)> {
        Ok(match self {
            Scope::Current => (now, Period::containing(now, anchor_day)?),
            Scope::AsOf(t) => (t, Period::containing(t, anchor_day)?),
            Scope::Period(p) => {
                if p.start() > now {
                    bail!(
                        "the billing period {p} has not started yet (it starts {})",
                        p.start()
                    );
                }
                (p.last_instant().min(now), p)
            }
        })
    }

    /// The run whose snapshot stands for `name` at `as_of`: its current one (`None` when it
    /// never synced successfully), or for a past moment its newest successful sync finished
    /// by then, which must exist.
    fn run_of(self, store: &Store, name: &str, as_of: Timestamp) -> Result<Option<RunInfo>> {
        if self == Scope::Current {
            return store.current_run(name);
        }
        let run = store.ok_run_at(name, as_of)?;
        if run.is_none() {
            let oldest = store.ok_runs(name)?.into_iter().next();
            let pruned = match store.pruned_runs(name)? {
                0 => String::new(),
                n => format!(
                    " ({n} older sync(s) had their records pruned by `reconcile db prune`: [history] keep_months)"
                ),
            };
            bail!(
                "`{name}` has no successful sync at or before {as_of}: {}{pruned}",
                match oldest {
                    Some((t, _)) => format!(
                        "its oldest successful sync finished at {t}; reconcile a later date"
                    ),
                    None =>
                        format!("it has never synced successfully (run `reconcile sync {name}`)"),
                }
            );
        }
        Ok(run)
    }
}

/// The current snapshots of every configured connection, by role. Vendor snapshots are whole
/// [`VendorSnapshot`]s, or for reconciling the compact [`ItemTable`] (see
/// [`with_input`](super::input::with_input)).
pub struct Current<V = VendorSnapshot> {
    pub vendors: Vec<(String, ConnectorKind, i64, V)>,
    pub psas: Vec<(String, i64, PsaSnapshot)>,
    /// Configured connections that have never synced successfully.
    pub missing: Vec<String>,
    /// Connections whose current snapshot is not to be trusted, and why (see [`source_health`]).
    pub unhealthy: BTreeMap<String, String>,
    /// The moment reconciled: now, `--as-of`, or the end of `--period` (at most now).
    pub as_of: Timestamp,
    /// The billing period `as_of` is in (or `--period`).
    pub period: Period,
    /// Per vendor connection, when some service's basis is not `latest`: its successful
    /// snapshots that finished in the period up to `as_of`, oldest first, with their times.
    pub history: BTreeMap<String, Vec<(Timestamp, V)>>,
    /// When each connection's current snapshot was synced (when known), for the clock bound
    /// of [`Current::valid_until`].
    synced: BTreeMap<String, Timestamp>,
}

impl Current {
    pub fn load(config: &Config, store: &Store) -> Result<Current> {
        Current::load_at(config, store, Timestamp::now())
    }

    /// [`Current::load`] with the clock passed in (health depends on the time).
    pub fn load_at(config: &Config, store: &Store, now: Timestamp) -> Result<Current> {
        Current::load_scoped(config, store, Scope::Current, now)
    }

    /// The snapshots of `scope`. For `--as-of D` each connection's snapshot is its newest
    /// successful sync that finished at or before D (an error when it has none); for
    /// `--period P` the same at min(end of P, now). Health is judged at that moment.
    pub fn load_scoped(
        config: &Config,
        store: &Store,
        scope: Scope,
        now: Timestamp,
    ) -> Result<Current> {
        Current::load_with(
            config,
            store,
            scope,
            now,
            |store, _, _, run| store.load_vendor_snapshot(run),
            |store, _, _, runs| {
                runs.iter()
                    .map(|r| store.load_vendor_snapshot(*r))
                    .collect()
            },
        )
    }
}

impl Current<()> {
    /// The PSA snapshots, health and run ids of `scope`, without reading any usage record.
    pub fn load_psas(config: &Config, store: &Store, scope: Scope, now: Timestamp) -> Result<Self> {
        Current::load_with(
            config,
            store,
            scope,
            now,
            |_, _, _, _| Ok(()),
            |_, _, _, runs| Ok(vec![(); runs.len()]),
        )
    }
}

impl Current<ItemTable> {
    /// [`Current::load_scoped`] with the usage records in compact form, keeping what the
    /// services and rules read (everything, for `explain`).
    pub fn load_compact(
        config: &Config,
        store: &Store,
        scope: Scope,
        now: Timestamp,
        explain: bool,
    ) -> Result<Self> {
        Current::load_with(
            config,
            store,
            scope,
            now,
            |store, name, kind, run| {
                store.load_item_table(run, &item_spec(config, name, kind, explain))
            },
            // A period's snapshots in one pass over the item versions they share.
            |store, name, kind, runs| {
                store.load_item_tables(runs, &item_spec(config, name, kind, explain))
            },
        )
    }

    /// The first moment after `as_of` at which the clock alone could change the findings
    /// computed from this data: an item passing a stale threshold, a line or an agreement
    /// starting or ending, a connection's last sync growing older than `[health]
    /// max_age_hours` (already older: `as_of`, since the note counts the hours), a run's finish
    /// time (`finished`) being reached, the billing period ending. Each bound errs early: a
    /// result is recomputed sooner than needed, never shown after it changed.
    pub fn valid_until(&self, config: &Config, rules: &Rules, finished: &[Timestamp]) -> Timestamp {
        let as_of = self.as_of;
        let mut until = self.period.last_instant();
        let mut bound = |t: Timestamp| {
            if t > as_of && t < until {
                until = t;
            }
        };
        let thresholds: BTreeSet<i64> = rules
            .inactive_after_days
            .into_iter()
            .chain(
                rules
                    .service_inactive_after_days
                    .values()
                    .flatten()
                    .copied(),
            )
            .map(|d| i64::from(d) * 86_400)
            .collect();
        if !thresholds.is_empty() {
            let now_s = as_of.as_second();
            // An item turns inactive when as_of's whole seconds exceed last contact + threshold.
            let mut first = i64::MAX;
            let mut scan = |u: &dyn Usage| {
                u.each_item(&mut |i| {
                    if let Some(last) = i.last_contact() {
                        for t in &thresholds {
                            let flips = last.as_second().saturating_add(*t).saturating_add(1);
                            if flips > now_s && flips < first {
                                first = flips;
                            }
                        }
                    }
                })
            };
            for (_, _, _, t) in &self.vendors {
                scan(t);
            }
            if first != i64::MAX {
                match Timestamp::from_second(first) {
                    Ok(t) => bound(t),
                    Err(_) => bound(as_of),
                }
            }
        }
        for (_, _, snap) in &self.psas {
            for l in &snap.lines {
                l.effective
                    .into_iter()
                    .chain(l.cancelled)
                    .for_each(&mut bound);
            }
            for a in &snap.agreements {
                a.start.into_iter().chain(a.end).for_each(&mut bound);
            }
        }
        for t in finished {
            bound(*t);
        }
        let max_age_secs = config.health.max_age_hours * 3600.0;
        for synced in self.synced.values() {
            if !(max_age_secs.is_finite() && (0.0..1e11).contains(&max_age_secs)) {
                continue;
            }
            let stale_at = *synced + jiff::SignedDuration::from_secs(max_age_secs.floor() as i64);
            if stale_at <= as_of {
                return as_of;
            }
            bound(stale_at);
        }
        until
    }
}

/// What of each item `reconcile` keeps for a connection: the attributes its services (built-in,
/// custom, families) filter on or count, names when an exclusion or a service looks at them;
/// everything for `explain`.
fn item_spec(config: &Config, name: &str, kind: ConnectorKind, explain: bool) -> ItemSpec {
    let families = kind.families();
    let family_attrs = families
        .iter()
        .map(|f| (f.attr.to_string(), f.name_attr.map(str::to_string)))
        .collect();
    if explain {
        return ItemSpec::full(family_attrs);
    }
    fn reads(d: &ServiceDef, keys: &mut BTreeSet<String>, names: &mut bool) {
        let f = &d.filters;
        if f.os.is_some() {
            keys.insert("os".into());
        }
        if !f.roles.is_empty() {
            keys.insert("role".into());
        }
        if !f.tags.is_empty() {
            keys.insert("tags".into());
        }
        keys.extend(f.attrs.keys().cloned());
        keys.extend(f.attr_slug.iter().map(|(a, _)| a.clone()));
        keys.extend(d.quantity.iter().cloned());
        *names |= f.name_pattern.is_some();
        for part in &d.sum_of {
            reads(part, keys, names);
        }
    }
    // What a unit costs, where the vendor says: every finding's margin reads it.
    let mut keys: BTreeSet<String> = [
        crate::engine::UNIT_COST_ATTR.to_string(),
        crate::engine::COST_CURRENCY_ATTR.to_string(),
    ]
    .into();
    let mut names = config
        .engine_rules()
        .exclusions
        .iter()
        .any(|e| e.device_name.is_some());
    for d in config.services_seen(name, kind, std::iter::empty::<&VendorSnapshot>()) {
        reads(&d, &mut keys, &mut names);
    }
    for f in &families {
        keys.insert(f.attr.to_string());
        keys.extend(f.name_attr.map(str::to_string));
        keys.extend(f.quantity.map(str::to_string));
    }
    ItemSpec {
        names,
        ids: false,
        attrs: Some(keys),
        families: family_attrs,
    }
}

impl<V> Current<V> {
    /// The snapshots of `scope`, each vendor snapshot read by `load(store, connection, kind,
    /// run id)`, a period's by `load_many(store, connection, kind, run ids)`.
    fn load_with(
        config: &Config,
        store: &Store,
        scope: Scope,
        now: Timestamp,
        load: impl Fn(&Store, &str, ConnectorKind, i64) -> Result<V>,
        load_many: impl Fn(&Store, &str, ConnectorKind, &[i64]) -> Result<Vec<V>>,
    ) -> Result<Current<V>> {
        let (as_of, period) = scope.moment(config.period.anchor_day, now)?;
        let bases = config.bases();
        let needs_history =
            bases.default != Basis::Latest || bases.services.values().any(|b| *b != Basis::Latest);
        let mut cur = Current {
            vendors: Vec::new(),
            psas: Vec::new(),
            missing: Vec::new(),
            unhealthy: BTreeMap::new(),
            as_of,
            period,
            history: BTreeMap::new(),
            synced: BTreeMap::new(),
        };
        for (name, settings) in &config.connections {
            let kind = settings.kind();
            let Some(run) = scope.run_of(store, name, as_of)? else {
                // Nothing to reconcile from it, but no reason to hide the others' findings:
                // it is unhealthy, so whatever depends on it is `stale_source`, with why.
                let last_error = store
                    .latest_run(name)?
                    .and_then(|r| r.error)
                    .map(|e| format!(": its last sync failed: {e}"))
                    .unwrap_or_default();
                cur.unhealthy.insert(
                    name.clone(),
                    format!(
                        "no successful sync yet{last_error}; run `reconcile sync {name}` once it can"
                    ),
                );
                cur.missing.push(name.clone());
                continue;
            };
            if let Some(reason) =
                source_health(&config.health, store, name, kind.role(), &run, as_of)?
            {
                cur.unhealthy.insert(name.clone(), reason);
            }
            if let Ok(t) = run
                .finished_at
                .as_deref()
                .unwrap_or(&run.started_at)
                .parse::<Timestamp>()
            {
                cur.synced.insert(name.clone(), t);
            }
            match kind.role() {
                Role::Vendor => {
                    let mut history = Vec::new();
                    let snap = if needs_history {
                        let runs: Vec<(Timestamp, i64)> =
                            store.ok_runs_between(name, period.start(), as_of)?;
                        // The as-of snapshot is the period's last, or the last before it: read
                        // with the period's, in the same pass.
                        let mut ids: Vec<i64> = runs.iter().map(|(_, id)| *id).collect();
                        ids.push(run.id);
                        let mut snaps = load_many(store, name, kind, &ids).with_context(|| {
                            format!(
                                "cannot read the snapshots of `{name}` in the billing period {period}"
                            )
                        })?;
                        let snap = snaps.pop().context("a snapshot per run")?;
                        history = runs.into_iter().map(|(t, _)| t).zip(snaps).collect();
                        snap
                    } else {
                        load(store, name, kind, run.id)
                            .with_context(|| format!("cannot read the snapshot of `{name}`"))?
                    };
                    if needs_history {
                        cur.history.insert(name.clone(), history);
                    }
                    cur.vendors.push((name.clone(), kind, run.id, snap));
                }
                Role::Psa => {
                    let snap = store
                        .load_psa_snapshot(run.id)
                        .with_context(|| format!("cannot read the snapshot of `{name}`"))?;
                    cur.psas.push((name.clone(), run.id, snap));
                }
            }
        }
        Ok(cur)
    }

    pub fn psa_companies(&self) -> Vec<PsaCompanies<'_>> {
        self.psas
            .iter()
            .map(|(name, _, snap)| PsaCompanies {
                connection: name,
                companies: &snap.companies,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::fixtures::vendor;

    #[test]
    fn current_load_reports_unhealthy_connections() {
        let config = Config::parse(
            "[health]\nmax_age_hours = 1\n[connections.n]\nkind = \"ninjaone\"\nurl = \"http://x\"\nclient_id = \"c\"\n",
        )
        .unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let run = store.begin_run("n", "ninjaone").unwrap();
        store.finish_run_ok(run, "n", &vendor(2)).unwrap();
        let cur = Current::load_at(&config, &store, Timestamp::now()).unwrap();
        assert!(cur.unhealthy.is_empty());
        let later = Timestamp::now() + jiff::SignedDuration::from_hours(2);
        let cur = Current::load_at(&config, &store, later).unwrap();
        assert!(
            cur.unhealthy["n"].contains("max_age_hours = 1"),
            "{:?}",
            cur.unhealthy
        );
    }
}
