//! `reconcile db stats`: the database's size and, per connection, its runs and the records every
//! snapshot stores (the figure that grows with each sync).

use std::collections::HashMap;

use crate::support::{csv_pair_env, csv_rows};

#[test]
fn stats_count_each_connections_runs_and_stored_records() {
    // 3 vendor accounts with one item each (one SKU), 3 billing lines.
    let env = csv_pair_env(
        "Customer,Plan,Seats\nAcme,BK,5\nBeta,BK,3\nGamma,BK,1\n",
        "Customer,Product,Qty,Price\nAcme,BK-PSA,5,4\nBeta,BK-PSA,3,4\nGamma,BK-PSA,1,4\n",
    );
    let stats = |env: &crate::harness::Env| -> Vec<HashMap<String, String>> {
        csv_rows(
            &env.run(&["db", "stats", "--format", "csv"], "")
                .expect(0)
                .stdout(),
        )
    };
    let row = |rows: &[HashMap<String, String>], c: &str| {
        rows.iter()
            .find(|r| r["connection"] == c)
            .unwrap_or_else(|| panic!("no {c}: {rows:?}"))
            .clone()
    };
    let first = stats(&env);
    let usage = row(&first, "usage");
    assert_eq!(
        (
            usage["kind"].as_str(),
            usage["runs"].as_str(),
            usage["ok_runs"].as_str(),
            usage["items"].as_str(),
            usage["accounts"].as_str()
        ),
        ("csv", "1", "1", "3", "3")
    );
    assert!(row(&first, "psa")["psa_records"].parse::<u64>().unwrap() >= 3);

    // A second sync of the same data stores every record again.
    env.run(&["sync"], "").expect(0);
    let usage = row(&stats(&env), "usage");
    assert_eq!(
        (usage["runs"].as_str(), usage["items"].as_str()),
        ("2", "6")
    );

    // JSON has the totals; the table says the size.
    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["db", "stats", "--format", "json"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert!(json["bytes"].as_u64().unwrap() > 0, "{json}");
    assert_eq!(json["connections"].as_array().unwrap().len(), 2);
    let table = env
        .run(&["db", "stats", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(table.contains("Database: "), "{table}");
    assert!(table.contains("2 (2/0)"), "{table}");
}
