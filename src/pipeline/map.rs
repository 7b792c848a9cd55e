//! Automatic mapping: applies exact, unique name matches between vendor accounts and PSA
//! companies, and lists the accounts and services that still need a person, with suggestions.

use anyhow::Result;
use rust_decimal::Decimal;

use crate::config::Config;
use crate::mapping;
use crate::model::{AccountMapping, ServiceDef, VendorAccount};
use crate::store::Store;

use super::snapshots::Current;

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
    /// (PSA connection, product identifier, product name, score), best first.
    pub suggestions: Vec<(String, String, String, f64)>,
}

/// What [`auto_map`] did and what it left for a person.
pub struct MapState {
    /// The mappings it added (exact, unique name matches).
    pub added: Vec<AccountMapping>,
    pub unmapped_accounts: Vec<UnmappedAccount>,
    pub unmapped_services: Vec<UnmappedService>,
    /// Configured connections with no synced data, so nothing to map yet.
    pub missing: Vec<String>,
    /// Unmapped accounts named exactly as one billable company in each of several PSA
    /// connections, so not mapped: how many, per set of connections.
    pub ambiguous: std::collections::BTreeMap<Vec<String>, usize>,
    /// The PSA connections companies were matched in (all, or `--psa`'s).
    pub psas: Vec<String>,
}

/// Applies exact, unique name matches (with the companies of `psa` only, when given) and lists
/// what still needs a person.
pub fn auto_map(config: &Config, store: &mut Store, psa: Option<&str>) -> Result<MapState> {
    let cur = Current::load(config, store)?;
    let mut psas = cur.psa_companies();
    if let Some(only) = psa {
        psas.retain(|p| p.connection == only);
    }
    let now = jiff::Timestamp::now();
    let catalogs: Vec<(&str, Vec<mapping::ProductInfo>)> = cur
        .psas
        .iter()
        .filter(|(name, ..)| psa.is_none_or(|only| only == name))
        .map(|(name, _, snap)| (name.as_str(), mapping::products(snap, now)))
        .collect();
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
                let mut suggestions: Vec<(String, String, String, f64)> = catalogs
                    .iter()
                    .flat_map(|(conn, products)| {
                        mapping::suggest_products(&s.key, &s.name, kind.as_str(), products, 3)
                            .into_iter()
                            .map(|(p, score)| {
                                (
                                    conn.to_string(),
                                    p.identifier.clone(),
                                    p.name.clone(),
                                    score,
                                )
                            })
                    })
                    .collect();
                suggestions.sort_by(|a, b| b.3.total_cmp(&a.3));
                suggestions.truncate(3);
                unmapped_services.push(UnmappedService {
                    vendor_connection: name.clone(),
                    service: s,
                    count,
                    suggestions,
                });
            }
        }
    }
    let mut ambiguous = std::collections::BTreeMap::new();
    for (name, _, _, snap) in &cur.vendors {
        let open: Vec<VendorAccount> = snap
            .accounts
            .iter()
            .filter(|a| {
                !existing
                    .iter()
                    .any(|m| &m.vendor_connection == name && m.account_id == a.id)
            })
            .cloned()
            .collect();
        for (_, conns) in mapping::ambiguous_across_psas(&open, &psas) {
            *ambiguous
                .entry(conns.iter().map(|c| c.to_string()).collect())
                .or_insert(0) += 1;
        }
    }
    Ok(MapState {
        added,
        unmapped_accounts,
        unmapped_services,
        missing: cur.missing.clone(),
        ambiguous,
        psas: psas.iter().map(|p| p.connection.to_string()).collect(),
    })
}
