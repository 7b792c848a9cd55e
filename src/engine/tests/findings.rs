//! The findings of one line and of mapping gaps: money cases on Acme's workstation line,
//! unmapped accounts and services, ids, totals, tolerance, stale sources and report order.

use super::*;

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
            "a line read from last period's invoice says so, with the invoice and its date",
            |w| {
                devices(w, "1", "WS", 12, false);
                let i = line(w, "a", "100", "WS", "10", "30");
                w.psa.lines[i].invoiced = Some("invoice 1042 of 2026-11-01".into());
            },
            Expect {
                kind: FindingKind::UnderBilled,
                billed: "10",
                actual: "12",
                impact: Some("60"),
                note_contains: "billed quantity is last period's invoice (invoice 1042 of 2026-11-01)",
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
    assert_eq!(FindingKind::ALL.len(), 10);
    for (i, k) in FindingKind::ALL.iter().enumerate() {
        assert_eq!(k.rank(), i);
    }
}
