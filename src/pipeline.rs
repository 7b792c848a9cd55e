//! The steps every front end runs: sync, automatic mapping, reconcile. The CLI commands and the
//! demo both call these, so the demo exercises exactly the code a user runs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use jiff::Timestamp;
use secrecy::SecretString;

use crate::app::App;
use crate::config::{Config, ConnectionSettings};
use crate::connectors::{self, ConnectorKind, Role, SyncCx};
use crate::mapping::{self, PsaCompanies};
use crate::model::{AccountMapping, PsaSnapshot, ServiceDef, VendorAccount, VendorSnapshot};
use crate::progress::Progress;
use crate::reconcile::{self as engine, Input, PsaInput, Totals, VendorInput};
use crate::store::{ReconcileRecord, Store};

/// A closure that finds a connection's secret fields in lookup order.
pub fn secret_lookup<'a>(
    app: &'a App,
    name: &'a str,
    settings: &'a ConnectionSettings,
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
}

/// Syncs the named connections side by side. Each finished sync is written as soon as it ends:
/// a success becomes the connection's current snapshot, a failure is recorded with its error and
/// leaves the previous snapshot current.
pub async fn sync(
    app: &App,
    config: &Config,
    store: &mut Store,
    names: &[String],
    progress: &Progress,
    started_runs: &mut Vec<i64>,
) -> Result<Vec<SyncOutcome>> {
    let mut outcomes = Vec::new();
    let mut running = FuturesUnordered::new();
    for name in names {
        let settings = config.connection(name)?;
        let kind = settings.kind();
        let run_id = store.begin_run(name, kind.as_str())?;
        started_runs.push(run_id);
        let started = Instant::now();
        let connector = match connectors::build(
            name,
            settings,
            &secret_lookup(app, name, settings),
            app.retry.clone(),
        ) {
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
                });
                continue;
            }
        };
        let bar = progress.bar(name);
        let name = name.clone();
        running.push(async move {
            let bar_cb = bar.clone();
            let cx = SyncCx {
                progress: std::sync::Arc::new(move |stage: &str, n: usize| bar_cb.update(stage, n)),
            };
            let result = connector.sync(&cx).await;
            (name, kind, run_id, started, bar, result)
        });
    }
    while let Some((name, kind, run_id, started, bar, result)) = running.next().await {
        let outcome = match result {
            Ok(snapshot) => match store.finish_run_ok(run_id, &name, &snapshot) {
                Ok(()) => Ok(snapshot.counts()),
                Err(e) => {
                    let msg = format!("cannot save the synced records: {e:#}");
                    let _ = store.finish_run_failed(run_id, &msg);
                    Err(msg)
                }
            },
            Err(e) => {
                let msg = e.to_string();
                store.finish_run_failed(run_id, &msg)?;
                Err(msg)
            }
        };
        let elapsed = started.elapsed();
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

/// The current snapshots of every configured connection, by role.
pub struct Current {
    pub vendors: Vec<(String, ConnectorKind, i64, VendorSnapshot)>,
    pub psas: Vec<(String, i64, PsaSnapshot)>,
    /// Configured connections that have never synced successfully.
    pub missing: Vec<String>,
    /// Connections whose latest sync failed (their previous snapshot is used): (name, error).
    pub stale: Vec<(String, String)>,
}

impl Current {
    pub fn load(config: &Config, store: &Store) -> Result<Current> {
        let mut cur = Current {
            vendors: Vec::new(),
            psas: Vec::new(),
            missing: Vec::new(),
            stale: Vec::new(),
        };
        for (name, settings) in &config.connections {
            let kind = settings.kind();
            let Some(run) = store.current_run(name)? else {
                cur.missing.push(name.clone());
                continue;
            };
            if let Some(latest) = store.latest_run(name)?
                && latest.id != run.id
                && latest.status == crate::store::RunStatus::Failed
            {
                cur.stale
                    .push((name.clone(), latest.error.unwrap_or_default()));
            }
            match kind.role() {
                Role::Vendor => {
                    let snap = store
                        .load_vendor_snapshot(run.id)
                        .with_context(|| format!("cannot read the snapshot of `{name}`"))?;
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
    pub count: usize,
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
        for s in kind.services() {
            if services
                .iter()
                .any(|m| &m.vendor_connection == name && m.service_key == s.key)
            {
                continue;
            }
            let count = snap
                .items
                .iter()
                .filter(|i| s.counts(i) && !i.pending_approval)
                .count();
            if count > 0 {
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
    pub stale: Vec<(String, String)>,
}

/// Computes findings from the current snapshots and mappings, and stores them.
pub fn reconcile(config: &Config, store: &mut Store) -> Result<Reconciled> {
    let mut done = compute(config, store)?;
    done.record.id = store.save_reconcile(&done.record)?;
    Ok(done)
}

/// Computes findings from the current snapshots and mappings without storing them.
pub fn compute(config: &Config, store: &Store) -> Result<Reconciled> {
    if config.connections.is_empty() {
        bail!(
            "no connections are configured; add them with `reconcile connect`, or try `reconcile demo`"
        );
    }
    let cur = Current::load(config, store)?;
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
            "reconciling needs at least one vendor connection (NinjaOne) and one PSA connection (ConnectWise); `reconcile status` shows what is configured"
        );
    }
    let accounts = store.account_mappings()?;
    let services = store.service_mappings()?;
    let service_defs: Vec<(String, Vec<ServiceDef>)> = cur
        .vendors
        .iter()
        .map(|(name, kind, _, _)| (name.clone(), kind.services()))
        .collect();
    let as_of = Timestamp::now();
    let input = Input {
        as_of,
        vendors: cur
            .vendors
            .iter()
            .zip(&service_defs)
            .map(|((name, _, _, snap), (_, defs))| VendorInput {
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
    };
    let findings = engine::reconcile(&input);
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
        totals: Totals::of(&findings),
        findings,
    };
    Ok(Reconciled {
        record,
        stale: cur.stale,
    })
}
