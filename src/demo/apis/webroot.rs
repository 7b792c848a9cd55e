//! The Webroot sandbox for `reconcile demo`: the Unity API answering the password grant at
//! `POST /auth/token` (the API client as HTTP Basic, the console admin in the form, scope
//! `Console.GSM`) with 5-minute tokens, and `GET /service/api/console/gsm/{gsmKey}/sites` and
//! `.../sites/{siteId}/endpoints` (paged with `pageNr` from 1 and `pageSize`, `TotalAvailable`)
//! with a bearer token and the `User-Agent` Webroot requires. A page holds at most
//! [`MAX_PAGE`] endpoints.
//!
//! [`sample`] builds one site per given client with endpoints seen lately, two not seen for
//! more than 30 days (which Webroot does not bill, and the engine's inactive rule leaves out)
//! and one deactivated endpoint, and seats allowed a few above the count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use serde_json::json;

use crate::connectors::webroot::Settings;
use crate::demo::kit::auth::{Tokens, basic, bearer, granted, guard, header, oauth_error};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

pub const DEMO_GSM_KEY: &str = "SA69-DEMO-7E2B-4C1D-9F0A";
pub const DEMO_CLIENT_ID: &str = "client_DemoMSP_01";
pub const DEMO_CLIENT_SECRET: &str = "demo-webroot-client-secret-Zq8";
pub const DEMO_USERNAME: &str = "api-reader@bluewave.example";
pub const DEMO_PASSWORD: &str = "demo-webroot-admin-password-4Lm";
/// The most endpoints a page of the sandbox holds.
pub const MAX_PAGE: usize = 10;
const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The Webroot sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-webroot";
    const CONNECT_ORDER: u8 = 11;

    fn surface(sample: Arc<Sample>) -> Surface {
        Surface::api(move |_url| {
            let state = Arc::new(WrState {
                sample,
                tokens: Tokens::default(),
            });
            let api = Router::new()
                .route("/service/api/console/gsm/{gsm}/sites", get(sites))
                .route(
                    "/service/api/console/gsm/{gsm}/sites/{site}/endpoints",
                    get(endpoints),
                );
            guard(api, state.clone(), authorized)
                .route("/auth/token", post(token))
                .fallback(|| async {
                    reply(StatusCode::NOT_FOUND, json!({"statusCode": 404, "requestId": "demo", "error": "not_found", "error_description": "The requested resource was not found"}))
                })
                .with_state(state)
        })
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let settings = Settings {
            gsm_key: DEMO_GSM_KEY.into(),
            client_id: DEMO_CLIENT_ID.into(),
            username: DEMO_USERNAME.into(),
            url: Some(served.url().to_string()),
            page_size: None,
        };
        Connection::new(
            settings,
            format!(
                "--gsm-key {DEMO_GSM_KEY} --client-id {DEMO_CLIENT_ID} --username {DEMO_USERNAME} --url {}",
                served.url()
            ),
        )
        .secret("client_secret", DEMO_CLIENT_SECRET)
        .secret("password", DEMO_PASSWORD)
        .note("the client secret and the admin's password on two lines of stdin")
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        billed: &[
            (
                "total-endpoints",
                "WR-EP",
                "Endpoint Protection (Webroot)",
                "2.75",
                "1.10",
            ),
            (
                "endpoint-seats",
                "WR-SEATS",
                "Endpoint Protection seats (Webroot keycode)",
                "2.50",
                "1.00",
            ),
        ],
        clients: 14..17,
        plant_order: 9,
        generate: sample,
        usage,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub key_code: String,
    pub devices_allowed: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub site_id: String,
    pub host: String,
    pub os: String,
    pub deactivated: bool,
    /// Days since the endpoint was last seen.
    pub last_seen_days: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub sites: Vec<Site>,
    pub endpoints: Vec<Endpoint>,
}

/// Endpoints per client seen lately. Cycled.
const SEEN: &[u32] = &[14, 9, 21];

/// One site per company: endpoints seen within a few days, two not seen for 45 days, one
/// deactivated, and seats allowed 3 above the recent ones.
pub fn sample(companies: &[&str]) -> Sample {
    let mut out = Sample::default();
    for (i, name) in companies.iter().enumerate() {
        let site_id = format!("3b6f2a10-{:04x}-4c1d-9e8f-0a1b2c3d4e5f", 0x0200 + i);
        let code = crate::demo::kit::host_code(name);
        let seen = SEEN[i % SEEN.len()];
        for n in 0..seen + 3 {
            let (deactivated, days) = match n {
                x if x < seen => (false, i64::from(x % 4)),
                x if x < seen + 2 => (false, 45),
                _ => (true, 2),
            };
            out.endpoints.push(Endpoint {
                id: format!("E{:03}{:05}D3M0", i, n),
                site_id: site_id.clone(),
                host: format!("{code}-PC-{:02}", n + 1),
                os: if n % 5 == 4 {
                    "Windows Server 2022".into()
                } else {
                    "Windows 11 Pro".into()
                },
                deactivated,
                last_seen_days: days,
            });
        }
        out.sites.push(Site {
            id: site_id,
            name: name.to_string(),
            key_code: format!("SA{:02}-{code:0<4}-DEMO-0000-{:04}", i, 1000 + i),
            devices_allowed: seen + 3,
        });
    }
    out
}

/// What the connector counts per (site name, service key), with the default inactive rule
/// (30 days): endpoints seen lately, and the seats allowed.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for s in &sample.sites {
        let seen = sample
            .endpoints
            .iter()
            .filter(|e| e.site_id == s.id && !e.deactivated && e.last_seen_days <= 30)
            .count();
        out.insert(
            (s.name.clone(), "total-endpoints".into()),
            Decimal::from(seen),
        );
        out.insert(
            (s.name.clone(), "endpoint-seats".into()),
            Decimal::from(s.devices_allowed),
        );
    }
    out.into_iter().map(|((a, s), n)| (a, s, n)).collect()
}

struct WrState {
    sample: Arc<Sample>,
    tokens: Tokens<()>,
}

async fn token(State(st): State<Arc<WrState>>, headers: HeaderMap, body: Bytes) -> Response {
    if basic(&headers) != Some((DEMO_CLIENT_ID.into(), DEMO_CLIENT_SECRET.into())) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            Some("Client authentication failed"),
        );
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "password" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", None);
    }
    if !field("scope")
        .split(' ')
        .any(|s| s == "Console.GSM" || s == "*")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            Some("The scope Console.GSM is required"),
        );
    }
    if field("username") != DEMO_USERNAME || field("password") != DEMO_PASSWORD {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("The user name or password is incorrect"),
        );
    }
    let access = st.tokens.issue((), TOKEN_LIFETIME);
    granted(
        &access,
        "Bearer",
        TOKEN_LIFETIME,
        json!({"refresh_token": format!("r-{access}"), "scope": "Console.GSM"}),
    )
}

fn authorized(st: &Arc<WrState>, headers: &HeaderMap) -> Result<(), Response> {
    // Webroot may refuse requests without a User-Agent of name/version pairs.
    if !header(headers, "user-agent").is_some_and(|ua| ua.contains('/')) {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "bad_request", "error_description": "A User-Agent header is required"}),
        ));
    }
    match bearer(headers).map(|t| st.tokens.check(t)) {
        Some(Ok(())) => Ok(()),
        _ => Err(reply(
            StatusCode::UNAUTHORIZED,
            json!({"statusCode": 401, "requestId": "demo", "error": "invalid_token", "error_description": "The access token is invalid or has expired"}),
        )),
    }
}

fn unknown_gsm() -> Response {
    reply(
        StatusCode::FORBIDDEN,
        json!({"statusCode": 403, "requestId": "demo", "error": "access_denied", "error_description": "No access to the GSM keycode"}),
    )
}

async fn sites(State(st): State<Arc<WrState>>, Path(gsm): Path<String>) -> Response {
    if gsm != DEMO_GSM_KEY {
        return unknown_gsm();
    }
    let sites: Vec<_> = st
        .sample
        .sites
        .iter()
        .map(|s| {
            let total = st.sample.endpoints.iter().filter(|e| e.site_id == s.id && !e.deactivated).count();
            json!({
                "SiteId": s.id, "SiteName": s.name, "SiteType": "Site", "AccountKeyCode": s.key_code,
                "TotalEndpoints": total, "PCsInfected24": 0, "DevicesAllowed": s.devices_allowed,
                "MobileSeats": 0, "Deactivated": false, "Suspended": false, "EndDate": "2027-06-30T00:00:00",
                "BillingCycle": "Monthly", "BillingDate": "1", "PolicyId": "pol-1", "PolicyName": "Recommended Defaults",
            })
        })
        .collect();
    reply(
        StatusCode::OK,
        json!({"ParentDescription": "Full", "TotalSeatsAllowed": st.sample.sites.iter().map(|s| s.devices_allowed).sum::<u32>(), "TotalCount": sites.len(), "Sites": sites}),
    )
}

async fn endpoints(
    State(st): State<Arc<WrState>>,
    Path((gsm, site)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    if gsm != DEMO_GSM_KEY {
        return unknown_gsm();
    }
    let q = Query::parse(query.as_deref());
    let (Ok(page), Ok(size)) = (q.positive("pageNr"), q.positive("pageSize")) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "bad_request", "error_description": "pageNr and pageSize must be positive numbers"}),
        );
    };
    let (page, size) = (page.unwrap_or(1), size.unwrap_or(50).min(MAX_PAGE));
    let now = Timestamp::now();
    let all: Vec<_> = st
        .sample
        .endpoints
        .iter()
        .filter(|e| e.site_id == site)
        .map(|e| {
            let seen = now - SignedDuration::from_hours(24 * e.last_seen_days + 1);
            json!({
                "EndpointId": e.id, "HostName": e.host, "MachineId": e.host.to_ascii_lowercase(),
                "Deactivated": e.deactivated, "LastSeen": seen.to_string(), "FirstSeen": "2025-01-15T09:30:00Z",
                "WindowsFullOS": e.os, "PolicyName": "Recommended Defaults", "AgentVersion": "9.0.39.73", "Infected": false,
            })
        })
        .collect();
    let total = all.len();
    let items = Window::page(page, size).of(all);
    reply(
        StatusCode::OK,
        json!({"TotalAvailable": total, "PageNr": page, "PageSize": size, "Endpoints": items}),
    )
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::config::Config;
    use crate::connectors::webroot::Webroot;
    use crate::connectors::{Connector, ConnectorKind, SyncCx};
    use crate::demo::kit::{self, Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::{ServiceDef, Snapshot};

    #[tokio::test]
    async fn the_connector_counts_what_usage_says() {
        let sample = Arc::new(sample(&["Acme Corp", "Beta LLC", "Cobalt Inc"]));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let settings = Api::connection(&server, &sample).settings;
        let c = |password: &str| {
            let secrets = (
                SecretString::from(DEMO_CLIENT_SECRET),
                SecretString::from(password),
            );
            Webroot::new("w", &settings, secrets, RetryPolicy::default()).unwrap()
        };
        let check = c(DEMO_PASSWORD).check().await.unwrap();
        assert!(check.contains("3 sites"), "{check}");
        let Snapshot::Vendor(v) = c(DEMO_PASSWORD).sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert_eq!(v.accounts.len(), 3);
        let services = Config::default().services_seen("w", ConnectorKind::Webroot, [&v]);
        let billed: Vec<&ServiceDef> = services
            .iter()
            .filter(|s| s.key == "total-endpoints" || s.key == "endpoint-seats")
            .collect();
        // What the engine counts after its inactive rule: the sandbox's 45-day-old endpoints
        // are listed but not billed.
        let listed = kit::testing::counted_by_account(&v, &billed);
        let want: BTreeMap<(String, String), Decimal> = usage(&sample)
            .into_iter()
            .map(|(a, s, n)| ((a, s), n))
            .collect();
        let acme = |k: &str| ("Acme Corp".to_string(), k.to_string());
        assert_eq!(
            listed[&acme("endpoint-seats")],
            want[&acme("endpoint-seats")]
        );
        assert_eq!(want[&acme("total-endpoints")], Decimal::from(14));
        assert_eq!(
            listed[&acme("total-endpoints")],
            Decimal::from(16),
            "listed: 14 seen lately and 2 seen 45 days ago"
        );

        let e = c("wrong").check().await.unwrap_err().to_string();
        assert!(
            e.contains("invalid_grant") && e.contains("Settings > API Access"),
            "{e}"
        );
        assert!(
            !e.contains("wrong\"") && !e.contains(DEMO_CLIENT_SECRET),
            "{e}"
        );
    }
}
