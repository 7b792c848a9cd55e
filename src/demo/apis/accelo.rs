//! The Accelo sandbox for `reconcile demo --psa accelo`: the demo MSP's ConnectWise data served
//! as Accelo API v0 answers (`{meta, response}`, every number, id and date a string, dates as
//! unix seconds). It enforces what the real API enforces: a client-credentials token from
//! `POST /oauth2/v0/token` with the service application in HTTP Basic, that token as a bearer
//! on every `/api/v0` request, and `_limit` (at most 100, default 10) with `_offset` or `_page`
//! (from 0) paging.
//!
//! Translation: a company is a company whose standing is `active` when it has the demo's
//! billable type and an active status, else `inactive`; an agreement is a contract against its
//! company (`active` when the agreement is, else `cancelled`) with one open period starting this
//! month and lasting its billing cycle; an addition in force now and billed to the customer is a
//! material on that period, titled by its product's ConnectWise identifier (so the demo's
//! mappings hold); a catalog item is a material item template. ConnectWise's "less included" is
//! not carried (a material bills its quantity).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jiff::{Timestamp, ToSpan};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::accelo::Settings;
use crate::demo::kit::auth::{Tokens, basic, bearer, guard};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::{CwAgreement, DEMO_BILLABLE_TYPE, SampleMsp};

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The service application the sandbox knows.
pub const DEMO_CLIENT_ID: &str = "demo-accelo-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-accelo-secret-9Vd3";
const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_LIMIT: usize = 100;

/// The Accelo sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-accelo";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        Surface::api(move |_url| {
            let state = Arc::new(AcceloState {
                sample,
                tokens: Tokens::default(),
            });
            let api = Router::new()
                .route("/api/v0/companies", get(companies))
                .route("/api/v0/contracts", get(contracts))
                .route("/api/v0/contracts/{id}/periods", get(periods))
                .route("/api/v0/object_budgets/materials", get(materials))
                .route("/api/v0/object_budgets/templates", get(templates));
            guard(api, state.clone(), authorized)
                .route("/oauth2/v0/token", post(token))
                .fallback(|| async { failure(StatusCode::NOT_FOUND, "not_found", "Not found") })
                .with_state(state)
        })
    }

    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        let settings = Settings {
            deployment: None,
            url: Some(served.url().to_string()),
            client_id: DEMO_CLIENT_ID.into(),
            billable_standings: vec!["active".into()],
            requests_per_hour: None,
        };
        Connection::new(
            settings,
            format!("--url {} --client-id {DEMO_CLIENT_ID}", served.url()),
        )
        .secret("client_secret", DEMO_CLIENT_SECRET)
        .note("the client secret on stdin")
    }
}

struct AcceloState {
    sample: Arc<SampleMsp>,
    tokens: Tokens<()>,
}

/// Accelo's answer: `{meta, response}`.
fn ok(response: Value) -> Response {
    reply(
        StatusCode::OK,
        json!({
            "meta": {"status": "ok", "message": "Everything executed as expected",
                     "more_info": "https://affinitylive.jira.com/wiki/display/APIS/Status+Codes#ok"},
            "response": response,
        }),
    )
}

fn failure(status: StatusCode, code: &str, message: &str) -> Response {
    reply(
        status,
        json!({
            "meta": {"status": code, "message": message,
                     "more_info": format!("https://affinitylive.jira.com/wiki/display/APIS/Status+Codes#{code}")},
            "response": null,
        }),
    )
}

/// The service application in Basic, `grant_type=client_credentials`: a 30-day token, its
/// `expires_in` a string as Accelo sends it.
async fn token(State(st): State<Arc<AcceloState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let client = basic(&headers);
    let known = client
        .as_ref()
        .is_some_and(|(id, secret)| id == DEMO_CLIENT_ID && secret == DEMO_CLIENT_SECRET);
    if !known {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "The client credentials are invalid"}),
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"}),
        );
    }
    let token = st.tokens.issue((), TOKEN_LIFETIME);
    reply(
        StatusCode::OK,
        json!({
            "access_token": token, "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME.as_secs().to_string(),
            "scope": form.get("scope").cloned().unwrap_or_else(|| "read(all)".into()),
            "deployment": "bluewave", "deployment_name": "Bluewave IT",
            "deployment_uri": "https://bluewave.accelo.com",
        }),
    )
}

fn authorized(st: &Arc<AcceloState>, headers: &HeaderMap) -> Result<(), Response> {
    match bearer(headers).map(|t| st.tokens.check(t)) {
        Some(Ok(())) => Ok(()),
        _ => Err(failure(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token is invalid or expired",
        )),
    }
}

/// `_limit` (default 10, at most 100) from `_offset`, or from `_page` (from 0) when given.
fn paged(all: Vec<Value>, query: &Query) -> Response {
    let limit = match query.number::<usize>("_limit") {
        Ok(l) => l.unwrap_or(10),
        Err(v) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("_limit `{v}`"),
            );
        }
    };
    if !(1..=MAX_LIMIT).contains(&limit) {
        return failure(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("_limit must be 1 to {MAX_LIMIT}"),
        );
    }
    let window = match (
        query.number::<usize>("_page"),
        query.number::<usize>("_offset"),
    ) {
        (Ok(Some(page)), _) => Window::page(page + 1, limit),
        (_, Ok(offset)) => Window::offset(offset.unwrap_or(0), limit),
        _ => {
            return failure(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "bad _page or _offset",
            );
        }
    };
    ok(Value::Array(window.of(all)))
}

/// `_filters=name(a,b)`'s values of `name`.
fn filter_values<'q>(query: &'q Query, name: &str) -> Option<Vec<&'q str>> {
    let filters = query.get("_filters")?;
    let start = filters.find(&format!("{name}("))? + name.len() + 1;
    let end = start + filters[start..].find(')')?;
    Some(filters[start..end].split(',').map(str::trim).collect())
}

fn unix(t: Timestamp) -> String {
    t.as_second().to_string()
}

/// A decimal as Accelo writes it: a string with four places.
fn four(d: Decimal) -> String {
    format!("{:.4}", d)
}

async fn companies(State(st): State<Arc<AcceloState>>, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let cw = &st.sample.connectwise;
    let all = cw
        .companies
        .iter()
        .filter(|c| !c.deleted)
        .map(|c| {
            let inactive = cw
                .company_statuses
                .iter()
                .any(|s| s.id == c.status_id && s.inactive_flag);
            let client = c.type_ids.iter().any(|t| {
                cw.company_types
                    .iter()
                    .any(|ct| ct.id == *t && ct.name == DEMO_BILLABLE_TYPE)
            });
            let standing = if client && !inactive {
                "active"
            } else {
                "inactive"
            };
            json!({
                "id": c.id.to_string(), "name": c.name, "custom_id": c.identifier,
                "standing": standing, "status": if standing == "active" { "1" } else { "2" },
                "website": c.website, "phone": c.phone_number, "fax": null,
                "date_created": unix(c.date_acquired), "date_modified": unix(c.date_acquired),
                "date_last_interacted": "0", "comments": "", "staff_bookmarked": "0",
                "default_affiliation": (c.id * 3).to_string(), "postal_address": "0",
            })
        })
        .collect();
    paged(all, &query)
}

fn contract_active(a: &CwAgreement) -> bool {
    a.status.eq_ignore_ascii_case("active") && !a.cancelled
}

/// Months in the agreement's billing cycle.
fn cycle_months(st: &AcceloState, a: &CwAgreement) -> i64 {
    match st
        .sample
        .connectwise
        .billing_cycles
        .iter()
        .find(|(id, _)| *id == a.billing_cycle_id)
        .map(|(_, n)| n.as_str())
    {
        Some("Annual") => 12,
        Some("Quarterly") => 3,
        _ => 1,
    }
}

async fn contracts(State(st): State<Arc<AcceloState>>, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let all = st
        .sample
        .connectwise
        .agreements
        .iter()
        .map(|a| {
            json!({
                "id": a.id.to_string(), "title": a.name,
                "against_type": "company", "against_id": a.company_id.to_string(),
                "against": format!("companies/{}", a.company_id),
                "company": a.company_id.to_string(),
                "standing": if contract_active(a) { "active" } else { "cancelled" },
                "status": if contract_active(a) { "2" } else { "4" },
                "date_created": unix(a.start), "date_started": unix(a.start),
                "date_expires": a.end.map(unix).unwrap_or_else(|| "0".into()),
                "date_period_expires": "0", "value": "0.00", "auto_renew": "yes",
                "period_template_id": cycle_months(&st, a).to_string(),
                "contract_type": "1", "manager": "14", "send_invoice": "email",
                "renew_days": "0", "notes": "", "staff_bookmarked": "0",
            })
        })
        .collect();
    paged(all, &query)
}

/// The one open period of agreement `a`: from the first of this month, for its cycle.
fn period_of(st: &AcceloState, a: &CwAgreement) -> Value {
    let month = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .first_of_month();
    let start = month
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or_else(|_| Timestamp::now());
    let end = month
        .checked_add(cycle_months(st, a).months())
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp() - 1.second())
        .unwrap_or(start);
    json!({
        "id": (a.id * 10 + 1).to_string(), "contract_id": a.id.to_string(),
        "contract": format!("contracts/{}", a.id),
        "date_created": unix(start), "date_commenced": unix(start), "date_expires": unix(end),
        "date_closed": null, "budget_type": "pre-paid", "allowance_type": "fixed value",
        "rate_type": "contract", "rate_id": "1", "service_item_id": "1",
        "duration_type": "fixed", "rollover": "no", "standing": "opened",
        "contract_budget": (a.id * 10 + 1).to_string(),
    })
}

async fn periods(
    State(st): State<Arc<AcceloState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = Query::parse(q.as_deref());
    let Some(a) = st
        .sample
        .connectwise
        .agreements
        .iter()
        .find(|a| a.id.to_string() == id)
    else {
        return failure(StatusCode::NOT_FOUND, "not_found", "No such contract");
    };
    let wanted = filter_values(&query, "standing");
    let all = vec![period_of(&st, a)]
        .into_iter()
        .filter(|p| {
            wanted.as_ref().is_none_or(|w| w.contains(&"opened")) && p["standing"] == "opened"
        })
        .collect();
    paged(all, &query)
}

async fn materials(State(st): State<Arc<AcceloState>>, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let periods = filter_values(&query, "against_id");
    let now = Timestamp::now();
    let sample = &st.sample;
    let all = sample
        .additions()
        .into_iter()
        .filter(|x| {
            x.bill_customer == "Billable" && x.effective <= now && x.cancelled.is_none_or(|c| c > now)
        })
        .filter_map(|x| {
            let period = (x.agreement_id * 10 + 1).to_string();
            if periods.as_ref().is_some_and(|p| !p.contains(&period.as_str())) {
                return None;
            }
            let product = sample.connectwise.catalog.iter().find(|p| p.id == x.product_id);
            Some(json!({
                "id": x.id.to_string(),
                "title": product.map(|p| p.identifier.as_str()).unwrap_or(x.description.as_str()),
                "against_type": "contract_period", "against_id": period,
                "contract_period_id": period,
                "quantity": four(x.quantity), "cost": four(x.unit_cost), "price": four(x.unit_price),
                "material_template_id": x.product_id.to_string(),
                "budget_item_template_id": x.product_id.to_string(),
                "date_created": unix(x.effective), "ordering": x.sequence_number.to_string(),
                "tax_id": null, "material_ledger_id": "0",
            }))
        })
        .collect();
    paged(all, &query)
}

async fn templates(State(st): State<Arc<AcceloState>>, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let all = st
        .sample
        .connectwise
        .catalog
        .iter()
        .map(|p| {
            json!({
                "id": p.id.to_string(), "title": p.identifier, "description": p.description,
                "price": four(p.price), "cost": four(p.cost), "quantity": "1.0000",
                "type": "material", "code": p.identifier,
                "standing": if p.inactive { "inactive" } else { "active" },
            })
        })
        .collect();
    paged(all, &query)
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::accelo::Accelo;
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_reads_what_the_demo_bills() {
        let sample = Arc::new(crate::demo::sample());
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let settings = Api::connection(&server, &sample).settings;
        let c = Accelo::with_secret(
            "accelo",
            &settings,
            SecretString::from(DEMO_CLIENT_SECRET),
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(c.check().await.unwrap().contains("read(all)"));
        let Snapshot::Psa(psa) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a PSA snapshot")
        };
        crate::demo::kit::testing::assert_bills_the_planted(&sample, &psa, |q| q);
        // Paging: more companies and materials than one page, every one read.
        assert!(server.stats.endpoint("GET /api/v0/companies") >= 2);
        assert!(
            server
                .stats
                .endpoint("GET /api/v0/object_budgets/materials")
                >= 2
        );
        assert_eq!(server.stats.endpoint("POST /oauth2/v0/token"), 1);
        let billable = psa.companies.iter().filter(|c| c.billable).count();
        assert!(billable > 0 && billable < psa.companies.len());
        assert!(psa.meta["api requests this sync"].contains("5000 an hour"));

        let wrong = Accelo::with_secret(
            "accelo",
            &settings,
            SecretString::from("nope"),
            RetryPolicy::default(),
        )
        .unwrap();
        let err = wrong.check().await.unwrap_err().to_string();
        assert!(err.contains("HTTP 401"), "{err}");
        assert!(err.contains("invalid_client"), "{err}");
    }
}
