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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::sherweb::{SCOPE, Settings, families, services};
use crate::demo::kit::auth::{
    Refusal, Tokens, bearer, client_credentials, granted, guard, header, oauth_error,
};
use crate::demo::kit::http::{Query, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};
use crate::model::{UsageItem, slug};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

pub const DEMO_CLIENT_ID: &str = "demo-sherweb-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-sherweb-secret-4Hc9";
pub const DEMO_SUBSCRIPTION_KEY: &str = "demo0sherweb0apim0key0000000001";

const TOKEN_PATH: &str = "/auth/oidc/connect/token";
const API_PREFIX: &str = "/service-provider/v1";
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The Sherweb sandbox: the token endpoint and the Service Provider API on one server.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-sherweb";
    const CONNECT_ORDER: u8 = 4;

    fn surface(sample: Arc<Sample>) -> Surface {
        let state = Arc::new(ApiState {
            sample,
            tokens: Tokens::default(),
        });
        let api = Router::new()
            .route(&format!("{API_PREFIX}/customers"), get(customers))
            .route(
                &format!("{API_PREFIX}/billing/subscriptions"),
                get(subscriptions),
            );
        let app = guard(api, state.clone(), authorize)
            .route(TOKEN_PATH, post(token))
            .fallback(fallback)
            .with_state(state);
        Surface::router(app)
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let api_url = format!("{}{API_PREFIX}", served.url());
        let token_url = format!("{}{TOKEN_PATH}", served.url());
        let flags =
            format!("--client-id {DEMO_CLIENT_ID} --api-url {api_url} --token-url {token_url}");
        let settings = Settings {
            client_id: DEMO_CLIENT_ID.into(),
            api_url: Some(api_url),
            token_url: Some(token_url),
        };
        Connection::new(settings, flags)
            .secret("client_secret", DEMO_CLIENT_SECRET)
            .secret("subscription_key", DEMO_SUBSCRIPTION_KEY)
    }
}

impl Vendor for Api {
    const PLANTS_COST: bool = true;
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // The Microsoft 365 plans and the backup seats it resells, per SKU.
        billed: &[
            (
                "cfq7ttc0lh18-0001",
                "M365-BB",
                "Microsoft 365 Business Basic",
                "7.20",
                "6.00",
            ),
            (
                "cfq7ttc0lchc-0002",
                "M365-BP",
                "Microsoft 365 Business Premium",
                "26.40",
                "22.00",
            ),
            (
                "cfq7ttc0ldpb-0001",
                "M365-BS",
                "Microsoft 365 Business Standard",
                "15.00",
                "12.50",
            ),
            (
                "acr-cpc-ws-seat",
                "ACRONIS-WS",
                "Cloud Backup per workstation (Acronis)",
                "5.00",
                "3.75",
            ),
        ],
        clients: 10..15,
        plant_order: 5,
        generate: sample,
        usage,
    };
}

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
#[derive(Debug, Clone, Default, PartialEq)]
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
                // The fee is per billing cycle: a yearly subscription's is 12 months'.
                recurring_fee: fee.parse::<Decimal>().expect("a valid fee")
                    * if cycle == "Yearly" {
                        Decimal::from(12)
                    } else {
                        Decimal::ONE
                    },
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

struct ApiState {
    sample: Arc<Sample>,
    tokens: Tokens<()>,
}

async fn token(State(st): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let error = |e: &str| oauth_error(StatusCode::BAD_REQUEST, e, None);
    let form = match client_credentials(&headers, &body, (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)) {
        Ok(form) => form,
        Err(Refusal::NotForm) => return error("invalid_request"),
        Err(Refusal::NoGrant | Refusal::Grant(_)) => return error("unsupported_grant_type"),
        Err(Refusal::UnknownClient | Refusal::WrongSecret) => return error("invalid_client"),
    };
    if !form.get("scope").split_whitespace().any(|s| s == SCOPE) {
        return error("invalid_scope");
    }
    let access_token = st.tokens.issue((), TOKEN_LIFETIME);
    granted(
        &access_token,
        "Bearer",
        TOKEN_LIFETIME,
        json!({ "scope": SCOPE }),
    )
}

/// The gateway key first (APIM checks it before the request reaches the API), then the token.
fn authorize(st: &Arc<ApiState>, headers: &HeaderMap) -> Result<(), Response> {
    let apim = |message: &str| {
        reply(
            StatusCode::UNAUTHORIZED,
            json!({ "statusCode": 401, "message": message }),
        )
    };
    match header(headers, "ocp-apim-subscription-key") {
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
    if bearer(headers).is_some_and(|t| st.tokens.check(t).is_ok()) {
        return Ok(());
    }
    Err(reply(
        StatusCode::UNAUTHORIZED,
        json!({
            "type": "https://tools.ietf.org/html/rfc7235#section-3.1",
            "title": "Unauthorized",
            "status": 401,
            "detail": "The access token is missing, invalid or expired.",
        }),
    ))
}

async fn customers(State(st): State<Arc<ApiState>>) -> Response {
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
    reply(StatusCode::OK, json!({ "items": items }))
}

async fn subscriptions(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref());
    let Some(customer) = q.get("customerId") else {
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
    reply(StatusCode::OK, json!({ "items": items }))
}

fn problem(status: StatusCode, detail: &str) -> Response {
    reply(
        status,
        json!({
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        }),
    )
}

/// Unknown paths are refused like known ones, then not found: APIM and the API check first.
async fn fallback(State(st): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    match authorize(&st, &headers) {
        Err(refused) => refused,
        Ok(()) => problem(StatusCode::NOT_FOUND, "Resource not found."),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::sherweb::Sherweb;
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::testing::retry;
    use crate::demo::kit::{Api as _, serve};
    use crate::model::Snapshot;

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
        let server = serve::<Api>(s.clone()).await.unwrap();
        let sw = Sherweb::new(
            "sherweb",
            &Api::connection(&server, &s).settings,
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
        let s = Arc::new(sample(COMPANIES));
        let server = serve::<Api>(s.clone()).await.unwrap();
        let sw = Sherweb::new(
            "sherweb",
            &Api::connection(&server, &s).settings,
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
