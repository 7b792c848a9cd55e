//! The report as a billing manager meets it: a table that fits the terminal and lists what asks
//! for action, `--company` / `--type` filters with a summary line, and CSV that opens cleanly
//! in a spreadsheet (formula guard, BOM, money in the currency's decimals).

use std::collections::HashMap;

use crate::harness::Env;
use crate::support::{csv_pair_env, csv_rows};

type Row = HashMap<String, String>;

/// A vendor export and a billing export whose company names a spreadsheet would misread:
/// a formula, a leading minus, accents. Connected, synced and mapped.
fn spreadsheet_env() -> Env {
    // Exact names map on their own; Zephyr has no company.
    csv_pair_env(
        "Customer,Plan,Seats\n\
         =1+1 Formula Corp,BK,5\n\
         Ünïcødé Café,BK,3\n\
         Acme Dental,BK,4\n\
         Beta Labs,BK,2\n\
         Zephyr Unbilled,BK,1\n",
        "Customer,Product,Qty,Price\n\
         =1+1 Formula Corp,BK-PSA,4,4.5\n\
         Ünïcødé Café,BK-PSA,3,11.0\n\
         Acme Dental,BK-PSA,4,7.65\n\
         Beta Labs,BK-PSA,10,2469\n\
         -Minus Corp,BK-PSA,2,3\n",
    )
}

fn by_company<'a>(rows: &'a [Row], company: &str) -> &'a Row {
    rows.iter()
        .find(|r| r["company"] == company)
        .unwrap_or_else(|| panic!("no row for {company}: {rows:?}"))
}

#[test]
fn csv_guards_formulas_keeps_numbers_and_writes_money_in_the_currency_decimals() {
    let env = spreadsheet_env();
    let text = env
        .run(&["report", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let rows: Vec<Row> = csv_rows(&text);

    // Text that a spreadsheet would run gets a leading '; numbers stay numbers.
    let formula = by_company(&rows, "'=1+1 Formula Corp");
    assert_eq!(formula["type"], "under_billed");
    assert_eq!(formula["difference"], "1");
    assert_eq!(formula["unit_price"], "4.50");
    assert_eq!(formula["monthly_impact"], "4.50");
    let minus = by_company(&rows, "'-Minus Corp");
    assert_eq!(minus["type"], "billing_no_usage");
    assert_eq!(minus["monthly_impact"], "-6.00");
    let beta = by_company(&rows, "Beta Labs");
    assert_eq!(
        (
            beta["difference"].as_str(),
            beta["unit_price"].as_str(),
            beta["monthly_impact"].as_str()
        ),
        ("-8", "2469.00", "-19752.00")
    );
    let cafe = by_company(&rows, "Ünïcødé Café");
    assert_eq!(cafe["type"], "match");
    assert_eq!(cafe["unit_price"], "11.00");
    assert!(
        !text.starts_with('\u{feff}'),
        "no BOM unless asked: {text:?}"
    );

    // --csv-raw writes every cell as it is.
    let raw = env
        .run(&["report", "--format", "csv", "--csv-raw"], "")
        .expect(0)
        .stdout();
    let raw_rows: Vec<Row> = csv_rows(&raw);
    by_company(&raw_rows, "=1+1 Formula Corp");
    by_company(&raw_rows, "-Minus Corp");

    // --bom (or --excel) starts the file with the UTF-8 byte order mark Excel needs.
    for flag in ["--bom", "--excel"] {
        let out = env
            .cmd()
            .args(["report", "--format", "csv", flag])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            out.stdout.starts_with(b"\xEF\xBB\xBFfinding_id,type,"),
            "{flag}"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Ünïcødé Café"), "{text}");
    }

    // JSON: the same money strings, the totals too.
    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["report", "--format", "json"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    let beta = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["company"] == "Beta Labs")
        .unwrap();
    assert_eq!(beta["unit_price"], "2469.00");
    assert_eq!(beta["monthly_impact"], "-19752.00");
    assert_eq!(json["totals"]["under_billed_monthly"], "4.50");
    assert_eq!(json["totals"]["over_billed_monthly"], "19758.00");
    // JSON is not for spreadsheets: names are as they are.
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["company"] == "=1+1 Formula Corp")
    );
}

#[test]
fn company_and_type_filters_cover_the_rows_the_totals_and_the_exit_code() {
    let env = spreadsheet_env();
    let csv = |extra: &[&str]| -> Vec<Row> {
        let mut args = vec!["report", "--format", "csv", "--csv-raw"];
        args.extend_from_slice(extra);
        csv_rows(&env.run(&args, "").expect(0).stdout())
    };
    let companies = |rows: &[Row]| -> Vec<String> {
        let mut c: Vec<String> = rows
            .iter()
            .map(|r| {
                if r["company"].is_empty() {
                    r["vendor_accounts"].clone()
                } else {
                    r["company"].clone()
                }
            })
            .collect();
        c.sort();
        c
    };
    assert_eq!(csv(&[]).len(), 6);
    assert_eq!(companies(&csv(&["--company", "b*"])), ["Beta Labs"]);
    assert_eq!(companies(&csv(&["--company", "*CAFÉ"])), ["Ünïcødé Café"]);
    // An unmapped account has no company: its account name is matched.
    assert_eq!(
        companies(&csv(&["--company", "zephyr*"])),
        ["Zephyr Unbilled"]
    );
    let types = csv(&["--type", "under_billed,billing-no-usage"]);
    assert_eq!(companies(&types), ["-Minus Corp", "=1+1 Formula Corp"]);
    assert_eq!(
        csv(&["--type", "match", "--type", "over_billed"]).len(),
        3,
        "repeated --type adds"
    );

    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["report", "--format", "json", "--company", "beta*"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(json["company_filter"], "beta*");
    assert_eq!(json["findings"].as_array().unwrap().len(), 1);
    assert_eq!(json["totals"]["over_billed_monthly"], "19752.00");
    assert_eq!(json["totals"]["under_billed_monthly"], "0.00");

    env.run(&["report", "--format", "csv", "--type", "bogus"], "")
        .expect(2)
        .says(
            &[
                "unknown finding type `bogus`",
                "under_billed",
                "billing_no_usage",
            ],
            &[],
        );

    // --exit-code looks at the findings kept.
    env.run(&["report", "--format", "csv", "--exit-code"], "")
        .expect(1);
    env.run(
        &[
            "report",
            "--format",
            "csv",
            "--exit-code",
            "--type",
            "match",
        ],
        "",
    )
    .expect(0);
    env.run(
        &[
            "report",
            "--format",
            "csv",
            "--exit-code",
            "--company",
            "acme*",
        ],
        "",
    )
    .expect(0);

    // The table says what it covers, and sums it up in one line.
    let table = env
        .run(&["report", "--format", "table", "--company", "beta*"], "")
        .expect(0)
        .stdout();
    assert!(table.contains("Findings of company \"beta*\""), "{table}");
    assert!(
        table.contains(
            "At stake: 19,752.00 USD/month (under-billed 0.00 on 0 lines, over-billed 19,752.00 on 1 line)"
        ),
        "{table}"
    );
}

#[test]
fn the_table_lists_what_asks_for_action_and_counts_the_matches() {
    let env = spreadsheet_env();
    let table = env
        .run(&["report", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(table.contains("Beta Labs"), "{table}");
    assert!(
        !table.contains("Acme Dental"),
        "a match is listed:\n{table}"
    );
    assert!(
        table.contains("2 matches not listed (--matches lists them)"),
        "{table}"
    );
    assert!(
        table.contains(
            "At stake: 19,762.50 USD/month (under-billed 4.50 on 1 line, over-billed 19,758.00 on 2 lines); to map: 1 account (`reconcile map`)"
        ),
        "{table}"
    );
    // The table is for people: the names as they are, money grouped.
    assert!(table.contains("=1+1 Formula Corp"), "{table}");
    assert!(table.contains("-19,752.00"), "{table}");

    let all = env
        .run(&["report", "--format", "table", "--matches"], "")
        .expect(0)
        .stdout();
    assert!(
        all.contains("Acme Dental") && all.contains("Ünïcødé Café"),
        "{all}"
    );
    assert!(!all.contains("not listed"), "{all}");
    // CSV lists every finding whatever the table does.
    let rows: Vec<Row> = csv_rows(&env.run(&["report"], "").expect(0).stdout());
    assert_eq!(rows.iter().filter(|r| r["type"] == "match").count(), 2);

    // --all shows the decisions: in their column where it fits, after the table where not.
    let beta = by_company(&rows, "Beta Labs")["finding_id"].clone();
    env.run(
        &[
            "review", "approve", &beta, "--by", "ann", "--note", "agreed",
        ],
        "",
    )
    .expect(0);
    let wide = env
        .run(&["report", "--format", "table", "--all"], "")
        .expect(0)
        .stdout();
    assert!(wide.contains("approved by ann: agreed"), "{wide}");
    assert!(!wide.contains("Decided: "), "{wide}");
    let narrow = env
        .run_env(
            &["report", "--format", "table", "--all"],
            &[("COLUMNS", "80")],
        )
        .expect(0)
        .stdout();
    assert!(narrow.contains("Not shown at 80 columns:"), "{narrow}");
    assert!(
        narrow.contains(&format!("Decided: {beta} approved by ann on ")),
        "{narrow}"
    );
    assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
}

/// The demo's report (22 discrepancies, long stale-source notes, names that wrap) at the widths
/// a person's terminal has: no line is wider, and every finding id is whole on one line.
#[test]
fn the_demo_report_fits_80_120_and_200_columns() {
    let env = Env::new();
    let csv: Vec<Row> = csv_rows(
        &env.run(&["demo", "--format", "csv", "--quiet"], "")
            .expect(0)
            .stdout(),
    );
    let open: Vec<&Row> = csv.iter().filter(|r| r["type"] != "match").collect();
    let matches = csv.len() - open.len();
    assert!(open.len() >= 20 && matches > 100, "{}", csv.len());
    for width in [80, 120, 200] {
        let table = env
            .run_env(
                &["demo", "--format", "table", "--quiet"],
                &[("COLUMNS", &width.to_string())],
            )
            .expect(0)
            .stdout();
        for line in table.lines() {
            assert!(
                line.chars().count() <= width,
                "wider than {width}: {line}\n{table}"
            );
        }
        for r in &open {
            let id = &r["finding_id"];
            assert!(
                table.lines().any(|l| l.contains(id.as_str())),
                "{id} not whole at {width}:\n{table}"
            );
        }
        assert!(
            table.contains(&format!("{matches} matches not listed")),
            "{table}"
        );
        let lines = table.lines().count();
        // Three lines of a note at most: far from the 258 lines of the old layout at 80.
        assert!(lines < 4 * open.len() + 60, "{lines} lines at {width}");
        if width == 80 {
            assert!(
                table.contains("Not shown at 80 columns: Actual, Billed, Note, Unit price."),
                "{table}"
            );
        } else {
            assert!(table.contains("Note"), "{table}");
            assert!(
                table.contains(
                    "Text ending in … is shortened. `reconcile explain <ID>` shows all of a finding"
                ),
                "a long note is shortened at {width}:\n{table}"
            );
        }
    }
}

/// The id the table prints is what `explain` takes: the finding's company and product, or a
/// finding with no company shown whole, note and all.
#[test]
fn explain_takes_the_finding_id_the_report_prints() {
    let env = spreadsheet_env();
    let rows: Vec<Row> = csv_rows(&env.run(&["report"], "").expect(0).stdout());
    let beta = by_company(&rows, "Beta Labs");
    let out = env
        .run(&["explain", &beta["finding_id"]], "")
        .expect(0)
        .stdout();
    assert!(
        out.contains("Beta Labs") && out.contains("product BK-PSA: over_billed"),
        "{out}"
    );
    let zephyr = rows
        .iter()
        .find(|r| r["type"] == "unmapped_account")
        .unwrap();
    let out = env
        .run(&["explain", &zephyr["finding_id"]], "")
        .expect(0)
        .stdout();
    assert!(
        out.contains(&format!(
            "Finding {} (unmapped_account)",
            zephyr["finding_id"]
        )) && out.contains("accounts: Zephyr Unbilled")
            && out.contains(&zephyr["note"]),
        "{out}"
    );
    // An id that is no finding is looked up as a company, and says so.
    env.run(&["explain", "F0000000000"], "")
        .expect(2)
        .says(&["no PSA company `F0000000000`"], &[]);
}
