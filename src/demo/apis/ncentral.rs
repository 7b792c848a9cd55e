//! The N-central sandbox for `reconcile demo`: one server's API-Service answering
//! `POST /api/auth/authenticate` (the User-API Token as a bearer, no body) with an access
//! token, and `GET /api/server-info`, `/api/customers`, `/api/devices` (also `?filterId=`) and
//! `/api/device-filters` with that token, `pageNumber` (from 1) + `pageSize` paging and the
//! `{data, totalItems, ...}` envelopes of the API-Service. A page holds at most [`MAX_PAGE`]
//! records (the real maximum is 1000), so the demo's devices take several pages.
//!
//! [`sample`] builds one customer per given client with Windows workstations, laptops,
//! servers, a Mac, a printer and a switch (some of them in a site of the customer), one probe
//! (counted by no service) and one device of a class the connector does not know,
//! deterministically; every server is in the device filter `Managed Servers`.

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

use crate::connectors::ncentral::{Settings, class_of};
use crate::demo::kit::auth::{Tokens, bearer, guard};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

/// The User-API Token the sandbox accepts (shaped like the JWT N-central generates).
pub const DEMO_TOKEN: &str =
    "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJkZW1vLWFwaS11c2VyIn0.ZGVtby1uY2VudHJhbA";
/// The most records a page of the sandbox holds.
pub const MAX_PAGE: usize = 25;
/// The device filter every server of the sample is in.
pub const MANAGED_SERVERS: (i64, &str) = (1_000_017, "Managed Servers");
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The N-central sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-ncentral";
    const CONNECT_ORDER: u8 = 9;

    fn surface(sample: Arc<Sample>) -> Surface {
        Surface::api(move |_url| {
            let state = Arc::new(NcState {
                sample,
                tokens: Tokens::default(),
            });
            let api = Router::new()
                .route("/api/server-info", get(server_info))
                .route("/api/customers", get(customers))
                .route("/api/devices", get(devices))
                .route("/api/device-filters", get(filters));
            guard(api, state.clone(), authorized)
                .route("/api/auth/authenticate", post(authenticate))
                .fallback(|| async { error(StatusCode::NOT_FOUND, "NOT FOUND") })
                .with_state(state)
        })
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let settings = Settings {
            url: served.url().to_string(),
            page_size: None,
            device_filters: vec![MANAGED_SERVERS.1.to_string()],
        };
        Connection::new(
            settings,
            format!(
                "--url {} --device-filter \"{}\"",
                served.url(),
                MANAGED_SERVERS.1
            ),
        )
        .secret("api_token", DEMO_TOKEN)
        .note("the User-API Token on stdin")
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // RMM per workstation and per server in the Managed Servers filter, as many MSPs bill
        // N-central devices.
        billed: &[
            (
                "total-workstations",
                "NC-WS",
                "Managed Workstation (N-central)",
                "5.00",
                "2.10",
            ),
            (
                "managed-servers:device-filter",
                "NC-SRV",
                "Managed Server (N-central)",
                "15.00",
                "4.80",
            ),
        ],
        clients: 8..11,
        plant_order: 7,
        generate: sample,
        usage,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub site: (i64, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: i64,
    pub customer_id: i64,
    /// Whether it sits under the customer's site.
    pub in_site: bool,
    pub long_name: String,
    /// `deviceClass` as N-central sends it.
    pub device_class: String,
    pub os: Option<String>,
    pub license_mode: String,
    pub probe: bool,
    /// How long before serving the device last checked in.
    pub checkin_age_secs: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub customers: Vec<Customer>,
    pub devices: Vec<Device>,
}

/// Per client: (workstations, laptops, Windows servers, Linux servers). Cycled.
const MIX: &[(u32, u32, u32, u32)] = &[(8, 4, 2, 1), (5, 5, 1, 0), (12, 2, 3, 1)];

/// One customer per company (with one site), devices per `MIX` plus a Mac, a printer and a
/// switch each; on the first customer one probe and one device of the unknown class
/// `Kiosks - Windows`.
pub fn sample(companies: &[&str]) -> Sample {
    let mut customers = Vec::new();
    let mut devices = Vec::new();
    for (i, name) in companies.iter().enumerate() {
        let customer_id = 101 + i as i64;
        let code = crate::demo::kit::host_code(name);
        let (ws, lt, win, lin) = MIX[i % MIX.len()];
        let mut n = 0;
        let mut push = |class: &str, prefix: &str, os: Option<&str>, count: u32, probe: bool| {
            for k in 0..count {
                n += 1;
                devices.push(Device {
                    id: 1_870_000_000 + (i as i64) * 1000 + i64::from(n),
                    customer_id,
                    in_site: n % 3 == 0,
                    long_name: format!("{code}-{prefix}-{:02}", k + 1),
                    device_class: class.into(),
                    os: os.map(str::to_string),
                    license_mode: if class.starts_with("Servers")
                        || class.starts_with("Workstations")
                        || class.starts_with("Laptops")
                    {
                        "Professional".into()
                    } else {
                        "Essential".into()
                    },
                    probe,
                    checkin_age_secs: 600 + 1_800 * i64::from(n % 7),
                });
            }
        };
        push(
            "Workstations - Windows",
            "WS",
            Some("Microsoft Windows 11 Pro"),
            ws,
            false,
        );
        push(
            "Laptops - Windows",
            "LT",
            Some("Microsoft Windows 11 Pro"),
            lt,
            false,
        );
        push(
            "Servers - Windows",
            "SRV",
            Some("Microsoft Windows Server 2022 Standard"),
            win,
            false,
        );
        push(
            "Servers - Linux",
            "LNX",
            Some("Ubuntu 22.04 LTS"),
            lin,
            false,
        );
        push(
            "Workstations - Mac OS X",
            "MAC",
            Some("macOS 14 Sonoma"),
            1,
            false,
        );
        push("Printers", "PRN", None, 1, false);
        push("Switches/Routers", "SW", None, 1, false);
        if i == 0 {
            push(
                "Servers - Windows",
                "PROBE",
                Some("Microsoft Windows Server 2019"),
                1,
                true,
            );
            push(
                "Kiosks - Windows",
                "KIOSK",
                Some("Microsoft Windows 11 IoT"),
                1,
                false,
            );
        }
        customers.push(Customer {
            id: customer_id,
            name: name.to_string(),
            site: (201 + i as i64, format!("{name} - Main Office")),
        });
    }
    Sample { customers, devices }
}

/// Whether a device is in the `Managed Servers` filter: every server that is not a probe.
pub fn managed_server(d: &Device) -> bool {
    !d.probe && class_of(Some(&d.device_class)) == "SERVER"
}

/// What the connector counts per (customer name, service key) for the services the demo bills:
/// workstations and laptops, and the members of `Managed Servers`.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for d in sample.devices.iter().filter(|d| !d.probe) {
        let customer = sample
            .customers
            .iter()
            .find(|c| c.id == d.customer_id)
            .expect("device's customer");
        let service = match class_of(Some(&d.device_class)) {
            "WORKSTATION" | "LAPTOP" => "total-workstations",
            _ if managed_server(d) => "managed-servers:device-filter",
            _ => continue,
        };
        *out.entry((customer.name.clone(), service.to_string()))
            .or_default() += Decimal::ONE;
    }
    out.into_iter().map(|((a, s), n)| (a, s, n)).collect()
}

struct NcState {
    sample: Arc<Sample>,
    tokens: Tokens<()>,
}

/// The API-Service's error body.
fn error(status: StatusCode, message: &str) -> Response {
    reply(
        status,
        json!({"status": status.as_u16(), "message": message, "errors": []}),
    )
}

/// The User-API Token as a bearer and no body: an access and a refresh token.
async fn authenticate(State(st): State<Arc<NcState>>, headers: HeaderMap, body: Bytes) -> Response {
    if bearer(&headers) != Some(DEMO_TOKEN) || !body.is_empty() {
        return error(
            StatusCode::UNAUTHORIZED,
            "Authentication failed: the JWT is invalid or expired",
        );
    }
    let access = st.tokens.issue((), TOKEN_LIFETIME);
    reply(
        StatusCode::OK,
        json!({
            "tokens": {
                "access": {"token": access, "type": "Bearer", "expirySeconds": TOKEN_LIFETIME.as_secs()},
                "refresh": {"token": format!("refresh-{access}"), "type": "Body", "expirySeconds": 90000},
            },
            "refresh": "/api/auth/refresh",
            "validate": "/api/auth/validate",
        }),
    )
}

fn authorized(st: &Arc<NcState>, headers: &HeaderMap) -> Result<(), Response> {
    match bearer(headers).map(|t| st.tokens.check(t)) {
        Some(Ok(())) => Ok(()),
        _ => Err(error(
            StatusCode::UNAUTHORIZED,
            "Authentication failed: the access token is invalid or expired",
        )),
    }
}

/// `{data, pageNumber, pageSize, itemCount, totalItems, totalPages, _links}` for the window of
/// `all` the query asks for (`pageNumber` from 1, `pageSize` 1..=1000 capped at [`MAX_PAGE`]).
fn page(path: &str, all: Vec<Value>, query: &Query) -> Response {
    let number = match query.number::<usize>("pageNumber") {
        Ok(n) => n.unwrap_or(1).max(1),
        Err(v) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid pageNumber `{v}`"),
            );
        }
    };
    let size = match query.number::<i64>("pageSize") {
        Ok(None) => 50,
        Ok(Some(-1)) => MAX_PAGE,
        Ok(Some(n)) if (1..=1000).contains(&n) => (n as usize).min(MAX_PAGE),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "pageSize must be between 1 and 1000",
            );
        }
    };
    let w = Window::page(number, size);
    let total = all.len();
    let pages = total.div_ceil(size).max(1);
    let link = |n: usize| format!("{path}?pageNumber={n}&pageSize={size}");
    let items = w.of(all);
    reply(
        StatusCode::OK,
        json!({
            "data": items,
            "pageNumber": number,
            "pageSize": size,
            "itemCount": items.len(),
            "totalItems": total,
            "totalPages": pages,
            "_links": {
                "firstPage": link(1),
                "previousPage": (number > 1).then(|| link(number - 1)),
                "nextPage": w.more(total).then(|| link(number + 1)),
                "lastPage": link(pages),
            },
        }),
    )
}

async fn server_info() -> Response {
    reply(
        StatusCode::OK,
        json!({"version": "1.0.0", "jvmVersion": "17.0.9", "ncentral": "2024.6.0.19"}),
    )
}

async fn customers(State(st): State<Arc<NcState>>, RawQuery(query): RawQuery) -> Response {
    let all = st
        .sample
        .customers
        .iter()
        .map(|c| {
            json!({
                "customerId": c.id.to_string(),
                "customerName": c.name,
                "parentId": "50",
                "orgUnitType": "CUSTOMER",
                "externalId": "",
                "externalId2": null,
                "contactFirstName": "Pat",
                "contactLastName": "Lee",
                "city": "Springfield",
                "country": "US",
                "isSystem": false,
                "isServiceOrg": false,
            })
        })
        .collect();
    page("/api/customers", all, &Query::parse(query.as_deref()))
}

async fn filters(RawQuery(query): RawQuery) -> Response {
    let all = vec![
        json!({"filterId": MANAGED_SERVERS.0.to_string(), "filterName": MANAGED_SERVERS.1, "description": "Servers under a managed services agreement"}),
        json!({"filterId": "1000018", "filterName": "All Windows Devices", "description": null}),
    ];
    page("/api/device-filters", all, &Query::parse(query.as_deref()))
}

async fn devices(State(st): State<Arc<NcState>>, RawQuery(query): RawQuery) -> Response {
    let query = Query::parse(query.as_deref());
    let filter = query.get("filterId").map(str::to_string);
    let in_filter = |d: &Device| match filter.as_deref() {
        None => true,
        Some(f) if f == MANAGED_SERVERS.0.to_string() => managed_server(d),
        Some(_) => false,
    };
    let now = Timestamp::now();
    let all = st
        .sample
        .devices
        .iter()
        .filter(|d| in_filter(d))
        .map(|d| {
            let c = st.sample.customers.iter().find(|c| c.id == d.customer_id);
            let checkin = now - SignedDuration::from_secs(d.checkin_age_secs);
            json!({
                "deviceId": d.id,
                "uri": format!("/api/devices/{}", d.id),
                "longName": d.long_name,
                "discoveredName": d.long_name.to_ascii_lowercase(),
                "description": null,
                "deviceClass": d.device_class,
                "deviceClassLabel": d.device_class,
                "isProbe": d.probe,
                "osId": if d.os.as_deref().is_some_and(|o| o.contains("Windows")) { Some("winnt") } else { None },
                "supportedOs": d.os,
                "supportedOsLabel": d.os,
                "licenseMode": d.license_mode,
                "orgUnitId": if d.in_site { c.map(|c| c.site.0) } else { Some(d.customer_id) },
                "soId": 50,
                "soName": "BlueWave MSP",
                "customerId": d.customer_id,
                "customerName": c.map(|c| c.name.as_str()),
                "siteId": if d.in_site { c.map(|c| c.site.0) } else { None },
                "siteName": if d.in_site { c.map(|c| c.site.1.as_str()) } else { None },
                "lastLoggedInUser": null,
                "applianceId": d.id + 7,
                "lastApplianceCheckinTime": checkin.to_string(),
            })
        })
        .collect();
    page("/api/devices", all, &query)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::SecretString;

    use super::*;
    use crate::config::Config;
    use crate::connectors::ncentral::Ncentral;
    use crate::connectors::{Connector, ConnectorKind, SyncCx};
    use crate::demo::kit::{self, Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::{ServiceDef, Snapshot};

    fn connector(server: &Served, sample: &Sample, token: &str) -> Ncentral {
        let mut settings = Api::connection(server, sample).settings;
        settings.page_size = Some(10);
        Ncentral::new(
            "n",
            &settings,
            SecretString::from(token),
            RetryPolicy::default(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn the_connector_counts_what_usage_says() {
        let sample = Arc::new(sample(&["Acme Corp", "Beta LLC", "Cobalt Inc"]));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let c = connector(&server, &sample, DEMO_TOKEN);
        let check = c.check().await.unwrap();
        assert!(check.contains("N-central, version 2024.6.0.19"), "{check}");
        let Snapshot::Vendor(v) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert_eq!(v.accounts.len(), 3);
        let servers = sample.devices.iter().filter(|d| managed_server(d)).count();
        assert_eq!(
            v.items.len(),
            sample.devices.len() + servers,
            "devices and memberships"
        );
        assert!(sample.devices.len() > 40, "the devices take several pages");
        let services = Config::default().services_seen("n", ConnectorKind::Ncentral, [&v]);
        let billed: Vec<&ServiceDef> = services
            .iter()
            .filter(|s| s.key == "total-workstations" || s.key == "managed-servers:device-filter")
            .collect();
        assert_eq!(billed.len(), 2, "{services:?}");
        let counted = kit::testing::counted_by_account(&v, &billed);
        let want: BTreeMap<(String, String), Decimal> = usage(&sample)
            .into_iter()
            .map(|(a, s, n)| ((a, s), n))
            .collect();
        assert_eq!(counted, want);
        assert_eq!(
            want[&("Acme Corp".to_string(), "total-workstations".to_string())],
            Decimal::from(13),
            "8 workstations, 4 laptops, a Mac"
        );
        assert_eq!(
            want[&(
                "Acme Corp".to_string(),
                "managed-servers:device-filter".to_string()
            )],
            Decimal::from(3),
            "2 Windows and 1 Linux server, not the probe"
        );

        let e = connector(&server, &sample, "nope")
            .check()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("HTTP 401") && e.contains("Generate JSON Web Token"),
            "{e}"
        );
        assert!(!e.contains("nope"), "{e}");
    }
}
