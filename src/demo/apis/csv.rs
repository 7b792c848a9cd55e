//! The CSV import's part of `reconcile demo`: a backup vendor's monthly billing export (the
//! kind of file an MSP downloads from a vendor portal that has no API worth connecting), one
//! row per protected device and billing code, for the demo's client names.
//!
//! An import reads a file, not an API, so the "sandbox" is a file: the export written into a
//! temporary directory that lives as long as the sandbox is up, and a connection whose `path`
//! points at it, with a column profile for the export's headers. There are no credentials to
//! enforce.
//!
//! The export: `Client,Device,Billing Code,Description,Quantity,Unit`. Each device has one
//! seat row (`BK-SRV` for a server, `BK-WS` for a workstation, quantity 1) and one
//! protected-storage row (`BK-STOR`, quantity in GB). The file starts with a UTF-8 BOM (as
//! Excel's "CSV UTF-8" does) and names with commas are quoted.

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::connectors::csv::{Aliases, Columns, Settings};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};
use crate::model::slug;

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

/// The billing codes and their descriptions.
pub const SERVER_SEAT: (&str, &str) = ("BK-SRV", "Server Backup seat");
pub const WORKSTATION_SEAT: (&str, &str) = ("BK-WS", "Workstation Backup seat");
pub const STORAGE: (&str, &str) = ("BK-STOR", "Protected storage (GB)");
/// The export's file name in the demo's temporary directory.
pub const FILE_NAME: &str = "backupvault-billing-export.csv";

/// A backup vendor with no API, imported from its billing export.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-backup-csv";
    const CONNECT_ORDER: u8 = 7;

    fn surface(sample: Arc<Sample>) -> Surface {
        Surface::File {
            name: FILE_NAME,
            contents: csv_text(&sample),
        }
    }

    /// A connection reading the export: the client is found under a built-in alias, the
    /// billing code and its description need the profile.
    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let aliases = |a: &[&str]| Some(Aliases::Many(a.iter().map(|s| s.to_string()).collect()));
        let settings = Settings {
            path: Some(served.path().display().to_string()),
            columns: Columns {
                account: aliases(&["Client"]),
                sku: aliases(&["Billing Code"]),
                sku_name: aliases(&["Description"]),
                quantity: aliases(&["Quantity"]),
                ..Columns::default()
            },
            ..Settings::default()
        };
        let flags = format!(
            "--path {} --account-column Client --sku-column \"Billing Code\" --sku-name-column Description --quantity-column Quantity",
            served.path().display()
        );
        Connection::new(settings, flags).note("a backup vendor's billing export")
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // Seats and storage.
        billed: &[
            (
                "bk-ws",
                "BACKUP-WS",
                "Workstation Backup seat (BackupVault)",
                "8.00",
                "3.50",
            ),
            (
                "bk-srv",
                "BACKUP-SRV",
                "Server Backup seat (BackupVault)",
                "35.00",
                "14.00",
            ),
            (
                "bk-stor",
                "BACKUP-GB",
                "Protected storage per GB (BackupVault)",
                "0.12",
                "0.05",
            ),
        ],
        clients: 15..20,
        plant_order: 3,
        generate: sample,
        usage,
    };
}

/// One protected device of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub client: String,
    pub name: String,
    pub server: bool,
    /// Protected storage in GB, one decimal.
    pub storage_gb: Decimal,
}

/// The vendor's records: every protected device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    pub devices: Vec<Device>,
}

/// A few servers and workstations per company, deterministic from the company's position.
pub fn sample(companies: &[&str]) -> Sample {
    let mut devices = Vec::new();
    for (i, company) in companies.iter().enumerate() {
        let n = i as u64;
        let servers = 1 + n % 3;
        let workstations = 2 + (n * 5) % 7;
        let prefix = crate::demo::kit::host_code(company);
        for s in 0..servers {
            devices.push(Device {
                client: company.to_string(),
                name: format!("{prefix}-SRV{:02}", s + 1),
                server: true,
                // 150.0 to 487.5 GB in steps of 12.5.
                storage_gb: Decimal::new(1500 + (((n * 7 + s * 11) % 28) * 125) as i64, 1),
            });
        }
        for w in 0..workstations {
            devices.push(Device {
                client: company.to_string(),
                name: format!("{prefix}-WS{:02}", w + 1),
                server: false,
                // 20.0 to 78.5 GB.
                storage_gb: Decimal::new(200 + (((n * 13 + w * 17) % 40) * 15) as i64, 1),
            });
        }
    }
    Sample { devices }
}

/// The export as the vendor portal writes it.
pub fn csv_text(sample: &Sample) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "Client",
        "Device",
        "Billing Code",
        "Description",
        "Quantity",
        "Unit",
    ])
    .expect("writing to memory");
    for d in &sample.devices {
        let seat = if d.server {
            SERVER_SEAT
        } else {
            WORKSTATION_SEAT
        };
        w.write_record([&d.client, &d.name, seat.0, seat.1, "1", "seat"])
            .expect("writing to memory");
        w.write_record([
            &d.client,
            &d.name,
            STORAGE.0,
            STORAGE.1,
            &d.storage_gb.to_string(),
            "GB",
        ])
        .expect("writing to memory");
    }
    let body = String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8");
    format!("\u{feff}{body}")
}

/// Per (client name, service key): the units the import counts. Service keys are the billing
/// codes' slugs (`bk-srv`, `bk-ws`, `bk-stor`); `all` (every unit, seats and GB together) is
/// left out as nothing bills it.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: Vec<(String, String, Decimal)> = Vec::new();
    let mut add = |client: &str, code: &str, q: Decimal| {
        let key = slug(code);
        match out.iter_mut().find(|(c, k, _)| c == client && *k == key) {
            Some(e) => e.2 += q,
            None => out.push((client.to_string(), key, q)),
        }
    };
    for d in &sample.devices {
        let seat = if d.server {
            SERVER_SEAT
        } else {
            WORKSTATION_SEAT
        };
        add(&d.client, seat.0, Decimal::ONE);
        add(&d.client, STORAGE.0, d.storage_gb);
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{Connector, ConnectorKind, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::{ServiceDef, Snapshot};

    const COMPANIES: &[&str] = &["Acme Corp", "Birch & Sons, LLC", "Cobalt Dental"];

    #[test]
    fn the_sample_is_deterministic_with_a_few_units_per_service() {
        assert_eq!(sample(COMPANIES), sample(COMPANIES));
        let u = usage(&sample(COMPANIES));
        assert_eq!(u.len(), COMPANIES.len() * 3);
        for c in COMPANIES {
            for key in ["bk-srv", "bk-ws", "bk-stor"] {
                let q = u
                    .iter()
                    .find(|(a, k, _)| a == c && k == key)
                    .map(|e| e.2)
                    .unwrap_or_else(|| panic!("{c} has no {key}"));
                assert!(q > Decimal::ZERO, "{c} {key}");
            }
        }
        let text = csv_text(&sample(COMPANIES));
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("\"Birch & Sons, LLC\""), "{text}");
    }

    #[tokio::test]
    async fn the_connector_reads_the_export_as_usage_says() {
        let sample = Arc::new(sample(COMPANIES));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let no_secret = |_: &str| -> anyhow::Result<secrecy::SecretString> {
            unreachable!("an import has no secrets")
        };
        let c = crate::connectors::csv::Csv::new(
            Api::CONNECTION,
            &Api::connection(&server, &sample).settings,
            &no_secret,
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(c.check().await.unwrap().contains("3 accounts"));
        let Snapshot::Vendor(snap) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        let kind = ConnectorKind::Csv;
        let defs: Vec<ServiceDef> = kind
            .services()
            .into_iter()
            .chain(kind.families()[0].expand(&snap.items))
            .collect();
        let mut got = Vec::new();
        for a in &snap.accounts {
            for d in defs.iter().filter(|d| d.key != crate::connectors::csv::ALL) {
                let q: Decimal = snap
                    .items
                    .iter()
                    .filter(|i| i.account_id == a.id)
                    .map(|i| d.weight(i))
                    .sum();
                if q > Decimal::ZERO {
                    got.push((a.name.clone(), d.key.clone(), q));
                }
            }
        }
        got.sort();
        assert_eq!(got, usage(&sample));
        let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        assert!(names.contains(&"Protected storage (GB)"), "{names:?}");
        let dir = server.dir().to_path_buf();
        drop(server);
        assert!(!dir.exists());
    }
}
