//! Autotask PSA end to end: NinjaOne from the demo sandbox, Autotask from the Autotask sandbox
//! (zone lookup, JSON-filter queries, nextPageUrl paging, monthly ContractServiceUnits rows);
//! connect both, sync, map, reconcile and a CSV report whose billed and actual quantities are the
//! sample's; `status` shows the API threshold Autotask reported.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::autotask::{
    self as at, DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME,
};
use reconcile::demo::kit;
use rust_decimal::Decimal;

use crate::flow::{connect_ninjaone_at, map_demo, serve};
use crate::harness::Env;
use crate::support::{assert_planted, dec, report, running};

#[test]
fn ninjaone_against_autotask_end_to_end() {
    let served = serve();
    let s = &served.sandbox;
    let at = running(kit::serve::<at::Api>(s.sample.clone()));
    let lookup = format!("{}/atservicesrest/", at.server.url());
    let env = Env::new();
    env.cleanup.borrow_mut().push("at".to_string());

    let connect = |secret: &str| {
        env.run(
            &[
                "connect",
                "autotask",
                "--name",
                "at",
                "--username",
                DEMO_USERNAME,
                "--integration-code",
                DEMO_INTEGRATION_CODE,
                "--zone-lookup-url",
                &lookup,
                "--secret-stdin",
            ],
            &format!("{secret}\n"),
        )
    };
    // A wrong secret is refused, named as such, never echoed, and nothing is saved.
    connect("not-the-secret").expect(2).says(
        &["HTTP 401", "API Tracking Identifier"],
        &["not-the-secret"],
    );
    assert!(
        !std::fs::read_to_string(env.config_path())
            .unwrap_or_default()
            .contains("[connections.at]")
    );

    let ok = connect(DEMO_SECRET).expect(0);
    assert!(ok.stderr().contains("Demo Zone"), "{}", ok.stderr());
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"autotask\""), "{config}");
    assert!(
        config.contains("billable_company_types = [\"Customer\"]"),
        "{config}"
    );
    assert!(!config.contains(DEMO_SECRET), "{config}");

    env.run(&["sync"], "").expect(0);
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(status.contains("api requests this hour: "), "{status}");
    assert!(status.contains(" of 10000"), "{status}");

    env.run(&["map", "--format", "csv"], "").expect(0);
    map_demo(&env, s);
    env.run(&["reconcile"], "").expect(0);
    let (rows, csv_text) = report(&env, &[]);
    // NinjaOne counts devices: whole numbers, so whole units change nothing here.
    assert_planted(&rows, &csv_text, &s.sample.planted, "at");
    // The client whose old rate ended mid-2025: only the covering unit row counts, at its price.
    let priced = rows
        .iter()
        .filter(|r| r.product == "NINJA-WS" && !r.unit_price.is_empty())
        .all(|r| dec(&r.unit_price) < Decimal::from(52));
    assert!(priced, "an old, ended unit row was counted:\n{csv_text}");
    assert!(at.server.stats.total() > 5);
}
