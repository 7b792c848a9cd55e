//! CSV import: the connector built from a parsed config, reading the vendor exports in
//! `fixtures/csv/` (an Excel "CSV UTF-8" billing export with BOM and CRLF, a JSON license
//! export wrapped in `value`, a tab-separated endpoint list with item ids, a file of bad rows).
//! There is no API, so no paging, auth or retries: the contract is the file's shape, the
//! profile, the sums and the located errors.

use std::path::{Path, PathBuf};

use reconcile::config::Config;
use reconcile::connectors::{self, ConnectorKind, SyncCx};
use reconcile::model::{ServiceDef, Snapshot, VendorSnapshot};
use rust_decimal::Decimal;

use crate::common::fast_retry;

fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/csv")
        .join(rel)
}

/// A `kind = "csv"` connection named `v` from config text (the keys after `kind`).
fn connector(keys: &str) -> Box<dyn connectors::Connector> {
    let config = Config::parse(&format!("[connections.v]\nkind = \"csv\"\n{keys}"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let settings = config.connection("v").unwrap();
    assert!(ConnectorKind::Csv.secret_fields().is_empty());
    settings
        .connect(
            "v",
            &|f| panic!("an import asked for a secret `{f}`"),
            fast_retry(1),
        )
        .unwrap()
}

async fn sync_file(keys: &str, rel: &str) -> Result<VendorSnapshot, String> {
    let cx = SyncCx {
        file: Some(fixture_path(rel)),
        ..SyncCx::silent()
    };
    match connector(keys).sync(&cx).await {
        Ok(Snapshot::Vendor(v)) => Ok(v),
        Ok(_) => panic!("an import made a PSA snapshot"),
        Err(e) => Err(e.to_string()),
    }
}

fn services(v: &VendorSnapshot) -> Vec<ServiceDef> {
    let kind = ConnectorKind::Csv;
    kind.services()
        .into_iter()
        .chain(kind.families().iter().flat_map(|f| f.expand(&v.items)))
        .collect()
}

fn units(v: &VendorSnapshot, service: &str, account: &str) -> Decimal {
    let defs = services(v);
    let def = defs
        .iter()
        .find(|d| d.key == service)
        .unwrap_or_else(|| panic!("no service `{service}`"));
    v.items
        .iter()
        .filter(|i| i.account_id == account)
        .map(|i| def.weight(i))
        .sum()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn an_excel_billing_export_is_summed_per_customer_and_product() {
    let v = sync_file(
        "[connections.v.columns]\nquantity = [\"Billable Units\"]\n",
        "backup-billing.csv",
    )
    .await
    .unwrap();
    let accounts: Vec<(&str, &str)> = v
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    assert_eq!(
        accounts,
        [
            ("C-1001", "Acme Corp, Inc."),
            ("C-1002", "Birchwood Dental"),
            ("C-1003", "The \"Quoted\" Group"),
        ]
    );
    assert_eq!(v.items.len(), 6);
    assert_eq!(units(&v, "stor-gb", "C-1001"), dec("2275"));
    assert_eq!(units(&v, "srv-img", "C-1001"), dec("3"));
    assert_eq!(units(&v, "ws-file", "C-1001"), dec("25"));
    assert_eq!(units(&v, "ws-file", "C-1002"), dec("8"));
    assert_eq!(units(&v, "srv-img", "C-1003"), dec("1"));
    assert_eq!(units(&v, "all", "C-1002"), dec("318"));
    let names: Vec<(String, String)> = services(&v).into_iter().map(|d| (d.key, d.name)).collect();
    assert!(
        names.contains(&("stor-gb".into(), "Cloud Storage (GB, pooled)".into())),
        "{names:?}"
    );
    let stor = v.items.iter().find(|i| i.id == "C-1001/stor-gb").unwrap();
    assert_eq!(stor.attrs["rows"], "2");
    assert_eq!(stor.attrs["sku"], "STOR-GB");
    assert!(stor.raw.as_deref().unwrap().contains("\"lines\":[4,5]"));
}

#[tokio::test]
async fn a_json_license_export_uses_the_profile_and_keeps_the_latest_time() {
    let keys = "[connections.v.columns]\n\
                sku = [\"licenseSku\"]\n\
                sku_name = \"licenseName\"\n\
                quantity = [\"seats\", \"assignedSeats\"]\n\
                last_seen = [\"lastSync\"]\n";
    let v = sync_file(keys, "licenses.json").await.unwrap();
    assert_eq!(v.accounts.len(), 2);
    assert_eq!(v.accounts[0].id, "t-01");
    assert_eq!(units(&v, "ent-e3", "t-01"), dec("42"));
    assert_eq!(units(&v, "ent-e5", "t-01"), dec("3"));
    assert_eq!(units(&v, "bus-std", "t-02"), dec("12.5"));
    let e3 = v.items.iter().find(|i| i.id == "t-01/ent-e3").unwrap();
    assert_eq!(e3.last_contact.unwrap().to_string(), "2024-07-01T01:00:00Z");
    let std = v.items.iter().find(|i| i.id == "t-02/bus-std").unwrap();
    assert_eq!(std.attrs["sku_name"], "Business Standard");
}

#[tokio::test]
async fn rows_without_account_or_id_are_set_aside_and_an_odd_date_is_unknown() {
    let v = sync_file("", "odd-rows.tsv")
        .await
        .expect("an odd row never refuses the file");
    let ids: Vec<&str> = v.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["A-1/pro", "B-1/pro"]);
    let a1 = &v.items[0];
    assert_eq!(a1.last_contact, None, "`yesterday-ish` is no date: unknown");
    assert_eq!(a1.attrs["odd_fields"], "last_seen");
    assert_eq!(units(&v, "pro", "Acme Corp"), dec("1"));
    assert!(!v.items[1].attrs.contains_key("odd_fields"));
    let aside = reconcile::model::set_aside_note(&v.set_aside).unwrap();
    assert!(aside.starts_with("2 records set aside"), "{aside}");
    for want in [
        "odd-rows.tsv:3:1: column `Site`: the account is empty",
        "odd-rows.tsv:4:2: column `Asset ID`: the item id is empty",
    ] {
        assert!(aside.contains(want), "missing `{want}` in {aside}");
    }
}

#[tokio::test]
async fn a_tab_separated_endpoint_list_has_an_item_per_asset() {
    let v = sync_file("", "endpoints.tsv").await.unwrap();
    assert_eq!(v.items.len(), 4);
    assert_eq!(units(&v, "pro", "Acme Corp"), dec("2"));
    assert_eq!(units(&v, "basic", "Acme Corp"), dec("1"));
    assert_eq!(units(&v, "pro", "Birchwood Dental"), dec("1"));
    let a1 = v.items.iter().find(|i| i.id == "A-1/pro").unwrap();
    assert_eq!(a1.name, "A-1");
    assert_eq!(a1.last_contact.unwrap().to_string(), "2024-06-30T08:00:00Z");
    assert!(
        v.items
            .iter()
            .find(|i| i.name == "A-3")
            .unwrap()
            .last_contact
            .is_none()
    );
}

#[tokio::test]
async fn bad_rows_fail_the_import_with_file_line_column_and_header() {
    let e = sync_file(
        "[connections.v.columns]\nquantity = [\"Billable Units\"]\n",
        "bad-rows.csv",
    )
    .await
    .unwrap_err();
    // The row without an account is set aside, not a bad row (see the odd rows test).
    assert!(
        e.starts_with("connection `v`: 3 bad rows (nothing was imported)"),
        "{e}"
    );
    assert!(!e.contains("the account is empty"), "{e}");
    for want in [
        "bad-rows.csv:3:3: column `Billable Units`: `-1` is negative",
        "bad-rows.csv:5:3: column `Billable Units`: `two` is not a number",
        "bad-rows.csv:7:2: column `Product Code`: the sku is empty",
        "Fix the file (or the settings and columns profile of [connections.v]), then sync again",
    ] {
        assert!(e.contains(want), "missing `{want}` in:\n{e}");
    }
}

#[tokio::test]
async fn check_reads_the_configured_path_and_reports_the_columns() {
    let path = fixture_path("backup-billing.csv");
    let c = connector(&format!(
        "path = {:?}\n[connections.v.columns]\nquantity = [\"Billable Units\"]\n",
        path.display().to_string()
    ));
    let msg = c.check().await.unwrap();
    assert!(msg.contains("8 rows for 3 accounts"), "{msg}");
    assert!(
        msg.contains("account = `Customer`, account_id = `Customer ID`, sku = `Product Code`, sku_name = `Product Name`, quantity = `Billable Units`"),
        "{msg}"
    );
    // Without the profile the quantity column is not found, and each row counts 1.
    let v = sync_file("", "backup-billing.csv").await.unwrap();
    assert_eq!(units(&v, "stor-gb", "C-1001"), dec("2"));
}

#[test]
fn config_errors_name_the_key() {
    let bad = |keys: &str| {
        Config::parse(&format!("[connections.v]\nkind = \"csv\"\n{keys}"))
            .map(|_| ())
            .unwrap_err()
    };
    let e = format!(
        "{:#}",
        bad("[connections.v.columns]\ncustomer = [\"Client\"]\n")
    );
    assert!(e.contains("customer"), "{e}");
    let e = format!("{:#}", bad("delimiter = \";;\"\n"));
    assert!(e.contains("[connections.v] delimiter"), "{e}");
    let e = format!(
        "{:#}",
        bad("[connections.v.secret_command]\napi_key = \"x\"\n")
    );
    assert!(e.contains("unknown key `api_key`"), "{e}");
}
