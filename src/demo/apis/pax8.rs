//! The Pax8 sandbox for `reconcile demo`: the token endpoint (a JSON client-credentials body
//! with the partner audience) and the two read endpoints the connector calls (`GET
//! /v1/companies`, `GET /v1/subscriptions`), paged as the spec pages them (`page` from 0,
//! `size` at most 200, `page.totalPages`). The write endpoints the real API has (`PUT` and
//! `DELETE /v1/subscriptions/{id}`, `POST /v1/orders`, `POST /v1/companies`) place real orders
//! there; here they answer 405 and are counted in [`WRITES_REFUSED`], so a test can prove the
//! connector never tried one.
//!
//! [`sample`] gives one company per client name and two or three subscriptions each (Microsoft
//! 365 Business Premium, Business Basic, Exchange Online Plan 1), with a cancelled and a trial
//! subscription that must not count and an order still being provisioned that must; [`usage`]
//! says what the connector will count per company and service key.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::pax8::{COUNTED_STATUSES, DEFAULT_AUDIENCE, PAGE_SIZE, Settings};
use crate::demo::kit::auth::{Tokens, bearer, granted, guard, header, oauth_error};
use crate::demo::kit::http::{Query, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};
use crate::model::slug;

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

pub const DEMO_CLIENT_ID: &str = "demo-pax8-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-pax8-secret-Qm27";

const TOKEN_PATH: &str = "/v1/token";
const API_PREFIX: &str = "/v1";
const TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// Write requests every Pax8 sandbox refused since the process started: a test that runs the
/// connector asserts it stays 0.
pub static WRITES_REFUSED: AtomicUsize = AtomicUsize::new(0);

/// The Pax8 sandbox: the token endpoint and the Partner API on one server.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-pax8";
    const CONNECT_ORDER: u8 = 13;

    fn surface(sample: Arc<Sample>) -> Surface {
        let state = Arc::new(ApiState {
            sample,
            tokens: Tokens::default(),
        });
        let api = Router::new()
            .route(
                &format!("{API_PREFIX}/companies"),
                get(companies).post(refuse_write),
            )
            .route(&format!("{API_PREFIX}/subscriptions"), get(subscriptions))
            .route(
                &format!("{API_PREFIX}/subscriptions/{{id}}"),
                axum::routing::put(refuse_write).delete(refuse_write),
            )
            .route(&format!("{API_PREFIX}/orders"), post(refuse_write));
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
            audience: None,
        };
        Connection::new(settings, flags).secret("client_secret", DEMO_CLIENT_SECRET)
    }
}

impl Vendor for Api {
    const PLANTS_COST: bool = true;
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // Per SKU: what the MSP bills for each Microsoft 365 product bought through Pax8.
        billed: &[
            (
                "cfq7ttc0lchc-0002",
                "P8-M365-BP",
                "Microsoft 365 Business Premium (Pax8)",
                "26.40",
                "22.00",
            ),
            (
                "cfq7ttc0lh18-0001",
                "P8-M365-BB",
                "Microsoft 365 Business Basic (Pax8)",
                "7.20",
                "6.00",
            ),
            (
                "cfq7ttc0lh16-0001",
                "P8-EXO-P1",
                "Exchange Online (Plan 1) (Pax8)",
                "5.00",
                "4.00",
            ),
        ],
        clients: 19..23,
        plant_order: 11,
        generate: sample,
        usage,
    };
}

/// A product the sample sells: (vendor SKU id, product name, billing term, partner cost and
/// customer price per unit per month).
const PRODUCTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "CFQ7TTC0LCHC:0002",
        "Microsoft 365 Business Premium",
        "Monthly",
        "22.00",
        "26.40",
    ),
    (
        "CFQ7TTC0LH18:0001",
        "Microsoft 365 Business Basic",
        "Annual",
        "6.00",
        "7.20",
    ),
    (
        "CFQ7TTC0LH16:0001",
        "Exchange Online (Plan 1)",
        "Annual",
        "4.00",
        "5.00",
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct SampleCompany {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleSubscription {
    pub id: String,
    pub company_id: String,
    pub vendor_sku_id: String,
    pub product_name: String,
    pub quantity: i64,
    pub billing_term: String,
    pub status: String,
    pub partner_cost: Decimal,
    pub price: Decimal,
}

/// The sample partner's companies and their subscriptions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub companies: Vec<SampleCompany>,
    pub subscriptions: Vec<SampleSubscription>,
}

fn uuid(kind: u32, n: usize) -> String {
    format!(
        "{kind:08x}-7b2c-4f0e-8a61-{:012x}",
        0x0b5e_2c00_0000u64 + n as u64
    )
}

/// One company per name (as given); two subscriptions each, three for every third. The first
/// company also has a cancelled and a trial subscription (never counted), the second an order
/// still being provisioned (`PendingManual`: counted, Pax8 bills it from `billingStart`).
pub fn sample(names: &[&str]) -> Sample {
    let mut companies = Vec::new();
    let mut subscriptions = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let id = uuid(0x9c1e_44a0, i);
        companies.push(SampleCompany {
            id: id.clone(),
            name: name.to_string(),
        });
        let picks = if i % 3 == 2 { 3 } else { 2 };
        for k in 0..picks {
            let (sku, product, term, cost, price) = PRODUCTS[(i + k) % PRODUCTS.len()];
            let status = if i == 1 && k == 1 {
                "PendingManual"
            } else {
                "Active"
            };
            subscriptions.push(SampleSubscription {
                id: uuid(0x05c5_87df, subscriptions.len()),
                company_id: id.clone(),
                vendor_sku_id: sku.into(),
                product_name: product.into(),
                quantity: 3 + ((i * 5 + k * 7) % 13) as i64,
                billing_term: term.into(),
                status: status.into(),
                partner_cost: cost.parse().expect("a cost"),
                price: price.parse().expect("a price"),
            });
        }
        if i == 0 {
            for status in ["Cancelled", "Trial"] {
                let (sku, product, term, cost, price) = PRODUCTS[1];
                subscriptions.push(SampleSubscription {
                    id: uuid(0x05c5_87df, subscriptions.len()),
                    company_id: id.clone(),
                    vendor_sku_id: sku.into(),
                    product_name: product.into(),
                    quantity: 25,
                    billing_term: if status == "Trial" { "Trial" } else { term }.into(),
                    status: status.into(),
                    partner_cost: cost.parse().expect("a cost"),
                    price: price.parse().expect("a price"),
                });
            }
        }
    }
    Sample {
        companies,
        subscriptions,
    }
}

/// Per (company name, service key): the units the connector counts, computed from the records.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for s in &sample.subscriptions {
        if !COUNTED_STATUSES.contains(&s.status.as_str()) {
            continue;
        }
        let c = sample
            .companies
            .iter()
            .find(|c| c.id == s.company_id)
            .expect("a company");
        let q = Decimal::from(s.quantity);
        let mut add = |key: String, units: Decimal| {
            *out.entry((c.name.clone(), key)).or_default() += units;
        };
        add("subscriptions".into(), Decimal::ONE);
        add("seats".into(), q);
        add(slug(&s.vendor_sku_id), q);
    }
    out.into_iter().map(|((a, k), q)| (a, k, q)).collect()
}

struct ApiState {
    sample: Arc<Sample>,
    tokens: Tokens<()>,
}

/// `POST /v1/token`: a JSON body with the client, the partner audience and the
/// client-credentials grant; anything else is refused as Pax8 refuses it.
async fn token(State(st): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let denied = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "access_denied",
            Some("Unauthorized"),
        )
    };
    let json_body = header(&headers, "content-type").is_some_and(|v| {
        v.trim()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    let Some(req) = json_body
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten()
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", None);
    };
    let field = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return oauth_error(StatusCode::FORBIDDEN, "unsupported_grant_type", None);
    }
    if field("client_id") != DEMO_CLIENT_ID || field("client_secret") != DEMO_CLIENT_SECRET {
        return denied();
    }
    if field("audience") != DEFAULT_AUDIENCE {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            Some("Service not found"),
        );
    }
    let access_token = st.tokens.issue((), TOKEN_LIFETIME);
    granted(&access_token, "Bearer", TOKEN_LIFETIME, json!({}))
}

fn authorize(st: &Arc<ApiState>, headers: &HeaderMap) -> Result<(), Response> {
    if bearer(headers).is_some_and(|t| st.tokens.check(t).is_ok()) {
        return Ok(());
    }
    Err(error(StatusCode::UNAUTHORIZED, "Unauthorized"))
}

/// Pax8's error body.
fn error(status: StatusCode, message: &str) -> Response {
    reply(
        status,
        json!({
            "type": status.canonical_reason().unwrap_or("Error"),
            "message": message,
            "instance": "",
            "status": status.as_u16(),
            "details": [],
        }),
    )
}

/// `page` (from 0) and `size` (1 to 200, default 10) of `all`, with Pax8's `page` object.
fn paged(q: &Query, all: Vec<Value>) -> Response {
    let number =
        |k: &str, default: usize| q.get(k).map(|v| v.parse::<usize>()).unwrap_or(Ok(default));
    let (Ok(page), Ok(size)) = (number("page", 0), number("size", 10)) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "page and size must be numbers",
        );
    };
    if !(1..=PAGE_SIZE).contains(&size) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "size must be between 1 and 200",
        );
    }
    let total = all.len();
    let content: Vec<Value> = all.into_iter().skip(page * size).take(size).collect();
    reply(
        StatusCode::OK,
        json!({
            "content": content,
            "page": {"size": size, "totalElements": total, "totalPages": total.div_ceil(size), "number": page},
        }),
    )
}

async fn companies(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let all = st
        .sample
        .companies
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "name": c.name,
                "address": {"street": "1 Main St", "city": "Denver", "postalCode": "80202", "country": "US", "stateOrProvince": "CO"},
                "phone": "555-555-0100", "website": "https://example.com",
                "externalId": null, "billOnBehalfOfEnabled": false, "selfServiceAllowed": false,
                "orderApprovalRequired": false, "status": "Active",
                "updatedDate": "2026-11-02T10:15:00Z",
            })
        })
        .collect();
    paged(&Query::parse(q.as_deref()), all)
}

async fn subscriptions(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let all = st
        .sample
        .subscriptions
        .iter()
        .map(|s| {
            json!({
                "id": s.id, "companyId": s.company_id,
                "productId": format!("{}-product", slug(&s.vendor_sku_id)),
                "vendorSkuId": s.vendor_sku_id, "vendorSubscriptionId": format!("ms-{}", s.id),
                "productName": s.product_name, "quantity": s.quantity,
                "price": s.price.to_string().parse::<serde_json::Number>().ok(),
                "partnerCost": s.partner_cost.to_string().parse::<serde_json::Number>().ok(),
                "currencyCode": "USD", "billingTerm": s.billing_term, "status": s.status,
                "commitmentTerm": (s.billing_term == "Annual").then(|| json!({"id": "c1", "term": "Annual", "endDate": "2027-01-31T00:00:00Z"})),
                // The spec's samples mix offsets; so does the sandbox.
                "startDate": "2025-02-01T00:00:00-0600", "billingStart": "2025-02-01",
                "createdDate": "2025-01-30T17:02:11Z", "updatedDate": "2026-10-01T00:00:00Z",
            })
        })
        .collect();
    paged(&Query::parse(q.as_deref()), all)
}

/// A write the connector must never send: refused, and counted.
async fn refuse_write() -> Response {
    WRITES_REFUSED.fetch_add(1, Ordering::SeqCst);
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "the demo sandbox takes no orders: reconcile must only read Pax8",
    )
}

async fn fallback(State(st): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    match authorize(&st, &headers) {
        Err(refused) => refused,
        Ok(()) => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::pax8::Pax8;
    use crate::connectors::pax8::{families, services};
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::testing::{counted_by_account, retry};
    use crate::demo::kit::{Api as _, serve};
    use crate::model::Snapshot;

    fn secrets(secret: &'static str) -> impl Fn(&str) -> anyhow::Result<SecretString> {
        move |field: &str| match field {
            "client_secret" => Ok(SecretString::from(secret)),
            other => anyhow::bail!("unexpected secret {other}"),
        }
    }

    const COMPANIES: &[&str] = &["Acme Dental Group", "Northwind Traders", "Contoso Legal"];

    #[tokio::test]
    async fn the_connector_counts_what_usage_says_and_only_reads() {
        let s = Arc::new(sample(COMPANIES));
        let server = serve::<Api>(s.clone()).await.unwrap();
        let p = Pax8::new(
            "pax8",
            &Api::connection(&server, &s).settings,
            &secrets(DEMO_CLIENT_SECRET),
            retry(),
        )
        .unwrap();
        let check = p.check().await.unwrap();
        assert!(check.contains("3 companies are readable"), "{check}");
        let Snapshot::Vendor(v) = p.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert_eq!(v.accounts.len(), 3);
        assert_eq!(v.items.len(), s.subscriptions.len());
        assert!(v.unreadable.is_empty(), "{:?}", v.unreadable);
        let mut defs = services();
        for f in families() {
            defs.extend(f.expand(&v.items));
        }
        let want: BTreeMap<(String, String), Decimal> =
            usage(&s).into_iter().map(|(a, k, n)| ((a, k), n)).collect();
        assert_eq!(
            counted_by_account(&v, &defs.iter().collect::<Vec<_>>()),
            want
        );
        // The cancelled and trial seats (25 each) are not in Acme's count.
        let acme_seats = want[&("Acme Dental Group".to_string(), "seats".to_string())];
        assert!(acme_seats < Decimal::from(25), "{acme_seats}");
    }

    #[tokio::test]
    async fn a_wrong_secret_is_refused_without_echoing_it() {
        let s = Arc::new(sample(COMPANIES));
        let server = serve::<Api>(s.clone()).await.unwrap();
        let p = Pax8::new(
            "pax8",
            &Api::connection(&server, &s).settings,
            &secrets("not-the-secret"),
            retry(),
        )
        .unwrap();
        let err = p.check().await.unwrap_err();
        assert!(err.is_auth(), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("access_denied"), "{msg}");
        assert!(msg.contains("Integrations > Credentials"), "{msg}");
        assert!(!msg.contains("not-the-secret"), "{msg}");
    }
}
