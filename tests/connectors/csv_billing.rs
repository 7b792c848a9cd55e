//! CSV billing import: the connector built from a parsed config, reading the PSA billing exports
//! in `fixtures/csv_billing/` (an Excel "CSV UTF-8" recurring-invoice export with BOM, CRLF, a
//! blank line, quoted names, dates and company status and type; a JSON export wrapped in
//! `data`; a tab-separated export without prices; a file of bad rows). There is no API, so no
//! paging, auth or retries: the contract is the file's shape, the profile, the lines, the
//! billable-company rules and the located errors.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use reconcile::config::Config;
use reconcile::connectors::csv_billing::META_PRICES;
use reconcile::connectors::{self, ConnectorKind, SyncCx};
use reconcile::model::{PsaSnapshot, Snapshot};
use rust_decimal::Decimal;

use crate::common::{dec, fast_retry, recording_cx};

fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/csv_billing")
        .join(rel)
}

/// A `kind = "csv-billing"` connection named `psa` from config text (the keys after `kind`).
fn connector(keys: &str) -> Box<dyn connectors::Connector> {
    let config = Config::parse(&format!(
        "[connections.psa]\nkind = \"csv-billing\"\n{keys}"
    ))
    .unwrap_or_else(|e| panic!("{e:#}"));
    let settings = config.connection("psa").unwrap();
    assert_eq!(settings.kind(), ConnectorKind::CsvBilling);
    assert!(ConnectorKind::CsvBilling.secret_fields().is_empty());
    settings
        .connect(
            "psa",
            &|f| panic!("an import asked for a secret `{f}`"),
            fast_retry(1),
        )
        .unwrap()
}

async fn sync_file(keys: &str, rel: &str) -> Result<PsaSnapshot, String> {
    let cx = SyncCx {
        file: Some(fixture_path(rel)),
        ..SyncCx::silent()
    };
    match connector(keys).sync(&cx).await {
        Ok(Snapshot::Psa(p)) => Ok(p),
        Ok(_) => panic!("a billing import made a vendor snapshot"),
        Err(e) => Err(e.to_string()),
    }
}

/// The quantity in force now for (company name, product).
fn billed(p: &PsaSnapshot, company: &str, product: &str) -> Decimal {
    let now = Timestamp::now();
    let Some(c) = p.companies.iter().find(|c| c.name == company) else {
        return Decimal::ZERO;
    };
    p.lines
        .iter()
        .filter(|l| l.company_id == c.id && l.product_identifier == product && l.is_active_at(now))
        .map(|l| l.quantity)
        .sum()
}

const RULES: &str = "billable_statuses = [\"Active\"]\nbillable_company_types = [\"Client\"]\n";

#[tokio::test]
async fn an_excel_recurring_invoice_export_becomes_companies_agreements_and_lines() {
    let p = sync_file(RULES, "recurring-invoices.csv").await.unwrap();
    assert_eq!(p.lines.len(), 9, "every non-blank row is a line");
    assert_eq!(p.companies.len(), 5);
    let acme = p
        .companies
        .iter()
        .find(|c| c.name == "Acme Dental Group, PC")
        .unwrap();
    assert_eq!(acme.id, "C1001");
    assert_eq!(acme.status, "Active");
    assert_eq!(acme.types, ["Client"]);
    // Two lines of one product are both counted.
    assert_eq!(
        billed(&p, "Acme Dental Group, PC", "NINJA-WS"),
        Decimal::from(46)
    );
    assert_eq!(
        billed(&p, "Acme Dental Group, PC", "NINJA-SRV"),
        Decimal::from(3)
    );
    // The line that ended on 2025-06-30 is kept with its dates but no longer in force.
    assert_eq!(billed(&p, "Birch Logistics", "NINJA-WS"), Decimal::from(25));
    let ended = p
        .lines
        .iter()
        .find(|l| l.quantity == Decimal::from(30))
        .unwrap();
    assert_eq!(
        ended.cancelled,
        Some("2025-07-01T00:00:00Z".parse().unwrap()),
        "the end date is the last day billed"
    );
    assert_eq!(
        ended.effective,
        Some("2023-05-01T00:00:00Z".parse().unwrap())
    );
    // Every line keeps agreement, product, quantity, price, cost and dates.
    let srv = p
        .lines
        .iter()
        .find(|l| l.product_identifier == "NINJA-SRV")
        .unwrap();
    assert_eq!(srv.unit_price, dec("1250"));
    assert_eq!(srv.unit_cost, dec("300"));
    assert_eq!(srv.description.as_deref(), Some("Managed server"));
    assert_eq!(srv.agreement_id, "C1001/Managed Services");
    // Agreements per company and contract, with their billing cycles.
    let backup = p
        .agreements
        .iter()
        .find(|a| a.name == "Backup Plan")
        .unwrap();
    assert_eq!(backup.company_id, "C1002");
    assert_eq!(backup.billing_cycle.as_deref(), Some("Quarterly"));
    assert_eq!(p.agreements.len(), 6);
    // Products: one per identifier, priced when every line agrees.
    assert_eq!(p.products.len(), 3);
    let ws = p
        .products
        .iter()
        .find(|x| x.identifier == "NINJA-WS")
        .unwrap();
    assert_eq!(ws.price, None, "12.00 and 11.50");
    assert_eq!(ws.cost, Some(dec("4")));
    let bk = p
        .products
        .iter()
        .find(|x| x.identifier == "BK-SRV")
        .unwrap();
    assert_eq!(bk.price, Some(dec("45")));
    assert!(p.meta.is_empty());
}

#[tokio::test]
async fn billable_company_rules_are_configurable() {
    let p = sync_file(RULES, "recurring-invoices.csv").await.unwrap();
    let reason = |name: &str| {
        p.companies
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .not_billable_reason
            .clone()
    };
    assert_eq!(reason("Acme Dental Group, PC"), None);
    assert_eq!(
        reason("Cobalt Realty").as_deref(),
        Some("status `Inactive` is not in billable_statuses")
    );
    assert_eq!(
        reason("Dune Supplies").as_deref(),
        Some("type Vendor is not in billable_company_types")
    );
    assert_eq!(
        reason("Elm Street Cafe"),
        None,
        "one of its types is Client"
    );
    assert_eq!(p.companies.iter().filter(|c| c.billable).count(), 3);
    // Without rules every company bills; with other rules other companies.
    let p = sync_file("", "recurring-invoices.csv").await.unwrap();
    assert!(p.companies.iter().all(|c| c.billable));
    let p = sync_file(
        "billable_company_types = [\"partner\", \"vendor\"]\n",
        "recurring-invoices.csv",
    )
    .await
    .unwrap();
    let billable: Vec<&str> = p
        .companies
        .iter()
        .filter(|c| c.billable)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(billable, ["Dune Supplies", "Elm Street Cafe"]);
}

#[tokio::test]
async fn a_json_export_with_a_billable_flag() {
    let p = sync_file(
        "[connections.psa.columns]\nbillable = \"active\"\n",
        "billing.json",
    )
    .await
    .unwrap();
    assert_eq!(p.lines.len(), 3);
    assert_eq!(p.companies.len(), 2);
    assert_eq!(p.companies[0].id, "17");
    assert_eq!(p.companies[0].name, "Acme Dental Group, PC");
    assert_eq!(
        billed(&p, "Acme Dental Group, PC", "M365-BP"),
        Decimal::from(28)
    );
    let internal = &p.companies[1];
    assert!(!internal.billable);
    assert_eq!(
        internal.not_billable_reason.as_deref(),
        Some("column `active` says `false`")
    );
    assert_eq!(p.agreements[0].name, "Microsoft 365");
    assert_eq!(p.products[0].price, None, "22 and 0");
}

#[tokio::test]
async fn without_a_price_column_the_snapshot_says_there_is_no_money() {
    let (cx, progress) = recording_cx();
    let cx = SyncCx {
        file: Some(fixture_path("no-prices.tsv")),
        ..cx
    };
    let Snapshot::Psa(p) = connector("").sync(&cx).await.unwrap() else {
        panic!("a PSA snapshot")
    };
    assert_eq!(p.lines.len(), 2);
    assert!(p.lines.iter().all(|l| l.unit_price.is_zero()));
    assert!(p.meta[META_PRICES].contains("money is 0"), "{:?}", p.meta);
    assert_eq!(billed(&p, "Birch Logistics", "S1-CORE"), Decimal::from(31));
    assert!(
        progress
            .lock()
            .unwrap()
            .iter()
            .any(|(s, n)| s == "lines" && *n == 2)
    );
}

#[tokio::test]
async fn rows_without_a_company_id_are_set_aside_and_a_missing_name_is_unknown() {
    let p = sync_file("", "odd-rows.csv")
        .await
        .expect("an odd row never refuses the file");
    let companies: Vec<(&str, &str)> = p
        .companies
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        companies,
        [("C2001", "C2001"), ("C2002", "Birch Logistics")],
        "a company without a name is known by its id"
    );
    assert_eq!(p.lines.len(), 2);
    assert_eq!(billed(&p, "C2001", "NINJA-WS"), dec("3"));
    assert_eq!(billed(&p, "Birch Logistics", "NINJA-WS"), dec("4"));
    let file = fixture_path("odd-rows.csv").display().to_string();
    assert_eq!(
        reconcile::model::set_aside_note(&p.set_aside).unwrap(),
        format!(
            "1 record set aside, not attributable to an account: {file}:3:2: column `Customer Number`: the company id is empty"
        )
    );
}

#[tokio::test]
async fn bad_rows_fail_the_whole_import_with_file_line_and_column() {
    let e = sync_file("", "bad-rows.csv").await.unwrap_err();
    let file = fixture_path("bad-rows.csv").display().to_string();
    // The row without a company is set aside, not a bad row (see the odd rows test).
    assert!(e.contains("5 bad rows (nothing was imported)"), "{e}");
    assert!(!e.contains("the company is empty"), "{e}");
    for want in [
        format!("{file}:4:2: column `Product`: the product is empty"),
        format!("{file}:5:3: column `Quantity`: `ten` is not a number"),
        format!(
            "{file}:6:4: column `Unit Price`: `12,50` is not an amount (write decimals with a point"
        ),
        format!("{file}:7:5: column `Start Date`: `next month` is not a date"),
        format!(
            "{file}:8:6: column `End Date`: the end date `2024-12-31` is before the start date"
        ),
    ] {
        assert!(e.contains(&want), "missing {want:?} in\n{e}");
    }
    assert!(
        e.contains("settings and columns profile of [connections.psa]"),
        "{e}"
    );
    // A profile naming a header the file lacks fails before any row, naming the flag.
    let e = sync_file(
        "[connections.psa.columns]\nagreement = \"Contract No\"\n",
        "recurring-invoices.csv",
    )
    .await
    .unwrap_err();
    assert!(e.contains("no column for agreement"), "{e}");
    assert!(e.contains("--agreement-column"), "{e}");
    let e = sync_file("", "missing.csv").await.unwrap_err();
    assert!(
        e.contains("cannot read") && e.contains("missing.csv"),
        "{e}"
    );
}

#[tokio::test]
async fn check_reads_the_configured_path() {
    let path = fixture_path("recurring-invoices.csv");
    let c = connector(&format!("path = {:?}\n{RULES}", path.display().to_string()));
    let text = c.check().await.unwrap();
    assert!(
        text.contains("9 lines for 5 companies (3 billable) and 3 products"),
        "{text}"
    );
    assert!(text.contains("company_id = `Customer Number`"), "{text}");
}
