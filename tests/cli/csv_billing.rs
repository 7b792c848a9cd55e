//! CSV billing import end to end: NinjaOne from the demo sandbox against the sample's
//! ConnectWise billing exported as a CSV file (what `reconcile demo --psa csv-billing` writes),
//! connected with `connect csv-billing` (column flags, billable rules), synced, mapped,
//! reconciled and reported; the report's numbers are the sample's planted ones. A bad file then
//! fails whole, naming file, line and column, and leaves the previous billing current.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::csv_billing::csv_text;
use reconcile::engine::FindingKind;
use rust_decimal::Decimal;

use crate::flow::{connect_ninjaone_at, map_demo, serve};
use crate::harness::Env;
use crate::support::{Finding, assert_planted, dec};

fn report(env: &Env) -> (Vec<Finding>, String) {
    env.run(&["reconcile"], "").expect(0);
    crate::support::report(env, &[])
}

#[test]
fn ninjaone_against_a_csv_billing_export_end_to_end() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    let billing = env.dir.path().join("psa-billing.csv");
    std::fs::write(&billing, csv_text(&s.sample)).unwrap();
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);
    let connect = env
        .run(
            &[
                "connect",
                "csv-billing",
                "--name",
                "psa",
                "--path",
                billing.to_str().unwrap(),
                "--company-id-column",
                "Client ID",
                "--product-column",
                "Product ID",
                "--less-included-column",
                "Included",
                "--unit-price-column",
                "Rate",
                "--unit-cost-column",
                "Our Cost",
                "--status-column",
                "Client Status",
                "--company-type-column",
                "Client Type",
                "--billable-status",
                "Active",
                "--billable-status",
                "Credit Hold",
                "--billable-type",
                "Client",
            ],
            "",
        )
        .expect(0);
    assert!(
        connect
            .stderr()
            .contains("verified CSV billing import: read "),
        "{}",
        connect.stderr()
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("kind = \"csv-billing\""), "{config}");
    assert!(
        config.contains(r#"billable_company_types = ["Client"]"#),
        "{config}"
    );
    assert!(config.contains(r#"unit_price = ["Rate"]"#), "{config}");

    let sync = env.run(&["sync"], "").expect(0);
    assert!(sync.stderr().contains("psa: synced"), "{}", sync.stderr());
    env.run(&["map"], "").expect(0);
    map_demo(&env, s);

    let (rows, text) = report(&env);
    let planted = &s.sample.planted;
    assert_planted(&rows, &text, planted, "psa");
    // Prices come from the file, so the money is there.
    for name in &planted.under_billed {
        let r = rows
            .iter()
            .find(|r| &r.company == name && r.kind == FindingKind::UnderBilled)
            .unwrap_or_else(|| panic!("{name} is not under-billed:\n{text}"));
        assert!(dec(&r.unit_price) > Decimal::ZERO, "{r:?}");
    }
    // The inactive client's lines are not findings (its status is not billable).
    assert!(
        !rows.iter().any(
            |r| r.company == planted.inactive_company && r.kind != FindingKind::UnmappedAccount
        ),
        "{text}"
    );

    // A bad file fails whole, located, and the previous billing stays current.
    let bad = env.dir.path().join("bad.csv");
    let text = csv_text(&s.sample);
    let mut records: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .collect::<Result<_, _>>()
        .unwrap();
    // The fourth line's Quantity (the ninth column of the demo header).
    let mut cells: Vec<String> = records[3].iter().map(String::from).collect();
    cells[8] = "lots".into();
    records[3] = csv::StringRecord::from(cells);
    let mut w = csv::Writer::from_path(&bad).unwrap();
    for r in &records {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    let fail = env.run(&["sync", "psa", "--file", bad.to_str().unwrap()], "");
    assert_ne!(fail.code(), 0);
    let fail = fail.stderr();
    assert!(
        fail.contains(&format!(
            "{}:4:9: column `Quantity`: `lots` is not a number",
            bad.display()
        )),
        "{fail}"
    );
    assert!(fail.contains("nothing was imported"), "{fail}");
    let (after, _) = report(&env);
    assert_eq!(after.len(), rows.len());

    // `connect` reads the file first: a bad one is not saved.
    let refused = env.run(
        &[
            "connect",
            "csv-billing",
            "--name",
            "psa2",
            "--path",
            bad.to_str().unwrap(),
        ],
        "",
    );
    assert_ne!(refused.code(), 0);
    assert!(refused.stderr().contains(":4:9:"), "{}", refused.stderr());
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!config.contains("psa2"), "{config}");
}
