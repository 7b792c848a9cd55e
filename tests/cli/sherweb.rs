//! Sherweb end to end: `connect sherweb` (two secrets on stdin) against the Sherweb sandbox of
//! `reconcile demo`, ConnectWise from the demo sandbox, then sync, map, reconcile and a CSV report
//! whose Microsoft 365 Business Basic seats are the sandbox's subscription quantities.

use std::sync::Arc;

use reconcile::demo::Served;
use reconcile::demo::apis::sherweb::{
    Api, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SUBSCRIPTION_KEY, Sample, sample, usage,
};
use reconcile::demo::kit::{self, Api as _};
use rust_decimal::Decimal;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{Running, finding, report, running};

const SKU_KEY: &str = "cfq7ttc0lh18-0001";

/// The Sherweb sandbox serving customers named `companies`, and its sample.
fn sandbox(companies: &[&str]) -> (Running<Served>, Arc<Sample>) {
    let sample = Arc::new(sample(companies));
    (running(kit::serve::<Api>(sample.clone())), sample)
}

/// The API and token URLs the demo's connection to this sandbox uses.
fn urls(sw: &Running<Served>, sample: &Sample) -> (String, String) {
    let settings = Api::connection(&sw.server, sample).settings;
    (settings.api_url.unwrap(), settings.token_url.unwrap())
}

fn connect_args<'a>(api: &'a str, token: &'a str) -> Vec<&'a str> {
    vec![
        "connect",
        "sherweb",
        "--name",
        "sw",
        "--client-id",
        DEMO_CLIENT_ID,
        "--api-url",
        api,
        "--token-url",
        token,
        "--secrets-stdin",
    ]
}

#[test]
fn connect_sync_map_report_with_sherweb() {
    let served = serve();
    let s = &served.sandbox;
    // Four billable ConnectWise clients; the Sherweb customers carry their names exactly.
    let mut companies: Vec<String> = Vec::new();
    for e in &s.sample.planted.expected {
        if !companies.contains(&e.company) {
            companies.push(e.company.clone());
        }
    }
    companies.truncate(4);
    assert_eq!(companies.len(), 4, "the sample has billable clients");
    let names: Vec<&str> = companies.iter().map(String::as_str).collect();
    let (sw, sample) = sandbox(&names);
    let (api, token) = urls(&sw, &sample);
    let env = Env::new();
    env.cleanup.borrow_mut().push("sw".to_string());

    let connect = env
        .run(
            &connect_args(&api, &token),
            &format!("{DEMO_CLIENT_SECRET}\n{DEMO_SUBSCRIPTION_KEY}\n"),
        )
        .expect(0);
    let err = connect.stderr();
    assert!(err.contains("verified Sherweb"), "{err}");
    assert!(
        err.contains("4 customers are readable (1 suspended)"),
        "{err}"
    );
    assert!(
        err.contains("`client_secret`") && err.contains("`subscription_key`"),
        "{err}"
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.sw]"), "{config}");
    assert!(config.contains("kind = \"sherweb\""), "{config}");
    assert!(
        config.contains(&format!("client_id = \"{DEMO_CLIENT_ID}\"")),
        "{config}"
    );
    assert!(!config.contains(DEMO_CLIENT_SECRET), "{config}");
    assert!(!config.contains(DEMO_SUBSCRIPTION_KEY), "{config}");

    let sync = env.run(&["sync"], "").expect(0);
    let items = sample.subscriptions.len();
    assert_eq!(items, 9, "the sample changed");
    assert!(
        sync.stderr().contains(&format!("{items} items")),
        "{}",
        sync.stderr()
    );

    // Exact names map automatically; then bill Business Basic seats as M365-BACKUP (per user).
    env.run(&["map"], "");
    let list = env
        .run(&["map", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    for c in &companies {
        assert!(list.contains(c.as_str()), "{c} not mapped:\n{list}");
    }
    env.run(
        &["map", "service", "sw", SKU_KEY, "--to", "M365-BACKUP"],
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
    assert!(
        want.len() >= 2,
        "the sample sells Business Basic to several: {want:?}"
    );
    for (company, qty) in &want {
        let row = finding(&rows, company, "M365-BACKUP", &csv_text);
        assert_eq!(row.actual_qty, qty.to_string(), "{row:?}\n{csv_text}");
        assert_eq!(row.vendor_connection, "sw", "{row:?}");
    }
}

#[test]
fn a_wrong_subscription_key_is_refused_and_nothing_is_saved() {
    let (sw, sample) = sandbox(&["Acme Dental Group"]);
    let env = Env::new();
    env.cleanup.borrow_mut().push("sw".to_string());
    let (api, token) = urls(&sw, &sample);
    let run = env.run(
        &connect_args(&api, &token),
        &format!("{DEMO_CLIENT_SECRET}\nnot-the-key\n"),
    );
    assert_ne!(run.code(), 0);
    let err = run.stderr();
    assert!(err.contains("invalid subscription key"), "{err}");
    assert!(err.contains("copy the Subscription Key"), "{err}");
    assert!(err.contains("were not saved"), "{err}");
    assert!(
        !err.contains("not-the-key") && !err.contains(DEMO_CLIENT_SECRET),
        "{err}"
    );
    assert!(
        !env.config_path().exists()
            || !std::fs::read_to_string(env.config_path())
                .unwrap()
                .contains("[connections.sw]")
    );

    // One line on stdin is not two secrets.
    let run = env.run(
        &connect_args(&api, &token),
        &format!("{DEMO_CLIENT_SECRET}\n"),
    );
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("give exactly two"),
        "{}",
        run.stderr()
    );
}
