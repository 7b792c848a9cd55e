//! Datto SaaS Protection and BCDR end to end: `connect datto-backup` (the secret key on stdin)
//! against the demo's Datto sandbox, ConnectWise from the demo sandbox, then sync, map,
//! reconcile and a CSV report whose Microsoft 365 seats and protected servers are the
//! sandbox's; no write reaches the sandbox.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use reconcile::demo::Served;
use reconcile::demo::apis::datto_backup::{
    Api, DEMO_PUBLIC_KEY, DEMO_SECRET_KEY, Sample, WRITES_REFUSED, sample, usage,
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
fn connect_sync_map_report_with_datto_backup() {
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
    let (db, sample) = sandbox(&names);
    let url = Api::connection(&db.server, &sample).settings.url.unwrap();
    let env = Env::new();
    env.cleanup.borrow_mut().push("db".to_string());
    let writes_before = WRITES_REFUSED.load(Ordering::SeqCst);
    let connect = env
        .run(
            &[
                "connect",
                "datto-backup",
                "--name",
                "db",
                "--public-key",
                DEMO_PUBLIC_KEY,
                "--url",
                &url,
            ],
            DEMO_SECRET_KEY,
        )
        .expect(0);
    let err = connect.stderr();
    assert!(
        err.contains("verified Datto SaaS Protection and BCDR"),
        "{err}"
    );
    assert!(
        err.contains("4 SaaS Protection customer(s) and 2 BCDR appliance(s)"),
        "{err}"
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"datto-backup\""), "{config}");
    assert!(!config.contains(DEMO_SECRET_KEY), "{config}");

    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "");
    env.run(
        &["map", "service", "db", "m365-seats", "--to", "M365-BACKUP"],
        "",
    )
    .expect(0);
    env.run(&["reconcile"], "").expect(0);
    let (rows, csv_text) = report(&env, &[]);
    let want: Vec<(String, Decimal)> = usage(&sample)
        .into_iter()
        .filter(|(_, k, _)| k == "m365-seats")
        .map(|(a, _, q)| (a, q))
        .collect();
    assert!(want.len() >= 2, "{want:?}");
    for (company, qty) in &want {
        let row = finding(&rows, company, "M365-BACKUP", &csv_text);
        assert_eq!(row.actual_qty, qty.to_string(), "{row:?}\n{csv_text}");
        assert_eq!(row.vendor_connection, "db", "{row:?}");
    }
    assert_eq!(WRITES_REFUSED.load(Ordering::SeqCst), writes_before);
}

#[test]
fn a_wrong_secret_key_is_refused_and_nothing_is_saved() {
    let (db, sample) = sandbox(&["Acme Dental Group"]);
    let url = Api::connection(&db.server, &sample).settings.url.unwrap();
    let env = Env::new();
    env.cleanup.borrow_mut().push("db".to_string());
    let run = env.run(
        &[
            "connect",
            "datto-backup",
            "--name",
            "db",
            "--public-key",
            DEMO_PUBLIC_KEY,
            "--url",
            &url,
        ],
        "not-the-key",
    );
    assert_ne!(run.code(), 0);
    let err = run.stderr();
    assert!(err.contains("Admin > Integrations > API keys"), "{err}");
    assert!(err.contains("were not saved"), "{err}");
    assert!(!err.contains("not-the-key"), "{err}");
}
