//! The Sherweb sandbox for `reconcile demo`: the OAuth2 token endpoint and the two read-only
//! Service Provider API endpoints the connector calls (`GET /service-provider/v1/customers`,
//! `GET /service-provider/v1/billing/subscriptions?customerId=`), on one loopback server. It
//! enforces what the real service enforces: a form-encoded client-credentials token request
//! with the right client and the `service-provider` scope (the token call needs no gateway key),
//! and on every API call both a live bearer token and the `Ocp-Apim-Subscription-Key`, answering
//! a missing or wrong key like Azure API Management does.
//!
//! [`sample`] gives one customer per company name, deterministic subscriptions (two or three
//! Microsoft 365 / Acronis SKUs each) and one suspended customer; [`usage`] says what the
//! connector will count per customer and service key.

// Early-return helpers yield the error response itself, built once per refused request.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::sherweb::{SCOPE, Settings, families, services};
use crate::model::{UsageItem, slug};

pub const DEMO_CLIENT_ID: &str = "demo-sherweb-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-sherweb-secret-4Hc9";
pub const DEMO_SUBSCRIPTION_KEY: &str = "demo0sherweb0apim0key0000000001";

const TOKEN_PATH: &str = "/auth/oidc/connect/token";
const API_PREFIX: &str = "/service-provider/v1";

/// A product the sample sells: (SKU, product name, billing cycle, commitment term, monthly fee).
const PRODUCTS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "CFQ7TTC0LH18:0001",
        "Microsoft 365 Business Basic",
        "Monthly",
        Some("Annual"),
        "6.00",
    ),
    (
        "CFQ7TTC0LCHC:0002",
        "Microsoft 365 Business Premium",
        "Monthly",
        Some("Annual"),
        "22.00",
    ),
    (
        "CFQ7TTC0LDPB:0001",
        "Microsoft 365 Business Standard",
        "Yearly",
        Some("Annual"),
        "12.50",
    ),
    (
        "ACR-CPC-WS-SEAT",
        "Acronis Cyber Protect Cloud - Workstation",
        "Monthly",
        None,
        "3.75",
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct SampleCustomer {
    pub id: String,
    pub display_name: String,
    pub suspended_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleSubscription {
    pub id: String,
    pub customer_id: String,
    pub sku: String,
    pub product_name: String,
    pub quantity: i64,
    pub billing_cycle: String,
    pub commitment_term: Option<String>,
    pub recurring_fee: Decimal,
}

/// The sample partner's customers and their subscriptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub customers: Vec<SampleCustomer>,
    pub subscriptions: Vec<SampleSubscription>,
}

/// A GUID-shaped id from two numbers, so every run names things alike.
fn guid(kind: u32, n: usize) -> String {
    format!(
        "{kind:08x}-5a3e-4c39-9d3c-{:012x}",
        0x0a4a_1f0f_0000u64 + n as u64
    )
}

/// One customer per company (names exactly as given); the fourth, when there is one, is
/// suspended. Two or three subscriptions each, quantities fixed by position.
pub fn sample(companies: &[&str]) -> Sample {
    let mut customers = Vec::new();
    let mut subscriptions = Vec::new();
    for (i, company) in companies.iter().enumerate() {
        let id = guid(0x2f1d_6a59, i);
        customers.push(SampleCustomer {
            id: id.clone(),
            display_name: company.to_string(),
            suspended_on: (i == 3).then(|| "2024-03-02T14:05:11.1234567".to_string()),
        });
        let picks = if i % 3 == 2 { 3 } else { 2 };
        for k in 0..picks {
            let (sku, name, cycle, term, fee) = PRODUCTS[(i + k) % PRODUCTS.len()];
            subscriptions.push(SampleSubscription {
                id: guid(0xa4c1_340d, subscriptions.len()),
                customer_id: id.clone(),
                sku: sku.into(),
                product_name: name.into(),
                quantity: 2 + ((i * 7 + k * 5) % 17) as i64,
                billing_cycle: cycle.into(),
                commitment_term: term.map(str::to_string),
                recurring_fee: fee.parse().expect("a valid fee"),
            });
        }
    }
    Sample {
        customers,
        subscriptions,
    }
}

/// Per (customer name, service key): the units the connector counts, computed from the records
/// (static services and one per SKU).
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for s in &sample.subscriptions {
        let c = sample
            .customers
            .iter()
            .find(|c| c.id == s.customer_id)
            .expect("every subscription has its customer");
        let q = Decimal::from(s.quantity.max(0));
        let mut add = |key: String, units: Decimal| {
            *out.entry((c.display_name.clone(), key)).or_default() += units;
        };
        add("subscriptions".into(), Decimal::ONE);
        add("seats".into(), q);
        if c.suspended_on.is_some() {
            add("suspended-seats".into(), q);
        }
        add(slug(&s.sku), q);
    }
    out.into_iter()
        .filter(|(_, q)| *q > Decimal::ZERO)
        .map(|((a, k), q)| (a, k, q))
        .collect()
}

/// The same counts from a synced snapshot, through the connector's services: what the demo test
/// compares [`usage`] against.
pub fn counted(
    accounts: &[(String, String)],
    items: &[UsageItem],
) -> Vec<(String, String, Decimal)> {
    let mut defs = services();
    for f in families() {
        defs.extend(f.expand(items));
    }
    let names: HashMap<&str, &str> = accounts
        .iter()
        .map(|(id, n)| (id.as_str(), n.as_str()))
        .collect();
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for item in items {
        for d in &defs {
            let w = d.weight(item);
            if w > Decimal::ZERO {
                let name = names.get(item.account_id.as_str()).copied().unwrap_or("?");
                *out.entry((name.to_string(), d.key.clone())).or_default() += w;
            }
        }
    }
    out.into_iter().map(|((a, k), q)| (a, k, q)).collect()
}

struct SwState {
    sample: Arc<Sample>,
    tokens: Mutex<HashSet<String>>,
    next: AtomicU64,
}

/// The running sandbox; stops when dropped.
pub struct Server {
    /// Requests served so far.
    pub stats: Arc<super::RequestStats>,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    _served: super::Served,
}

impl Server {
    pub fn api_url(&self) -> String {
        format!("{}{API_PREFIX}", self.origin)
    }

    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.origin)
    }

    /// Connection settings pointing at this sandbox with the demo client id.
    pub fn settings(&self) -> Settings {
        Settings {
            client_id: DEMO_CLIENT_ID.into(),
            api_url: Some(self.api_url()),
            token_url: Some(self.token_url()),
        }
    }
}

/// Starts the sandbox on a random loopback port of the current tokio runtime.
pub async fn start(sample: Arc<Sample>) -> anyhow::Result<Server> {
    let state = Arc::new(SwState {
        sample,
        tokens: Mutex::new(HashSet::new()),
        next: AtomicU64::new(1),
    });
    let app = Router::new()
        .route(TOKEN_PATH, post(token))
        .route(&format!("{API_PREFIX}/customers"), get(customers))
        .route(
            &format!("{API_PREFIX}/billing/subscriptions"),
            get(subscriptions),
        )
        .fallback(fallback)
        .with_state(state);
    let served = super::Served::start(app, "Sherweb").await?;
    Ok(Server {
        stats: served.stats.clone(),
        origin: served.url.clone(),
        _served: served,
    })
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({ "error": error }))).into_response()
}

async fn token(State(st): State<Arc<SwState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if field("client_id") != DEMO_CLIENT_ID || field("client_secret") != DEMO_CLIENT_SECRET {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    if !field("scope").split_whitespace().any(|s| s == SCOPE) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let n = st.next.fetch_add(1, Ordering::Relaxed);
    let access_token = format!("demo-sherweb-token-{n:08}");
    st.tokens
        .lock()
        .expect("token lock")
        .insert(access_token.clone());
    axum::Json(json!({
        "access_token": access_token,
        "expires_in": 3600,
        "token_type": "Bearer",
        "scope": SCOPE,
    }))
    .into_response()
}

/// The gateway key first (APIM checks it before the request reaches the API), then the token.
fn authorize(st: &SwState, headers: &HeaderMap) -> Result<(), Response> {
    let key = headers
        .get("ocp-apim-subscription-key")
        .and_then(|v| v.to_str().ok());
    let apim = |message: &str| {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "statusCode": 401, "message": message })),
        )
            .into_response()
    };
    match key {
        None => {
            return Err(apim(
                "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
            ));
        }
        Some(k) if k != DEMO_SUBSCRIPTION_KEY => {
            return Err(apim(
                "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
            ));
        }
        Some(_) => {}
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer.is_some_and(|t| st.tokens.lock().expect("token lock").contains(t.trim()));
    if !valid {
        return Err((
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "type": "https://tools.ietf.org/html/rfc7235#section-3.1",
                "title": "Unauthorized",
                "status": 401,
                "detail": "The access token is missing, invalid or expired.",
            })),
        )
            .into_response());
    }
    Ok(())
}

async fn customers(State(st): State<Arc<SwState>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let items: Vec<Value> = st
        .sample
        .customers
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "displayName": c.display_name,
                "path": ["Bluewave Demo MSP", c.display_name],
                "suspendedOn": c.suspended_on,
            })
        })
        .collect();
    axum::Json(json!({ "items": items })).into_response()
}

async fn subscriptions(
    State(st): State<Arc<SwState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let pairs = super::query_pairs(q.as_deref());
    let Some(customer) = super::query_get(&pairs, "customerId") else {
        return problem(StatusCode::BAD_REQUEST, "The customerId field is required.");
    };
    if !st.sample.customers.iter().any(|c| c.id == customer) {
        return problem(StatusCode::NOT_FOUND, "Customer not found.");
    }
    let items: Vec<Value> = st
        .sample
        .subscriptions
        .iter()
        .filter(|s| s.customer_id == customer)
        .map(|s| {
            json!({
                "id": s.id,
                "productName": s.product_name,
                "description": format!("{} - {}", s.product_name, s.commitment_term.as_deref().unwrap_or("No commitment")),
                "sku": s.sku,
                "quantity": s.quantity,
                "billingCycle": s.billing_cycle,
                "purchaseDate": "2024-01-15T09:30:00.0000000",
                "fees": {
                    // The API sends numbers; a Decimal with two places prints as one exactly.
                    "recurringFee": s.recurring_fee.to_string().parse::<serde_json::Number>().ok(),
                    "setupFee": 0,
                    "currency": "Usd",
                },
                "commitmentTerm": s.commitment_term.as_ref().map(|t| json!({
                    "type": t,
                    "termEndDate": "2026-01-14",
                    "renewalConfiguration": {"renewalDate": "2026-01-15", "scheduledQuantity": null},
                    "committedMinimalQuantities": [{"quantity": s.quantity, "committedUntil": "2026-01-14"}],
                })),
            })
        })
        .collect();
    axum::Json(json!({ "items": items })).into_response()
}

fn problem(status: StatusCode, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        })),
    )
        .into_response()
}

async fn fallback(State(st): State<Arc<SwState>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    problem(StatusCode::NOT_FOUND, "Resource not found.")
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::sherweb::Sherweb;
    use crate::connectors::{Connector, SyncCx};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    fn retry() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 2,
            base_delay: std::time::Duration::from_millis(10),
            max_retry_after: std::time::Duration::from_secs(1),
            timeout: std::time::Duration::from_secs(20),
            ..RetryPolicy::default()
        }
    }

    fn secrets(key: &'static str) -> impl Fn(&str) -> anyhow::Result<SecretString> {
        move |field: &str| {
            Ok(SecretString::from(match field {
                "client_secret" => DEMO_CLIENT_SECRET,
                "subscription_key" => key,
                other => anyhow::bail!("unexpected secret {other}"),
            }))
        }
    }

    const COMPANIES: &[&str] = &[
        "Acme Dental Group",
        "Northwind Traders",
        "Contoso Legal",
        "Fabrikam Logistics",
        "Tailspin Toys",
    ];

    #[test]
    fn the_sample_is_deterministic_with_one_customer_per_company() {
        let a = sample(COMPANIES);
        assert_eq!(a, sample(COMPANIES));
        let names: Vec<&str> = a
            .customers
            .iter()
            .map(|c| c.display_name.as_str())
            .collect();
        assert_eq!(names, COMPANIES);
        assert_eq!(a.subscriptions.len(), 11);
        assert_eq!(
            a.customers
                .iter()
                .filter(|c| c.suspended_on.is_some())
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn the_connector_counts_what_usage_says() {
        let s = Arc::new(sample(COMPANIES));
        let server = start(s.clone()).await.unwrap();
        let sw = Sherweb::new(
            "sherweb",
            &server.settings(),
            &secrets(DEMO_SUBSCRIPTION_KEY),
            retry(),
        )
        .unwrap();
        let check = sw.check().await.unwrap();
        assert!(
            check.contains("5 customers are readable (1 suspended)"),
            "{check}"
        );
        let Snapshot::Vendor(v) = sw.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert_eq!(v.accounts.len(), 5);
        assert_eq!(v.items.len(), 11);
        assert!(v.unreadable.is_empty());
        let accounts: Vec<(String, String)> = v
            .accounts
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        let want = usage(&s);
        assert_eq!(counted(&accounts, &v.items), want);
        assert!(want.iter().any(|(a, k, q)| a == "Fabrikam Logistics"
            && k == "suspended-seats"
            && *q > Decimal::ZERO));
        assert!(want.iter().any(|(_, k, _)| k == "cfq7ttc0lh18-0001"));
    }

    #[tokio::test]
    async fn a_wrong_subscription_key_is_refused_like_apim_does() {
        let server = start(Arc::new(sample(COMPANIES))).await.unwrap();
        let sw = Sherweb::new(
            "sherweb",
            &server.settings(),
            &secrets("wrong-key"),
            retry(),
        )
        .unwrap();
        let err = sw.check().await.unwrap_err();
        assert!(err.is_auth(), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("invalid subscription key"), "{msg}");
        assert!(msg.contains("Subscription Key"), "{msg}");
        assert!(!msg.contains("wrong-key"), "{msg}");
    }
}
