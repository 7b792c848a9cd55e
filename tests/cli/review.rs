//! `reconcile review`: decisions hide findings from the report until their numbers change.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::ninjaone;
use reconcile::demo::{SampleMsp, Sandbox, sample};
use reconcile::engine::FindingKind;
use rust_decimal::Decimal;

use crate::flow::{connected_both, map_demo};
use crate::harness::Env;
use crate::support::{self, Finding, runtime};

/// Sandboxes served by their own runtime's worker threads while the test runs processes.
struct Served {
    sandbox: Sandbox,
    rt: tokio::runtime::Runtime,
}

impl Served {
    fn new() -> Served {
        let rt = runtime();
        let sandbox = rt.block_on(Sandbox::start(sample())).unwrap();
        Served { sandbox, rt }
    }

    /// Another sandbox (same credentials) serving `sample`, on the same runtime.
    fn another(&self, sample: SampleMsp) -> Sandbox {
        self.rt.block_on(Sandbox::start(sample)).unwrap()
    }
}

fn report(env: &Env, extra: &[&str]) -> Vec<Finding> {
    support::report(env, extra).0
}

fn under_billed_monthly(env: &Env) -> Decimal {
    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["report", "--format", "json"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    json["totals"]["under_billed_monthly"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Connect, sync, map as the demo does; returns the first planted under-billed finding.
fn set_up(env: &Env, s: &Sandbox) -> Finding {
    connected_both(env, s);
    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(env, s);
    let company = &s.sample.planted.under_billed[0];
    report(env, &[])
        .into_iter()
        .find(|r| &r.company == company && r.kind == FindingKind::UnderBilled)
        .unwrap_or_else(|| panic!("{company} is not under-billed"))
}

#[test]
fn an_approved_finding_is_hidden_unless_all_and_leaves_the_totals() {
    let served = Served::new();
    let s = &served.sandbox;
    let env = Env::new();
    let row = set_up(&env, s);
    let before = under_billed_monthly(&env);

    let r = env
        .run(
            &[
                "review",
                "approve",
                &row.finding_id,
                "--note",
                "agreed with the client",
                "--by",
                "alice",
            ],
            "",
        )
        .expect(0);
    assert!(r.stderr().contains("approved"), "{}", r.stderr());
    assert!(r.stdout().is_empty(), "{}", r.stdout());

    let rows = report(&env, &[]);
    assert!(
        rows.iter().all(|r| r.finding_id != row.finding_id),
        "the approved finding is still shown"
    );
    let all = report(&env, &["--all"]);
    assert_eq!(all.len(), rows.len() + 1);
    let shown = all
        .iter()
        .find(|r| r.finding_id == row.finding_id)
        .expect("--all shows the approved finding");
    assert_eq!(shown.decision, "approve");
    assert_eq!(shown.decided_by, "alice");
    assert_eq!(shown.decision_note, "agreed with the client");
    assert!(
        shown.decided_at.parse::<jiff::Timestamp>().is_ok(),
        "{shown:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r.decision.is_empty() && r.decision_note.is_empty()),
        "open findings carry a decision"
    );

    // Totals cover only open findings.
    let impact: Decimal = row.monthly_impact.parse().unwrap();
    assert!(impact > Decimal::ZERO);
    assert_eq!(under_billed_monthly(&env), before - impact);

    // Other discrepancies are still open.
    env.run(&["report", "--format", "csv", "--exit-code"], "")
        .expect(1);

    let table = env
        .run(&["report", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(
        table.contains("1 decided finding hidden (--all shows it)"),
        "{table}"
    );
    assert!(!table.contains(&row.finding_id), "{table}");
    let table = env
        .run(&["report", "--format", "table", "--all"], "")
        .expect(0)
        .stdout();
    assert!(table.contains("Decision"), "{table}");
    // The decision cell may wrap: check its start only.
    assert!(table.contains("approved by alice: agreed"), "{table}");

    let list = env
        .run(&["review", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let line = list
        .lines()
        .find(|l| l.starts_with(&row.finding_id))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.contains(",approve,applies,") && line.contains("alice"),
        "{line}"
    );
}

#[test]
fn decisions_survive_a_new_sync() {
    let served = Served::new();
    let s = &served.sandbox;
    let env = Env::new();
    let row = set_up(&env, s);
    let over = report(&env, &[])
        .into_iter()
        .find(|r| r.kind == FindingKind::OverBilled)
        .expect("an over-billed finding");
    env.run(&["review", "approve", &row.finding_id, "--by", "alice"], "")
        .expect(0);
    env.run(&["review", "dismiss", &over.finding_id, "--by", "bob"], "")
        .expect(0);

    env.run(&["sync"], "").expect(0);
    env.run(&["reconcile"], "").expect(0);
    let rows = report(&env, &[]);
    for id in [&row.finding_id, &over.finding_id] {
        assert!(
            rows.iter().all(|r| &r.finding_id != id),
            "{id} is shown again after a sync with the same numbers"
        );
    }
    let all = report(&env, &["--all"]);
    let dismissed = all
        .iter()
        .find(|r| r.finding_id == over.finding_id)
        .unwrap();
    assert_eq!(dismissed.decision, "dismiss");
    assert_eq!(dismissed.decided_by, "bob");
    let list = env
        .run(&["review", "list", "--format", "json"], "")
        .expect(0)
        .stdout();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let period = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|d| d["decision"] == "dismiss" && d["period"] == period.as_str()),
        "{list}"
    );
}

#[test]
fn a_decision_comes_back_when_the_count_changes() {
    let served = Served::new();
    let s = &served.sandbox;
    let env = Env::new();
    let row = set_up(&env, s);
    env.run(
        &["review", "ignore", &row.finding_id, "--note", "waiting"],
        "",
    )
    .expect(0);
    assert!(
        report(&env, &[])
            .iter()
            .all(|r| r.finding_id != row.finding_id)
    );

    // The same MSP, but the approved company's organization lost its devices.
    let mut changed = sample();
    let org = changed
        .ninjaone
        .organizations
        .iter()
        .find(|o| o.name == row.company)
        .unwrap_or_else(|| panic!("no NinjaOne organization named {}", row.company))
        .id;
    changed
        .ninjaone
        .devices
        .retain(|d| d.organization_id != org);
    let other = served.another(changed);
    env.run(
        &[
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--url",
            other.url(ConnectorKind::NinjaOne),
            "--client-id",
            ninjaone::DEMO_CLIENT_ID,
        ],
        &format!("{}\n", ninjaone::DEMO_CLIENT_SECRET),
    )
    .expect(0);
    env.run(&["sync", "ninja"], "").expect(0);

    let rows = report(&env, &[]);
    let back = rows
        .iter()
        .find(|r| r.finding_id == row.finding_id)
        .unwrap_or_else(|| panic!("the finding did not come back: {rows:#?}"));
    assert_ne!(
        (&back.billed_qty, &back.actual_qty),
        (&row.billed_qty, &row.actual_qty)
    );
    assert_eq!(back.decision, "");
    assert_eq!(
        back.decision_note,
        "earlier ignore no longer applies: quantities changed"
    );
    assert_eq!(back.product, row.product);
    let table = env
        .run(&["report", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(
        table.contains("earlier ignore no longer applies"),
        "{table}"
    );
    assert!(!back.note.contains("earlier ignore"), "{back:?}");
    let list = env
        .run(&["review", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(
        list.contains("no longer applies: quantities changed"),
        "{list}"
    );

    // Undo removes the decision; a second undo has nothing to remove.
    env.run(&["review", "undo", &row.finding_id], "").expect(0);
    let list = env
        .run(&["review", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(!list.contains(&row.finding_id), "{list}");
    let r = env.run(&["review", "undo", &row.finding_id], "").expect(2);
    assert!(r.stderr().contains("no decision"), "{}", r.stderr());
}

#[test]
fn unknown_ids_and_matches_cannot_be_decided() {
    let served = Served::new();
    let s = &served.sandbox;
    let env = Env::new();

    let r = env.run(&["review", "approve", "F0000000000"], "").expect(2);
    assert!(r.stderr().contains("no findings yet"), "{}", r.stderr());

    set_up(&env, s);
    let r = env
        .run(&["review", "approve", "Fdoesnotexist"], "")
        .expect(2);
    let err = r.stderr();
    assert!(err.contains("`Fdoesnotexist`"), "{err}");
    assert!(err.contains("reconcile report"), "{err}");
    assert!(err.contains("first column"), "{err}");

    let m = report(&env, &[])
        .into_iter()
        .find(|r| r.kind == FindingKind::Match)
        .expect("a match");
    let r = env.run(&["review", "dismiss", &m.finding_id], "").expect(2);
    assert!(r.stderr().contains("nothing to decide"), "{}", r.stderr());
    let list = env
        .run(&["review", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert_eq!(list.lines().count(), 1, "{list}");
}
