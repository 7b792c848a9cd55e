//! The NinjaOne sandbox: the OAuth2 client-credentials token endpoint and the read-only parts of
//! the public API v2 the connector calls (`/v2/organizations`, `/v2/devices`,
//! `/v2/organization/{id}/devices`, `/v2/roles`), plus
//! a few neighbours (`/v2/locations`, `/v2/organization/{id}`, `/v2/device/{id}`) so the sandbox
//! can be poked at by hand. It enforces what the real service enforces: a form-encoded token
//! request with the right client, a bearer token on every `/v2` call, the `monitoring` scope for
//! reads, and keyset paging with `pageSize` and `after`.

// Early-return helpers yield the error response itself; it is built once per refused request,
// so its size on the stack does not matter and boxing would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::sample::{NinjaDevice, NinjaLocation, NinjaOrganization, NinjaRole, SplitMix64};
use super::{DemoCredentials, SampleMsp, query_get, query_pairs};

const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const SCOPES: &[&str] = &["monitoring", "management", "control", "offline_access"];

struct Token {
    scopes: Vec<String>,
    expires: Instant,
}

pub(super) struct NinjaState {
    sample: Arc<SampleMsp>,
    creds: DemoCredentials,
    tokens: Mutex<HashMap<String, Token>>,
    rng: Mutex<SplitMix64>,
    /// Each organization's devices, as indices into the sample's devices (in their order).
    devices_of: HashMap<i64, Vec<usize>>,
}

impl NinjaState {
    pub(super) fn new(sample: Arc<SampleMsp>, creds: DemoCredentials) -> Arc<NinjaState> {
        // Tokens only need to be unguessable between two sandboxes of one machine, not secure.
        let seed = Timestamp::now().as_nanosecond() as u64 ^ std::process::id() as u64;
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
            creds,
            tokens: Mutex::new(HashMap::new()),
            rng: Mutex::new(SplitMix64::new(seed)),
            devices_of,
        })
    }
}

pub(super) fn router(state: Arc<NinjaState>) -> Router {
    Router::new()
        .route("/ws/oauth/token", post(token))
        .route("/v2/organizations", get(organizations))
        .route("/v2/organization/{id}", get(organization))
        .route("/v2/organization/{id}/devices", get(organization_devices))
        .route("/v2/devices", get(devices))
        .route("/v2/device/{id}", get(device))
        .route("/v2/roles", get(roles))
        .route("/v2/locations", get(locations))
        .fallback(fallback)
        .with_state(state)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(State(st): State<Arc<NinjaState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token request must be application/x-www-form-urlencoded",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    match field("grant_type") {
        "client_credentials" => {}
        "" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type `{other}` is not enabled for this client"),
            );
        }
    }
    if field("client_id") != st.creds.ninja_client_id
        || field("client_secret") != st.creds.ninja_client_secret
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    let mut scopes: Vec<String> = field("scope")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        scopes.push("monitoring".into());
    }
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("scope `{bad}` is not valid"),
        );
    }
    let access_token = {
        let mut rng = st.rng.lock().expect("rng lock");
        format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
    };
    let scope = scopes.join(" ");
    st.tokens.lock().expect("token lock").insert(
        access_token.clone(),
        Token {
            scopes,
            expires: Instant::now() + TOKEN_LIFETIME,
        },
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME.as_secs(),
            "scope": scope,
        })),
    )
        .into_response()
}

/// Checks the bearer token and the `monitoring` scope every read needs.
fn authorize(st: &NinjaState, headers: &HeaderMap) -> Result<(), Response> {
    let unauthorized = |description: &str| {
        let mut resp = (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_token", "error_description": description})),
        )
            .into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"ninjaone\""),
        );
        resp
    };
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized("Full authentication is required"));
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return Err(unauthorized("Bearer token expected"));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized("Bearer token expected"));
    }
    let tokens = st.tokens.lock().expect("token lock");
    let Some(t) = tokens.get(token.trim()) else {
        return Err(unauthorized("Invalid access token"));
    };
    if Instant::now() >= t.expires {
        return Err(unauthorized("Access token expired"));
    }
    if !t.scopes.iter().any(|s| s == "monitoring") {
        return Err((
            StatusCode::FORBIDDEN,
            axum::Json(json!({
                "error": "insufficient_scope",
                "error_description": "this request needs the monitoring scope",
            })),
        )
            .into_response());
    }
    Ok(())
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "invalid_request", "error_description": message})),
    )
        .into_response()
}

/// `pageSize` and `after` as the API reads them: both optional integers.
fn keyset(raw: Option<&str>) -> Result<(Option<usize>, Option<i64>), Response> {
    let pairs = query_pairs(raw);
    let page_size = match query_get(&pairs, "pageSize") {
        None => None,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(bad_request(&format!(
                    "pageSize `{v}` is not a positive integer"
                )));
            }
        },
    };
    let after = match query_get(&pairs, "after") {
        None => None,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return Err(bad_request(&format!("after `{v}` is not an integer"))),
        },
    };
    if query_get(&pairs, "df").is_some() {
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
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
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
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
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
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
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
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
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
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| st.sample.ninjaone.devices.iter().find(|d| d.id == id));
    match found {
        Some(d) => axum::Json(device_json(d, Timestamp::now())).into_response(),
        None => not_found(),
    }
}

async fn roles(State(st): State<Arc<NinjaState>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let body: Vec<Value> = st.sample.ninjaone.roles.iter().map(role_json).collect();
    axum::Json(body).into_response()
}

async fn locations(
    State(st): State<Arc<NinjaState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
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
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    not_found()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"resultCode": "NOT_FOUND", "errorMessage": "Not found"})),
    )
        .into_response()
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
