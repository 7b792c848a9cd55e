//! The Microsoft 365 sandbox for `reconcile demo`: one loopback server that is both the Entra ID
//! token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client credentials) and the Microsoft
//! Graph endpoints the connector reads (`/v1.0/tenantRelationships/delegatedAdminCustomers`,
//! `/v1.0/subscribedSkus`), with per-tenant bearer tokens and `@odata.nextLink` paging. One
//! extra customer tenant has not consented to the app: its token endpoint answers AADSTS65001,
//! so a demo sync shows a partial run.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::m365::{AuthMode, Settings};
use crate::demo::kit::auth::{Refusal, Tokens, bearer, client_credentials, granted, guard};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};
use crate::demo::sample::CwData;
use crate::demo::vendors::{Billed, ClientAgreement, DemoVendor};
use crate::model::slug;

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

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
const TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// The Microsoft 365 sandbox: Entra ID's token endpoint and Graph on one server.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-m365";
    const CONNECT_ORDER: u8 = 6;

    fn surface(sample: Arc<Sample>) -> Surface {
        Surface::api(move |url| {
            let state = Arc::new(ApiState {
                sample,
                base: url.to_string(),
                tokens: Tokens::default(),
            });
            let graph = Router::new()
                .route(
                    "/v1.0/tenantRelationships/delegatedAdminCustomers",
                    get(customers),
                )
                .route("/v1.0/subscribedSkus", get(subscribed_skus));
            guard(graph, state.clone(), tenant_of)
                .route("/{tenant}/oauth2/v2.0/token", post(token))
                .fallback(|| async {
                    graph_error(
                        StatusCode::NOT_FOUND,
                        "Request_ResourceNotFound",
                        "Resource not found for the segment.",
                    )
                })
                .with_state(state)
        })
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let settings = Settings {
            partner_tenant_id: DEMO_PARTNER_TENANT.into(),
            client_id: DEMO_CLIENT_ID.into(),
            auth: AuthMode::ClientCredentials,
            tenants: Vec::new(),
            token_host: Some(served.url().to_string()),
            graph_host: Some(served.url().to_string()),
            partner_center: false,
            partner_center_host: None,
        };
        let flags = format!(
            "--partner-tenant {} --client-id {} --token-host {} --graph-host {}",
            settings.partner_tenant_id,
            settings.client_id,
            settings.token_host(),
            settings.graph_host()
        );
        Connection::new(settings, flags).secret("client_secret", DEMO_CLIENT_SECRET)
    }
}

/// Licenses billed on purchased seats per SKU.
const BILLED: &[Billed] = &[
    (
        "spb:purchased",
        "M365-PREMIUM",
        "Microsoft 365 Business Premium license",
        "26.40",
        "22.00",
    ),
    (
        "exchangestandard:purchased",
        "EXO-P1",
        "Exchange Online (Plan 1) license",
        "4.80",
        "4.00",
    ),
    (
        "o365_business_essentials:purchased",
        "M365-BASIC",
        "Microsoft 365 Business Basic license",
        "7.20",
        "6.00",
    ),
];

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        billed: BILLED,
        clients: 18..23,
        plant_order: 4,
        generate: sample,
        usage,
    };

    /// The last client's tenant has not consented to the app: its line (9 Business Premium
    /// seats) is `stale_source`; the others are planted as any vendor's.
    fn plant(cw: &mut CwData, clients: &[&ClientAgreement]) -> (Sample, DemoVendor) {
        let (unconsented, consented) = clients.split_last().expect("the vendor's clients");
        let names: Vec<&str> = consented.iter().map(|c| c.name.as_str()).collect();
        let sample = sample_with_unconsented(&names, &unconsented.name);
        let mut planted = crate::demo::vendors::plant::<Self>(cw, consented, &usage(&sample));
        planted.plant_unreadable(cw, unconsented, &BILLED[0], Decimal::from(9));
        (sample, planted)
    }
}

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

impl Default for Sample {
    /// No tenants, served in the demo's pages.
    fn default() -> Self {
        Sample {
            tenants: Vec::new(),
            max_page: DEMO_PAGE,
        }
    }
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

struct ApiState {
    sample: Arc<Sample>,
    base: String,
    /// Each access token's tenant.
    tokens: Tokens<String>,
}

/// Entra ID's error: the OAuth error with its AADSTS code.
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
    reply(
        status,
        json!({"error": {"code": code, "message": message, "innerError": {}}}),
    )
}

async fn token(
    State(st): State<Arc<ApiState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match client_credentials(&headers, &body, (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)) {
        Ok(form) => form,
        Err(Refusal::NotForm) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            );
        }
        Err(Refusal::NoGrant | Refusal::Grant(_)) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            );
        }
        Err(Refusal::UnknownClient) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700016,
                "Application was not found in the directory.",
            );
        }
        Err(Refusal::WrongSecret) => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                "Invalid client secret provided.",
            );
        }
    };
    if !form.get("scope").ends_with("/.default") {
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
    let access = st.tokens.issue(tenant, TOKEN_LIFETIME);
    granted(
        &access,
        "Bearer",
        TOKEN_LIFETIME,
        json!({"ext_expires_in": TOKEN_LIFETIME.as_secs()}),
    )
}

/// The tenant the bearer token was issued for, or the 401 Graph sends.
fn tenant_of(st: &Arc<ApiState>, headers: &HeaderMap) -> Result<String, Response> {
    bearer(headers)
        .and_then(|t| st.tokens.check(t).ok())
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
    st: &ApiState,
    path: &str,
    context: &str,
    query: Option<String>,
    all: Vec<Value>,
) -> Response {
    let q = Query::parse(query.as_deref());
    let param = |name: &str| q.number::<usize>(name).ok().flatten();
    let max = st.sample.max_page;
    let window = Window {
        skip: param("$skiptoken").unwrap_or(0),
        take: param("$top").map_or(max, |top| top.clamp(1, max)),
    };
    let total = all.len();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{context}"),
        "value": window.of(all),
    });
    if window.more(total) {
        // The link does not repeat `$top`; the sandbox's pages after the first are full size.
        body["@odata.nextLink"] = json!(format!("{}{path}?$skiptoken={}", st.base, window.end()));
    }
    Json(body).into_response()
}

async fn customers(
    State(st): State<Arc<ApiState>>,
    Extension(tenant): Extension<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if tenant != DEMO_PARTNER_TENANT {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
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
    State(st): State<Arc<ApiState>>,
    Extension(tenant): Extension<String>,
    RawQuery(query): RawQuery,
) -> Response {
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

    use std::collections::HashMap;

    use super::*;
    use crate::connectors::m365::{M365, families};
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_reads_what_usage_says() {
        let sample = Arc::new(sample(&["Acme Corp", "Globex", "Initech", "Umbrella"]));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let secret = |f: &str| -> anyhow::Result<SecretString> {
            assert_eq!(f, "client_secret", "client credentials need nothing else");
            Ok(SecretString::from(DEMO_CLIENT_SECRET))
        };
        let settings = Api::connection(&server, &sample).settings;
        let m = M365::new("m365", &settings, &secret, RetryPolicy::default()).unwrap();
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
