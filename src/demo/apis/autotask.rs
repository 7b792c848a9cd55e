//! The Autotask PSA sandbox for `reconcile demo --psa autotask`: the sample MSP's ConnectWise
//! data ([`crate::demo::sample::CwData`]) served as Autotask records, with the real API's zone
//! lookup, headers, JSON-filter queries, `{items, pageDetails}` wrapper, `nextPageUrl` paging
//! (re-POSTed with the same body; a GET there answers 405), `{"errors": [...]}` bodies and
//! ThresholdInformation.
//!
//! Translation: companies keep their names; the ConnectWise type `Client` becomes companyType 1
//! (Customer), `Prospect` 3, `Vendor` 7; an inactive status or a deleted company is
//! `isActive: false`. Managed Services agreements become Recurring Service contracts (type 7),
//! others Block Hours (4); only `Active` agreements are active (status 1). Catalog items become
//! Services named by their identifier (`NINJA-WS`), so the demo's mappings hold. Each addition
//! becomes ContractServiceUnits rows, one per calendar month from its effective date (at most
//! two years back) to two months ahead or its cancellation, with `units` = the addition's
//! quantity rounded up (Autotask units are integers: a fractional demo quantity such as 12.5 GB
//! is billed as 13 units).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::autotask::Settings;
use crate::demo::kit::auth::{guard, header};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::SampleMsp;

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The API-only user the sandbox knows.
pub const DEMO_USERNAME: &str = "api-demo@bluewave.example";
/// Its secret.
pub const DEMO_SECRET: &str = "demo-autotask-secret-K8p4";
/// Its API Tracking Identifier.
pub const DEMO_INTEGRATION_CODE: &str = "DEMOTRACKINGID0001";
/// Records per page: smaller than the real 500 so the demo's few records still page.
pub const DEMO_PAGE: usize = 20;
/// Requests "other integrations" already made this hour, shown by `status`.
pub const DEMO_PRIOR_REQUESTS: u64 = 1_240;

/// The Autotask sandbox: the zone lookup under `/atservicesrest/`, the zone's API under
/// `/ATServicesRest/V1.0/`, on one server.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-autotask";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        let data = Arc::new(ApiState {
            entities: std::sync::RwLock::new(translate(&sample, Timestamp::now())),
            sample,
            requests: AtomicU64::new(0),
        });
        let api = Router::new()
            .route("/ATServicesRest/V1.0/ThresholdInformation", get(threshold))
            .route(
                "/ATServicesRest/V1.0/{entity}/entityInformation/fields",
                get(fields),
            )
            .route(
                "/ATServicesRest/V1.0/ContractServiceAdjustments",
                post(adjust),
            )
            .route("/ATServicesRest/V1.0/Contracts/{id}/Notes", post(note))
            .route("/ATServicesRest/V1.0/{entity}/query", post(query))
            .route("/ATServicesRest/V1.0/{entity}/query/next", post(query));
        let app = guard(api, (), authorized)
            .route("/ATServicesRest/V1.0/{entity}/query/next", get(not_allowed))
            .route("/atservicesrest/v1.0/zoneInformation", get(zone))
            .with_state(data);
        Surface::router(app)
    }

    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        let settings = Settings {
            username: DEMO_USERNAME.into(),
            integration_code: DEMO_INTEGRATION_CODE.into(),
            zone_lookup_url: Some(format!("{}/atservicesrest/", served.url())),
            billable_company_types: vec!["Customer".into()],
            product_field: None,
            max_threshold_percent: None,
            history_days: None,
            allow_write: false,
            write_username: None,
        };
        let flags = format!(
            "--username {} --integration-code {} --zone-lookup-url {}",
            settings.username,
            settings.integration_code,
            settings.zone_lookup_url.as_deref().unwrap_or_default()
        );
        Connection::new(settings, flags).secret("secret", DEMO_SECRET)
    }
}

struct ApiState {
    /// Entity name → records, in id order; made again after each adjustment.
    entities: std::sync::RwLock<BTreeMap<&'static str, Vec<Value>>>,
    sample: Arc<SampleMsp>,
    requests: AtomicU64,
}

/// `POST /V1.0/ContractServiceAdjustments`: a delta of whole units to an existing contract
/// service from `effectiveDate` on. As Autotask documents it: `unitChange` is an int32,
/// `effectiveDate` is required, and the ids must name an existing service of the contract (the
/// real API would otherwise add the service; this sandbox refuses, as `reconcile push` must never
/// create one). Errors come as Autotask's `{"errors": [...]}`. Answers `{"itemId": N}`.
async fn adjust(State(d): State<Arc<ApiState>>, body: String) -> Response {
    d.requests.fetch_add(1, Ordering::Relaxed);
    let bad = |m: String| errors(StatusCode::INTERNAL_SERVER_ERROR, &m);
    let Ok(Value::Object(b)) = serde_json::from_str::<Value>(&body) else {
        return bad("The request body is not a ContractServiceAdjustment object".into());
    };
    for k in b.keys() {
        if ![
            "contractID",
            "contractServiceID",
            "serviceID",
            "effectiveDate",
            "unitChange",
            "adjustedUnitCost",
            "adjustedUnitPrice",
            "allowRepeatService",
            "quoteItemID",
        ]
        .contains(&k.as_str())
        {
            return bad(format!("Unknown field {k} on ContractServiceAdjustment"));
        }
    }
    let int = |k: &str| b.get(k).and_then(Value::as_i64);
    let (Some(contract), Some(cs), Some(service)) = (
        int("contractID"),
        int("contractServiceID"),
        int("serviceID"),
    ) else {
        return bad("contractID, contractServiceID and serviceID are required integers".into());
    };
    let Some(change) = b
        .get("unitChange")
        .filter(|v| v.is_i64())
        .and_then(Value::as_i64)
    else {
        return bad("unitChange is required and must be an integer".into());
    };
    let Some(date) = b
        .get("effectiveDate")
        .and_then(Value::as_str)
        .and_then(|t| t.get(..10))
        .and_then(|t| t.parse::<Date>().ok())
    else {
        return bad("effectiveDate is required (YYYY-MM-DDT00:00:00)".into());
    };
    let cost = match b.get("adjustedUnitCost") {
        None | Some(Value::Null) => None,
        Some(v) => match v
            .as_f64()
            .and_then(|_| v.to_string().parse::<Decimal>().ok())
        {
            Some(c) if c >= Decimal::ZERO => Some(c),
            _ => return bad("adjustedUnitCost must be a number of at least 0".into()),
        },
    };
    let known = d.entities.read().unwrap()["ContractServices"]
        .iter()
        .any(|c| {
            c["id"] == json!(cs)
                && c["contractID"] == json!(contract)
                && c["serviceID"] == json!(service)
        });
    if !known {
        return bad(format!(
            "Contract service {cs} (service {service}) is not on contract {contract}"
        ));
    }
    // The addition in force on the date carries the units.
    let at = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .ok();
    let Some(add) = d.sample.additions().into_iter().find(|a| {
        a.agreement_id == contract
            && a.product_id == service
            && at.is_some_and(|t| a.effective <= t && a.cancelled.is_none_or(|c| c > t))
    }) else {
        return bad(format!("Contract service {cs} has no units on {date}"));
    };
    let now = d.sample.writes.apply_to_row(&add, date);
    let units = now.quantity.ceil() + Decimal::from(change);
    if units < Decimal::ZERO {
        return bad(format!("The adjustment would leave {units} units"));
    }
    d.sample
        .writes
        .write(add.id, units, cost.unwrap_or(now.unit_cost), Some(date));
    *d.entities.write().unwrap() = translate(&d.sample, Timestamp::now());
    reply(
        StatusCode::OK,
        json!({"itemId": 700_000 + i64::from(d.sample.writes.count())}),
    )
}

/// `POST /V1.0/Contracts/{id}/Notes`: a contract note (`title` ≤ 250, `description` ≤ 8,000
/// characters), kept nowhere; answers `{"itemId": N}`.
async fn note(Path(id): Path<i64>, body: String) -> Response {
    let Ok(b) = serde_json::from_str::<Value>(&body) else {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The body is not a ContractNote",
        );
    };
    let len = |k: &str| b.get(k).and_then(Value::as_str).map(|s| s.chars().count());
    match (len("title"), len("description")) {
        (Some(1..=250), Some(1..=8000)) => reply(StatusCode::OK, json!({"itemId": 800_000 + id})),
        _ => errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "A contract note needs a title (at most 250 characters) and a description (at most 8000)",
        ),
    }
}

fn errors(status: StatusCode, msg: &str) -> Response {
    reply(status, json!({ "errors": [msg] }))
}

fn authorized(_: &(), headers: &HeaderMap) -> Result<(), Response> {
    let h = |n: &str| header(headers, n).unwrap_or("");
    if h("username") == DEMO_USERNAME
        && h("secret") == DEMO_SECRET
        && h("apiintegrationcode") == DEMO_INTEGRATION_CODE
    {
        Ok(())
    } else {
        Err(errors(StatusCode::UNAUTHORIZED, "Authentication failed"))
    }
}

async fn zone(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref());
    let user = q.get("user").unwrap_or_default();
    if !user.eq_ignore_ascii_case(DEMO_USERNAME) {
        // The real lookup answers 500 for a user it does not know.
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Zone information could not be determined",
        );
    }
    let host = header(&headers, "host").unwrap_or("127.0.0.1");
    reply(
        StatusCode::OK,
        json!({
            "zoneName": "Demo Zone",
            "url": format!("http://{host}/ATServicesRest/"),
            "webUrl": format!("http://{host}/"),
            "ci": 90210,
        }),
    )
}

async fn threshold(State(d): State<Arc<ApiState>>) -> Response {
    let n = d.requests.fetch_add(1, Ordering::Relaxed) + 1;
    reply(
        StatusCode::OK,
        json!({
            "externalRequestThreshold": 10000,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": DEMO_PRIOR_REQUESTS + n,
        }),
    )
}

fn picklist(values: &[(i64, &str)]) -> Value {
    Value::Array(
        values
            .iter()
            .enumerate()
            .map(|(i, (v, l))| {
                json!({"value": v.to_string(), "label": l, "isDefaultValue": false,
                       "sortOrder": i, "parentValue": "", "isActive": true, "isSystem": true})
            })
            .collect(),
    )
}

const COMPANY_TYPES: &[(i64, &str)] = &[
    (1, "Customer"),
    (2, "Lead"),
    (3, "Prospect"),
    (4, "Dead"),
    (6, "Cancelation"),
    (7, "Vendor"),
    (8, "Partner"),
];
const CONTRACT_TYPES: &[(i64, &str)] = &[
    (1, "Time & Materials"),
    (3, "Fixed Price"),
    (4, "Block Hours"),
    (6, "Retainer"),
    (7, "Recurring Service"),
    (8, "Per Ticket"),
];
const CONTRACT_STATUSES: &[(i64, &str)] = &[(0, "Inactive"), (1, "Active")];
const PERIOD_TYPES: &[(i64, &str)] = &[
    (1, "Monthly"),
    (2, "Quarterly"),
    (3, "Semi-Annual"),
    (4, "Yearly"),
];

async fn fields(State(d): State<Arc<ApiState>>, Path(entity): Path<String>) -> Response {
    d.requests.fetch_add(1, Ordering::Relaxed);
    let f = |name: &str, values: &[(i64, &str)]| {
        json!({"name": name, "dataType": "integer", "isPickList": true, "isQueryable": true,
               "picklistValues": picklist(values)})
    };
    let list = match entity.as_str() {
        "Companies" => vec![
            json!({"name": "id", "dataType": "long", "isPickList": false}),
            f("companyType", COMPANY_TYPES),
        ],
        "Contracts" => vec![
            f("contractType", CONTRACT_TYPES),
            f("status", CONTRACT_STATUSES),
            f("contractPeriodType", PERIOD_TYPES),
        ],
        _ => Vec::new(),
    };
    reply(StatusCode::OK, json!({ "fields": list }))
}

async fn not_allowed() -> Response {
    errors(
        StatusCode::METHOD_NOT_ALLOWED,
        "The requested resource does not support http method 'GET'.",
    )
}

async fn query(
    State(d): State<Arc<ApiState>>,
    headers: HeaderMap,
    Path(entity): Path<String>,
    RawQuery(q): RawQuery,
    body: String,
) -> Response {
    d.requests.fetch_add(1, Ordering::Relaxed);
    let records = d.entities.read().unwrap().get(entity.as_str()).cloned();
    let Some(records) = records else {
        return errors(StatusCode::NOT_FOUND, "No such entity");
    };
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "The request body is not valid JSON",
        );
    };
    let Some(filter) = body.get("filter").and_then(Value::as_array) else {
        return errors(StatusCode::BAD_REQUEST, "A query needs a filter");
    };
    let max = body
        .get("MaxRecords")
        .and_then(Value::as_u64)
        .unwrap_or(500)
        .clamp(1, 500) as usize;
    let window = Window {
        skip: Query::parse(q.as_deref())
            .number("paging")
            .ok()
            .flatten()
            .unwrap_or(0),
        take: max.min(DEMO_PAGE),
    };
    let mut matched = Vec::new();
    for r in &records {
        match filter
            .iter()
            .try_fold(true, |acc, c| Ok::<_, String>(acc && matches(r, c)?))
        {
            Ok(true) => matched.push(r.clone()),
            Ok(false) => {}
            Err(e) => return errors(StatusCode::INTERNAL_SERVER_ERROR, &e),
        }
    }
    let total = matched.len();
    let page = window.of(matched);
    let host = header(&headers, "host").unwrap_or("127.0.0.1");
    let next = window.more(total).then(|| {
        format!(
            "http://{host}/ATServicesRest/V1.0/{entity}/query/next?paging={}",
            window.end()
        )
    });
    reply(
        StatusCode::OK,
        json!({
            "items": page,
            "pageDetails": {"count": page.len(), "requestCount": max, "prevPageUrl": null,
                            "nextPageUrl": next},
        }),
    )
}

/// One filter condition (`eq noteq gt gte lt lte in exist notExist`, and `and`/`or` groups).
fn matches(record: &Value, c: &Value) -> Result<bool, String> {
    let op = c.get("op").and_then(Value::as_str).unwrap_or("");
    if op == "and" || op == "or" {
        let items = c
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut results = Vec::new();
        for i in &items {
            results.push(matches(record, i)?);
        }
        return Ok(if op == "and" {
            results.iter().all(|b| *b)
        } else {
            results.iter().any(|b| *b)
        });
    }
    let field = c.get("field").and_then(Value::as_str).unwrap_or("");
    let have = record
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)))
        .map(|(_, v)| v.clone())
        .ok_or_else(|| format!("Unable to find {field} in the entity"))?;
    let want = c.get("value").cloned().unwrap_or(Value::Null);
    let cmp = |a: &Value, b: &Value| -> Option<std::cmp::Ordering> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
            (Value::Number(x), Value::String(y)) => x.as_f64()?.partial_cmp(&y.parse().ok()?),
            (Value::String(x), Value::String(y)) => Some(x.as_str().cmp(y.as_str())),
            (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
            _ => None,
        }
    };
    use std::cmp::Ordering::*;
    Ok(match op {
        "eq" => cmp(&have, &want) == Some(Equal),
        "noteq" => cmp(&have, &want) != Some(Equal),
        "gt" => cmp(&have, &want) == Some(Greater),
        "gte" => matches!(cmp(&have, &want), Some(Greater | Equal)),
        "lt" => cmp(&have, &want) == Some(Less),
        "lte" => matches!(cmp(&have, &want), Some(Less | Equal)),
        "in" => want
            .as_array()
            .is_some_and(|vs| vs.iter().any(|v| cmp(&have, v) == Some(Equal))),
        "exist" => !have.is_null(),
        "notExist" => have.is_null(),
        other => return Err(format!("Unknown operator {other}")),
    })
}

fn day_of(t: Timestamp) -> Date {
    t.to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn at(d: Date) -> String {
    format!("{d}T00:00:00")
}

/// The sample's ConnectWise records as Autotask entities (see the module doc).
fn translate(sample: &SampleMsp, now: Timestamp) -> BTreeMap<&'static str, Vec<Value>> {
    let cw = &sample.connectwise;
    let type_name = |id: i64| {
        cw.company_types
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.as_str())
            .unwrap_or("")
    };
    let companies: Vec<Value> = cw
        .companies
        .iter()
        .map(|c| {
            let status_inactive = cw
                .company_statuses
                .iter()
                .find(|s| s.id == c.status_id)
                .is_some_and(|s| s.inactive_flag);
            let company_type = match c.type_ids.first().map(|t| type_name(*t)) {
                Some("Client") => 1,
                Some("Prospect") => 3,
                Some("Vendor") => 7,
                _ => 8,
            };
            json!({
                "id": c.id, "companyName": c.name, "companyNumber": c.identifier,
                "companyType": company_type, "isActive": !status_inactive && !c.deleted,
                "phone": c.phone_number, "city": c.city, "state": c.state,
                "postalCode": c.zip, "webAddress": c.website, "userDefinedFields": [],
            })
        })
        .collect();
    let open_end = Date::constant(2030, 12, 31);
    let contracts: Vec<Value> = cw
        .agreements
        .iter()
        .map(|a| {
            let managed = cw
                .agreement_types
                .iter()
                .any(|(id, n)| *id == a.type_id && n == "Managed Services");
            let cycle = cw
                .billing_cycles
                .iter()
                .find(|(id, _)| *id == a.billing_cycle_id)
                .map(|(_, n)| n.as_str());
            let period = match cycle {
                Some("Quarterly") => 2,
                Some("Annual") => 4,
                _ => 1,
            };
            json!({
                "id": a.id, "companyID": a.company_id, "contractName": a.name,
                "contractNumber": format!("C{}", a.id),
                "contractType": if managed { 7 } else { 4 },
                "status": if a.status == "Active" && !a.cancelled { 1 } else { 0 },
                "startDate": at(day_of(a.start)),
                "endDate": at(a.end.map(|e| day_of(e).yesterday().unwrap_or(open_end)).unwrap_or(open_end)),
                "contractPeriodType": period, "contractCategory": 1, "billingPreference": 2,
                "isDefaultContract": false, "setupFee": null, "userDefinedFields": [],
            })
        })
        .collect();
    let services: Vec<Value> = cw
        .catalog
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "name": p.identifier, "description": p.description,
                "invoiceDescription": p.customer_description, "unitPrice": p.price,
                "unitCost": p.cost, "periodType": 1, "isActive": !p.inactive,
                "billingCodeID": 29682801, "markupRate": null,
            })
        })
        .collect();

    // One ContractService per (contract, service); unit rows per addition and month.
    let mut cs_ids: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    let mut contract_services = Vec::new();
    let mut units = Vec::new();
    let today = day_of(now);
    let horizon = today
        .first_of_month()
        .checked_add(3.months())
        .expect("a date")
        .yesterday()
        .expect("a date");
    let earliest = today
        .first_of_month()
        .checked_sub(24.months())
        .expect("a date");
    let mut unit_id = 500_000;
    for add in &cw.additions {
        let key = (add.agreement_id, add.product_id);
        let next_id = 40_000 + cs_ids.len() as i64;
        let cs_id = *cs_ids.entry(key).or_insert_with(|| {
            contract_services.push(json!({
                "id": next_id, "contractID": add.agreement_id, "serviceID": add.product_id,
                "unitPrice": add.unit_price, "unitCost": add.unit_cost,
                "adjustedPrice": add.unit_price, "invoiceDescription": add.description,
                "internalDescription": null, "quoteItemID": null,
            }));
            next_id
        });
        // The newest addition's price is the contract price.
        if let Some(cs) = contract_services
            .iter_mut()
            .find(|c| c["id"] == json!(cs_id))
        {
            cs["unitPrice"] = json!(add.unit_price);
        }
        let whole_at = |end: Date| {
            let a = sample.writes.apply_to_row(add, end);
            (a.quantity.ceil().normalize(), a.unit_cost)
        };
        let last = add
            .cancelled
            .map(|c| day_of(c).yesterday().expect("a date"))
            .unwrap_or(horizon)
            .min(horizon);
        let mut start = day_of(add.effective).max(earliest);
        while start <= last {
            let end = start.last_of_month().min(last);
            let (whole, cost) = whole_at(end);
            units.push(json!({
                "id": unit_id, "contractID": add.agreement_id, "contractServiceID": cs_id,
                "serviceID": add.product_id, "startDate": at(start), "endDate": at(end),
                "units": whole.to_string().parse::<i64>().unwrap_or(0),
                "price": add.unit_price, "cost": cost,
                "approveAndPostDate": if end < today { Value::String(at(end)) } else { Value::Null },
                "vendorCompanyID": null, "organizationalLevelAssociationID": null,
                "internalCurrencyPrice": add.unit_price,
            }));
            unit_id += 1;
            start = end.tomorrow().expect("a date");
        }
    }
    let mut m = BTreeMap::new();
    m.insert("Companies", companies);
    m.insert("Contracts", contracts);
    m.insert("ContractServices", contract_services);
    m.insert("ContractServiceUnits", units);
    m.insert("Services", services);
    m
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::connectors::autotask::Autotask;
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;
    use rust_decimal::Decimal;
    use secrecy::SecretString;

    /// Every expected line of the sample (NinjaOne's and every vendor's): the billed quantity of
    /// the Autotask lines in force now equals the expected one, rounded up to whole units
    /// (Autotask units are integers; the sandbox bills 12.5 as 13).
    #[tokio::test]
    async fn sync_matches_the_sample() {
        let sample = Arc::new(crate::demo::sample());
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let at = Autotask::new(
            "demo-autotask",
            &Api::connection(&server, &sample).settings,
            &|_| Ok(SecretString::from(DEMO_SECRET)),
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(at.check().await.unwrap().contains("Demo Zone"));
        let Snapshot::Psa(p) = at.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a PSA snapshot")
        };
        assert!(p.whole_units);
        assert!(
            p.meta["api requests this hour"].ends_with("of 10000"),
            "{:?}",
            p.meta
        );
        let now = Timestamp::now();
        let names: HashMap<&str, &str> = p
            .companies
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect();
        let mut billed: HashMap<(String, String), Decimal> = HashMap::new();
        for l in p.lines.iter().filter(|l| l.is_active_at(now)) {
            *billed
                .entry((
                    names[l.company_id.as_str()].to_string(),
                    l.product_identifier.clone(),
                ))
                .or_default() += l.quantity;
        }
        let mut checked = 0;
        let mut fractional = 0;
        let expected = sample
            .planted
            .expected
            .iter()
            .chain(sample.vendors.iter().flat_map(|v| v.expected.iter()));
        for e in expected {
            let got = billed
                .get(&(e.company.clone(), e.product.clone()))
                .copied()
                .unwrap_or_default();
            // Whole units: a fractional sample quantity is billed rounded up.
            assert_eq!(got, e.billed.ceil(), "{} {}", e.company, e.product);
            if e.billed != e.billed.trunc() {
                fractional += 1;
            }
            checked += 1;
        }
        assert!(checked > 20, "{checked}");
        // The backup vendor bills GB with halves (213.5): billed here as 214 units. Its expected
        // findings still hold, since the engine rounds usage up too (215.5 is compared as 216).
        assert!(
            fractional > 0,
            "the sample has no fractional quantity any more"
        );
        // The inactive company is there, not billable; the deleted one is inactive too.
        assert!(p.companies.iter().any(|c| !c.billable));
        // Paging happened: more companies than one sandbox page.
        assert!(p.companies.len() > DEMO_PAGE);
        assert!(
            server
                .stats
                .endpoint("POST /ATServicesRest/V1.0/Companies/query/next")
                > 0
        );
    }
}
