//! N-central end to end: `connect ncentral` against the N-central demo sandbox (the User-API
//! Token on stdin, a device filter by name), ConnectWise from the demo sandbox, then sync, map,
//! reconcile and a CSV report whose counts are the sandbox's, probes left out.

use std::sync::Arc;

use reconcile::demo::apis::ncentral::{self as nc, DEMO_TOKEN};
use reconcile::demo::kit;
use rust_decimal::Decimal;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{billed_for, reconciled, running};

#[test]
fn connect_sync_map_report_with_ncentral() {
    let served = serve();
    let s = &served.sandbox;
    // A ConnectWise company billed for NINJA-WS and NINJA-SRV: its N-central devices get
    // mapped to it.
    let company = billed_for(&s.sample, "NINJA-WS");
    let sample = Arc::new(nc::sample(&[company.as_str(), "Orphan Org"]));
    let m = running(kit::serve::<nc::Api>(sample.clone()));
    let env = Env::new();
    env.cleanup.borrow_mut().push("rmm".to_string());

    let connect = |token: &str, filter: &str| {
        env.run(
            &[
                "connect",
                "ncentral",
                "--name",
                "rmm",
                "--url",
                m.server.url(),
                "--device-filter",
                filter,
                "--token-stdin",
            ],
            &format!("{token}\n"),
        )
    };
    // A wrong token is refused at the authenticate endpoint and nothing is saved.
    connect("not-the-jwt", "Managed Servers").expect(2).says(
        &[
            "HTTP 401",
            "POST /api/auth/authenticate",
            "Generate JSON Web Token",
        ],
        &["not-the-jwt", DEMO_TOKEN],
    );
    assert!(
        !env.config_path().exists()
            || !std::fs::read_to_string(env.config_path())
                .unwrap()
                .contains("[connections.rmm]")
    );
    connect(DEMO_TOKEN, "Managed Servers").expect(0).says(
        &[
            "verified N-able N-central",
            "version 2024.6.0.19",
            "customers and devices are readable",
            "device filters found: Managed Servers (1000017)",
        ],
        &[DEMO_TOKEN],
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"ncentral\""), "{config}");
    assert!(
        config.contains("device_filters = [\"Managed Servers\"]"),
        "{config}"
    );
    assert!(!config.contains(DEMO_TOKEN), "{config}");

    let sync = env.run(&["sync"], "").expect(0);
    let servers = sample
        .devices
        .iter()
        .filter(|d| nc::managed_server(d))
        .count();
    let items = sample.devices.len() + servers;
    assert!(
        sync.stderr().contains(&format!("{items} items")),
        "{}",
        sync.stderr()
    );
    // The filter's service is offered to map, named as N-central names the filter.
    let listed = env.run(&["map"], "").expect(0).stdout();
    for needle in [
        "managed-servers:device-filter",
        "Managed Servers (device filter)",
    ] {
        assert!(listed.contains(needle), "missing `{needle}` in:\n{listed}");
    }

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
    let want = nc::usage(&sample)
        .into_iter()
        .find(|(c, key, _)| c == &company && key == "total-workstations")
        .map(|(_, _, n)| n)
        .unwrap();
    // Eight workstations, four laptops and a Mac; not the probe, the kiosk or the printer.
    assert_eq!(want, Decimal::from(13), "the sandbox sample changed");
    reconciled(&env, &company, "NINJA-WS", "rmm", &want.to_string());

    // A filter the server does not have is refused at connect, naming the filters it has;
    // the saved connection is kept as it was.
    connect(DEMO_TOKEN, "Managed Laptops").expect(2).says(
        &[
            "device_filters names `Managed Laptops`",
            "Managed Servers, All Windows Devices",
        ],
        &[DEMO_TOKEN],
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        config.contains("device_filters = [\"Managed Servers\"]"),
        "{config}"
    );
}
