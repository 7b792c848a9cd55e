//! The Bitdefender GravityZone sandbox for `reconcile demo`: one Access URL (`{url}/api`)
//! answering JSON-RPC 2.0 at `/api/v1.0/jsonrpc/companies` (`getCompanyDetails`,
//! `findCompaniesByName`), `/network` (`getEndpointsList`, paged with `page`/`perPage` to
//! `pagesCount`) and `/licensing` (`getMonthlyUsagePerProductType`), with the API key as the
//! HTTP Basic user name and an empty password. A page holds at most [`MAX_PAGE`] endpoints.
//!
//! [`sample`] builds one customer company per given client with Windows workstations, macOS
//! laptops, Windows and Linux servers (some virtual machines) and one endpoint of a machine
//! type the connector does not know, and a monthly usage per company: its endpoints plus the
//! ones removed during the month (Bitdefender's figure is the month's high watermark), and EDR
//! on its servers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::gravityzone::{Settings, class_of};
use crate::demo::kit::auth::basic;
use crate::demo::kit::http::reply;
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

/// The API key the sandbox accepts.
pub const DEMO_API_KEY: &str = "7f3c9e1a5b2d4f6081a3c5e7d9b1f3a5c7e9d1b3";
/// The most endpoints a page of the sandbox holds.
pub const MAX_PAGE: usize = 10;
/// The partner company the key belongs to.
pub const PARTNER: (&str, &str) = ("5d1f0c2e8a7b6c5d4e3f2a10", "BlueWave MSP");

/// The GravityZone sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-gravityzone";
    const CONNECT_ORDER: u8 = 10;

    fn surface(sample: Arc<Sample>) -> Surface {
        Surface::api(move |_url| {
            Router::new()
                .route("/api/v1.0/jsonrpc/{service}", post(rpc))
                .fallback(|| async {
                    reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
                })
                .with_state(sample)
        })
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let url = format!("{}/api", served.url().trim_end_matches('/'));
        let settings = Settings {
            url: url.clone(),
            usage_month: None,
            page_size: None,
        };
        Connection::new(settings, format!("--url {url}"))
            .secret("api_key", DEMO_API_KEY)
            .note("the API key on stdin")
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // Per endpoint on Bitdefender's monthly usage, and EDR per endpoint that has it.
        billed: &[
            (
                "endpoint:monthly-usage",
                "BD-EPS",
                "Endpoint Security (Bitdefender GravityZone)",
                "3.50",
                "1.45",
            ),
            (
                "edr:monthly-usage",
                "BD-EDR",
                "EDR add-on (Bitdefender GravityZone)",
                "2.00",
                "0.90",
            ),
        ],
        clients: 11..14,
        plant_order: 8,
        generate: sample,
        usage,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: String,
    pub name: String,
    /// Endpoints removed during the month: in the month's usage, not in the list.
    pub removed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub company_id: String,
    pub name: String,
    pub machine_type: i64,
    pub os: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub companies: Vec<Company>,
    pub endpoints: Vec<Endpoint>,
}

/// Per client: (Windows workstations, Mac laptops, Windows servers, Linux VMs). Cycled.
const MIX: &[(u32, u32, u32, u32)] = &[(9, 3, 2, 1), (6, 2, 1, 1), (14, 1, 3, 2)];

/// One company per client, endpoints per `MIX`; the first one also has an endpoint of the
/// unknown machine type 7 and two endpoints removed during the month.
pub fn sample(companies: &[&str]) -> Sample {
    let mut out = Sample::default();
    for (i, name) in companies.iter().enumerate() {
        let id = format!("6a{:022x}", 0x51_0000 + i);
        let code = crate::demo::kit::host_code(name);
        let (ws, mac, win, lin) = MIX[i % MIX.len()];
        let mut n = 0;
        let mut push = |prefix: &str, machine: i64, os: &str, count: u32| {
            for k in 0..count {
                n += 1;
                out.endpoints.push(Endpoint {
                    id: format!("7b{:06x}{:016x}", 0x20_0000 + i, n),
                    company_id: id.clone(),
                    name: format!("{code}-{prefix}-{:02}", k + 1),
                    machine_type: machine,
                    os: os.into(),
                });
            }
        };
        push("WS", 1, "Windows 11 Pro", ws);
        push("MAC", 1, "macOS Sonoma", mac);
        push("SRV", 2, "Windows Server 2022 Standard", win);
        push("LNX", 2, "Ubuntu 22.04.4 LTS", lin);
        if i == 0 {
            push("APPL", 7, "Embedded", 1);
        }
        out.companies.push(Company {
            id,
            name: name.to_string(),
            removed: if i == 0 { 2 } else { 0 },
        });
    }
    out
}

/// A company's monthly usage: (endpoint, EDR) figures. Every endpoint, and those removed during
/// the month; EDR on its servers.
pub fn figures(sample: &Sample, company: &Company) -> (u64, u64) {
    let mine = || {
        sample
            .endpoints
            .iter()
            .filter(|e| e.company_id == company.id)
    };
    let endpoints = mine().count() as u64 + company.removed;
    let servers = mine()
        .filter(|e| class_of(Some(e.machine_type), Some(&e.os)) == "SERVER")
        .count() as u64;
    (endpoints, servers)
}

/// What the connector counts per (company name, service key) for the billed services.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out = Vec::new();
    for c in &sample.companies {
        let (endpoints, edr) = figures(sample, c);
        out.push((
            c.name.clone(),
            "edr:monthly-usage".into(),
            Decimal::from(edr),
        ));
        out.push((
            c.name.clone(),
            "endpoint:monthly-usage".into(),
            Decimal::from(endpoints),
        ));
    }
    out
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Response {
    reply(
        StatusCode::OK,
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": {"details": message}}}),
    )
}

fn result(id: &Value, result: Value) -> Response {
    reply(
        StatusCode::OK,
        json!({"jsonrpc": "2.0", "id": id, "result": result}),
    )
}

async fn rpc(
    State(sample): State<Arc<Sample>>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if basic(&headers) != Some((DEMO_API_KEY.to_string(), String::new())) {
        return reply(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}));
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return reply(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}}),
        );
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let params = req.get("params").cloned().unwrap_or(json!({}));
    let company = |key: &str| {
        let want = params.get(key).and_then(Value::as_str).unwrap_or("");
        sample.companies.iter().find(|c| c.id == want)
    };
    match (service.as_str(), req.get("method").and_then(Value::as_str)) {
        ("companies", Some("getCompanyDetails")) => result(
            &id,
            json!({"id": PARTNER.0, "name": PARTNER.1, "type": 0, "isSuspended": false, "country": "US"}),
        ),
        ("companies", Some("findCompaniesByName")) => {
            let mut all =
                vec![json!({"id": PARTNER.0, "name": PARTNER.1, "type": 0, "isSuspended": false})];
            all.extend(sample.companies.iter().map(|c| {
                json!({"id": c.id, "name": c.name, "type": 1, "isSuspended": false,
                       "createdAt": "2024-03-01T09:00:00", "country": "US", "canBeManagedByAbove": true})
            }));
            result(&id, Value::Array(all))
        }
        ("network", Some("getEndpointsList")) => {
            let parent = params.get("parentId").and_then(Value::as_str).unwrap_or("");
            let page = params
                .get("page")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1) as usize;
            let per = params.get("perPage").and_then(Value::as_u64).unwrap_or(30);
            if !(1..=100).contains(&per) {
                return rpc_error(
                    &id,
                    -32602,
                    "Invalid params: perPage must be between 1 and 100",
                );
            }
            let per = (per as usize).min(MAX_PAGE);
            let all: Vec<&Endpoint> = sample
                .endpoints
                .iter()
                .filter(|e| parent == PARTNER.0 || e.company_id == parent)
                .collect();
            let items: Vec<Value> = all
                .iter()
                .skip((page - 1) * per)
                .take(per)
                .map(|e| {
                    json!({"id": e.id, "name": e.name, "label": "", "fqdn": format!("{}.corp.example", e.name.to_ascii_lowercase()),
                           "groupId": "5e0a0f0e0d0c0b0a09080706", "isManaged": true, "machineType": e.machine_type,
                           "operatingSystemVersion": e.os, "ip": "10.0.4.17", "macs": ["00:1a:2b:3c:4d:5e"],
                           "ssid": "", "managedWithBest": true, "companyId": e.company_id, "policy": {"id": "p1", "name": "Default", "applied": true}})
                })
                .collect();
            result(
                &id,
                json!({"page": page, "pagesCount": all.len().div_ceil(per).max(1), "perPage": per, "total": all.len(), "items": items}),
            )
        }
        ("licensing", Some("getMonthlyUsagePerProductType")) => {
            if params.get("targetMonth").and_then(Value::as_str).is_none() {
                return rpc_error(&id, -32602, "Invalid params: targetMonth is required");
            }
            let usages = match company("companyId") {
                Some(c) => {
                    let (endpoints, edr) = figures(&sample, c);
                    json!([{"productType": 0, "endpointMonthlyUsage": endpoints, "edrMonthlyUsage": edr,
                            "exchangeMonthlyUsage": 0, "encryptionMonthlyUsage": 0, "aLaCarteMonthlyUsage": 0}])
                }
                None => json!([]),
            };
            result(&id, json!({"usages": usages}))
        }
        _ => rpc_error(&id, -32601, "Method not found"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::SecretString;

    use super::*;
    use crate::config::Config;
    use crate::connectors::gravityzone::GravityZone;
    use crate::connectors::{Connector, ConnectorKind, SyncCx};
    use crate::demo::kit::{self, Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::{ServiceDef, Snapshot};

    #[tokio::test]
    async fn the_connector_counts_what_usage_says() {
        let sample = Arc::new(sample(&["Acme Corp", "Beta LLC", "Cobalt Inc"]));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let settings = Api::connection(&server, &sample).settings;
        let c = |key: &str| {
            GravityZone::new(
                "g",
                &settings,
                SecretString::from(key),
                RetryPolicy::default(),
            )
            .unwrap()
        };
        let check = c(DEMO_API_KEY).check().await.unwrap();
        assert!(check.contains("partner company `BlueWave MSP`"), "{check}");
        let Snapshot::Vendor(v) = c(DEMO_API_KEY).sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert_eq!(v.accounts.len(), 3, "the partner itself is not an account");
        let endpoints = v
            .items
            .iter()
            .filter(|i| i.class != "MONTHLY_USAGE")
            .count();
        assert_eq!(endpoints, sample.endpoints.len());
        assert!(sample.endpoints.len() > 2 * MAX_PAGE);
        let services = Config::default().services_seen("g", ConnectorKind::GravityZone, [&v]);
        let billed: Vec<&ServiceDef> = services
            .iter()
            .filter(|s| s.key == "endpoint:monthly-usage" || s.key == "edr:monthly-usage")
            .collect();
        assert_eq!(billed.len(), 2);
        let counted = kit::testing::counted_by_account(&v, &billed);
        let want: BTreeMap<(String, String), Decimal> = usage(&sample)
            .into_iter()
            .map(|(a, s, n)| ((a, s), n))
            .collect();
        assert_eq!(counted, want);
        assert_eq!(
            want[&(
                "Acme Corp".to_string(),
                "endpoint:monthly-usage".to_string()
            )],
            Decimal::from(18),
            "16 endpoints and 2 removed during the month"
        );

        let e = c("nope").check().await.unwrap_err().to_string();
        assert!(
            e.contains("HTTP 401") && e.contains("My Account > API keys"),
            "{e}"
        );
        assert!(!e.contains("nope"), "{e}");
    }
}
