//! The CSV billing import's part of `reconcile demo --psa csv-billing`: the sample MSP's
//! ConnectWise billing (the same companies, agreements, lines and catalog identifiers) as the
//! billing export a PSA without a connector would give, one row per recurring line.
//!
//! An import reads a file, not an API, so the "sandbox" is a file: the export written into a
//! temporary directory that lives as long as the sandbox is up (removed on drop), and a
//! connection whose `path` points at it, with the column profile and billable-company rules the
//! ConnectWise demo connection applies. There are no credentials to enforce and no requests to
//! count.
//!
//! What the file holds is what the ConnectWise API hands the connector: deleted companies and
//! cancelled or inactive agreements are left out, every addition of an active agreement is a
//! row (a cancelled one with its end date, so only the lines in force count), each with its
//! company's status and types so the billable rules can skip inactive and non-client
//! companies.

use std::sync::Arc;

use jiff::Timestamp;

use crate::connectors::csv::Aliases;
use crate::connectors::csv_billing::{Columns, Settings};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::{DEMO_BILLABLE_TYPE, SampleMsp};

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The export's file name in the demo's temporary directory.
pub const FILE_NAME: &str = "psa-billing-export.csv";

/// The billing export of a PSA without a connector.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-csv-billing";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        Surface::File {
            name: FILE_NAME,
            contents: csv_text(&sample),
        }
    }

    /// A connection reading the export with the ConnectWise demo connection's rules: only
    /// `Client` companies of an active status are billable. ConnectWise never counts a company
    /// whose status is flagged inactive; a file has no flag, so the connection lists the
    /// statuses that bill.
    fn connection(served: &Served, sample: &SampleMsp) -> Connection<Settings> {
        let one = |a: &str| Some(Aliases::One(a.to_string()));
        let settings = Settings {
            path: Some(served.path().display().to_string()),
            columns: Box::new(Columns {
                company_id: one("Client ID"),
                product: one("Product ID"),
                less_included: one("Included"),
                unit_price: one("Rate"),
                unit_cost: one("Our Cost"),
                status: one("Client Status"),
                company_type: one("Client Type"),
                ..Columns::default()
            }),
            billable_statuses: sample
                .connectwise
                .company_statuses
                .iter()
                .filter(|s| !s.inactive_flag)
                .map(|s| s.name.clone())
                .collect(),
            billable_company_types: vec![DEMO_BILLABLE_TYPE.to_string()],
            ..Settings::default()
        };
        Connection::new(settings, format!("--path {}", served.path().display()))
            .note("the PSA's billing export")
    }
}

/// The export's header; `Rate`, `Our Cost`, `Client Status` and `Client Type` need the profile,
/// the rest are built-in aliases.
pub const HEADER: [&str; 14] = [
    "Client ID",
    "Client",
    "Client Status",
    "Client Type",
    "Agreement",
    "Billing Cycle",
    "Product ID",
    "Description",
    "Quantity",
    "Included",
    "Rate",
    "Our Cost",
    "Start Date",
    "End Date",
];

fn date(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()
}

/// The export, from the sample's ConnectWise data.
pub fn csv_text(sample: &SampleMsp) -> String {
    let cw = &sample.connectwise;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).expect("writing to memory");
    for a in cw
        .agreements
        .iter()
        .filter(|a| a.status.eq_ignore_ascii_case("active") && !a.cancelled)
    {
        let Some(company) = cw
            .companies
            .iter()
            .find(|c| c.id == a.company_id && !c.deleted)
        else {
            continue;
        };
        let status = cw
            .company_statuses
            .iter()
            .find(|s| s.id == company.status_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let types = company
            .type_ids
            .iter()
            .filter_map(|t| cw.company_types.iter().find(|ct| ct.id == *t))
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let cycle = cw
            .billing_cycles
            .iter()
            .find(|(id, _)| *id == a.billing_cycle_id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        for add in cw.additions.iter().filter(|x| x.agreement_id == a.id) {
            let Some(product) = cw.catalog.iter().find(|p| p.id == add.product_id) else {
                continue;
            };
            // A line ends when it is cancelled, else when its agreement ends.
            let end = add.cancelled.or(a.end).map(date).unwrap_or_default();
            w.write_record([
                company.identifier.as_str(),
                &company.name,
                &status,
                &types,
                &a.name,
                &cycle,
                &product.identifier,
                &add.description,
                &add.quantity.to_string(),
                &add.less_included.to_string(),
                &add.unit_price.to_string(),
                &add.unit_cost.to_string(),
                &date(add.effective),
                &end,
            ])
            .expect("writing to memory");
        }
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8")
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_bills_what_the_sample_expects() {
        let sample = Arc::new(crate::demo::sample::sample());
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let no_secret = |_: &str| -> anyhow::Result<secrecy::SecretString> {
            unreachable!("an import has no secrets")
        };
        let c = crate::connectors::csv_billing::CsvBilling::new(
            Api::CONNECTION,
            &Api::connection(&server, &sample).settings,
            &no_secret,
            RetryPolicy::default(),
        )
        .unwrap();
        let check = c.check().await.unwrap();
        assert!(check.contains("billable"), "{check}");
        let Snapshot::Psa(snap) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a PSA snapshot")
        };
        let now = Timestamp::now();
        let billed = |company: &str, product: &str| -> Decimal {
            let Some(co) = snap.companies.iter().find(|c| c.name == company) else {
                return Decimal::ZERO;
            };
            snap.lines
                .iter()
                .filter(|l| {
                    l.company_id == co.id && l.product_identifier == product && l.is_active_at(now)
                })
                .map(|l| l.quantity)
                .sum()
        };
        let mut checked = 0;
        for e in sample
            .planted
            .expected
            .iter()
            .chain(sample.vendors.iter().flat_map(|v| v.expected.iter()))
        {
            assert_eq!(
                billed(&e.company, &e.product),
                e.billed,
                "{} {}",
                e.company,
                e.product
            );
            checked += 1;
        }
        assert!(checked > 20, "{checked}");

        // The billable rules hold as in ConnectWise.
        let p = &sample.planted;
        let co = |n: &str| snap.companies.iter().find(|c| c.name == n);
        assert!(!co(&p.inactive_company).unwrap().billable);
        assert!(
            co(&p.non_client_company).is_none_or(|c| !c.billable),
            "{:?}",
            co(&p.non_client_company)
        );
        assert!(co(&p.deleted_company).is_none());
        // The cancelled addition is a line, but not in force.
        let cancelled: Vec<_> = snap
            .lines
            .iter()
            .filter(|l| l.cancelled.is_some_and(|c| c <= now))
            .collect();
        assert!(!cancelled.is_empty());
        // Prices and costs come through; the catalog has a price per product.
        assert!(snap.lines.iter().all(|l| l.unit_price > Decimal::ZERO));
        assert!(snap.lines.iter().any(|l| l.less_included > Decimal::ZERO));
        assert!(snap.meta.is_empty(), "{:?}", snap.meta);
        assert!(
            snap.agreements
                .iter()
                .all(|a| a.billing_cycle.as_deref().is_some_and(|c| !c.is_empty()))
        );

        let dir = server.dir().to_path_buf();
        drop(server);
        assert!(!dir.exists());
    }
}
