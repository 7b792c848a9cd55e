//! The Kaseya BMS sandbox for `reconcile demo --psa kaseya-bms`, and the BMS v2 surface the
//! Pulseway PSA and CloudBlue PSA sandboxes serve too: the demo MSP's ConnectWise data as BMS
//! API v2 answers, camelCase in the `{success, error, result}` envelope as the live API sends
//! them. It enforces what the real API enforces: the form login at
//! `POST /v2/security/authenticate` (grant type, user name, password and tenant), the bearer
//! token it issues on every other request, and `PageNumber`/`PageSize` paging (in the query of
//! a GET, in the body of a search POST), with `totalRecords` on the paged lists only.
//!
//! Translation: a company is an account (deleted ones are gone; an inactive status is
//! `isActive: false`; its type is `Customer` when it has the demo's billable type, else its
//! first type); a catalog item is a service named by its ConnectWise identifier (so the demo's
//! mappings hold); an agreement is a contract. The API has no recurring-service lines, so
//! billing is on invoices: each company gets this month's invoice, whose contract lines are the
//! additions in force now (billed to the customer), and last month's, whose lines bill one unit
//! more (so a connector that reads anything but the last invoice is caught), each with a labour
//! line on no contract. ConnectWise's "less included" is not carried (an invoice bills units).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jiff::{Timestamp, ToSpan};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::connectors::bms_api::{Family, Settings as BmsSettings};
use crate::connectors::kaseya_bms::{KaseyaBms, Settings};
use crate::demo::kit::auth::{Tokens, bearer, guard};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::{CwAgreement, DEMO_BILLABLE_TYPE, SampleMsp};

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The API user the sandbox knows, its tenant and password.
pub const DEMO_USER: &str = "api.reconcile";
pub const DEMO_TENANT: &str = "Bluewave";
pub const DEMO_PASSWORD: &str = "demo-bms-password-4Fz8";
/// The most records a page holds.
const MAX_PAGE: usize = 100;
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The Kaseya BMS sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-kaseya-bms";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        surface(sample)
    }

    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        connection::<KaseyaBms>(served)
    }
}

/// The BMS v2 surface serving `sample`, for each sandbox of the family.
pub fn surface(sample: Arc<SampleMsp>) -> Surface {
    Surface::api(move |_url| {
        let state = Arc::new(BmsState {
            sample,
            tokens: Tokens::default(),
        });
        let api = Router::new()
            .route("/v2/security/userinfo", get(userinfo))
            .route("/v2/crm/accounts/summary", get(accounts))
            .route("/v2/admin/finance/services/search", post(services))
            .route("/v2/finance/contracts/summary", get(contracts))
            .route("/v2/finance/invoices/summary", get(invoices))
            .route("/v2/finance/invoices/details", post(invoice_lines));
        guard(api, state.clone(), authorized)
            .route("/v2/security/authenticate", post(authenticate))
            .fallback(|| async { failure(StatusCode::NOT_FOUND, "Resource not found") })
            .with_state(state)
    })
}

/// The demo's connection to a family sandbox up as `served`: the API user's login, the
/// default billable type.
pub fn connection<F: Family>(served: &Served) -> Connection<BmsSettings<F>> {
    let settings = BmsSettings::<F> {
        region: None,
        url: Some(served.url().to_string()),
        user: DEMO_USER.into(),
        tenant: DEMO_TENANT.into(),
        billable_types: vec!["Customer".into()],
        invoice_months: None,
        requests_per_hour: None,
        family: std::marker::PhantomData,
    };
    Connection::new(
        settings,
        format!(
            "--url {} --user {DEMO_USER} --tenant {DEMO_TENANT}",
            served.url()
        ),
    )
    .secret("password", DEMO_PASSWORD)
    .note("the password on stdin")
}

struct BmsState {
    sample: Arc<SampleMsp>,
    tokens: Tokens<()>,
}

/// The envelope of a failure.
fn failure(status: StatusCode, message: &str) -> Response {
    reply(
        status,
        json!({"success": false, "error": {"code": status.as_u16(), "message": message}, "result": null}),
    )
}

fn ok(result: Value) -> Response {
    reply(
        StatusCode::OK,
        json!({"success": true, "error": null, "result": result}),
    )
}

/// The form login: `grantType=password` with the user, password and tenant.
async fn authenticate(State(st): State<Arc<BmsState>>, body: Bytes) -> Response {
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(&body)
        .into_owned()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if !field("granttype").eq_ignore_ascii_case("password") {
        return failure(StatusCode::BAD_REQUEST, "GrantType is required");
    }
    if field("username") != DEMO_USER
        || field("password") != DEMO_PASSWORD
        || !field("tenant").eq_ignore_ascii_case(DEMO_TENANT)
    {
        return failure(
            StatusCode::UNAUTHORIZED,
            "Invalid username, password or tenant",
        );
    }
    let token = st.tokens.issue((), TOKEN_LIFETIME);
    let expires = Timestamp::now() + 1.hour();
    ok(json!({
        "accessToken": token,
        "refreshToken": format!("refresh-{token}"),
        "accessTokenExpireOn": expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "refreshTokenExpireOn": (expires + 24.hours()).strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }))
}

fn authorized(st: &Arc<BmsState>, headers: &HeaderMap) -> Result<(), Response> {
    match bearer(headers).map(|t| st.tokens.check(t)) {
        Some(Ok(())) => Ok(()),
        _ => Err(failure(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        )),
    }
}

async fn userinfo() -> Response {
    ok(json!({
        "userId": 12, "fullName": "API Reconcile", "emailAddress": "api@bluewave.example",
        "tenantId": 3, "businessName": DEMO_TENANT, "currencyCode": "USD",
        "isUserSystemAdmin": false, "productName": "BMS",
    }))
}

/// The page `number` (from 1) of `size` (1 to [`MAX_PAGE`], default [`MAX_PAGE`]) records.
fn window(number: Option<i64>, size: Option<i64>) -> Result<Window, Response> {
    let number = number.unwrap_or(1);
    let size = size.unwrap_or(MAX_PAGE as i64);
    if number < 1 || !(1..=MAX_PAGE as i64).contains(&size) {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            &format!("PageNumber must be 1 or more and PageSize 1 to {MAX_PAGE}"),
        ));
    }
    Ok(Window::page(number as usize, size as usize))
}

/// A page of `all`, with `totalRecords` when the list is a paged one.
fn paged(all: Vec<Value>, w: Window, total: bool) -> Response {
    let count = all.len();
    let mut body = json!({"success": true, "error": null, "result": w.of(all)});
    if total {
        body["totalRecords"] = json!(count);
    }
    reply(StatusCode::OK, body)
}

fn query_window(query: &Query) -> Result<Window, Response> {
    let n = query
        .number("PageNumber")
        .map_err(|v| failure(StatusCode::BAD_REQUEST, &format!("PageNumber `{v}`")))?;
    let s = query
        .number("PageSize")
        .map_err(|v| failure(StatusCode::BAD_REQUEST, &format!("PageSize `{v}`")))?;
    window(n, s)
}

fn body_window(body: &Value) -> Result<Window, Response> {
    window(
        body.get("PageNumber").and_then(Value::as_i64),
        body.get("PageSize").and_then(Value::as_i64),
    )
}

/// A JSON body, or the 400 the API answers to anything else.
fn json_body(body: &[u8]) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(failure(
            StatusCode::BAD_REQUEST,
            "The request body must be a JSON object",
        )),
    }
}

fn number(d: Decimal) -> Value {
    serde_json::Number::from_f64(d.to_f64().unwrap_or(0.0))
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn date_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

async fn accounts(State(st): State<Arc<BmsState>>, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let w = match query_window(&query) {
        Ok(w) => w,
        Err(r) => return r,
    };
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
            let types: Vec<&str> = c
                .type_ids
                .iter()
                .filter_map(|t| cw.company_types.iter().find(|ct| ct.id == *t))
                .map(|ct| ct.name.as_str())
                .collect();
            let kind = if types.contains(&DEMO_BILLABLE_TYPE) {
                "Customer"
            } else {
                types.first().copied().unwrap_or("Prospect")
            };
            json!({
                "id": c.id, "accountCode": c.identifier, "accountName": c.name,
                "accountTypeId": if kind == "Customer" { 1 } else { 2 }, "accountType": kind,
                "parentId": null, "isActive": !inactive, "isBilling": true,
                "currencyName": "USD", "website": c.website,
                "createdOn": date_time(c.date_acquired), "tenantName": DEMO_TENANT,
                "locations": [{"id": c.id * 10, "locationName": "Main", "city": c.city}],
            })
        })
        .collect();
    paged(all, w, true)
}

async fn services(State(st): State<Arc<BmsState>>, body: Bytes) -> Response {
    let (body, w) = match json_body(&body).and_then(|b| body_window(&b).map(|w| (b, w))) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let _ = body;
    let all = st
        .sample
        .connectwise
        .catalog
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "name": p.identifier, "description": p.description,
                "unitCost": number(p.cost), "unitPrice": number(p.price),
                "category": p.category, "subCategory": p.subcategory,
                "unitOfMeasure": "Each", "isActive": !p.inactive, "isTaxable": false,
            })
        })
        .collect();
    paged(all, w, true)
}

/// Contracts as BMS keeps them: cancelled agreements are inactive contracts.
fn contract_json(st: &BmsState, a: &CwAgreement) -> Value {
    let cw = &st.sample.connectwise;
    let cycle = cw
        .billing_cycles
        .iter()
        .find(|(id, _)| *id == a.billing_cycle_id)
        .map(|(_, n)| n.as_str())
        .unwrap_or("Monthly");
    let account = cw
        .companies
        .iter()
        .find(|c| c.id == a.company_id)
        .map(|c| c.name.as_str());
    let active = a.status.eq_ignore_ascii_case("active") && !a.cancelled;
    json!({
        "id": a.id, "contractName": a.name, "accountName": account,
        "contractType": "Recurring Services", "contractBillingPrice": 0.0,
        "status": if active { "Active" } else { "Inactive" },
        "contractNumber": format!("C-{}", a.id),
        "billingCycle": if cycle == "Annual" { "Annually" } else { cycle },
        "startDate": date_time(a.start),
        // BMS writes "no end" as .NET's smallest date.
        "endDate": a.end.map(date_time).unwrap_or_else(|| "0001-01-01T00:00:00".into()),
    })
}

async fn contracts(State(st): State<Arc<BmsState>>, RawQuery(q): RawQuery) -> Response {
    let w = match query_window(&Query::parse(q.as_deref())) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let all = st
        .sample
        .connectwise
        .agreements
        .iter()
        .map(|a| contract_json(&st, a))
        .collect();
    paged(all, w, true)
}

/// One invoice of the sandbox: a company's invoice of this month (`age` 0) or last (1).
struct Invoice {
    id: i64,
    company: i64,
    age: i64,
    date: Timestamp,
}

/// Each company with a live agreement gets this month's and last month's invoice.
fn all_invoices(st: &BmsState, now: Timestamp) -> Vec<Invoice> {
    let month = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .first_of_month();
    let mut companies: Vec<i64> = st
        .sample
        .connectwise
        .agreements
        .iter()
        .map(|a| a.company_id)
        .collect();
    companies.sort_unstable();
    companies.dedup();
    let mut out = Vec::new();
    for age in [1, 0] {
        let day = month.checked_sub(age.months()).unwrap_or(month);
        let date = day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(now);
        for c in &companies {
            out.push(Invoice {
                id: c * 10 + 2 - age,
                company: *c,
                age,
                date,
            });
        }
    }
    out
}

fn invoice_number(i: &Invoice) -> String {
    format!("INV-{}", i.id)
}

async fn invoices(State(st): State<Arc<BmsState>>, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let w = match query_window(&query) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let created_from: Option<Timestamp> = query
        .get("Filter.CreatedFrom")
        .and_then(|s| crate::connectors::de::parse_timestamp(s).ok());
    let cw = &st.sample.connectwise;
    let all = all_invoices(&st, Timestamp::now())
        .into_iter()
        // Invoices are made the day before their date.
        .filter(|i| created_from.is_none_or(|f| i.date - 24.hours() >= f))
        .map(|i| {
            let name = cw
                .companies
                .iter()
                .find(|c| c.id == i.company)
                .map(|c| c.name.as_str());
            json!({
                "id": i.id, "invoiceNumber": invoice_number(&i), "statusId": 2,
                "statusName": if i.age == 0 { "Sent" } else { "Paid" },
                "accountId": i.company, "accountName": name,
                "invoiceDate": date_time(i.date), "dueDate": date_time(i.date + (30 * 24).hours()),
                "invoiceFrom": date_time(i.date), "invoiceTo": date_time(i.date + (29 * 24).hours()),
                "createdOn": date_time(i.date - 24.hours()), "postedToAccounting": false,
            })
        })
        .collect();
    paged(all, w, false)
}

async fn invoice_lines(State(st): State<Arc<BmsState>>, body: Bytes) -> Response {
    let (body, w) = match json_body(&body).and_then(|b| body_window(&b).map(|w| (b, w))) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let filter_date = |k: &str| {
        body.pointer(&format!("/Filter/{k}"))
            .and_then(Value::as_str)
            .and_then(|s| crate::connectors::de::parse_timestamp(s).ok())
    };
    let (from, to) = (filter_date("InvoiceDateFrom"), filter_date("InvoiceDateTo"));
    let now = Timestamp::now();
    let sample = &st.sample;
    let additions = sample.additions();
    let mut all = Vec::new();
    for inv in all_invoices(&st, now)
        .into_iter()
        .filter(|i| from.is_none_or(|f| i.date >= f) && to.is_none_or(|t| i.date <= t))
    {
        let line = |id: i64,
                    name: &str,
                    description: &str,
                    qty: Decimal,
                    price: Decimal,
                    contract: Option<&CwAgreement>| {
            json!({
                "id": id, "invoiceId": inv.id, "invoiceNumber": invoice_number(&inv),
                "name": name, "description": description,
                "typeId": if contract.is_some() { 1 } else { 3 },
                "typeName": if contract.is_some() { "Recurring Service" } else { "Labor" },
                "qty": number(qty), "unitPrice": number(price), "totalPrice": number(qty * price),
                "valueDate": date_time(inv.date),
                "contractId": contract.map(|a| a.id).unwrap_or(0),
                "contractName": contract.map(|a| a.name.as_str()),
                "isTaxable": false,
            })
        };
        for a in sample
            .connectwise
            .agreements
            .iter()
            .filter(|a| a.company_id == inv.company)
        {
            for x in additions.iter().filter(|x| {
                x.agreement_id == a.id
                    && x.bill_customer == "Billable"
                    && x.effective <= now
                    && x.cancelled.is_none_or(|c| c > now)
            }) {
                let name = sample
                    .connectwise
                    .catalog
                    .iter()
                    .find(|p| p.id == x.product_id)
                    .map(|p| p.identifier.as_str())
                    .unwrap_or(x.description.as_str());
                // Last month billed one more unit than this month's invoice.
                let qty = x.quantity + Decimal::from(inv.age);
                all.push(line(
                    x.id * 10 + inv.age,
                    name,
                    &x.description,
                    qty,
                    x.unit_price,
                    Some(a),
                ));
            }
        }
        all.push(line(
            9_000_000 + inv.id,
            "Onsite labour",
            "Onsite visit",
            Decimal::new(15, 1),
            Decimal::from(95),
            None,
        ));
    }
    paged(all, w, false)
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::kaseya_bms::KaseyaBmsApi;
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_reads_what_the_demo_bills_from_the_last_invoices() {
        let sample = Arc::new(crate::demo::sample());
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let settings = Api::connection(&server, &sample).settings;
        let c = KaseyaBmsApi::with_password(
            "bms",
            &settings,
            SecretString::from(DEMO_PASSWORD),
            RetryPolicy::default(),
        )
        .unwrap();
        let checked = c.check().await.unwrap();
        assert!(checked.contains("as API Reconcile"), "{checked}");
        let Snapshot::Psa(psa) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a PSA snapshot")
        };
        for l in &psa.lines {
            assert!(l.invoiced.as_deref().unwrap().starts_with("invoice INV-"));
        }
        crate::demo::kit::testing::assert_bills_the_planted(&sample, &psa, |q| q);
        // Paging: more accounts and invoice lines than one page, every one read.
        assert!(server.stats.endpoint("GET /v2/crm/accounts/summary") >= 2);
        assert!(server.stats.endpoint("POST /v2/finance/invoices/details") >= 2);
        assert!(psa.meta["billed quantities"].contains("last invoice"));
        assert!(
            psa.meta["invoice lines on no contract (not recurring, not read)"]
                .parse::<usize>()
                .unwrap()
                > 0
        );

        let wrong = KaseyaBmsApi::with_password(
            "bms",
            &settings,
            SecretString::from("nope"),
            RetryPolicy::default(),
        )
        .unwrap();
        let err = wrong.check().await.unwrap_err().to_string();
        assert!(
            err.contains("Invalid username, password or tenant"),
            "{err}"
        );
        assert!(!err.contains("nope"), "{err}");
    }
}
