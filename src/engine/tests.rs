//! Table-driven tests of the engine: each case is a small world (devices, lines, mappings) and
//! the findings a billing manager should see in it.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::*;
use crate::model::{
    CompanyTarget, MapSource, ProductTarget, PsaCompany, PsaProduct, ServiceFamily, UsageItem,
    VendorAccount, VendorSnapshot,
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
        }],
        accounts: &w.accounts,
        services: &w.services,
        tolerances,
        rules: &Rules::default(),
        unhealthy,
        period: None,
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

fn tol(
    increase_abs: &str,
    increase_pct: &str,
    decrease_abs: &str,
    decrease_pct: &str,
) -> Tolerance {
    Tolerance {
        increase_abs: d(increase_abs),
        increase_pct: d(increase_pct),
        decrease_abs: d(decrease_abs),
        decrease_pct: d(decrease_pct),
    }
}

#[test]
fn tolerance_cases() {
    type Setup = fn(&mut World);
    // (case, setup of the Acme workstation line, tolerances, expected kind, expected impact)
    let cases: Vec<(&str, Setup, Tolerances, FindingKind, Option<&str>)> = vec![
        (
            "no tolerance configured: +1 is under-billed",
            |w| {
                devices(w, "1", "WS", 6, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances::default(),
            FindingKind::UnderBilled,
            Some("30"),
        ),
        (
            "increase within increase_abs (equal counts as within), impact kept",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: tol("2", "0", "0", "0"),
                ..Default::default()
            },
            FindingKind::WithinTolerance,
            Some("60"),
        ),
        (
            "increase above increase_abs: under-billed",
            |w| {
                devices(w, "1", "WS", 8, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: tol("2", "0", "0", "0"),
                ..Default::default()
            },
            FindingKind::UnderBilled,
            Some("90"),
        ),
        (
            "increase within increase_pct of billed (1 of 10 = 10%)",
            |w| {
                devices(w, "1", "WS", 11, false);
                line(w, "a", "100", "WS", "10", "30");
            },
            Tolerances {
                default: tol("0", "10", "0", "0"),
                ..Default::default()
            },
            FindingKind::WithinTolerance,
            Some("30"),
        ),
        (
            "increase above increase_pct (2 of 10 = 20%)",
            |w| {
                devices(w, "1", "WS", 12, false);
                line(w, "a", "100", "WS", "10", "30");
            },
            Tolerances {
                default: tol("0", "10", "0", "0"),
                ..Default::default()
            },
            FindingKind::UnderBilled,
            Some("60"),
        ),
        (
            "abs OR pct: within pct though above abs",
            |w| {
                devices(w, "1", "WS", 13, false);
                line(w, "a", "100", "WS", "10", "30");
            },
            Tolerances {
                default: tol("1", "30", "0", "0"),
                ..Default::default()
            },
            FindingKind::WithinTolerance,
            Some("90"),
        ),
        (
            "an increase tolerance does not cover a decrease",
            |w| {
                devices(w, "1", "WS", 4, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: tol("5", "50", "0", "0"),
                ..Default::default()
            },
            FindingKind::OverBilled,
            Some("-30"),
        ),
        (
            "decrease within decrease_abs",
            |w| {
                devices(w, "1", "WS", 4, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: tol("0", "0", "1", "0"),
                ..Default::default()
            },
            FindingKind::WithinTolerance,
            Some("-30"),
        ),
        (
            "decrease within decrease_pct (1 of 10)",
            |w| {
                devices(w, "1", "WS", 9, false);
                line(w, "a", "100", "WS", "10", "30");
            },
            Tolerances {
                default: tol("0", "0", "0", "10"),
                ..Default::default()
            },
            FindingKind::WithinTolerance,
            Some("-30"),
        ),
        (
            "a decrease tolerance does not cover an increase",
            |w| {
                devices(w, "1", "WS", 6, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: tol("0", "0", "5", "50"),
                ..Default::default()
            },
            FindingKind::UnderBilled,
            Some("30"),
        ),
        (
            "per-service override loosens the global value",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: Tolerance::default(),
                services: [("ninja/ws".to_string(), tol("3", "0", "0", "0"))].into(),
            },
            FindingKind::WithinTolerance,
            Some("60"),
        ),
        (
            "per-service override tightens the global value",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: tol("5", "0", "0", "0"),
                services: [("ninja/ws".to_string(), Tolerance::default())].into(),
            },
            FindingKind::UnderBilled,
            Some("60"),
        ),
        (
            "another service's override does not apply",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: Tolerance::default(),
                services: [("ninja/srv".to_string(), tol("9", "0", "0", "0"))].into(),
            },
            FindingKind::UnderBilled,
            Some("60"),
        ),
        (
            "never for usage with no billing line",
            |w| {
                devices(w, "1", "WS", 1, false);
            },
            Tolerances {
                default: tol("10", "100", "10", "100"),
                ..Default::default()
            },
            FindingKind::UsageNoBilling,
            Some("30"),
        ),
        (
            "never for a billing line with no usage",
            |w| {
                line(w, "a", "100", "WS", "1", "30");
            },
            Tolerances {
                default: tol("10", "100", "10", "100"),
                ..Default::default()
            },
            FindingKind::BillingNoUsage,
            Some("-30"),
        ),
        (
            "a match stays a match",
            |w| {
                devices(w, "1", "WS", 5, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Tolerances {
                default: tol("10", "100", "10", "100"),
                ..Default::default()
            },
            FindingKind::Match,
            Some("0"),
        ),
    ];
    for (name, setup, tolerances, kind, impact) in cases {
        let mut w = world();
        setup(&mut w);
        let findings = run_with(&w, &tolerances, &BTreeMap::new());
        let f = findings
            .iter()
            .find(|f| f.company.as_deref() == Some("Acme") && f.product.as_deref() == Some("WS"))
            .unwrap_or_else(|| panic!("{name}: no Acme/WS finding in {findings:#?}"));
        assert_eq!(f.kind, kind, "{name}: {f:#?}");
        assert_eq!(f.monthly_impact, impact.map(d), "{name}: {f:#?}");
        if kind == FindingKind::WithinTolerance {
            assert!(f.note.contains("within tolerance"), "{name}: {}", f.note);
            assert!(!f.kind.is_discrepancy());
        }
    }
}

#[test]
fn within_tolerance_impact_is_kept_out_of_the_money_totals() {
    let mut w = world();
    devices(&mut w, "1", "WS", 6, false); // +1 × 30, within tolerance
    line(&mut w, "a", "100", "WS", "5", "30");
    devices(&mut w, "2", "WS", 5, false); // +3 × 30, beyond it
    line(&mut w, "b", "200", "WS", "2", "30");
    let tolerances = Tolerances {
        default: tol("1", "0", "0", "0"),
        ..Default::default()
    };
    let t = Totals::of(&run_with(&w, &tolerances, &BTreeMap::new()));
    assert_eq!(t.under_billed_monthly, d("90"));
    assert_eq!(t.within_tolerance_monthly, d("30"));
    assert_eq!(t.by_kind["within_tolerance"], 1);
    assert_eq!(t.by_kind["under_billed"], 1);
    assert_eq!(t.discrepancies_without_impact, 0);
}

#[test]
fn stale_source_cases() {
    // Acme: WS under-billed (7 vs 5). Beta: WS billed 2, no devices. Zeta: unmapped account.
    let setup = || {
        let mut w = world();
        devices(&mut w, "1", "WS", 7, false);
        line(&mut w, "a", "100", "WS", "5", "30");
        line(&mut w, "b", "200", "WS", "2", "30");
        w.vendor.accounts.push(VendorAccount {
            id: "9".into(),
            name: "Zeta".into(),
            raw: None,
        });
        w
    };
    // (case, unhealthy connection, expected kinds: Acme/WS, Beta/WS, unmapped Zeta)
    let cases: Vec<(&str, &str, [FindingKind; 3])> = vec![
        (
            "all healthy",
            "",
            [
                FindingKind::UnderBilled,
                FindingKind::BillingNoUsage,
                FindingKind::UnmappedAccount,
            ],
        ),
        (
            "an unrelated connection is unhealthy",
            "other",
            [
                FindingKind::UnderBilled,
                FindingKind::BillingNoUsage,
                FindingKind::UnmappedAccount,
            ],
        ),
        (
            // Beta's line counts no device, but the product is fed by `ninja`: stale too.
            "vendor stale: every finding that uses its data",
            "ninja",
            [
                FindingKind::StaleSource,
                FindingKind::StaleSource,
                FindingKind::StaleSource,
            ],
        ),
        (
            "psa stale: the line findings, not the vendor's mapping gaps",
            "cw",
            [
                FindingKind::StaleSource,
                FindingKind::StaleSource,
                FindingKind::UnmappedAccount,
            ],
        ),
    ];
    for (name, bad, kinds) in cases {
        let w = setup();
        let unhealthy: BTreeMap<String, String> = if bad.is_empty() {
            BTreeMap::new()
        } else {
            [(bad.to_string(), "its last sync failed (boom)".to_string())].into()
        };
        let findings = run_with(&w, &Tolerances::default(), &unhealthy);
        let find = |pred: &dyn Fn(&Finding) -> bool| {
            findings
                .iter()
                .find(|f| pred(f))
                .unwrap_or_else(|| panic!("{name}: {findings:#?}"))
        };
        let got = [
            find(&|f| f.company.as_deref() == Some("Acme")),
            find(&|f| f.company.as_deref() == Some("Beta")),
            find(&|f| f.accounts == ["Zeta"]),
        ];
        for (f, kind) in got.iter().zip(kinds) {
            assert_eq!(f.kind, kind, "{name}: {f:#?}");
            if kind == FindingKind::StaleSource {
                assert!(
                    f.note.starts_with(&format!(
                        "`{bad}` is not healthy: its last sync failed (boom)"
                    )),
                    "{name}: {}",
                    f.note
                );
                assert_eq!(f.monthly_impact, None, "{name}");
            }
        }
        if bad == "ninja" {
            assert!(
                got[0]
                    .note
                    .contains("from this data it would be under_billed with impact 60/month"),
                "{}",
                got[0].note
            );
        }
        let t = Totals::of(&findings);
        if kinds[0] == FindingKind::StaleSource {
            assert_eq!(t.under_billed_monthly, Decimal::ZERO, "{name}");
            assert_eq!(t.over_billed_monthly, Decimal::ZERO, "{name}");
            assert_eq!(
                t.by_kind["stale_source"],
                kinds
                    .iter()
                    .filter(|k| **k == FindingKind::StaleSource)
                    .count()
            );
        }
    }
}

#[test]
fn report_order_is_by_kind_then_company_then_product() {
    let mut w = world();
    // Acme: WS under-billed (beyond tolerance), SRV within tolerance.
    devices(&mut w, "1", "WS", 9, false);
    line(&mut w, "a", "100", "WS", "5", "30");
    devices(&mut w, "1", "SRV", 6, false);
    line(&mut w, "s", "100", "SRV", "5", "90");
    // Beta: WS match, SRV over-billed.
    devices(&mut w, "2", "WS", 2, false);
    line(&mut w, "b", "200", "WS", "2", "30");
    devices(&mut w, "2", "SRV", 1, false);
    line(&mut w, "c", "200", "SRV", "4", "90");
    // A second PSA-side company fed by a stale vendor would be stale; here: an unmapped account.
    w.vendor.accounts.push(VendorAccount {
        id: "9".into(),
        name: "Zeta".into(),
        raw: None,
    });
    let tolerances = Tolerances {
        default: Tolerance::default(),
        services: [("ninja/srv".to_string(), tol("1", "0", "0", "0"))].into(),
    };
    let kinds: Vec<(FindingKind, Option<String>, Option<String>)> =
        run_with(&w, &tolerances, &BTreeMap::new())
            .into_iter()
            .map(|f| (f.kind, f.company, f.product))
            .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        kinds,
        vec![
            (FindingKind::UnmappedAccount, None, None),
            (FindingKind::UnderBilled, s("Acme"), s("WS")),
            (FindingKind::OverBilled, s("Beta"), s("SRV")),
            (FindingKind::WithinTolerance, s("Acme"), s("SRV")),
            (FindingKind::Match, s("Beta"), s("WS")),
        ]
    );
    // A stale source sorts right after the mapping gaps.
    let unhealthy: BTreeMap<String, String> = [("cw".to_string(), "old".to_string())].into();
    let kinds: Vec<FindingKind> = run_with(&w, &tolerances, &unhealthy)
        .into_iter()
        .map(|f| f.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![
            FindingKind::UnmappedAccount,
            FindingKind::StaleSource,
            FindingKind::StaleSource,
            FindingKind::StaleSource,
            FindingKind::StaleSource,
        ]
    );
    assert_eq!(FindingKind::ALL.len(), 9);
    for (i, k) in FindingKind::ALL.iter().enumerate() {
        assert_eq!(k.rank(), i);
    }
}

// ---- Counting rules: stale threshold, pending approval, exclusions, contracts, custom services.

fn run_full(w: &World, services: &[ServiceDef], rules: &Rules) -> Vec<Finding> {
    findings(&Input {
        as_of: ts(AS_OF),
        vendors: vec![VendorInput {
            connection: "ninja",
            services,
            snapshot: &w.vendor,
        }],
        psas: vec![PsaInput {
            connection: "cw",
            snapshot: &w.psa,
        }],
        accounts: &w.accounts,
        services: &w.services,
        tolerances: &Tolerances::default(),
        rules,
        unhealthy: &BTreeMap::new(),
        period: None,
    })
}

/// Sets the last contact of the last `n` items to `days` days before [`AS_OF`].
fn last_seen(w: &mut World, n: usize, days: i64) {
    let at = ts(AS_OF) - jiff::SignedDuration::from_hours(24 * days);
    let len = w.vendor.items.len();
    for i in &mut w.vendor.items[len - n..] {
        i.last_contact = Some(at);
    }
}

/// Renames the last `n` items `<prefix>-<i>`.
fn rename(w: &mut World, n: usize, prefix: &str) {
    let len = w.vendor.items.len();
    for (k, i) in w.vendor.items[len - n..].iter_mut().enumerate() {
        i.name = format!("{prefix}-{k}");
    }
}

fn exclude(
    reason: &str,
    account: Option<&str>,
    device: Option<&str>,
    service: Option<&str>,
) -> Exclusion {
    Exclusion {
        reason: reason.into(),
        account: account.map(Into::into),
        device_name: device.map(Into::into),
        service: service.map(Into::into),
    }
}

struct RuleExpect {
    kind: FindingKind,
    actual: &'static str,
    pending: Option<&'static str>,
    inactive: Option<&'static str>,
    excluded: Option<&'static str>,
    contract_qty: Option<&'static str>,
    difference: &'static str,
    note_contains: &'static str,
}

impl Default for RuleExpect {
    fn default() -> RuleExpect {
        RuleExpect {
            kind: FindingKind::Match,
            actual: "5",
            pending: None,
            inactive: None,
            excluded: None,
            contract_qty: None,
            difference: "0",
            note_contains: "",
        }
    }
}

#[test]
fn counting_rule_cases() {
    type Setup = fn(&mut World);
    type MakeRules = fn() -> Rules;
    let cases: Vec<(&str, Setup, MakeRules, RuleExpect)> = vec![
        (
            "stale devices (default 30 days) are inactive, shown beside the count",
            |w| {
                devices(w, "1", "WS", 7, false);
                last_seen(w, 2, 40);
                line(w, "a", "100", "WS", "5", "30");
            },
            Rules::default,
            RuleExpect {
                inactive: Some("2"),
                note_contains: "2 item(s) inactive (no contact for more than 30 days), not counted",
                ..Default::default()
            },
        ),
        (
            "exactly 30 days is not more than 30: counted",
            |w| {
                devices(w, "1", "WS", 5, false);
                last_seen(w, 2, 30);
                line(w, "a", "100", "WS", "5", "30");
            },
            Rules::default,
            RuleExpect::default(),
        ),
        (
            "no known last contact: counted",
            |w| {
                devices(w, "1", "WS", 5, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            Rules::default,
            RuleExpect::default(),
        ),
        (
            "a per-service threshold overrides the global one",
            |w| {
                devices(w, "1", "WS", 7, false);
                last_seen(w, 2, 40);
                line(w, "a", "100", "WS", "5", "30");
            },
            || {
                let mut r = Rules::default();
                r.service_inactive_after_days
                    .insert("ninja/ws".into(), Some(60));
                r
            },
            RuleExpect {
                kind: FindingKind::UnderBilled,
                actual: "7",
                difference: "2",
                ..Default::default()
            },
        ),
        (
            "no threshold: old devices count",
            |w| {
                devices(w, "1", "WS", 7, false);
                last_seen(w, 2, 400);
                line(w, "a", "100", "WS", "5", "30");
            },
            Rules::none,
            RuleExpect {
                kind: FindingKind::UnderBilled,
                actual: "7",
                difference: "2",
                ..Default::default()
            },
        ),
        (
            "pending approval beats stale: reported as pending",
            |w| {
                devices(w, "1", "WS", 5, false);
                devices(w, "1", "WS", 2, true);
                last_seen(w, 2, 40);
                line(w, "a", "100", "WS", "5", "30");
            },
            Rules::default,
            RuleExpect {
                pending: Some("2"),
                note_contains: "2 item(s) pending approval",
                ..Default::default()
            },
        ),
        (
            "count_pending = true bills pending devices",
            |w| {
                devices(w, "1", "WS", 5, false);
                devices(w, "1", "WS", 2, true);
                line(w, "a", "100", "WS", "5", "30");
            },
            || Rules {
                count_pending: true,
                ..Rules::default()
            },
            RuleExpect {
                kind: FindingKind::UnderBilled,
                actual: "7",
                difference: "2",
                ..Default::default()
            },
        ),
        (
            "an exclusion by device name glob, case-insensitive, with its reason",
            |w| {
                devices(w, "1", "WS", 5, false);
                devices(w, "1", "WS", 2, false);
                rename(w, 2, "LAB-PC");
                line(w, "a", "100", "WS", "5", "30");
            },
            || Rules {
                exclusions: vec![exclude("lab machines", None, Some("lab-*"), None)],
                ..Rules::default()
            },
            RuleExpect {
                excluded: Some("2"),
                note_contains: "2 item(s) excluded: lab machines",
                ..Default::default()
            },
        ),
        (
            "an exclusion wins over stale and pending",
            |w| {
                devices(w, "1", "WS", 5, false);
                devices(w, "1", "WS", 2, true);
                rename(w, 2, "LAB-PC");
                last_seen(w, 2, 90);
                line(w, "a", "100", "WS", "5", "30");
            },
            || Rules {
                exclusions: vec![exclude("lab", None, Some("LAB-??-*"), None)],
                ..Rules::default()
            },
            RuleExpect {
                excluded: Some("2"),
                ..Default::default()
            },
        ),
        (
            "an exclusion by account (name, folded) removes all its devices",
            |w| {
                devices(w, "1", "WS", 5, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            || Rules {
                exclusions: vec![exclude("internal", Some("  ACME "), None, None)],
                ..Rules::default()
            },
            RuleExpect {
                kind: FindingKind::BillingNoUsage,
                actual: "0",
                excluded: Some("5"),
                difference: "-5",
                note_contains: "5 item(s) excluded: internal",
                ..Default::default()
            },
        ),
        (
            "an exclusion by account id",
            |w| {
                devices(w, "1", "WS", 5, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            || Rules {
                exclusions: vec![exclude("internal", Some("1"), None, None)],
                ..Rules::default()
            },
            RuleExpect {
                kind: FindingKind::BillingNoUsage,
                actual: "0",
                excluded: Some("5"),
                difference: "-5",
                ..Default::default()
            },
        ),
        (
            "an exclusion by this service",
            |w| {
                devices(w, "1", "WS", 5, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            || Rules {
                exclusions: vec![exclude("billed elsewhere", None, None, Some("ninja/ws"))],
                ..Rules::default()
            },
            RuleExpect {
                kind: FindingKind::BillingNoUsage,
                actual: "0",
                excluded: Some("5"),
                difference: "-5",
                ..Default::default()
            },
        ),
        (
            "an exclusion of another service leaves this one alone",
            |w| {
                devices(w, "1", "WS", 5, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            || Rules {
                exclusions: vec![exclude("x", None, None, Some("ninja/srv"))],
                ..Rules::default()
            },
            RuleExpect::default(),
        ),
        (
            "criteria combine: device name AND account",
            |w| {
                devices(w, "1", "WS", 5, false);
                rename(w, 1, "LAB");
                devices(w, "2", "WS", 1, false);
                rename(w, 1, "LAB");
                line(w, "a", "100", "WS", "5", "30");
            },
            || Rules {
                exclusions: vec![exclude("lab", Some("Beta"), Some("lab"), None)],
                ..Rules::default()
            },
            RuleExpect::default(),
        ),
        (
            "contract: included units are not billed",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            || contract_rules("2", "0", Rounding::Ceil),
            RuleExpect {
                actual: "7",
                contract_qty: Some("5"),
                note_contains: "contract: 7 counted, 2 included, minimum 0, rounding ceil: bill 5",
                ..Default::default()
            },
        ),
        (
            "contract: a minimum quantity",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "10", "30");
            },
            || contract_rules("0", "10", Rounding::Ceil),
            RuleExpect {
                actual: "7",
                contract_qty: Some("10"),
                ..Default::default()
            },
        ),
        (
            "contract: the minimum keeps a line with no devices from being billing-no-usage",
            |w| {
                line(w, "a", "100", "WS", "3", "30");
            },
            || contract_rules("0", "3", Rounding::Ceil),
            RuleExpect {
                actual: "0",
                contract_qty: Some("3"),
                ..Default::default()
            },
        ),
        (
            "contract: fractional included, rounded up",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            || contract_rules("1.5", "0", Rounding::Ceil),
            RuleExpect {
                kind: FindingKind::UnderBilled,
                actual: "7",
                contract_qty: Some("6"),
                difference: "1",
                ..Default::default()
            },
        ),
        (
            "contract: rounding none keeps the fraction",
            |w| {
                devices(w, "1", "WS", 7, false);
                line(w, "a", "100", "WS", "5", "30");
            },
            || contract_rules("1.5", "0", Rounding::None),
            RuleExpect {
                kind: FindingKind::UnderBilled,
                actual: "7",
                contract_qty: Some("5.5"),
                difference: "0.5",
                ..Default::default()
            },
        ),
    ];
    for (name, setup, rules, e) in cases {
        let mut w = world();
        setup(&mut w);
        let findings = run_full(&w, &services(), &rules());
        let f = findings
            .iter()
            .find(|f| f.company.as_deref() == Some("Acme") && f.product.as_deref() == Some("WS"))
            .unwrap_or_else(|| panic!("{name}: no Acme WS finding in {findings:#?}"));
        assert_eq!(f.kind, e.kind, "{name}: {f:#?}");
        assert_eq!(f.actual, Some(d(e.actual)), "{name}: actual");
        assert_eq!(f.pending, e.pending.map(d), "{name}: pending");
        assert_eq!(f.inactive, e.inactive.map(d), "{name}: inactive");
        assert_eq!(f.excluded, e.excluded.map(d), "{name}: excluded");
        assert_eq!(f.contract_qty, e.contract_qty.map(d), "{name}: contract");
        assert_eq!(f.difference, Some(d(e.difference)), "{name}: difference");
        assert!(
            f.note.contains(e.note_contains),
            "{name}: note `{}`",
            f.note
        );
        if let Some(x) = e.excluded {
            assert_eq!(
                f.excluded_by.values().copied().sum::<Decimal>(),
                d(x),
                "{name}"
            );
        }
    }
}

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

#[test]
fn contract_impact_uses_the_contract_quantity() {
    let mut w = world();
    devices(&mut w, "1", "WS", 9, false);
    line(&mut w, "a", "100", "WS", "5", "30");
    let f = run_full(&w, &services(), &contract_rules("2", "0", Rounding::Ceil))
        .into_iter()
        .find(|f| f.product.as_deref() == Some("WS"))
        .unwrap();
    assert_eq!(f.contract_qty, Some(d("7")));
    assert_eq!(f.difference, Some(d("2")));
    assert_eq!(f.monthly_impact, Some(d("60")));
    assert_eq!(f.kind, FindingKind::UnderBilled);
}

#[test]
fn an_excluded_unmapped_account_is_not_reported_unmapped() {
    let mut w = world();
    w.vendor.accounts.push(VendorAccount {
        id: "9".into(),
        name: "Our Own Office".into(),
        raw: None,
    });
    devices(&mut w, "9", "WS", 3, false);
    let kinds = |rules: &Rules| -> Vec<FindingKind> {
        run_full(&w, &services(), rules)
            .into_iter()
            .map(|f| f.kind)
            .collect()
    };
    assert_eq!(kinds(&Rules::default()), vec![FindingKind::UnmappedAccount]);
    let rules = Rules {
        exclusions: vec![exclude("internal", Some("our own *"), None, None)],
        ..Rules::default()
    };
    assert_eq!(kinds(&rules), Vec::<FindingKind>::new());
    // ... but the report can still say what the exclusion removed.
    let services = services();
    let excluded = excluded_accounts(&Input {
        as_of: ts(AS_OF),
        vendors: vec![VendorInput {
            connection: "ninja",
            services: &services,
            snapshot: &w.vendor,
        }],
        psas: vec![],
        accounts: &w.accounts,
        services: &w.services,
        tolerances: &Tolerances::default(),
        rules: &rules,
        unhealthy: &BTreeMap::new(),
        period: None,
    });
    assert_eq!(
        excluded,
        vec![ExcludedAccount {
            vendor_connection: "ninja".into(),
            account_id: "9".into(),
            account: "Our Own Office".into(),
            items: 3,
            reason: "internal".into(),
        }]
    );
    // A device-name exclusion does not remove the account.
    let rules = Rules {
        exclusions: vec![exclude("x", Some("our own *"), Some("nothing"), None)],
        ..Rules::default()
    };
    assert_eq!(kinds(&rules), vec![FindingKind::UnmappedAccount]);
}

#[test]
fn custom_service_filter_cases() {
    use crate::model::{ServiceFilters, UsageItem};
    let item = |class: &str, name: &str, attrs: &[(&str, &str)]| UsageItem {
        id: "1".into(),
        account_id: "1".into(),
        name: name.into(),
        class: class.into(),
        raw_class: class.into(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        raw: None,
    };
    let svc = |classes: Option<&[&str]>, filters: ServiceFilters| ServiceDef {
        key: "c".into(),
        name: "C".into(),
        classes: classes.map(|c| c.iter().map(|s| s.to_string()).collect()),
        filters,
        sum_of: Vec::new(),
        quantity: None,
    };
    let f = ServiceFilters::default;
    let cases: Vec<(&str, ServiceDef, UsageItem, u64)> = vec![
        (
            "os from the class",
            svc(
                None,
                ServiceFilters {
                    os: Some("windows".into()),
                    ..f()
                },
            ),
            item("WINDOWS_WORKSTATION", "pc", &[]),
            1,
        ),
        (
            "os from the class, no match",
            svc(
                None,
                ServiceFilters {
                    os: Some("windows".into()),
                    ..f()
                },
            ),
            item("MAC", "mac", &[]),
            0,
        ),
        (
            "os attribute wins over the class",
            svc(
                None,
                ServiceFilters {
                    os: Some("Windows 11*".into()),
                    ..f()
                },
            ),
            item("MAC", "vm", &[("os", "Windows 11 Pro")]),
            1,
        ),
        (
            "name pattern",
            svc(
                None,
                ServiceFilters {
                    name_pattern: Some("kiosk-??".into()),
                    ..f()
                },
            ),
            item("WINDOWS_WORKSTATION", "KIOSK-01", &[]),
            1,
        ),
        (
            "name pattern, no match",
            svc(
                None,
                ServiceFilters {
                    name_pattern: Some("kiosk-??".into()),
                    ..f()
                },
            ),
            item("WINDOWS_WORKSTATION", "KIOSK-001", &[]),
            0,
        ),
        (
            "role",
            svc(
                None,
                ServiceFilters {
                    roles: vec!["Domain*".into()],
                    ..f()
                },
            ),
            item("WINDOWS_SERVER", "dc1", &[("role", "Domain Controller")]),
            1,
        ),
        (
            "role missing",
            svc(
                None,
                ServiceFilters {
                    roles: vec!["Domain*".into()],
                    ..f()
                },
            ),
            item("WINDOWS_SERVER", "dc1", &[]),
            0,
        ),
        (
            "tags: any of them",
            svc(
                None,
                ServiceFilters {
                    tags: vec!["LOANER".into()],
                    ..f()
                },
            ),
            item("WINDOWS_WORKSTATION", "pc", &[("tags", "vip, loaner")]),
            1,
        ),
        (
            "class and filter both hold",
            svc(
                Some(&["SRV"]),
                ServiceFilters {
                    os: Some("windows".into()),
                    ..f()
                },
            ),
            item("WINDOWS_WORKSTATION", "pc", &[]),
            0,
        ),
    ];
    for (name, s, i, want) in cases {
        assert_eq!(s.weight(&i), Decimal::from(want), "{name}");
    }
    // A bundle sums its parts (an item in two parts counts twice).
    let all = services();
    let bundle = ServiceDef {
        key: "b".into(),
        name: "B".into(),
        sum_of: vec![all[0].clone(), all[1].clone(), all[1].clone()],
        ..ServiceDef::default()
    };
    assert_eq!(bundle.weight(&item("WS", "x", &[])), Decimal::ONE);
    assert_eq!(bundle.weight(&item("SRV", "x", &[])), Decimal::TWO);
    assert_eq!(bundle.weight(&item("NET", "x", &[])), Decimal::ZERO);
}

#[test]
fn a_bundle_mapped_to_one_product_sums_its_services() {
    let mut w = world();
    devices(&mut w, "1", "WS", 3, false);
    devices(&mut w, "1", "SRV", 2, false);
    last_seen(&mut w, 1, 45);
    line(&mut w, "a", "100", "MANAGED", "5", "30");
    let mut defs = services();
    defs.push(ServiceDef {
        key: "managed".into(),
        name: "Managed".into(),
        sum_of: vec![defs[0].clone(), defs[1].clone()],
        ..ServiceDef::default()
    });
    w.services = vec![
        map_service("ws", None),
        map_service("srv", None),
        map_service("managed", Some("MANAGED")),
    ];
    let f = run_full(&w, &defs, &Rules::default())
        .into_iter()
        .find(|f| f.product.as_deref() == Some("MANAGED"))
        .unwrap();
    assert_eq!(f.actual, Some(d("4")));
    assert_eq!(f.inactive, Some(d("1")));
    assert_eq!(f.kind, FindingKind::OverBilled);
    assert_eq!(f.services, vec!["ninja/managed".to_string()]);
}

#[test]
fn classify_order_and_glob_cases() {
    use crate::model::glob_match;
    for (p, t, want) in [
        ("*", "", true),
        ("a*c", "ABBC", true),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("lab-*", "LAB-PC-1", true),
        ("*-01", "kiosk-01", true),
        ("*-01", "kiosk-012", false),
        ("x", "xy", false),
    ] {
        assert_eq!(glob_match(p, t), want, "{p} vs {t}");
    }
    let mut w = world();
    devices(&mut w, "1", "WS", 1, true);
    last_seen(&mut w, 1, 100);
    let item = &w.vendor.items[0];
    let at = ts(AS_OF);
    let st = |rules: &Rules| classify(item, "Acme", "ninja", "ninja/ws", rules, at);
    assert_eq!(st(&Rules::default()), ItemStatus::Pending);
    let counting = Rules {
        count_pending: true,
        ..Rules::default()
    };
    assert_eq!(
        st(&counting),
        ItemStatus::Inactive {
            days: 100,
            threshold: 30
        }
    );
    assert_eq!(
        st(&Rules {
            inactive_after_days: None,
            ..counting.clone()
        }),
        ItemStatus::Counted
    );
    assert_eq!(
        st(&Rules {
            exclusions: vec![
                exclude("first", Some("acme"), None, None),
                exclude("second", None, None, None)
            ],
            ..counting
        }),
        ItemStatus::Excluded {
            reason: "first".into()
        }
    );
}

#[test]
fn explain_lists_records_and_lines_behind_a_finding() {
    let mut w = world();
    devices(&mut w, "1", "WS", 4, false);
    devices(&mut w, "1", "WS", 1, false);
    rename(&mut w, 1, "LAB-1");
    devices(&mut w, "1", "WS", 1, false);
    last_seen(&mut w, 1, 50);
    line(&mut w, "a", "100", "WS", "3", "30");
    let i = line(&mut w, "b", "100", "WS", "9", "30");
    w.psa.lines[i].cancelled = Some(ts("2026-01-01T00:00:00Z"));
    let defs = services();
    let rules = Rules {
        exclusions: vec![exclude("lab", None, Some("lab-*"), None)],
        ..Rules::default()
    };
    let input = Input {
        as_of: ts(AS_OF),
        vendors: vec![VendorInput {
            connection: "ninja",
            services: &defs,
            snapshot: &w.vendor,
        }],
        psas: vec![PsaInput {
            connection: "cw",
            snapshot: &w.psa,
        }],
        accounts: &w.accounts,
        services: &w.services,
        tolerances: &Tolerances::default(),
        rules: &rules,
        unhealthy: &BTreeMap::new(),
        period: None,
    };
    let out = explain(&input, "cw", "10", Some("ws"));
    assert_eq!(out.len(), 1);
    let e = &out[0];
    assert_eq!(e.finding.kind, FindingKind::UnderBilled);
    assert_eq!(e.finding.actual, Some(d("4")));
    let count = |s: fn(&ItemStatus) -> bool| e.items.iter().filter(|i| s(&i.status)).count();
    assert_eq!(count(|s| *s == ItemStatus::Counted), 4);
    assert_eq!(count(|s| matches!(s, ItemStatus::Inactive { .. })), 1);
    assert_eq!(count(|s| matches!(s, ItemStatus::Excluded { .. })), 1);
    assert_eq!(e.lines.len(), 2);
    let a = e.lines.iter().find(|l| l.id == "a").unwrap();
    assert!(a.counted && a.priced_from);
    assert_eq!(a.agreement, "MSA 100");
    let b = e.lines.iter().find(|l| l.id == "b").unwrap();
    assert_eq!(b.why_not.as_deref(), Some("cancelled or not yet effective"));
    assert_eq!(e.months_per_cycle, Some(Decimal::ONE));
    // Another company, or a product it does not have: nothing.
    assert!(explain(&input, "cw", "20", None).is_empty());
    assert!(explain(&input, "cw", "10", Some("SRV")).is_empty());
}

/// Property: over many random small worlds, every vendor account ends up mapped, reported
/// unmapped or excluded, and per company the counted, inactive, pending and excluded units of a
/// service counting every item add up to the items synced for the accounts mapped to it.
#[test]
#[cfg(feature = "demo")] // The random worlds come from the demo's generator.
fn every_account_and_every_item_is_accounted_for() {
    use crate::demo::sample::SplitMix64;
    let mut rng = SplitMix64::new(0x5eed_cafe);
    let all = ServiceDef {
        key: "all".into(),
        name: "All".into(),
        classes: None,
        ..ServiceDef::default()
    };
    for round in 0..400 {
        let mut w = world();
        w.vendor.accounts.clear();
        w.accounts.clear();
        let n_accounts = 1 + rng.below(5) as usize;
        for a in 0..n_accounts {
            let id = format!("{}", a + 1);
            let name = format!("Org {a}");
            w.vendor.accounts.push(VendorAccount {
                id: id.clone(),
                name: name.clone(),
                raw: None,
            });
            match rng.below(4) {
                0 => {} // unmapped
                1 => w.accounts.push(AccountMapping {
                    target: None,
                    ..map_account(&id, &name, "10")
                }),
                2 => w.accounts.push(map_account(&id, &name, "10")),
                _ => w.accounts.push(map_account(&id, &name, "20")),
            }
            for _ in 0..rng.below(6) {
                let class = ["WS", "SRV", "NET"][rng.below(3) as usize];
                devices(&mut w, &id, class, 1, rng.below(5) == 0);
                let len = w.vendor.items.len();
                w.vendor.items[len - 1].name = format!("dev-{}", rng.below(4));
                if rng.below(3) > 0 {
                    last_seen(&mut w, 1, rng.below(60) as i64);
                }
            }
        }
        let mut rules = Rules {
            inactive_after_days: [None, Some(10), Some(30)][rng.below(3) as usize],
            count_pending: rng.below(2) == 0,
            ..Rules::default()
        };
        if rng.below(2) == 0 {
            rules.exclusions.push(exclude(
                "acct",
                Some(&format!("org {}", rng.below(5))),
                None,
                None,
            ));
        }
        if rng.below(2) == 0 {
            rules.exclusions.push(exclude(
                "name",
                None,
                Some(&format!("dev-{}", rng.below(4))),
                None,
            ));
        }
        w.services = vec![
            ServiceMapping {
                service_key: "all".into(),
                ..map_service("all", Some("ALL"))
            },
            map_service("ws", Some("WS")),
        ];
        let defs = vec![all.clone(), services()[0].clone()];
        let findings = run_full(&w, &defs, &rules);

        for a in &w.vendor.accounts {
            let mapped = w.accounts.iter().any(|m| m.account_id == a.id);
            let reported = findings.iter().any(|f| {
                f.kind == FindingKind::UnmappedAccount && f.accounts == vec![a.name.clone()]
            });
            let excluded = rules.account_excluded("ninja", &a.id, &a.name).is_some();
            assert!(
                mapped || reported || excluded,
                "round {round}: account {} is lost",
                a.name
            );
            assert!(!(mapped && reported), "round {round}: {} twice", a.name);
            assert!(
                !(reported && excluded),
                "round {round}: {} excluded yet reported",
                a.name
            );
        }
        for company in ["10", "20"] {
            let synced = w
                .vendor
                .items
                .iter()
                .filter(|i| {
                    w.accounts.iter().any(|m| {
                        m.account_id == i.account_id
                            && m.target.as_ref().is_some_and(|t| t.company_id == company)
                    })
                })
                .count();
            let f = findings.iter().find(|f| {
                f.company_id.as_deref() == Some(company) && f.product.as_deref() == Some("ALL")
            });
            let z = |x: Option<Decimal>| x.unwrap_or_default();
            let total = f
                .map(|f| z(f.actual) + z(f.inactive) + z(f.pending) + z(f.excluded))
                .unwrap_or_default();
            assert_eq!(
                total,
                Decimal::from(synced),
                "round {round}: company {company}: {f:#?}"
            );
            if let Some(f) = f {
                assert_eq!(
                    f.excluded_by.values().copied().sum::<Decimal>(),
                    z(f.excluded),
                    "round {round}"
                );
                if rules.count_pending {
                    assert_eq!(f.pending, None, "round {round}");
                }
            }
        }
    }
}

// ---- Count basis over a billing period's snapshots.

/// Acme's snapshot with `ws` workstations and `srv` servers.
fn acme_snapshot(ws: usize, srv: usize) -> VendorSnapshot {
    let mut w = world();
    devices(&mut w, "1", "WS", ws, false);
    devices(&mut w, "1", "SRV", srv, false);
    w.vendor
}

fn run_period(
    w: &World,
    history: &[(&str, VendorSnapshot)],
    bases: &Bases,
    rules: &Rules,
) -> Vec<Finding> {
    let services = services();
    let period = PeriodInput {
        snapshots: [(
            "ninja",
            history
                .iter()
                .map(|(t, s)| (ts(t), s as &dyn Usage))
                .collect::<Vec<_>>(),
        )]
        .into_iter()
        .collect(),
        bases,
    };
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
        }],
        accounts: &w.accounts,
        services: &w.services,
        tolerances: &Tolerances::default(),
        rules,
        unhealthy: &BTreeMap::new(),
        period: Some(&period),
    })
}

#[test]
fn count_basis_cases() {
    // As-of snapshot: 7 workstations; the period's snapshots: 4, 9, 6 (billed 5).
    let history = || {
        vec![
            ("2026-06-02T00:00:00Z", acme_snapshot(4, 0)),
            ("2026-06-08T00:00:00Z", acme_snapshot(9, 0)),
            ("2026-06-14T00:00:00Z", acme_snapshot(6, 0)),
        ]
    };
    let bases = |b: Basis| Bases {
        default: Basis::Latest,
        services: [("ninja/ws".to_string(), b)].into_iter().collect(),
    };
    // (name, basis, history, actual, basis column, snapshots, note contains)
    type Case = (
        &'static str,
        Basis,
        Vec<(&'static str, VendorSnapshot)>,
        &'static str,
        &'static str,
        usize,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "latest: the as-of snapshot",
            Basis::Latest,
            history(),
            "7",
            "latest",
            1,
            "",
        ),
        (
            "peak: the highest count in the period",
            Basis::Peak,
            history(),
            "9",
            "peak",
            3,
            "ninja/ws peak of 3 snapshot(s) = 9: 4 at 2026-06-02T00:00:00Z, 9 at 2026-06-08T00:00:00Z, 6 at 2026-06-14T00:00:00Z",
        ),
        (
            "average: the mean, rounded to 2 places",
            Basis::Average,
            history(),
            "6.33",
            "average",
            3,
            "average of 3 snapshot(s) = 6.33",
        ),
        (
            "end-of-period: the newest snapshot in the period",
            Basis::EndOfPeriod,
            history(),
            "6",
            "end-of-period",
            3,
            "end-of-period of 3 snapshot(s) = 6",
        ),
        (
            "peak with no snapshot in the period: the as-of snapshot, with a note",
            Basis::Peak,
            Vec::new(),
            "7",
            "peak",
            1,
            "ninja/ws (peak): no snapshot inside the billing period, so the as-of snapshot was used",
        ),
        (
            "average of one snapshot",
            Basis::Average,
            vec![("2026-06-03T00:00:00Z", acme_snapshot(3, 0))],
            "3",
            "average",
            1,
            "average of 1 snapshot(s) = 3",
        ),
    ];
    for (name, basis, hist, actual, column, snapshots, note) in cases {
        let mut w = world();
        devices(&mut w, "1", "WS", 7, false);
        line(&mut w, "a", "100", "WS", "5", "30");
        let findings = run_period(&w, &hist, &bases(basis), &Rules::none());
        let f = findings
            .iter()
            .find(|f| f.product.as_deref() == Some("WS"))
            .unwrap_or_else(|| panic!("{name}: {findings:#?}"));
        assert_eq!(f.actual, Some(d(actual)), "{name}: {f:#?}");
        assert_eq!(f.difference, Some(d(actual) - d("5")), "{name}");
        assert_eq!(f.basis, column, "{name}");
        assert_eq!(f.snapshots, snapshots, "{name}");
        assert!(f.note.contains(note), "{name}: {}", f.note);
    }
}

#[test]
fn an_average_is_rounded_by_the_contract_and_mixed_bases_are_described() {
    let mut w = world();
    devices(&mut w, "1", "WS", 7, false);
    line(&mut w, "a", "100", "WS", "5", "30");
    let history = vec![
        ("2026-06-02T00:00:00Z", acme_snapshot(4, 0)),
        ("2026-06-08T00:00:00Z", acme_snapshot(9, 0)),
        ("2026-06-14T00:00:00Z", acme_snapshot(6, 0)),
    ];
    let mut rules = contract_rules("0", "0", Rounding::Ceil);
    rules.inactive_after_days = None;
    let bases = Bases {
        default: Basis::Average,
        services: BTreeMap::new(),
    };
    let f = run_period(&w, &history, &bases, &rules)
        .into_iter()
        .find(|f| f.product.as_deref() == Some("WS"))
        .unwrap();
    assert_eq!(f.actual, Some(d("6.33")));
    assert_eq!(f.contract_qty, Some(d("7")), "{f:#?}");

    // Servers (latest) and workstations (peak) both billed as WS.
    let mut w = world();
    devices(&mut w, "1", "WS", 7, false);
    devices(&mut w, "1", "SRV", 2, false);
    w.services = vec![
        map_service("ws", Some("WS")),
        map_service("srv", Some("WS")),
    ];
    line(&mut w, "a", "100", "WS", "5", "30");
    let history = vec![
        ("2026-06-02T00:00:00Z", acme_snapshot(9, 5)),
        ("2026-06-14T00:00:00Z", acme_snapshot(6, 1)),
    ];
    let bases = Bases {
        default: Basis::Latest,
        services: [("ninja/ws".to_string(), Basis::Peak)]
            .into_iter()
            .collect(),
    };
    let f = run_period(&w, &history, &bases, &Rules::none())
        .into_iter()
        .find(|f| f.product.as_deref() == Some("WS"))
        .unwrap();
    assert_eq!(f.actual, Some(d("11")), "peak 9 + latest 2: {f:#?}");
    assert_eq!(f.basis, "ninja/srv: latest, ninja/ws: peak");
    assert_eq!(f.snapshots, 2);
}

#[test]
fn a_period_snapshot_counts_inactive_devices_at_its_own_time() {
    // Contact on 1 June: inactive at AS_OF (15 June) with a 7-day threshold, but not in the
    // snapshot of 3 June, so the peak counts it.
    let mut w = world();
    devices(&mut w, "1", "WS", 2, false);
    let mut early = acme_snapshot(2, 0);
    for i in &mut early.items {
        i.last_contact = Some(ts("2026-06-01T00:00:00Z"));
    }
    for i in &mut w.vendor.items {
        i.last_contact = Some(ts("2026-06-01T00:00:00Z"));
    }
    line(&mut w, "a", "100", "WS", "2", "30");
    let rules = Rules {
        inactive_after_days: Some(7),
        ..Rules::default()
    };
    let history = vec![("2026-06-03T00:00:00Z", early)];
    let latest = run_period(&w, &history, &Bases::default(), &rules);
    let peak = run_period(
        &w,
        &history,
        &Bases {
            default: Basis::Peak,
            services: BTreeMap::new(),
        },
        &rules,
    );
    let ws = |fs: &[Finding]| {
        fs.iter()
            .find(|f| f.product.as_deref() == Some("WS"))
            .unwrap()
            .clone()
    };
    assert_eq!(ws(&latest).actual, Some(d("0")));
    assert_eq!(ws(&latest).inactive, Some(d("2")));
    assert_eq!(ws(&peak).actual, Some(d("2")), "{:#?}", ws(&peak));
    assert_eq!(ws(&peak).kind, FindingKind::Match);
}

/// A license record as quantity vendors (Microsoft 365, Sherweb) report them: one item per
/// account and SKU, its units in attributes.
fn license(w: &mut World, account: &str, sku: &str, purchased: &str, assigned: &str) {
    let n = w.vendor.items.len();
    w.vendor.items.push(UsageItem {
        id: format!("{account}-{sku}-{n}"),
        account_id: account.into(),
        name: sku.into(),
        class: "LICENSE".into(),
        raw_class: "LICENSE".into(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs: BTreeMap::from([
            ("sku".to_string(), sku.to_string()),
            ("purchased".to_string(), purchased.to_string()),
            ("assigned".to_string(), assigned.to_string()),
        ]),
        raw: None,
    });
}

fn license_families() -> Vec<ServiceFamily> {
    vec![
        ServiceFamily {
            attr: "sku",
            name_attr: None,
            key_suffix: ":purchased",
            name_suffix: " (purchased)",
            quantity: Some("purchased"),
            classes: None,
        },
        ServiceFamily {
            attr: "sku",
            name_attr: None,
            key_suffix: ":assigned",
            name_suffix: " (assigned)",
            quantity: Some("assigned"),
            classes: None,
        },
    ]
}

fn run_licenses(w: &World) -> Vec<Finding> {
    let services: Vec<ServiceDef> = license_families()
        .iter()
        .flat_map(|f| f.expand(&w.vendor.items))
        .collect();
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
        }],
        accounts: &w.accounts,
        services: &w.services,
        tolerances: &Tolerances::default(),
        rules: &Rules::default(),
        unhealthy: &BTreeMap::new(),
        period: None,
    })
}

#[test]
fn quantity_services_sum_units_and_the_mapping_picks_purchased_or_assigned() {
    // (mapped service, purchased per record, assigned per record, billed, expected kind, actual)
    type Case<'a> = (
        &'a str,
        [&'a str; 2],
        [&'a str; 2],
        &'a str,
        FindingKind,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "spe_e3:purchased",
            ["15", "3"],
            ["14", "1"],
            "18",
            FindingKind::Match,
            "18",
        ),
        (
            "spe_e3:assigned",
            ["15", "3"],
            ["14", "1"],
            "18",
            FindingKind::OverBilled,
            "15",
        ),
        (
            "spe_e3:purchased",
            ["20", "0"],
            ["20", "0"],
            "18",
            FindingKind::UnderBilled,
            "20",
        ),
        (
            "spe_e3:purchased",
            ["2.5", "0"],
            ["0", "0"],
            "2",
            FindingKind::UnderBilled,
            "2.5",
        ),
    ];
    for (service, purchased, assigned, billed, kind, actual) in cases {
        let mut w = world();
        // Two records of one SKU on one account (two subscriptions) add up.
        license(&mut w, "1", "SPE_E3", purchased[0], assigned[0]);
        license(&mut w, "1", "SPE_E3", purchased[1], assigned[1]);
        license(&mut w, "1", "EMS", "99", "99");
        w.services = vec![map_service(service, Some("WS"))];
        w.services.push(map_service("ems:purchased", None));
        w.services.push(map_service("ems:assigned", None));
        let other = if service.ends_with(":purchased") {
            "spe_e3:assigned"
        } else {
            "spe_e3:purchased"
        };
        w.services.push(map_service(other, None));
        line(&mut w, "a", "100", "WS", billed, "30");
        let f = run_licenses(&w);
        let acme: Vec<&Finding> = f
            .iter()
            .filter(|f| f.company.as_deref() == Some("Acme"))
            .collect();
        assert_eq!(acme.len(), 1, "{service} {purchased:?}: {f:#?}");
        assert_eq!(acme[0].kind, kind, "{service} {purchased:?}");
        assert_eq!(acme[0].actual, Some(d(actual)), "{service} {purchased:?}");
        assert!(
            f.iter().all(|f| f.kind != FindingKind::UnmappedService),
            "{f:#?}"
        );
    }
}

#[test]
fn an_unmapped_sku_is_reported_with_its_units() {
    let mut w = world();
    license(&mut w, "1", "SPE_E3", "15", "14");
    license(&mut w, "2", "SPE_E3", "5", "5");
    w.services = vec![map_service("spe_e3:assigned", None)];
    let f = run_licenses(&w);
    let unmapped: Vec<&Finding> = f
        .iter()
        .filter(|f| f.kind == FindingKind::UnmappedService)
        .collect();
    assert_eq!(unmapped.len(), 1, "{f:#?}");
    assert_eq!(unmapped[0].services, ["ninja/spe_e3:purchased"]);
    assert_eq!(unmapped[0].actual, Some(d("20")));
}

#[test]
fn an_account_the_sync_could_not_read_makes_its_lines_stale_not_over_billed() {
    let mut w = world();
    devices(&mut w, "2", "WS", 4, false);
    line(&mut w, "a", "100", "WS", "5", "30");
    line(&mut w, "b", "200", "WS", "4", "30");
    w.vendor
        .unreadable
        .insert("1".into(), "admin consent missing (AADSTS65001)".into());
    let f = run(&w);
    let acme = f
        .iter()
        .find(|f| f.company.as_deref() == Some("Acme"))
        .unwrap();
    assert_eq!(acme.kind, FindingKind::StaleSource, "{acme:#?}");
    assert_eq!(acme.monthly_impact, None);
    assert!(
        acme.note
            .contains("could not read Acme: admin consent missing (AADSTS65001)"),
        "{}",
        acme.note
    );
    assert!(
        acme.note.contains("it would be billing_no_usage"),
        "{}",
        acme.note
    );
    let beta = f
        .iter()
        .find(|f| f.company.as_deref() == Some("Beta"))
        .unwrap();
    assert_eq!(beta.kind, FindingKind::Match);
    let totals = Totals::of(&f);
    assert_eq!(totals.over_billed_monthly, Decimal::ZERO);
}

#[test]
fn a_whole_unit_psa_compares_rounded_up_usage_and_says_so() {
    // (usage units, billed, whole units?, kind, difference)
    let cases: Vec<(&str, &str, bool, FindingKind, &str)> = vec![
        ("2.5", "3", true, FindingKind::Match, "0"),
        ("2.5", "2", true, FindingKind::UnderBilled, "1"),
        ("3", "3", true, FindingKind::Match, "0"),
        ("2.5", "3", false, FindingKind::OverBilled, "-0.5"),
    ];
    for (units, billed, whole, kind, diff) in cases {
        let mut w = world();
        w.psa.whole_units = whole;
        license(&mut w, "1", "SPE_E3", units, "0");
        w.services = vec![
            map_service("spe_e3:purchased", Some("WS")),
            map_service("spe_e3:assigned", None),
        ];
        line(&mut w, "a", "100", "WS", billed, "30");
        let f = run_licenses(&w);
        let acme = f
            .iter()
            .find(|f| f.company.as_deref() == Some("Acme"))
            .unwrap();
        assert_eq!(acme.kind, kind, "{units} vs {billed}, whole {whole}");
        assert_eq!(acme.difference, Some(d(diff)), "{units} vs {billed}");
        assert_eq!(acme.actual, Some(d(units)), "actual stays as counted");
        assert_eq!(
            acme.note
                .contains("bills whole units only: 2.5 counted, compared as 3"),
            whole && units == "2.5",
            "{}",
            acme.note
        );
    }
}
