//! The Microsoft 365 sandbox for `reconcile demo`: one loopback server that is both the Entra ID
//! token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client credentials) and the Microsoft
//! Graph endpoints the connector reads (`/v1.0/tenantRelationships/delegatedAdminCustomers`,
//! `/v1.0/subscribedSkus`), with per-tenant bearer tokens and `@odata.nextLink` paging. One
//! extra customer tenant has not consented to the app: its token endpoint answers AADSTS65001,
//! so a demo sync shows a partial run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::m365::{AuthMode, Settings};
use crate::model::slug;

pub const DEMO_PARTNER_TENANT: &str = "0d3e5a7c-9b1f-4e2d-8c6a-5f4e3d2c1b0a";
pub const DEMO_CLIENT_ID: &str = "7c1e9a3f-2d4b-4f6e-8a0c-1b3d5f7e9a2c";
pub const DEMO_CLIENT_SECRET: &str = "demo-m365-secret-Vq8~Lr2";
/// The customer tenant that has not consented to the app.
pub const DEMO_UNCONSENTED_NAME: &str = "Wingtip Toys (no consent)";

/// Records per page the demo's sandbox serves (whatever `$top` asks), so a demo sync pages.
const DEMO_PAGE: usize = 3;
/// The largest page [`scaled`] serves: `delegatedAdminCustomers` honours `$top` up to 300, and
/// `subscribedSkus` answers in one page, as Graph does.
const GRAPH_MAX_PAGE: usize = 300;

#[derive(Debug, Clone, PartialEq)]
pub struct SampleSku {
    pub sku_id: String,
    pub part_number: String,
    pub applies_to: String,
    pub capability_status: String,
    pub enabled: i64,
    pub warning: i64,
    pub suspended: i64,
    pub consumed: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleTenant {
    pub id: String,
    pub name: String,
    pub consented: bool,
    pub skus: Vec<SampleSku>,
}

/// The customer tenants the partner has GDAP relationships with.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub tenants: Vec<SampleTenant>,
    /// The most records one page holds; `$top` asks for fewer, not more.
    pub max_page: usize,
}

/// (skuId, part number, applies to).
const CATALOG: &[(&str, &str, &str)] = &[
    ("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", "User"),
    (
        "4b9405b0-7788-4568-add1-99614e613b69",
        "EXCHANGESTANDARD",
        "User",
    ),
    (
        "3b555118-da6a-4418-894f-7df1e2096870",
        "O365_BUSINESS_ESSENTIALS",
        "User",
    ),
    ("f30db892-07e9-47e9-837c-80727f46fd3d", "FLOW_FREE", "User"),
    (
        "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0",
        "MCOPSTNC",
        "Company",
    ),
];

fn sku(i: usize, enabled: i64, warning: i64, consumed: i64) -> SampleSku {
    let (id, part, applies) = CATALOG[i];
    SampleSku {
        sku_id: id.into(),
        part_number: part.into(),
        applies_to: applies.into(),
        capability_status: if warning > 0 && enabled == 0 {
            "Warning"
        } else {
            "Enabled"
        }
        .into(),
        enabled,
        warning,
        suspended: 0,
        consumed,
    }
}

/// One tenant per company (names as given), plus one tenant without consent.
pub fn sample(companies: &[&str]) -> Sample {
    sample_with_unconsented(companies, DEMO_UNCONSENTED_NAME)
}

/// [`sample`], with the tenant without consent named `unconsented` (the demo names it after a
/// client, so its billed lines show as `stale_source` rather than over-billed).
pub fn sample_with_unconsented(companies: &[&str], unconsented: &str) -> Sample {
    let mut tenants = consented_tenants(companies.iter().copied());
    tenants.push(SampleTenant {
        id: tenant_id(companies.len()),
        name: unconsented.into(),
        consented: false,
        skus: vec![sku(0, 9, 0, 9)],
    });
    Sample {
        tenants,
        max_page: DEMO_PAGE,
    }
}

/// `tenants` customer tenants (`Tenant 0001` ...), all consented, each with one to three SKUs
/// (the first with five), served in pages as large as Graph's: the scaled benchmark's tenants.
pub fn scaled(tenants: usize) -> Sample {
    let names: Vec<String> = (1..=tenants).map(|i| format!("Tenant {i:04}")).collect();
    Sample {
        tenants: consented_tenants(names.iter().map(String::as_str)),
        max_page: GRAPH_MAX_PAGE,
    }
}

fn consented_tenants<'a>(companies: impl Iterator<Item = &'a str>) -> Vec<SampleTenant> {
    companies
        .enumerate()
        .map(|(i, name)| {
            let n = i as i64;
            let premium = 4 + (n * 5) % 13;
            let mut skus = vec![sku(0, premium, 0, premium - n % 3)];
            if i % 2 == 0 {
                let kiosk = 2 + n % 4;
                skus.push(sku(1, kiosk, 0, kiosk));
            }
            if i % 3 == 1 {
                // In its grace period: the units are in `warning`, still billed.
                skus.push(sku(2, 0, 3 + n % 5, 2 + n % 5));
            }
            if i == 0 {
                skus.push(sku(3, 10000, 0, 2));
                skus.push(sku(4, 1, 0, 0));
            }
            SampleTenant {
                id: tenant_id(i),
                name: name.to_string(),
                consented: true,
                skus,
            }
        })
        .collect()
}

fn tenant_id(i: usize) -> String {
    format!(
        "{:08x}-5d1e-4c2b-9a3f-{:012x}",
        0x6e00_0000u32 + i as u32,
        0x1c0f_fee0_0000u64 + i as u64
    )
}

/// Per (tenant name, service key): purchased and assigned seats per SKU, as the connector
/// counts them. The unconsented tenant is not read, so it has no usage.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out = Vec::new();
    for t in sample.tenants.iter().filter(|t| t.consented) {
        for s in &t.skus {
            let key = slug(&s.part_number);
            out.push((
                t.name.clone(),
                format!("{key}:purchased"),
                Decimal::from(s.enabled + s.warning),
            ));
            out.push((
                t.name.clone(),
                format!("{key}:assigned"),
                Decimal::from(s.consumed),
            ));
        }
    }
    out
}

struct M365State {
    sample: Arc<Sample>,
    base: String,
    /// Access token → tenant id.
    tokens: Mutex<HashMap<String, String>>,
    issued: AtomicUsize,
}

/// The running sandbox; stops when dropped.
pub struct Server {
    /// Requests served so far.
    pub stats: Arc<super::RequestStats>,
    /// Token host and Graph host both (`http://127.0.0.1:PORT`).
    pub url: String,
    _served: super::Served,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("url", &self.url).finish()
    }
}

impl Server {
    /// Settings for a connection to this sandbox: GDAP tenants, client credentials.
    pub fn settings(&self) -> Settings {
        Settings {
            partner_tenant_id: DEMO_PARTNER_TENANT.into(),
            client_id: DEMO_CLIENT_ID.into(),
            auth: AuthMode::ClientCredentials,
            tenants: Vec::new(),
            token_host: Some(self.url.clone()),
            graph_host: Some(self.url.clone()),
            partner_center: false,
            partner_center_host: None,
        }
    }
}

pub async fn start(sample: Arc<Sample>) -> anyhow::Result<Server> {
    start_with(sample, Arc::default()).await
}

/// [`start`] with a per-request latency.
pub async fn start_with(
    sample: Arc<Sample>,
    latency: Arc<super::Latency>,
) -> anyhow::Result<Server> {
    let served = super::Served::start_delayed("Microsoft 365", latency, |url| {
        let state = Arc::new(M365State {
            sample,
            base: url.to_string(),
            tokens: Mutex::new(HashMap::new()),
            issued: AtomicUsize::new(0),
        });
        Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route(
                "/v1.0/tenantRelationships/delegatedAdminCustomers",
                get(customers),
            )
            .route("/v1.0/subscribedSkus", get(subscribed_skus))
            .fallback(|| async {
                graph_error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "Resource not found for the segment.",
                )
            })
            .with_state(state)
    })
    .await?;
    Ok(Server {
        stats: served.stats.clone(),
        url: served.url.clone(),
        _served: served,
    })
}

fn token_error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text} Trace ID: 00000000-0000-0000-0000-000000000000"),
            "error_codes": [code],
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        })),
    )
        .into_response()
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message, "innerError": {}}})),
    )
        .into_response()
}

async fn token(
    State(st): State<Arc<M365State>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "client_credentials" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if get("client_id") != DEMO_CLIENT_ID {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application was not found in the directory.",
        );
    }
    if get("client_secret") != DEMO_CLIENT_SECRET {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        );
    }
    if !get("scope").ends_with("/.default") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid.",
        );
    }
    if tenant != DEMO_PARTNER_TENANT {
        match st.sample.tenants.iter().find(|t| t.id == tenant) {
            None => {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    90002,
                    "Tenant not found.",
                );
            }
            Some(t) if !t.consented => {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client",
                    65001,
                    "The user or administrator has not consented to use the application.",
                );
            }
            Some(_) => {}
        }
    }
    let n = st.issued.fetch_add(1, Ordering::Relaxed);
    let access = format!("demo-m365-{n}-{tenant}");
    st.tokens
        .lock()
        .expect("token lock")
        .insert(access.clone(), tenant);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access})),
    )
        .into_response()
}

/// The tenant the bearer token was issued for, or the 401 Graph sends.
#[allow(clippy::result_large_err)]
fn tenant_of(st: &M365State, headers: &HeaderMap) -> Result<String, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    token
        .and_then(|t| st.tokens.lock().expect("token lock").get(t).cloned())
        .ok_or_else(|| {
            graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty or invalid.",
            )
        })
}

/// One page of `all` by `$skiptoken` (an offset) and `$top` (at most the sample's page), with
/// `@odata.nextLink` when more remain.
fn page(
    st: &M365State,
    path: &str,
    context: &str,
    query: Option<String>,
    all: Vec<Value>,
) -> Response {
    let param = |name: &str| -> Option<usize> {
        query.as_deref().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse().ok())
        })
    };
    let skip = param("$skiptoken").unwrap_or(0);
    let max = st.sample.max_page;
    let size = param("$top").map_or(max, |top| top.clamp(1, max));
    let chunk: Vec<Value> = all.iter().skip(skip).take(size).cloned().collect();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{context}"),
        "value": chunk,
    });
    if skip + size < all.len() {
        // The link does not repeat `$top`; the sandbox's pages after the first are full size.
        body["@odata.nextLink"] = json!(format!("{}{path}?$skiptoken={}", st.base, skip + size));
    }
    Json(body).into_response()
}

async fn customers(
    State(st): State<Arc<M365State>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match tenant_of(&st, &headers) {
        Ok(t) if t == DEMO_PARTNER_TENANT => {}
        Ok(_) => {
            return graph_error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            );
        }
        Err(r) => return r,
    }
    let all = st
        .sample
        .tenants
        .iter()
        .map(|t| json!({"@odata.type": "#microsoft.graph.delegatedAdminCustomer", "id": t.id, "tenantId": t.id, "displayName": t.name}))
        .collect();
    page(
        &st,
        "/v1.0/tenantRelationships/delegatedAdminCustomers",
        "tenantRelationships/delegatedAdminCustomers",
        query,
        all,
    )
}

async fn subscribed_skus(
    State(st): State<Arc<M365State>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let tenant = match tenant_of(&st, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(t) = st.sample.tenants.iter().find(|t| t.id == tenant) else {
        // The partner tenant's own licenses are not part of the sample.
        return page(
            &st,
            "/v1.0/subscribedSkus",
            "subscribedSkus",
            query,
            Vec::new(),
        );
    };
    let all = t
        .skus
        .iter()
        .map(|s| {
            json!({
                "id": format!("{}_{}", t.id, s.sku_id),
                "skuId": s.sku_id,
                "skuPartNumber": s.part_number,
                "appliesTo": s.applies_to,
                "capabilityStatus": s.capability_status,
                "consumedUnits": s.consumed,
                "prepaidUnits": {"enabled": s.enabled, "suspended": s.suspended, "warning": s.warning, "lockedOut": 0},
                "servicePlans": [],
            })
        })
        .collect();
    page(&st, "/v1.0/subscribedSkus", "subscribedSkus", query, all)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::SecretString;

    use super::*;
    use crate::connectors::m365::{M365, families};
    use crate::connectors::{Connector, SyncCx};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_reads_what_usage_says() {
        let sample = Arc::new(sample(&["Acme Corp", "Globex", "Initech", "Umbrella"]));
        let server = start(sample.clone()).await.unwrap();
        let secret = |f: &str| -> anyhow::Result<SecretString> {
            assert_eq!(f, "client_secret", "client credentials need nothing else");
            Ok(SecretString::from(DEMO_CLIENT_SECRET))
        };
        let m = M365::new("m365", &server.settings(), &secret, RetryPolicy::default()).unwrap();
        assert!(m.check().await.unwrap().contains("5 GDAP customer tenants"));
        let Snapshot::Vendor(snap) = m.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("vendor snapshot expected")
        };
        assert_eq!(snap.accounts.len(), 5);
        assert_eq!(snap.unreadable.len(), 1);
        let why = snap.unreadable.values().next().unwrap();
        assert!(why.contains("AADSTS65001"), "{why}");
        assert!(
            snap.unreadable_notes()[0].contains(DEMO_UNCONSENTED_NAME),
            "{:?}",
            snap.unreadable_notes()
        );

        let name_of: HashMap<&str, &str> = snap
            .accounts
            .iter()
            .map(|a| (a.id.as_str(), a.name.as_str()))
            .collect();
        let mut got: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for f in families() {
            for def in f.expand(snap.items.iter()) {
                for item in &snap.items {
                    let w = def.weight(item);
                    if def.counts(item) {
                        *got.entry((
                            name_of[item.account_id.as_str()].to_string(),
                            def.key.clone(),
                        ))
                        .or_default() += w;
                    }
                }
            }
        }
        let want: BTreeMap<(String, String), Decimal> = usage(&sample)
            .into_iter()
            .filter(|(_, _, q)| !q.is_zero())
            .map(|(a, k, q)| ((a, k), q))
            .collect();
        got.retain(|_, q| !q.is_zero());
        assert_eq!(got, want);
        assert!(want.contains_key(&(
            "Globex".to_string(),
            "o365_business_essentials:purchased".to_string()
        )));
        assert_eq!(
            want[&("Acme Corp".to_string(), "spb:purchased".to_string())],
            Decimal::from(4)
        );
    }
}
