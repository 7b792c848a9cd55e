//! Unit tests of the import: header aliases, sums, ids, and the located errors of bad rows.

use rust_decimal::Decimal;

use super::reader::{NumberFormat, parse_quantity, parse_time};
use super::*;
use crate::connectors::KindSettings;

fn run(file: &str, text: &str, settings: &Settings) -> Result<Imported, String> {
    import(Path::new(file), text.as_bytes(), settings)
}

fn ok(text: &str) -> VendorSnapshot {
    run("usage.csv", text, &Settings::default())
        .unwrap()
        .snapshot
}

fn units(s: &VendorSnapshot, service: &str, account: &str) -> Decimal {
    let defs: Vec<ServiceDef> = services()
        .into_iter()
        .chain(families()[0].expand(&s.items))
        .collect();
    let def = defs
        .iter()
        .find(|d| d.key == service)
        .unwrap_or_else(|| panic!("no service {service}"));
    s.items
        .iter()
        .filter(|i| i.account_id == account)
        .map(|i| def.weight(i))
        .sum()
}

fn profile(pairs: &[(&str, &[&str])]) -> Settings {
    let mut text = String::from("[columns]\n");
    for (k, v) in pairs {
        text.push_str(&format!("{k} = {v:?}\n"));
    }
    toml::from_str(&text).unwrap()
}

#[test]
fn rows_of_one_account_and_sku_are_summed() {
    let s = ok("Customer,SKU,Product Name,Qty\n\
         Acme Corp,BK-SRV,Server Backup,2\n\
         Acme Corp,bk-srv,,3.5\n\
         Acme Corp,BK-WS,Workstation Backup,10\n\
         Beta LLC,BK-SRV,Server Backup,1\n");
    assert_eq!(s.accounts.len(), 2);
    assert_eq!(s.accounts[0].id, "Acme Corp");
    assert_eq!(s.items.len(), 3);
    let srv = &s.items[0];
    assert_eq!(srv.id, "Acme Corp/bk-srv");
    assert_eq!(srv.attrs["quantity"], "5.5");
    assert_eq!(srv.attrs["rows"], "2");
    assert_eq!(srv.attrs["sku_name"], "Server Backup");
    assert_eq!(units(&s, "bk-srv", "Acme Corp"), Decimal::new(55, 1));
    assert_eq!(units(&s, "bk-ws", "Acme Corp"), Decimal::from(10));
    assert_eq!(units(&s, ALL, "Acme Corp"), Decimal::new(155, 1));
    assert_eq!(units(&s, "bk-srv", "Beta LLC"), Decimal::ONE);
    let names: Vec<String> = families()[0]
        .expand(&s.items)
        .into_iter()
        .map(|d| format!("{}={}", d.key, d.name))
        .collect();
    assert_eq!(names, ["bk-srv=Server Backup", "bk-ws=Workstation Backup"]);
}

#[test]
fn without_a_quantity_column_each_row_counts_one() {
    let s = ok("Company,Plan\nAcme,Pro\nAcme,Pro\nAcme,Basic\n");
    assert_eq!(units(&s, "pro", "Acme"), Decimal::from(2));
    assert_eq!(units(&s, ALL, "Acme"), Decimal::from(3));
}

#[test]
fn without_a_sku_column_everything_is_one_service() {
    let s = ok("Client Name;Seats\nAcme;4\nAcme;1\n");
    assert_eq!(s.items.len(), 1);
    assert_eq!(s.items[0].id, "Acme");
    assert!(!s.items[0].attrs.contains_key("sku"));
    assert_eq!(units(&s, ALL, "Acme"), Decimal::from(5));
}

#[test]
fn headers_match_ignoring_case_spaces_and_punctuation() {
    let s = ok("  CUSTOMER_NAME , product-code,NUMBER OF SEATS,Last.Seen\nAcme,X,1,2024-05-01\n");
    // `NUMBER OF SEATS` is no built-in alias: without a profile every row counts 1 ...
    assert_eq!(units(&s, "x", "Acme"), Decimal::ONE);
    assert!(s.items[0].last_contact.is_some());
    // ... and with one, the profile's aliases win, tried in order.
    let settings = profile(&[("quantity", &["Licenses", "number of seats"])]);
    let i = run(
        "u.csv",
        "Customer,SKU,Number of Seats\nAcme,X,7\n",
        &settings,
    )
    .unwrap();
    assert_eq!(i.snapshot.items[0].attrs["quantity"], "7");
    assert!(
        i.columns.contains("quantity = `Number of Seats`"),
        "{}",
        i.columns
    );
}

#[test]
fn account_ids_come_from_their_column_else_the_trimmed_name() {
    let s = ok("Customer ID,Customer,SKU,Qty\n 17 ,Acme,X,1\n17,Acme Corp,X,2\n18,Beta,X,1\n");
    assert_eq!(s.accounts.len(), 2);
    assert_eq!(
        (s.accounts[0].id.as_str(), s.accounts[0].name.as_str()),
        ("17", "Acme")
    );
    assert_eq!(units(&s, "x", "17"), Decimal::from(3));
    let s = ok("Customer,SKU\n  Acme  ,X\nAcme,X\n");
    assert_eq!(s.accounts.len(), 1);
    assert_eq!(s.accounts[0].id, "Acme");
}

#[test]
fn item_ids_make_items_of_their_own_and_duplicates_fail() {
    let s = ok("Customer,Device ID,SKU,Last Seen\n\
         Acme,D1,Backup,2024-05-01T10:00:00Z\n\
         Acme,D1,Archive,2024-05-02 08:30\n\
         Acme,D2,Backup,\n");
    assert_eq!(s.items.len(), 3);
    assert_eq!(s.items[0].id, "D1/backup");
    assert_eq!(s.items[0].name, "D1");
    assert_eq!(units(&s, "backup", "Acme"), Decimal::from(2));
    assert!(s.items[1].last_contact.is_some());
    assert!(s.items[2].last_contact.is_none());

    let e = run(
        "devices.csv",
        "Customer,Device ID,SKU\nAcme,D1,Backup\nBeta,D1,Backup\n",
        &Settings::default(),
    )
    .unwrap_err();
    assert!(
        e.contains(
            "devices.csv:3:2: column `Device ID`: item `D1` with SKU `Backup` is already on line 2"
        ),
        "{e}"
    );
}

#[test]
fn bad_rows_fail_the_whole_file_with_file_line_and_column() {
    let text = "Customer,SKU,Seats\n\
                Acme,X,3\n\
                \n\
                Acme,X,three\n\
                Beta,Y,-2\n\
                ,Y,1\n\
                \"Gamma\nInc\",,1\n";
    let e = run("exports/vendor.csv", text, &Settings::default()).unwrap_err();
    // The row without an account (line 6) is set aside, not a bad row.
    assert!(e.starts_with("3 bad rows (nothing was imported)"), "{e}");
    assert!(!e.contains("vendor.csv:6"), "{e}");
    for want in [
        "exports/vendor.csv:4:3: column `Seats`: `three` is not a number",
        "exports/vendor.csv:5:3: column `Seats`: `-2` is negative",
        "exports/vendor.csv:7:2: column `SKU`: the sku is empty",
    ] {
        assert!(e.contains(want), "missing `{want}` in:\n{e}");
    }
}

#[test]
fn many_bad_rows_are_counted_not_all_listed() {
    let mut text = String::from("Customer,Qty\n");
    for _ in 0..(MAX_ERRORS + 3) {
        text.push_str("Acme,x\n");
    }
    let e = run("u.csv", &text, &Settings::default()).unwrap_err();
    assert!(e.contains("... and 3 more"), "{e}");
    assert_eq!(e.matches("is not a number").count(), MAX_ERRORS);
}

#[test]
fn quantities_and_times() {
    let f = NumberFormat::default();
    assert_eq!(parse_quantity(" 1,250.50 ", &f), Ok(Decimal::new(12505, 1)));
    assert_eq!(parse_quantity("0", &f), Ok(Decimal::ZERO));
    assert!(parse_quantity("1,5", &f).is_err());
    assert!(parse_quantity("", &f).unwrap_err().contains("empty"));
    assert!(parse_quantity("NaN", &f).is_err());
    assert!(parse_time("2024-05-01").is_ok());
    assert_eq!(
        parse_time("2024-05-01 10:00").unwrap().to_string(),
        "2024-05-01T10:00:00Z"
    );
    assert_eq!(
        parse_time("2024-05-01").unwrap().to_string(),
        "2024-05-01T00:00:00Z"
    );
    assert!(parse_time("2024-05-01T10:00:00+02:00").is_ok());
    assert!(parse_time("yesterday").is_err());
}

#[test]
fn missing_and_ambiguous_columns_are_named() {
    let e = run("u.csv", "Name,Qty\nAcme,1\n", &Settings::default()).unwrap_err();
    assert!(e.contains("no column for account"), "{e}");
    assert!(e.contains("the header has `Name`, `Qty`"), "{e}");
    let settings = profile(&[("sku", &["Plan Code"])]);
    let e = run("u.csv", "Customer,Plan\nAcme,1\n", &settings).unwrap_err();
    assert!(
        e.contains("no column for sku (looked for `Plan Code`)"),
        "{e}"
    );
    let e = run(
        "u.csv",
        "Customer,Qty,qty\nAcme,1,2\n",
        &Settings::default(),
    )
    .unwrap_err();
    assert!(e.contains("columns 2 and 3 are all headed `Qty`"), "{e}");
    let settings = profile(&[("sku", &["Customer"])]);
    let e = run("u.csv", "Customer,Qty\nAcme,1\n", &settings).unwrap_err();
    assert!(e.contains("both the account and the sku column"), "{e}");
}

#[test]
fn json_exports_resolve_keys_like_headers() {
    let text = r#"{"total": 3, "items": [
        {"customerName": "Acme", "sku": "BK-SRV", "quantity": 2},
        {"customerName": "Acme", "sku": "BK-SRV", "quantity": "1.5"},
        {"customerName": "Beta", "sku": "BK-SRV", "quantity": null}
    ]}"#;
    let e = run("usage.json", text, &Settings::default()).unwrap_err();
    assert!(
        e.contains(
            "usage.json: record 3, field \"quantity\": column `quantity`: the quantity is empty"
        ),
        "{e}"
    );
    let fixed = text.replace("null", "4");
    let s = run("usage.json", &fixed, &Settings::default())
        .unwrap()
        .snapshot;
    assert_eq!(units(&s, "bk-srv", "Acme"), Decimal::new(35, 1));
    assert_eq!(units(&s, "bk-srv", "Beta"), Decimal::from(4));
    // `format` overrides the extension.
    let settings = Settings {
        format: Some(Format::Json),
        ..Settings::default()
    };
    assert!(run("usage.txt", &fixed, &settings).is_ok());
    let e = run("usage.json", "[1,", &Settings::default()).unwrap_err();
    assert!(e.starts_with("usage.json: not valid JSON"), "{e}");
}

#[test]
fn configured_delimiter_and_tsv() {
    let settings = Settings {
        delimiter: Some("|".into()),
        ..Settings::default()
    };
    let s = run("u.txt", "Customer|SKU|Qty\nAcme, Inc.|X|2\n", &settings).unwrap();
    assert_eq!(s.snapshot.accounts[0].name, "Acme, Inc.");
    let s = run("u.tsv", "Customer\tQty\nA;B\t2\n", &Settings::default()).unwrap();
    assert_eq!(s.snapshot.accounts[0].name, "A;B");
    assert_eq!(delimiter_byte("\\t"), Ok(b'\t'));
    assert!(delimiter_byte(";;").is_err());
}

#[test]
fn settings_validate_and_name_bad_keys() {
    let parse = |t: &str| toml::from_str::<Settings>(t);
    let e = parse("[columns]\nacount = [\"Customer\"]\n").unwrap_err();
    assert!(e.to_string().contains("acount"), "{e}");
    let e = parse("pathh = \"x.csv\"\n").unwrap_err();
    assert!(e.to_string().contains("pathh"), "{e}");
    let s =
        parse("path = \"x.csv\"\nformat = \"json\"\n[columns]\naccount = \"Client\"\n").unwrap();
    assert_eq!(s.columns.account, Some(Aliases::One("Client".into())));
    s.validate("v").unwrap();
    let s = parse("[columns]\nsku = []\n").unwrap();
    let e = s.validate("v").unwrap_err().to_string();
    assert!(e.contains("[connections.v.columns] sku"), "{e}");
    let s = parse("delimiter = \"ab\"\n").unwrap();
    let e = s.validate("v").unwrap_err().to_string();
    assert!(e.contains("[connections.v] delimiter"), "{e}");
    assert!(parse("format = \"xlsx\"\n").is_err());
}

#[test]
fn services_and_family_keys() {
    assert_eq!(services()[0].key, ALL);
    let f = &families()[0];
    let def = f.service_for_key("bk-srv").unwrap();
    assert_eq!(def.quantity.as_deref(), Some("quantity"));
    assert!(f.service_for_key("BK SRV").is_none());
}

#[tokio::test]
async fn sync_prefers_the_given_file_and_errors_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(&a, "Customer,Qty\nAcme,1\n").unwrap();
    std::fs::write(&b, "Customer,Qty\nAcme,9\n").unwrap();
    let settings = Settings {
        path: Some(a.display().to_string()),
        ..Settings::default()
    };
    let no_secret = |_: &str| -> anyhow::Result<SecretString> { unreachable!("no secrets") };
    let c = Csv::new("v", &settings, &no_secret, RetryPolicy::default()).unwrap();
    let qty = |s: Snapshot| match s {
        Snapshot::Vendor(v) => v.items[0].attrs["quantity"].clone(),
        _ => unreachable!(),
    };
    assert_eq!(qty(c.sync(&SyncCx::silent()).await.unwrap()), "1");
    let cx = SyncCx {
        file: Some(b.clone()),
        ..SyncCx::silent()
    };
    assert_eq!(qty(c.sync(&cx).await.unwrap()), "9");
    let msg = c.check().await.unwrap();
    assert!(msg.contains("1 row for 1 account"), "{msg}");

    let c = Csv::new(
        "v",
        &Settings::default(),
        &no_secret,
        RetryPolicy::default(),
    )
    .unwrap();
    let e = c.sync(&SyncCx::silent()).await.unwrap_err().to_string();
    assert!(e.contains("reconcile sync v --file PATH"), "{e}");
    let cx = SyncCx {
        file: Some(dir.path().join("missing.csv")),
        ..SyncCx::silent()
    };
    let e = c.sync(&cx).await.unwrap_err().to_string();
    assert!(
        e.contains("cannot read") && e.contains("missing.csv"),
        "{e}"
    );
}

/// A `;` file is what a spreadsheet writes where `1,5` is one and a half: a comma in a number
/// there is refused with its line and column, unless the profile says what it is.
#[test]
fn a_comma_in_a_number_of_a_semicolon_file_is_refused_unless_the_profile_says() {
    let text = "Customer;Product;Seats\nAcme;BK;1,500\nBeta;BK;150,0\nGamma;BK;7\n";
    let e = run("eu.csv", text, &Settings::default()).unwrap_err();
    assert!(e.starts_with("2 bad rows (nothing was imported)"), "{e}");
    assert!(
        e.contains("eu.csv:2:3: column `Seats`: `1,500` is ambiguous: in a file delimited by `;`"),
        "{e}"
    );
    assert!(
        e.contains("eu.csv:3:3: column `Seats`: `150,0` is ambiguous"),
        "{e}"
    );
    assert!(
        e.contains("decimal_separator = \",\" or thousands_separator = \",\""),
        "{e}"
    );

    let with = |toml_text: &str| -> Settings { toml::from_str(toml_text).unwrap() };
    // A decimal comma: 1,500 is one and a half.
    let s = run("eu.csv", text, &with("decimal_separator = \",\"\n"))
        .unwrap()
        .snapshot;
    assert_eq!(units(&s, "bk", "Acme"), Decimal::new(15, 1));
    assert_eq!(units(&s, "bk", "Beta"), Decimal::from(150));
    assert_eq!(units(&s, "bk", "Gamma"), Decimal::from(7));
    // A thousands comma: 1,500 is fifteen hundred, and 150,0 is no number.
    let e = run("eu.csv", text, &with("thousands_separator = \",\"\n")).unwrap_err();
    assert!(e.starts_with("1 bad row"), "{e}");
    assert!(
        e.contains("eu.csv:3:3: column `Seats`: `150,0` is not a number"),
        "{e}"
    );
    let s = run(
        "eu.csv",
        "Customer;Seats\nAcme;1,500\n",
        &with("thousands_separator = \",\"\n"),
    )
    .unwrap()
    .snapshot;
    assert_eq!(units(&s, "all", "Acme"), Decimal::from(1500));
    // German grouping: points between thousands, a comma before decimals.
    let s = run(
        "de.csv",
        "Customer;Seats\nAcme;1.250,75\nBeta;2,5\nGamma;1.000\n",
        &with("decimal_separator = \",\"\nthousands_separator = \".\"\n"),
    )
    .unwrap()
    .snapshot;
    assert_eq!(units(&s, "all", "Acme"), Decimal::new(125075, 2));
    assert_eq!(units(&s, "all", "Beta"), Decimal::new(25, 1));
    assert_eq!(units(&s, "all", "Gamma"), Decimal::from(1000));
    // A decimal comma alone does not make a point a thousands separator: `1.250,75` is refused.
    let e = run(
        "de.csv",
        "Customer;Seats\nAcme;1.250,75\n",
        &with("decimal_separator = \",\"\n"),
    )
    .unwrap_err();
    assert!(
        e.contains("de.csv:2:2: column `Seats`: `1.250,75` is not a number (this connection reads numbers with decimal_separator = \",\")"),
        "{e}"
    );
    // A comma-delimited file is read as before: a comma in a (quoted) number groups thousands.
    let s = ok("Customer,Qty\nAcme,\"1,500\"\n");
    assert_eq!(units(&s, "all", "Acme"), Decimal::from(1500));
    // Numbers without a comma are not ambiguous in a `;` file.
    let s = ok("Customer;Seats\nAcme;1500.5\n");
    assert_eq!(units(&s, "all", "Acme"), Decimal::new(15005, 1));
}

#[test]
fn number_formats() {
    let f = |d: Option<&str>, t: Option<&str>| NumberFormat::new(d, t, Some(b';'));
    let q = |cell: &str, f: &NumberFormat| parse_quantity(cell, f);
    let eu = f(Some(","), Some("."));
    assert_eq!(q("1.234.567,891", &eu), Ok(Decimal::new(1234567891, 3)));
    assert_eq!(q(",5", &eu), Ok(Decimal::new(5, 1)));
    assert!(q("1.23,5", &eu).is_err(), "thousands are grouped by three");
    assert!(q("1,2,3", &eu).is_err());
    // A thousands point implies a decimal comma.
    assert_eq!(f(None, Some(".")), eu);
    let swiss = f(Some("."), Some("'"));
    assert_eq!(q("1'250.50", &swiss), Ok(Decimal::new(12505, 1)));
    let fr = f(Some(","), Some(" "));
    assert_eq!(q("1\u{202f}250,5", &fr), Ok(Decimal::new(12505, 1)));
    assert_eq!(q("1 250,5", &fr), Ok(Decimal::new(12505, 1)));
    // A space-grouping file with no decimal separator set still has an ambiguous comma.
    assert!(
        q("1,5", &f(None, Some(" ")))
            .unwrap_err()
            .contains("ambiguous")
    );
    // JSON numbers always have a point, whatever is configured.
    let json = NumberFormat::new(Some(","), None, None);
    assert_eq!(q("1.5", &json), Ok(Decimal::new(15, 1)));

    for (d, t, key) in [
        (
            Some(";"),
            None,
            "decimal_separator: `;` is not a decimal separator",
        ),
        (
            None,
            Some("x"),
            "thousands_separator: `x` is not a thousands separator",
        ),
        (Some(","), Some(","), "are both \",\""),
    ] {
        let settings = Settings {
            decimal_separator: d.map(str::to_string),
            thousands_separator: t.map(str::to_string),
            ..Settings::default()
        };
        let e = settings.validate("eu").unwrap_err().to_string();
        assert!(e.starts_with("[connections.eu] "), "{e}");
        assert!(e.contains(key), "{e}");
    }
}

/// A header with no rows is far more often a broken export than nothing in use: refused,
/// saying how to accept it; accepted with `allow_empty` as 0 items, the header still checked.
#[test]
fn an_empty_file_is_refused_unless_allowed() {
    for (file, text, says) in [
        (
            "usage.csv",
            "Customer;Plan;Seats\n\n ; ; \n",
            "the file has a header but no rows",
        ),
        ("usage.json", "[]", "the file holds no records"),
        (
            "usage.json",
            "{\"data\": [{}]}",
            "the file holds no records",
        ),
    ] {
        let e = run(file, text, &Settings::default()).unwrap_err();
        assert!(
            e.starts_with(&format!("{file}: {says}, so nothing was imported")),
            "{e}"
        );
        assert!(e.contains("reconcile sync NAME --allow-empty"), "{e}");
        assert!(
            e.contains("reconcile connect csv --name NAME --allow-empty"),
            "{e}"
        );
        let allowed = Settings {
            allow_empty: true,
            ..Settings::default()
        };
        let i = run(file, text, &allowed).unwrap();
        assert_eq!((i.rows, i.snapshot.items.len()), (0, 0));
    }
    let allowed = Settings {
        allow_empty: true,
        ..profile(&[("account", &["Client Name"])])
    };
    let e = run("usage.csv", "Customer,Seats\n", &allowed).unwrap_err();
    assert!(e.contains("no column for account"), "{e}");
}

#[test]
fn a_unit_cost_column_gives_each_item_its_cost_per_unit() {
    let s = ok("Customer,SKU,Seats,Unit Cost\n\
         Acme Corp,BK,2,4.00\n\
         Acme Corp,BK,6,5.00\n\
         Beta LLC,BK,3,\n\
         Gamma,BK,1,4.00\n\
         Gamma,BK,1,\n\
         Delta,BK,2,n/a\n");
    let cost = |account: &str| {
        s.items
            .iter()
            .find(|i| i.account_id == account)
            .and_then(|i| i.attrs.get(crate::model::UNIT_COST_ATTR).cloned())
    };
    // Summed rows at two costs: the units' average, (2 × 4 + 6 × 5) ÷ 8.
    assert_eq!(cost("Acme Corp").as_deref(), Some("4.75"));
    // No cost, or a cost on only some of the summed rows: none, never a partial one.
    assert_eq!(cost("Beta LLC"), None);
    assert_eq!(cost("Gamma"), None);
    // An unreadable cost is unknown for that row; the row still counts.
    assert_eq!(cost("Delta"), None);
    let delta = s.items.iter().find(|i| i.account_id == "Delta").unwrap();
    assert_eq!(delta.attrs["odd_fields"], "unit_cost");
    assert_eq!(units(&s, "bk", "Delta"), Decimal::TWO);
}
