//! Bitdefender GravityZone end to end: `connect gravityzone` against its demo sandbox (the API
//! key on stdin), ConnectWise from the demo sandbox, then sync, map, reconcile and a CSV report
//! whose count is the sandbox's monthly usage figure, and the `peak` basis `map` suggests.

use std::sync::Arc;

use reconcile::demo::apis::gravityzone::{self as gz, DEMO_API_KEY};
use reconcile::demo::kit;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{billed_for, reconciled, running};

#[test]
fn connect_sync_map_report_with_gravityzone() {
    let served = serve();
    let s = &served.sandbox;
    let company = billed_for(&s.sample, "NINJA-WS");
    let sample = Arc::new(gz::sample(&[company.as_str(), "Orphan Org"]));
    let m = running(kit::serve::<gz::Api>(sample.clone()));
    let env = Env::new();
    env.cleanup.borrow_mut().push("av".to_string());
    let url = format!("{}/api", m.server.url());
    let connect = |key: &str| {
        env.run(
            &[
                "connect",
                "gravityzone",
                "--name",
                "av",
                "--url",
                &url,
                "--api-key-stdin",
            ],
            &format!("{key}\n"),
        )
    };
    connect("wrong-key").expect(2).says(
        &[
            "HTTP 401",
            "POST /api/v1.0/jsonrpc/companies",
            "My Account > API keys",
        ],
        &["wrong-key"],
    );
    connect(DEMO_API_KEY).expect(0).says(
        &[
            "verified Bitdefender GravityZone",
            "partner company `BlueWave MSP`",
            "monthly usage is read for",
        ],
        &[DEMO_API_KEY],
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"gravityzone\""), "{config}");
    assert!(!config.contains(DEMO_API_KEY), "{config}");

    env.run(&["sync"], "").expect(0);
    let map = env.run(&["map"], "").expect(0);
    // Bitdefender bills the month's high watermark: `map` suggests the peak basis.
    map.says(
        &[
            "Bitdefender GravityZone bills on its monthly usage: the month's high watermark",
            "`[basis.services] \"av/",
            "= \"peak\"`",
        ],
        &[],
    );
    let listed = map.stdout();
    for needle in ["endpoint:monthly-usage", "Endpoint (monthly usage)"] {
        assert!(listed.contains(needle), "missing `{needle}` in:\n{listed}");
    }
    env.run(&["map", "account", "av", &company, "--to", &company], "")
        .expect(0);
    env.run(
        &[
            "map",
            "service",
            "av",
            "endpoint:monthly-usage",
            "--to",
            "NINJA-WS",
        ],
        "",
    )
    .expect(0)
    .says(
        &["[basis.services] \"av/endpoint:monthly-usage\" = \"peak\""],
        &[],
    );
    let want = gz::usage(&sample)
        .into_iter()
        .find(|(c, key, _)| c == &company && key == "endpoint:monthly-usage")
        .map(|(_, _, n)| n)
        .unwrap();
    // 15 endpoints and an appliance of an unknown type listed, 2 removed during the month.
    assert_eq!(want, 18.into(), "the sandbox sample changed");
    reconciled(&env, &company, "NINJA-WS", "av", &want.to_string());
}
