//! Quantity services (licenses), accounts the sync could not read, and PSAs that bill whole
//! units only.

use super::*;

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
            records_cost: true,
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

#[test]
fn a_company_whose_billing_the_psa_sync_could_not_read_is_stale_not_under_billed() {
    let mut w = world();
    devices(&mut w, "1", "WS", 6, false);
    devices(&mut w, "2", "WS", 4, false);
    // Acme's one line had a null quantity: the connector left it out and said why.
    line(&mut w, "b", "200", "WS", "4", "30");
    w.psa.unreadable.insert(
        "10".into(),
        "line 7 of recurring invoice 100 has no readable quantity (`qty_order`)".into(),
    );
    let f = run(&w);
    let acme = f
        .iter()
        .find(|f| f.company.as_deref() == Some("Acme"))
        .unwrap();
    assert_eq!(acme.kind, FindingKind::StaleSource, "{acme:#?}");
    assert_eq!(acme.monthly_impact, None);
    assert!(
        acme.note.contains(
            "could not read what Acme is billed: line 7 of recurring invoice 100 has no readable quantity"
        ),
        "{}",
        acme.note
    );
    assert!(
        acme.note.contains("it would be usage_no_billing"),
        "{}",
        acme.note
    );
    let beta = f
        .iter()
        .find(|f| f.company.as_deref() == Some("Beta"))
        .unwrap();
    assert_eq!(beta.kind, FindingKind::Match);
    assert_eq!(Totals::of(&f).under_billed_monthly, Decimal::ZERO);
}

#[test]
fn an_item_of_a_class_the_connector_does_not_know_is_named_in_the_class_services_finding() {
    let mut w = world();
    devices(&mut w, "1", "WS", 5, false);
    // A class NinjaOne added after this build (or a device sent with none): flagged, not guessed.
    devices(&mut w, "1", "KIOSK", 1, false);
    w.vendor.items.last_mut().unwrap().attrs =
        [("unknown_class".to_string(), "true".to_string())].into();
    line(&mut w, "a", "100", "WS", "5", "30");
    let f = run(&w);
    let acme = f
        .iter()
        .find(|f| f.company.as_deref() == Some("Acme"))
        .unwrap();
    assert_eq!(acme.kind, FindingKind::Match, "{acme:#?}");
    assert_eq!(acme.actual, Some(d("5")));
    assert!(
        acme.note
            .contains("1 item(s) of a class the connector does not know"),
        "{}",
        acme.note
    );
}
