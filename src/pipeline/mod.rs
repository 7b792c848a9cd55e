//! The steps every front end runs: sync, automatic mapping, reconcile. The CLI commands and the
//! demo both call these, so the demo exercises exactly the code a user runs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use jiff::Timestamp;
use rust_decimal::Decimal;
use secrecy::SecretString;

use crate::app::App;
use crate::config::{Config, Connection, HealthConfig};
use crate::connectors::{self, ConnectorKind, Role, SyncCx};
use crate::engine::{
    self, Basis, Input, ItemSpec, ItemTable, PeriodInput, PsaInput, Rules, Totals, Usage,
    VendorInput,
};
use crate::mapping::{self, PsaCompanies};
use crate::model::{
    AccountMapping, PsaSnapshot, ServiceDef, UsageItem, VendorAccount, VendorSnapshot,
};
use crate::period::{Period, parse_as_of};
use crate::progress::Progress;
use crate::store::{Inputs, InputsHasher, ReconcileRecord, RunInfo, RunStatus, Store};

/// A closure that finds a connection's secret fields in lookup order.
pub fn secret_lookup<'a>(
    app: &'a App,
    name: &'a str,
    settings: &'a Connection,
) -> impl Fn(&str) -> Result<SecretString> + 'a {
    move |field| {
        app.secrets
            .get(name, field, Some(settings))
            .map(|(s, _)| s)
            .map_err(anyhow::Error::from)
    }
}

/// The names to work on: all configured connections, or the named ones (each must exist).
pub fn select_connections(config: &Config, names: &[String]) -> Result<Vec<String>> {
    if config.connections.is_empty() {
        bail!(
            "no connections are configured; add one with `reconcile connect ninjaone ...` or `reconcile connect connectwise ...` (or try `reconcile demo`)"
        );
    }
    if names.is_empty() {
        return Ok(config.connections.keys().cloned().collect());
    }
    for n in names {
        config.connection(n)?;
    }
    Ok(names.to_vec())
}

/// How one connection's sync ended.
#[derive(Debug)]
pub struct SyncOutcome {
    pub connection: String,
    pub kind: ConnectorKind,
    pub run_id: i64,
    pub result: std::result::Result<BTreeMap<String, usize>, String>,
    pub elapsed: Duration,
    /// Accounts a successful sync could not read, one line each (a partial run).
    pub warnings: Vec<String>,
}

/// How long a sync waits for another process's sync of the same connection (two cron jobs
/// overlapping) before it gives up; `RECONCILE_SYNC_WAIT_SECS` overrides it.
const WAIT_FOR_OTHER_SYNC: Duration = Duration::from_secs(600);

/// Starts a run of `name`, first waiting while another live process syncs it: fetching the
/// same data twice at once only spends the API's rate limit.
async fn begin_run_waiting(
    app: &App,
    store: &mut Store,
    name: &str,
    kind: ConnectorKind,
) -> Result<i64> {
    let wait = std::env::var("RECONCILE_SYNC_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(WAIT_FOR_OTHER_SYNC);
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        match store.begin_run(name, kind.as_str()) {
            Ok(id) => return Ok(id),
            Err(e) => match e.downcast_ref::<crate::store::Busy>() {
                Some(busy) if Instant::now() < deadline => {
                    if !told {
                        app.info(format!(
                            "{busy}; waiting for it to finish (up to {}s)",
                            wait.as_secs()
                        ));
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Some(busy) => {
                    let msg = format!(
                        "{busy}, still after waiting {}s: let it finish, then sync again",
                        wait.as_secs()
                    );
                    return Err(e.context(msg));
                }
                None => return Err(e),
            },
        }
    }
}

/// Syncs the named connections side by side. Each finished sync is written as soon as it ends:
/// a success becomes the connection's current snapshot, a failure is recorded with its error and
/// leaves the previous snapshot current.
pub async fn sync(
    app: &App,
    config: &Config,
    store: &mut Store,
    names: &[String],
    file: Option<&std::path::Path>,
    progress: &Progress,
    started_runs: &mut Vec<i64>,
) -> Result<Vec<SyncOutcome>> {
    let mut outcomes = Vec::new();
    // Each connection's sync is a task of its own, so the database writes below (on this task)
    // never hold up another connection's next request. Dropping the set (Ctrl-C) aborts them.
    let mut running = tokio::task::JoinSet::new();
    // Items stream from every running connector into the database through one channel; a
    // small bound keeps a fast reader from piling records up in memory.
    let (items_tx, mut items_rx) = tokio::sync::mpsc::channel::<(i64, Vec<UsageItem>)>(4);
    for name in names {
        let settings = config.connection(name)?;
        let kind = settings.kind();
        let run_id = match begin_run_waiting(app, store, name, kind).await {
            Ok(id) => id,
            Err(e) if e.downcast_ref::<crate::store::Busy>().is_some() => {
                // Nothing was started for it, so nothing to record: the other sync will.
                outcomes.push(SyncOutcome {
                    connection: name.clone(),
                    kind,
                    run_id: 0,
                    result: Err(format!("{e}")),
                    elapsed: Duration::ZERO,
                    warnings: Vec::new(),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        started_runs.push(run_id);
        let started = Instant::now();
        let mut retry = app.retry.clone();
        retry.concurrency = config.concurrency_of(name);
        let connector = match settings.connect(name, &secret_lookup(app, name, settings), retry) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("{e:#}");
                store.finish_run_failed(run_id, &msg)?;
                outcomes.push(SyncOutcome {
                    connection: name.clone(),
                    kind,
                    run_id,
                    result: Err(msg),
                    elapsed: started.elapsed(),
                    warnings: Vec::new(),
                });
                continue;
            }
        };
        let previous = match (kind.role(), store.current_run(name)?) {
            (connectors::Role::Vendor, Some(run)) => {
                Some(std::sync::Arc::new(store.items_per_account(run.id)?))
            }
            _ => None,
        };
        let bar = progress.bar(name);
        let name = name.clone();
        let file = file.map(std::path::Path::to_path_buf);
        let sink = connectors::ItemSink {
            run: run_id,
            tx: items_tx.clone(),
        };
        running.spawn(async move {
            let bar_cb = bar.clone();
            let cx = SyncCx {
                progress: std::sync::Arc::new(move |stage: &str, n: usize| bar_cb.update(stage, n)),
                file,
                previous,
                sink: Some(sink),
            };
            let result = connector.sync(&cx).await;
            (name, kind, run_id, started, bar, result)
        });
    }
    // Per run: items stored so far, or why storing them failed.
    let mut streamed: BTreeMap<i64, std::result::Result<usize, String>> = BTreeMap::new();
    let store_batch = |streamed: &mut BTreeMap<i64, std::result::Result<usize, String>>,
                       store: &mut Store,
                       run: i64,
                       batch: Vec<UsageItem>| {
        let entry = streamed.entry(run).or_insert(Ok(0));
        if let Ok(n) = entry {
            match store.write_items(run, &batch) {
                Ok(()) => *n += batch.len(),
                Err(e) => *entry = Err(format!("cannot save the synced records: {e:#}")),
            }
        }
    };
    loop {
        let done = tokio::select! {
            biased;
            Some((run, batch)) = items_rx.recv() => {
                store_batch(&mut streamed, store, run, batch);
                continue;
            }
            done = running.join_next() => done,
        };
        let Some(joined) = done else {
            break;
        };
        let (name, kind, run_id, started, bar, result) = match joined {
            Ok(done) => done,
            // A panic inside a connector is a bug: it ends the process as it would have on one
            // task, and the next sync marks the runs left `running` interrupted.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(anyhow!("a sync task was cancelled: {e}")),
        };
        // A finished sync sent its last batch before returning: store what is queued first.
        while let Ok((run, batch)) = items_rx.try_recv() {
            store_batch(&mut streamed, store, run, batch);
        }
        let result_warnings = match &result {
            Ok(crate::model::Snapshot::Vendor(v)) => v.unreadable_notes(),
            _ => Vec::new(),
        };
        let outcome = match (result, streamed.remove(&run_id).unwrap_or(Ok(0))) {
            (Ok(snapshot), Ok(n)) => {
                match store.finish_run_ok_streamed(run_id, &name, &snapshot, n) {
                    Ok(()) => {
                        let mut counts = snapshot.counts();
                        if n > 0 {
                            *counts.entry("items".into()).or_default() += n;
                        }
                        Ok(counts)
                    }
                    Err(e) => {
                        let msg = format!("cannot save the synced records: {e:#}");
                        let _ = store.finish_run_failed(run_id, &msg);
                        Err(msg)
                    }
                }
            }
            (Ok(_), Err(msg)) => {
                store.finish_run_failed(run_id, &msg)?;
                Err(msg)
            }
            (Err(e), stored) => {
                // A database failure while streaming is the cause; the connector only saw the
                // channel close.
                let msg = match stored {
                    Err(why) => why,
                    Ok(_) => e.to_string(),
                };
                store.finish_run_failed(run_id, &msg)?;
                Err(msg)
            }
        };
        let elapsed = started.elapsed();
        let warnings = match (&outcome, &result_warnings) {
            (Ok(_), w) => w.clone(),
            _ => Vec::new(),
        };
        for w in &warnings {
            // Printed even with --quiet: a partial sync changes what the report can say.
            eprintln!("warning: `{name}` synced partially: {w}");
        }
        match &outcome {
            Ok(counts) => {
                let line = format!(
                    "synced in {:.1}s: {}",
                    elapsed.as_secs_f64(),
                    describe_counts(counts)
                );
                if bar.is_visible() {
                    bar.finish(&line);
                } else {
                    app.info(format!("{name}: {line}"));
                }
            }
            Err(_) => bar.finish("failed"),
        }
        outcomes.push(SyncOutcome {
            connection: name,
            kind,
            run_id,
            result: outcome,
            elapsed,
            warnings,
        });
    }
    Ok(outcomes)
}

/// `accounts 22, items 1040` in a stable order.
pub fn describe_counts(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

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
}

/// The current snapshots of every configured connection, by role. Vendor snapshots are whole
/// [`VendorSnapshot`]s, or for reconciling the compact [`ItemTable`] (see [`with_input`]).
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
        Current::load_with(config, store, scope, now, |store, _, _, run| {
            store.load_vendor_snapshot(run)
        })
    }
}

impl Current<()> {
    /// The PSA snapshots, health and run ids of `scope`, without reading any usage record.
    pub fn load_psas(config: &Config, store: &Store, scope: Scope, now: Timestamp) -> Result<Self> {
        Current::load_with(config, store, scope, now, |_, _, _, _| Ok(()))
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
        Current::load_with(config, store, scope, now, |store, name, kind, run| {
            store.load_item_table(run, &item_spec(config, name, kind, explain))
        })
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
    let mut keys = BTreeSet::new();
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
    /// run id)`.
    fn load_with(
        config: &Config,
        store: &Store,
        scope: Scope,
        now: Timestamp,
        load: impl Fn(&Store, &str, ConnectorKind, i64) -> Result<V>,
    ) -> Result<Current<V>> {
        let anchor = config.period.anchor_day;
        let (as_of, period) = match scope {
            Scope::Current => (now, Period::containing(now, anchor)?),
            Scope::AsOf(t) => (t, Period::containing(t, anchor)?),
            Scope::Period(p) => {
                if p.start() > now {
                    bail!(
                        "the billing period {p} has not started yet (it starts {})",
                        p.start()
                    );
                }
                (p.last_instant().min(now), p)
            }
        };
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
            let run = match scope {
                Scope::Current => store.current_run(name)?,
                _ => {
                    let run = store.ok_run_at(name, as_of)?;
                    if run.is_none() {
                        let oldest = store.ok_runs(name)?.into_iter().next();
                        bail!(
                            "`{name}` has no successful sync at or before {as_of}: {}",
                            match oldest {
                                Some((t, _)) => format!(
                                    "its oldest successful sync finished at {t}; reconcile a later date"
                                ),
                                None => format!(
                                    "it has never synced successfully (run `reconcile sync {name}`)"
                                ),
                            }
                        );
                    }
                    run
                }
            };
            let Some(run) = run else {
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
                    let snap = load(store, name, kind, run.id)
                        .with_context(|| format!("cannot read the snapshot of `{name}`"))?;
                    if needs_history {
                        let mut hist = Vec::new();
                        for r in store.ok_runs_between(name, period.start(), as_of)? {
                            let Some(t) = r
                                .finished_at
                                .as_deref()
                                .and_then(|f| f.parse::<Timestamp>().ok())
                            else {
                                continue;
                            };
                            let s = load(store, name, kind, r.id).with_context(|| {
                                format!("cannot read the snapshot of `{name}` of {t}")
                            })?;
                            hist.push((t, s));
                        }
                        cur.history.insert(name.clone(), hist);
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

/// Why a connection's current snapshot (`current`, its last successful run) is not to be
/// trusted at `now`, or `None` when it is healthy. The rules, any of which makes it unhealthy
/// (the reasons are joined with "; "):
/// - its latest finished sync (after `current`) failed;
/// - `current` finished more than `[health] max_age_hours` before `now`;
/// - its record count (`items` for vendors, `lines` for PSAs) fell by more than
///   `[health] max_count_drop` (a fraction) from the previous successful run:
///   (previous − current) ÷ previous > max_count_drop, with previous > 0.
pub fn source_health(
    health: &HealthConfig,
    store: &Store,
    name: &str,
    role: Role,
    current: &RunInfo,
    now: Timestamp,
) -> Result<Option<String>> {
    let mut reasons = Vec::new();
    let synced = current
        .finished_at
        .as_deref()
        .unwrap_or(&current.started_at);
    if let Some(last) = store
        .runs(name)?
        .into_iter()
        .filter(|r| {
            // At a historical moment only the runs finished by then count.
            r.finished_at
                .as_deref()
                .and_then(|f| f.parse::<Timestamp>().ok())
                .is_none_or(|t| t <= now)
        })
        .find(|r| r.status != RunStatus::Running)
        && last.id != current.id
        && last.status == RunStatus::Failed
    {
        reasons.push(format!(
            "its last sync failed ({}), so the snapshot of {synced} was used",
            last.error.as_deref().unwrap_or("no error recorded")
        ));
    }
    if let Ok(at) = synced.parse::<Timestamp>() {
        let hours = now.duration_since(at).as_secs_f64() / 3600.0;
        if hours > health.max_age_hours {
            reasons.push(format!(
                "its last successful sync was {hours:.0} hours ago ({synced}), more than [health] max_age_hours = {}",
                health.max_age_hours
            ));
        }
    }
    let key = match role {
        Role::Vendor => "items",
        Role::Psa => "lines",
    };
    if let Some(prev) = store.previous_ok_run(name, current.id)? {
        let before = prev.counts.get(key).copied().unwrap_or(0);
        let after = current.counts.get(key).copied().unwrap_or(0);
        if before > 0 && after < before {
            let drop = (before - after) as f64 / before as f64;
            if drop > health.max_count_drop {
                reasons.push(format!(
                    "its snapshot has {after} {key}, down from {before} in the previous successful sync ({:.0}% fewer, more than [health] max_count_drop = {}); if that is right, sync again",
                    drop * 100.0,
                    health.max_count_drop
                ));
            }
        }
    }
    Ok((!reasons.is_empty()).then(|| reasons.join("; ")))
}

/// A vendor account with no mapping, and who it might be.
#[derive(Debug, Clone)]
pub struct UnmappedAccount {
    pub vendor_connection: String,
    pub account: VendorAccount,
    pub items: usize,
    /// (PSA connection, company id, company name, score), best first.
    pub suggestions: Vec<(String, String, String, f64)>,
}

/// A vendor service with usage and no mapping.
#[derive(Debug, Clone)]
pub struct UnmappedService {
    pub vendor_connection: String,
    pub service: ServiceDef,
    /// Units it counts (items, or the sum of their quantities).
    pub count: Decimal,
}

pub struct MapState {
    pub added: Vec<AccountMapping>,
    pub unmapped_accounts: Vec<UnmappedAccount>,
    pub unmapped_services: Vec<UnmappedService>,
    pub missing: Vec<String>,
}

/// Applies exact, unique name matches and lists what still needs a person.
pub fn auto_map(config: &Config, store: &mut Store) -> Result<MapState> {
    let cur = Current::load(config, store)?;
    let psas = cur.psa_companies();
    let mut existing = store.account_mappings()?;
    let mut added = Vec::new();
    if !psas.is_empty() {
        for (name, _, _, snap) in &cur.vendors {
            added.extend(mapping::auto_map(name, &snap.accounts, &psas, &existing));
        }
        store.set_mappings(&added, &[])?;
        existing.extend(added.iter().cloned());
    }
    let services = store.service_mappings()?;
    let mut unmapped_accounts = Vec::new();
    let mut unmapped_services = Vec::new();
    for (name, kind, _, snap) in &cur.vendors {
        for a in &snap.accounts {
            if existing
                .iter()
                .any(|m| &m.vendor_connection == name && m.account_id == a.id)
            {
                continue;
            }
            let suggestions = mapping::suggest(&a.name, &psas, 3)
                .into_iter()
                .map(|s| {
                    (
                        s.psa_connection.to_string(),
                        s.company.id.clone(),
                        s.company.name.clone(),
                        s.score,
                    )
                })
                .collect();
            unmapped_accounts.push(UnmappedAccount {
                vendor_connection: name.clone(),
                account: a.clone(),
                items: snap.items.iter().filter(|i| i.account_id == a.id).count(),
                suggestions,
            });
        }
        for s in config.services_seen(name, *kind, [snap]) {
            if services
                .iter()
                .any(|m| &m.vendor_connection == name && m.service_key == s.key)
            {
                continue;
            }
            let count: Decimal = snap
                .items
                .iter()
                .filter(|i| config.rules.count_pending || !i.pending_approval)
                .map(|i| s.weight(i))
                .sum();
            if count > Decimal::ZERO {
                let count = count.normalize();
                unmapped_services.push(UnmappedService {
                    vendor_connection: name.clone(),
                    service: s,
                    count,
                });
            }
        }
    }
    Ok(MapState {
        added,
        unmapped_accounts,
        unmapped_services,
        missing: cur.missing,
    })
}

/// The outcome of `reconcile`: the stored record and what the caller should warn about.
pub struct Reconciled {
    pub record: ReconcileRecord,
    /// Unhealthy connections and why; their findings are `stale_source`.
    pub unhealthy: BTreeMap<String, String>,
    /// What the findings were computed from (current scope only), stored with them so
    /// `report` can reuse them while nothing changed.
    pub inputs: Option<Inputs>,
}

impl Reconciled {
    /// One line per unhealthy connection, for stderr.
    pub fn warnings(&self) -> Vec<String> {
        health_warnings(&self.unhealthy)
    }
}

/// One line per unhealthy connection, for stderr.
pub fn health_warnings(unhealthy: &BTreeMap<String, String>) -> Vec<String> {
    unhealthy
        .iter()
        .map(|(name, reason)| {
            format!(
                "`{name}` is not healthy, so its findings are reported as stale_source: {reason}"
            )
        })
        .collect()
}

/// Computes findings from the current snapshots and mappings, and stores them.
pub fn reconcile(config: &Config, store: &mut Store) -> Result<Reconciled> {
    reconcile_scoped(config, store, Scope::Current)
}

/// [`reconcile`] for a scope (`--period`, `--as-of`).
pub fn reconcile_scoped(config: &Config, store: &mut Store, scope: Scope) -> Result<Reconciled> {
    let mut done = compute_scoped(config, store, scope)?;
    done.record.id = store.save_reconcile_with(&done.record, done.inputs.as_ref())?;
    Ok(done)
}

/// Computes findings from the current snapshots and mappings without storing them.
pub fn compute(config: &Config, store: &Store) -> Result<Reconciled> {
    compute_scoped(config, store, Scope::Current)
}

/// A hash of everything findings depend on but the clock and the snapshots' records: the tool
/// version, the config, the mappings, every sync run (a new snapshot is a new run). Returns
/// it with the runs' finish times.
fn inputs_hash(config: &Config, store: &Store) -> Result<(String, Vec<Timestamp>)> {
    let mut h = InputsHasher::default();
    h.part(env!("CARGO_PKG_VERSION"));
    h.part(&crate::store::schema_version().to_string());
    h.part(&format!("{config:?}"));
    for m in store.account_mappings()? {
        h.part(&format!("{m:?}"));
    }
    h.part("services");
    for m in store.service_mappings()? {
        h.part(&format!("{m:?}"));
    }
    let finished = store.hash_sync_state(&mut h)?;
    Ok((h.finish(), finished))
}

/// The latest stored findings, when they are what computing them now would give: they were
/// computed for the current scope from inputs that hash the same as now, and `now` is before
/// the first moment the clock could change them. With the unhealthy connections then.
pub fn stored_if_current(
    config: &Config,
    store: &Store,
    now: Timestamp,
) -> Result<Option<(ReconcileRecord, BTreeMap<String, String>)>> {
    let Some((id, inputs)) = store.latest_reconcile_inputs()? else {
        return Ok(None);
    };
    if now >= inputs.valid_until {
        return Ok(None);
    }
    let (fingerprint, _) = inputs_hash(config, store)?;
    if fingerprint != inputs.fingerprint {
        return Ok(None);
    }
    let Some(record) = store.latest_reconcile()? else {
        return Ok(None);
    };
    // A clock set back since (as_of after now) could undo what the bound assumed.
    let after_as_of = record.as_of.parse::<Timestamp>().is_ok_and(|t| t <= now);
    if record.id != id || !after_as_of {
        return Ok(None);
    }
    Ok(Some((record, inputs.unhealthy)))
}

/// [`compute`] for a scope.
pub fn compute_scoped(config: &Config, store: &Store, scope: Scope) -> Result<Reconciled> {
    // Hashed before the snapshots are read: a sync landing in between makes the stored hash
    // older than the data, so the next report recomputes rather than trusting it.
    let hashed = match scope {
        Scope::Current => Some(inputs_hash(config, store)?),
        _ => None,
    };
    let ((findings, excluded), cur) = with_input(config, store, scope, false, |i| {
        (engine::findings(i), engine::excluded_accounts(i))
    })?;
    let inputs = hashed.map(|(fingerprint, finished)| Inputs {
        fingerprint,
        valid_until: cur.valid_until(config, &config.engine_rules(), &finished),
        unhealthy: cur.unhealthy.clone(),
    });
    let as_of = cur.as_of;
    let mut sources = BTreeMap::new();
    for (name, _, run, _) in &cur.vendors {
        sources.insert(name.clone(), *run);
    }
    for (name, run, _) in &cur.psas {
        sources.insert(name.clone(), *run);
    }
    let record = ReconcileRecord {
        id: 0,
        created_at: Timestamp::now().to_string(),
        as_of: as_of.to_string(),
        currency: config.currency.clone(),
        sources,
        totals: Totals {
            excluded_accounts: excluded,
            ..Totals::of(&findings)
        },
        findings,
    };
    Ok(Reconciled {
        record,
        unhealthy: cur.unhealthy,
        inputs,
    })
}

/// The explanation of one company's line findings (`reconcile explain`), computed from the
/// same input as [`compute`] at `as_of`.
pub fn explain(
    config: &Config,
    store: &Store,
    scope: Scope,
    psa_connection: &str,
    company_id: &str,
    product: Option<&str>,
) -> Result<Vec<engine::Explanation>> {
    let (out, _) = with_input(config, store, scope, true, |input| {
        engine::explain(input, psa_connection, company_id, product)
    })?;
    Ok(out)
}

/// Loads the current snapshots (compact: what the rules read, everything with `explain`),
/// mappings and rules and runs `f` on the engine input built from them. Errors when a
/// connection never synced or a role is missing.
pub fn with_input<T>(
    config: &Config,
    store: &Store,
    scope: Scope,
    explain: bool,
    f: impl FnOnce(&Input) -> T,
) -> Result<(T, Current<ItemTable>)> {
    if config.connections.is_empty() {
        bail!(
            "no connections are configured; add them with `reconcile connect`, or try `reconcile demo`"
        );
    }
    let cur = Current::load_compact(config, store, scope, Timestamp::now(), explain)?;
    let as_of = cur.as_of;
    if !cur.missing.is_empty() {
        return Err(anyhow!(
            "no synced data for {}: run `reconcile sync {}` first (a failed sync leaves nothing to reconcile until one succeeds)",
            cur.missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            cur.missing.join(" ")
        ));
    }
    if cur.vendors.is_empty() || cur.psas.is_empty() {
        bail!(
            "reconciling needs at least one vendor connection (NinjaOne, SentinelOne, Microsoft 365, ...) and one PSA connection (ConnectWise, ...); `reconcile status` shows what is configured"
        );
    }
    let accounts = store.account_mappings()?;
    let services = store.service_mappings()?;
    let service_defs: Vec<Vec<ServiceDef>> = cur
        .vendors
        .iter()
        .map(|(name, kind, _, snap)| {
            let history = cur
                .history
                .get(name)
                .into_iter()
                .flatten()
                .map(|(_, s)| &s.samples);
            config.services_seen(name, *kind, std::iter::once(&snap.samples).chain(history))
        })
        .collect();
    let tolerances = config.tolerance.resolve();
    let rules = config.engine_rules();
    let bases = config.bases();
    let period = PeriodInput {
        snapshots: cur
            .history
            .iter()
            .map(|(name, h)| {
                (
                    name.as_str(),
                    h.iter().map(|(t, s)| (*t, s as &dyn Usage)).collect(),
                )
            })
            .collect(),
        bases: &bases,
    };
    let input = Input {
        as_of,
        vendors: cur
            .vendors
            .iter()
            .zip(&service_defs)
            .map(|((name, _, _, snap), defs)| VendorInput {
                connection: name,
                services: defs,
                snapshot: snap,
            })
            .collect(),
        psas: cur
            .psas
            .iter()
            .map(|(name, _, snap)| PsaInput {
                connection: name,
                snapshot: snap,
            })
            .collect(),
        accounts: &accounts,
        services: &services,
        tolerances: &tolerances,
        rules: &rules,
        unhealthy: &cur.unhealthy,
        period: Some(&period),
    };
    let out = f(&input);
    drop(input);
    drop(period);
    Ok((out, cur))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Snapshot, UsageItem};
    use crate::period::Period;

    fn vendor(n: usize) -> Snapshot {
        Snapshot::Vendor(VendorSnapshot {
            accounts: vec![VendorAccount {
                id: "1".into(),
                name: "Acme".into(),
                raw: None,
            }],
            items: (0..n)
                .map(|i| UsageItem {
                    id: i.to_string(),
                    account_id: "1".into(),
                    name: format!("pc{i}"),
                    class: "WINDOWS_WORKSTATION".into(),
                    raw_class: "WINDOWS_WORKSTATION".into(),
                    online: Some(true),
                    last_contact: None,
                    pending_approval: false,
                    attrs: BTreeMap::new(),
                    raw: None,
                })
                .collect(),
            ..VendorSnapshot::default()
        })
    }

    fn psa(lines: usize) -> Snapshot {
        use crate::model::{BillCustomer, PsaLine};
        Snapshot::Psa(PsaSnapshot {
            companies: Vec::new(),
            agreements: Vec::new(),
            lines: (0..lines)
                .map(|i| PsaLine {
                    id: i.to_string(),
                    agreement_id: "1".into(),
                    company_id: "1".into(),
                    product_id: None,
                    product_identifier: "WS".into(),
                    description: None,
                    quantity: rust_decimal::Decimal::ONE,
                    less_included: rust_decimal::Decimal::ZERO,
                    unit_price: rust_decimal::Decimal::ONE,
                    unit_cost: rust_decimal::Decimal::ZERO,
                    effective: None,
                    cancelled: None,
                    bill_customer: BillCustomer::Billable,
                    raw: None,
                })
                .collect(),
            products: Vec::new(),
            ..PsaSnapshot::default()
        })
    }

    /// Syncs `n` ("ok") or fails ("failed") in order, then asks for the health of `n` at `now`.
    fn health_after(
        steps: &[Result<Snapshot, &str>],
        role: Role,
        hours_later: i64,
    ) -> Option<String> {
        let mut store = Store::open_in_memory().unwrap();
        for step in steps {
            let run = store.begin_run("n", "x").unwrap();
            match step {
                Ok(snap) => store.finish_run_ok(run, "n", snap).unwrap(),
                Err(e) => store.finish_run_failed(run, e).unwrap(),
            }
        }
        let current = store.current_run("n").unwrap().unwrap();
        let now = Timestamp::now() + jiff::SignedDuration::from_hours(hours_later);
        source_health(&HealthConfig::default(), &store, "n", role, &current, now).unwrap()
    }

    #[test]
    fn health_by_age_of_the_last_successful_sync() {
        assert_eq!(health_after(&[Ok(vendor(3))], Role::Vendor, 0), None);
        assert_eq!(health_after(&[Ok(vendor(3))], Role::Vendor, 35), None);
        let r = health_after(&[Ok(vendor(3))], Role::Vendor, 37).unwrap();
        assert!(r.contains("last successful sync was 37 hours ago"), "{r}");
        assert!(r.contains("max_age_hours = 36"), "{r}");
    }

    #[test]
    fn health_by_a_failed_latest_sync() {
        let r = health_after(&[Ok(vendor(3)), Err("boom")], Role::Vendor, 0).unwrap();
        assert!(r.starts_with("its last sync failed (boom)"), "{r}");
        // A later success clears it; an older failure does not count.
        assert_eq!(
            health_after(
                &[Ok(vendor(3)), Err("boom"), Ok(vendor(3))],
                Role::Vendor,
                0
            ),
            None
        );
    }

    #[test]
    fn health_by_a_record_count_drop() {
        let r = health_after(&[Ok(vendor(10)), Ok(vendor(4))], Role::Vendor, 0).unwrap();
        assert!(
            r.contains("has 4 items, down from 10 in the previous successful sync (60% fewer"),
            "{r}"
        );
        // Exactly half is not more than half; growth is fine; a failed run in between is skipped.
        assert_eq!(
            health_after(&[Ok(vendor(10)), Ok(vendor(5))], Role::Vendor, 0),
            None
        );
        assert_eq!(
            health_after(&[Ok(vendor(1)), Ok(vendor(50))], Role::Vendor, 0),
            None
        );
        assert!(
            health_after(&[Ok(vendor(10)), Err("x"), Ok(vendor(2))], Role::Vendor, 0)
                .unwrap()
                .contains("down from 10")
        );
        // Syncing again with the same count confirms it.
        assert_eq!(
            health_after(
                &[Ok(vendor(10)), Ok(vendor(2)), Ok(vendor(2))],
                Role::Vendor,
                0
            ),
            None
        );
        // PSAs: agreement lines.
        let r = health_after(&[Ok(psa(8)), Ok(psa(0))], Role::Psa, 0).unwrap();
        assert!(r.contains("has 0 lines, down from 8"), "{r}");
    }

    #[test]
    fn every_rule_that_applies_is_given() {
        let r = health_after(
            &[Ok(vendor(10)), Ok(vendor(1)), Err("boom")],
            Role::Vendor,
            48,
        )
        .unwrap();
        assert!(r.contains("failed (boom)"), "{r}");
        assert!(r.contains("hours ago"), "{r}");
        assert!(r.contains("down from 10"), "{r}");
    }

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

    fn item(id: &str, account: &str, name: &str, class: &str, attrs: &[(&str, &str)]) -> UsageItem {
        let n: i64 = id.bytes().map(i64::from).sum();
        UsageItem {
            id: id.into(),
            account_id: account.into(),
            name: name.into(),
            class: class.into(),
            raw_class: class.into(),
            online: Some(true),
            // Some recent, some long gone (inactive), some never seen.
            last_contact: match (n / 2) % 3 {
                0 => Some(Timestamp::now() - jiff::SignedDuration::from_hours(2)),
                1 => Some(Timestamp::now() - jiff::SignedDuration::from_hours(24 * 45)),
                _ => None,
            },
            pending_approval: n % 5 == 0,
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            raw: Some("{}".into()),
        }
    }

    const EQUIVALENCE_CONFIG: &str = r#"
[rules]
inactive_after_days = 30
[rules.services."n/win"]
inactive_after_days = 90
[[exclude]]
device_name = "LAB-*"
reason = "lab machines"
[[exclude]]
account = "Beta"
service = "n/total-workstations"
reason = "beta's workstations"
[[custom_service]]
connection = "n"
key = "win"
os = "windows"
[[custom_service]]
connection = "n"
key = "db-vip"
roles = ["db*"]
tags = ["vip"]
[[custom_service]]
connection = "n"
key = "north-pcs"
name_pattern = "PC-*"
attrs = { site = "north*" }
[[custom_service]]
connection = "n"
key = "bundle"
sum_of = ["win", "total-servers"]
[connections.n]
kind = "ninjaone"
url = "http://x"
client_id = "c"
[connections.f]
kind = "csv"
[connections.cw]
kind = "connectwise"
site = "na.myconnectwise.net"
company_id = "x"
public_key = "x"
client_id = "x"
"#;

    /// A store whose vendor items exercise every attribute, name and family rule.
    fn equivalence_store() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let accounts = |names: &[(&str, &str)]| -> Vec<VendorAccount> {
            names
                .iter()
                .map(|(id, name)| VendorAccount {
                    id: id.to_string(),
                    name: name.to_string(),
                    raw: None,
                })
                .collect()
        };
        let mut items = Vec::new();
        for i in 0..60 {
            let account = ["a1", "a2", "a3"][i % 3];
            let class = [
                "WINDOWS_WORKSTATION",
                "WINDOWS_SERVER",
                "MAC",
                "LINUX_SERVER",
            ][i % 4];
            let name =
                [format!("PC-{i}"), format!("LAB-{i}"), format!("srv{i}")][(i / 2) % 3].clone();
            let mut attrs = vec![("site", ["north-1", "south", "northeast"][i % 3])];
            if i % 2 == 0 {
                attrs.push(("role", ["db-primary", "web"][i % 4 / 2]));
                attrs.push(("tags", ["vip, eu", "eu"][i % 4 / 2]));
            }
            if i % 7 == 0 {
                attrs.push(("os", "linux"));
            }
            items.push(item(&format!("{i:03}"), account, &name, class, &attrs));
        }
        let vendor = VendorSnapshot {
            accounts: accounts(&[("a1", "Acme"), ("a2", "Beta"), ("a3", "Gamma")]),
            items,
            unreadable: [("a3".to_string(), "consent missing".to_string())].into(),
        };
        let run = store.begin_run("n", "ninjaone").unwrap();
        store
            .finish_run_ok(run, "n", &Snapshot::Vendor(vendor))
            .unwrap();
        // Family services named by the first item in (account, id) order: "z" sorts before
        // "a" by id but its account comes later.
        let sku = |id: &str, account: &str, sku: &str, name: &str, qty: &str| UsageItem {
            last_contact: None,
            pending_approval: false,
            ..item(
                id,
                account,
                "",
                "IMPORTED",
                &[("sku", sku), ("sku_name", name), ("quantity", qty)],
            )
        };
        let csv = VendorSnapshot {
            accounts: accounts(&[("x", "Acme"), ("y", "Beta")]),
            items: vec![
                sku("a", "y", "E3", "Later name", "2"),
                sku("z", "x", "E3", "First name", "3.5"),
                sku("m", "y", "Backup 1TB", "Backup", "1"),
                sku("n", "x", " ", "blank", "4"),
            ],
            unreadable: BTreeMap::new(),
        };
        let run = store.begin_run("f", "csv").unwrap();
        store
            .finish_run_ok(run, "f", &Snapshot::Vendor(csv))
            .unwrap();
        let run = store.begin_run("cw", "connectwise").unwrap();
        store.finish_run_ok(run, "cw", &psa(3)).unwrap();
        let target = |id: &str| {
            Some(crate::model::CompanyTarget {
                connection: "cw".into(),
                company_id: id.into(),
                company_name: format!("Company {id}"),
            })
        };
        let map = |conn: &str, id: &str, t: &str| AccountMapping {
            vendor_connection: conn.into(),
            account_id: id.into(),
            account_name: id.into(),
            target: target(t),
            source: crate::model::MapSource::Manual,
        };
        let service = |conn: &str, key: &str| crate::model::ServiceMapping {
            vendor_connection: conn.into(),
            service_key: key.into(),
            target: Some(crate::model::ProductTarget {
                connection: "cw".into(),
                product_identifier: "WS".into(),
            }),
            source: crate::model::MapSource::Manual,
        };
        store
            .set_mappings(
                &[
                    map("n", "a1", "1"),
                    map("n", "a2", "2"),
                    map("n", "a3", "1"),
                    map("f", "x", "1"),
                ],
                &[service("n", "total-workstations"), service("n", "win")],
            )
            .unwrap();
        store
    }

    #[test]
    fn the_compact_table_gives_the_findings_of_the_whole_snapshots() {
        let config = Config::parse(EQUIVALENCE_CONFIG).unwrap();
        let store = equivalence_store();
        let (compact, _) = with_input(&config, &store, Scope::Current, false, |i| {
            (engine::findings(i), engine::excluded_accounts(i))
        })
        .unwrap();

        // The engine on whole UsageItems, as `with_input` fed it before the table existed.
        let cur = Current::load(&config, &store).unwrap();
        let accounts = store.account_mappings().unwrap();
        let services = store.service_mappings().unwrap();
        let defs: Vec<Vec<ServiceDef>> = cur
            .vendors
            .iter()
            .map(|(name, kind, _, snap)| config.services_seen(name, *kind, [snap]))
            .collect();
        let (tolerances, rules) = (config.tolerance.resolve(), config.engine_rules());
        let input = Input {
            as_of: cur.as_of,
            vendors: cur
                .vendors
                .iter()
                .zip(&defs)
                .map(|((name, _, _, snap), defs)| VendorInput {
                    connection: name,
                    services: defs,
                    snapshot: snap,
                })
                .collect(),
            psas: cur
                .psas
                .iter()
                .map(|(name, _, snap)| PsaInput {
                    connection: name,
                    snapshot: snap,
                })
                .collect(),
            accounts: &accounts,
            services: &services,
            tolerances: &tolerances,
            rules: &rules,
            unhealthy: &cur.unhealthy,
            period: None,
        };
        let whole = (engine::findings(&input), engine::excluded_accounts(&input));
        assert_eq!(compact, whole);
        // The rules this is meant to exercise did apply.
        let notes: String = whole.0.iter().map(|f| f.note.clone()).collect();
        for what in [
            "lab machines",
            "beta's workstations",
            "inactive",
            "pending",
            "could not read",
        ] {
            assert!(notes.contains(what), "{what} not in {notes}");
        }
        let unmapped: Vec<(String, String)> = whole
            .0
            .iter()
            .filter(|f| f.kind == engine::FindingKind::UnmappedService)
            .map(|f| (f.services.join(","), f.note.clone()))
            .collect();
        for key in ["n/db-vip", "n/north-pcs", "n/bundle", "f/e3"] {
            assert!(
                unmapped.iter().any(|(s, _)| s == key),
                "{key}: {unmapped:?}"
            );
        }
        assert!(
            unmapped
                .iter()
                .any(|(s, n)| s == "f/e3" && n.starts_with("First name (3.5 ")),
            "{unmapped:?}"
        );
    }

    /// Computes and stores the current findings at `now`, then asks whether `report` at
    /// `later` may show them as they are.
    fn reusable_later(config: &str, store: &mut Store, later: jiff::SignedDuration) -> bool {
        let config = Config::parse(config).unwrap();
        reconcile(&config, store).unwrap();
        stored_if_current(&config, store, Timestamp::now() + later)
            .unwrap()
            .is_some()
    }

    /// Whether `later` from now is still in this billing period (the end of a period ends
    /// every reuse, so near it the positive checks expect none).
    fn in_this_period(later: jiff::SignedDuration) -> bool {
        let now = Timestamp::now();
        now + later < Period::containing(now, 1).unwrap().last_instant()
    }

    fn one_vendor_store(last_contact: Option<Timestamp>) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let Snapshot::Vendor(mut v) = vendor(3) else {
            unreachable!()
        };
        v.items[0].last_contact = last_contact;
        let run = store.begin_run("n", "ninjaone").unwrap();
        store.finish_run_ok(run, "n", &Snapshot::Vendor(v)).unwrap();
        let run = store.begin_run("cw", "connectwise").unwrap();
        store.finish_run_ok(run, "cw", &psa(1)).unwrap();
        store
    }

    const TWO_CONNECTIONS: &str = "[connections.n]\nkind = \"ninjaone\"\nurl = \"http://x\"\nclient_id = \"c\"\n\
        [connections.cw]\nkind = \"connectwise\"\nsite = \"x\"\ncompany_id = \"x\"\npublic_key = \"x\"\nclient_id = \"x\"\n";

    #[test]
    fn stored_findings_are_not_reused_past_an_item_turning_inactive() {
        let hours = jiff::SignedDuration::from_hours;
        // Inactive after 30 days: this one turns inactive in an hour.
        let last = Timestamp::now() - hours(30 * 24) + hours(1);
        let mut store = one_vendor_store(Some(last));
        assert!(reusable_later(TWO_CONNECTIONS, &mut store, hours(0)));
        let soon = jiff::SignedDuration::from_mins(50);
        assert_eq!(
            reusable_later(TWO_CONNECTIONS, &mut store, soon),
            in_this_period(soon)
        );
        assert!(!reusable_later(TWO_CONNECTIONS, &mut store, hours(2)));
        // Without the item it would hold until the sync is 36 hours old.
        let mut store = one_vendor_store(None);
        assert_eq!(
            reusable_later(TWO_CONNECTIONS, &mut store, hours(30)),
            in_this_period(hours(30))
        );
        assert!(!reusable_later(TWO_CONNECTIONS, &mut store, hours(37)));
    }

    #[test]
    fn stored_findings_are_not_reused_once_a_source_is_too_old_or_inputs_change() {
        let hours = jiff::SignedDuration::from_hours;
        let mut store = one_vendor_store(None);
        let aged = format!("[health]\nmax_age_hours = 1\n{TWO_CONNECTIONS}");
        let soon = jiff::SignedDuration::from_mins(30);
        assert_eq!(
            reusable_later(&aged, &mut store, soon),
            in_this_period(soon)
        );
        assert!(!reusable_later(&aged, &mut store, hours(2)));
        let config = Config::parse(TWO_CONNECTIONS).unwrap();
        // A source already too old: its note counts the hours, so never reused.
        let mut old = Store::open_in_memory().unwrap();
        let run = old.begin_run("n", "ninjaone").unwrap();
        old.finish_run_ok(run, "n", &vendor(1)).unwrap();
        let run = old.begin_run("cw", "connectwise").unwrap();
        old.finish_run_ok(run, "cw", &psa(1)).unwrap();
        old.conn_for_tests()
            .execute(
                "UPDATE sync_run SET finished_at = '2020-01-01T00:00:00Z' WHERE connection = 'n'",
                [],
            )
            .unwrap();
        assert!(!reusable_later(TWO_CONNECTIONS, &mut old, hours(0)));

        // A mapping, a sync (even a failed one) or the config changes the inputs.
        assert!(reusable_later(TWO_CONNECTIONS, &mut store, hours(0)));
        reconcile(&config, &mut store).unwrap();
        store
            .set_account_mapping(&AccountMapping {
                vendor_connection: "n".into(),
                account_id: "1".into(),
                account_name: "Acme".into(),
                target: None,
                source: crate::model::MapSource::Manual,
            })
            .unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
        reconcile(&config, &mut store).unwrap();
        let run = store.begin_run("n", "ninjaone").unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
        store.finish_run_failed(run, "boom").unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
        reconcile(&config, &mut store).unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_some()
        );
        let tolerant =
            Config::parse(&format!("[tolerance]\nincrease_abs = 1\n{TWO_CONNECTIONS}")).unwrap();
        assert!(
            stored_if_current(&tolerant, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
        // A --period result stored after it is not the current one.
        let period = Period::containing(Timestamp::now(), 1).unwrap();
        reconcile_scoped(&config, &mut store, Scope::Period(period)).unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
    }
}
