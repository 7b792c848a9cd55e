//! Webroot end to end: `connect webroot` against its demo sandbox (the client secret and the
//! admin's password on two lines of stdin), ConnectWise from the demo sandbox, then sync, map,
//! reconcile and a CSV report whose count leaves out what Webroot does not bill: endpoints not
//! seen for 30 days and deactivated ones.

use std::sync::Arc;

use reconcile::demo::apis::webroot::{
    self as wr, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_GSM_KEY, DEMO_PASSWORD, DEMO_USERNAME,
};
use reconcile::demo::kit;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{billed_for, reconciled, running};

#[test]
fn connect_sync_map_report_with_webroot() {
    let served = serve();
    let s = &served.sandbox;
    let company = billed_for(&s.sample, "NINJA-WS");
    let sample = Arc::new(wr::sample(&[company.as_str(), "Orphan Org"]));
    let m = running(kit::serve::<wr::Api>(sample.clone()));
    let env = Env::new();
    env.cleanup.borrow_mut().push("wr".to_string());
    let connect = |password: &str| {
        env.run(
            &[
                "connect",
                "webroot",
                "--name",
                "wr",
                "--gsm-key",
                DEMO_GSM_KEY,
                "--client-id",
                DEMO_CLIENT_ID,
                "--username",
                DEMO_USERNAME,
                "--url",
                m.server.url(),
                "--secrets-stdin",
            ],
            &format!("{DEMO_CLIENT_SECRET}\n{password}\n"),
        )
    };
    connect("not-the-password").expect(2).says(
        &[
            "HTTP 400",
            "invalid_grant",
            "POST /auth/token",
            "Settings > API Access",
        ],
        &["not-the-password", DEMO_CLIENT_SECRET],
    );
    connect(DEMO_PASSWORD).expect(0).says(
        &[
            "verified Webroot",
            "2 sites",
            "sites and endpoints are readable",
        ],
        &[DEMO_PASSWORD, DEMO_CLIENT_SECRET],
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"webroot\""), "{config}");
    assert!(config.contains(DEMO_GSM_KEY), "{config}");
    assert!(
        !config.contains(DEMO_PASSWORD) && !config.contains(DEMO_CLIENT_SECRET),
        "{config}"
    );

    env.run(&["sync"], "").expect(0);
    env.run(&["map", "account", "wr", &company, "--to", &company], "")
        .expect(0);
    env.run(
        &[
            "map",
            "service",
            "wr",
            "total-endpoints",
            "--to",
            "NINJA-WS",
        ],
        "",
    )
    .expect(0);
    let want = wr::usage(&sample)
        .into_iter()
        .find(|(c, key, _)| c == &company && key == "total-endpoints")
        .map(|(_, _, n)| n)
        .unwrap();
    // 14 endpoints seen lately; not the 2 last seen 45 days ago, nor the deactivated one.
    assert_eq!(want, 14.into(), "the sandbox sample changed");
    reconciled(&env, &company, "NINJA-WS", "wr", &want.to_string());
}
