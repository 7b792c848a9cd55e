//! The ConnectWise PSA sandbox: the unauthenticated `login/companyinfo/{companyId}` codebase
//! discovery and the read-only REST 3.0 collections the connector calls, under
//! `/{codebase}/apis/3.0/`. It enforces what the real API enforces: Basic auth with
//! `companyId+publicKey:privateKey` and a registered `clientId` header on every call, `conditions`
//! filtering, `page`/`pageSize` paging (default 25, at most 1000) with an RFC 8288 `Link` header,
//! forward-only paging on request, `fields` and `orderBy`. Records carry the real field names,
//! reference objects with `_info` links and ISO dates, so the connector parses them unchanged.

// Early-return helpers yield the error response itself; it is built once per refused request,
// so its size on the stack does not matter and boxing would only add noise.
#![allow(clippy::result_large_err)]

use std::cmp::Ordering;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine;
use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use super::sample::{CwAddition, CwAgreement, CwCatalogItem, CwCompany};
use super::{DemoCredentials, SampleMsp, query_get, query_pairs};

/// Codebases this "server" answers to: the router every tenant has and a pinned version.
const CODEBASES: &[&str] = &["v4_6_release", "v2025_1"];
const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 1000;
const MSP_NAME: &str = "Bluewave Technology Partners";
const UPDATED_BY: &str = "bwadmin";

pub(super) struct CwState {
    sample: Arc<SampleMsp>,
    creds: DemoCredentials,
    /// `http://127.0.0.1:PORT`, for `_info` and `Link` URLs.
    origin: String,
}

impl CwState {
    pub(super) fn new(
        sample: Arc<SampleMsp>,
        creds: DemoCredentials,
        origin: String,
    ) -> Arc<CwState> {
        Arc::new(CwState {
            sample,
            creds,
            origin,
        })
    }

    fn base(&self, codebase: &str) -> String {
        format!("{}/{codebase}/apis/3.0", self.origin)
    }
}

pub(super) fn router(state: Arc<CwState>) -> Router {
    Router::new()
        .route("/login/companyinfo/{company}", get(company_info))
        .route("/{codebase}/apis/3.0/{*rest}", any(api))
        .fallback(|| async { (StatusCode::NOT_FOUND, "The resource cannot be found.") })
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response()
}

async fn company_info(State(st): State<Arc<CwState>>, Path(company): Path<String>) -> Response {
    if !company.eq_ignore_ascii_case(&st.creds.cw_company_id) {
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
        "CompanyID": st.creds.cw_company_id,
        "IsCloud": false,
        "SiteUrl": host,
    }))
    .into_response()
}

/// Basic `companyId+publicKey:privateKey`, then the integration's `clientId`.
fn authorize(st: &CwState, headers: &HeaderMap) -> Result<(), Response> {
    let unauthorized = |message: &str| error(StatusCode::UNAUTHORIZED, "Unauthorized", message);
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized(
            "No authorization header was supplied; send Basic companyId+publicKey:privateKey",
        ));
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return Err(unauthorized("The authorization header is not valid"));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(unauthorized("Only Basic authorization is supported"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let ok = decoded.as_deref().and_then(|d| {
        let (user, private) = d.split_once(':')?;
        let (company, public) = user.split_once('+')?;
        Some(
            company.eq_ignore_ascii_case(&st.creds.cw_company_id)
                && public == st.creds.cw_public_key
                && private == st.creds.cw_private_key,
        )
    });
    if ok != Some(true) {
        return Err(unauthorized(
            "Authentication failed: the company id, public key or private key is not valid",
        ));
    }
    match headers.get("clientid").and_then(|v| v.to_str().ok()) {
        None => Err(unauthorized(
            "A clientId header is required on every request; register the integration at https://developer.connectwise.com/ClientID",
        )),
        Some(id) if id.trim().eq_ignore_ascii_case(&st.creds.cw_client_id) => Ok(()),
        Some(id) => Err(unauthorized(&format!(
            "clientId `{id}` is not a registered integration"
        ))),
    }
}

async fn api(
    State(st): State<Arc<CwState>>,
    Path((codebase, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if !CODEBASES.contains(&codebase.as_str()) {
        return (StatusCode::NOT_FOUND, "The resource cannot be found.").into_response();
    }
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    if method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The demo sandbox is read-only",
        );
    }
    let base = st.base(&codebase);
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let data = &st.sample.connectwise;
    let query = query_pairs(q.as_deref());
    let list = |records: Vec<Value>| list_response(records, &query, &headers, &base, &rest);
    let one = |found: Option<Value>, what: &str, id: &str| match found {
        Some(v) => axum::Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{what} ID {id} was not found."),
        ),
    };
    let id_of = |s: &str| s.parse::<i64>().ok();
    let companies = || -> Vec<Value> {
        data.companies
            .iter()
            .map(|c| company_json(&st, c, &base))
            .collect()
    };
    let agreements = || -> Vec<Value> {
        data.agreements
            .iter()
            .map(|a| agreement_json(&st, a, &base))
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
            id_of(id).and_then(|id| {
                data.companies
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| company_json(&st, c, &base))
            }),
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
            id_of(id).and_then(|id| {
                data.agreements
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| agreement_json(&st, a, &base))
            }),
            "Agreement",
            id,
        ),
        ["finance", "agreements", id, "additions", rest @ ..] if rest.len() <= 1 => {
            let Some(agreement) = id_of(id).and_then(|id| data.agreements.iter().find(|a| a.id == id))
            else {
                return error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("Agreement ID {id} was not found."),
                );
            };
            let additions: Vec<Value> = data
                .additions
                .iter()
                .filter(|a| a.agreement_id == agreement.id)
                .map(|a| addition_json(&st, a, agreement, &base))
                .collect();
            match rest {
                [] => list(additions),
                ["count"] => count(additions, &query),
                [aid] => one(
                    additions
                        .into_iter()
                        .find(|v| Some(v["id"].as_i64().unwrap_or(-1)) == id_of(aid)),
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
            id_of(id).and_then(|id| {
                data.catalog
                    .iter()
                    .find(|p| p.id == id)
                    .map(|p| catalog_json(p, &base))
            }),
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

fn count(records: Vec<Value>, query: &[(String, String)]) -> Response {
    match filter(records, query) {
        Ok(r) => axum::Json(json!({"count": r.len()})).into_response(),
        Err(r) => r,
    }
}

fn filter(records: Vec<Value>, query: &[(String, String)]) -> Result<Vec<Value>, Response> {
    match query_get(query, "conditions").map(str::trim) {
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

fn parse_positive(query: &[(String, String)], name: &str) -> Result<Option<usize>, Response> {
    match query_get(query, name) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "InvalidObject",
                &format!("{name} `{v}` must be a positive integer"),
            )),
        },
    }
}

/// Filter, sort, page and project a collection, with the `Link` header the real API sends.
fn list_response(
    records: Vec<Value>,
    query: &[(String, String)],
    headers: &HeaderMap,
    base: &str,
    path: &str,
) -> Response {
    let mut records = match filter(records, query) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Some(order) = query_get(query, "orderBy")
        && let Err(r) = order_by(&mut records, order)
    {
        return r;
    }
    let page_size = match parse_positive(query, "pageSize") {
        Ok(n) => n.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE),
        Err(r) => return r,
    };
    let forward_only = headers
        .get("pagination-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("forward-only"));

    let link_to = |params: &[(&str, String)]| {
        let mut url = url::Url::parse(&format!("{base}/{}", path.trim_matches('/')))
            .expect("the sandbox base URL is valid");
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
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
        let after = match query_get(query, "pageId") {
            None => None,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidObject",
                        &format!("pageId `{v}` must be an integer"),
                    );
                }
            },
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
        let total = records.len();
        let last_page = total.div_ceil(page_size).max(1);
        let page: Vec<Value> = records
            .into_iter()
            .skip((page_no - 1).saturating_mul(page_size))
            .take(page_size)
            .collect();
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

    let page = match query_get(query, "fields") {
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

fn order_by(records: &mut [Value], order: &str) -> Result<(), Response> {
    let mut parts = order.split_whitespace();
    let field = parts.next().unwrap_or("");
    let desc = match parts.next().map(|s| s.to_ascii_lowercase()) {
        None => false,
        Some(d) if d == "asc" => false,
        Some(d) if d == "desc" => true,
        Some(d) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "InvalidObject",
                &format!("orderBy direction `{d}` must be asc or desc"),
            ));
        }
    };
    records.sort_by(|a, b| {
        let o = compare(lookup(a, field), lookup(b, field));
        if desc { o.reverse() } else { o }
    });
    Ok(())
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Some(Value::String(x)), Some(Value::String(y))) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// `fields=id,name,status/name`: keeps those paths and nothing else.
fn project(records: Vec<Value>, fields: &str) -> Vec<Value> {
    let paths: Vec<Vec<&str>> = fields
        .split(',')
        .map(|f| f.trim().split('/').filter(|s| !s.is_empty()).collect())
        .filter(|p: &Vec<&str>| !p.is_empty())
        .collect();
    records
        .into_iter()
        .map(|r| {
            let mut out = Value::Object(Map::new());
            for path in &paths {
                if let Some(v) = lookup_path(&r, path) {
                    let mut cur = &mut out;
                    for (i, seg) in path.iter().enumerate() {
                        let key = actual_key(&r, &path[..=i]).unwrap_or_else(|| seg.to_string());
                        let obj = cur.as_object_mut().expect("built as objects");
                        if i + 1 == path.len() {
                            obj.insert(key, v.clone());
                            break;
                        }
                        cur = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    }
                }
            }
            out
        })
        .collect()
}

/// The record's own spelling of a case-insensitive path.
fn actual_key(record: &Value, path: &[&str]) -> Option<String> {
    let (last, parent) = path.split_last()?;
    let parent = lookup_path(record, parent)?;
    parent
        .as_object()?
        .keys()
        .find(|k| k.eq_ignore_ascii_case(last))
        .cloned()
}

fn lookup_path<'a>(record: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = record;
    for seg in path {
        let obj = cur.as_object()?;
        cur = obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(seg))
            .map(|(_, v)| v)?;
    }
    Some(cur)
}

/// Field paths in conditions use `/` (`company/id`) and ignore case, like the real API.
fn lookup<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    let segs: Vec<&str> = path.split('/').collect();
    lookup_path(record, &segs)
}

// ---- conditions ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Date(Timestamp),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Like,
    NotLike,
    In,
    NotIn,
}

#[derive(Debug, Clone)]
struct Clause {
    field: String,
    op: Op,
    values: Vec<Literal>,
}

/// A `conditions` expression: clauses joined by `and`, alternatives joined by `or`, parentheses
/// around groups. `and` binds tighter than `or`, as in SQL.
#[derive(Debug, Clone)]
enum Condition {
    Clause(Clause),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Date(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("a string is not closed".into()),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            v.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&ch| ch == ']')
                    .ok_or("a [date] is not closed")?;
                out.push(Tok::Date(chars[i + 1..i + end].iter().collect()));
                i += end + 1;
            }
            '=' | '!' | '<' | '>' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                if ["!=", "<=", ">=", "<>"].contains(&two.as_str()) {
                    out.push(Tok::Op(if two == "<>" { "!=".into() } else { two }));
                    i += 2;
                } else if c == '!' {
                    return Err("`!` must be followed by `=`".into());
                } else {
                    out.push(Tok::Op(c.to_string()));
                    i += 1;
                }
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !"()=!<>,\"'[".contains(chars[i])
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut alts = vec![self.and()?];
        while self.peek_word("or") {
            self.pos += 1;
            alts.push(self.and()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().expect("one")
        } else {
            Condition::Or(alts)
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut all = vec![self.term()?];
        while self.peek_word("and") {
            self.pos += 1;
            all.push(self.term()?);
        }
        Ok(if all.len() == 1 {
            all.pop().expect("one")
        } else {
            Condition::And(all)
        })
    }

    fn term(&mut self) -> Result<Condition, String> {
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            self.pos += 1;
            let c = self.or()?;
            if self.toks.get(self.pos) != Some(&Tok::RParen) {
                return Err("a `(` is not closed".into());
            }
            self.pos += 1;
            return Ok(c);
        }
        let field = match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => w.clone(),
            other => return Err(format!("expected a field name, found {other:?}")),
        };
        self.pos += 1;
        let op = match self.toks.get(self.pos).cloned() {
            Some(Tok::Op(o)) => {
                self.pos += 1;
                match o.as_str() {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    _ => return Err(format!("unknown operator `{o}`")),
                }
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                match w.to_ascii_lowercase().as_str() {
                    "contains" => Op::Contains,
                    "like" => Op::Like,
                    "in" => Op::In,
                    "not" => {
                        let next = match self.toks.get(self.pos) {
                            Some(Tok::Word(n)) => n.to_ascii_lowercase(),
                            _ => String::new(),
                        };
                        self.pos += 1;
                        match next.as_str() {
                            "in" => Op::NotIn,
                            "like" => Op::NotLike,
                            _ => return Err("`not` must be followed by `in` or `like`".into()),
                        }
                    }
                    other => return Err(format!("unknown operator `{other}`")),
                }
            }
            other => {
                return Err(format!(
                    "expected an operator after `{field}`, found {other:?}"
                ));
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            if self.toks.get(self.pos) != Some(&Tok::LParen) {
                return Err("`in` needs a list in parentheses".into());
            }
            self.pos += 1;
            let mut vals = Vec::new();
            loop {
                vals.push(self.literal()?);
                match self.toks.get(self.pos) {
                    Some(Tok::Comma) => self.pos += 1,
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err("an `in` list is not closed".into()),
                }
            }
            vals
        } else {
            vec![self.literal()?]
        };
        Ok(Condition::Clause(Clause { field, op, values }))
    }

    fn literal(&mut self) -> Result<Literal, String> {
        let tok = self.toks.get(self.pos).cloned();
        self.pos += 1;
        match tok {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Date(d)) => d
                .trim()
                .parse::<Timestamp>()
                .map(Literal::Date)
                .or_else(|_| crate::connectors::de::parse_timestamp(d.trim()).map(Literal::Date))
                .map_err(|_| format!("[{d}] is not a date-time")),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Ok(Literal::Bool(true)),
                "false" => Ok(Literal::Bool(false)),
                "null" => Ok(Literal::Null),
                _ => w
                    .parse::<f64>()
                    .map(Literal::Num)
                    .map_err(|_| format!("`{w}` is not a value; quote strings with \"")),
            },
            other => Err(format!("expected a value, found {other:?}")),
        }
    }
}

impl Condition {
    fn parse(s: &str) -> Result<Condition, String> {
        let mut p = Parser {
            toks: tokenize(s)?,
            pos: 0,
        };
        let c = p.or()?;
        if p.pos != p.toks.len() {
            return Err(format!("unexpected {:?}", p.toks[p.pos]));
        }
        Ok(c)
    }

    fn matches(&self, record: &Value) -> bool {
        match self {
            Condition::And(all) => all.iter().all(|c| c.matches(record)),
            Condition::Or(any) => any.iter().any(|c| c.matches(record)),
            Condition::Clause(c) => c.matches(record),
        }
    }
}

fn like(pattern: &str, text: &str) -> bool {
    // `%` and `*` match any run of characters; everything else literally, without case.
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
        pi += 1;
    }
    pi == p.len()
}

impl Clause {
    fn matches(&self, record: &Value) -> bool {
        let v = lookup(record, &self.field).unwrap_or(&Value::Null);
        match self.op {
            Op::In => self
                .values
                .iter()
                .any(|l| cmp(v, l) == Some(Ordering::Equal)),
            Op::NotIn => !self
                .values
                .iter()
                .any(|l| cmp(v, l) == Some(Ordering::Equal)),
            Op::Contains => match (v, &self.values[0]) {
                (Value::String(s), Literal::Str(l)) => s.to_lowercase().contains(&l.to_lowercase()),
                _ => false,
            },
            Op::Like | Op::NotLike => {
                let m = match (v, &self.values[0]) {
                    (Value::String(s), Literal::Str(l)) => like(l, s),
                    _ => false,
                };
                m == (self.op == Op::Like)
            }
            op => {
                let o = cmp(v, &self.values[0]);
                match op {
                    Op::Eq => o == Some(Ordering::Equal),
                    Op::Ne => o != Some(Ordering::Equal),
                    Op::Lt => o == Some(Ordering::Less),
                    Op::Le => matches!(o, Some(Ordering::Less | Ordering::Equal)),
                    Op::Gt => o == Some(Ordering::Greater),
                    Op::Ge => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
                    _ => false,
                }
            }
        }
    }
}

/// Compares a record's value with a literal; `None` when they cannot be compared.
fn cmp(v: &Value, l: &Literal) -> Option<Ordering> {
    match (v, l) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (_, Literal::Null) | (Value::Null, _) => None,
        (Value::Bool(b), Literal::Bool(x)) => Some(b.cmp(x)),
        (Value::Number(n), Literal::Num(x)) => n.as_f64().map(|f| f.total_cmp(x)),
        (Value::String(s), Literal::Str(x)) => Some(s.to_lowercase().cmp(&x.to_lowercase())),
        (Value::String(s), Literal::Date(d)) => crate::connectors::de::parse_timestamp(s)
            .ok()
            .map(|t| t.cmp(d)),
        _ => None,
    }
}

// ---- records --------------------------------------------------------------------------------

fn day_of(y: i16, m: i8, d: i8) -> Timestamp {
    jiff::civil::date(y, m, d)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("a valid date")
        .timestamp()
}

fn ts(t: Timestamp) -> Value {
    Value::String(t.to_string())
}

fn money(d: Decimal) -> Value {
    // The API sends JSON numbers; every sample amount has a short exact binary neighbour.
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn info(updated: Timestamp) -> Value {
    json!({
        "lastUpdated": ts(updated),
        "updatedBy": UPDATED_BY,
        "dateEntered": ts(updated),
        "enteredBy": UPDATED_BY,
    })
}

fn reference(id: i64, name: &str, href_key: &str, href: String) -> Value {
    let mut info = Map::new();
    info.insert(href_key.into(), Value::String(href));
    json!({"id": id, "name": name, "_info": info})
}

fn company_json(st: &CwState, c: &CwCompany, base: &str) -> Value {
    let data = &st.sample.connectwise;
    let status_name = data
        .company_statuses
        .iter()
        .find(|s| s.id == c.status_id)
        .map(|s| s.name.as_str())
        .unwrap_or("Active");
    let types: Vec<Value> = c
        .type_ids
        .iter()
        .filter_map(|id| data.company_types.iter().find(|t| t.id == *id))
        .map(|t| {
            reference(
                t.id,
                &t.name,
                "type_href",
                format!("{base}/company/companies/types/{}", t.id),
            )
        })
        .collect();
    let vendor = c.type_ids.iter().any(|id| {
        data.company_types
            .iter()
            .any(|t| t.id == *id && t.vendor_flag)
    });
    let updated = c.date_acquired + jiff::SignedDuration::from_hours(24 * 40);
    let mut info = info(updated)
        .as_object()
        .cloned()
        .expect("info is an object");
    info.insert(
        "contacts_href".into(),
        json!(format!(
            "{base}/company/contacts?conditions=company/id={}",
            c.id
        )),
    );
    info.insert(
        "agreements_href".into(),
        json!(format!(
            "{base}/finance/agreements?conditions=company/id={}",
            c.id
        )),
    );
    json!({
        "id": c.id,
        "identifier": c.identifier,
        "name": c.name,
        "status": reference(c.status_id, status_name, "status_href", format!("{base}/company/companies/statuses/{}", c.status_id)),
        "addressLine1": c.address_line1,
        "city": c.city,
        "state": c.state,
        "zip": c.zip,
        "country": reference(1, "United States", "country_href", format!("{base}/company/countries/1")),
        "phoneNumber": c.phone_number,
        "faxNumber": "",
        "website": c.website,
        "territory": reference(1, "Main", "location_href", format!("{base}/system/locations/1")),
        "dateAcquired": ts(c.date_acquired),
        "annualRevenue": 0.0,
        "timeZoneSetup": reference(1, "US Eastern", "timeZoneSetup_href", format!("{base}/system/timeZoneSetups/1")),
        "leadFlag": false,
        "unsubscribeFlag": false,
        "taxCode": reference(11, "Tax-State", "taxCode_href", format!("{base}/finance/taxCodes/11")),
        "billingTerms": reference(1, "Net 30 days", "billingTerms_href", format!("{base}/finance/billingTerms/1")),
        "billToCompany": {"id": c.id, "identifier": c.identifier, "name": c.name, "_info": {"company_href": format!("{base}/company/companies/{}", c.id)}},
        "invoiceDeliveryMethod": {"id": 1, "name": "Email"},
        "deletedFlag": c.deleted,
        "isVendorFlag": vendor,
        "types": types,
        "site": reference(c.id * 10 + 1, "Main", "site_href", format!("{base}/company/companies/{}/sites/{}", c.id, c.id * 10 + 1)),
        "_info": info,
    })
}

fn agreement_json(st: &CwState, a: &CwAgreement, base: &str) -> Value {
    let data = &st.sample.connectwise;
    let company = data
        .companies
        .iter()
        .find(|c| c.id == a.company_id)
        .expect("agreements belong to sample companies");
    let type_name = data
        .agreement_types
        .iter()
        .find(|(id, _)| *id == a.type_id)
        .map(|(_, n)| n.as_str())
        .unwrap_or("Managed Services");
    let cycle = data
        .billing_cycles
        .iter()
        .find(|(id, _)| *id == a.billing_cycle_id)
        .map(|(_, n)| n.as_str())
        .unwrap_or("Monthly");
    let mut m = json!({
        "id": a.id,
        "name": a.name,
        "type": reference(a.type_id, type_name, "type_href", format!("{base}/finance/agreements/types/{}", a.type_id)),
        "company": {"id": company.id, "identifier": company.identifier, "name": company.name, "_info": {"company_href": format!("{base}/company/companies/{}", company.id)}},
        "contact": {"id": company.id * 3, "name": "Office Manager", "_info": {"contact_href": format!("{base}/company/contacts/{}", company.id * 3)}},
        "site": reference(company.id * 10 + 1, "Main", "site_href", format!("{base}/company/companies/{}/sites/{}", company.id, company.id * 10 + 1)),
        "location": reference(2, "Main Office", "location_href", format!("{base}/system/locations/2")),
        "department": reference(10, "Managed Services", "department_href", format!("{base}/system/departments/10")),
        "restrictLocationFlag": false,
        "restrictDepartmentFlag": false,
        "startDate": ts(a.start),
        "noEndingDateFlag": a.end.is_none(),
        "cancelledFlag": a.cancelled,
    });
    // Two literals: one would exceed serde_json's macro recursion limit.
    let terms = json!({
        "customerPO": "",
        "workOrder": "",
        "internalNotes": "",
        "applicationUnits": "Amount",
        "applicationLimit": 0.0,
        "applicationUnlimitedFlag": false,
        "oneTimeFlag": false,
        "coverAgreementTime": true,
        "coverAgreementProduct": false,
        "coverAgreementExpense": false,
        "coverSalesTax": false,
        "carryOverUnused": false,
        "allowOverruns": false,
        "chargeToFirm": false,
        "employeeCompRate": "Actual",
        "compHourlyRate": 0.0,
        "compLimitAmount": 0.0,
        "billCycleId": a.billing_cycle_id,
        "billingCycle": reference(a.billing_cycle_id, cycle, "billingCycle_href", format!("{base}/finance/billingCycles/{}", a.billing_cycle_id)),
        "billOneTimeFlag": false,
        "billingTerms": reference(1, "Net 30 days", "billingTerms_href", format!("{base}/finance/billingTerms/1")),
        "invoicingCycle": "CalendarYear",
        "billAmount": 0.0,
        "taxable": false,
        "prorateFirstBill": 0.0,
        "billStartDate": ts(a.start),
        "taxCode": reference(11, "Tax-State", "taxCode_href", format!("{base}/finance/taxCodes/11")),
        "restrictDownPayment": false,
        "prorateFlag": true,
        "invoiceDescription": "",
        "topComment": false,
        "bottomComment": false,
        "workRole": reference(3, "Technician", "workRole_href", format!("{base}/time/workRoles/3")),
        "workType": reference(2, "Remote Support", "workType_href", format!("{base}/time/workTypes/2")),
        "agreementStatus": a.status,
        "_info": info(a.start),
    });
    let obj = m.as_object_mut().expect("an object");
    if let Value::Object(t) = terms {
        obj.extend(t);
    }
    // The API leaves out what is unset instead of sending null.
    if let Some(end) = a.end {
        obj.insert("endDate".into(), ts(end));
    }
    if let Some(d) = a.date_cancelled {
        obj.insert("dateCancelled".into(), ts(d));
    }
    if let Some(r) = &a.reason_cancelled {
        obj.insert("reasonCancelled".into(), json!(r));
    }
    m
}

fn addition_json(st: &CwState, a: &CwAddition, agreement: &CwAgreement, base: &str) -> Value {
    let product = st
        .sample
        .connectwise
        .catalog
        .iter()
        .find(|p| p.id == a.product_id)
        .expect("additions refer to catalog items");
    let billed = (a.quantity - a.less_included).max(Decimal::ZERO);
    let ext_price = billed * a.unit_price;
    let ext_cost = billed * a.unit_cost;
    let mut m = json!({
        "id": a.id,
        "product": {"id": product.id, "identifier": product.identifier, "_info": {"product_href": format!("{base}/procurement/catalog/{}", product.id)}},
        "quantity": money(a.quantity),
        "lessIncluded": money(a.less_included),
        "unitPrice": money(a.unit_price),
        "unitCost": money(a.unit_cost),
        "billCustomer": a.bill_customer,
        "effectiveDate": ts(a.effective),
        "taxableFlag": false,
        "serialNumber": "",
        "invoiceDescription": a.description,
        "purchaseItemFlag": false,
        "specialOrderFlag": false,
        "agreementId": a.agreement_id,
        "description": a.description,
        "billedQuantity": money(billed),
        "uom": "Each",
        "extPrice": money(ext_price),
        "extCost": money(ext_cost),
        "sequenceNumber": a.sequence_number as f64,
        "margin": money(ext_price - ext_cost),
        "prorateCost": 0.0,
        "proratePrice": 0.0,
        "extendedProrateCost": 0.0,
        "extendedProratePrice": 0.0,
        "prorateCurrentPeriodFlag": false,
        "agreementStatus": agreement.status,
        "invoiceGrouping": {"id": 1, "name": "Default", "_info": {"invoiceGrouping_href": format!("{base}/procurement/invoiceGroupings/1")}},
        "_info": info(a.cancelled.unwrap_or(a.effective)),
    });
    if let Some(c) = a.cancelled {
        m.as_object_mut()
            .expect("an object")
            .insert("cancelledDate".into(), ts(c));
    }
    m
}

fn catalog_json(p: &CwCatalogItem, base: &str) -> Value {
    json!({
        "id": p.id,
        "identifier": p.identifier,
        "description": p.description,
        "inactiveFlag": p.inactive,
        "subcategory": reference(4, &p.subcategory, "subcategory_href", format!("{base}/procurement/subcategories/4")),
        "type": reference(2, "Recurring", "type_href", format!("{base}/procurement/types/2")),
        "productClass": "Agreement",
        "serializedFlag": false,
        "serializedCostFlag": false,
        "phaseProductFlag": false,
        "unitOfMeasure": reference(1, "Each", "unitOfMeasure_href", format!("{base}/procurement/unitOfMeasures/1")),
        "minStockLevel": 0,
        "price": money(p.price),
        "cost": money(p.cost),
        "priceAttribute": "FixedFee",
        "taxableFlag": false,
        "dropShipFlag": false,
        "specialOrderFlag": false,
        "customerDescription": p.customer_description,
        "manufacturer": reference(7, "NinjaOne", "manufacturer_href", format!("{base}/procurement/manufacturers/7")),
        "manufacturerPartNumber": p.identifier,
        "vendorSku": p.identifier,
        "notes": "",
        "recurringFlag": true,
        "recurringRevenue": money(p.price),
        "recurringCost": money(p.cost),
        "recurringOneTimeFlag": false,
        "recurringBillCycle": reference(2, "Monthly", "billingCycle_href", format!("{base}/finance/billingCycles/2")),
        "recurringCycleType": "ContractYear",
        "calculatedPriceFlag": false,
        "calculatedCostFlag": false,
        "category": reference(3, &p.category, "category_href", format!("{base}/procurement/categories/3")),
        "_info": info(day_of(2022, 6, 1)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Value {
        json!({"id": 7, "name": "Acme Dental", "deletedFlag": false, "status": {"id": 1, "name": "Active"},
               "startDate": "2025-01-01T00:00:00Z", "count": 3})
    }

    #[test]
    fn conditions_parse_and_match() {
        let m = |c: &str| Condition::parse(c).unwrap().matches(&rec());
        assert!(m("deletedFlag=false"));
        assert!(!m("deletedFlag = true"));
        assert!(m("status/name=\"active\" and id>=7"));
        assert!(m("id in (1, 7)"));
        assert!(!m("id not in (7)"));
        assert!(m("name like \"acme%\""));
        assert!(m("name contains \"DENTAL\""));
        assert!(m("startDate < [2025-06-01T00:00:00Z]"));
        assert!(m("id=1 or (count=3 and deletedFlag=false)"));
        assert!(m("missing = null"));
        assert!(!m("missing = 1"));
        for bad in [
            "deletedFlag",
            "id ~ 3",
            "name = acme",
            "(id=7",
            "id in 7",
            "x = \"open",
        ] {
            assert!(Condition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn projections_keep_the_asked_paths() {
        let out = project(vec![rec()], "id, STATUS/name");
        assert_eq!(out[0], json!({"id": 7, "status": {"name": "Active"}}));
    }

    #[test]
    fn like_wildcards() {
        assert!(like("%Dental%", "Acme Dental Group"));
        assert!(like("acme*", "ACME"));
        assert!(!like("acme", "acme dental"));
    }
}
