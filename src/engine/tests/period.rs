//! Count basis over a billing period's snapshots.

use super::*;

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
            records_cost: true,
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

/// An account's snapshot: `ws` workstations (one more pending approval) and `srv` servers.
fn snapshot_of(account: &str, ws: usize, srv: usize) -> VendorSnapshot {
    let mut w = world();
    w.vendor.items.clear();
    devices(&mut w, account, "WS", ws, false);
    devices(&mut w, account, "WS", 1, true);
    devices(&mut w, account, "SRV", srv, false);
    w.vendor
}

/// Joins snapshots into one (their items side by side).
fn both(a: VendorSnapshot, b: VendorSnapshot) -> VendorSnapshot {
    let mut out = a;
    out.items.extend(b.items);
    out
}

fn counts_over(as_of: &VendorSnapshot, history: Option<&[(&str, VendorSnapshot)]>) -> Vec<String> {
    let services = services();
    let w = world();
    // The configured bases do not matter: every basis is worked out.
    let bases = Bases::default();
    let period = history.map(|h| PeriodInput {
        snapshots: [(
            "ninja",
            h.iter()
                .map(|(t, s)| (ts(t), s as &dyn Usage))
                .collect::<Vec<_>>(),
        )]
        .into_iter()
        .collect(),
        bases: &bases,
    });
    crate::engine::service_counts(&Input {
        as_of: ts(AS_OF),
        vendors: vec![VendorInput {
            connection: "ninja",
            services: &services,
            snapshot: as_of,
        }],
        psas: Vec::new(),
        accounts: &w.accounts,
        services: &w.services,
        tolerances: &Tolerances::default(),
        rules: &Rules::none(),
        unhealthy: &BTreeMap::new(),
        period: period.as_ref(),
    })
    .iter()
    .map(|c| {
        format!(
            "{}/{} {} ({}): latest {} peak {} average {} end {} of {}",
            c.connection,
            c.service,
            c.account_id,
            c.account,
            c.latest,
            c.peak,
            c.average,
            c.end_of_period,
            c.snapshots
        )
    })
    .collect()
}

#[test]
fn service_counts_per_account_on_every_basis() {
    // (name, as-of snapshot, the period's snapshots, lines)
    type Case = (
        &'static str,
        VendorSnapshot,
        Option<Vec<(&'static str, VendorSnapshot)>>,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "no period: every basis is the as-of count; a service with no unit has no line",
            snapshot_of("1", 7, 0),
            None,
            vec!["ninja/ws 1 (Acme): latest 7 peak 7 average 7 end 7 of 1"],
        ),
        (
            "a period of 3 syncs: 4, 9, 6 workstations; pending ones never counted",
            snapshot_of("1", 7, 0),
            Some(vec![
                ("2026-06-02T00:00:00Z", snapshot_of("1", 4, 0)),
                ("2026-06-08T00:00:00Z", snapshot_of("1", 9, 0)),
                ("2026-06-14T00:00:00Z", snapshot_of("1", 6, 0)),
            ]),
            vec!["ninja/ws 1 (Acme): latest 7 peak 9 average 6.33 end 6 of 3"],
        ),
        (
            "an account gone by the as-of sync keeps its period's counts; each service apart",
            snapshot_of("1", 2, 1),
            Some(vec![
                (
                    "2026-06-02T00:00:00Z",
                    both(snapshot_of("1", 2, 0), snapshot_of("2", 3, 0)),
                ),
                ("2026-06-08T00:00:00Z", snapshot_of("1", 2, 1)),
            ]),
            vec![
                "ninja/ws 1 (Acme): latest 2 peak 2 average 2 end 2 of 2",
                "ninja/srv 1 (Acme): latest 1 peak 1 average 0.50 end 1 of 2",
                "ninja/ws 2 (Beta): latest 0 peak 3 average 1.50 end 0 of 2",
            ],
        ),
    ];
    for (name, as_of, history, want) in cases {
        assert_eq!(counts_over(&as_of, history.as_deref()), want, "{name}");
    }
}
