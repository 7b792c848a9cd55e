//! Syncro end to end: NinjaOne from the demo sandbox, Syncro from the Syncro demo sandbox (the
//! same clients, recurring invoices and lines as the ConnectWise one), `connect syncro` with a
//! billable-customer rule, then sync, map, reconcile and a CSV report whose billed and actual
//! quantities are the planted ones.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::syncro::{self as sy, DEMO_API_TOKEN};
use reconcile::demo::kit;

use crate::flow::{connect_ninjaone_at, map_demo, serve};
use crate::harness::Env;
use crate::support::{assert_planted, report, running};

#[test]
fn reconcile_ninjaone_against_syncro() {
    let served = serve();
    let s = &served.sandbox;
    let sy = running(kit::serve::<sy::Api>(s.sample.clone()));
    let api = format!("{}/api/v1", sy.server.url());
    let env = Env::new();
    env.cleanup.borrow_mut().push("syncro".to_string());
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);

    let connect = |token: &str| {
        env.run(
            &[
                "connect",
                "syncro",
                "--name",
                "syncro",
                "--url",
                &api,
                "--billable-property",
                "Type",
                "--billable-value",
                "Client",
                "--api-token-stdin",
            ],
            &format!("{token}\n"),
        )
    };
    // A wrong token is refused, named as such, and nothing is saved.
    let refused = connect("not-the-token").expect(2);
    assert!(
        refused.stderr().contains("HTTP 401"),
        "{}",
        refused.stderr()
    );
    assert!(
        !refused.stderr().contains("not-the-token"),
        "{}",
        refused.stderr()
    );
    let connected = connect(DEMO_API_TOKEN).expect(0);
    assert!(
        connected.stderr().contains("verified Syncro"),
        "{}",
        connected.stderr()
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.syncro]"), "{config}");
    assert!(config.contains("kind = \"syncro\""), "{config}");
    assert!(config.contains("billable_property = \"Type\""), "{config}");
    assert!(!config.contains(DEMO_API_TOKEN), "{config}");

    env.run(&["sync"], "").expect(0);
    let status = env.run(&["status"], "").expect(0).stdout();
    assert!(status.contains("api requests this sync"), "{status}");

    env.run(&["map"], "").expect(0);
    map_demo(&env, s);
    env.run(&["reconcile"], "").expect(0);
    let (rows, text) = report(&env, &[]);
    assert_planted(&rows, &text, &s.sample.planted, "syncro");
    // Paging: the customers span more than one page, and every request carried the token.
    assert!(sy.server.stats.endpoint("GET /api/v1/customers") >= 2);
}
