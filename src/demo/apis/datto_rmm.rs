//! The Datto RMM sandbox for `reconcile demo`: one platform's API answering the password grant
//! at `POST /auth/oauth/token` (Datto's public client as HTTP Basic, the API key and secret in
//! the form), and `GET /api/v2/account`, `/api/v2/account/sites` and `/api/v2/account/devices`
//! with a bearer token, `page` (from 0) + `max` paging and the `pageDetails` envelope whose
//! absolute `nextPageUrl` is null on the last page. Timestamps are epoch milliseconds, as the real
//! API sends them. A page holds at most [`MAX_PAGE`] records (the real default is larger), so
//! the demo's lists take several pages.
//!
//! [`sample`] builds one site per given client with desktops, laptops, servers, an ESXi host, a
//! printer and a switch, one deleted and one suspended device (counted by no service) and one
//! device of a type the connector does not know, deterministically.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::datto_rmm::{Settings, class_of};
use crate::demo::kit::auth::{Tokens, basic, bearer, granted, guard, oauth_error};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

/// The API key and secret the sandbox accepts.
pub const DEMO_API_KEY: &str = "DEMO0DATTO0RMM0KEY0001";
pub const DEMO_API_SECRET: &str = "demo-datto-rmm-secret-7Kq2";
/// The most records a page of the sandbox holds, and its default.
pub const MAX_PAGE: usize = 20;
const TOKEN_LIFETIME: Duration = Duration::from_secs(100 * 3600);

/// The Datto RMM sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-datto-rmm";
    const CONNECT_ORDER: u8 = 8;

    fn surface(sample: Arc<Sample>) -> Surface {
        Surface::api(move |url| {
            let state = Arc::new(DattoState {
                sample,
                url: url.trim_end_matches('/').to_string(),
                tokens: Tokens::default(),
            });
            let api = Router::new()
                .route("/api/v2/account", get(account))
                .route("/api/v2/account/sites", get(sites))
                .route("/api/v2/account/devices", get(devices));
            guard(api, state.clone(), authorized)
                .route("/auth/oauth/token", post(token))
                .fallback(|| async {
                    reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
                })
                .with_state(state)
        })
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let settings = Settings {
            platform: None,
            url: Some(served.url().to_string()),
            page_size: None,
            requests_per_minute: None,
        };
        Connection::new(settings, format!("--url {}", served.url()))
            .secret("api_key", DEMO_API_KEY)
            .secret("api_secret", DEMO_API_SECRET)
            .note("the API key and secret on two lines of stdin")
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // RMM per workstation and per server (ESXi hosts included), as Datto bills the MSP.
        billed: &[
            (
                "total-workstations",
                "DRMM-WS",
                "Remote Monitoring - Workstation (Datto RMM)",
                "4.50",
                "1.90",
            ),
            (
                "total-servers",
                "DRMM-SRV",
                "Remote Monitoring - Server (Datto RMM)",
                "14.00",
                "4.20",
            ),
        ],
        clients: 2..5,
        plant_order: 6,
        generate: sample,
        usage,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: i64,
    pub uid: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: i64,
    pub uid: String,
    pub site_uid: String,
    pub hostname: String,
    /// `deviceType.category` as Datto RMM sends it.
    pub category: String,
    pub device_class: String,
    pub os: Option<String>,
    pub deleted: bool,
    pub suspended: bool,
    /// How long before serving the device was last seen.
    pub last_seen_age_secs: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub sites: Vec<Site>,
    pub devices: Vec<Device>,
}

/// Per client: (desktops, laptops, servers, ESXi hosts). Cycled over the given companies.
const MIX: &[(u32, u32, u32, u32)] = &[(7, 5, 2, 1), (4, 6, 1, 0), (10, 3, 3, 1), (5, 2, 1, 0)];

/// One site per company, devices per `MIX` plus a printer and a switch each; on the first site
/// one deleted laptop and one device of the unknown type `Kiosk`, on the second one suspended
/// desktop.
pub fn sample(companies: &[&str]) -> Sample {
    let mut sites = Vec::new();
    let mut devices = Vec::new();
    for (i, name) in companies.iter().enumerate() {
        let site_uid = format!("5c1b7e2a-{:04x}-4d6e-9f10-a2b3c4d5e6f7", 0x0100 + i);
        let code = crate::demo::kit::host_code(name);
        let (dt, lt, srv, esx) = MIX[i % MIX.len()];
        let mut n = 0;
        let mut push = |category: &str,
                        class: &str,
                        prefix: &str,
                        os: Option<&str>,
                        count: u32,
                        state: (bool, bool)| {
            for k in 0..count {
                n += 1;
                let id = 4_200_000 + (i as i64) * 1000 + i64::from(n);
                devices.push(Device {
                    id,
                    uid: format!("b7d3{id:08}-0c4e-4f5a-8e21-d9a8f0e1c2b3"),
                    site_uid: site_uid.clone(),
                    hostname: format!("{code}-{prefix}-{:02}", k + 1),
                    category: category.into(),
                    device_class: class.into(),
                    os: os.map(str::to_string),
                    deleted: state.0,
                    suspended: state.1,
                    last_seen_age_secs: 900 + 3_600 * i64::from(n % 6),
                });
            }
        };
        let live = (false, false);
        push(
            "Desktop",
            "device",
            "WS",
            Some("Microsoft Windows 11 Pro 23H2"),
            dt,
            live,
        );
        push(
            "Laptop",
            "device",
            "LT",
            Some("Microsoft Windows 11 Pro 23H2"),
            lt,
            live,
        );
        push(
            "Server",
            "device",
            "SRV",
            Some("Microsoft Windows Server 2022 Standard"),
            srv,
            live,
        );
        push(
            "ESXi Host",
            "esxihost",
            "ESX",
            Some("VMware ESXi 8.0.2"),
            esx,
            live,
        );
        push("Printer", "printer", "PRN", None, 1, live);
        push("Network Device", "rmmnetworkdevice", "SW", None, 1, live);
        if i == 0 {
            push(
                "Laptop",
                "device",
                "OLD",
                Some("Microsoft Windows 10 Pro"),
                1,
                (true, false),
            );
            push(
                "Kiosk",
                "device",
                "KIOSK",
                Some("Microsoft Windows 11 IoT"),
                1,
                live,
            );
        }
        if i == 1 {
            push(
                "Desktop",
                "device",
                "SUSP",
                Some("Microsoft Windows 11 Pro"),
                1,
                (false, true),
            );
        }
        sites.push(Site {
            id: 310_000 + i as i64,
            uid: site_uid,
            name: name.to_string(),
        });
    }
    Sample { sites, devices }
}

/// What the connector counts per (site name, service key) for the services the demo bills:
/// live workstations, and live servers and ESXi hosts.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for d in sample.devices.iter().filter(|d| !d.deleted && !d.suspended) {
        let site = sample
            .sites
            .iter()
            .find(|s| s.uid == d.site_uid)
            .expect("device's site");
        let service = match class_of(Some(&d.category), Some(&d.device_class)) {
            "DESKTOP" | "LAPTOP" => "total-workstations",
            "SERVER" | "ESXI_HOST" => "total-servers",
            _ => continue,
        };
        *out.entry((site.name.clone(), service.to_string()))
            .or_default() += Decimal::ONE;
    }
    out.into_iter().map(|((a, s), n)| (a, s, n)).collect()
}

struct DattoState {
    sample: Arc<Sample>,
    /// The sandbox's own URL, for `nextPageUrl`.
    url: String,
    tokens: Tokens<()>,
}

/// The password grant as Datto RMM takes it: `public-client:public` as HTTP Basic, the API key
/// and secret as `username` and `password`.
async fn token(State(st): State<Arc<DattoState>>, headers: HeaderMap, body: Bytes) -> Response {
    if basic(&headers) != Some(("public-client".into(), "public".into())) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            Some("Full authentication is required to access this resource"),
        );
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "password" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            Some("Unsupported grant type"),
        );
    }
    if field("username") != DEMO_API_KEY || field("password") != DEMO_API_SECRET {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("Bad credentials"),
        );
    }
    let access_token = st.tokens.issue((), TOKEN_LIFETIME);
    granted(
        &access_token,
        "bearer",
        TOKEN_LIFETIME,
        json!({"scope": "default"}),
    )
}

fn authorized(st: &Arc<DattoState>, headers: &HeaderMap) -> Result<(), Response> {
    match bearer(headers).map(|t| st.tokens.check(t)) {
        Some(Ok(())) => Ok(()),
        _ => Err(reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_token", "error_description": "Invalid access token"}),
        )),
    }
}

/// The window `page` (from 0) and `max` (1..=MAX_PAGE, default MAX_PAGE) ask for.
fn window(query: &Query) -> Result<Window, Response> {
    let bad = |m: &str| reply(StatusCode::BAD_REQUEST, json!({"message": m}));
    let page = match query.number::<usize>("page") {
        Ok(p) => p.unwrap_or(0),
        Err(_) => return Err(bad("page must be a number")),
    };
    let max = match query.number::<usize>("max") {
        Ok(None) => MAX_PAGE,
        Ok(Some(m)) if m >= 1 => m.min(MAX_PAGE),
        _ => return Err(bad("max must be a positive number")),
    };
    Ok(Window::page(page + 1, max))
}

/// `{pageDetails, <list>}` for the window of `all` that `query` asks for.
fn page(st: &DattoState, path: &str, list: &str, all: Vec<Value>, query: Option<&str>) -> Response {
    let q = Query::parse(query);
    let w = match window(&q) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let link = |page: usize| format!("{}{path}?max={}&page={page}", st.url, w.take);
    let number = w.skip / w.take.max(1);
    let total = all.len();
    let items = w.of(all);
    reply(
        StatusCode::OK,
        json!({
            "pageDetails": {
                "count": items.len(),
                "totalCount": total,
                "prevPageUrl": (number > 0).then(|| link(number - 1)),
                "nextPageUrl": w.more(total).then(|| link(number + 1)),
            },
            list: items,
        }),
    )
}

async fn account(State(st): State<Arc<DattoState>>) -> Response {
    let live = st.sample.devices.iter().filter(|d| !d.deleted).count();
    reply(
        StatusCode::OK,
        json!({
            "id": 1042,
            "uid": "a3f1c2d4-demo-4b5c-8d9e-0f1a2b3c4d5e",
            "name": "BlueWave MSP",
            "currency": "USD",
            "descriptor": {"bilingEmail": "billing@bluewave.example", "deviceLimit": 5000, "timeZone": "America/Chicago"},
            "devicesStatus": {"numberOfDevices": live, "numberOfOnlineDevices": live, "numberOfOfflineDevices": 0},
        }),
    )
}

async fn sites(State(st): State<Arc<DattoState>>, RawQuery(query): RawQuery) -> Response {
    let all = st
        .sample
        .sites
        .iter()
        .map(|s| {
            let n = st.sample.devices.iter().filter(|d| d.site_uid == s.uid && !d.deleted).count();
            json!({
                "id": s.id,
                "uid": s.uid,
                "accountUid": "a3f1c2d4-demo-4b5c-8d9e-0f1a2b3c4d5e",
                "name": s.name,
                "description": null,
                "notes": null,
                "onDemand": false,
                "splashtopAutoInstall": false,
                "devicesStatus": {"numberOfDevices": n, "numberOfOnlineDevices": n, "numberOfOfflineDevices": 0},
                "autotaskCompanyName": null,
                "autotaskCompanyId": null,
                "portalUrl": format!("https://demo.centrastage.net/csm/profile/summary/{}", s.id),
            })
        })
        .collect();
    page(&st, "/api/v2/account/sites", "sites", all, query.as_deref())
}

async fn devices(State(st): State<Arc<DattoState>>, RawQuery(query): RawQuery) -> Response {
    let now = Timestamp::now();
    let all = st
        .sample
        .devices
        .iter()
        .map(|d| {
            let site = st.sample.sites.iter().find(|s| s.uid == d.site_uid);
            let seen = now - SignedDuration::from_secs(d.last_seen_age_secs);
            json!({
                "id": d.id,
                "uid": d.uid,
                "siteId": site.map(|s| s.id),
                "siteUid": d.site_uid,
                "siteName": site.map(|s| s.name.as_str()),
                "deviceType": {"category": d.category, "type": if d.device_class == "device" { "Physical" } else { "Agentless" }},
                "hostname": d.hostname,
                "operatingSystem": d.os,
                "deviceClass": d.device_class,
                "online": !d.deleted && !d.suspended,
                "suspended": d.suspended,
                "deleted": d.deleted,
                "lastSeen": seen.as_millisecond(),
                "creationDate": 1_704_067_200_000_i64,
                "a64Bit": true,
                "rebootRequired": false,
                "snmpEnabled": d.device_class != "device",
                "udf": {"udf1": null},
                "antivirus": {"antivirusProduct": "Datto AV", "antivirusStatus": "RunningAndUpToDate"},
                "patchManagement": {"patchStatus": "FullyPatched", "patchesApprovedPending": 0, "patchesNotApproved": 0, "patchesInstalled": 41},
            })
        })
        .collect();
    page(
        &st,
        "/api/v2/account/devices",
        "devices",
        all,
        query.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::SecretString;

    use super::*;
    use crate::config::Config;
    use crate::connectors::datto_rmm::DattoRmm;
    use crate::connectors::{Connector, ConnectorKind, SyncCx};
    use crate::demo::kit::{self, Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::{ServiceDef, Snapshot};

    fn connector(server: &Served, sample: &Sample, secret: &str) -> DattoRmm {
        let settings = Api::connection(server, sample).settings;
        let keys = (SecretString::from(DEMO_API_KEY), SecretString::from(secret));
        DattoRmm::new("d", &settings, keys, RetryPolicy::default()).unwrap()
    }

    #[tokio::test]
    async fn the_connector_counts_what_usage_says() {
        let sample = Arc::new(sample(&["Acme Corp", "Beta LLC", "Cobalt Inc"]));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let c = connector(&server, &sample, DEMO_API_SECRET);
        let check = c.check().await.unwrap();
        assert!(check.contains("account `BlueWave MSP`"), "{check}");
        let Snapshot::Vendor(v) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert_eq!(v.accounts.len(), 3);
        assert_eq!(v.items.len(), sample.devices.len());
        assert!(
            sample.devices.len() > MAX_PAGE * 2,
            "the devices take three pages"
        );
        let services = Config::default().services_seen("d", ConnectorKind::DattoRmm, [&v]);
        let billed: Vec<&ServiceDef> = services
            .iter()
            .filter(|s| s.key == "total-workstations" || s.key == "total-servers")
            .collect();
        let counted = kit::testing::counted_by_account(&v, &billed);
        let want: BTreeMap<(String, String), Decimal> = usage(&sample)
            .into_iter()
            .map(|(a, s, n)| ((a, s), n))
            .collect();
        assert_eq!(counted, want);
        assert_eq!(
            want[&("Acme Corp".to_string(), "total-workstations".to_string())],
            Decimal::from(12)
        );
        assert!(
            services.iter().any(|s| s.key == "kiosk:device-type"),
            "the unknown type has its own service"
        );

        let e = connector(&server, &sample, "nope")
            .check()
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid_grant"), "{e}");
        assert!(!e.contains("nope"), "{e}");
    }
}
