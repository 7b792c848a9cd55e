//! Billing periods: `--period` and `--as-of` reconcile from stored history, and each service
//! is counted on its `[basis]` (latest, peak, ...) over the period's snapshots.

use std::collections::HashMap;

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::ninjaone;
use reconcile::demo::{SampleMsp, Sandbox, sample};

use crate::flow::{connected_both, map_demo};
use crate::harness::Env;
use crate::health::rows;
use crate::support::runtime;

/// The sample with `extra` more approved workstations in the organization of the first one.
fn with_extra_workstations(extra: usize) -> (SampleMsp, String) {
    let mut s = sample();
    let template = s
        .ninjaone
        .devices
        .iter()
        .find(|d| d.node_class == "WINDOWS_WORKSTATION" && d.approval_status == "APPROVED")
        .unwrap()
        .clone();
    let org = s
        .ninjaone
        .organizations
        .iter()
        .find(|o| o.id == template.organization_id)
        .unwrap()
        .name
        .clone();
    let first_id = s.ninjaone.devices.iter().map(|d| d.id).max().unwrap() + 1;
    for i in 0..extra {
        let mut d = template.clone();
        d.id = first_id + i as i64;
        d.uid = format!("{}-extra-{i}", d.uid);
        d.display_name = format!("EXTRA-WS-{i}");
        d.system_name = format!("EXTRA-WS-{i}");
        d.dns_name = None;
        d.netbios_name = None;
        s.ninjaone.devices.push(d);
    }
    (s, org)
}

fn set_finished(env: &Env, run_ids_and_times: &[(i64, &str)]) {
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    for (id, at) in run_ids_and_times {
        let n = db
            .execute(
                "UPDATE sync_run SET finished_at = ?1 WHERE id = ?2",
                rusqlite::params![at, id],
            )
            .unwrap();
        assert_eq!(n, 1, "run {id}");
    }
}

/// Successful run ids of a connection, oldest first.
fn ok_runs(env: &Env, connection: &str) -> Vec<i64> {
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    let mut stmt = db
        .prepare("SELECT id FROM sync_run WHERE connection = ?1 AND status = 'ok' ORDER BY id")
        .unwrap();
    stmt.query_map([connection], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<i64>>>()
        .unwrap()
}

/// The row of the planted organization's workstation line.
fn ws_row(csv: &str, org: &str) -> HashMap<String, String> {
    let all = rows(csv);
    all.iter()
        .find(|r| {
            r["services"].contains("ninja/total-workstations")
                && r["vendor_accounts"].contains(org)
                && !r["product"].is_empty()
        })
        .unwrap_or_else(|| panic!("no workstation line for {org} in\n{csv}"))
        .clone()
}

fn actual(row: &HashMap<String, String>) -> i64 {
    row["actual_qty"].parse().unwrap()
}

/// Three NinjaOne syncs (base + 3, base + 1, base + 2 workstations) dated 5 and 20 October
/// and 3 November; one ConnectWise sync dated 1 October.
fn three_syncs(env: &Env, rt: &tokio::runtime::Runtime, keep: &mut Vec<Sandbox>) -> String {
    let (first, org) = with_extra_workstations(3);
    let s1 = rt.block_on(Sandbox::start(first)).unwrap();
    connected_both(env, &s1);
    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(env, &s1);
    keep.push(s1);
    for extra in [1, 2] {
        let (s, _) = with_extra_workstations(extra);
        let s = rt.block_on(Sandbox::start(s)).unwrap();
        env.run(
            &[
                "connect",
                "ninjaone",
                "--name",
                "ninja",
                "--url",
                s.url(ConnectorKind::NinjaOne),
                "--client-id",
                ninjaone::DEMO_CLIENT_ID,
            ],
            &format!("{}\n", ninjaone::DEMO_CLIENT_SECRET),
        )
        .expect(0);
        env.run(&["sync", "ninja"], "").expect(0);
        keep.push(s);
    }
    let ninja = ok_runs(env, "ninja");
    assert_eq!(ninja.len(), 3);
    let cw = ok_runs(env, "cw");
    set_finished(
        env,
        &[
            (cw[0], "2026-10-01T00:00:00Z"),
            (ninja[0], "2026-10-05T08:00:00Z"),
            (ninja[1], "2026-10-20T08:00:00Z"),
            (ninja[2], "2026-11-03T08:00:00Z"),
        ],
    );
    // Old snapshots are not stale at their own dates, but now they are days old; and devices
    // never turn inactive, so only the planted workstations change the counts.
    let mut text = std::fs::read_to_string(env.config_path()).unwrap();
    text.push_str("\n[health]\nmax_age_hours = 1000000\n\n[rules]\ninactive_after_days = 0\n");
    std::fs::write(env.config_path(), text).unwrap();
    org
}

fn report(env: &Env, extra: &[&str]) -> String {
    let mut args = vec!["report", "--format", "csv"];
    args.extend_from_slice(extra);
    env.run(&args, "").expect(0).stdout()
}

#[test]
fn period_and_as_of_reconcile_from_stored_history() {
    let rt = runtime();
    let env = Env::new();
    let mut keep = Vec::new();
    let org = three_syncs(&env, &rt, &mut keep);

    // As of 10 October: the first sync (base + 3).
    let first = ws_row(&report(&env, &["--as-of", "2026-10-10"]), &org);
    assert_eq!(first["basis"], "latest");
    assert_eq!(first["snapshots"], "1");
    let base = actual(&first) - 3;

    // The October period: as of its end, the 20 October sync (base + 1).
    let r = env.run(&["reconcile", "--period", "2026-10"], "").expect(0);
    assert!(
        r.stderr().contains("as of 2026-10-31T23:59:59.999999999Z"),
        "{}",
        r.stderr()
    );
    let oct = ws_row(&report(&env, &["--period", "2026-10"]), &org);
    assert_eq!(actual(&oct), base + 1, "{oct:?}");
    assert_eq!(oct["basis"], "latest");
    assert_eq!(oct["snapshots"], "1");
    assert!(
        rows(&report(&env, &["--period", "2026-10"]))
            .iter()
            .all(|r| r["type"] != "stale_source"),
        "a past period is not stale because it is old"
    );

    // Plain report: the current snapshot (the November sync, base + 2).
    let now = ws_row(&report(&env, &[]), &org);
    assert_eq!(actual(&now), base + 2, "{now:?}");
    assert_eq!(now["basis"], "latest");
}

#[test]
fn peak_basis_takes_the_high_watermark_of_the_period() {
    let rt = runtime();
    let env = Env::new();
    let mut keep = Vec::new();
    let org = three_syncs(&env, &rt, &mut keep);
    let mut text = std::fs::read_to_string(env.config_path()).unwrap();
    text.push_str("\n[basis.services]\n\"ninja/total-workstations\" = \"peak\"\n");
    std::fs::write(env.config_path(), text).unwrap();

    let first = ws_row(&report(&env, &["--as-of", "2026-10-10"]), &org);
    // Only the 5 October snapshot is in the period up to 10 October.
    assert_eq!(first["basis"], "peak");
    assert_eq!(first["snapshots"], "1");
    let base = actual(&first) - 3;

    env.run(&["reconcile", "--period", "2026-10"], "").expect(0);
    let csv = report(&env, &["--period", "2026-10"]);
    let oct = ws_row(&csv, &org);
    assert_eq!(
        actual(&oct),
        base + 3,
        "the peak of base+3 and base+1: {oct:?}"
    );
    assert_eq!(oct["basis"], "peak");
    assert_eq!(oct["snapshots"], "2");
    assert!(
        oct["note"].contains("ninja/total-workstations peak of 2 snapshot(s)"),
        "{oct:?}"
    );
    let table = env
        .run(&["report", "--period", "2026-10", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(
        table.contains(&format!("{} (peak of 2", base + 3)),
        "{table}"
    );
    let explained = env
        .run(
            &[
                "explain",
                &oct["company_id"],
                &oct["product"],
                "--period",
                "2026-10",
            ],
            "",
        )
        .expect(0)
        .stdout();
    assert!(
        explained.contains("Count basis: peak over 2 snapshot(s)"),
        "{explained}"
    );
    assert!(
        explained.contains(&format!("{} at 2026-10-05T08:00:00Z", base + 3)),
        "{explained}"
    );
}

#[test]
fn as_of_before_any_sync_names_the_connection() {
    let rt = runtime();
    let env = Env::new();
    let mut keep = Vec::new();
    three_syncs(&env, &rt, &mut keep);
    for cmd in ["reconcile", "report"] {
        let r = env.run(&[cmd, "--as-of", "2026-09-01"], "").expect(2);
        let err = r.stderr();
        assert!(
            err.contains("has no successful sync at or before 2026-09-01"),
            "{err}"
        );
        assert!(err.contains("`cw`") || err.contains("`ninja`"), "{err}");
        assert!(
            err.contains("oldest successful sync finished at 2026-10-0"),
            "{err}"
        );
    }
    let r = env
        .run(
            &["reconcile", "--period", "2026-10", "--as-of", "2026-10-10"],
            "",
        )
        .expect(2);
    assert!(r.stderr().contains("cannot be used with"), "{}", r.stderr());
    let r = env.run(&["reconcile", "--period", "2026-13"], "").expect(2);
    assert!(r.stderr().contains("YYYY-MM"), "{}", r.stderr());
}
