//! N-able Cove end to end: `connect cove` (the password on stdin) against the demo's Cove
//! sandbox, which refuses any visa but the latest (so a forked chain fails here too),
//! ConnectWise from the demo sandbox, then sync, map, reconcile and a CSV report whose
//! protected servers are the sandbox's; `map` suggests the peak basis Cove bills on.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use reconcile::demo::Served;
use reconcile::demo::apis::cove::{
    Api, DEMO_PARTNER, DEMO_PASSWORD, DEMO_USERNAME, Sample, WRITES_REFUSED, sample, usage,
};
use reconcile::demo::kit::{self, Api as _};
use rust_decimal::Decimal;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{Running, finding, report, running};

fn sandbox(companies: &[&str]) -> (Running<Served>, Arc<Sample>) {
    let sample = Arc::new(sample(companies));
    (running(kit::serve::<Api>(sample.clone())), sample)
}

#[test]
fn connect_sync_map_report_with_cove() {
    let served = serve();
    let s = &served.sandbox;
    let mut companies: Vec<String> = Vec::new();
    for e in &s.sample.planted.expected {
        if !companies.contains(&e.company) {
            companies.push(e.company.clone());
        }
    }
    companies.truncate(3);
    let names: Vec<&str> = companies.iter().map(String::as_str).collect();
    let (cv, sample) = sandbox(&names);
    let url = Api::connection(&cv.server, &sample).settings.url.unwrap();
    let env = Env::new();
    env.cleanup.borrow_mut().push("cv".to_string());
    let writes_before = WRITES_REFUSED.load(Ordering::SeqCst);
    let connect = env
        .run(
            &[
                "connect",
                "cove",
                "--name",
                "cv",
                "--partner",
                DEMO_PARTNER,
                "--username",
                DEMO_USERNAME,
                "--url",
                &url,
            ],
            DEMO_PASSWORD,
        )
        .expect(0);
    let err = connect.stderr();
    assert!(
        err.contains("verified N-able Cove Data Protection"),
        "{err}"
    );
    assert!(err.contains("3 end customer(s) readable"), "{err}");
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"cove\""), "{config}");
    assert!(!config.contains(DEMO_PASSWORD), "{config}");

    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "");
    let mapped = env
        .run(
            &["map", "service", "cv", "servers", "--to", "NINJA-SRV"],
            "",
        )
        .expect(0);
    assert!(
        mapped.stderr().contains("peak"),
        "map suggests the peak basis: {}",
        mapped.stderr()
    );
    env.run(&["reconcile"], "").expect(0);
    let (rows, csv_text) = report(&env, &[]);
    let want: Vec<(String, Decimal)> = usage(&sample)
        .into_iter()
        .filter(|(_, k, _)| k == "servers")
        .map(|(a, _, q)| (a, q))
        .collect();
    assert_eq!(want.len(), 3, "{want:?}");
    for (company, qty) in &want {
        let row = finding(&rows, company, "NINJA-SRV", &csv_text);
        assert_eq!(row.vendor_connection, "cv", "{row:?}");
        assert_eq!(row.actual_qty, qty.to_string(), "{row:?}\n{csv_text}");
    }
    assert_eq!(WRITES_REFUSED.load(Ordering::SeqCst), writes_before);
}

#[test]
fn a_wrong_password_is_refused_and_nothing_is_saved() {
    let (cv, sample) = sandbox(&["Acme Dental Group"]);
    let url = Api::connection(&cv.server, &sample).settings.url.unwrap();
    let env = Env::new();
    env.cleanup.borrow_mut().push("cv".to_string());
    let run = env.run(
        &[
            "connect",
            "cove",
            "--name",
            "cv",
            "--partner",
            DEMO_PARTNER,
            "--username",
            DEMO_USERNAME,
            "--url",
            &url,
        ],
        "not-the-password",
    );
    assert_ne!(run.code(), 0);
    let err = run.stderr();
    assert!(
        err.contains("wrong partner, user name or password"),
        "{err}"
    );
    assert!(err.contains("were not saved"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
}
