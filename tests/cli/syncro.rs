//! Syncro end to end: NinjaOne from the demo sandbox, Syncro from the Syncro demo sandbox (the
//! same clients, recurring invoices and lines as the ConnectWise one), `connect syncro` with a
//! billable-customer rule, then sync, map, reconcile and a CSV report whose billed and actual
//! quantities are the planted ones.

use std::sync::Arc;

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::ninjaone;
use reconcile::demo::apis::syncro::{self as sy, DEMO_API_TOKEN};
use reconcile::demo::{Served, kit};
use reconcile::engine::FindingKind;
use rust_decimal::Decimal;

use crate::flow::{map_demo, serve};
use crate::harness::Env;

/// The Syncro sandbox on loopback, served by its runtime's worker threads.
struct Sy {
    server: Served,
    _rt: tokio::runtime::Runtime,
}

fn syncro_sandbox(sample: Arc<reconcile::demo::SampleMsp>) -> Sy {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(kit::serve::<sy::Api>(sample)).unwrap();
    Sy { server, _rt: rt }
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    #[serde(rename = "type")]
    kind: FindingKind,
    company: String,
    product: String,
    billed_qty: String,
    actual_qty: String,
    monthly_impact: String,
    psa_connection: String,
}

fn dec(s: &str) -> Decimal {
    s.parse()
        .unwrap_or_else(|_| panic!("`{s}` is not a decimal"))
}

#[test]
fn reconcile_ninjaone_against_syncro() {
    let served = serve();
    let s = &served.sandbox;
    let sy = syncro_sandbox(s.sample.clone());
    let api = format!("{}/api/v1", sy.server.url());
    let env = Env::new();
    env.cleanup.borrow_mut().push("ninja".to_string());
    env.cleanup.borrow_mut().push("syncro".to_string());
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

    let connect = |token: &str| {
        env.run(
            &[
                "connect",
                "syncro",
                "--name",
                "syncro",
                "--url",
                &api,
                "--billable-property",
                "Type",
                "--billable-value",
                "Client",
                "--api-token-stdin",
            ],
            &format!("{token}\n"),
        )
    };
    // A wrong token is refused, named as such, and nothing is saved.
    let refused = connect("not-the-token").expect(2);
    assert!(
        refused.stderr().contains("HTTP 401"),
        "{}",
        refused.stderr()
    );
    assert!(
        !refused.stderr().contains("not-the-token"),
        "{}",
        refused.stderr()
    );
    let connected = connect(DEMO_API_TOKEN).expect(0);
    assert!(
        connected.stderr().contains("verified Syncro"),
        "{}",
        connected.stderr()
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.syncro]"), "{config}");
    assert!(config.contains("kind = \"syncro\""), "{config}");
    assert!(config.contains("billable_property = \"Type\""), "{config}");
    assert!(!config.contains(DEMO_API_TOKEN), "{config}");

    env.run(&["sync"], "").expect(0);
    let status = env.run(&["status"], "").expect(0).stdout();
    assert!(status.contains("api requests this sync"), "{status}");

    env.run(&["map"], "").expect(0);
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
    assert!(planted.expected.len() > 10);
    for e in &planted.expected {
        let row = rows
            .iter()
            .find(|r| r.company == e.company && r.product == e.product)
            .unwrap_or_else(|| panic!("no finding for {} / {}:\n{csv_text}", e.company, e.product));
        assert_eq!(row.kind, e.kind, "{} / {}", e.company, e.product);
        assert_eq!(
            dec(&row.billed_qty),
            e.billed,
            "billed {} / {}",
            e.company,
            e.product
        );
        if !row.actual_qty.is_empty() {
            assert_eq!(
                dec(&row.actual_qty),
                e.actual,
                "actual {} / {}",
                e.company,
                e.product
            );
        }
        assert_eq!(row.psa_connection, "syncro", "{row:?}");
    }
    for name in &planted.under_billed {
        let r = rows
            .iter()
            .find(|r| &r.company == name && r.kind == FindingKind::UnderBilled)
            .unwrap_or_else(|| panic!("{name} is not under-billed:\n{csv_text}"));
        assert!(dec(&r.monthly_impact) > Decimal::ZERO, "{r:?}");
    }
    for name in &planted.over_billed {
        let r = rows
            .iter()
            .find(|r| &r.company == name && r.kind == FindingKind::OverBilled)
            .unwrap_or_else(|| panic!("{name} is not over-billed:\n{csv_text}"));
        assert!(dec(&r.monthly_impact) < Decimal::ZERO, "{r:?}");
    }
    // Paging: the customers span more than one page, and every request carried the token.
    assert!(sy.server.stats.endpoint("GET /api/v1/customers") >= 2);
}
