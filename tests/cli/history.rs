//! `reconcile history`: one company's lines over past billing periods, each reconciled from its
//! own stored snapshots.

use std::collections::HashMap;

use jiff::ToSpan;

use crate::harness::Env;
use crate::support::{csv_pair_env, csv_rows};

/// Makes the newest run of `connection` finish at `at`, as if synced then.
fn backdate(env: &Env, connection: &str, at: jiff::Timestamp) {
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute(
        "UPDATE sync_run SET started_at = ?1, finished_at = ?1 WHERE id = (SELECT max(id) FROM sync_run WHERE connection = ?2)",
        rusqlite::params![at.to_string(), connection],
    )
    .unwrap();
}

/// Day `day` of the month `months_back` months before this one, UTC.
fn at(months_back: i32, day: i32) -> jiff::Zoned {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .first_of_month()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .checked_sub(months_back.months())
        .unwrap()
        .checked_add((day - 1).days())
        .unwrap()
}

/// These tests move their syncs months back: none of them counts as too old.
fn never_stale(env: &Env) {
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str("\n[health]\nmax_age_hours = 100000\n");
    std::fs::write(env.config_path(), config).unwrap();
}

fn seats(env: &Env, n: u32) {
    std::fs::write(
        env.dir.path().join("usage.csv"),
        format!("Customer,Plan,Seats\nAcme,BK,{n}\nBeta,BK,3\n"),
    )
    .unwrap();
}

#[test]
fn history_shows_each_periods_latest_and_peak_count_against_what_was_billed() {
    let env = csv_pair_env(
        "Customer,Plan,Seats\nAcme,BK,5\nBeta,BK,3\n",
        "Customer,Product,Qty,Price\nAcme,BK-PSA,5,4\nBeta,BK-PSA,3,4\n",
    );
    // The billing export is synced once, two months ago: not stale for this test.
    never_stale(&env);
    // Two months ago: the first sync (5 seats, billed 5).
    backdate(&env, "psa", at(2, 1).timestamp());
    backdate(&env, "usage", at(2, 15).timestamp());
    // Last month: 7 seats mid-month, 6 at its end.
    seats(&env, 7);
    env.run(&["sync", "usage"], "").expect(0);
    backdate(&env, "usage", at(1, 10).timestamp());
    seats(&env, 6);
    env.run(&["sync", "usage"], "").expect(0);
    backdate(&env, "usage", at(1, 20).timestamp());
    // This month: 8.
    seats(&env, 8);
    env.run(&["sync", "usage"], "").expect(0);

    let run = env
        .run(&["history", "acme", "--months", "4", "--format", "csv"], "")
        .expect(0);
    // Three months ago there was nothing synced yet: left out, with why.
    run.says(&["period left out", "no successful sync at or before"], &[]);
    let rows: Vec<HashMap<String, String>> = csv_rows(&run.stdout());
    let got: Vec<(&str, &str, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["vendor_latest"].as_str(),
                r["vendor_peak"].as_str(),
                r["billed"].as_str(),
                r["difference"].as_str(),
                r["monthly_impact"].as_str(),
                r["type"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("5", "5", "5", "0", "0.00", "match"),
            ("6", "7", "5", "1", "4.00", "under_billed"),
            ("8", "8", "5", "3", "12.00", "under_billed"),
        ],
        "{rows:?}"
    );
    assert_eq!(
        rows[1]["snapshots"], "2",
        "last month's peak is over its two syncs"
    );
    assert!(
        rows.iter()
            .all(|r| r["company"] == "Acme" && r["product"] == "BK-PSA")
    );

    // A table with sparklines on a terminal-like request; JSON for scripts.
    let table = env
        .run(
            &[
                "history", "Acme", "BK-PSA", "--months", "3", "--format", "table",
            ],
            "",
        )
        .expect(0)
        .stdout();
    assert!(
        table.contains("BK-PSA: vendor peak ▁▆█  billed ▁▁▁"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["history", "Acme", "--months", "3", "--json"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3, "{json}");
    env.run(&["history", "Nobody"], "")
        .expect(2)
        .says(&["no PSA company `Nobody`"], &[]);
}

/// The HTML report: one self-contained page whose charts show each discrepancy's vendor count
/// against the billed quantity over the periods, each earlier period reconciled from its own
/// syncs; nothing fetched, no absolute path.
#[test]
fn the_html_report_charts_each_discrepancy_over_the_periods_and_holds_no_path() {
    let env = csv_pair_env(
        "Customer,Plan,Seats\nAcme,BK,5\nBeta,BK,3\n",
        "Customer,Product,Qty,Price\nAcme,BK-PSA,5,4\nBeta,BK-PSA,3,4\n",
    );
    never_stale(&env);
    backdate(&env, "psa", at(2, 1).timestamp());
    backdate(&env, "usage", at(2, 15).timestamp());
    seats(&env, 7);
    env.run(&["sync", "usage"], "").expect(0);
    backdate(&env, "usage", at(1, 20).timestamp());
    seats(&env, 8);
    env.run(&["sync", "usage"], "").expect(0);

    let page = env.dir.path().join("report.html");
    let run = env
        .run(
            &[
                "report",
                "--format",
                "html",
                "--output",
                page.to_str().unwrap(),
            ],
            "",
        )
        .expect(0);
    assert_eq!(run.stdout(), "", "the page goes to the file only");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    // The totals and the one discrepancy: Acme uses 8, is billed 5 at 4.00.
    assert!(html.contains("12.00 USD"), "{html}");
    assert_eq!(html.matches("<tr><td>").count(), 1, "one discrepancy row");
    assert!(html.contains("<h3>Acme</h3>"), "a section for Acme");
    assert!(!html.contains("<h3>Beta</h3>"), "Beta matches: no section");
    // One chart, over 12 periods: the 3 with syncs have a bar and a billed point; the 9 before
    // the first sync are blank. The last point is the finding's own.
    assert_eq!(html.matches("<svg").count(), 1, "{html}");
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap()];
    assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
    assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    let p = |m: i32| at(m, 1).strftime("%Y-%m").to_string();
    assert!(
        html.contains(&format!(
            "Vendor/billed: {} 5/5, {} 7/5, {} 8/5",
            p(2),
            p(1),
            p(0)
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(">{}</text>", p(11))),
        "the axis starts 11 periods back"
    );
    // Self-contained: no script, nothing fetched, no link out of the page.
    for never in [
        "<script", "src=", "url(", "@import", "<link", "<img", "<iframe",
    ] {
        assert!(!html.contains(never), "`{never}` in the page");
    }
    let links: Vec<&str> = html.split("href=\"").skip(1).collect();
    assert!(!links.is_empty() && links.iter().all(|l| l.starts_with("#c-")));
    assert!(!html.contains(env.dir.path().to_str().unwrap()));

    // A failed sync's error names the file it could not read: the page shows its name only.
    std::fs::remove_file(env.dir.path().join("usage.csv")).unwrap();
    env.run(&["sync", "usage"], "").expect(2);
    env.run(
        &[
            "report",
            "--format",
            "html",
            "--output",
            page.to_str().unwrap(),
            "--quiet",
        ],
        "",
    )
    .expect(0);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("stale source"), "{html}");
    assert!(html.contains("…/usage.csv"), "{html}");
    assert!(!html.contains(env.dir.path().to_str().unwrap()), "{html}");

    env.run(&["report", "--format", "html", "--by", "service"], "")
        .expect(2)
        .says(&["--by service has no HTML page yet"], &[]);
}

/// `db prune` keeps what each period it touches reconciled to: `history` and the HTML charts
/// still show a month whose syncs were pruned, with the counts it had.
#[test]
fn a_pruned_period_still_shows_in_history_and_the_charts_with_the_counts_it_had() {
    let env = csv_pair_env(
        "Customer,Plan,Seats\nAcme,BK,5\nBeta,BK,3\n",
        "Customer,Product,Qty,Price\nAcme,BK-PSA,5,4\nBeta,BK-PSA,3,4\n",
    );
    never_stale(&env);
    // Five months ago: 5 seats, billed 5. Four months ago: 7. Now: 8.
    backdate(&env, "psa", at(5, 1).timestamp());
    backdate(&env, "usage", at(5, 15).timestamp());
    seats(&env, 7);
    env.run(&["sync", "usage"], "").expect(0);
    backdate(&env, "usage", at(4, 10).timestamp());
    seats(&env, 8);
    env.run(&["sync", "usage"], "").expect(0);
    let p = |m: i32| at(m, 1).strftime("%Y-%m").to_string();

    // Keeping 2 months: the sync of five months ago goes (four months ago's stands for the
    // months after it), so the periods from five months ago to the cutoff's are kept first.
    env.run(&["db", "prune", "--keep-months", "2", "--dry-run"], "")
        .expect(0)
        .says(
            &[&format!(
                "Would keep what 4 billing period(s) reconciled to ({} to {})",
                p(5),
                p(2)
            )],
            &[],
        );
    assert!(
        env.run(&["history", "acme", "--months", "6", "--format", "csv"], "")
            .expect(0)
            .stdout()
            .lines()
            .all(|l| !l.ends_with(",kept")),
        "a dry run keeps nothing"
    );
    env.run(&["db", "prune", "--keep-months", "2"], "")
        .expect(0)
        .says(
            &[
                "Kept what 4 billing period(s)",
                "Pruned the records of 1 sync(s)",
            ],
            &[],
        );
    // The pruned month cannot be reconciled any more...
    env.run(&["report", "--period", &p(5)], "")
        .expect(2)
        .says(&["had their records pruned"], &[]);
    // ...but history shows what it reconciled to, and says so.
    let run = env
        .run(&["history", "acme", "--months", "6", "--format", "csv"], "")
        .expect(0);
    run.says(&[], &["period left out"]);
    let rows: Vec<HashMap<String, String>> = csv_rows(&run.stdout());
    let got: Vec<(String, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["period"].clone(),
                r["vendor_latest"].as_str(),
                r["billed"].as_str(),
                r["type"].as_str(),
                r["source"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (p(5), "5", "5", "match", "kept"),
            (p(4), "7", "5", "under_billed", "kept"),
            (p(3), "7", "5", "under_billed", "kept"),
            (p(2), "7", "5", "under_billed", "kept"),
            (p(1), "7", "5", "under_billed", "reconciled"),
            (p(0), "8", "5", "under_billed", "reconciled"),
        ]
    );
    let table = env
        .run(
            &["history", "acme", "--months", "6", "--format", "table"],
            "",
        )
        .expect(0)
        .stdout();
    assert!(table.contains(&format!("{} (kept)", p(5))), "{table}");
    // The HTML chart draws the kept months too.
    let html = env
        .run(&["report", "--format", "html"], "")
        .expect(0)
        .stdout();
    assert!(
        html.contains(&format!(
            "Vendor/billed: {} 5/5, {} 7/5, {} 7/5, {} 7/5, {} 7/5, {} 8/5",
            p(5),
            p(4),
            p(3),
            p(2),
            p(1),
            p(0)
        )),
        "{html}"
    );
    // What the vendor side counted is kept too, per account and service, whatever it was
    // mapped to.
    let kept = env
        .run(&["db", "kept", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let rows: Vec<HashMap<String, String>> = csv_rows(&kept);
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}/{}/{}/{} {}",
                r["period"],
                r["connection"],
                r["account"],
                r["service"],
                r["latest"],
                r["peak"],
                r["average"],
                r["end_of_period"],
                r["snapshots"]
            )
        })
        .collect();
    // The import's two services (every row, and plan BK), per account and period.
    let mut want = Vec::new();
    for (m, acme) in [(5, 5), (4, 7), (3, 7), (2, 7)] {
        for (account, n) in [("Acme", acme), ("Beta", 3)] {
            for service in ["all", "bk"] {
                want.push(format!(
                    "{} usage {account} {service} {n}/{n}/{n}/{n} 1",
                    p(m)
                ));
            }
        }
    }
    assert_eq!(got, want, "{kept}");
    let one = env
        .run(&["db", "kept", "--period", &p(4), "--format", "json"], "")
        .expect(0)
        .stdout();
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one.as_array().map(Vec::len), Some(4), "{one}");
    env.run(&["db", "kept", "--period", "1999-01"], "")
        .expect(0)
        .says(&["No kept count matches; kept periods:", &p(5)], &[]);
    let stats = env
        .run(&["db", "stats", "--format", "json"], "")
        .expect(0)
        .stdout();
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(
        (&stats["kept_periods"], &stats["kept_service_counts"]),
        (&serde_json::json!(4), &serde_json::json!(16))
    );
}

/// A period reported twice is stored once: the second report is the stored one (the latest,
/// which `review` reads), not another copy of every finding.
#[test]
fn a_period_reported_again_unchanged_is_not_stored_again() {
    let env = csv_pair_env(
        "Customer,Plan,Seats\nAcme,BK,7\nBeta,BK,3\n",
        "Customer,Product,Qty,Price\nAcme,BK-PSA,5,4\nBeta,BK-PSA,3,4\n",
    );
    never_stale(&env);
    let day = |d: i32| at(1, d).timestamp();
    backdate(&env, "psa", day(2));
    backdate(&env, "usage", day(3));
    let period = at(1, 1).strftime("%Y-%m").to_string();
    let runs = || -> i64 {
        rusqlite::Connection::open(env.db_path())
            .unwrap()
            .query_row("SELECT count(*) FROM reconcile_run", [], |r| r.get(0))
            .unwrap()
    };
    let before = runs();
    let first = env
        .run(&["report", "--period", &period, "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert_eq!(runs(), before + 1);
    let again = env
        .run(&["report", "--period", &period, "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert_eq!(again, first);
    assert_eq!(runs(), before + 1, "the same findings were stored again");
    // They are the latest findings: a decision about one is taken.
    let rows: Vec<HashMap<String, String>> = csv_rows(&first);
    let under = rows
        .iter()
        .find(|r| r["type"] == "under_billed")
        .expect("Acme is under-billed");
    env.run(&["review", "approve", &under["finding_id"]], "")
        .expect(0);
    // Another moment: other findings, stored.
    env.run(&["report", "--as-of", &day(20).to_string()], "")
        .expect(0);
    assert_eq!(runs(), before + 2);
}
