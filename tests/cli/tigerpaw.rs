//! Tigerpaw end to end: NinjaOne from the demo sandbox, Tigerpaw from its sandbox (the same
//! clients and billing as the ConnectWise one, as agreements' additional charges in whole
//! units), `connect tigerpaw --key-pair` with the rep's two keys on stdin, then sync, map,
//! reconcile and a CSV report whose billed quantities are the planted ones rounded up to whole
//! units; `push` says the connection is report-only.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::tigerpaw::{self as tp, DEMO_TOKEN};
use reconcile::demo::kit;

use crate::flow::{connect_ninjaone_at, map_demo, serve};
use crate::harness::Env;
use crate::support::{assert_expected, report, running};

#[test]
fn reconcile_ninjaone_against_tigerpaw() {
    let served = serve();
    let s = &served.sandbox;
    let api = running(kit::serve::<tp::Api>(s.sample.clone()));
    let url = api.server.url().to_string();
    let env = Env::new();
    env.cleanup.borrow_mut().push("tigerpaw".to_string());
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);

    let connect = |stdin: &str, pair: bool| {
        let mut args = vec!["connect", "tigerpaw", "--url", &url, "--token-stdin"];
        if pair {
            args.push("--key-pair");
        }
        env.run(&args, stdin)
    };
    // A wrong token is refused, with what to check, and nothing is saved.
    let refused = connect("not-the-token\n", false).expect(2);
    let err = refused.stderr();
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(err.contains("--key-pair"), "{err}");
    assert!(!err.contains("not-the-token"), "{err}");
    // The demo token is base64(public:private): the two keys make it.
    let (public, private) = {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(DEMO_TOKEN)
            .unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (p, k) = text.split_once(':').unwrap();
        (p.to_string(), k.to_string())
    };
    let connected = connect(&format!("{public}\n{private}\n"), true).expect(0);
    assert!(
        connected.stderr().contains("verified Tigerpaw"),
        "{}",
        connected.stderr()
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"tigerpaw\""), "{config}");
    assert!(
        !config.contains(DEMO_TOKEN) && !config.contains(&private),
        "{config}"
    );

    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(&env, s);
    env.run(&["reconcile"], "").expect(0);
    let (rows, text) = report(&env, &[]);
    for e in &s.sample.planted.expected {
        // Whole units: a fractional line bills the next unit.
        let row = assert_expected(&rows, &text, e, e.billed.ceil());
        assert_eq!(row.psa_connection, "tigerpaw", "{row:?}");
    }

    let push = env.run(&["push", "plan"], "").expect(0);
    let all = format!("{}{}", push.stdout(), push.stderr());
    assert!(
        all.contains("`tigerpaw` (Tigerpaw) is report-only"),
        "{all}"
    );
}
