//! Datto RMM end to end: `connect datto-rmm` against the Datto RMM demo sandbox (the API key and
//! secret on two lines of stdin), ConnectWise from the demo sandbox, then sync, map, reconcile and
//! a CSV report whose workstation count is the sandbox's, deleted and suspended devices left out.

use std::sync::Arc;

use reconcile::demo::apis::datto_rmm::{self as datto, DEMO_API_KEY, DEMO_API_SECRET};
use reconcile::demo::kit;
use rust_decimal::Decimal;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{billed_for, reconciled, running};

#[test]
fn connect_sync_map_report_with_datto_rmm() {
    let served = serve();
    let s = &served.sandbox;
    // A ConnectWise company billed for NINJA-WS: its Datto RMM workstations get mapped to it.
    let company = billed_for(&s.sample, "NINJA-WS");
    let sample = Arc::new(datto::sample(&[company.as_str(), "Orphan Org"]));
    let m = running(kit::serve::<datto::Api>(sample.clone()));
    let env = Env::new();
    env.cleanup.borrow_mut().push("rmm".to_string());

    let connect = |secret: &str| {
        env.run(
            &[
                "connect",
                "datto-rmm",
                "--name",
                "rmm",
                "--url",
                m.server.url(),
                "--api-key-stdin",
            ],
            &format!("{DEMO_API_KEY}\n{secret}\n"),
        )
    };
    // A wrong secret is refused at the token endpoint and nothing is saved.
    connect("wrong-secret").expect(2).says(
        &["HTTP 400", "invalid_grant", "POST /auth/oauth/token"],
        &["wrong-secret", DEMO_API_KEY],
    );
    assert!(
        !env.config_path().exists()
            || !std::fs::read_to_string(env.config_path())
                .unwrap()
                .contains("[connections.rmm]")
    );
    connect(DEMO_API_SECRET).expect(0).says(
        &[
            "verified Datto RMM",
            "account `BlueWave MSP`",
            "sites and devices are readable",
        ],
        &[DEMO_API_SECRET, DEMO_API_KEY],
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.rmm]"), "{config}");
    assert!(config.contains("kind = \"datto-rmm\""), "{config}");
    assert!(
        !config.contains(DEMO_API_SECRET) && !config.contains(DEMO_API_KEY),
        "{config}"
    );

    // A platform instead of a URL is saved as such (not verified: it would leave loopback).
    env.cleanup.borrow_mut().push("rmm-merlot".to_string());
    env.run(
        &[
            "connect",
            "datto-rmm",
            "--name",
            "rmm-merlot",
            "--platform",
            "merlot",
            "--api-key-stdin",
            "--no-verify",
        ],
        "some-key\nsome-secret\n",
    )
    .expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("platform = \"merlot\""), "{config}");
    env.run(&["disconnect", "rmm-merlot", "--quiet"], "")
        .expect(0);

    let sync = env.run(&["sync"], "").expect(0);
    let items = sample.devices.len();
    assert!(
        sync.stderr().contains(&format!("{items} items")),
        "{}",
        sync.stderr()
    );

    env.run(&["map", "account", "rmm", &company, "--to", &company], "")
        .expect(0);
    env.run(
        &[
            "map",
            "service",
            "rmm",
            "total-workstations",
            "--to",
            "NINJA-WS",
        ],
        "",
    )
    .expect(0);
    let want = datto::usage(&sample)
        .into_iter()
        .find(|(site, key, _)| site == &company && key == "total-workstations")
        .map(|(_, _, n)| n)
        .unwrap();
    // Seven desktops and five laptops; the deleted laptop and the kiosk of unknown type are not
    // workstations.
    assert_eq!(want, Decimal::from(12), "the sandbox sample changed");
    reconciled(&env, &company, "NINJA-WS", "rmm", &want.to_string());
}
