//! Pax8 end to end: `connect pax8` (the secret on stdin) against the Pax8 sandbox of `reconcile
//! demo`, ConnectWise from the demo sandbox, then sync, map, reconcile and a CSV report whose
//! Business Premium seats are the sandbox's billed subscriptions and whose cost is Pax8's
//! partner cost; and, Pax8's key being able to order, no write ever reaches the sandbox.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use reconcile::demo::Served;
use reconcile::demo::apis::pax8::{
    Api, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Sample, WRITES_REFUSED, sample, usage,
};
use reconcile::demo::kit::{self, Api as _};
use rust_decimal::Decimal;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{Running, dec, finding, report, running};

const SKU_KEY: &str = "cfq7ttc0lchc-0002";

fn sandbox(companies: &[&str]) -> (Running<Served>, Arc<Sample>) {
    let sample = Arc::new(sample(companies));
    (running(kit::serve::<Api>(sample.clone())), sample)
}

fn urls(p8: &Running<Served>, sample: &Sample) -> (String, String) {
    let settings = Api::connection(&p8.server, sample).settings;
    (settings.api_url.unwrap(), settings.token_url.unwrap())
}

fn connect_args<'a>(api: &'a str, token: &'a str) -> Vec<&'a str> {
    vec![
        "connect",
        "pax8",
        "--name",
        "p8",
        "--client-id",
        DEMO_CLIENT_ID,
        "--api-url",
        api,
        "--token-url",
        token,
    ]
}

#[test]
fn connect_sync_map_report_with_pax8() {
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
    let (p8, sample) = sandbox(&names);
    let (api, token) = urls(&p8, &sample);
    let env = Env::new();
    env.cleanup.borrow_mut().push("p8".to_string());
    let writes_before = WRITES_REFUSED.load(Ordering::SeqCst);

    let connect = env
        .run(&connect_args(&api, &token), DEMO_CLIENT_SECRET)
        .expect(0);
    let err = connect.stderr();
    assert!(err.contains("verified Pax8"), "{err}");
    assert!(err.contains("4 companies are readable"), "{err}");
    assert!(err.contains("reconcile only reads"), "{err}");
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"pax8\""), "{config}");
    assert!(!config.contains(DEMO_CLIENT_SECRET), "{config}");

    let sync = env.run(&["sync"], "").expect(0);
    let items = sample.subscriptions.len();
    assert!(
        sync.stderr().contains(&format!("{items} items")),
        "{}",
        sync.stderr()
    );
    env.run(&["map"], "");
    env.run(
        &["map", "service", "p8", SKU_KEY, "--to", "M365-BACKUP"],
        "",
    )
    .expect(0);
    env.run(&["reconcile"], "").expect(0);
    let (rows, csv_text) = report(&env, &[]);
    let want: Vec<(String, Decimal)> = usage(&sample)
        .into_iter()
        .filter(|(_, k, _)| k == SKU_KEY)
        .map(|(a, _, q)| (a, q))
        .collect();
    assert!(want.len() >= 2, "{want:?}");
    for (company, qty) in &want {
        let row = finding(&rows, company, "M365-BACKUP", &csv_text);
        assert_eq!(row.actual_qty, qty.to_string(), "{row:?}\n{csv_text}");
        assert_eq!(row.vendor_connection, "p8", "{row:?}");
        // Pax8's partner cost for Business Premium is each seat's cost.
        assert_eq!(dec(&row.vendor_unit_cost), dec("22"), "{row:?}");
        assert_eq!(dec(&row.cost_monthly), dec("22") * qty, "{row:?}");
        assert_eq!(row.cost_source, "vendor (p8/cfq7ttc0lchc-0002)", "{row:?}");
    }
    assert_eq!(
        WRITES_REFUSED.load(Ordering::SeqCst),
        writes_before,
        "the connector tried to write to Pax8"
    );
}

#[test]
fn a_wrong_secret_is_refused_and_nothing_is_saved() {
    let (p8, sample) = sandbox(&["Acme Dental Group"]);
    let env = Env::new();
    env.cleanup.borrow_mut().push("p8".to_string());
    let (api, token) = urls(&p8, &sample);
    let run = env.run(&connect_args(&api, &token), "not-the-secret");
    assert_ne!(run.code(), 0);
    let err = run.stderr();
    assert!(err.contains("access_denied"), "{err}");
    assert!(err.contains("Integrations > Credentials"), "{err}");
    assert!(err.contains("were not saved"), "{err}");
    assert!(!err.contains("not-the-secret"), "{err}");
}
