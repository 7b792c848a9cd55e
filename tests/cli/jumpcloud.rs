//! JumpCloud end to end: `connect jumpcloud` against the JumpCloud demo sandbox, ConnectWise
//! from the demo sandbox, then sync, map, reconcile and a CSV report whose user count is the
//! sandbox's, and `explain` listing the users behind it.

use std::sync::Arc;

use reconcile::demo::apis::jumpcloud::{self as jc, DEMO_API_KEY, DEMO_PROVIDER_ID};
use reconcile::demo::kit;
use rust_decimal::Decimal;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{billed_for, reconciled, running};

#[test]
fn connect_sync_map_report_with_jumpcloud() {
    let served = serve();
    let s = &served.sandbox;
    // A ConnectWise company billed for NINJA-WS: its JumpCloud users get mapped to that product.
    let company = billed_for(&s.sample, "NINJA-WS");
    let sample = Arc::new(jc::sample(&[company.as_str(), "Orphan Org"]));
    let m = running(kit::serve::<jc::Api>(sample.clone()));
    let env = Env::new();
    env.cleanup.borrow_mut().push("jc".to_string());

    let connect = |key: &str| {
        env.run(
            &[
                "connect",
                "jumpcloud",
                "--name",
                "jc",
                "--provider-id",
                DEMO_PROVIDER_ID,
                "--url",
                m.server.url(),
                "--api-key-stdin",
            ],
            &format!("{key}\n"),
        )
    };
    // A wrong key is refused and nothing is saved.
    connect("wrong-key")
        .expect(2)
        .says(&["HTTP 401"], &["wrong-key"]);
    connect(DEMO_API_KEY).expect(0).says(
        &["verified JumpCloud", "2 organizations are readable"],
        &[DEMO_API_KEY],
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.jc]"), "{config}");
    assert!(config.contains("kind = \"jumpcloud\""), "{config}");
    assert!(
        config.contains(&format!("provider_id = \"{DEMO_PROVIDER_ID}\"")),
        "{config}"
    );
    assert!(!config.contains(DEMO_API_KEY), "{config}");

    // A region instead of a URL is saved as such (not verified: it would leave loopback).
    env.cleanup.borrow_mut().push("jc-eu".to_string());
    env.run(
        &[
            "connect",
            "jumpcloud",
            "--name",
            "jc-eu",
            "--provider-id",
            DEMO_PROVIDER_ID,
            "--region",
            "eu",
            "--api-key-stdin",
            "--no-verify",
        ],
        "some-key\n",
    )
    .expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.jc-eu]"), "{config}");
    assert!(config.contains("region = \"eu\""), "{config}");
    env.run(&["disconnect", "jc-eu", "--quiet"], "").expect(0);

    let sync = env.run(&["sync"], "").expect(0);
    let items = sample.users.len() + sample.systems.len();
    assert!(
        sync.stderr().contains(&format!("{items} items")),
        "{}",
        sync.stderr()
    );

    // The sandbox's user in a state this version does not know is announced, not dropped.
    assert!(
        sync.stderr()
            .contains("user states this version does not know"),
        "{}",
        sync.stderr()
    );

    // Piped stderr (a cron mail) gets plain text even without NO_COLOR: no ANSI colour codes.
    let plain = env
        .std_cmd()
        .env_remove("NO_COLOR")
        .args(["sync", "jc"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&plain.stderr);
    assert!(
        err.contains("user states this version does not know"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in piped stderr: {err:?}"
    );

    env.run(&["map", "account", "jc", &company, "--to", &company], "")
        .expect(0);
    env.run(&["map", "service", "jc", "users", "--to", "NINJA-WS"], "")
        .expect(0);
    let want = jc::usage(&sample)
        .into_iter()
        .find(|(org, key, _)| org == &company && key == "users")
        .map(|(_, _, n)| n)
        .unwrap();
    // Every state counts: activated, suspended, staged and the unknown one.
    assert_eq!(want, Decimal::from(5), "the sandbox sample changed");
    let row = reconciled(&env, &company, "NINJA-WS", "jc", &want.to_string());

    // `explain` lists the users behind the count, the unknown state among them.
    let explained = env
        .run(&["explain", &row.company_id, "NINJA-WS"], "")
        .expect(0)
        .stdout();
    assert!(explained.contains("counted (5):"), "{explained}");
    for u in sample
        .users
        .iter()
        .filter(|u| u.org_id == sample.orgs[0].id)
    {
        assert!(
            explained.contains(&u.username),
            "{}: {explained}",
            u.username
        );
    }
    assert!(explained.contains("USER_STAGED"), "{explained}");
    assert!(explained.contains("USER_OTHER"), "{explained}");
}
