//! The vendor side: each vendor account mapped to a company, deliberately not billed, excluded
//! or reported `unmapped_account`; each service with usage mapped to a product, not billed or
//! reported `unmapped_service`; and the mapped services' usage counted per company and product
//! for the PSA side.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::count::{Counted, MappedService, VendorTally};
use super::finding::blank;
use super::{Finding, FindingKind, Input, VendorInput, finding_id};
use crate::model::{AccountMapping, CompanyTarget, ServiceMapping, VendorAccount};

/// Every vendor's mapping-gap findings, and the usage its mapped services count per company
/// and product.
pub(super) fn vendor_side(input: &Input) -> (Vec<Finding>, Counted) {
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
    let bases = input.period.map(|p| p.bases);
    let mut findings = Vec::new();
    let mut counted = Counted::default();
    for v in &input.vendors {
        let tally = VendorTally::new(v, input);
        let mapped = mapped_accounts(v, input, &account_map, &tally, &mut findings);
        for (si, service) in v.services.iter().enumerate() {
            match service_map.get(&(v.connection, service.key.as_str())) {
                None => findings.extend(unmapped_service(v, si, &tally, &mapped)),
                Some(ServiceMapping { target: None, .. }) => {}
                Some(ServiceMapping {
                    target: Some(product),
                    ..
                }) => {
                    let s = MappedService {
                        vendor: v,
                        index: si,
                        product,
                    };
                    counted.add_service(&s, &tally, &mapped, bases);
                }
            }
        }
    }
    (findings, counted)
}

/// The vendor's accounts mapped to a company, with that company. An account neither mapped
/// nor excluded account-wide becomes an `unmapped_account` finding in `out`; one mapped as not
/// billed is in neither.
fn mapped_accounts<'a>(
    v: &VendorInput<'a>,
    input: &Input,
    account_map: &HashMap<(&str, &str), &'a AccountMapping>,
    tally: &VendorTally,
    out: &mut Vec<Finding>,
) -> Vec<(&'a VendorAccount, &'a CompanyTarget)> {
    let mut mapped = Vec::new();
    let snapshot = v.snapshot;
    for account in snapshot.accounts() {
        match account_map.get(&(v.connection, account.id.as_str())) {
            None if input
                .rules
                .account_excluded(v.connection, &account.id, &account.name)
                .is_some() => {}
            None => out.push(unmapped_account(v, account, tally.items(&account.id))),
            Some(m) => {
                if let Some(target) = &m.target {
                    mapped.push((account, target));
                }
            }
        }
    }
    mapped
}

/// The finding for an account mapped to no company, with its items (not pending, pending).
fn unmapped_account(v: &VendorInput, account: &VendorAccount, items: (u64, u64)) -> Finding {
    let (n, pending) = items;
    Finding {
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
    }
}

fn pending_note(pending: u64) -> String {
    if pending > 0 {
        format!(" (+{pending} pending approval, not billable)")
    } else {
        String::new()
    }
}

/// The finding for service `si`, mapped to no product, when it counts units on the mapped
/// accounts (a service nobody uses needs no mapping).
fn unmapped_service(
    v: &VendorInput,
    si: usize,
    tally: &VendorTally,
    mapped: &[(&VendorAccount, &CompanyTarget)],
) -> Option<Finding> {
    let service = &v.services[si];
    let total: Decimal = mapped
        .iter()
        .map(|(a, _)| {
            tally
                .service(a.id.as_str(), si)
                .map(|c| c.counted)
                .unwrap_or_default()
        })
        .sum();
    if total <= Decimal::ZERO {
        return None;
    }
    let total = total.normalize();
    Some(Finding {
        id: finding_id(&["service", v.connection, &service.key]),
        kind: FindingKind::UnmappedService,
        vendor_connection: Some(v.connection.to_string()),
        services: vec![tally.labels[si].clone()],
        actual: Some(total),
        note: format!(
            "{} ({total} across mapped accounts) is not mapped to a product; map it: reconcile map service {} {} --to <product identifier> (or --not-billed)",
            service.name, v.connection, service.key
        ),
        ..blank()
    })
}

/// A vendor account an `[[exclude]]` took out of the counts, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedAccount {
    pub vendor_connection: String,
    pub account_id: String,
    pub account: String,
    pub items: usize,
    pub reason: String,
}

/// The unmapped accounts that account-wide exclusions remove: the ones [`findings`](super::findings)
/// leaves out of `unmapped_account` findings. (A mapped account's excluded items show in its
/// findings.)
pub fn excluded_accounts(input: &Input) -> Vec<ExcludedAccount> {
    let mapped: HashSet<(&str, &str)> = input
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
                let per_account = per_account.get_or_insert_with(|| items_per_account(v));
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

/// How many items each account of the vendor's snapshot has.
fn items_per_account(v: &VendorInput) -> HashMap<String, usize> {
    let mut n: HashMap<String, usize> = HashMap::new();
    v.snapshot
        .each_item(&mut |i| match n.get_mut(i.account_id()) {
            Some(c) => *c += 1,
            None => {
                n.insert(i.account_id().to_string(), 1);
            }
        });
    n
}
