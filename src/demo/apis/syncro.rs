//! The Syncro sandbox for `reconcile demo --psa syncro`: the demo MSP's ConnectWise data served
//! as Syncro API v1 answers under `/api/v1`: `GET /customers`, `GET /schedules` (recurring
//! invoices with their `lines`), `GET /schedules/{id}`, `GET /products` and `GET /me`. It
//! enforces what the real API enforces: the API token in `Authorization` (with or without
//! `Bearer`), `page` paging 25 records a page with `meta.total_pages`, and disabled customers
//! hidden unless `include_disabled=true`.
//!
//! Translation: a company is a customer (deleted ones are gone; an inactive status is
//! `disabled`; its type is the `Type` customer property, `Client` when it has that type); an
//! agreement is a schedule (cancelled ones are deleted; any other non-active status is
//! `paused`; the billing cycle is the frequency); an addition in force now is a line item
//! (ended or not yet started ones are absent, since Syncro lines carry no dates; Syncro has no
//! "less included", so that quantity is not carried); a catalog item is a product whose
//! `upc_code` is the ConnectWise identifier, so the demo's mappings hold.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::connectors::syncro::Settings;
use crate::demo::kit::auth::{authorization, guard, header};
use crate::demo::kit::http::{Query, Window, by_id, pages, reply};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::{CwAddition, CwAgreement, DEMO_BILLABLE_TYPE, SampleMsp};

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The API token the sandbox accepts.
pub const DEMO_API_TOKEN: &str = "demo-syncro-token-7Kq2";
/// Records a page, as the spec documents.
const PER_PAGE: usize = 25;
/// The customer property the demo's billable rule reads.
pub const DEMO_TYPE_PROPERTY: &str = "Type";

/// The Syncro sandbox: API v1 under `/api/v1`.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-syncro";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        let api = Router::new()
            .route("/api/v1/me", get(me))
            .route("/api/v1/customers", get(customers))
            .route("/api/v1/schedules", get(schedules))
            .route("/api/v1/schedules/{id}", get(schedule))
            .route(
                "/api/v1/schedules/{id}/line_items/{line}",
                axum::routing::put(update_line),
            )
            .route("/api/v1/products", get(products));
        Surface::router(guard(api, (), authorized).with_state(sample))
    }

    /// Customers whose `Type` is `Client` bill.
    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        let settings = Settings {
            subdomain: None,
            url: Some(format!("{}/api/v1", served.url())),
            business_only: false,
            billable_property: Some(DEMO_TYPE_PROPERTY.into()),
            billable_property_values: vec![DEMO_BILLABLE_TYPE.into()],
            requests_per_minute: None,
            allow_write: false,
            write_token: false,
        };
        let flags = format!(
            "--url {} --billable-property {DEMO_TYPE_PROPERTY} --billable-value {DEMO_BILLABLE_TYPE}",
            settings.url.as_deref().unwrap_or_default()
        );
        Connection::new(settings, flags).secret("api_token", DEMO_API_TOKEN)
    }
}

/// The API token in `Authorization`, with or without `Bearer`.
fn authorized(_: &(), headers: &HeaderMap) -> Result<(), Response> {
    let token = match authorization(headers) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token),
        _ => header(headers, "authorization").map(str::trim),
    };
    if token == Some(DEMO_API_TOKEN) {
        Ok(())
    } else {
        Err(reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Unauthorized", "message": "API token is invalid or missing"}),
        ))
    }
}

/// One page of `all` under `key`, the page (`page`, from 1; default 1) as the query asks.
fn paged(key: &str, all: Vec<Value>, query: &Query) -> Response {
    let Ok(page) = query.positive("page") else {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": ["page must be a positive number"]}),
        );
    };
    let page = page.unwrap_or(1);
    let total = all.len();
    let items = Window::page(page, PER_PAGE).of(all);
    reply(
        StatusCode::OK,
        json!({
            key: items,
            "meta": {"total_pages": pages(total, PER_PAGE), "total_entries": total,
                     "per_page": PER_PAGE, "page": page}
        }),
    )
}

/// A decimal as the JSON number the API sends (`19.99`); two decimal places survive a float.
fn number(d: Decimal) -> Value {
    serde_json::Number::from_f64(d.to_f64().unwrap_or(0.0))
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn cents(d: Decimal) -> i64 {
    (d * Decimal::from(100)).round().to_i64().unwrap_or(0)
}

fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

async fn me() -> Response {
    reply(
        StatusCode::OK,
        json!({
            "user_email": "admin@bluewave.example",
            "user_name": "Bluewave Admin",
            "user_id": 1,
            "admin": false,
            "subdomain": "bluewave",
        }),
    )
}

async fn customers(State(sample): State<Arc<SampleMsp>>, RawQuery(query): RawQuery) -> Response {
    let query = Query::parse(query.as_deref());
    let include_disabled = query.flag("include_disabled");
    let cw = &sample.connectwise;
    let mut all = Vec::new();
    for c in cw.companies.iter().filter(|c| !c.deleted) {
        let disabled = cw
            .company_statuses
            .iter()
            .any(|s| s.id == c.status_id && s.inactive_flag);
        if disabled && !include_disabled {
            continue;
        }
        let types: Vec<&str> = c
            .type_ids
            .iter()
            .filter_map(|t| cw.company_types.iter().find(|ct| ct.id == *t))
            .map(|ct| ct.name.as_str())
            .collect();
        let kind = if types.contains(&DEMO_BILLABLE_TYPE) {
            DEMO_BILLABLE_TYPE
        } else {
            types.first().copied().unwrap_or("")
        };
        all.push(json!({
            "id": c.id,
            "firstname": null,
            "lastname": null,
            "fullname": null,
            "business_name": c.name,
            "email": format!("billing@{}.example", c.identifier.to_ascii_lowercase()),
            "phone": c.phone_number,
            "mobile": null,
            "created_at": ts(c.date_acquired),
            "updated_at": ts(c.date_acquired),
            "address": c.address_line1,
            "address_2": null,
            "city": c.city,
            "state": c.state,
            "zip": c.zip,
            "notes": null,
            "get_sms": false,
            "opt_out": false,
            "disabled": disabled,
            "no_email": false,
            "location_name": null,
            "location_id": null,
            "properties": {DEMO_TYPE_PROPERTY: kind},
            "business_and_full_name": c.name,
            "business_then_name": c.name,
            "contacts": [],
        }));
    }
    paged("customers", all, &query)
}

/// ConnectWise's billing cycle name as Syncro's frequency.
fn frequency(cw_cycle: &str) -> &str {
    match cw_cycle {
        "Annual" => "Annually",
        "Semi-Annual" => "Semi-Annually",
        other => other,
    }
}

fn line_json(sample: &SampleMsp, a: &CwAddition) -> Value {
    let product = sample
        .connectwise
        .catalog
        .iter()
        .find(|p| p.id == a.product_id);
    json!({
        "id": a.id,
        "schedule_id": a.agreement_id,
        "product_id": a.product_id,
        "name": product.map(|p| p.description.as_str()).unwrap_or(a.description.as_str()),
        "description": a.description,
        "quantity": format!("{:.1}", a.quantity),
        "retail_cents": cents(a.unit_price),
        "cost_cents": cents(a.unit_cost),
        "price_retail": number(a.unit_price),
        "price_cost": number(a.unit_cost),
        "taxable": false,
        "position": a.sequence_number,
        "user_id": 1,
        "product_category": product.map(|_| "Managed Services"),
        "asset_type_id": null,
        "recurring_type_id": null,
        "device_ids": [],
        "one_time_charge": false,
    })
}

fn schedule_json(sample: &SampleMsp, a: &CwAgreement, now: Timestamp) -> Value {
    let cw = &sample.connectwise;
    let cycle = cw
        .billing_cycles
        .iter()
        .find(|(id, _)| *id == a.billing_cycle_id)
        .map(|(_, n)| n.as_str())
        .unwrap_or("Monthly");
    let lines: Vec<Value> = sample
        .additions()
        .iter()
        .filter(|x| x.agreement_id == a.id)
        .filter(|x| x.effective <= now && x.cancelled.is_none_or(|c| c > now))
        .map(|x| line_json(sample, x))
        .collect();
    let next_run = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .first_of_month()
        .checked_add(jiff::Span::new().months(1))
        .map(|d| d.to_string())
        .unwrap_or_default();
    json!({
        "id": a.id,
        "account_id": 1,
        "customer_id": a.company_id,
        "email_customer": true,
        "frequency": frequency(cycle),
        "name": a.name,
        "next_run": next_run,
        "snail_mail": false,
        "charge_mop": false,
        "subtotal": 0,
        "invoice_unbilled_ticket_charges": false,
        "paused": !a.status.eq_ignore_ascii_case("active"),
        "last_invoice_paid": null,
        "created_at": ts(a.start),
        "lines": lines,
    })
}

/// Schedules that exist in Syncro: cancelled agreements were deleted.
fn live_agreements(sample: &SampleMsp) -> impl Iterator<Item = &CwAgreement> {
    sample
        .connectwise
        .agreements
        .iter()
        .filter(|a| !a.cancelled && !a.status.eq_ignore_ascii_case("cancelled"))
}

async fn schedules(State(sample): State<Arc<SampleMsp>>, RawQuery(query): RawQuery) -> Response {
    let query = Query::parse(query.as_deref());
    let customer: Option<i64> = query.number("customer_id").ok().flatten();
    let now = Timestamp::now();
    let all = live_agreements(&sample)
        .filter(|a| customer.is_none_or(|c| c == a.company_id))
        .map(|a| schedule_json(&sample, a, now))
        .collect();
    paged("schedules", all, &query)
}

async fn schedule(State(sample): State<Arc<SampleMsp>>, Path(id): Path<String>) -> Response {
    match by_id(live_agreements(&sample), &id, |a| a.id) {
        Some(a) => reply(
            StatusCode::OK,
            json!({"schedule": schedule_json(&sample, a, Timestamp::now())}),
        ),
        None => reply(StatusCode::NOT_FOUND, json!({"message": "Not found"})),
    }
}

/// `PUT /schedules/{id}/line_items/{line}`: the spec's ScheduleLineItem body. This sandbox
/// changes `quantity` (a number of at least 0) and `cost_cents` (an integer), and refuses, as
/// Syncro refuses an invalid line (422 `{"error": [...]}`), a body that is not an object, a
/// field of the wrong type, or a field it does not change; a line not on that schedule is 404.
async fn update_line(
    State(sample): State<Arc<SampleMsp>>,
    Path((id, line)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let invalid = |why: String| reply(StatusCode::UNPROCESSABLE_ENTITY, json!({"error": [why]}));
    let Some(a) = by_id(live_agreements(&sample), &id, |a| a.id) else {
        return reply(StatusCode::NOT_FOUND, json!({"message": "Not found"}));
    };
    let Some(add) = sample
        .additions()
        .into_iter()
        .find(|x| x.agreement_id == a.id && x.id.to_string() == line)
    else {
        return reply(StatusCode::NOT_FOUND, json!({"message": "Not found"}));
    };
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the body must be a JSON object of line item fields".into());
    };
    let (mut quantity, mut cost) = (add.quantity, add.unit_cost);
    for (k, v) in &fields {
        match k.as_str() {
            "quantity" => match v.as_f64().map(|_| v.to_string().parse::<Decimal>()) {
                Some(Ok(q)) if q >= Decimal::ZERO => quantity = q,
                _ => return invalid(format!("Quantity must be a number, not {v}")),
            },
            "cost_cents" => match v.as_i64() {
                Some(c) if c >= 0 => cost = Decimal::new(c, 2),
                _ => {
                    return invalid(format!(
                        "Cost cents must be a whole number of cents, not {v}"
                    ));
                }
            },
            other => {
                return invalid(format!(
                    "{other} cannot be changed through this sandbox (it changes quantity and cost_cents)"
                ));
            }
        }
    }
    sample.writes.write(add.id, quantity, cost, None);
    let now = sample
        .additions()
        .into_iter()
        .find(|x| x.id == add.id)
        .expect("written");
    reply(
        StatusCode::OK,
        json!({"schedule_line_item": line_json(&sample, &now)}),
    )
}

async fn products(State(sample): State<Arc<SampleMsp>>, RawQuery(query): RawQuery) -> Response {
    let query = Query::parse(query.as_deref());
    let all = sample
        .connectwise
        .catalog
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "price_cost": number(p.cost),
                "price_retail": number(p.price),
                "condition": null,
                "description": p.customer_description,
                "maintain_stock": false,
                "name": p.description,
                "quantity": 0,
                "disabled": p.inactive,
                "taxable": false,
                "product_category": p.category,
                "category_path": p.category,
                "upc_code": p.identifier,
                "price_wholesale": 0,
                "product_skus": [],
            })
        })
        .collect();
    paged("products", all, &query)
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::syncro::Syncro;
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_reads_what_the_demo_bills() {
        let sample = Arc::new(crate::demo::sample());
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let settings = Api::connection(&server, &sample).settings;
        let c = Syncro::with_token(
            "syncro",
            &settings,
            SecretString::from(DEMO_API_TOKEN),
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(c.check().await.unwrap().contains("customers"));
        let Snapshot::Psa(psa) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a PSA snapshot")
        };
        crate::demo::kit::testing::assert_bills_the_planted(&sample, &psa, |q| q);
        // Paging: more customers than one page, every one read.
        assert!(server.stats.endpoint("GET /api/v1/customers") >= 2);
        let billable = psa.companies.iter().filter(|c| c.billable).count();
        assert!(billable > 0 && billable < psa.companies.len());
        assert!(psa.meta["api requests this sync"].contains("180 a minute"));

        let wrong = Syncro::with_token(
            "syncro",
            &settings,
            SecretString::from("nope"),
            RetryPolicy::default(),
        )
        .unwrap();
        let err = wrong.check().await.unwrap_err().to_string();
        assert!(err.contains("HTTP 401"), "{err}");
    }
}
