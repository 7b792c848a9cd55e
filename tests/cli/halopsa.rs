//! HaloPSA end to end: NinjaOne from the demo sandbox, HaloPSA from its demo sandbox (the demo
//! MSP's billing as recurring invoices with negative ids), `connect halopsa` with the secret on
//! stdin, sync, the demo's mappings, reconcile, and a CSV report whose billed and actual numbers
//! are the planted ones; `explain` shows a line joined to its negative-id recurring invoice.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::halopsa::{self as halo, DEMO_CLIENT_SECRET, DEMO_TENANT};
use reconcile::demo::kit;
use reconcile::engine::FindingKind;

use crate::flow::{connect_halopsa, connect_ninjaone_at, map_demo, serve};
use crate::harness::Env;
use crate::support::{assert_planted, report, running};

#[test]
fn reconcile_ninjaone_against_halopsa() {
    let served = serve();
    let s = &served.sandbox;
    let h = running(kit::serve::<halo::Api>(s.sample.clone()));
    let env = Env::new();
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);

    let connect = |secret: &str| connect_halopsa(&env, h.server.url(), secret, &[]);
    // A wrong secret is refused, named, and not echoed.
    connect("not-the-secret")
        .expect(2)
        .says(&["invalid_client"], &["not-the-secret"]);
    connect(DEMO_CLIENT_SECRET)
        .expect(0)
        .says(&["clients and recurring invoices are readable"], &[]);
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
    let (rows, csv_text) = report(&env, &[]);
    assert_planted(&rows, &csv_text, &s.sample.planted, "halo");
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
