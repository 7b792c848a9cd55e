//! Counting rules: stale threshold, pending approval, exclusions, contracts, custom services
//! and bundles, `classify`, `explain`, and the property that every item is accounted for.

use super::*;

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
            records_cost: true,
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
            records_cost: true,
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
