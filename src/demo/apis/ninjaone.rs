//! The NinjaOne sandbox: the OAuth2 client-credentials token endpoint and the read-only parts of
//! the public API v2 the connector calls (`/v2/organizations`, `/v2/devices`,
//! `/v2/organization/{id}/devices`, `/v2/roles`), plus
//! a few neighbours (`/v2/locations`, `/v2/organization/{id}`, `/v2/device/{id}`) so the sandbox
//! can be poked at by hand. It enforces what the real service enforces: a form-encoded token
//! request with the right client, a bearer token on every `/v2` call, the `monitoring` scope for
//! reads, and keyset paging with `pageSize` and `after`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::connectors::ninjaone::Settings;
use crate::demo::kit::auth::{
    Invalid, Refusal, Tokens, authorization, client_credentials, granted, guard, oauth_error,
};
use crate::demo::kit::http::{Query, reply};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::{NinjaDevice, NinjaLocation, NinjaOrganization, NinjaRole, SampleMsp};

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The API client the sandbox knows.
pub const DEMO_CLIENT_ID: &str = "demo-ninjaone-client";
/// Its secret.
pub const DEMO_CLIENT_SECRET: &str = "demo-ninjaone-secret-7Qx2";

const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const SCOPES: &[&str] = &["monitoring", "management", "control", "offline_access"];

/// The NinjaOne sandbox, serving the sample MSP's tenant ([`SampleMsp::ninjaone`]).
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-ninjaone";
    const CONNECT_ORDER: u8 = 0;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        Surface::router(router(NinjaState::new(sample)))
    }

    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        let settings = Settings {
            region: None,
            url: Some(served.url().to_string()),
            client_id: DEMO_CLIENT_ID.into(),
            page_size: None,
            device_listing: Default::default(),
        };
        let flags = format!("--url {} --client-id {DEMO_CLIENT_ID}", served.url());
        Connection::new(settings, flags).secret("client_secret", DEMO_CLIENT_SECRET)
    }
}

struct NinjaState {
    sample: Arc<SampleMsp>,
    /// Each token's scopes.
    tokens: Tokens<Vec<String>>,
    /// Each organization's devices, as indices into the sample's devices (in their order).
    devices_of: HashMap<i64, Vec<usize>>,
}

impl NinjaState {
    fn new(sample: Arc<SampleMsp>) -> Arc<NinjaState> {
        let mut devices_of: HashMap<i64, Vec<usize>> = sample
            .ninjaone
            .organizations
            .iter()
            .map(|o| (o.id, Vec::new()))
            .collect();
        for (i, d) in sample.ninjaone.devices.iter().enumerate() {
            devices_of.entry(d.organization_id).or_default().push(i);
        }
        Arc::new(NinjaState {
            sample,
            tokens: Tokens::default(),
            devices_of,
        })
    }
}

fn router(state: Arc<NinjaState>) -> Router {
    let api = Router::new()
        .route("/v2/organizations", get(organizations))
        .route("/v2/organization/{id}", get(organization))
        .route("/v2/organization/{id}/devices", get(organization_devices))
        .route("/v2/devices", get(devices))
        .route("/v2/device/{id}", get(device))
        .route("/v2/roles", get(roles))
        .route("/v2/locations", get(locations));
    guard(api, state.clone(), authorize)
        .route("/ws/oauth/token", post(token))
        .fallback(fallback)
        .with_state(state)
}

async fn token(State(st): State<Arc<NinjaState>>, headers: HeaderMap, body: Bytes) -> Response {
    let error = |status, error, description: &str| oauth_error(status, error, Some(description));
    let form = match client_credentials(&headers, &body, (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)) {
        Ok(form) => form,
        Err(Refusal::NotForm) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the token request must be application/x-www-form-urlencoded",
            );
        }
        Err(Refusal::NoGrant) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        Err(Refusal::Grant(other)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type `{other}` is not enabled for this client"),
            );
        }
        Err(Refusal::UnknownClient | Refusal::WrongSecret) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Bad client credentials",
            );
        }
    };
    let mut scopes: Vec<String> = form
        .get("scope")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        scopes.push("monitoring".into());
    }
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("scope `{bad}` is not valid"),
        );
    }
    let scope = scopes.join(" ");
    let access_token = st.tokens.issue(scopes, TOKEN_LIFETIME);
    granted(
        &access_token,
        "bearer",
        TOKEN_LIFETIME,
        json!({ "scope": scope }),
    )
}

/// Checks the bearer token and the `monitoring` scope every read needs.
fn authorize(st: &Arc<NinjaState>, headers: &HeaderMap) -> Result<(), Response> {
    let unauthorized = |description: &str| {
        let mut resp = reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_token", "error_description": description}),
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"ninjaone\""),
        );
        resp
    };
    let Some((scheme, token)) = authorization(headers) else {
        return Err(unauthorized(if headers.contains_key(header::AUTHORIZATION) {
            "Bearer token expected"
        } else {
            "Full authentication is required"
        }));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized("Bearer token expected"));
    }
    let scopes = match st.tokens.check(token) {
        Ok(scopes) => scopes,
        Err(Invalid::Unknown) => return Err(unauthorized("Invalid access token")),
        Err(Invalid::Expired) => return Err(unauthorized("Access token expired")),
    };
    if !scopes.iter().any(|s| s == "monitoring") {
        return Err(reply(
            StatusCode::FORBIDDEN,
            json!({
                "error": "insufficient_scope",
                "error_description": "this request needs the monitoring scope",
            }),
        ));
    }
    Ok(())
}

fn bad_request(message: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_request", "error_description": message}),
    )
}

/// `pageSize` and `after` as the API reads them: both optional integers.
fn keyset(raw: Option<&str>) -> Result<(Option<usize>, Option<i64>), Response> {
    let q = Query::parse(raw);
    let page_size = q
        .positive("pageSize")
        .map_err(|v| bad_request(&format!("pageSize `{v}` is not a positive integer")))?;
    let after = q
        .number::<i64>("after")
        .map_err(|v| bad_request(&format!("after `{v}` is not an integer")))?;
    if q.get("df").is_some() {
        // Silently ignoring a filter would return wrong data; say so instead.
        return Err(bad_request(
            "the demo sandbox does not evaluate device filters (df)",
        ));
    }
    Ok((page_size, after))
}

/// Records with an id above `after`, in id order, at most `page_size` of them.
fn page<T>(
    items: &[T],
    id: impl Fn(&T) -> i64,
    page_size: Option<usize>,
    after: Option<i64>,
) -> impl Iterator<Item = &T> {
    items
        .iter()
        .filter(move |t| after.is_none_or(|a| id(t) > a))
        .take(page_size.unwrap_or(usize::MAX))
}

async fn organizations(
    State(st): State<Arc<NinjaState>>,
    RawQuery(q): RawQuery,
) -> Response {
    let (size, after) = match keyset(q.as_deref()) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let orgs = &st.sample.ninjaone.organizations;
    let body: Vec<Value> = page(orgs, |o| o.id, size, after)
        .map(organization_json)
        .collect();
    axum::Json(body).into_response()
}

async fn organization(
    State(st): State<Arc<NinjaState>>,
    Path(id): Path<String>,
) -> Response {
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| st.sample.ninjaone.organizations.iter().find(|o| o.id == id));
    match found {
        Some(o) => {
            let mut v = organization_json(o);
            let locs: Vec<Value> = st
                .sample
                .ninjaone
                .locations
                .iter()
                .filter(|l| l.organization_id == o.id)
                .map(location_json)
                .collect();
            v["locations"] = Value::Array(locs);
            axum::Json(v).into_response()
        }
        None => not_found(),
    }
}

async fn devices(
    State(st): State<Arc<NinjaState>>,
    RawQuery(q): RawQuery,
) -> Response {
    let (size, after) = match keyset(q.as_deref()) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let now = Timestamp::now();
    let body: Vec<Value> = page(&st.sample.ninjaone.devices, |d| d.id, size, after)
        .map(|d| device_json(d, now))
        .collect();
    axum::Json(body).into_response()
}

/// One organization's devices: the same keyset paging and records as `/v2/devices`.
async fn organization_devices(
    State(st): State<Arc<NinjaState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(indices) = id.parse::<i64>().ok().and_then(|id| st.devices_of.get(&id)) else {
        return not_found();
    };
    let (size, after) = match keyset(q.as_deref()) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let devices = &st.sample.ninjaone.devices;
    let now = Timestamp::now();
    let body: Vec<Value> = page(indices, |&i| devices[i].id, size, after)
        .map(|&i| device_json(&devices[i], now))
        .collect();
    axum::Json(body).into_response()
}

async fn device(
    State(st): State<Arc<NinjaState>>,
    Path(id): Path<String>,
) -> Response {
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| st.sample.ninjaone.devices.iter().find(|d| d.id == id));
    match found {
        Some(d) => axum::Json(device_json(d, Timestamp::now())).into_response(),
        None => not_found(),
    }
}

async fn roles(State(st): State<Arc<NinjaState>>) -> Response {
    let body: Vec<Value> = st.sample.ninjaone.roles.iter().map(role_json).collect();
    axum::Json(body).into_response()
}

async fn locations(
    State(st): State<Arc<NinjaState>>,
    RawQuery(q): RawQuery,
) -> Response {
    let (size, after) = match keyset(q.as_deref()) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let mut locs: Vec<&NinjaLocation> = st.sample.ninjaone.locations.iter().collect();
    locs.sort_by_key(|l| l.id);
    let body: Vec<Value> = locs
        .into_iter()
        .filter(|l| after.is_none_or(|a| l.id > a))
        .take(size.unwrap_or(usize::MAX))
        .map(location_json)
        .collect();
    axum::Json(body).into_response()
}

async fn fallback(State(st): State<Arc<NinjaState>>, headers: HeaderMap) -> Response {
    // The real API authenticates before routing, so an unknown path without a token is a 401.
    match authorize(&st, &headers) {
        Err(refused) => refused,
        Ok(()) => not_found(),
    }
}

fn not_found() -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"resultCode": "NOT_FOUND", "errorMessage": "Not found"}),
    )
}

fn organization_json(o: &NinjaOrganization) -> Value {
    json!({
        "name": o.name,
        "description": o.description,
        "nodeApprovalMode": o.node_approval_mode,
        "tags": o.tags,
        "fields": {},
        "id": o.id,
    })
}

fn location_json(l: &NinjaLocation) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "address": l.address,
        "description": "",
        "organizationId": l.organization_id,
        "tags": [],
        "fields": {},
    })
}

fn role_json(r: &NinjaRole) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("name".into(), json!(r.name));
    m.insert("description".into(), json!(r.description));
    m.insert("nodeClass".into(), json!(r.node_class));
    m.insert("custom".into(), json!(r.custom));
    if let Some(c) = &r.chassis_type {
        m.insert("chassisType".into(), json!(c));
    }
    m.insert("created".into(), json!(r.created as f64));
    m.insert("tags".into(), json!([]));
    m.insert("fields".into(), json!({}));
    if let Some(p) = r.parent_id {
        m.insert("nodeRoleParentId".into(), json!(p));
    }
    Value::Object(m)
}

/// Epoch seconds with milliseconds, as NinjaOne sends times.
fn epoch(t: Timestamp) -> Value {
    json!(t.as_millisecond() as f64 / 1000.0)
}

fn device_json(d: &NinjaDevice, now: Timestamp) -> Value {
    let last_contact = now - jiff::SignedDuration::from_secs(d.last_contact_age_secs);
    let mut m = Map::new();
    m.insert("id".into(), json!(d.id));
    m.insert("uid".into(), json!(d.uid));
    if let Some(p) = d.parent_device_id {
        m.insert("parentDeviceId".into(), json!(p));
    }
    m.insert("organizationId".into(), json!(d.organization_id));
    m.insert("locationId".into(), json!(d.location_id));
    m.insert("nodeClass".into(), json!(d.node_class));
    if let Some(r) = d.node_role_id {
        m.insert("nodeRoleId".into(), json!(r));
    }
    m.insert("rolePolicyId".into(), json!(d.policy_id));
    m.insert("approvalStatus".into(), json!(d.approval_status));
    m.insert("offline".into(), json!(d.offline));
    m.insert("displayName".into(), json!(d.display_name));
    m.insert("systemName".into(), json!(d.system_name));
    if let Some(n) = &d.dns_name {
        m.insert("dnsName".into(), json!(n));
    }
    if let Some(n) = &d.netbios_name {
        m.insert("netbiosName".into(), json!(n));
    }
    m.insert("created".into(), json!(d.created as f64));
    m.insert("lastContact".into(), epoch(last_contact));
    m.insert("lastUpdate".into(), epoch(last_contact));
    if !d.tags.is_empty() {
        m.insert("tags".into(), json!(d.tags));
    }
    m.insert("fields".into(), json!({}));
    Value::Object(m)
}
