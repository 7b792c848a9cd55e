//! `reconcile db`: the database's size and, per connection, its runs and the records they store;
//! pruning and vacuuming; a database made by the last release read the same after migrating.

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

    // A second sync of the same data stores no item again: items are kept once per version.
    env.run(&["sync"], "").expect(0);
    let usage = row(&stats(&env), "usage");
    assert_eq!(
        (usage["runs"].as_str(), usage["items"].as_str()),
        ("2", "3")
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

/// `tests/fixtures/release-db/make.sh` made `release.db` with the release before item versions
/// (schema 10: every sync stored every item) and recorded what that release printed. This build
/// migrates a copy in place and must print exactly the same.
#[test]
fn a_database_made_by_the_last_release_gives_the_same_answers_after_migrating() {
    let env = crate::harness::Env::new();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-db");
    let read = |f: &str| std::fs::read_to_string(fixtures.join(f)).unwrap();
    let config = read("config.toml").replace("@WORK@", env.dir.path().to_str().unwrap());
    std::fs::create_dir_all(env.config_path().parent().unwrap()).unwrap();
    std::fs::write(env.config_path(), config).unwrap();
    std::fs::create_dir_all(env.db_path().parent().unwrap()).unwrap();
    std::fs::copy(fixtures.join("release.db"), env.db_path()).unwrap();
    let moments = read("moments.txt");
    let moments: Vec<&str> = moments.lines().collect();

    // Every snapshot's counts (the average basis lists them), the middle one's and the last
    // one's items with their last contacts.
    let period = env
        .run(
            &["report", "--period", "2026-12", "--format", "csv", "--all"],
            "",
        )
        .expect(0)
        .stdout();
    assert_eq!(period, read("period.csv"));
    let day2 = env
        .run(&["explain", "Acme", "--as-of", moments[0]], "")
        .expect(0)
        .stdout();
    assert_eq!(day2, read("explain-acme-day2.txt"));
    let day3 = env
        .run(&["explain", "Beta", "--as-of", moments[1]], "")
        .expect(0)
        .stdout();
    assert_eq!(day3, read("explain-beta-day3.txt"));

    // 16 item rows over three snapshots became 8 versions: the 5 of day 1, d3 reclassified and
    // d6 new on day 2, d2 back on day 3.
    let rows: Vec<HashMap<String, String>> = csv_rows(
        &env.run(&["db", "stats", "--format", "csv"], "")
            .expect(0)
            .stdout(),
    );
    let usage = rows.iter().find(|r| r["connection"] == "usage").unwrap();
    assert_eq!(
        (
            usage["runs"].as_str(),
            usage["ok_runs"].as_str(),
            usage["items"].as_str()
        ),
        ("4", "3", "8")
    );
}

#[test]
fn prune_says_what_would_go_then_drops_it_and_vacuum_gives_the_space_back() {
    let env = csv_pair_env(
        "Customer,Plan,Seats\nAcme,BK,5\nBeta,BK,3\n",
        "Customer,Product,Qty,Price\nAcme,BK-PSA,5,4\nBeta,BK-PSA,3,4\n",
    );
    env.run(&["sync", "usage"], "").expect(0);
    env.run(&["sync", "usage"], "").expect(0);
    // The first two syncs of `usage` as if made two years ago.
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    let old: Vec<i64> = conn
        .prepare("SELECT id FROM sync_run WHERE connection = 'usage' ORDER BY id LIMIT 2")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The billing export's only sync, long ago too: it is current, so never pruned.
    conn.execute(
        "UPDATE sync_run SET finished_at = '2024-09-01T12:00:00Z' WHERE connection = 'psa'",
        [],
    )
    .unwrap();
    for (id, day) in old.iter().zip(["2024-10-01", "2024-11-01"]) {
        conn.execute(
            "UPDATE sync_run SET finished_at = ?1 WHERE id = ?2",
            rusqlite::params![format!("{day}T12:00:00Z"), id],
        )
        .unwrap();
    }
    drop(conn);
    let report = |env: &crate::harness::Env| env.run(&["report", "--format", "csv"], "").stdout();
    let before = report(&env);

    // Only the oldest goes: the one of 2024-11-01 stands for the months after it.
    let dry = env
        .run(&["db", "prune", "--dry-run", "--format", "csv"], "")
        .expect(0);
    dry.says(&["Dry run", "13 month(s) kept", "would go"], &[]);
    let rows: Vec<HashMap<String, String>> = csv_rows(&dry.stdout());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0]["connection"].as_str(),
            rows[0]["runs"].as_str(),
            rows[0]["accounts"].as_str(),
            rows[0]["kept_runs"].as_str()
        ),
        ("usage", "1", "2", "2")
    );
    let done = env.run(&["db", "prune", "--format", "csv"], "").expect(0);
    done.says(
        &["Pruned the records of 1 sync(s)", "reconcile db vacuum"],
        &[],
    );
    assert_eq!(
        csv_rows::<HashMap<String, String>>(&done.stdout()),
        rows,
        "the dry run said what went"
    );
    env.run(&["db", "prune"], "")
        .expect(0)
        .says(&["Nothing to prune"], &[]);
    // The current findings are untouched; a pruned moment says why it cannot be reconciled.
    assert_eq!(report(&env), before);
    env.run(&["report", "--as-of", "2024-10-15T00:00:00Z"], "")
        .expect(2)
        .says(
            &[
                "no successful sync at or before",
                "1 older sync(s) had their records pruned",
            ],
            &[],
        );
    env.run(&["db", "vacuum"], "")
        .expect(0)
        .says(&["Vacuumed the database"], &[]);
    // Keeping fewer months is a flag away, and out-of-range values are refused.
    env.run(&["db", "prune", "--keep-months", "0"], "")
        .expect(2);
}
