//! Unit tests of the billing import: header aliases, one line per row, agreements, products,
//! billable rules, dates, and the located errors of bad rows.

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::*;
use crate::connectors::KindSettings;
use crate::connectors::csv::reader::{NumberFormat, parse_money};
use crate::model::{BillCustomer, PsaLine};

fn run(file: &str, text: &str, settings: &Settings) -> Result<Imported, String> {
    import(Path::new(file), text.as_bytes(), settings)
}

fn ok(text: &str) -> PsaSnapshot {
    run("billing.csv", text, &Settings::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .snapshot
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn rows_are_lines_not_sums_under_builtin_aliases() {
    let s = ok(
        "\u{feff}Customer Name,Item Code,Description,Qty,Unit Price,Unit Cost\r\n\
         Acme Corp,NINJA-WS,Workstations,10,$4.50,2\r\n\
         , , , , ,\r\n\
         Acme Corp,NINJA-WS,Workstations (new site),5,4.50,2\r\n\
         Acme Corp,NINJA-SRV,Servers,2,\"1,250.00\",\r\n\
         Beta LLC,NINJA-WS,,3,5.00,2\r\n",
    );
    assert_eq!(s.companies.len(), 2);
    assert_eq!(s.companies[0].id, "Acme Corp");
    assert!(s.companies.iter().all(|c| c.billable));
    assert_eq!(s.lines.len(), 4, "blank rows are skipped, others are lines");
    let ws: Vec<&PsaLine> = s
        .lines
        .iter()
        .filter(|l| l.company_id == "Acme Corp" && l.product_identifier == "NINJA-WS")
        .collect();
    assert_eq!(ws.len(), 2);
    assert_eq!(ws[0].quantity + ws[1].quantity, Decimal::from(15));
    assert_eq!(ws[0].id, "line-2");
    assert_eq!(ws[1].id, "line-4");
    assert_eq!(ws[0].unit_price, dec("4.5"));
    assert_eq!(ws[0].unit_cost, dec("2"));
    let srv = s
        .lines
        .iter()
        .find(|l| l.product_identifier == "NINJA-SRV")
        .unwrap();
    assert_eq!(srv.unit_price, dec("1250"));
    assert_eq!(srv.unit_cost, Decimal::ZERO);
    assert_eq!(srv.bill_customer, BillCustomer::Billable);
    assert!(srv.raw.as_deref().unwrap().contains("\"line\":5"));
    // One agreement per company by default, monthly, active; lines keep theirs.
    assert_eq!(s.agreements.len(), 2);
    assert!(
        s.agreements
            .iter()
            .all(|a| a.status == "Active"
                && a.billing_cycle.as_deref() == Some(DEFAULT_BILLING_CYCLE))
    );
    assert!(
        s.lines
            .iter()
            .all(|l| l.agreement_id == format!("{}/", l.company_id))
    );
    // Products: the distinct identifiers, a price only when every row agrees.
    assert_eq!(s.products.len(), 2);
    let p = |id: &str| s.products.iter().find(|p| p.identifier == id).unwrap();
    assert_eq!(p("NINJA-WS").price, None, "4.50 and 5.00 disagree");
    assert_eq!(p("NINJA-WS").cost, Some(dec("2")));
    assert_eq!(p("NINJA-WS").description.as_deref(), Some("Workstations"));
    assert_eq!(p("NINJA-SRV").price, Some(dec("1250")));
    assert!(s.meta.is_empty());
}

#[test]
fn agreements_cycles_ids_and_dates_come_from_their_columns() {
    let s = ok(
        "Company ID;Company;Contract;Frequency;Product;Quantity;Included;Start Date;End Date\n\
         C-1;Acme;Managed;Quarterly;NINJA-WS;10;2;2024-01-01;2025-06-30\n\
         C-1;Acme;Managed;Quarterly;NINJA-WS;12;;2025-07-01;\n\
         C-1;Acme;Backup;;BK;1;;;\n",
    );
    assert_eq!(s.companies.len(), 1);
    assert_eq!(s.companies[0].id, "C-1");
    assert_eq!(s.companies[0].name, "Acme");
    assert_eq!(s.agreements.len(), 2);
    assert_eq!(s.agreements[0].name, "Managed");
    assert_eq!(s.agreements[0].billing_cycle.as_deref(), Some("Quarterly"));
    assert_eq!(s.agreements[1].billing_cycle.as_deref(), Some("Monthly"));
    assert_eq!(s.lines[0].agreement_id, "C-1/Managed");
    assert_eq!(s.lines[0].less_included, Decimal::from(2));
    assert_eq!(s.lines[1].less_included, Decimal::ZERO);
    // A date-only end date is the last day billed.
    let at = |t: &str| t.parse::<Timestamp>().unwrap();
    assert!(s.lines[0].is_active_at(at("2025-06-30T18:00:00Z")));
    assert!(!s.lines[0].is_active_at(at("2025-07-01T00:00:00Z")));
    assert!(s.lines[1].is_active_at(at("2025-07-01T00:00:00Z")));
    assert!(!s.lines[1].is_active_at(at("2025-06-30T00:00:00Z")));
    let now = Timestamp::now();
    let in_force: Decimal = s
        .lines
        .iter()
        .filter(|l| l.product_identifier == "NINJA-WS" && l.is_active_at(now))
        .map(|l| l.quantity)
        .sum();
    assert_eq!(in_force, Decimal::from(12));
}

#[test]
fn without_prices_the_money_is_zero_and_said_so() {
    let s = ok("Client,Product,Seats\nAcme,M365-BP,7\n");
    assert_eq!(s.lines[0].unit_price, Decimal::ZERO);
    assert!(s.meta[META_PRICES].contains("money"), "{:?}", s.meta);
    assert_eq!(s.products[0].price, None);
}

#[test]
fn billable_rules_flag_status_and_type() {
    let text = "Client,Client Status,Client Type,Company Billable,Product,Qty\n\
        Acme,Active,Client,yes,P,1\n\
        Gone Inc,Inactive,Client,yes,P,1\n\
        Supplier,Active,Vendor,yes,P,1\n\
        Internal,Active,\"Client, Partner\",no,P,1\n\
        Both,Active,Partner; client,Y,P,1\n\
        Both,Inactive,Vendor,no,P,1\n";
    let settings = Settings {
        billable_statuses: vec!["active".into()],
        billable_company_types: vec!["Client".into()],
        ..Settings::default()
    };
    let s = run("b.csv", text, &settings).unwrap().snapshot;
    let c = |n: &str| s.companies.iter().find(|c| c.name == n).unwrap();
    assert!(c("Acme").billable);
    assert!(
        c("Gone Inc")
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("status `Inactive`")
    );
    assert!(
        c("Supplier")
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("type Vendor")
    );
    assert_eq!(
        c("Internal").not_billable_reason.as_deref(),
        Some("column `Company Billable` says `no`")
    );
    // Types split on `,` and `;`, matched ignoring case; the first row decides.
    assert_eq!(c("Both").types, ["Partner", "client"]);
    assert!(c("Both").billable);
    // Without rules every company bills.
    let s = run("b.csv", text, &Settings::default()).unwrap().snapshot;
    assert_eq!(s.companies.iter().filter(|c| !c.billable).count(), 1);
}

#[test]
fn bad_rows_fail_the_whole_file_with_file_line_and_column() {
    let text = "Company,Product,Quantity,Price,Start,End,Company Billable\n\
        Acme,P,1,10,2024-01-01,,yes\n\
        \n\
        ,P,1,10,,,\n\
        Beta,,x,10,,,\n\
        Gamma,P,-2,ten,soon,,maybe\n\
        Delta,P,1,1,2025-01-01,2024-01-01,\n";
    let e = run("exports/billing.csv", text, &Settings::default()).unwrap_err();
    // The row without a company (line 4) is set aside, not a bad row.
    assert!(e.starts_with("7 bad rows (nothing was imported)"), "{e}");
    assert!(!e.contains("billing.csv:4:"), "{e}");
    for want in [
        "exports/billing.csv:5:2: column `Product`: the product is empty",
        "exports/billing.csv:5:3: column `Quantity`: `x` is not a number",
        "exports/billing.csv:6:3: column `Quantity`: `-2` is negative",
        "exports/billing.csv:6:4: column `Price`: `ten` is not an amount",
        "exports/billing.csv:6:5: column `Start`: `soon` is not a date",
        "exports/billing.csv:6:7: column `Company Billable`: `maybe` is not a billable flag",
        "exports/billing.csv:7:6: column `End`: the end date `2024-01-01` is before the start date",
    ] {
        assert!(e.contains(want), "missing {want:?} in\n{e}");
    }
}

#[test]
fn missing_columns_name_the_flag_and_json_works() {
    let e = run("b.csv", "Client,Qty\nAcme,1\n", &Settings::default()).unwrap_err();
    assert!(e.contains("no column for product"), "{e}");
    assert!(e.contains("`reconcile connect csv-billing`"), "{e}");
    assert!(e.contains("--product-column"), "{e}");
    let settings: Settings = toml::from_str(
        "[columns]\nproduct = \"code\"\nquantity = [\"billed\"]\nunit_price = \"price.amount\"\n",
    )
    .unwrap();
    let s = run(
        "b.json",
        r#"{"data":[{"customer":{"name":"Acme"},"code":"X","billed":3,"price":{"amount":"9.99"}}]}"#,
        &settings,
    )
    .unwrap()
    .snapshot;
    assert_eq!(s.lines[0].quantity, Decimal::from(3));
    assert_eq!(s.lines[0].unit_price, dec("9.99"));
    assert_eq!(s.companies[0].name, "Acme");
    let e = run(
        "b.json",
        r#"[{"customer":"A","code":"X","billed":1,"price":{"amount":1}},{"customer":"B","code":"X","billed":"two"}]"#,
        &settings,
    )
    .unwrap_err();
    assert!(
        e.contains("b.json: record 2, field \"billed\": column `billed`: `two` is not a number"),
        "{e}"
    );
}

#[test]
fn settings_validate_and_name_bad_keys() {
    let bad: Settings = toml::from_str("[columns]\nproduct = []\n").unwrap();
    let e = bad.validate("psa").unwrap_err().to_string();
    assert!(e.contains("[connections.psa.columns] product"), "{e}");
    let bad = Settings {
        billable_statuses: vec![" ".into()],
        ..Settings::default()
    };
    assert!(
        bad.validate("psa")
            .unwrap_err()
            .to_string()
            .contains("billable_statuses")
    );
    assert!(toml::from_str::<Settings>("[columns]\nsku = \"x\"\n").is_err());
    let f = NumberFormat::default();
    assert!(parse_money("12.50 EUR", "price", &f).is_ok());
    assert_eq!(parse_money("€1,000", "price", &f), Ok(dec("1000")));
    assert!(
        parse_money("12,50", "price", &f)
            .unwrap_err()
            .contains("point")
    );
    let eu = NumberFormat::new(Some(","), Some("."), Some(b';'));
    assert_eq!(parse_money("EUR 1.250,50", "price", &eu), Ok(dec("1250.5")));
    assert_eq!(parse_money("1.250,50 €", "price", &eu), Ok(dec("1250.5")));
    assert_eq!(parse_money("12,50 EUR", "price", &eu), Ok(dec("12.5")));
}

#[tokio::test]
async fn sync_prefers_the_given_file_and_errors_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(&a, "Client,Product,Qty\nA,P,1\n").unwrap();
    std::fs::write(&b, "Client,Product,Qty\nB,P,1\nB,P,2\n").unwrap();
    let no_secret = |_: &str| -> anyhow::Result<SecretString> { unreachable!() };
    let settings = Settings {
        path: Some(a.display().to_string()),
        ..Settings::default()
    };
    let c = CsvBilling::new("psa", &settings, &no_secret, RetryPolicy::default()).unwrap();
    let check = c.check().await.unwrap();
    assert!(
        check.contains("1 line for 1 company (1 billable)"),
        "{check}"
    );
    assert!(check.contains("no money"), "{check}");
    let cx = SyncCx {
        file: Some(b.clone()),
        ..SyncCx::silent()
    };
    let Snapshot::Psa(s) = c.sync(&cx).await.unwrap() else {
        panic!()
    };
    assert_eq!(s.lines.len(), 2);
    assert_eq!(s.companies[0].name, "B");
    let none = CsvBilling::new(
        "psa",
        &Settings::default(),
        &no_secret,
        RetryPolicy::default(),
    )
    .unwrap();
    let e = none.sync(&SyncCx::silent()).await.unwrap_err().to_string();
    assert!(e.contains("reconcile sync psa --file PATH"), "{e}");
}

/// Prices of a `;` billing export: `12,50` is refused as ambiguous (with line and column), and
/// read as 12.50 once the profile says the file writes decimal commas.
#[test]
fn a_semicolon_billing_file_needs_its_decimal_separator() {
    let text = "Customer;Product;Qty;Price\nAcme;BK;1;12,50\nAcme;WS;3;1.000\n";
    let e = run("rechnung.csv", text, &Settings::default()).unwrap_err();
    assert!(
        e.contains(
            "rechnung.csv:2:4: column `Price`: `12,50` is ambiguous: in a file delimited by `;`"
        ),
        "{e}"
    );
    let settings: Settings =
        toml::from_str("decimal_separator = \",\"\nthousands_separator = \".\"\n").unwrap();
    let s = run("rechnung.csv", text, &settings).unwrap().snapshot;
    let prices: Vec<Decimal> = s.lines.iter().map(|l| l.unit_price).collect();
    assert_eq!(prices, [dec("12.5"), dec("1000")]);
}

/// An empty billing export would make every vendor's usage look unbilled: refused unless
/// allowed, and the way to allow it for good is the config key (`connect csv-billing` with
/// only `--allow-empty` would drop the saved profile).
#[test]
fn an_empty_billing_file_is_refused_unless_allowed() {
    let text = "Customer,Product,Qty\n";
    let e = run("billing.csv", text, &Settings::default()).unwrap_err();
    assert!(
        e.starts_with("billing.csv: the file has a header but no rows, so nothing was imported"),
        "{e}"
    );
    assert!(
        e.contains("set allow_empty = true under [connections.NAME]"),
        "{e}"
    );
    let allowed = Settings {
        allow_empty: true,
        ..Settings::default()
    };
    let i = run("billing.csv", text, &allowed).unwrap();
    assert_eq!((i.rows, i.snapshot.lines.len()), (0, 0));
}
