//! Acronis end to end: `connect acronis` (the secret on stdin; --url required) against the
//! demo's Acronis sandbox, ConnectWise from the demo sandbox, then sync, map, reconcile and a
//! CSV report whose protected workstations are the sandbox's production tenants' usage; no
//! write reaches the sandbox.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use reconcile::demo::Served;
use reconcile::demo::apis::acronis::{
    Api, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Sample, WRITES_REFUSED, sample, usage,
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
fn connect_sync_map_report_with_acronis() {
    let served = serve();
    let s = &served.sandbox;
    let mut companies: Vec<String> = Vec::new();
    for e in &s.sample.planted.expected {
        if !companies.contains(&e.company) {
            companies.push(e.company.clone());
        }
    }
    companies.truncate(4);
    let names: Vec<&str> = companies.iter().map(String::as_str).collect();
    let (acr, sample) = sandbox(&names);
    let url = Api::connection(&acr.server, &sample).settings.url;
    let env = Env::new();
    env.cleanup.borrow_mut().push("acr".to_string());
    let writes_before = WRITES_REFUSED.load(Ordering::SeqCst);

    // The data center URL is required: Acronis pins each partner to one.
    env.run(
        &[
            "connect",
            "acronis",
            "--name",
            "acr",
            "--client-id",
            DEMO_CLIENT_ID,
        ],
        DEMO_CLIENT_SECRET,
    )
    .expect(2)
    .says(
        &["--url is required", "data center URL"],
        &[DEMO_CLIENT_SECRET],
    );

    let connect = env
        .run(
            &[
                "connect",
                "acronis",
                "--name",
                "acr",
                "--url",
                &url,
                "--client-id",
                DEMO_CLIENT_ID,
            ],
            DEMO_CLIENT_SECRET,
        )
        .expect(0);
    let err = connect.stderr();
    assert!(
        err.contains("verified Acronis Cyber Protect Cloud"),
        "{err}"
    );
    assert!(err.contains("4 customer tenants are readable"), "{err}");
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"acronis\""), "{config}");
    assert!(!config.contains(DEMO_CLIENT_SECRET), "{config}");

    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "");
    env.run(
        &["map", "service", "acr", "workstations", "--to", "NINJA-WS"],
        "",
    )
    .expect(0);
    env.run(&["reconcile"], "").expect(0);
    let (rows, csv_text) = report(&env, &[]);
    let want: Vec<(String, Decimal)> = usage(&sample)
        .into_iter()
        .filter(|(_, k, _)| k == "workstations")
        .map(|(a, _, q)| (a, q))
        .collect();
    // The second client is on trial: not counted.
    assert_eq!(want.len(), 3, "{want:?}");
    for (company, qty) in &want {
        let row = finding(&rows, company, "NINJA-WS", &csv_text);
        assert_eq!(row.vendor_connection, "acr", "{row:?}");
        assert_eq!(row.actual_qty, qty.to_string(), "{row:?}\n{csv_text}");
    }
    assert_eq!(WRITES_REFUSED.load(Ordering::SeqCst), writes_before);
}
