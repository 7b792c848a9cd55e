//! Cost and margin (`cost.rs`): each case is a world, the cost settings, and what the line's
//! finding and its `cost_mismatch` (if any) must say.

use super::*;

/// How a case is set up beyond the world.
struct Setup {
    /// `[cost."ninja/ws"] unit_cost`.
    config_cost: Option<&'static str>,
    low_margin_pct: Option<&'static str>,
    check_psa_cost: bool,
    records_cost: bool,
    unhealthy: bool,
}

const PLAIN: Setup = Setup {
    config_cost: None,
    low_margin_pct: None,
    check_psa_cost: true,
    records_cost: true,
    unhealthy: false,
};

fn run_cost(w: &World, s: &Setup) -> Vec<Finding> {
    let defs = services();
    let mut rules = Rules::default();
    if let Some(c) = s.config_cost {
        rules.costs.insert(
            "ninja/ws".into(),
            CostRate {
                unit_cost: d(c),
                currency: "USD".into(),
            },
        );
    }
    rules.margin.low_margin_pct = s.low_margin_pct.map(d);
    rules.margin.check_psa_cost = s.check_psa_cost;
    let unhealthy: BTreeMap<String, String> = if s.unhealthy {
        [("ninja".to_string(), "the last sync failed".to_string())].into()
    } else {
        BTreeMap::new()
    };
    findings(&Input {
        as_of: ts(AS_OF),
        vendors: vec![VendorInput {
            connection: "ninja",
            services: &defs,
            snapshot: &w.vendor,
        }],
        psas: vec![PsaInput {
            connection: "cw",
            snapshot: &w.psa,
            records_cost: s.records_cost,
        }],
        accounts: &w.accounts,
        services: &w.services,
        tolerances: &Tolerances::default(),
        rules: &rules,
        unhealthy: &unhealthy,
        period: None,
    })
}

/// Acme's `n` workstations, each costing `cost` (attribute) in `currency` when given.
fn costed(w: &mut World, n: usize, cost: Option<&str>, currency: Option<&str>) {
    let start = w.vendor.items.len();
    devices(w, "1", "WS", n, false);
    for item in &mut w.vendor.items[start..] {
        if let Some(c) = cost {
            item.attrs.insert(UNIT_COST_ATTR.into(), c.into());
        }
        if let Some(c) = currency {
            item.attrs.insert(COST_CURRENCY_ATTR.into(), c.into());
        }
    }
}

/// Acme's WS line: quantity, price, recorded cost, billing cycle.
fn acme_line(w: &mut World, qty: &str, price: &str, cost: &str, cycle: &str) {
    let i = line(w, "77", "100", "WS", qty, price);
    w.psa.lines[i].unit_cost = d(cost);
    w.psa.agreements[0].billing_cycle = Some(cycle.into());
}

/// What a case expects of Acme's WS line finding, and of its cost mismatch.
#[derive(Debug, PartialEq)]
struct Seen {
    kind: FindingKind,
    revenue: Option<Decimal>,
    cost: Option<Decimal>,
    margin: Option<Decimal>,
    margin_pct: Option<Decimal>,
    vendor_unit_cost: Option<Decimal>,
    low_margin: bool,
    /// (PSA unit cost per month, vendor unit cost) of the `cost_mismatch` row.
    mismatch: Option<(Decimal, Decimal)>,
}

fn seen(findings: &[Finding]) -> (Seen, String, String) {
    let acme = |f: &&Finding| f.company_id.as_deref() == Some("10");
    let line = findings
        .iter()
        .filter(acme)
        .find(|f| f.kind != FindingKind::CostMismatch)
        .expect("Acme's line finding");
    let mismatch = findings
        .iter()
        .filter(acme)
        .find(|f| f.kind == FindingKind::CostMismatch);
    (
        Seen {
            kind: line.kind,
            revenue: line.revenue,
            cost: line.cost,
            margin: line.margin,
            margin_pct: line.margin_pct,
            vendor_unit_cost: line.vendor_unit_cost,
            low_margin: line.low_margin,
            mismatch: mismatch.map(|m| (m.psa_unit_cost.unwrap(), m.vendor_unit_cost.unwrap())),
        },
        line.note.clone(),
        mismatch.map(|m| m.note.clone()).unwrap_or_default(),
    )
}

fn o(s: &str) -> Option<Decimal> {
    Some(d(s))
}

#[test]
fn each_line_earns_what_its_price_and_its_vendor_cost_say() {
    type Build = fn(&mut World);
    // (case, world, setup, expected, a note of the line must contain, the mismatch's must)
    let cases: Vec<(&str, Build, Setup, Seen, &str, &str)> = vec![
        (
            "config cost; the PSA records none: a mismatch that says so",
            |w| {
                costed(w, 5, None, None);
                acme_line(w, "5", "30", "0", "Monthly");
            },
            Setup {
                config_cost: Some("12"),
                ..PLAIN
            },
            Seen {
                kind: FindingKind::Match,
                revenue: o("150"),
                cost: o("60"),
                margin: o("90"),
                margin_pct: o("60"),
                vendor_unit_cost: o("12"),
                low_margin: false,
                mismatch: Some((d("0"), d("12"))),
            },
            "",
            "records no unit cost (0) on line 77, the vendor's is 12.00/month (config ([cost.\"ninja/ws\"])): the PSA's margin on this line is off by 12.00 × 5 = 60.00",
        ),
        (
            "the vendor's cost wins over config; the PSA records the same: no mismatch",
            |w| {
                costed(w, 4, Some("12.5"), Some("USD"));
                acme_line(w, "4", "30", "12.50", "Monthly");
            },
            Setup {
                config_cost: Some("99"),
                ..PLAIN
            },
            Seen {
                kind: FindingKind::Match,
                revenue: o("120"),
                cost: o("50"),
                margin: o("70"),
                margin_pct: o("58.3"),
                vendor_unit_cost: o("12.5"),
                low_margin: false,
                mismatch: None,
            },
            "",
            "",
        ),
        (
            "a yearly line's price and cost are per year: compared per month",
            |w| {
                costed(w, 2, Some("12"), None);
                acme_line(w, "2", "360", "144", "Annual");
            },
            PLAIN,
            Seen {
                kind: FindingKind::Match,
                revenue: o("60"),
                cost: o("24"),
                margin: o("36"),
                margin_pct: o("60"),
                vendor_unit_cost: o("12"),
                low_margin: false,
                mismatch: None,
            },
            "",
            "",
        ),
        (
            "some units without a cost: the cost is unknown, never a partial sum",
            |w| {
                costed(w, 3, Some("12"), None);
                costed(w, 2, None, None);
                acme_line(w, "5", "30", "12", "Monthly");
            },
            PLAIN,
            Seen {
                kind: FindingKind::Match,
                revenue: o("150"),
                cost: None,
                margin: None,
                margin_pct: None,
                vendor_unit_cost: None,
                low_margin: false,
                mismatch: None,
            },
            "cost unknown for 2 unit(s): the vendor reports none; set [cost.\"ninja/ws\"] unit_cost",
            "",
        ),
        (
            "a cost in another currency is not converted",
            |w| {
                costed(w, 2, Some("10"), Some("EUR"));
                acme_line(w, "2", "30", "10", "Monthly");
            },
            PLAIN,
            Seen {
                kind: FindingKind::Match,
                revenue: o("60"),
                cost: None,
                margin: None,
                margin_pct: None,
                vendor_unit_cost: None,
                low_margin: false,
                mismatch: None,
            },
            "cost is in EUR, the report in USD (not converted)",
            "",
        ),
        (
            "a line that costs more than it bills loses money: low_margin, always",
            |w| {
                costed(w, 5, Some("12"), None);
                acme_line(w, "5", "10", "12", "Monthly");
            },
            PLAIN,
            Seen {
                kind: FindingKind::Match,
                revenue: o("50"),
                cost: o("60"),
                margin: o("-10"),
                margin_pct: o("-20"),
                vendor_unit_cost: o("12"),
                low_margin: true,
                mismatch: None,
            },
            "low_margin: loses 10.00/month (-20 %): revenue 50.00, cost 60.00",
            "",
        ),
        (
            "under the configured threshold: low_margin",
            |w| {
                costed(w, 5, Some("8"), None);
                acme_line(w, "5", "10", "8", "Monthly");
            },
            Setup {
                low_margin_pct: Some("25"),
                ..PLAIN
            },
            Seen {
                kind: FindingKind::Match,
                revenue: o("50"),
                cost: o("40"),
                margin: o("10"),
                margin_pct: o("20"),
                vendor_unit_cost: o("8"),
                low_margin: true,
                mismatch: None,
            },
            "low_margin: margin 10.00/month (20 %) is under [margin] low_margin_pct = 25",
            "",
        ),
        (
            "usage with no line: no revenue, all cost",
            |w| costed(w, 3, Some("12"), None),
            PLAIN,
            Seen {
                kind: FindingKind::UsageNoBilling,
                revenue: o("0"),
                cost: o("36"),
                margin: o("-36"),
                margin_pct: None,
                vendor_unit_cost: o("12"),
                low_margin: true,
                mismatch: None,
            },
            "low_margin: loses 36.00/month: revenue 0.00, cost 36.00",
            "",
        ),
        (
            "a line with no usage costs nothing",
            |w| acme_line(w, "3", "30", "5", "Monthly"),
            PLAIN,
            Seen {
                kind: FindingKind::BillingNoUsage,
                revenue: o("90"),
                cost: o("0"),
                margin: o("90"),
                margin_pct: o("100"),
                vendor_unit_cost: None,
                low_margin: false,
                mismatch: None,
            },
            "",
            "",
        ),
        (
            "a PSA whose lines carry no cost: never a mismatch",
            |w| {
                costed(w, 5, Some("12"), None);
                acme_line(w, "5", "30", "0", "Monthly");
            },
            Setup {
                records_cost: false,
                ..PLAIN
            },
            Seen {
                kind: FindingKind::Match,
                revenue: o("150"),
                cost: o("60"),
                margin: o("90"),
                margin_pct: o("60"),
                vendor_unit_cost: o("12"),
                low_margin: false,
                mismatch: None,
            },
            "",
            "",
        ),
        (
            "[margin] check_psa_cost = false: no mismatch",
            |w| {
                costed(w, 5, Some("12"), None);
                acme_line(w, "5", "30", "3", "Monthly");
            },
            Setup {
                check_psa_cost: false,
                ..PLAIN
            },
            Seen {
                kind: FindingKind::Match,
                revenue: o("150"),
                cost: o("60"),
                margin: o("90"),
                margin_pct: o("60"),
                vendor_unit_cost: o("12"),
                low_margin: false,
                mismatch: None,
            },
            "",
            "",
        ),
        (
            "a stale source: no margin, no low_margin, no mismatch",
            |w| {
                costed(w, 5, Some("12"), None);
                acme_line(w, "5", "10", "3", "Monthly");
            },
            Setup {
                unhealthy: true,
                ..PLAIN
            },
            Seen {
                kind: FindingKind::StaleSource,
                revenue: None,
                cost: None,
                margin: None,
                margin_pct: None,
                vendor_unit_cost: o("12"),
                low_margin: false,
                mismatch: None,
            },
            "",
            "",
        ),
    ];
    for (name, build, setup, want, note, mismatch_note) in cases {
        let mut w = world();
        build(&mut w);
        let (got, line_note, got_mismatch_note) = seen(&run_cost(&w, &setup));
        let norm = |s: &Seen| Seen {
            revenue: s.revenue.map(|x| x.normalize()),
            cost: s.cost.map(|x| x.normalize()),
            margin: s.margin.map(|x| x.normalize()),
            margin_pct: s.margin_pct.map(|x| x.normalize()),
            vendor_unit_cost: s.vendor_unit_cost.map(|x| x.normalize()),
            mismatch: s.mismatch.map(|(a, b)| (a.normalize(), b.normalize())),
            ..*s
        };
        assert_eq!(norm(&got), norm(&want), "{name}: {line_note}");
        assert!(line_note.contains(note), "{name}: note `{line_note}`");
        assert!(
            got_mismatch_note.contains(mismatch_note),
            "{name}: mismatch note `{got_mismatch_note}`"
        );
    }
}

#[test]
fn a_cost_mismatch_ranks_after_the_billing_findings_and_carries_no_money() {
    let mut w = world();
    costed(&mut w, 6, Some("12"), None);
    acme_line(&mut w, "5", "30", "9", "Monthly");
    let out = run_cost(&w, &PLAIN);
    let kinds: Vec<FindingKind> = out.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [FindingKind::UnderBilled, FindingKind::CostMismatch],
        "{out:#?}"
    );
    let m = &out[1];
    assert_eq!(m.monthly_impact, None);
    assert_eq!((m.revenue, m.cost, m.margin), (None, None, None));
    assert_ne!(m.id, out[0].id);
    assert!(m.note.contains("off by 3.00 × 6 = 18.00"), "{}", m.note);
    let t = Totals::of(&out);
    // 1 under-billed at 30, nothing from the mismatch, which is no unpriced discrepancy.
    assert_eq!(t.under_billed_monthly, d("30"));
    assert_eq!(t.discrepancies_without_impact, 0);
    assert_eq!(t.by_kind["cost_mismatch"], 1);
}
