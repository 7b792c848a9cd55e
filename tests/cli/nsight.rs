//! N-sight RMM end to end: `connect nsight` against its demo sandbox (the API key on stdin),
//! ConnectWise from the demo sandbox, then sync, map (with the `peak` basis it suggests for a
//! high-watermark vendor), reconcile and a CSV report whose Managed Antivirus count is the
//! sandbox's.

use std::sync::Arc;

use reconcile::demo::apis::nsight::{self as ns, DEMO_API_KEY};
use reconcile::demo::kit;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{billed_for, reconciled, running};

#[test]
fn connect_sync_map_report_with_nsight() {
    let served = serve();
    let s = &served.sandbox;
    let company = billed_for(&s.sample, "NINJA-WS");
    let sample = Arc::new(ns::sample(&[company.as_str(), "Orphan Org"]));
    let m = running(kit::serve::<ns::Api>(sample.clone()));
    let env = Env::new();
    env.cleanup.borrow_mut().push("ns".to_string());
    let connect = |key: &str| {
        env.run(
            &[
                "connect",
                "nsight",
                "--name",
                "ns",
                "--url",
                m.server.url(),
                "--api-key-stdin",
            ],
            &format!("{key}\n"),
        )
    };
    connect("wrong-key").expect(2).says(
        &[
            "N-sight error 3, Login failed",
            "GET /api/ (list_clients)",
            "General Settings > API",
        ],
        &["wrong-key"],
    );
    connect(DEMO_API_KEY).expect(0).says(
        &["verified N-able N-sight RMM", "(2 clients)"],
        &[DEMO_API_KEY],
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"nsight\""), "{config}");
    assert!(!config.contains(DEMO_API_KEY), "{config}");

    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0).says(
        &[
            "N-able N-sight RMM bills on the month's device high watermark",
            "= \"peak\"`",
        ],
        &[],
    );
    env.run(&["map", "account", "ns", &company, "--to", &company], "")
        .expect(0);
    env.run(&["map", "service", "ns", "mav", "--to", "NINJA-WS"], "")
        .expect(0);
    let want = ns::usage(&sample)
        .into_iter()
        .find(|(c, key, _)| c == &company && key == "mav")
        .map(|(_, _, n)| n)
        .unwrap();
    // 11 workstations and 2 servers, one workstation without Managed Antivirus.
    assert_eq!(want, 12.into(), "the sandbox sample changed");
    reconciled(&env, &company, "NINJA-WS", "ns", &want.to_string());
}
