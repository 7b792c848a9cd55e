//! The HaloPSA sandbox for `reconcile demo --psa halopsa`: the demo MSP's ConnectWise data
//! (`sample.connectwise`) served as a hosted Halo instance would serve it. It enforces what Halo
//! enforces: the auth server named by `GET /api/authinfo`, a form-encoded client-credentials
//! token request at `/auth/token?tenant=` with the right client, secret and tenant, and a live
//! bearer token on every `/api` call. Lists page with `pageinate=true&page_size&page_no` and say
//! `record_count`.
//!
//! Translation: each (not deleted) company is a client (`inactive` when its status is; its
//! customer type is its billable type when it has it, else its first type); each agreement is a
//! recurring invoice with a negative id (as real templates have), `disabled` unless Active, its
//! additions as `lines` (item = the catalog product, `qty_order`, prices, dates; an open end is
//! Halo's `1900-01-01T00:00:00`); the catalog is `/api/Item` with the product identifier as the
//! item name. Halo has no "less included" on a line, so that ConnectWise field is not served.

// Early-return helpers yield the error response itself, built once per refused request.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::sample::{CwData, DEMO_BILLABLE_TYPE};
use super::{RequestStats, SampleMsp, query_get, query_pairs};
use crate::connectors::halopsa::Settings;

pub const DEMO_CLIENT_ID: &str = "demo-halo-client-7d2e";
pub const DEMO_CLIENT_SECRET: &str = "demo-halo-secret-Qm4!x9";
pub const DEMO_TENANT: &str = "bluewave";

struct HaloState {
    data: CwData,
    tokens: Mutex<HashSet<String>>,
    next: AtomicU64,
}

/// The sandbox instance, serving until dropped.
pub struct Server {
    /// The instance URL (`http://127.0.0.1:PORT`), for the connection's `url`.
    pub url: String,
    pub stats: Arc<RequestStats>,
    _served: super::Served,
}

impl Server {
    pub fn settings(&self) -> Settings {
        Settings {
            url: self.url.clone(),
            client_id: DEMO_CLIENT_ID.into(),
            tenant: Some(DEMO_TENANT.into()),
            auth_url: None,
            scope: None,
            billable_client_types: vec![DEMO_BILLABLE_TYPE.into()],
            billable_top_levels: vec![],
            page_size: None,
        }
    }
}

pub async fn start(sample: Arc<SampleMsp>) -> anyhow::Result<Server> {
    let state = Arc::new(HaloState {
        data: sample.connectwise.clone(),
        tokens: Mutex::new(HashSet::new()),
        next: AtomicU64::new(1),
    });
    let app = Router::new()
        .route("/api/authinfo", get(authinfo))
        .route("/auth/token", post(token))
        .route("/api/Client", get(clients))
        .route("/api/RecurringInvoice", get(invoices))
        .route("/api/RecurringInvoice/{id}", get(one_invoice))
        .route("/api/ClientContract", get(contracts))
        .route("/api/Item", get(items))
        .with_state(state);
    let served = super::Served::start(app, "HaloPSA").await?;
    Ok(Server {
        url: served.url.clone(),
        stats: served.stats.clone(),
        _served: served,
    })
}

/// Halo's date-time text: no offset.
fn halo_date(t: Option<Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|| "1900-01-01T00:00:00".into())
}

async fn authinfo(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    axum::Json(json!({"auth_url": format!("http://{host}/auth"), "tenant_id": DEMO_TENANT}))
        .into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(
    State(st): State<Arc<HaloState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return oauth_error("invalid_request", "expected a form-encoded body");
    }
    let pairs = query_pairs(query.as_deref());
    if query_get(&pairs, "tenant") != Some(DEMO_TENANT) {
        return oauth_error("invalid_request", "unknown tenant");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return oauth_error("unsupported_grant_type", "");
    }
    if field("client_id") != DEMO_CLIENT_ID || field("client_secret") != DEMO_CLIENT_SECRET {
        return oauth_error("invalid_client", "Invalid client credentials");
    }
    if field("scope").is_empty() {
        return oauth_error("invalid_scope", "");
    }
    let n = st.next.fetch_add(1, Ordering::Relaxed);
    let access_token = format!("demo-halo-token-{n:08}");
    st.tokens
        .lock()
        .expect("token lock")
        .insert(access_token.clone());
    axum::Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": field("scope"),
    }))
    .into_response()
}

fn authorize(st: &HaloState, headers: &HeaderMap) -> Result<(), Response> {
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| st.tokens.lock().expect("token lock").contains(t));
    if ok {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, "Unauthorized").into_response())
    }
}

/// `{"record_count": n, key: [page]}`: one page when `pageinate=true`, else everything.
fn paged(query: Option<&str>, key: &str, all: Vec<Value>) -> Response {
    let pairs = query_pairs(query);
    let total = all.len();
    let list: Vec<Value> = if query_get(&pairs, "pageinate") == Some("true") {
        let size = query_get(&pairs, "page_size")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(50)
            .max(1);
        let no = query_get(&pairs, "page_no")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        all.into_iter().skip((no - 1) * size).take(size).collect()
    } else {
        all
    };
    axum::Json(json!({"record_count": total, key: list})).into_response()
}

async fn clients(
    State(st): State<Arc<HaloState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let d = &st.data;
    let include_inactive =
        query_get(&query_pairs(query.as_deref()), "includeinactive") == Some("true");
    let all: Vec<Value> = d
        .companies
        .iter()
        .filter(|c| !c.deleted)
        .filter_map(|c| {
            let inactive = d
                .company_statuses
                .iter()
                .any(|s| s.id == c.status_id && s.inactive_flag);
            if inactive && !include_inactive {
                return None;
            }
            let ty = c
                .type_ids
                .iter()
                .filter_map(|t| d.company_types.iter().find(|ct| ct.id == *t))
                .find(|ct| ct.name == DEMO_BILLABLE_TYPE)
                .or_else(|| {
                    c.type_ids
                        .first()
                        .and_then(|t| d.company_types.iter().find(|ct| ct.id == *t))
                });
            Some(json!({
                "id": c.id,
                "name": c.name,
                "toplevel_id": 1,
                "toplevel_name": "Clients",
                "inactive": inactive,
                "customertype": ty.map(|t| t.id).unwrap_or(0),
                "customertype_name": ty.map(|t| t.name.clone()),
                "is_vip": false,
                "accountsid": c.identifier,
                "main_site_name": "Main",
                "website": c.website,
            }))
        })
        .collect();
    paged(query.as_deref(), "clients", all)
}

fn invoice_json(d: &CwData, a: &super::sample::CwAgreement, with_lines: bool) -> Value {
    let company = d.companies.iter().find(|c| c.id == a.company_id);
    let period = d
        .billing_cycles
        .iter()
        .find(|(id, _)| *id == a.billing_cycle_id)
        .map(|(_, n)| n.clone());
    let mut v = json!({
        "id": -a.id,
        "client_id": a.company_id,
        "client_name": company.map(|c| c.name.clone()),
        "name": a.name,
        "contract_id": 0,
        "disabled": a.status != "Active",
        "startdate": halo_date(Some(a.start)),
        "enddate": halo_date(a.end),
        "nextcreationdate": "2026-12-01T00:00:00",
        "periodname": period,
        "period_type": a.billing_cycle_id,
    });
    if with_lines {
        let lines: Vec<Value> = d
            .additions
            .iter()
            .filter(|l| l.agreement_id == a.id)
            .map(|l| {
                let item = d.catalog.iter().find(|p| p.id == l.product_id);
                json!({
                    "id": l.id,
                    "ihid": -a.id,
                    "_itemid": l.product_id,
                    "item_code": item.map(|p| p.identifier.clone()),
                    "item_shortdescription": l.description,
                    "qty_order": l.quantity,
                    "unit_price": l.unit_price,
                    "unit_cost": l.unit_cost,
                    "net_amount": (l.quantity * l.unit_price).round_dp(2),
                    "startdate": halo_date(Some(l.effective)),
                    "enddate": halo_date(l.cancelled),
                    "isinactive": false,
                    "contract_id": 0,
                    "sequenceid": l.sequence_number,
                    "recurring_invoice_quantity_type": 0,
                })
            })
            .collect();
        v["lines"] = Value::Array(lines);
    }
    v
}

async fn invoices(
    State(st): State<Arc<HaloState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let with_lines = query_get(&query_pairs(query.as_deref()), "includelines") == Some("true");
    let d = &st.data;
    let all = d
        .agreements
        .iter()
        .map(|a| invoice_json(d, a, with_lines))
        .collect();
    paged(query.as_deref(), "invoices", all)
}

async fn one_invoice(
    State(st): State<Arc<HaloState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    match st.data.agreements.iter().find(|a| -a.id == id) {
        Some(a) => axum::Json(invoice_json(&st.data, a, true)).into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

async fn contracts(
    State(st): State<Arc<HaloState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    // The demo bills through recurring invoices alone.
    paged(query.as_deref(), "contracts", Vec::new())
}

async fn items(
    State(st): State<Arc<HaloState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let all = st
        .data
        .catalog
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.identifier,
                "description": p.description,
                "baseprice": p.price,
                "costprice": p.cost,
                "recurringprice": p.price,
                "recurringcost": p.cost,
                "isrecurringitem": true,
                "inactive": p.inactive,
                "assetgroup_name": p.category,
            })
        })
        .collect();
    paged(query.as_deref(), "items", all)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use rust_decimal::Decimal;
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::halopsa::HaloPsa;
    use crate::connectors::{Connector, SyncCx};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_reads_the_sandbox_and_bills_what_was_planted() {
        let sample = Arc::new(crate::demo::sample::sample());
        let server = start(sample.clone()).await.unwrap();
        let mut settings = server.settings();
        settings.page_size = Some(7);
        let retry = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(1),
            timeout: Duration::from_secs(20),
            ..RetryPolicy::default()
        };
        let halo = HaloPsa::new(
            "halo",
            &settings,
            &|_| Ok(SecretString::from(DEMO_CLIENT_SECRET)),
            retry,
        )
        .unwrap();
        let Snapshot::Psa(p) = halo.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a PSA snapshot")
        };
        let now = Timestamp::now();
        assert!(p.agreements.iter().all(|a| a.id.starts_with('-')));
        let names: HashMap<&str, &str> = p
            .companies
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect();
        let active: HashSet<&str> = p
            .agreements
            .iter()
            .filter(|a| a.is_active_at(now))
            .map(|a| a.id.as_str())
            .collect();
        let billed = |company: &str, product: &str| -> Decimal {
            p.lines
                .iter()
                .filter(|l| l.is_active_at(now) && active.contains(l.agreement_id.as_str()))
                .filter(|l| names.get(l.company_id.as_str()) == Some(&company))
                .filter(|l| l.product_identifier == product)
                .map(|l| l.quantity)
                .sum()
        };
        let mut checked = 0;
        let vendors = sample.vendors.iter().flat_map(|v| v.expected.iter());
        for e in sample.planted.expected.iter().chain(vendors) {
            assert_eq!(billed(&e.company, &e.product), e.billed, "{e:?}");
            checked += 1;
        }
        assert!(checked > 20, "{checked}");
        let cw = &sample.connectwise;
        let clients = p.companies.iter().filter(|c| c.billable).count();
        let expected_clients = cw
            .companies
            .iter()
            .filter(|c| !c.deleted && c.type_ids.contains(&1))
            .filter(|c| {
                !cw.company_statuses
                    .iter()
                    .any(|s| s.id == c.status_id && s.inactive_flag)
            })
            .count();
        assert_eq!(clients, expected_clients);
        assert!(server.stats.endpoint("GET /api/RecurringInvoice") >= 2);
        assert_eq!(server.stats.endpoint("POST /auth/token"), 1);
    }
}
