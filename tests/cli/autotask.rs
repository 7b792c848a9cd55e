//! Autotask PSA end to end: NinjaOne from the demo sandbox, Autotask from the Autotask sandbox
//! (zone lookup, JSON-filter queries, nextPageUrl paging, monthly ContractServiceUnits rows);
//! connect both, sync, map, reconcile and a CSV report whose billed and actual quantities are the
//! sample's; `status` shows the API threshold Autotask reported.

use std::sync::Arc;

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::autotask::{
    self as at, DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME,
};
use reconcile::demo::apis::ninjaone;
use reconcile::demo::{Served, kit};
use reconcile::engine::FindingKind;
use rust_decimal::Decimal;

use crate::flow::{map_demo, serve};
use crate::harness::Env;

struct AtServed {
    server: Served,
    _rt: tokio::runtime::Runtime,
}

fn autotask(sample: Arc<reconcile::demo::SampleMsp>) -> AtServed {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(kit::serve::<at::Api>(sample)).unwrap();
    AtServed { server, _rt: rt }
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    #[serde(rename = "type")]
    kind: FindingKind,
    company: String,
    product: String,
    billed_qty: String,
    actual_qty: String,
    unit_price: String,
    psa_connection: String,
}

fn dec(s: &str) -> Decimal {
    s.parse()
        .unwrap_or_else(|_| panic!("`{s}` is not a number"))
}

#[test]
fn ninjaone_against_autotask_end_to_end() {
    let served = serve();
    let s = &served.sandbox;
    let at = autotask(s.sample.clone());
    let lookup = format!("{}/atservicesrest/", at.server.url());
    let env = Env::new();
    env.cleanup.borrow_mut().push("ninja".to_string());
    env.cleanup.borrow_mut().push("at".to_string());

    let connect = |secret: &str| {
        env.run(
            &[
                "connect",
                "autotask",
                "--name",
                "at",
                "--username",
                DEMO_USERNAME,
                "--integration-code",
                DEMO_INTEGRATION_CODE,
                "--zone-lookup-url",
                &lookup,
                "--secret-stdin",
            ],
            &format!("{secret}\n"),
        )
    };
    // A wrong secret is refused, named as such, never echoed, and nothing is saved.
    let refused = connect("not-the-secret").expect(2);
    assert!(
        refused.stderr().contains("HTTP 401"),
        "{}",
        refused.stderr()
    );
    assert!(
        refused.stderr().contains("API Tracking Identifier"),
        "{}",
        refused.stderr()
    );
    assert!(!refused.stderr().contains("not-the-secret"));
    assert!(
        !std::fs::read_to_string(env.config_path())
            .unwrap_or_default()
            .contains("[connections.at]")
    );

    let ok = connect(DEMO_SECRET).expect(0);
    assert!(ok.stderr().contains("Demo Zone"), "{}", ok.stderr());
    env.run(
        &[
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--url",
            s.url(ConnectorKind::NinjaOne),
            "--client-id",
            ninjaone::DEMO_CLIENT_ID,
        ],
        &format!("{}\n", ninjaone::DEMO_CLIENT_SECRET),
    )
    .expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"autotask\""), "{config}");
    assert!(
        config.contains("billable_company_types = [\"Customer\"]"),
        "{config}"
    );
    assert!(!config.contains(DEMO_SECRET), "{config}");

    env.run(&["sync"], "").expect(0);
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(status.contains("api requests this hour: "), "{status}");
    assert!(status.contains(" of 10000"), "{status}");

    env.run(&["map", "--format", "csv"], "").expect(0);
    map_demo(&env, s);
    env.run(&["reconcile"], "").expect(0);
    let csv_text = env
        .run(&["report", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let rows: Vec<Row> = csv::Reader::from_reader(csv_text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap();
    let planted = &s.sample.planted;
    let mut checked = 0;
    for e in &planted.expected {
        let row = rows
            .iter()
            .find(|r| r.company == e.company && r.product == e.product)
            .unwrap_or_else(|| panic!("no finding for {} / {}:\n{csv_text}", e.company, e.product));
        assert_eq!(
            row.kind, e.kind,
            "{} / {}\n{csv_text}",
            e.company, e.product
        );
        // NinjaOne counts devices: whole numbers, so whole units change nothing here.
        assert_eq!(
            dec(&row.billed_qty),
            e.billed,
            "{} / {}",
            e.company,
            e.product
        );
        if !row.actual_qty.is_empty() {
            assert_eq!(
                dec(&row.actual_qty),
                e.actual,
                "{} / {}",
                e.company,
                e.product
            );
        }
        assert_eq!(row.psa_connection, "at", "{row:?}");
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
    for name in &planted.under_billed {
        assert!(
            rows.iter()
                .any(|r| &r.company == name && r.kind == FindingKind::UnderBilled),
            "{name} is not under-billed:\n{csv_text}"
        );
    }
    for name in &planted.over_billed {
        assert!(
            rows.iter()
                .any(|r| &r.company == name && r.kind == FindingKind::OverBilled),
            "{name} is not over-billed:\n{csv_text}"
        );
    }
    // The client whose old rate ended mid-2025: only the covering unit row counts, at its price.
    let priced = rows
        .iter()
        .filter(|r| r.product == "NINJA-WS" && !r.unit_price.is_empty())
        .all(|r| dec(&r.unit_price) < Decimal::from(52));
    assert!(priced, "an old, ended unit row was counted:\n{csv_text}");
    assert!(at.server.stats.total() > 5);
}
