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

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::connectors::halopsa::Settings;
use crate::demo::kit::auth::{
    Refusal, Tokens, bearer, client_credentials, granted, guard, oauth_error,
};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::{CwAddition, CwAgreement, CwData, DEMO_BILLABLE_TYPE, SampleMsp};

pub const SANDBOX: &dyn Entry = &AsApi(Api);

pub const DEMO_CLIENT_ID: &str = "demo-halo-client-7d2e";
pub const DEMO_CLIENT_SECRET: &str = "demo-halo-secret-Qm4!x9";
pub const DEMO_TENANT: &str = "bluewave";
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The HaloPSA sandbox: a hosted instance, its auth server and its API on one server.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-halopsa";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        let state = Arc::new(ApiState {
            data: sample.connectwise.clone(),
            sample: sample.clone(),
            tokens: Tokens::default(),
        });
        let api = Router::new()
            .route("/api/Client", get(clients))
            .route("/api/RecurringInvoice", get(invoices))
            .route("/api/RecurringInvoice/updatelines", post(update_lines))
            .route("/api/RecurringInvoice/{id}", get(one_invoice))
            .route("/api/ClientContract", get(contracts))
            .route("/api/Item", get(items));
        let app = guard(api, state.clone(), authorize)
            .route("/api/authinfo", get(authinfo))
            .route("/auth/token", post(token))
            .with_state(state);
        Surface::router(app)
    }

    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        let settings = Settings {
            url: served.url().to_string(),
            client_id: DEMO_CLIENT_ID.into(),
            tenant: Some(DEMO_TENANT.into()),
            auth_url: None,
            scope: None,
            billable_client_types: vec![DEMO_BILLABLE_TYPE.into()],
            billable_top_levels: vec![],
            page_size: None,
            allow_write: false,
            write_client_id: None,
        };
        let flags = format!(
            "--url {} --client-id {DEMO_CLIENT_ID} --tenant {DEMO_TENANT} --billable-client-type {DEMO_BILLABLE_TYPE}",
            served.url()
        );
        Connection::new(settings, flags).secret("client_secret", DEMO_CLIENT_SECRET)
    }
}

struct ApiState {
    data: CwData,
    /// For the additions as `reconcile push` left them (`SampleMsp::additions`).
    sample: Arc<SampleMsp>,
    tokens: Tokens<()>,
}

/// Halo's date-time text: no offset.
fn halo_date(t: Option<Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|| "1900-01-01T00:00:00".into())
}

async fn authinfo(headers: HeaderMap) -> Response {
    let host =
        crate::demo::kit::auth::header(&headers, header::HOST.as_str()).unwrap_or("127.0.0.1");
    reply(
        StatusCode::OK,
        json!({"auth_url": format!("http://{host}/auth"), "tenant_id": DEMO_TENANT}),
    )
}

async fn token(
    State(st): State<Arc<ApiState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error =
        |e: &str, description: &str| oauth_error(StatusCode::BAD_REQUEST, e, Some(description));
    if Query::parse(query.as_deref()).get("tenant") != Some(DEMO_TENANT) {
        return error("invalid_request", "unknown tenant");
    }
    let form = match client_credentials(&headers, &body, (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)) {
        Ok(form) => form,
        Err(Refusal::NotForm) => return error("invalid_request", "expected a form-encoded body"),
        Err(Refusal::NoGrant | Refusal::Grant(_)) => return error("unsupported_grant_type", ""),
        Err(Refusal::UnknownClient | Refusal::WrongSecret) => {
            return error("invalid_client", "Invalid client credentials");
        }
    };
    let scope = form.get("scope");
    if scope.is_empty() {
        return error("invalid_scope", "");
    }
    let access_token = st.tokens.issue((), TOKEN_LIFETIME);
    granted(
        &access_token,
        "Bearer",
        TOKEN_LIFETIME,
        json!({ "scope": scope }),
    )
}

fn authorize(st: &Arc<ApiState>, headers: &HeaderMap) -> Result<(), Response> {
    if bearer(headers).is_some_and(|t| st.tokens.check(t).is_ok()) {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, "Unauthorized").into_response())
    }
}

/// `{"record_count": n, key: [page]}`: one page when `pageinate=true`, else everything.
fn paged(query: Option<&str>, key: &str, all: Vec<Value>) -> Response {
    let q = Query::parse(query);
    let total = all.len();
    let list: Vec<Value> = if q.flag("pageinate") {
        let number = |name: &str, default: usize| {
            q.number::<usize>(name)
                .ok()
                .flatten()
                .unwrap_or(default)
                .max(1)
        };
        Window::page(number("page_no", 1), number("page_size", 50)).of(all)
    } else {
        all
    };
    reply(StatusCode::OK, json!({"record_count": total, key: list}))
}

async fn clients(State(st): State<Arc<ApiState>>, RawQuery(query): RawQuery) -> Response {
    let d = &st.data;
    let include_inactive = Query::parse(query.as_deref()).flag("includeinactive");
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

fn invoice_json(d: &CwData, additions: &[CwAddition], a: &CwAgreement, with_lines: bool) -> Value {
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
        let lines: Vec<Value> = additions
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

async fn invoices(State(st): State<Arc<ApiState>>, RawQuery(query): RawQuery) -> Response {
    let with_lines = Query::parse(query.as_deref()).flag("includelines");
    let d = &st.data;
    let additions = st.sample.additions();
    let all = d
        .agreements
        .iter()
        .map(|a| invoice_json(d, &additions, a, with_lines))
        .collect();
    paged(query.as_deref(), "invoices", all)
}

async fn one_invoice(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Response {
    match st.data.agreements.iter().find(|a| -a.id == id) {
        Some(a) => reply(
            StatusCode::OK,
            invoice_json(&st.data, &st.sample.additions(), a, true),
        ),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// `POST /api/RecurringInvoice/updatelines`: an array of InvoiceDetail objects, each with its
/// line `id` and its invoice `ihid` (Halo needs both), changing `qty_order` (a number of at
/// least 0) and `unit_cost`. This sandbox refuses, with 400 and Halo's plain-text error, a body
/// that is not an array, an element without `id` or `ihid`, a line that is not on that invoice,
/// a value of the wrong type, or a field it does not change. All or nothing.
async fn update_lines(State(st): State<Arc<ApiState>>, body: Bytes) -> Response {
    let bad = |why: String| (StatusCode::BAD_REQUEST, why).into_response();
    let Ok(Value::Array(elements)) = serde_json::from_slice::<Value>(&body) else {
        return bad("The request body must be an array of InvoiceDetail objects".into());
    };
    if elements.is_empty() {
        return bad("No lines to update".into());
    }
    let additions = st.sample.additions();
    let mut writes = Vec::new();
    for e in &elements {
        let Some(fields) = e.as_object() else {
            return bad(format!("Not an InvoiceDetail object: {e}"));
        };
        let (Some(id), Some(ihid)) = (
            fields.get("id").and_then(Value::as_i64),
            fields.get("ihid").and_then(Value::as_i64),
        ) else {
            return bad("Each line needs its id and ihid".into());
        };
        let Some(add) = additions
            .iter()
            .find(|a| a.id == id && -a.agreement_id == ihid)
        else {
            return bad(format!("Line {id} is not on recurring invoice {ihid}"));
        };
        let (mut qty, mut cost) = (add.quantity, add.unit_cost);
        for (k, v) in fields {
            let number = || {
                v.as_f64()
                    .and_then(|_| v.to_string().parse::<rust_decimal::Decimal>().ok())
                    .filter(|d| *d >= rust_decimal::Decimal::ZERO)
            };
            match k.as_str() {
                "id" | "ihid" => {}
                "qty_order" => match number() {
                    Some(q) => qty = q,
                    None => {
                        return bad(format!("qty_order must be a number of at least 0, not {v}"));
                    }
                },
                "unit_cost" => match number() {
                    Some(c) => cost = c,
                    None => {
                        return bad(format!("unit_cost must be a number of at least 0, not {v}"));
                    }
                },
                other => return bad(format!("{other} cannot be changed through this sandbox")),
            }
        }
        writes.push((add.id, qty, cost));
    }
    for (id, qty, cost) in writes {
        st.sample.writes.write(id, qty, cost, None);
    }
    // Halo answers the updated records; their shape is not documented, so clients read back.
    (StatusCode::OK, axum::Json(Value::Array(elements))).into_response()
}

async fn contracts(RawQuery(query): RawQuery) -> Response {
    // The demo bills through recurring invoices alone.
    paged(query.as_deref(), "contracts", Vec::new())
}

async fn items(State(st): State<Arc<ApiState>>, RawQuery(query): RawQuery) -> Response {
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
    use std::collections::{HashMap, HashSet};

    use rust_decimal::Decimal;
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::halopsa::HaloPsa;
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::testing::retry;
    use crate::demo::kit::{Api as _, serve};
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_reads_the_sandbox_and_bills_what_was_planted() {
        let sample = Arc::new(crate::demo::sample::sample());
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let mut settings = Api::connection(&server, &sample).settings;
        settings.page_size = Some(7);
        let halo = HaloPsa::new(
            "halo",
            &settings,
            &|_| Ok(SecretString::from(DEMO_CLIENT_SECRET)),
            retry(),
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
