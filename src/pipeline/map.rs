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
}

/// What [`auto_map`] did and what it left for a person.
pub struct MapState {
    /// The mappings it added (exact, unique name matches).
    pub added: Vec<AccountMapping>,
    pub unmapped_accounts: Vec<UnmappedAccount>,
    pub unmapped_services: Vec<UnmappedService>,
    /// Configured connections with no synced data, so nothing to map yet.
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
