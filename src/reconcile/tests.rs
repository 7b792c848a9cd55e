//! Table-driven tests of the engine: each case is a small world (devices, lines, mappings) and
//! the findings a billing manager should see in it.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::*;
use crate::model::{
    CompanyTarget, MapSource, ProductTarget, PsaCompany, PsaProduct, UsageItem, VendorAccount,
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
        },
        ServiceDef {
            key: "srv".into(),
            name: "Servers".into(),
            classes: Some(vec!["SRV".into()]),
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
        raw: None,
    });
    w.psa.lines.len() - 1
}

fn run(w: &World) -> Vec<Finding> {
    let services = services();
    reconcile(&Input {
        as_of: ts(AS_OF),
        vendors: vec![VendorInput {
            connection: "ninja",
            services: &services,
            snapshot: &w.vendor,
        }],
        psas: vec![PsaInput {
            connection: "cw",
            snapshot: &w.psa,
        }],
        accounts: &w.accounts,
        services: &w.services,
    })
}

/// What a case expects for the Acme workstation line.
struct Expect {
    kind: FindingKind,
    billed: &'static str,
    actual: &'static str,
    impact: Option<&'static str>,
    note_contains: &'static str,
}

#[test]
fn acme_workstation_line_cases() {
    type Setup = fn(&mut World);
    let cases: Vec<(&str, Setup, Expect)> = vec![
        (
            "counts equal: match",
            |w| {
                devices(w, "1", "WS", 5, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Expect {
                kind: FindingKind::Match,
                billed: "5",
                actual: "5",
                impact: Some("0"),
                note_contains: "",
            },
        ),
        (
            "more devices than billed: under-billed, positive impact",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Expect {
                kind: FindingKind::UnderBilled,
                billed: "5",
                actual: "7",
                impact: Some("60"),
                note_contains: "",
            },
        ),
        (
            "fewer devices than billed: over-billed, negative impact",
            |w| {
                devices(w, "1", "WS", 3, false);
                line(w, "a", "100", "WS", "5", "30.50");
            },
            Expect {
                kind: FindingKind::OverBilled,
                billed: "5",
                actual: "3",
                impact: Some("-61.00"),
                note_contains: "",
            },
        ),
        (
            "devices and no line: usage with no billing line priced from the catalog",
            |w| devices(w, "1", "WS", 4, false),
            Expect {
                kind: FindingKind::UsageNoBilling,
                billed: "0",
                actual: "4",
                impact: Some("120"),
                note_contains: "catalog price",
            },
        ),
        (
            "a line and no devices: billing line with no usage",
            |w| {
                line(w, "a", "100", "WS", "6", "30");
            },
            Expect {
                kind: FindingKind::BillingNoUsage,
                billed: "6",
                actual: "0",
                impact: Some("-180"),
                note_contains: "",
            },
        ),
        (
            "pending devices are not billable",
            |w| {
                devices(w, "1", "WS", 5, false);
                devices(w, "1", "WS", 2, true);
                line(w, "a", "100", "WS", "5", "30");
            },
            Expect {
                kind: FindingKind::Match,
                billed: "5",
                actual: "5",
                impact: Some("0"),
                note_contains: "2 item(s) pending",
            },
        ),
        (
            "a cancelled line is not counted",
            |w| {
                devices(w, "1", "WS", 5, false);
                line(w, "a", "100", "WS", "5", "30");
                let i = line(w, "b", "100", "WS", "3", "30");
                w.psa.lines[i].cancelled = Some(ts("2026-03-01T00:00:00Z"));
            },
            Expect {
                kind: FindingKind::Match,
                billed: "5",
                actual: "5",
                impact: Some("0"),
                note_contains: "cancelled or not yet effective",
            },
        ),
        (
            "a line effective next month is not counted yet",
            |w| {
                devices(w, "1", "WS", 5, false);
                let i = line(w, "a", "100", "WS", "5", "30");
                w.psa.lines[i].effective = Some(ts("2026-07-01T00:00:00Z"));
            },
            Expect {
                kind: FindingKind::UsageNoBilling,
                billed: "0",
                actual: "5",
                impact: Some("150"),
                note_contains: "not yet effective",
            },
        ),
        (
            "lines sum across agreements and name them",
            |w| {
                devices(w, "1", "WS", 9, false);
                let a2 = PsaAgreement {
                    id: "101".into(),
                    name: "Add-on".into(),
                    ..w.psa.agreements[0].clone()
                };
                w.psa.agreements.push(a2);
                line(w, "a", "100", "WS", "5", "30");
                line(w, "b", "101", "WS", "3", "30");
            },
            Expect {
                kind: FindingKind::UnderBilled,
                billed: "8",
                actual: "9",
                impact: Some("30"),
                note_contains: "",
            },
        ),
        (
            "lines on an expired agreement are not counted",
            |w| {
                devices(w, "1", "WS", 2, false);
                w.psa.agreements[0].end = Some(ts("2026-01-01T00:00:00Z"));
                line(w, "a", "100", "WS", "2", "30");
            },
            Expect {
                kind: FindingKind::UsageNoBilling,
                billed: "0",
                actual: "2",
                impact: Some("60"),
                note_contains: "agreements not active",
            },
        ),
        (
            "DoNotBill lines do not count as billed",
            |w| {
                devices(w, "1", "WS", 2, false);
                let i = line(w, "a", "100", "WS", "2", "30");
                w.psa.lines[i].bill_customer = BillCustomer::DoNotBill;
            },
            Expect {
                kind: FindingKind::UsageNoBilling,
                billed: "0",
                actual: "2",
                impact: Some("60"),
                note_contains: "DoNotBill",
            },
        ),
        (
            "less included: over-billing inside the free units costs nothing",
            |w| {
                devices(w, "1", "WS", 8, false);
                let i = line(w, "a", "100", "WS", "10", "30");
                w.psa.lines[i].less_included = d("10");
            },
            Expect {
                kind: FindingKind::OverBilled,
                billed: "10",
                actual: "8",
                impact: Some("0"),
                note_contains: "",
            },
        ),
        (
            "less included: usage above the quantity is charged",
            |w| {
                devices(w, "1", "WS", 12, false);
                let i = line(w, "a", "100", "WS", "10", "30");
                w.psa.lines[i].less_included = d("2");
            },
            Expect {
                kind: FindingKind::UnderBilled,
                billed: "10",
                actual: "12",
                impact: Some("60"),
                note_contains: "",
            },
        ),
        (
            "annual billing cycle: impact per month",
            |w| {
                devices(w, "1", "WS", 6, false);
                w.psa.agreements[0].billing_cycle = Some("Annual".into());
                line(w, "a", "100", "WS", "5", "120");
            },
            Expect {
                kind: FindingKind::UnderBilled,
                billed: "5",
                actual: "6",
                impact: Some("10"),
                note_contains: "",
            },
        ),
        (
            "unknown billing cycle: no made-up impact",
            |w| {
                devices(w, "1", "WS", 6, false);
                w.psa.agreements[0].billing_cycle = Some("Every Blue Moon".into());
                line(w, "a", "100", "WS", "5", "120");
            },
            Expect {
                kind: FindingKind::UnderBilled,
                billed: "5",
                actual: "6",
                impact: None,
                note_contains: "Every Blue Moon",
            },
        ),
        (
            "two prices: the latest line's price is used and said",
            |w| {
                devices(w, "1", "WS", 4, false);
                line(w, "a", "100", "WS", "1", "25");
                let i = line(w, "b", "100", "WS", "1", "35");
                w.psa.lines[i].effective = Some(ts("2026-02-01T00:00:00Z"));
            },
            Expect {
                kind: FindingKind::UnderBilled,
                billed: "2",
                actual: "4",
                impact: Some("70"),
                note_contains: "2 prices",
            },
        ),
        (
            "two vendor accounts mapped to one company add up",
            |w| {
                w.vendor.accounts.push(VendorAccount {
                    id: "3".into(),
                    name: "Acme Branch".into(),
                    raw: None,
                });
                w.accounts.push(map_account("3", "Acme Branch", "10"));
                devices(w, "1", "WS", 2, false);
                devices(w, "3", "WS", 3, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Expect {
                kind: FindingKind::Match,
                billed: "5",
                actual: "5",
                impact: Some("0"),
                note_contains: "",
            },
        ),
    ];

    for (name, setup, expect) in cases {
        let mut w = world();
        setup(&mut w);
        let findings = run(&w);
        let f = findings
            .iter()
            .find(|f| f.company_id.as_deref() == Some("10") && f.product.as_deref() == Some("WS"))
            .unwrap_or_else(|| panic!("{name}: no Acme/WS finding in {findings:#?}"));
        assert_eq!(f.kind, expect.kind, "{name}");
        assert_eq!(f.billed, Some(d(expect.billed)), "{name}: billed");
        assert_eq!(f.actual, Some(d(expect.actual)), "{name}: actual");
        assert_eq!(
            f.difference,
            Some(d(expect.actual) - d(expect.billed)),
            "{name}: difference"
        );
        assert_eq!(
            f.monthly_impact.map(|m| m.normalize()),
            expect.impact.map(|i| d(i).normalize()),
            "{name}: impact"
        );
        assert!(
            f.note.contains(expect.note_contains),
            "{name}: note `{}` lacks `{}`",
            f.note,
            expect.note_contains
        );
    }
}

#[test]
fn mapping_gap_cases() {
    type Setup = fn(&mut World);
    type Case = (&'static str, Setup, Vec<(FindingKind, &'static str)>);
    let cases: Vec<Case> = vec![
        (
            "an unmapped organization is reported with its device count",
            |w| {
                w.vendor.accounts.push(VendorAccount {
                    id: "9".into(),
                    name: "Gamma".into(),
                    raw: None,
                });
                devices(w, "9", "WS", 3, false);
            },
            vec![(FindingKind::UnmappedAccount, "Gamma")],
        ),
        (
            "an organization marked not billed is not reported",
            |w| {
                w.vendor.accounts.push(VendorAccount {
                    id: "9".into(),
                    name: "Internal IT".into(),
                    raw: None,
                });
                w.accounts.push(AccountMapping {
                    target: None,
                    ..map_account("9", "Internal IT", "x")
                });
                devices(w, "9", "WS", 3, false);
            },
            vec![],
        ),
        (
            "a service with usage and no mapping is reported",
            |w| {
                w.services.retain(|s| s.service_key != "srv");
                devices(w, "1", "SRV", 2, false);
            },
            vec![(FindingKind::UnmappedService, "ninja/srv")],
        ),
        (
            "a service with no usage on mapped accounts is not reported",
            |w| {
                w.services.retain(|s| s.service_key != "srv");
            },
            vec![],
        ),
        (
            "a service marked not billed is not reported",
            |w| {
                w.services.retain(|s| s.service_key != "srv");
                w.services.push(map_service("srv", None));
                devices(w, "1", "SRV", 2, false);
            },
            vec![],
        ),
    ];
    for (name, setup, expected) in cases {
        let mut w = world();
        setup(&mut w);
        let findings = run(&w);
        let gaps: Vec<(FindingKind, String)> = findings
            .iter()
            .filter(|f| {
                matches!(
                    f.kind,
                    FindingKind::UnmappedAccount | FindingKind::UnmappedService
                )
            })
            .map(|f| {
                (
                    f.kind,
                    f.accounts
                        .first()
                        .or(f.services.first())
                        .cloned()
                        .unwrap_or_default(),
                )
            })
            .collect();
        let expected: Vec<(FindingKind, String)> = expected
            .into_iter()
            .map(|(k, s)| (k, s.to_string()))
            .collect();
        assert_eq!(gaps, expected, "{name}");
    }
}

#[test]
fn unmapped_findings_come_first_then_companies_by_name() {
    let mut w = world();
    devices(&mut w, "2", "WS", 1, false);
    devices(&mut w, "1", "WS", 1, false);
    w.vendor.accounts.push(VendorAccount {
        id: "9".into(),
        name: "Zeta".into(),
        raw: None,
    });
    w.services.retain(|s| s.service_key != "srv");
    devices(&mut w, "1", "SRV", 1, false);
    let kinds: Vec<(FindingKind, Option<String>)> =
        run(&w).into_iter().map(|f| (f.kind, f.company)).collect();
    assert_eq!(
        kinds,
        vec![
            (FindingKind::UnmappedAccount, None),
            (FindingKind::UnmappedService, None),
            (FindingKind::UsageNoBilling, Some("Acme".into())),
            (FindingKind::UsageNoBilling, Some("Beta".into())),
        ]
    );
}

#[test]
fn finding_ids_are_stable_per_line_not_per_numbers() {
    let mut w = world();
    devices(&mut w, "1", "WS", 3, false);
    line(&mut w, "a", "100", "WS", "5", "30");
    let first = run(&w);
    devices(&mut w, "1", "WS", 4, false);
    let second = run(&w);
    assert_eq!(first[0].id, second[0].id);
    assert_ne!(first[0].kind, second[0].kind);
    assert_ne!(
        finding_id(&["line", "cw", "10", "WS"]),
        finding_id(&["line", "cw", "1", "0WS"])
    );
}

#[test]
fn totals_split_under_and_over() {
    let mut w = world();
    devices(&mut w, "1", "WS", 7, false); // +2 × 30 = 60
    line(&mut w, "a", "100", "WS", "5", "30");
    devices(&mut w, "2", "WS", 1, false); // -1 × 30 = -30
    line(&mut w, "b", "200", "WS", "2", "30");
    w.vendor.accounts.push(VendorAccount {
        id: "9".into(),
        name: "Gamma".into(),
        raw: None,
    });
    let findings = run(&w);
    let t = Totals::of(&findings);
    assert_eq!(t.under_billed_monthly, d("60"));
    assert_eq!(t.over_billed_monthly, d("30"));
    assert_eq!(t.by_kind["unmapped_account"], 1);
    assert_eq!(t.by_kind["under_billed"], 1);
    assert_eq!(t.by_kind["over_billed"], 1);
    assert_eq!(t.discrepancies_without_impact, 1);
}

#[test]
fn non_billable_companies_without_mappings_are_left_out() {
    let mut w = world();
    w.psa.companies.push(PsaCompany {
        id: "30".into(),
        identifier: "OLD".into(),
        name: "Old Client".into(),
        status: "Inactive".into(),
        types: vec![],
        billable: false,
        not_billable_reason: Some("status `Inactive` is inactive".into()),
        raw: None,
    });
    w.psa.agreements.push(PsaAgreement {
        id: "300".into(),
        company_id: "30".into(),
        ..w.psa.agreements[0].clone()
    });
    line(&mut w, "z", "300", "WS", "4", "30");
    assert!(
        run(&w)
            .iter()
            .all(|f| f.company_id.as_deref() != Some("30"))
    );
}

#[test]
fn months_per_cycle_names() {
    assert_eq!(months_per_cycle(Some("Monthly")), Some(Decimal::ONE));
    assert_eq!(
        months_per_cycle(Some("Semi-Annual")),
        Some(Decimal::from(6))
    );
    assert_eq!(months_per_cycle(Some("Quarterly")), Some(Decimal::from(3)));
    assert_eq!(months_per_cycle(None), Some(Decimal::ONE));
    assert_eq!(months_per_cycle(Some("Fortnightly-ish")), None);
}
