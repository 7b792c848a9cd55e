//! Table-driven tests of the engine: each case is a small world (devices, lines, mappings) and
//! the findings a billing manager should see in it.

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::*;
use crate::model::{
    AccountMapping, BillCustomer, CompanyTarget, MapSource, ProductTarget, PsaAgreement,
    PsaCompany, PsaLine, PsaProduct, PsaSnapshot, ServiceDef, ServiceFamily, ServiceMapping,
    UsageItem, VendorAccount, VendorSnapshot,
};

const AS_OF: &str = "2026-06-15T00:00:00Z";

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn services() -> Vec<ServiceDef> {
    vec![
        ServiceDef {
            key: "ws".into(),
            name: "Workstations".into(),
            classes: Some(vec!["WS".into()]),
            ..ServiceDef::default()
        },
        ServiceDef {
            key: "srv".into(),
            name: "Servers".into(),
            classes: Some(vec!["SRV".into()]),
            ..ServiceDef::default()
        },
    ]
}

/// A world: org "1" (Acme) and org "2" (Beta) in NinjaOne; companies "10" and "20" in the PSA.
struct World {
    vendor: VendorSnapshot,
    psa: PsaSnapshot,
    accounts: Vec<AccountMapping>,
    services: Vec<ServiceMapping>,
}

fn world() -> World {
    let company = |id: &str, name: &str| PsaCompany {
        id: id.into(),
        identifier: name.to_uppercase(),
        name: name.into(),
        status: "Active".into(),
        types: vec!["Client".into()],
        billable: true,
        not_billable_reason: None,
        raw: None,
    };
    let agreement = |id: &str, company: &str| PsaAgreement {
        id: id.into(),
        company_id: company.into(),
        name: format!("MSA {id}"),
        agreement_type: None,
        status: "Active".into(),
        start: Some(ts("2024-01-01T00:00:00Z")),
        end: None,
        cancelled: false,
        billing_cycle: Some("Monthly".into()),
        raw: None,
    };
    World {
        vendor: VendorSnapshot {
            accounts: vec![
                VendorAccount {
                    id: "1".into(),
                    name: "Acme".into(),
                    raw: None,
                },
                VendorAccount {
                    id: "2".into(),
                    name: "Beta".into(),
                    raw: None,
                },
            ],
            items: Vec::new(),
            unreadable: BTreeMap::new(),
            set_aside: Vec::new(),
        },
        psa: PsaSnapshot {
            companies: vec![company("10", "Acme"), company("20", "Beta")],
            agreements: vec![agreement("100", "10"), agreement("200", "20")],
            lines: Vec::new(),
            products: vec![PsaProduct {
                id: "7".into(),
                identifier: "WS".into(),
                description: None,
                price: Some(d("30")),
                cost: None,
                inactive: false,
                raw: None,
            }],
            ..PsaSnapshot::default()
        },
        accounts: vec![
            map_account("1", "Acme", "10"),
            map_account("2", "Beta", "20"),
        ],
        services: vec![
            map_service("ws", Some("WS")),
            map_service("srv", Some("SRV")),
        ],
    }
}

fn map_account(account: &str, name: &str, company: &str) -> AccountMapping {
    AccountMapping {
        vendor_connection: "ninja".into(),
        account_id: account.into(),
        account_name: name.into(),
        target: Some(CompanyTarget {
            connection: "cw".into(),
            company_id: company.into(),
            company_name: name.into(),
        }),
        source: MapSource::Manual,
    }
}

fn map_service(key: &str, product: Option<&str>) -> ServiceMapping {
    ServiceMapping {
        vendor_connection: "ninja".into(),
        service_key: key.into(),
        target: product.map(|p| ProductTarget {
            connection: "cw".into(),
            product_identifier: p.into(),
        }),
        source: MapSource::Manual,
    }
}

fn devices(w: &mut World, account: &str, class: &str, n: usize, pending: bool) {
    let start = w.vendor.items.len();
    for i in 0..n {
        w.vendor.items.push(UsageItem {
            id: format!("{account}-{class}-{}", start + i),
            account_id: account.into(),
            name: format!("{class}-{i}"),
            class: class.into(),
            raw_class: class.into(),
            online: Some(true),
            last_contact: None,
            pending_approval: pending,
            attrs: BTreeMap::new(),
            raw: None,
        });
    }
}

fn line(w: &mut World, id: &str, agreement: &str, product: &str, qty: &str, price: &str) -> usize {
    let company = w
        .psa
        .agreements
        .iter()
        .find(|a| a.id == agreement)
        .unwrap()
        .company_id
        .clone();
    w.psa.lines.push(PsaLine {
        id: id.into(),
        agreement_id: agreement.into(),
        company_id: company,
        product_id: None,
        product_identifier: product.into(),
        description: None,
        quantity: d(qty),
        less_included: Decimal::ZERO,
        unit_price: d(price),
        unit_cost: Decimal::ZERO,
        effective: Some(ts("2025-01-01T00:00:00Z")),
        cancelled: None,
        bill_customer: BillCustomer::Billable,
        invoiced: None,
        raw: None,
    });
    w.psa.lines.len() - 1
}

fn run(w: &World) -> Vec<Finding> {
    run_with(w, &Tolerances::default(), &BTreeMap::new())
}

fn run_with(
    w: &World,
    tolerances: &Tolerances,
    unhealthy: &BTreeMap<String, String>,
) -> Vec<Finding> {
    let services = services();
    findings(&Input {
        as_of: ts(AS_OF),
        vendors: vec![VendorInput {
            connection: "ninja",
            services: &services,
            snapshot: &w.vendor,
        }],
        psas: vec![PsaInput {
            connection: "cw",
            snapshot: &w.psa,
            records_cost: true,
        }],
        accounts: &w.accounts,
        services: &w.services,
        tolerances,
        rules: &Rules::default(),
        unhealthy,
        period: None,
    })
}

/// The default rules with a contract on the `cw/WS` product.
fn contract_rules(included: &str, minimum: &str, rounding: Rounding) -> Rules {
    let mut r = Rules::default();
    r.contracts.insert(
        "cw/WS".into(),
        Contract {
            included: d(included),
            minimum: d(minimum),
            rounding,
        },
    );
    r
}

mod cost;
mod findings;
mod period;
mod quantities;
mod rules;
