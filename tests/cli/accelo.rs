//! Accelo end to end: NinjaOne from the demo sandbox, Accelo from its sandbox (the same clients
//! and billing as the ConnectWise one, as materials on contract periods), `connect accelo` with
//! the client secret on stdin, then sync, map, reconcile and a CSV report whose billed and actual
//! quantities are the planted ones; `push` says the connection is report-only.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::accelo::{self as acc, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use reconcile::demo::kit;

use crate::flow::{connect_ninjaone_at, map_demo, serve};
use crate::harness::Env;
use crate::support::{assert_planted, report, running};

#[test]
fn reconcile_ninjaone_against_accelo() {
    let served = serve();
    let s = &served.sandbox;
    let api = running(kit::serve::<acc::Api>(s.sample.clone()));
    let url = api.server.url().to_string();
    let env = Env::new();
    env.cleanup.borrow_mut().push("accelo".to_string());
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);

    let connect = |secret: &str| {
        env.run(
            &[
                "connect",
                "accelo",
                "--url",
                &url,
                "--client-id",
                DEMO_CLIENT_ID,
                "--client-secret-stdin",
            ],
            &format!("{secret}\n"),
        )
    };
    // A wrong secret is refused at the token endpoint, named, and nothing is saved.
    let refused = connect("not-the-secret").expect(2);
    let err = refused.stderr();
    assert!(err.contains("POST /oauth2/v0/token"), "{err}");
    assert!(err.contains("check its client id and secret"), "{err}");
    assert!(!err.contains("not-the-secret"), "{err}");
    let connected = connect(DEMO_CLIENT_SECRET).expect(0);
    assert!(
        connected.stderr().contains("verified Accelo"),
        "{}",
        connected.stderr()
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"accelo\""), "{config}");
    assert!(
        config.contains("billable_standings = [\"active\"]"),
        "{config}"
    );
    assert!(!config.contains(DEMO_CLIENT_SECRET), "{config}");

    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(&env, s);
    env.run(&["reconcile"], "").expect(0);
    let (rows, text) = report(&env, &[]);
    assert_planted(&rows, &text, &s.sample.planted, "accelo");
    assert!(api.server.stats.endpoint("GET /api/v0/companies") >= 2);

    let push = env.run(&["push", "plan"], "").expect(0);
    let all = format!("{}{}", push.stdout(), push.stderr());
    assert!(all.contains("`accelo` (Accelo) is report-only"), "{all}");
}
