//! Source health: a connector that broke (fewer records than it should have) makes its findings
//! `stale_source` instead of a report where every client looks over-billed.

use std::collections::HashMap;

use reconcile::connectors::ConnectorKind;
use reconcile::connectors::ninjaone;
use reconcile::demo::{self, SampleMsp, Sandbox, sample};

use crate::flow::{connected_both, map_demo};
use crate::harness::Env;
use crate::support::{csv_rows, runtime};

/// Report rows by column name, whatever columns the report has.
pub(crate) fn rows(csv_text: &str) -> Vec<HashMap<String, String>> {
    csv_rows(csv_text)
}

/// Sandboxes served by their own runtime's worker threads while the test runs processes.
struct Served {
    sandboxes: Vec<Sandbox>,
    rt: tokio::runtime::Runtime,
}

impl Served {
    fn new() -> Served {
        let rt = runtime();
        Served {
            sandboxes: Vec::new(),
            rt,
        }
    }

    fn start(&mut self, sample: SampleMsp) -> &Sandbox {
        let s = self.rt.block_on(Sandbox::start(sample)).unwrap();
        self.sandboxes.push(s);
        self.sandboxes.last().unwrap()
    }
}

#[test]
fn a_device_count_drop_marks_findings_stale_instead_of_over_billed() {
    let mut served = Served::new();
    let env = Env::new();
    let full = served.start(sample());
    connected_both(&env, full);
    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(&env, full);
    let before = rows(
        &env.run(&["report", "--format", "csv"], "")
            .expect(0)
            .stdout(),
    );
    assert!(before.iter().all(|r| r["type"] != "stale_source"));
    assert!(before.iter().any(|r| r["type"] == "match"));
    let devices = full.sample.ninjaone.devices.len();

    // The same tenant, but the API now returns less than a third of the devices.
    let mut broken = sample();
    broken.ninjaone.devices.truncate(devices / 3);
    let kept = broken.ninjaone.devices.len();
    let client_id = |s: &Sandbox| s.settings::<ninjaone::Settings>().client_id;
    let creds = client_id(full);
    let broken = served.start(broken);
    assert_eq!(client_id(broken), creds);
    env.run(
        &[
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--url",
            broken.url(ConnectorKind::NinjaOne),
            "--client-id",
            demo::apis::ninjaone::DEMO_CLIENT_ID,
        ],
        &format!("{}\n", demo::apis::ninjaone::DEMO_CLIENT_SECRET),
    )
    .expect(0);
    env.run(&["sync", "ninja"], "").expect(0);

    let r = env.run(&["reconcile"], "").expect(0);
    let stderr = r.stderr();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("is not healthy"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains(&format!(
            "`ninja` is not healthy, so its findings are reported as stale_source: its snapshot has {kept} items, down from {devices}"
        )),
        "{stderr}"
    );

    let r = env.run(&["report", "--format", "csv"], "").expect(0);
    let after = rows(&r.stdout());
    assert!(!after.is_empty());
    for row in &after {
        assert_eq!(row["type"], "stale_source", "{row:?}");
        assert!(
            row["note"].contains(&format!(
                "`ninja` is not healthy: its snapshot has {kept} items"
            )),
            "{row:?}"
        );
        assert_eq!(row["monthly_impact"], "", "{row:?}");
    }
    // Without the health rule these would have been over-billed or billed with no usage.
    assert!(
        after
            .iter()
            .filter(
                |r| r["note"].contains("from this data it would be over_billed")
                    || r["note"].contains("from this data it would be billing_no_usage")
            )
            .count()
            > before
                .iter()
                .filter(|r| r["type"] == "over_billed" || r["type"] == "billing_no_usage")
                .count()
    );
    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["report", "--format", "json"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(json["totals"]["over_billed_monthly"], "0.00");
    env.run(&["report", "--format", "csv", "--exit-code"], "")
        .expect(3);

    // Syncing the same count again confirms it: no longer stale, and now really over-billed.
    env.run(&["sync", "ninja"], "").expect(0);
    let r = env.run(&["report", "--format", "csv"], "").expect(0);
    assert!(!r.stderr().contains("is not healthy"), "{}", r.stderr());
    let confirmed = rows(&r.stdout());
    assert!(confirmed.iter().all(|r| r["type"] != "stale_source"));
    assert!(confirmed.iter().any(|r| r["type"] == "over_billed"));
    env.run(&["report", "--format", "csv", "--exit-code"], "")
        .expect(1);
}

#[test]
fn tolerances_from_the_config_file_turn_small_differences_into_within_tolerance() {
    let mut served = Served::new();
    let env = Env::new();
    let s = served.start(sample());
    connected_both(&env, s);
    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(&env, s);
    let before = rows(
        &env.run(&["report", "--format", "csv"], "")
            .expect(0)
            .stdout(),
    );
    let count =
        |rows: &[HashMap<String, String>], t: &str| rows.iter().filter(|r| r["type"] == t).count();
    let (under, over) = (
        count(&before, "under_billed"),
        count(&before, "over_billed"),
    );
    assert!(under > 0 && over > 0);

    // Generous tolerances in both directions: every under/over-billed line is within them.
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    std::fs::write(
        env.config_path(),
        format!("{config}\n[tolerance]\nincrease_abs = 1000\ndecrease_pct = 100\n"),
    )
    .unwrap();
    let r = env.run(&["report", "--format", "csv"], "").expect(0);
    let after = rows(&r.stdout());
    assert!(
        after
            .iter()
            .all(|r| r["type"] != "under_billed" && r["type"] != "over_billed"),
        "{}",
        r.stdout()
    );
    assert_eq!(count(&after, "within_tolerance"), under + over);
    // Report order: within_tolerance after every discrepancy, before matches.
    let ranks: Vec<usize> = after
        .iter()
        .map(|r| match r["type"].as_str() {
            "unmapped_account" | "unmapped_service" => 0,
            "stale_source" => 1,
            "within_tolerance" => 3,
            "match" => 4,
            _ => 2,
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
}

/// A new connection whose first sync fails hides no one else's findings: the report shows
/// them, names the connection and why, and `--exit-code` says a source is unhealthy.
#[test]
fn a_connection_that_never_synced_hides_no_one_elses_findings() {
    let served = crate::flow::serve();
    let s = &served.sandbox;
    let env = Env::new();
    let baseline = crate::flow::synced_and_mapped(&env, s);
    env.cleanup.borrow_mut().push("s1new".into());
    // Its host refuses every connection, so its first sync fails.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", refused.local_addr().unwrap());
    drop(refused);
    env.run(
        &[
            "connect",
            "sentinelone",
            "--name",
            "s1new",
            "--url",
            &url,
            "--no-verify",
        ],
        "a-token",
    )
    .expect(0);
    // Never synced: no "previous snapshot stays current" where there is none.
    env.run(&["sync", "s1new"], "").expect(2).says(
        &["`s1new` has no snapshot yet"],
        &["stay current", "keeps its"],
    );

    let report = env.run(&["report", "--format", "csv"], "").expect(0);
    assert_eq!(report.stdout(), baseline, "the other connections' findings");
    report.says(
        &["`s1new`", "no successful sync yet", "its last sync failed"],
        &[],
    );
    env.run(&["report", "--format", "csv", "--exit-code", "--quiet"], "")
        .expect(3);
}
