//! Table tests of the plan rules: which findings give a line, the target, and each guard.

use std::str::FromStr;

use super::*;
use crate::connectors::PsaGuard;
use crate::model::{BillCustomer, PsaAgreement, PsaLine};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn finding(kind: FindingKind, company: &str, billed: &str, diff: Option<&str>) -> Finding {
    serde_json::from_value(serde_json::json!({
        "id": format!("F-{company}-{}", kind.as_str()),
        "kind": kind,
        "psa_connection": "cw",
        "company_id": company,
        "company": format!("Company {company}"),
        "product": "WS",
        "vendor_connection": null,
        "services": ["ninja/ws"],
        "accounts": [],
        "billed": billed,
        "less_included": null,
        "actual": null,
        "difference": diff,
        "unit_price": null,
        "monthly_impact": null,
        "agreements": [],
        "note": "",
        "basis": "peak",
        "snapshots": 3,
    }))
    .unwrap()
}

fn line(id: &str, company: &str, qty: &str) -> PsaLine {
    PsaLine {
        id: id.into(),
        agreement_id: format!("A{company}"),
        company_id: company.into(),
        product_id: Some("7".into()),
        product_identifier: "WS".into(),
        description: None,
        quantity: d(qty),
        less_included: Decimal::ZERO,
        unit_price: d("10"),
        unit_cost: d("4"),
        effective: None,
        cancelled: None,
        bill_customer: BillCustomer::Billable,
        invoiced: None,
        raw: None,
    }
}

fn agreement(company: &str) -> PsaAgreement {
    PsaAgreement {
        id: format!("A{company}"),
        company_id: company.into(),
        name: format!("MSA {company}"),
        agreement_type: None,
        status: "Active".into(),
        start: None,
        end: None,
        cancelled: false,
        billing_cycle: None,
        raw: None,
    }
}

fn snapshot() -> PsaSnapshot {
    PsaSnapshot {
        agreements: vec![agreement("1"), agreement("2"), agreement("3")],
        lines: vec![
            line("L1", "1", "10"),
            line("L2", "2", "5"),
            line("L3a", "3", "2"),
            line("L3b", "3", "2"),
        ],
        ..PsaSnapshot::default()
    }
}

fn plan_of(findings: &[Finding], whole: bool, opted: bool) -> Vec<Candidate> {
    candidates(
        findings,
        "cw",
        &snapshot(),
        ts("2026-12-04T00:00:00Z"),
        whole,
        &Lookups {
            services_of: &|_| vec!["ninja/ws".to_string()],
            opted_in: &|_| opted,
            locate: &|l| LineRef {
                agreement_id: l.agreement_id.clone(),
                line_id: l.id.clone(),
                product_id: l.product_id.clone(),
            },
        },
    )
}

#[test]
fn a_cost_mismatch_is_a_cost_only_write_unless_its_line_writes_anyway() {
    let f = vec![
        // Company 1: under-billed and a cost mismatch: one write, the quantity's.
        finding(FindingKind::UnderBilled, "1", "10", Some("3")),
        finding(FindingKind::CostMismatch, "1", "10", Some("3")),
        // Company 2: a match whose recorded cost is wrong: the quantity stays.
        finding(FindingKind::CostMismatch, "2", "5", Some("0")),
    ];
    let c = plan_of(&f, false, true);
    let got: Vec<(&str, FindingKind, Decimal)> = c
        .iter()
        .map(|c| (c.line.line_id.as_str(), c.finding.kind, c.target))
        .collect();
    assert_eq!(
        got,
        vec![
            ("L1", FindingKind::UnderBilled, d("13")),
            ("L2", FindingKind::CostMismatch, d("5")),
        ]
    );
}

#[test]
fn only_opted_in_discrepancies_with_an_existing_line_are_candidates() {
    let f = vec![
        finding(FindingKind::UnderBilled, "1", "10", Some("3")),
        finding(FindingKind::Match, "2", "5", Some("0")),
        finding(FindingKind::UsageNoBilling, "9", "0", Some("4")),
        finding(FindingKind::OverBilled, "2", "5", Some("-1")),
    ];
    let c = plan_of(&f, false, true);
    let got: Vec<(&str, Decimal)> = c
        .iter()
        .map(|c| (c.line.line_id.as_str(), c.target))
        .collect();
    assert_eq!(got, vec![("L1", d("13")), ("L2", d("4"))]);
    assert!(plan_of(&f, false, false).is_empty(), "no opt-in, no plan");
}

#[test]
fn targets_round_up_to_whole_units_where_the_psa_takes_only_those() {
    // Autotask: a count of 10.2 against 10 billed is 11, never 10.2.
    let f = vec![finding(FindingKind::UnderBilled, "1", "10", Some("0.2"))];
    assert_eq!(plan_of(&f, true, true)[0].target, d("11"));
    assert_eq!(plan_of(&f, false, true)[0].target, d("10.2"));
}

fn opts() -> LineOptions {
    LineOptions {
        max_change_abs: d("10"),
        max_change_pct: d("25"),
        decreases_auto: false,
        allow_zero: false,
        effective: jiff::civil::date(2027, 1, 1),
        period_start: jiff::civil::date(2026, 12, 1),
        unit_cost: None,
    }
}

fn judged(
    kind: FindingKind,
    billed: &str,
    diff: &str,
    before: Option<LineState>,
    opts: &LineOptions,
    approved: bool,
) -> (Vec<String>, Decision) {
    let f = vec![finding(kind, "1", billed, Some(diff))];
    let mut c = plan_of(&f, false, true).remove(0);
    if kind == FindingKind::StaleSource {
        c.finding.note = "`ninja` is stale: last sync failed. Would be under_billed".into();
    }
    let (guards, decision) = judge(
        &c,
        before.as_ref(),
        None,
        opts,
        &SourceState::default(),
        approved,
        "USD",
    );
    let failed = guards
        .iter()
        .filter_map(|g| g.failed.as_ref().map(|_| g.guard.clone()))
        .collect();
    (failed, decision)
}

fn state(q: &str) -> Option<LineState> {
    Some(LineState::quantity(d(q)))
}

/// (case, kind, billed, diff, before, options, approved, failed guards, decision)
type Case<'a> = (
    &'a str,
    FindingKind,
    &'a str,
    &'a str,
    Option<LineState>,
    &'a LineOptions,
    bool,
    Vec<&'a str>,
    Decision,
);

#[test]
fn each_guard_turns_its_line_into_review() {
    let o = opts();
    let auto = LineOptions {
        decreases_auto: true,
        ..opts()
    };
    let back_dated = LineOptions {
        effective: jiff::civil::date(2026, 11, 15),
        ..opts()
    };
    let zero_ok = LineOptions {
        allow_zero: true,
        decreases_auto: true,
        max_change_pct: d("100"),
        ..opts()
    };
    let mut blocked = LineState::quantity(d("10"));
    blocked
        .blocked
        .push((PsaGuard::ContractState, "agreement A1 is cancelled".into()));
    // (case, kind, billed, diff, before, options, approved, failed guards, decision)
    let table: Vec<Case> = vec![
        (
            "small increase",
            FindingKind::UnderBilled,
            "10",
            "2",
            state("10"),
            &o,
            false,
            vec![],
            Decision::Write,
        ),
        (
            "over 10 units",
            FindingKind::UnderBilled,
            "10",
            "11",
            state("10"),
            &o,
            false,
            vec!["large_change"],
            Decision::Review,
        ),
        (
            "over 25 %",
            FindingKind::UnderBilled,
            "10",
            "3",
            state("10"),
            &o,
            false,
            vec!["large_change"],
            Decision::Review,
        ),
        (
            "approved large change",
            FindingKind::UnderBilled,
            "10",
            "11",
            state("10"),
            &o,
            true,
            vec![],
            Decision::Write,
        ),
        (
            "decrease by default",
            FindingKind::OverBilled,
            "10",
            "-1",
            state("10"),
            &o,
            false,
            vec!["decrease"],
            Decision::Review,
        ),
        (
            "decrease allowed",
            FindingKind::OverBilled,
            "10",
            "-1",
            state("10"),
            &auto,
            false,
            vec![],
            Decision::Write,
        ),
        (
            "zero",
            FindingKind::BillingNoUsage,
            "10",
            "-10",
            state("10"),
            &auto,
            false,
            vec!["zero", "large_change"],
            Decision::Review,
        ),
        (
            "zero allowed",
            FindingKind::BillingNoUsage,
            "10",
            "-10",
            state("10"),
            &zero_ok,
            false,
            vec![],
            Decision::Write,
        ),
        (
            "stale source",
            FindingKind::StaleSource,
            "10",
            "1",
            state("10"),
            &o,
            false,
            vec!["source_health"],
            Decision::Review,
        ),
        (
            "line not read",
            FindingKind::UnderBilled,
            "10",
            "1",
            None,
            &o,
            false,
            vec!["line_read"],
            Decision::Review,
        ),
        (
            "dated into an invoiced period",
            FindingKind::UnderBilled,
            "10",
            "1",
            state("10"),
            &back_dated,
            false,
            vec!["posted_period"],
            Decision::Review,
        ),
        (
            "PSA says cancelled",
            FindingKind::UnderBilled,
            "10",
            "1",
            Some(blocked.clone()),
            &o,
            false,
            vec!["contract_state"],
            Decision::Review,
        ),
    ];
    for (case, kind, billed, diff, before, opts, approved, want, decision) in table {
        let (failed, got) = judged(kind, billed, diff, before, opts, approved);
        assert_eq!(failed, want, "{case}");
        assert_eq!(got, decision, "{case}");
    }
}

#[test]
fn two_lines_for_one_finding_need_review_and_a_foreign_cost_is_not_written() {
    let f = vec![finding(FindingKind::UnderBilled, "3", "4", Some("1"))];
    let c = plan_of(&f, false, true).remove(0);
    let (g, dec) = judge(
        &c,
        state("2").as_ref(),
        None,
        &opts(),
        &SourceState::default(),
        false,
        "USD",
    );
    assert_eq!(dec, Decision::Review);
    let amb = g.iter().find(|g| g.guard == "ambiguity").unwrap();
    assert!(amb.failed.as_ref().unwrap().contains("L3a, L3b"), "{amb:?}");

    let f = vec![finding(FindingKind::UnderBilled, "1", "10", Some("1"))];
    let c = plan_of(&f, false, true).remove(0);
    let with_cost = LineOptions {
        unit_cost: Some((d("3.5"), "EUR".into())),
        ..opts()
    };
    let (g, dec) = judge(
        &c,
        state("10").as_ref(),
        None,
        &with_cost,
        &SourceState::default(),
        false,
        "USD",
    );
    assert_eq!(dec, Decision::Review);
    assert!(
        g.iter()
            .any(|g| g.guard == "currency" && g.failed.is_some())
    );
}

#[test]
fn an_unfit_source_is_never_written_from() {
    let f = vec![finding(FindingKind::UnderBilled, "1", "10", Some("1"))];
    let c = plan_of(&f, false, true).remove(0);
    let unfit = SourceState {
        unfit: Some("`ninja`'s last sync was partial: 2 accounts not read".into()),
    };
    let (g, dec) = judge(&c, state("10").as_ref(), None, &opts(), &unfit, true, "USD");
    assert_eq!(dec, Decision::Review);
    assert!(g[0].failed.as_ref().unwrap().contains("partial"));
}

#[test]
fn the_next_period_starts_on_the_anchor_day() {
    assert_eq!(
        next_period_start(ts("2026-12-04T10:00:00Z"), 1).unwrap(),
        jiff::civil::date(2027, 1, 1)
    );
    assert_eq!(
        next_period_start(ts("2026-12-04T10:00:00Z"), 15).unwrap(),
        jiff::civil::date(2026, 12, 15)
    );
}
