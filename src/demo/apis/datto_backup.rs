//! The Datto backup sandbox for `reconcile demo`: the Partner Portal REST API's SaaS Protection
//! and BCDR reads the connector calls (`GET /v1/saas/domains`, `GET
//! /v1/saas/{id}/seats`, `GET /v1/bcdr/device` paged by `_page`/`_perPage`, `GET
//! /v1/bcdr/device/{serial}/asset/agent`), behind HTTP Basic with the demo key pair. The seat
//! change endpoint the real API has is refused (405) and counted in [`WRITES_REFUSED`].
//!
//! [`sample`] gives each client a SaaS Protection customer (Microsoft 365, or Google for every
//! fourth) with user seats and a shared mailbox (one user seat not billable), and every other
//! client a BCDR appliance with servers, workstations, an agentless virtual machine and an
//! archived machine that must not count; [`usage`] says what the connector will count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::datto_backup::Settings;
use crate::demo::kit::auth::{basic, guard};
use crate::demo::kit::http::{Query, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

pub const DEMO_PUBLIC_KEY: &str = "demo-datto-public";
pub const DEMO_SECRET_KEY: &str = "demo-datto-secret-7fQ1";

/// Write requests the sandbox refused since the process started.
pub static WRITES_REFUSED: AtomicUsize = AtomicUsize::new(0);

pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-datto-backup";
    const CONNECT_ORDER: u8 = 14;

    fn surface(sample: Arc<Sample>) -> Surface {
        let api = Router::new()
            .route("/v1/saas/domains", get(domains))
            .route(
                "/v1/saas/{id}/seats",
                get(seats).put(refuse_write).post(refuse_write),
            )
            .route(
                "/v1/saas/{id}/{app}/bulkSeatChange",
                axum::routing::put(refuse_write),
            )
            .route("/v1/bcdr/device", get(devices))
            .route("/v1/bcdr/device/{serial}/asset/agent", get(agents));
        let app = guard(api, sample.clone(), authorize)
            .fallback(|| async { problem(StatusCode::NOT_FOUND, "Not Found") })
            .with_state(sample);
        Surface::router(app)
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let url = served.url().to_string();
        let flags = format!("--public-key {DEMO_PUBLIC_KEY} --url {url}");
        let settings = Settings {
            public_key: DEMO_PUBLIC_KEY.into(),
            url: Some(url),
        };
        Connection::new(settings, flags).secret("secret_key", DEMO_SECRET_KEY)
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        billed: &[
            (
                "m365-seats",
                "DATTO-SAAS-M365",
                "Datto SaaS Protection, Microsoft 365 (per seat)",
                "4.00",
                "2.50",
            ),
            (
                "bcdr-servers",
                "DATTO-BCDR-SRV",
                "Datto BCDR server protection",
                "60.00",
                "35.00",
            ),
            (
                "bcdr-workstations",
                "DATTO-BCDR-WS",
                "Datto BCDR workstation protection",
                "15.00",
                "8.00",
            ),
        ],
        clients: 5..9,
        plant_order: 12,
        generate: sample,
        usage,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleCustomer {
    pub id: i64,
    pub name: String,
    pub product: String,
    /// (main id, name, seat type, billable)
    pub seats: Vec<(String, String, String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleDevice {
    pub serial: String,
    pub client: String,
    pub offsite_gb: Decimal,
    /// (volume, name, os, type, archived)
    pub agents: Vec<(String, String, String, String, bool)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub customers: Vec<SampleCustomer>,
    pub devices: Vec<SampleDevice>,
}

/// Every client a SaaS customer; every other client an appliance too.
pub fn sample(names: &[&str]) -> Sample {
    let mut customers = Vec::new();
    let mut devices = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let users = 4 + (i * 3) % 9;
        let mut seats: Vec<(String, String, String, bool)> = (0..users)
            .map(|u| {
                (
                    format!("{:08x}-{u:04x}", 0x5ea7_0000 + i),
                    format!("user{u}@client{i}.example"),
                    "User".to_string(),
                    // The last user is a leaver Datto no longer bills.
                    u + 1 < users,
                )
            })
            .collect();
        seats.push((
            format!("{:08x}-mbx", 0x5ea7_0000 + i),
            "info@".to_string() + &format!("client{i}.example"),
            "SharedMailbox".into(),
            true,
        ));
        customers.push(SampleCustomer {
            id: 31_000 + i as i64,
            name: name.to_string(),
            product: if i % 4 == 3 {
                "GoogleApps"
            } else {
                "Office365"
            }
            .into(),
            seats,
        });
        if i % 2 == 0 {
            let mut agents = Vec::new();
            let servers = 1 + i % 3;
            for s in 0..servers {
                agents.push((
                    format!("{:032x}", 0xa000 + i * 16 + s),
                    format!("SRV-{i}-{s}"),
                    "Windows Server 2022 Standard".into(),
                    "agent".into(),
                    false,
                ));
            }
            for w in 0..(2 + i % 4) {
                agents.push((
                    format!("{:032x}", 0xb000 + i * 16 + w),
                    format!("WS-{i}-{w}"),
                    "Windows 11 Pro".into(),
                    "agent".into(),
                    false,
                ));
            }
            agents.push((
                format!("{:032x}", 0xc000 + i),
                format!("VM-{i}"),
                "Windows Server 2019".into(),
                "agentless".into(),
                false,
            ));
            agents.push((
                format!("{:032x}", 0xd000 + i),
                format!("OLD-{i}"),
                "Windows 10 Pro".into(),
                "agent".into(),
                true,
            ));
            devices.push(SampleDevice {
                serial: format!("DEMO{:08X}", 0x00C0_FFEE + i),
                client: name.to_string(),
                offsite_gb: Decimal::new(1250 + 375 * i as i64, 1),
                agents,
            });
        }
    }
    Sample { customers, devices }
}

/// Per (account name, service key): what the connector counts.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut add = |a: &str, k: &str, n: Decimal| {
        *out.entry((a.to_string(), k.to_string())).or_default() += n;
    };
    for c in &sample.customers {
        for (_, _, t, billable) in &c.seats {
            if !billable {
                continue;
            }
            add(&c.name, "saas-seats", Decimal::ONE);
            let product = if c.product == "Office365" {
                "m365-seats"
            } else {
                "google-seats"
            };
            add(&c.name, product, Decimal::ONE);
            if t == "User" {
                add(&c.name, "saas-user-seats", Decimal::ONE);
            }
        }
    }
    for d in &sample.devices {
        add(&d.client, "bcdr-appliances", Decimal::ONE);
        add(&d.client, "bcdr-offsite-gb", d.offsite_gb);
        add(&d.client, "cloud-retention-1-year:plan", Decimal::ONE);
        for (_, _, os, kind, archived) in &d.agents {
            if *archived {
                continue;
            }
            let k = if kind == "agentless" {
                "bcdr-virtual"
            } else if os.contains("Server") {
                "bcdr-servers"
            } else {
                "bcdr-workstations"
            };
            add(&d.client, k, Decimal::ONE);
            add(&d.client, "bcdr-agents", Decimal::ONE);
        }
    }
    out.into_iter()
        .filter(|(_, n)| *n > Decimal::ZERO)
        .map(|((a, k), n)| (a, k, n))
        .collect()
}

fn problem(status: StatusCode, message: &str) -> Response {
    reply(
        status,
        json!({ "code": status.as_u16(), "message": message }),
    )
}

fn authorize(_: &Arc<Sample>, headers: &HeaderMap) -> Result<(), Response> {
    match basic(headers) {
        Some((user, pass)) if user == DEMO_PUBLIC_KEY && pass == DEMO_SECRET_KEY => Ok(()),
        _ => Err(problem(
            StatusCode::UNAUTHORIZED,
            "Full authentication is required to access this resource",
        )),
    }
}

async fn domains(State(s): State<Arc<Sample>>) -> Response {
    let all: Vec<Value> = s
        .customers
        .iter()
        .map(|c| {
            json!({
                "saasCustomerId": c.id, "saasCustomerName": c.name,
                "domain": format!("{}.example", c.name.to_lowercase().replace(|ch: char| !ch.is_ascii_alphanumeric(), "")),
                "productType": c.product,
                "seatsUsed": c.seats.iter().filter(|s| s.3).count(),
                "retentionType": "ICR",
                "externalSubscriptionId": format!("Classic:{}:{}", c.product, c.id),
                "organizationId": 900 + c.id,
                "backupStats": {"activeServiceCount": c.seats.len()},
            })
        })
        .collect();
    reply(StatusCode::OK, Value::Array(all))
}

async fn seats(State(s): State<Arc<Sample>>, Path(id): Path<String>) -> Response {
    let Some(c) = s.customers.iter().find(|c| c.id.to_string() == id) else {
        return problem(StatusCode::NOT_FOUND, "Customer not found");
    };
    let all: Vec<Value> = c
        .seats
        .iter()
        .map(|(main, name, t, billable)| {
            json!({
                "mainId": main, "name": name, "seatType": t,
                "seatState": if *billable { "Active" } else { "Unprotected" },
                "billable": if *billable { "1" } else { "0" },
                "dateAdded": "2025-03-01T12:00:00Z", "remoteId": main,
            })
        })
        .collect();
    reply(StatusCode::OK, Value::Array(all))
}

async fn devices(State(s): State<Arc<Sample>>, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref());
    let page: usize = q
        .get("_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let per: usize = q
        .get("_perPage")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let total = s.devices.len();
    let items: Vec<Value> = s
        .devices
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .map(|d| {
            json!({
                "serialNumber": d.serial, "name": format!("{}-S3P", d.client.split_whitespace().next().unwrap_or("dev")),
                "model": "S3P2000", "clientCompanyName": d.client, "hidden": false,
                "servicePlan": "Cloud Retention 1 Year", "servicePeriod": "2027-06-30",
                "registrationDate": "2024-06-30T00:00:00Z", "lastSeenDate": "2026-12-04T22:10:00+00:00",
                "offsiteStorageUsed": {"size": d.offsite_gb.to_string().parse::<serde_json::Number>().ok(), "units": "GB"},
                "localStorageUsed": {"size": 2.1, "units": "TB"},
                "agentCount": d.agents.len(), "shareCount": 0, "alertCount": 0,
            })
        })
        .collect();
    reply(
        StatusCode::OK,
        json!({
            "pagination": {"page": page, "perPage": per, "totalPages": total.div_ceil(per).max(1), "count": total},
            "items": items,
        }),
    )
}

async fn agents(State(s): State<Arc<Sample>>, Path(serial): Path<String>) -> Response {
    let Some(d) = s.devices.iter().find(|d| d.serial == serial) else {
        return problem(StatusCode::NOT_FOUND, "Device not found");
    };
    let all: Vec<Value> = d
        .agents
        .iter()
        .map(|(volume, name, os, kind, archived)| {
            json!({
                "name": name, "volume": volume, "localIp": "10.0.0.10", "os": os,
                "protectedVolumesCount": 2, "unprotectedVolumesCount": 0,
                "agentVersion": "3.2.1", "isPaused": false, "isArchived": archived,
                "latestOffsite": 1764900000, "lastSnapshot": 1764925200,
                "fqdn": format!("{}.corp.example", name.to_lowercase()), "type": kind, "backups": [],
            })
        })
        .collect();
    reply(StatusCode::OK, Value::Array(all))
}

async fn refuse_write() -> Response {
    WRITES_REFUSED.fetch_add(1, Ordering::SeqCst);
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "the demo sandbox changes no seats: reconcile must only read Datto",
    )
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::datto_backup::DattoBackup;
    use crate::connectors::datto_backup::{families, services};
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::testing::{counted_by_account, retry};
    use crate::demo::kit::{Api as _, serve};
    use crate::model::Snapshot;

    const NAMES: &[&str] = &[
        "Acme Dental Group",
        "Northwind Traders",
        "Contoso Legal",
        "Fabrikam",
    ];

    #[tokio::test]
    async fn the_connector_counts_what_usage_says_and_writes_nothing() {
        let s = Arc::new(sample(NAMES));
        let server = serve::<Api>(s.clone()).await.unwrap();
        let secret = |f: &str| match f {
            "secret_key" => Ok(SecretString::from(DEMO_SECRET_KEY)),
            other => anyhow::bail!("unexpected {other}"),
        };
        let before = WRITES_REFUSED.load(Ordering::SeqCst);
        let c = DattoBackup::new(
            "db",
            &Api::connection(&server, &s).settings,
            &secret,
            retry(),
        )
        .unwrap();
        let check = c.check().await.unwrap();
        assert!(
            check.contains("4 SaaS Protection customer(s) and 2 BCDR appliance(s)"),
            "{check}"
        );
        let Snapshot::Vendor(v) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert!(v.unreadable.is_empty(), "{:?}", v.unreadable);
        let mut defs = services();
        for f in families() {
            defs.extend(f.expand(&v.items));
        }
        let want: BTreeMap<(String, String), Decimal> =
            usage(&s).into_iter().map(|(a, k, n)| ((a, k), n)).collect();
        assert_eq!(
            counted_by_account(&v, &defs.iter().collect::<Vec<_>>()),
            want
        );
        assert_eq!(WRITES_REFUSED.load(Ordering::SeqCst), before);
    }
}
