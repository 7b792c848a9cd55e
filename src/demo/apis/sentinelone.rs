//! The SentinelOne sandbox for `reconcile demo`: a management console answering
//! `GET /web/api/v2.1/sites` and `GET /web/api/v2.1/agents` with `Authorization: ApiToken`,
//! `limit` + `cursor` paging and the response envelopes the real API sends (`data.sites` with
//! `data.allSites`, and `data` as a list, each with `pagination.nextCursor`).
//!
//! [`sample`] builds one site per given client with a few agents of each machine type, one
//! decommissioned agent (counted by no service) and one site on another SKU, deterministically.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::sentinelone::{Settings, class_of};
use crate::demo::kit::auth::{guard, header};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

/// The API token the sandbox accepts.
pub const DEMO_API_TOKEN: &str = "demo-sentinelone-token-3Jw9";

/// The SentinelOne sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-sentinelone";
    const CONNECT_ORDER: u8 = 2;

    fn surface(sample: Arc<Sample>) -> Surface {
        let api = Router::new()
            .route("/web/api/v2.1/sites", get(sites))
            .route("/web/api/v2.1/agents", get(agents));
        Surface::router(guard(api, (), authorized).with_state(sample))
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let settings = Settings {
            url: served.url().to_string(),
            page_size: None,
        };
        Connection::new(settings, format!("--url {}", served.url()))
            .secret("api_token", DEMO_API_TOKEN)
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // Workstations and servers, billed per agent.
        billed: &[
            (
                "workstations",
                "S1-WS",
                "Endpoint Protection - Workstation (SentinelOne)",
                "6.50",
                "3.10",
            ),
            (
                "servers",
                "S1-SRV",
                "Endpoint Protection - Server (SentinelOne)",
                "12.00",
                "5.40",
            ),
        ],
        clients: 1..6,
        plant_order: 0,
        generate: sample,
        usage,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub sku: String,
    pub total_licenses: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: String,
    pub site_id: String,
    pub computer_name: String,
    pub machine_type: String,
    pub os_type: String,
    pub decommissioned: bool,
    /// How long before serving the agent was last active.
    pub last_active_age_secs: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub sites: Vec<Site>,
    pub agents: Vec<Agent>,
}

/// Per client: (desktops, laptops, servers). Cycled over the given companies.
const MIX: &[(u32, u32, u32)] = &[(6, 4, 2), (3, 5, 1), (9, 2, 3), (4, 4, 0), (2, 1, 1)];

/// One site per company (the last on the Core SKU, the others Complete), agents per `MIX`,
/// and one decommissioned laptop on the first site.
pub fn sample(companies: &[&str]) -> Sample {
    let mut sites = Vec::new();
    let mut agents = Vec::new();
    for (i, name) in companies.iter().enumerate() {
        let site_id = format!("13920535685827{:05}", 58390 + i);
        let sku = if i + 1 == companies.len() && companies.len() > 1 {
            "Core"
        } else {
            "Complete"
        };
        let (dt, lt, srv) = MIX[i % MIX.len()];
        let code = crate::demo::kit::host_code(name);
        let mut n = 0;
        let mut push = |kind: &str, prefix: &str, os: &str, count: u32, decommissioned: bool| {
            for k in 0..count {
                n += 1;
                agents.push(Agent {
                    id: format!("1887193{:05}{:08}", i, n),
                    site_id: site_id.clone(),
                    computer_name: format!("{code}-{prefix}-{:02}", k + 1),
                    machine_type: kind.to_string(),
                    os_type: os.to_string(),
                    decommissioned,
                    last_active_age_secs: 600 + 3_600 * i64::from(n % 5),
                });
            }
        };
        push("desktop", "DT", "windows", dt, false);
        push("laptop", "LT", "macos", lt, false);
        push("server", "SRV", "linux", srv, false);
        if i == 0 {
            push("laptop", "OLD", "windows", 1, true);
        }
        sites.push(Site {
            id: site_id,
            name: name.to_string(),
            sku: sku.to_string(),
            total_licenses: i64::from(dt + lt + srv) + 5,
        });
    }
    Sample { sites, agents }
}

/// What the connector counts per (site name, service key): live agents, by machine type and
/// by the site's SKU.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for a in sample.agents.iter().filter(|a| !a.decommissioned) {
        let site = sample
            .sites
            .iter()
            .find(|s| s.id == a.site_id)
            .expect("agent's site");
        let class = class_of(&a.machine_type);
        let kind = match class {
            "DESKTOP" | "LAPTOP" => "workstations",
            "SERVER" => "servers",
            _ => "other",
        };
        for service in [
            "agents".to_string(),
            kind.to_string(),
            format!("agents-{}", site.sku.to_ascii_lowercase()),
        ] {
            *out.entry((site.name.clone(), service)).or_default() += Decimal::ONE;
        }
    }
    out.into_iter().map(|((a, s), n)| (a, s, n)).collect()
}

fn authorized(_: &(), headers: &HeaderMap) -> Result<(), Response> {
    if header(headers, "authorization").is_some_and(|v| v == format!("ApiToken {DEMO_API_TOKEN}")) {
        Ok(())
    } else {
        Err(reply(
            StatusCode::UNAUTHORIZED,
            json!({"errors": [{"code": 4010010, "detail": null, "title": "Authentication Failed"}]}),
        ))
    }
}

/// The window `limit` (1..=1000, default 10) and `cursor` (an offset) ask for.
fn page(query: Option<&str>) -> Result<Window, Response> {
    let invalid = |detail: &str| {
        reply(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"code": 4000010, "detail": detail, "title": "Validation Error"}]}),
        )
    };
    let q = Query::parse(query);
    let take = match q.number::<usize>("limit") {
        Ok(None) => 10,
        Ok(Some(n)) if (1..=1000).contains(&n) => n,
        _ => return Err(invalid("limit: must be between 1 and 1000")),
    };
    let skip = match q.get("cursor") {
        None => 0,
        Some(c) => match c.strip_prefix("demo-offset-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return Err(invalid("cursor: invalid cursor")),
        },
    };
    Ok(Window { skip, take })
}

fn pagination(total: usize, window: Window) -> Value {
    let next = window
        .more(total)
        .then(|| format!("demo-offset-{}", window.end()));
    json!({"nextCursor": next, "totalItems": total})
}

async fn sites(State(sample): State<Arc<Sample>>, RawQuery(query): RawQuery) -> Response {
    let window = match page(query.as_deref()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let live = |site: &Site| {
        sample
            .agents
            .iter()
            .filter(|a| a.site_id == site.id && !a.decommissioned)
            .count() as i64
    };
    let list: Vec<Value> = window
        .of(&sample.sites)
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "name": s.name,
                "accountId": "1392053568574369781",
                "accountName": "BlueWave MSP",
                "sku": s.sku,
                "siteType": "Paid",
                "state": "active",
                "activeLicenses": live(s),
                "totalLicenses": s.total_licenses,
                "unlimitedLicenses": false,
            })
        })
        .collect();
    let active: i64 = sample.sites.iter().map(live).sum();
    let total: i64 = sample.sites.iter().map(|s| s.total_licenses).sum();
    reply(
        StatusCode::OK,
        json!({
            "data": {
                "allSites": {"activeLicenses": active, "totalLicenses": total},
                "sites": list,
            },
            "pagination": pagination(sample.sites.len(), window),
        }),
    )
}

async fn agents(State(sample): State<Arc<Sample>>, RawQuery(query): RawQuery) -> Response {
    let window = match page(query.as_deref()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let now = Timestamp::now();
    let list: Vec<Value> = window
        .of(&sample.agents)
        .into_iter()
        .map(|a| {
            let site = sample.sites.iter().find(|s| s.id == a.site_id);
            let last = now - SignedDuration::from_secs(a.last_active_age_secs);
            json!({
                "id": a.id,
                "uuid": format!("5d2c9a7e-0f3b-4c1d-9e8a-{:012}", a.id.len() as u64 * 7 + a.id.as_bytes()[a.id.len() - 1] as u64),
                "computerName": a.computer_name,
                "siteId": a.site_id,
                "siteName": site.map(|s| s.name.as_str()),
                "accountId": "1392053568574369781",
                "accountName": "BlueWave MSP",
                "groupName": "Default Group",
                "machineType": a.machine_type,
                "osType": a.os_type,
                "isActive": !a.decommissioned,
                "isDecommissioned": a.decommissioned,
                "isUninstalled": false,
                "networkStatus": if a.decommissioned { "disconnected" } else { "connected" },
                "lastActiveDate": last.to_string(),
                "agentVersion": "24.1.4.257",
            })
        })
        .collect();
    reply(
        StatusCode::OK,
        json!({
            "data": list,
            "pagination": pagination(sample.agents.len(), window),
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::SecretString;

    use super::*;
    use crate::config::Config;
    use crate::connectors::{Connector, ConnectorKind, SyncCx};
    use crate::demo::kit::{self, Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_counts_what_usage_says() {
        let sample = Arc::new(sample(&["Acme Corp", "Beta LLC", "Cobalt Inc"]));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let mut settings = Api::connection(&server, &sample).settings;
        settings.page_size = Some(4);
        let c = crate::connectors::sentinelone::SentinelOne::new(
            "s1",
            &settings,
            SecretString::from(DEMO_API_TOKEN),
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(c.check().await.unwrap().contains("3 sites are readable"));
        let Snapshot::Vendor(v) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert_eq!(v.accounts.len(), 3);
        assert_eq!(v.items.len(), sample.agents.len());
        let config = Config::default();
        let services = config.services_seen("s1", ConnectorKind::SentinelOne, [&v]);
        let counted = kit::testing::counted_by_account(&v, &services.iter().collect::<Vec<_>>());
        let want: BTreeMap<(String, String), Decimal> = usage(&sample)
            .into_iter()
            .map(|(a, s, n)| ((a, s), n))
            .collect();
        assert_eq!(counted, want);
        assert_eq!(
            want[&("Cobalt Inc".to_string(), "agents-core".to_string())],
            Decimal::from(14)
        );
        assert!(!want.contains_key(&("Acme Corp".to_string(), "agents-core".to_string())));

        let wrong = crate::connectors::sentinelone::SentinelOne::new(
            "s1",
            &settings,
            SecretString::from("nope"),
            RetryPolicy::default(),
        )
        .unwrap();
        let e = wrong.check().await.unwrap_err().to_string();
        assert!(e.contains("API token was refused"), "{e}");
    }
}
