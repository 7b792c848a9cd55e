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
use crate::demo::kit::http::{Query, by_id, reply};
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
        Surface::router(router(ApiState::new(sample)))
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

struct ApiState {
    sample: Arc<SampleMsp>,
    /// Each token's scopes.
    tokens: Tokens<Vec<String>>,
    /// Each organization's devices, as indices into the sample's devices (in their order).
    devices_of: HashMap<i64, Vec<usize>>,
}

impl ApiState {
    fn new(sample: Arc<SampleMsp>) -> Arc<ApiState> {
        let mut devices_of: HashMap<i64, Vec<usize>> = sample
            .ninjaone
            .organizations
            .iter()
            .map(|o| (o.id, Vec::new()))
            .collect();
        for (i, d) in sample.ninjaone.devices.iter().enumerate() {
            devices_of.entry(d.organization_id).or_default().push(i);
        }
        Arc::new(ApiState {
            sample,
            tokens: Tokens::default(),
            devices_of,
        })
    }
}

fn router(state: Arc<ApiState>) -> Router {
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

async fn token(State(st): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
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
fn authorize(st: &Arc<ApiState>, headers: &HeaderMap) -> Result<(), Response> {
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
        return Err(unauthorized(
            if headers.contains_key(header::AUTHORIZATION) {
                "Bearer token expected"
            } else {
                "Full authentication is required"
            },
        ));
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

/// A keyset-paged list: the records with an id above `after`, in id order, at most `pageSize`
/// of them (both optional integers), each as `json`.
fn listing<T>(
    raw: Option<&str>,
    items: &[T],
    id: impl Fn(&T) -> i64,
    json: impl Fn(&T) -> Value,
) -> Response {
    let q = Query::parse(raw);
    let page_size = match q.positive("pageSize") {
        Ok(n) => n.unwrap_or(usize::MAX),
        Err(v) => return bad_request(&format!("pageSize `{v}` is not a positive integer")),
    };
    let after = match q.number::<i64>("after") {
        Ok(after) => after,
        Err(v) => return bad_request(&format!("after `{v}` is not an integer")),
    };
    if q.get("df").is_some() {
        // Silently ignoring a filter would return wrong data; say so instead.
        return bad_request("the demo sandbox does not evaluate device filters (df)");
    }
    let body: Vec<Value> = items
        .iter()
        .filter(|t| after.is_none_or(|a| id(t) > a))
        .take(page_size)
        .map(json)
        .collect();
    axum::Json(body).into_response()
}

async fn organizations(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let orgs = &st.sample.ninjaone.organizations;
    listing(q.as_deref(), orgs, |o| o.id, organization_json)
}

async fn organization(State(st): State<Arc<ApiState>>, Path(id): Path<String>) -> Response {
    match by_id(&st.sample.ninjaone.organizations, &id, |o| o.id) {
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

async fn devices(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let now = Timestamp::now();
    let devices = &st.sample.ninjaone.devices;
    listing(q.as_deref(), devices, |d| d.id, |d| device_json(d, now))
}

/// One organization's devices: the same keyset paging and records as `/v2/devices`.
async fn organization_devices(
    State(st): State<Arc<ApiState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(indices) = id.parse::<i64>().ok().and_then(|id| st.devices_of.get(&id)) else {
        return not_found();
    };
    let devices = &st.sample.ninjaone.devices;
    let now = Timestamp::now();
    listing(
        q.as_deref(),
        indices,
        |&i| devices[i].id,
        |&i| device_json(&devices[i], now),
    )
}

async fn device(State(st): State<Arc<ApiState>>, Path(id): Path<String>) -> Response {
    match by_id(&st.sample.ninjaone.devices, &id, |d| d.id) {
        Some(d) => axum::Json(device_json(d, Timestamp::now())).into_response(),
        None => not_found(),
    }
}

async fn roles(State(st): State<Arc<ApiState>>) -> Response {
    let body: Vec<Value> = st.sample.ninjaone.roles.iter().map(role_json).collect();
    axum::Json(body).into_response()
}

async fn locations(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let mut locs: Vec<&NinjaLocation> = st.sample.ninjaone.locations.iter().collect();
    locs.sort_by_key(|l| l.id);
    listing(q.as_deref(), &locs, |l| l.id, |l| location_json(l))
}

async fn fallback(State(st): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::connectors::{Connector, ConnectorKind};
    use crate::demo::kit::testing::{ninja, vendor_snapshot};
    use crate::demo::{Sandbox, sample};
    use crate::http::ConnectorError;

    /// The token endpoint's answer to the demo client asking for `scope`.
    async fn token(http: &reqwest::Client, sb: &Sandbox, scope: &str) -> serde_json::Value {
        let url = format!("{}/ws/oauth/token", sb.url(ConnectorKind::NinjaOne));
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("scope", scope),
        ];
        let resp = http.post(url).form(&form).send().await.unwrap();
        resp.json().await.unwrap()
    }

    #[tokio::test]
    async fn ninjaone_sync_pages_through_the_sandbox() {
        let s = sample();
        let sb = Sandbox::start(s.clone()).await.unwrap();
        let connector = ninja(&sb, Some(100), DEMO_CLIENT_SECRET);
        let check = connector.check().await.unwrap();
        assert!(check.contains("organizations are readable"), "{check}");
        let snap = vendor_snapshot(&connector).await;

        assert_eq!(snap.accounts.len(), s.ninjaone.organizations.len());
        assert_eq!(snap.items.len(), s.ninjaone.devices.len());
        let pages = sb
            .stats(ConnectorKind::NinjaOne)
            .endpoint("GET /v2/devices");
        assert!(pages >= 10, "{pages} device pages");
        assert_eq!(pages, s.ninjaone.devices.len() / 100 + 1);
        assert_eq!(
            sb.stats(ConnectorKind::NinjaOne)
                .endpoint("POST /ws/oauth/token"),
            1
        );
        assert_eq!(
            sb.stats(ConnectorKind::NinjaOne).endpoint("GET /v2/roles"),
            1
        );
        assert!(sb.stats(ConnectorKind::NinjaOne).total() >= pages + 3);

        let ids: BTreeSet<&str> = snap.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids.len(), snap.items.len(), "no device is read twice");
        for name in &s.planted.rolled_up_devices {
            let item = snap.items.iter().find(|i| &i.name == name).unwrap();
            assert_eq!(item.class, "WINDOWS_WORKSTATION");
            assert_eq!(item.raw_class, "WINDOWS_THIN_CLIENT");
            assert_eq!(
                item.attrs.get("role").map(String::as_str),
                Some("Library Thin Client")
            );
        }
        let unknown = snap
            .items
            .iter()
            .find(|i| i.name == s.planted.unknown_class_device)
            .unwrap();
        assert_eq!(
            unknown.attrs.get("unknown_class").map(String::as_str),
            Some("true")
        );
        let pending = snap.items.iter().filter(|i| i.pending_approval).count();
        let expected_pending = s
            .ninjaone
            .devices
            .iter()
            .filter(|d| d.approval_status == "PENDING")
            .count();
        assert_eq!(pending, expected_pending);
        assert!(snap.items.iter().any(|i| i.online == Some(false)));
        let recent = Timestamp::now() - jiff::SignedDuration::from_hours(1);
        assert!(
            snap.items
                .iter()
                .filter(|i| i.online == Some(true))
                .all(|i| i.last_contact.unwrap() > recent)
        );
        sb.shutdown().await;
    }

    #[tokio::test]
    async fn ninjaone_refuses_wrong_credentials_and_missing_tokens() {
        let sb = Sandbox::start(sample()).await.unwrap();
        let err = ninja(&sb, None, "not-the-secret")
            .check()
            .await
            .unwrap_err();
        match &err {
            ConnectorError::Auth { status, detail, .. } => {
                assert_eq!(*status, 401);
                assert!(detail.contains("invalid_client"), "{detail}");
            }
            other => panic!("expected an auth error, got {other:?}"),
        }

        let http = crate::http::build_reqwest(std::time::Duration::from_secs(30));
        let resp = http
            .get(format!("{}/v2/devices", sb.url(ConnectorKind::NinjaOne)))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let resp = http
            .get(format!("{}/v2/devices", sb.url(ConnectorKind::NinjaOne)))
            .bearer_auth("made-up")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        // The token endpoint takes a form, not JSON.
        let resp = http
            .post(format!(
                "{}/ws/oauth/token",
                sb.url(ConnectorKind::NinjaOne)
            ))
            .json(&serde_json::json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        // A token without the monitoring scope may not read.
        let token = token(&http, &sb, "management").await;
        assert_eq!(token["token_type"], "bearer");
        assert_eq!(token["expires_in"], 3600);
        let resp = http
            .get(format!(
                "{}/v2/organizations",
                sb.url(ConnectorKind::NinjaOne)
            ))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
    }

    #[tokio::test]
    async fn ninjaone_lists_one_organizations_devices_in_pages() {
        let s = sample();
        let sb = Sandbox::start(s.clone()).await.unwrap();
        let http = crate::http::build_reqwest(std::time::Duration::from_secs(30));
        let token = token(&http, &sb, "monitoring").await;
        let token = token["access_token"].as_str().unwrap().to_string();
        let get = |path: String| {
            http.get(format!("{}{path}", sb.url(ConnectorKind::NinjaOne)))
                .bearer_auth(&token)
                .send()
        };
        // The organization with the most devices, paged 7 at a time with `after` = the last id.
        let org = s
            .ninjaone
            .organizations
            .iter()
            .max_by_key(|o| {
                s.ninjaone
                    .devices
                    .iter()
                    .filter(|d| d.organization_id == o.id)
                    .count()
            })
            .unwrap();
        let want: Vec<i64> = s
            .ninjaone
            .devices
            .iter()
            .filter(|d| d.organization_id == org.id)
            .map(|d| d.id)
            .collect();
        assert!(want.len() > 14, "{} devices", want.len());
        let mut got = Vec::new();
        let mut pages = 0;
        let mut after = String::new();
        loop {
            let resp = get(format!(
                "/v2/organization/{}/devices?pageSize=7{after}",
                org.id
            ))
            .await
            .unwrap();
            assert_eq!(resp.status(), 200);
            let page: Vec<serde_json::Value> = resp.json().await.unwrap();
            pages += 1;
            assert!(page.iter().all(|d| d["organizationId"] == org.id));
            got.extend(page.iter().map(|d| d["id"].as_i64().unwrap()));
            if page.len() < 7 {
                break;
            }
            after = format!("&after={}", got.last().unwrap());
        }
        assert_eq!(
            got, want,
            "every device of the organization once, in id order"
        );
        assert_eq!(pages, want.len() / 7 + 1);
        // Same record as the whole list serves.
        let all: Vec<serde_json::Value> = get("/v2/devices".into())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let one: Vec<serde_json::Value> = get(format!("/v2/organization/{}/devices", org.id))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let first = all.iter().find(|d| d["id"] == one[0]["id"]).unwrap();
        assert_eq!(first["displayName"], one[0]["displayName"]);
        assert_eq!(first["nodeClass"], one[0]["nodeClass"]);
        assert_eq!(
            sb.stats(ConnectorKind::NinjaOne)
                .endpoint("GET /v2/organization/{id}/devices"),
            pages + 1
        );

        // An unknown organization is a 404 with NinjaOne's error body; no token is still a 401.
        let resp = get("/v2/organization/999999/devices".into()).await.unwrap();
        assert_eq!(resp.status(), 404);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["resultCode"], "NOT_FOUND");
        let resp = http
            .get(format!(
                "{}/v2/organization/{}/devices",
                sb.url(ConnectorKind::NinjaOne),
                org.id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        sb.shutdown().await;
    }
}
