//! Snapshots the pipeline's tests sync into an in-memory store.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::model::{
    BillCustomer, PsaLine, PsaSnapshot, Snapshot, UsageItem, VendorAccount, VendorSnapshot,
};

/// One account ("Acme", id 1) with `n` Windows workstations.
pub fn vendor(n: usize) -> Snapshot {
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

/// `lines` agreement lines of product `WS` for company 1.
pub fn psa(lines: usize) -> Snapshot {
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
                quantity: Decimal::ONE,
                less_included: Decimal::ZERO,
                unit_price: Decimal::ONE,
                unit_cost: Decimal::ZERO,
                effective: None,
                cancelled: None,
                bill_customer: BillCustomer::Billable,
                invoiced: None,
                raw: None,
            })
            .collect(),
        products: Vec::new(),
        ..PsaSnapshot::default()
    })
}
