//! The counting rules of the config, end to end: an `[[exclude]]` and a change of the stale
//! threshold change the CSV report as expected, and `reconcile explain` shows the records behind
//! a planted company's line.

use std::collections::BTreeMap;

use reconcile::demo::sample::{SampleMsp, demo_product_for_class, effective_class};
use reconcile::engine::FindingKind;

use crate::flow::{connected_both, map_demo, serve};
use crate::harness::Env;
use crate::support::{self, Finding};

fn n(s: &str) -> u64 {
    if s.is_empty() { 0 } else { s.parse().unwrap() }
}

fn report(env: &Env) -> BTreeMap<(String, String), Finding> {
    support::report(env, &[])
        .0
        .into_iter()
        .filter(|r| !r.product.is_empty())
        .map(|r| ((r.company.clone(), r.product.clone()), r))
        .collect()
}

fn append_config(env: &Env, text: &str) {
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str(text);
    std::fs::write(env.config_path(), config).unwrap();
}

/// (non-pending devices of the org counted as `product`, of which last in contact more than
/// `days` ago).
fn usage(sample: &SampleMsp, org: &str, product: &str, days: i64) -> (u64, u64) {
    let org = sample
        .ninjaone
        .organizations
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(org))
        .unwrap();
    let mut out = (0, 0);
    for d in &sample.ninjaone.devices {
        if d.organization_id == org.id
            && d.approval_status != "PENDING"
            && demo_product_for_class(effective_class(d, &sample.ninjaone.roles)) == Some(product)
        {
            out.0 += 1;
            if d.last_contact_age_secs > days * 86_400 {
                out.1 += 1;
            }
        }
    }
    out
}

#[test]
fn an_exclusion_and_the_stale_threshold_change_the_report_and_explain_shows_why() {
    let served = serve();
    let s = &served.sandbox;
    let sample = &s.sample;
    let env = Env::new();
    connected_both(&env, s);
    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(&env, s);

    // A matched company whose NinjaOne organization has the same name (mapped automatically).
    let e = sample
        .planted
        .expected
        .iter()
        .find(|e| {
            e.kind == FindingKind::Match
                && e.product == "NINJA-WS"
                && e.actual >= 3.into()
                && e.pending == 0
                && e.inactive == 0
                && sample
                    .ninjaone
                    .organizations
                    .iter()
                    .any(|o| o.name.eq_ignore_ascii_case(&e.company))
        })
        .expect("a matched workstation line");
    let company = e.company.clone();
    let key = (company.clone(), "NINJA-WS".to_string());
    let org = sample
        .ninjaone
        .organizations
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(&company))
        .unwrap();
    // One of its workstations, with a name no other device has.
    let device = sample
        .ninjaone
        .devices
        .iter()
        .find(|d| {
            d.organization_id == org.id
                && d.approval_status != "PENDING"
                && demo_product_for_class(effective_class(d, &sample.ninjaone.roles))
                    == Some("NINJA-WS")
                && sample
                    .ninjaone
                    .devices
                    .iter()
                    .filter(|o| o.display_name.eq_ignore_ascii_case(&d.display_name))
                    .count()
                    == 1
        })
        .expect("a workstation with a unique name");

    let before = report(&env);
    let row = &before[&key];
    assert_eq!(row.kind, FindingKind::Match, "{row:?}");
    assert_eq!(n(&row.actual_qty).to_string(), e.actual.to_string());
    assert_eq!(row.excluded_qty, "");

    // An exclusion by device name: one device less, listed with its reason.
    append_config(
        &env,
        &format!(
            "\n[[exclude]]\ndevice_name = \"{}\"\nreason = \"lab machine\"\n",
            device.display_name.to_lowercase()
        ),
    );
    let after = report(&env);
    let row = &after[&key];
    assert_eq!(
        n(&row.actual_qty),
        n(&before[&key].actual_qty) - 1,
        "{row:?}"
    );
    assert_eq!(row.excluded_qty, "1", "{row:?}");
    assert_eq!(row.exclusions, "lab machine: 1", "{row:?}");
    assert_eq!(row.kind, FindingKind::OverBilled, "{row:?}");
    assert_eq!(row.billed_qty, before[&key].billed_qty);
    // Nothing else moved.
    for (k, r) in &after {
        if k != &key {
            assert_eq!(r.actual_qty, before[k].actual_qty, "{k:?}");
        }
    }
    let table = env
        .run(&["report", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(
        table.contains("Excluded from the counts: 1 by \"lab machine\""),
        "{table}"
    );

    // An account-wide exclusion of the unmapped organization: no unmapped_account finding, and
    // the report says what the exclusion removed.
    let unmatched = s.sample.planted.unmatched_org.clone();
    append_config(
        &env,
        &format!("\n[[exclude]]\naccount = \"{unmatched}\"\nreason = \"pro bono\"\n"),
    );
    let csv_text = env
        .run(&["report", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(!csv_text.contains(&unmatched), "{csv_text}");
    let table = env
        .run(&["report", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(
        table.contains(&format!("Excluded account: {unmatched} ("))
            && table.contains("by \"pro bono\""),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["report", "--format", "json"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(
        json["totals"]["excluded_accounts"][0]["account"],
        unmatched.as_str()
    );

    // `explain` by a differently written name: the excluded device and why, the lines summed.
    let messy = format!("  {}  ", company.to_uppercase().replace(' ', "   "));
    let explain = env
        .run(&["explain", &messy, "ninja-ws"], "")
        .expect(0)
        .stdout();
    assert!(
        explain.contains("product NINJA-WS: over_billed"),
        "{explain}"
    );
    assert!(explain.contains("excluded (1):"), "{explain}");
    assert!(
        explain.contains(&format!("{} (id {}", device.display_name, device.id)),
        "{explain}"
    );
    assert!(explain.contains("excluded: lab machine"), "{explain}");
    let counted = n(&row.actual_qty);
    assert!(
        explain.contains(&format!("counted ({counted}):")),
        "{explain}"
    );
    assert!(
        explain.contains("Managed Services\": quantity"),
        "{explain}"
    );
    assert!(
        explain.contains(": summed, the impact's unit price"),
        "{explain}"
    );
    assert!(
        explain.contains(&format!(
            "difference        -1 = {counted} - {counted_plus}",
            counted_plus = counted + 1
        )),
        "{explain}"
    );
    assert!(
        explain.contains("kind              over_billed"),
        "{explain}"
    );
    let err = env.run(&["explain", "Acme Dentl"], "").expect(2).stderr();
    assert!(err.contains("no PSA company `Acme Dentl`"), "{err}");
    assert!(err.contains("near names: Acme Dental Group"), "{err}");

    // A stale threshold of 1 day: devices last seen before move from actual to inactive.
    append_config(&env, "\n[rules]\ninactive_after_days = 1\n");
    let stale = report(&env);
    let mut moved = 0;
    for (k, r) in &stale {
        let was = &after[k];
        let total = |r: &Finding| {
            n(&r.actual_qty) + n(&r.inactive_qty) + n(&r.pending_qty) + n(&r.excluded_qty)
        };
        assert_eq!(total(r), total(was), "{k:?}: {r:?} vs {was:?}");
        assert!(n(&r.inactive_qty) >= n(&was.inactive_qty), "{k:?}");
        moved += n(&r.inactive_qty) - n(&was.inactive_qty);
    }
    assert!(moved > 0, "no device moved to inactive");
    // Exactly, for one company that no exclusion touches.
    let other = sample
        .planted
        .expected
        .iter()
        .find(|x| {
            x.product == "NINJA-WS"
                && x.company != company
                && sample
                    .ninjaone
                    .organizations
                    .iter()
                    .any(|o| o.name.eq_ignore_ascii_case(&x.company))
                && usage(sample, &x.company, "NINJA-WS", 1).1 > 0
        })
        .expect("a company with a device last seen over a day ago");
    let (all, old) = usage(sample, &other.company, "NINJA-WS", 1);
    let r = &stale[&(other.company.clone(), "NINJA-WS".to_string())];
    assert_eq!(n(&r.inactive_qty), old, "{r:?}");
    assert_eq!(n(&r.actual_qty), all - old, "{r:?}");

    // 0 turns the threshold off: nothing is inactive.
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    std::fs::write(
        env.config_path(),
        config.replace("inactive_after_days = 1", "inactive_after_days = 0"),
    )
    .unwrap();
    let off = report(&env);
    assert!(off.values().all(|r| r.inactive_qty.is_empty()), "{off:?}");
}
