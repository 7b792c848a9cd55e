//! HaloPSA end to end: NinjaOne from the demo sandbox, HaloPSA from its demo sandbox (the demo
//! MSP's billing as recurring invoices with negative ids), `connect halopsa` with the secret on
//! stdin, sync, the demo's mappings, reconcile, and a CSV report whose billed and actual numbers
//! are the planted ones; `explain` shows a line joined to its negative-id recurring invoice.

use std::sync::Arc;

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::halopsa::{
    self as halo, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT,
};
use reconcile::demo::apis::ninjaone;
use reconcile::demo::{Served, kit};
use reconcile::engine::FindingKind;
use rust_decimal::Decimal;

use crate::flow::{map_demo, serve};
use crate::harness::Env;

struct HaloServed {
    server: Served,
    _rt: tokio::runtime::Runtime,
}

fn halo_sandbox(sample: Arc<reconcile::demo::SampleMsp>) -> HaloServed {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(kit::serve::<halo::Api>(sample)).unwrap();
    HaloServed { server, _rt: rt }
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    company_id: String,
    #[serde(rename = "type")]
    kind: FindingKind,
    company: String,
    product: String,
    billed_qty: String,
    actual_qty: String,
}

fn dec(s: &str) -> Decimal {
    s.parse()
        .unwrap_or_else(|_| panic!("`{s}` is not a decimal"))
}

#[test]
fn reconcile_ninjaone_against_halopsa() {
    let served = serve();
    let s = &served.sandbox;
    let h = halo_sandbox(s.sample.clone());
    let env = Env::new();
    env.cleanup.borrow_mut().push("ninja".to_string());
    env.cleanup.borrow_mut().push("halo".to_string());
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

    let connect = |secret: &str| {
        env.run(
            &[
                "connect",
                "halopsa",
                "--name",
                "halo",
                "--url",
                h.server.url(),
                "--client-id",
                DEMO_CLIENT_ID,
                "--tenant",
                DEMO_TENANT,
                "--billable-client-type",
                "Client",
                "--client-secret-stdin",
            ],
            &format!("{secret}\n"),
        )
    };
    // A wrong secret is refused, named, and not echoed.
    let refused = connect("not-the-secret").expect(2);
    assert!(
        refused.stderr().contains("invalid_client"),
        "{}",
        refused.stderr()
    );
    assert!(
        !refused.stderr().contains("not-the-secret"),
        "{}",
        refused.stderr()
    );
    let ok = connect(DEMO_CLIENT_SECRET).expect(0);
    assert!(
        ok.stderr()
            .contains("clients and recurring invoices are readable"),
        "{}",
        ok.stderr()
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"halopsa\""), "{config}");
    assert!(
        config.contains(&format!("tenant = \"{DEMO_TENANT}\"")),
        "{config}"
    );
    assert!(
        config.contains("billable_client_types = [\"Client\"]"),
        "{config}"
    );
    assert!(!config.contains(DEMO_CLIENT_SECRET), "{config}");

    env.run(&["sync"], "").expect(0);
    // Exact names map on their own; the fuzzy one and the services by hand.
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
    let p = &s.sample.planted;
    let mut checked = 0;
    for e in &p.expected {
        let row = rows
            .iter()
            .find(|r| r.company == e.company && r.product == e.product)
            .unwrap_or_else(|| panic!("no row for {e:?}\n{csv_text}"));
        assert_eq!(dec(&row.billed_qty), e.billed, "{e:?} {row:?}");
        assert_eq!(dec(&row.actual_qty), e.actual, "{e:?} {row:?}");
        assert_eq!(row.kind, e.kind, "{e:?} {row:?}");
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
    assert!(rows.iter().any(|r| r.kind == FindingKind::UnderBilled));
    assert!(rows.iter().any(|r| r.kind == FindingKind::OverBilled));

    // The lines behind a finding belong to a recurring invoice whose id is negative.
    let row = rows
        .iter()
        .find(|r| r.kind == FindingKind::UnderBilled)
        .unwrap();
    let explained = env
        .run(&["explain", &row.company_id, &row.product], "")
        .expect(0)
        .stdout();
    let agreement = s
        .sample
        .connectwise
        .agreements
        .iter()
        .find(|a| {
            s.sample
                .connectwise
                .companies
                .iter()
                .any(|c| c.id == a.company_id && c.name == row.company)
                && a.status == "Active"
        })
        .unwrap();
    // The sandbox serves that agreement only as recurring invoice `-{id}`: the line is joined to
    // it through the negative id (else it would not be "on" the agreement, nor in force).
    assert!(
        explained.contains(&format!("on \"{}\"", agreement.name)),
        "agreement -{} ({}) not in:\n{explained}",
        agreement.id,
        agreement.name
    );
    assert!(explained.contains("Monthly"), "{explained}");
    assert!(h.server.stats.total() > 0);
}
