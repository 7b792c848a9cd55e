//! The ConnectWise PSA sandbox: the unauthenticated `login/companyinfo/{companyId}` codebase
//! discovery and the read-only REST 3.0 collections the connector calls, under
//! `/{codebase}/apis/3.0/`. It enforces what the real API enforces: Basic auth with
//! `companyId+publicKey:privateKey` and a registered `clientId` header on every call, `conditions`
//! filtering, `page`/`pageSize` paging (default 25, at most 1000) with an RFC 8288 `Link` header,
//! forward-only paging on request, `fields` and `orderBy`. Records carry the real field names,
//! reference objects with `_info` links and ISO dates, so the connector parses them unchanged.

mod query;
mod records;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use self::query::{Condition, order_by, project};
use self::records::{addition_json, agreement_json, catalog_json, company_json, day_of, info};
use crate::connectors::connectwise::Settings;
use crate::demo::kit::auth::{basic, header};
use crate::demo::kit::http::{Query, Window, by_id, pages, reply};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::{DEMO_BILLABLE_TYPE, SampleMsp};

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The company id the sandbox answers to.
pub const DEMO_COMPANY_ID: &str = "bluewave";
/// The API member's public key.
pub const DEMO_PUBLIC_KEY: &str = "DemoPublicKey01";
/// Its private key.
pub const DEMO_PRIVATE_KEY: &str = "DemoPrivateKey01";
/// The registered integration's `clientId`.
pub const DEMO_CLIENT_ID: &str = "4f8e2a6c-1b3d-4e5f-9a7b-2c4d6e8f0a1b";

/// Codebases this "server" answers to: the router every tenant has and a pinned version.
const CODEBASES: &[&str] = &["v4_6_release", "v2025_1"];
const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 1000;
const MSP_NAME: &str = "Bluewave Technology Partners";

/// The ConnectWise PSA sandbox, serving the sample MSP's billing ([`SampleMsp::connectwise`]).
/// It serves both `login/companyinfo` and the API, like an on-premises server.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-connectwise";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        Surface::api(move |origin| {
            let state = Arc::new(ApiState {
                sample,
                origin: origin.to_string(),
            });
            Router::new()
                .route("/login/companyinfo/{company}", get(company_info))
                .route("/{codebase}/apis/3.0/{*rest}", any(api))
                .fallback(|| async { (StatusCode::NOT_FOUND, "The resource cannot be found.") })
                .with_state(state)
        })
    }

    /// Only `Client` companies bill.
    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        let settings = Settings {
            site: served.url().to_string(),
            company_id: DEMO_COMPANY_ID.into(),
            public_key: DEMO_PUBLIC_KEY.into(),
            client_id: DEMO_CLIENT_ID.into(),
            codebase: None,
            billable_company_types: vec![DEMO_BILLABLE_TYPE.to_string()],
            page_size: None,
            allow_write: false,
            write_public_key: None,
        };
        let flags = format!(
            "--site {} --company-id {DEMO_COMPANY_ID} --public-key {DEMO_PUBLIC_KEY} --client-id {DEMO_CLIENT_ID} --billable-type {DEMO_BILLABLE_TYPE}",
            served.url()
        );
        Connection::new(settings, flags).secret("private_key", DEMO_PRIVATE_KEY)
    }
}

struct ApiState {
    sample: Arc<SampleMsp>,
    /// `http://127.0.0.1:PORT`, for `_info` and `Link` URLs.
    origin: String,
}

impl ApiState {
    fn base(&self, codebase: &str) -> String {
        format!("{}/{codebase}/apis/3.0", self.origin)
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    reply(status, json!({"code": code, "message": message}))
}

async fn company_info(State(st): State<Arc<ApiState>>, Path(company): Path<String>) -> Response {
    if !company.eq_ignore_ascii_case(DEMO_COMPANY_ID) {
        // The real endpoint answers an unknown company with a JSON null, not a 404.
        return axum::Json(Value::Null).into_response();
    }
    let host = st
        .origin
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or(&st.origin);
    axum::Json(json!({
        "CompanyName": MSP_NAME,
        "Codebase": "v4_6_release/",
        "VersionCode": "v2025.1",
        "VersionNumber": "v4.6.0",
        "CompanyID": DEMO_COMPANY_ID,
        "IsCloud": false,
        "SiteUrl": host,
    }))
    .into_response()
}

/// Basic `companyId+publicKey:privateKey`, then the integration's `clientId`.
fn authorize(headers: &HeaderMap) -> Result<(), Response> {
    let unauthorized = |message: &str| error(StatusCode::UNAUTHORIZED, "Unauthorized", message);
    let Some(value) = header(headers, header::AUTHORIZATION.as_str()) else {
        return Err(unauthorized(
            "No authorization header was supplied; send Basic companyId+publicKey:privateKey",
        ));
    };
    let Some((scheme, _)) = value.trim().split_once(' ') else {
        return Err(unauthorized("The authorization header is not valid"));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(unauthorized("Only Basic authorization is supported"));
    }
    let ok = basic(headers).is_some_and(|(user, private)| {
        user.split_once('+').is_some_and(|(company, public)| {
            company.eq_ignore_ascii_case(DEMO_COMPANY_ID)
                && public == DEMO_PUBLIC_KEY
                && private == DEMO_PRIVATE_KEY
        })
    });
    if !ok {
        return Err(unauthorized(
            "Authentication failed: the company id, public key or private key is not valid",
        ));
    }
    match header(headers, "clientid") {
        None => Err(unauthorized(
            "A clientId header is required on every request; register the integration at https://developer.connectwise.com/ClientID",
        )),
        Some(id) if id.trim().eq_ignore_ascii_case(DEMO_CLIENT_ID) => Ok(()),
        Some(id) => Err(unauthorized(&format!(
            "clientId `{id}` is not a registered integration"
        ))),
    }
}

async fn api(
    State(st): State<Arc<ApiState>>,
    Path((codebase, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    if !CODEBASES.contains(&codebase.as_str()) {
        return (StatusCode::NOT_FOUND, "The resource cannot be found.").into_response();
    }
    if let Err(r) = authorize(&headers) {
        return r;
    }
    let base = st.base(&codebase);
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    if method == Method::PATCH
        && let ["finance", "agreements", id, "additions", aid] = segments.as_slice()
    {
        return patch_addition(&st, &base, id, aid, &body);
    }
    if method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The demo sandbox changes only agreement additions, with PATCH",
        );
    }
    let data = &st.sample.connectwise;
    let query = Query::parse(q.as_deref());
    let list = |records: Vec<Value>| list_response(records, &query, &headers, &base, &rest);
    let one = |found: Option<Value>, what: &str, id: &str| match found {
        Some(v) => axum::Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{what} ID {id} was not found."),
        ),
    };
    let companies = || -> Vec<Value> {
        data.companies
            .iter()
            .map(|c| company_json(data, c, &base))
            .collect()
    };
    let agreements = || -> Vec<Value> {
        data.agreements
            .iter()
            .map(|a| agreement_json(data, a, &base))
            .collect()
    };
    let catalog = || -> Vec<Value> {
        data.catalog
            .iter()
            .map(|p| catalog_json(p, &base))
            .collect()
    };
    match segments.as_slice() {
        ["system", "info"] => axum::Json(json!({
            "version": "v2025.1.104353",
            "isCloud": false,
            "serverTimeZone": "Eastern Standard Time",
            "licenseBits": [],
            "cloudRegion": "NA",
        }))
        .into_response(),
        ["company", "companies"] => list(companies()),
        ["company", "companies", "count"] => count(companies(), &query),
        ["company", "companies", "statuses"] => list(
            data.company_statuses
                .iter()
                .map(|s| {
                    json!({
                        "id": s.id,
                        "name": s.name,
                        "defaultFlag": s.default_flag,
                        "inactiveFlag": s.inactive_flag,
                        "notifyFlag": false,
                        "disallowSavingFlag": false,
                        "customNoteFlag": false,
                        "cancelOpenTracksFlag": false,
                        "_info": info(day_of(2019, 1, 1)),
                    })
                })
                .collect(),
        ),
        ["company", "companies", "types"] => list(
            data.company_types
                .iter()
                .map(|t| {
                    json!({
                        "id": t.id,
                        "name": t.name,
                        "defaultFlag": t.default_flag,
                        "vendorFlag": t.vendor_flag,
                        "serviceAlertFlag": false,
                        "_info": info(day_of(2019, 1, 1)),
                    })
                })
                .collect(),
        ),
        ["company", "companies", id] => one(
            by_id(&data.companies, id, |c| c.id).map(|c| company_json(data, c, &base)),
            "Company",
            id,
        ),
        ["finance", "agreements"] => list(agreements()),
        ["finance", "agreements", "count"] => count(agreements(), &query),
        ["finance", "agreements", "types"] => list(
            data.agreement_types
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name, "defaultFlag": false, "inactiveFlag": false, "_info": info(day_of(2019, 1, 1))}))
                .collect(),
        ),
        ["finance", "agreements", id] => one(
            by_id(&data.agreements, id, |a| a.id).map(|a| agreement_json(data, a, &base)),
            "Agreement",
            id,
        ),
        ["finance", "agreements", id, "additions", rest @ ..] if rest.len() <= 1 => {
            let Some(agreement) = by_id(&data.agreements, id, |a| a.id) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("Agreement ID {id} was not found."),
                );
            };
            let additions: Vec<Value> = st
                .sample
                .additions()
                .iter()
                .filter(|a| a.agreement_id == agreement.id)
                .map(|a| written_json(&st.sample, a, agreement, &base))
                .collect();
            match rest {
                [] => list(additions),
                ["count"] => count(additions, &query),
                [aid] => one(
                    by_id(&additions, aid, |v| v["id"].as_i64().unwrap_or(-1)).cloned(),
                    "Addition",
                    aid,
                ),
                _ => unreachable!("guarded by rest.len() <= 1"),
            }
        }
        ["finance", "billingCycles"] => list(
            data.billing_cycles
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name, "_info": info(day_of(2019, 1, 1))}))
                .collect(),
        ),
        ["procurement", "catalog"] => list(catalog()),
        ["procurement", "catalog", "count"] => count(catalog(), &query),
        ["procurement", "catalog", id] => one(
            by_id(&data.catalog, id, |p| p.id).map(|p| catalog_json(p, &base)),
            "Catalog Item",
            id,
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("The resource `{rest}` cannot be found in the demo sandbox."),
        ),
    }
}

/// An addition as served, its `_info.lastUpdated` the time of the last write to it.
fn written_json(
    sample: &SampleMsp,
    a: &crate::demo::sample::CwAddition,
    agreement: &crate::demo::sample::CwAgreement,
    base: &str,
) -> Value {
    let mut v = addition_json(&sample.connectwise, a, agreement, base);
    if let Some(w) = sample.writes.get(a.id) {
        v["_info"]["lastUpdated"] = records::ts(w.at);
    }
    v
}

/// `PATCH /finance/agreements/{id}/additions/{id}` with ConnectWise's JSON patch: an array of
/// `{"op": "replace", "path": "<field>", "value": ...}`, where the path is the bare field name
/// (a leading `/` is accepted). This sandbox lets `quantity` and `unitCost` change (what
/// `reconcile push` writes) and refuses anything else as ConnectWise refuses a bad patch: 400
/// with `code`, `message` and `errors[]` naming the field.
fn patch_addition(st: &ApiState, base: &str, id: &str, aid: &str, body: &[u8]) -> Response {
    let invalid = |field: &str, message: String| {
        reply(
            StatusCode::BAD_REQUEST,
            json!({"code": "InvalidObject", "message": "agreementAddition object is invalid",
                   "errors": [{"code": "InvalidField", "message": message, "resource": "agreementAddition", "field": field}]}),
        )
    };
    let data = &st.sample.connectwise;
    let Some(agreement) = by_id(&data.agreements, id, |a| a.id) else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Agreement ID {id} was not found."),
        );
    };
    let Some(addition) = st
        .sample
        .additions()
        .into_iter()
        .find(|a| a.agreement_id == agreement.id && a.id.to_string() == *aid)
    else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Addition ID {aid} was not found."),
        );
    };
    let ops: Vec<Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(ops)) if !ops.is_empty() => ops,
        _ => {
            return invalid(
                "",
                "the body must be a JSON patch: a non-empty array of operations".into(),
            );
        }
    };
    let (mut quantity, mut cost) = (addition.quantity, addition.unit_cost);
    for op in &ops {
        if op.get("op").and_then(Value::as_str) != Some("replace") {
            return invalid(
                "op",
                format!("only `replace` operations are supported: {op}"),
            );
        }
        let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
        let value = op.get("value");
        let number = value
            .and_then(|v| v.as_f64().map(|_| v.to_string()))
            .and_then(|v| v.parse::<rust_decimal::Decimal>().ok())
            .filter(|d| *d >= rust_decimal::Decimal::ZERO);
        let Some(number) = number else {
            return invalid(path, format!("{path} must be a number of at least 0"));
        };
        match path.trim_start_matches('/') {
            "quantity" => quantity = number,
            "unitCost" => cost = number,
            other => {
                return invalid(
                    other,
                    format!("`{other}` cannot be changed through this sandbox"),
                );
            }
        }
    }
    st.sample.writes.write(addition.id, quantity, cost, None);
    let now = st
        .sample
        .additions()
        .into_iter()
        .find(|a| a.id == addition.id)
        .expect("written");
    axum::Json(written_json(&st.sample, &now, agreement, base)).into_response()
}

fn count(records: Vec<Value>, query: &Query) -> Response {
    match filter(records, query) {
        Ok(r) => reply(StatusCode::OK, json!({"count": r.len()})),
        Err(r) => r,
    }
}

fn filter(records: Vec<Value>, query: &Query) -> Result<Vec<Value>, Response> {
    match query.get("conditions").map(str::trim) {
        None | Some("") => Ok(records),
        Some(c) => {
            let cond = Condition::parse(c).map_err(|e| {
                error(
                    StatusCode::BAD_REQUEST,
                    "InvalidObject",
                    &format!("conditions `{c}`: {e}"),
                )
            })?;
            Ok(records.into_iter().filter(|r| cond.matches(r)).collect())
        }
    }
}

fn parse_positive(query: &Query, name: &str) -> Result<Option<usize>, Response> {
    query.positive(name).map_err(|v| {
        error(
            StatusCode::BAD_REQUEST,
            "InvalidObject",
            &format!("{name} `{v}` must be a positive integer"),
        )
    })
}

/// Filter, sort, page and project a collection, with the `Link` header the real API sends.
fn list_response(
    records: Vec<Value>,
    query: &Query,
    headers: &HeaderMap,
    base: &str,
    path: &str,
) -> Response {
    let mut records = match filter(records, query) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Some(order) = query.get("orderBy")
        && let Err(r) = order_by(&mut records, order)
    {
        return r;
    }
    let page_size = match parse_positive(query, "pageSize") {
        Ok(n) => n.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE),
        Err(r) => return r,
    };
    let forward_only = header(headers, "pagination-type")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("forward-only"));

    let link_to = |params: &[(&str, String)]| {
        let mut url = url::Url::parse(&format!("{base}/{}", path.trim_matches('/')))
            .expect("the sandbox base URL is valid");
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query.pairs() {
                let own = ["page", "pageSize", "pageId"]
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(k));
                if !own {
                    q.append_pair(k, v);
                }
            }
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    };

    let (page, links): (Vec<Value>, Vec<String>) = if forward_only {
        let after = match query.number::<i64>("pageId") {
            Ok(after) => after,
            Err(v) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidObject",
                    &format!("pageId `{v}` must be an integer"),
                );
            }
        };
        records.sort_by_key(|r| r["id"].as_i64().unwrap_or(0));
        let rest: Vec<Value> = records
            .into_iter()
            .filter(|r| after.is_none_or(|a| r["id"].as_i64().unwrap_or(0) > a))
            .collect();
        let more = rest.len() > page_size;
        let page: Vec<Value> = rest.into_iter().take(page_size).collect();
        let mut links = Vec::new();
        if more {
            let last = page.last().and_then(|r| r["id"].as_i64()).unwrap_or(0);
            links.push(format!(
                "<{}>; rel=\"next\"",
                link_to(&[
                    ("pageSize", page_size.to_string()),
                    ("pageId", last.to_string())
                ])
            ));
        }
        (page, links)
    } else {
        let page_no = match parse_positive(query, "page") {
            Ok(n) => n.unwrap_or(1),
            Err(r) => return r,
        };
        let last_page = pages(records.len(), page_size);
        let page = Window::page(page_no, page_size).of(records);
        let at =
            |n: usize| link_to(&[("page", n.to_string()), ("pageSize", page_size.to_string())]);
        let mut links = Vec::new();
        // One page in all carries no Link header, as on the real server.
        if last_page > 1 {
            if page_no > 1 {
                links.push(format!("<{}>; rel=\"first\"", at(1)));
                links.push(format!(
                    "<{}>; rel=\"prev\"",
                    at((page_no - 1).min(last_page))
                ));
            }
            if page_no < last_page {
                links.push(format!("<{}>; rel=\"next\"", at(page_no + 1)));
                links.push(format!("<{}>; rel=\"last\"", at(last_page)));
            }
        }
        (page, links)
    };

    let page = match query.get("fields") {
        Some(fields) if !fields.trim().is_empty() => project(page, fields),
        _ => page,
    };
    let mut resp = axum::Json(page).into_response();
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use jiff::Timestamp;
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::connectwise::ConnectWise;
    use crate::connectors::{Connector, ConnectorKind};
    use crate::demo::kit::testing::{cw, psa_snapshot, retry};
    use crate::demo::{Sandbox, sample};
    use crate::http::{ConnectorError, Link};

    #[tokio::test]
    async fn connectwise_sync_pages_through_the_sandbox() {
        let s = sample();
        let sb = Sandbox::start(s.clone()).await.unwrap();
        let connector = cw(&sb, Some(10), DEMO_PRIVATE_KEY);
        let check = connector.check().await.unwrap();
        assert!(check.contains("v4_6_release/"), "{check}");
        let snap = psa_snapshot(&connector).await;
        let data = &s.connectwise;
        let p = &s.planted;

        let visible = data.companies.iter().filter(|c| !c.deleted).count();
        assert_eq!(snap.companies.len(), visible);
        assert!(snap.companies.len() > 20);
        assert!(!snap.companies.iter().any(|c| c.name == p.deleted_company));
        let by_name = |n: &str| snap.companies.iter().find(|c| c.name == n).unwrap();
        assert!(
            by_name(&p.inactive_company)
                .not_billable_reason
                .as_deref()
                .unwrap()
                .contains("inactive")
        );
        assert!(!by_name(&p.non_client_company).billable);
        assert_eq!(
            by_name(&p.fuzzy_org.connectwise).types,
            vec!["Client".to_string()]
        );
        assert_eq!(by_name(&p.fuzzy_org.connectwise).status, "Active");

        let live_agreements = data.agreements.iter().filter(|a| !a.cancelled).count();
        assert_eq!(snap.agreements.len(), live_agreements);
        assert!(
            !snap
                .agreements
                .iter()
                .any(|a| a.name == p.cancelled_agreement)
        );
        assert!(snap.agreements.iter().all(|a| {
            a.agreement_type.as_deref() == Some("Managed Services")
                && a.billing_cycle.as_deref() == Some("Monthly")
                && a.status == "Active"
        }));

        let live_agreement_ids: BTreeSet<i64> = data
            .agreements
            .iter()
            .filter(|a| !a.cancelled)
            .map(|a| a.id)
            .collect();
        let expected_lines = data
            .additions
            .iter()
            .filter(|a| live_agreement_ids.contains(&a.agreement_id))
            .count();
        assert_eq!(snap.lines.len(), expected_lines);
        let now = Timestamp::now();
        let cancelled = snap
            .lines
            .iter()
            .find(|l| l.id == p.cancelled_addition_id.to_string())
            .unwrap();
        assert!(!cancelled.is_active_at(now));
        let in_force = snap.lines.iter().filter(|l| l.is_active_at(now)).count();
        assert_eq!(
            in_force,
            expected_lines - 1,
            "only the cancelled line is out of force"
        );
        let ws = snap
            .lines
            .iter()
            .find(|l| l.product_identifier == "NINJA-WS" && l.is_active_at(now))
            .unwrap();
        assert!(ws.unit_price > rust_decimal::Decimal::ZERO);
        assert_eq!(ws.bill_customer, crate::model::BillCustomer::Billable);

        assert_eq!(
            snap.products.len(),
            data.catalog.iter().filter(|c| !c.inactive).count()
        );
        assert!(
            !snap
                .products
                .iter()
                .any(|c| c.identifier == p.inactive_product)
        );
        let srv = snap
            .products
            .iter()
            .find(|c| c.identifier == "NINJA-SRV")
            .unwrap();
        assert_eq!(srv.price, Some("125.00".parse().unwrap()));

        let stats = &sb.stats(ConnectorKind::ConnectWise);
        assert_eq!(stats.endpoint("GET /login/companyinfo/bluewave"), 1);
        let company_pages = stats.endpoint("GET /v4_6_release/apis/3.0/company/companies");
        // One pageSize=1 request from check, then every page of ten.
        assert_eq!(company_pages, 1 + visible.div_ceil(10));
        assert!(stats.endpoint("GET /v4_6_release/apis/3.0/finance/agreements") >= 3);
        // One page of ten additions per live agreement, more where an agreement has more lines;
        // exactly one full page comes without a Link header (as on the real server), so the
        // connector asks for the next page to see it is empty.
        let addition_pages: usize = data
            .agreements
            .iter()
            .filter(|a| !a.cancelled)
            .map(|a| {
                let n = data
                    .additions
                    .iter()
                    .filter(|x| x.agreement_id == a.id)
                    .count();
                n.div_ceil(10).max(1) + usize::from(n == 10)
            })
            .sum();
        assert_eq!(
            stats.endpoint("GET /v4_6_release/apis/3.0/finance/agreements/{id}/additions"),
            addition_pages
        );
        sb.shutdown().await;
    }

    #[tokio::test]
    async fn connectwise_paging_headers_and_auth_rules() {
        let sb = Sandbox::start(sample()).await.unwrap();
        let base = format!(
            "{}/v4_6_release/apis/3.0",
            sb.url(ConnectorKind::ConnectWise)
        );
        let http = crate::http::build_reqwest(std::time::Duration::from_secs(30));
        let basic = format!("{}+{}", DEMO_COMPANY_ID, DEMO_PUBLIC_KEY);
        let authed = |url: String| {
            http.get(url)
                .basic_auth(&basic, Some(DEMO_PRIVATE_KEY))
                .header("ClientID", DEMO_CLIENT_ID)
        };

        // Default page size 25 and a Link header the connector's parser reads.
        let resp = authed(format!("{base}/company/companies"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let link = resp.headers()["link"].to_str().unwrap().to_string();
        let body: Vec<serde_json::Value> = resp.json().await.unwrap();
        assert_eq!(body.len(), 25);
        let links = Link::parse_header(&link);
        let next = links.iter().find(|l| l.rel == "next").unwrap();
        assert!(
            next.url.contains("page=2") && next.url.contains("pageSize=25"),
            "{link}"
        );
        let resp = authed(next.url.clone()).send().await.unwrap();
        let link = resp.headers()["link"].to_str().unwrap().to_string();
        assert!(
            !Link::parse_header(&link).iter().any(|l| l.rel == "next"),
            "{link}"
        );
        assert!(link.contains("rel=\"prev\""), "{link}");

        // Conditions filter; pageSize is capped at 1000; a single page has no Link header.
        let resp = authed(format!(
            "{base}/company/companies?conditions=deletedFlag%3Dtrue&pageSize=5000"
        ))
        .send()
        .await
        .unwrap();
        assert!(resp.headers().get("link").is_none());
        let body: Vec<serde_json::Value> = resp.json().await.unwrap();
        assert_eq!(body.len(), 1);
        assert_eq!(body[0]["name"], sb.sample.planted.deleted_company);
        let resp = authed(format!(
            "{base}/company/companies?conditions=deletedFlag%3D"
        ))
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), 400);

        // Forward-only paging walks by id.
        let resp = authed(format!("{base}/company/companies?pageSize=10"))
            .header("pagination-type", "forward-only")
            .send()
            .await
            .unwrap();
        let link = resp.headers()["link"].to_str().unwrap().to_string();
        assert!(link.contains("pageId="), "{link}");

        // No clientId: refused with a message that says so.
        let resp = http
            .get(format!("{base}/system/info"))
            .basic_auth(&basic, Some(DEMO_PRIVATE_KEY))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "Unauthorized");
        assert!(body["message"].as_str().unwrap().contains("clientId"));

        // Unknown company at discovery: a JSON null.
        let resp = http
            .get(format!(
                "{}/login/companyinfo/nobody",
                sb.url(ConnectorKind::ConnectWise)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), "null");

        // Through the connector: wrong private key is an auth error, unknown company a clear one.
        let err = cw(&sb, None, "wrong").check().await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Auth { status: 401, .. }),
            "{err:?}"
        );
        let mut settings: crate::connectors::connectwise::Settings = sb.settings();
        settings.company_id = "nobody".into();
        let err = ConnectWise::new(
            "connectwise",
            &settings,
            SecretString::from(DEMO_PRIVATE_KEY),
            retry(),
        )
        .unwrap()
        .check()
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("does not know the company id"),
            "{err}"
        );
        assert!(sb.stats(ConnectorKind::ConnectWise).total() >= 10);
    }
}
