//! Shell completion: the values a person would otherwise copy from another command's output
//! (connection names, vendor services, products, companies, finding ids), read from the config
//! and the database when the shell asks. `reconcile completions <shell>` prints the script that
//! makes the shell ask (see `completions.rs`); clap_complete's engine does the rest.
//!
//! A completion never fails loudly and never creates anything: no config or database, no
//! candidates. The config and database are found as the commands find them, from
//! `RECONCILE_CONFIG` / `RECONCILE_DB` or the default paths (a `--config` flag typed on the same
//! line is not seen: the completer runs before the line is parsed).

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use jiff::Timestamp;

use crate::config::{Config, Paths};
use crate::connectors::Role;
use crate::pipeline::snapshots::{Current, Scope};
use crate::store::{ReconcileRecord, Store};

fn paths() -> Option<Paths> {
    Paths::resolve(
        std::env::var_os("RECONCILE_CONFIG").map(PathBuf::from),
        std::env::var_os("RECONCILE_DB").map(PathBuf::from),
    )
    .ok()
}

fn config() -> Option<Config> {
    let p = paths()?;
    p.config.exists().then(|| Config::load(&p.config).ok())?
}

fn store() -> Option<Store> {
    let p = paths()?;
    p.db.exists().then(|| Store::open_read(&p.db).ok())?
}

fn latest(store: Option<&Store>) -> Option<ReconcileRecord> {
    store?.latest_reconcile().ok()?
}

fn of(values: impl IntoIterator<Item = (String, Option<String>)>) -> Vec<CompletionCandidate> {
    values
        .into_iter()
        .map(|(v, help)| CompletionCandidate::new(v).help(help.map(Into::into)))
        .collect()
}

fn connections_of(role: Option<Role>) -> Vec<CompletionCandidate> {
    let Some(config) = config() else {
        return Vec::new();
    };
    of(config
        .connections
        .iter()
        .filter(|(_, s)| role.is_none_or(|r| s.kind().role() == r))
        .map(|(n, s)| (n.clone(), Some(s.kind().display_name().to_string()))))
}

/// Every configured connection.
pub fn connections() -> ArgValueCandidates {
    ArgValueCandidates::new(|| connections_of(None))
}

/// Vendor connections.
pub fn vendors() -> ArgValueCandidates {
    ArgValueCandidates::new(|| connections_of(Some(Role::Vendor)))
}

/// PSA connections.
pub fn psas() -> ArgValueCandidates {
    ArgValueCandidates::new(|| connections_of(Some(Role::Psa)))
}

/// Service keys: of the latest findings (mapped or not) and of the mappings.
pub fn services() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let mut keys = BTreeSet::new();
        let store = store();
        if let Some(r) = latest(store.as_ref()) {
            for f in &r.findings {
                for s in &f.services {
                    if let Some((_, key)) = s.split_once('/') {
                        keys.insert(key.to_string());
                    }
                }
            }
        }
        if let Some(m) = store.and_then(|s| s.service_mappings().ok()) {
            keys.extend(m.into_iter().map(|m| m.service_key));
        }
        of(keys.into_iter().map(|k| (k, None)))
    })
}

/// PSA product identifiers of the latest findings and of the mappings.
pub fn products() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let mut ids = BTreeSet::new();
        let store = store();
        if let Some(r) = latest(store.as_ref()) {
            ids.extend(r.findings.into_iter().filter_map(|f| f.product));
        }
        if let Some(m) = store.and_then(|s| s.service_mappings().ok()) {
            ids.extend(
                m.into_iter()
                    .filter_map(|m| m.target.map(|t| t.product_identifier)),
            );
        }
        of(ids.into_iter().map(|k| (k, None)))
    })
}

/// Company names: the billable companies of every PSA's current snapshot (what `map account
/// --to` and `explain` take), and those of the latest findings.
pub fn companies() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let store = store();
        let mut names: BTreeSet<String> = latest(store.as_ref())
            .map(|r| r.findings.into_iter().filter_map(|f| f.company).collect())
            .unwrap_or_default();
        if let (Some(config), Some(store)) = (config(), store)
            && let Ok(cur) = Current::load_psas(&config, &store, Scope::Current, Timestamp::now())
        {
            for (_, _, snap) in &cur.psas {
                names.extend(
                    snap.companies
                        .iter()
                        .filter(|c| c.billable)
                        .map(|c| c.name.clone()),
                );
            }
        }
        of(names.into_iter().map(|n| (n, None)))
    })
}

/// Finding ids of the latest findings, discrepancies first, each with what it is about.
pub fn finding_ids() -> ArgValueCandidates {
    ArgValueCandidates::new(finding_candidates)
}

/// Companies, then finding ids (`explain` takes either).
pub fn companies_or_findings() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let mut all = companies().candidates();
        all.extend(finding_candidates());
        all
    })
}

fn finding_candidates() -> Vec<CompletionCandidate> {
    let Some(r) = latest(store().as_ref()) else {
        return Vec::new();
    };
    let mut findings = r.findings;
    findings.sort_by_key(|f| !f.kind.is_discrepancy());
    of(findings.into_iter().map(|f| {
        let about = [f.company.as_deref(), f.product.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
        (f.id, Some(format!("{} {about}", f.kind.as_str())))
    }))
}
