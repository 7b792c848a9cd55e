//! Autotask PSA: zone discovery (and again after a 401), the three auth headers, POST queries
//! with JSON filters and `MaxRecords` 500, `nextPageUrl` paging re-POSTed with the same body,
//! picklist labels (unknown values kept), billable-company rules, one line per
//! ContractServiceUnits row (the covering row counts, rows never sum), ThresholdInformation in
//! the snapshot and as a budget, and the error shapes (`{"errors": [...]}` in 500s and 2xx,
//! 401/403/429, malformed JSON).

use jiff::Timestamp;
use reconcile::connectors::autotask::{Autotask, Settings};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::PsaSnapshot;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, fixture, psa, recording_cx, requests_to};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const USER: &str = "api-recon@bluewave.example";
const CODE: &str = "BLUEWAVERECON01";
const SECRET: &str = "s3cr3t-Autotask!";
const API: &str = "/ATServicesRest/V1.0";

fn settings(server: &MockServer) -> Settings {
    Settings {
        username: USER.into(),
        integration_code: CODE.into(),
        zone_lookup_url: Some(format!("{}/atservicesrest/", server.uri())),
        billable_company_types: vec!["Customer".into()],
        product_field: None,
        max_threshold_percent: None,
        history_days: None,
        allow_write: false,
        write_username: None,
    }
}

fn connector(s: &Settings, retry: RetryPolicy) -> Autotask {
    Autotask::new("at", s, &|_| Ok(SecretString::from(SECRET)), retry).unwrap()
}

/// A fixture with `{{BASE}}` replaced by the mock server's URI.
fn body(server: &MockServer, rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        fixture(rel).replace("{{BASE}}", &server.uri()),
        "application/json",
    )
}

fn authed(m: &str, p: &str) -> wiremock::MockBuilder {
    Mock::given(method(m))
        .and(path(format!("{API}/{p}")))
        .and(header("ApiIntegrationCode", CODE))
        .and(header("UserName", USER))
        .and(header("Secret", SECRET))
}

async fn mount_zone(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/atservicesrest/v1.0/zoneInformation"))
        .and(query_param("user", USER))
        .respond_with(body(server, "autotask/zone.json"))
        .mount(server)
        .await;
}

/// Everything a sync reads, answered from the fixtures (mounted after any test-specific mocks,
/// which wiremock then prefers).
async fn mount_all(server: &MockServer) {
    mount_zone(server).await;
    authed("GET", "ThresholdInformation")
        .respond_with(body(server, "autotask/threshold.json"))
        .mount(server)
        .await;
    authed("GET", "Companies/entityInformation/fields")
        .respond_with(body(server, "autotask/companies_fields.json"))
        .mount(server)
        .await;
    authed("GET", "Contracts/entityInformation/fields")
        .respond_with(body(server, "autotask/contracts_fields.json"))
        .mount(server)
        .await;
    authed("POST", "Companies/query")
        .respond_with(body(server, "autotask/companies_page1.json"))
        .mount(server)
        .await;
    authed("POST", "Companies/query/next")
        .respond_with(body(server, "autotask/companies_page2.json"))
        .mount(server)
        .await;
    for (p, f) in [
        ("Contracts/query", "autotask/contracts.json"),
        ("ContractServices/query", "autotask/contract_services.json"),
        (
            "ContractServiceUnits/query",
            "autotask/contract_service_units.json",
        ),
        ("Services/query", "autotask/services.json"),
    ] {
        authed("POST", p)
            .respond_with(body(server, f))
            .mount(server)
            .await;
    }
}

async fn synced(c: &Autotask) -> PsaSnapshot {
    psa(c.sync(&SyncCx::silent()).await.expect("sync succeeds"))
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Sum of the quantities of the lines in force at `when` for (contract, product).
fn billed(p: &PsaSnapshot, contract: &str, product: &str, when: Timestamp) -> Decimal {
    p.lines
        .iter()
        .filter(|l| {
            l.agreement_id == contract && l.product_identifier == product && l.is_active_at(when)
        })
        .map(|l| l.quantity)
        .sum()
}

#[tokio::test]
async fn spec_valid_oddities_are_unknown_and_what_decides_a_count_is_never_guessed() {
    // Autotask's models make nearly every field nullable: a contract's name, its period type,
    // a row's units and price; picklists grow; a date field holds whatever was imported.
    let server = MockServer::start().await;
    for (p, f) in [
        ("Contracts/query", "autotask/odd_contracts.json"),
        (
            "ContractServiceUnits/query",
            "autotask/odd_contract_service_units.json",
        ),
    ] {
        authed("POST", p)
            .respond_with(body(&server, f))
            .with_priority(1)
            .mount(&server)
            .await;
    }
    mount_all(&server).await;
    let p = synced(&connector(&settings(&server), fast_retry(3))).await;

    let harbor = p.agreements.iter().find(|a| a.id == "29684300").unwrap();
    assert_eq!(
        harbor.name, "Contract 29684300",
        "a null name falls back to the id"
    );
    assert_eq!(harbor.billing_cycle, None);
    assert_eq!(harbor.end, None);
    // Units 30 with a null price: counted, the price taken from its contract service/service.
    let row = p.lines.iter().find(|l| l.id == "990001").unwrap();
    assert_eq!(row.company_id, "174");
    assert_eq!(row.quantity, dec("30"));
    // A contract start that is not a date, a row whose units are null: their companies'
    // billing is unknown, never read as 0 or as always in force.
    assert_eq!(
        p.unreadable.get("176").map(String::as_str),
        Some(
            "contract 29684301 has no readable `startDate`: `the first of the year` is not a date such as 2025-07-01T00:00:00Z"
        )
    );
    assert_eq!(
        p.unreadable.get("175").map(String::as_str),
        Some("units row 990002 of contract 29684302 has no readable quantity (`units`)")
    );
    assert!(!p.unreadable.contains_key("174"), "{:?}", p.unreadable);
    assert!(p.lines.iter().all(|l| l.id != "990002"));
    // The contract of no company and the row with no id are set aside, by endpoint and place.
    let note = reconcile::model::set_aside_note(&p.set_aside).unwrap();
    assert!(note.starts_with("2 records set aside"), "{note}");
    for place in [
        "POST /V1.0/Contracts/query items[3]: missing field `companyID`",
        "POST /V1.0/ContractServiceUnits/query items[2]: missing field `id`",
    ] {
        assert!(note.contains(place), "{place} in {note}");
    }
}

#[tokio::test]
async fn sync_reads_everything_pages_to_the_end_and_picks_the_covering_row() {
    let server = MockServer::start().await;
    mount_all(&server).await;
    let c = connector(&settings(&server), fast_retry(3));
    let (cx, progress) = recording_cx();
    let p = psa(c.sync(&cx).await.unwrap());

    // Both pages of companies; the second page was POSTed to nextPageUrl with the same body.
    assert_eq!(p.companies.len(), 6);
    let first = requests_to(&server, &format!("{API}/Companies/query")).await;
    let next = requests_to(&server, &format!("{API}/Companies/query/next")).await;
    assert_eq!((first.len(), next.len()), (1, 1));
    assert_eq!(next[0].method.as_str(), "POST");
    assert_eq!(first[0].body, next[0].body);
    assert!(next[0].url.query().unwrap().contains("paging="));
    let sent: Value = serde_json::from_slice(&first[0].body).unwrap();
    assert_eq!(sent["MaxRecords"], 500);

    // Only active Recurring Service contracts are asked for, by picklist value.
    let contracts = requests_to(&server, &format!("{API}/Contracts/query")).await;
    let sent: Value = serde_json::from_slice(&contracts[0].body).unwrap();
    let filter = sent["filter"].as_array().unwrap();
    assert!(filter.contains(&serde_json::json!({"op":"eq","field":"contractType","value":7})));
    assert!(filter.contains(&serde_json::json!({"op":"eq","field":"status","value":1})));
    // Services and units are asked for by the ids read before them.
    let units = requests_to(&server, &format!("{API}/ContractServiceUnits/query")).await;
    let sent: Value = serde_json::from_slice(&units[0].body).unwrap();
    assert_eq!(
        sent["filter"][0],
        serde_json::json!({"op":"in","field":"contractID","value":[29684300,29684301,29684302]})
    );
    assert_eq!(sent["filter"][1]["op"], "gte");
    assert_eq!(sent["filter"][1]["field"], "endDate");
    assert_eq!(sent["filter"][2]["op"], "lte");
    assert_eq!(sent["filter"][2]["field"], "startDate");
    let services = requests_to(&server, &format!("{API}/Services/query")).await;
    let sent: Value = serde_json::from_slice(&services[0].body).unwrap();
    assert_eq!(sent["filter"][0]["value"], serde_json::json!([5001, 5002]));

    // Billable rules: Customer and active only; the reasons say why not.
    let company = |name: &str| p.companies.iter().find(|c| c.name == name).unwrap();
    assert!(company("Harbor Dental Group").billable);
    assert_eq!(company("Harbor Dental Group").identifier, "HARB001");
    assert_eq!(company("Harbor Dental Group").types, vec!["Customer"]);
    assert_eq!(
        company("Old Mill Bakery").not_billable_reason.as_deref(),
        Some("inactive in Autotask")
    );
    assert!(
        company("Northwind Prospects")
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("Prospect")
    );
    // An unknown picklist value is kept, visibly, not dropped.
    assert_eq!(company("Cobalt Labs").types, vec!["#42"]);
    assert!(!company("Cobalt Labs").billable);
    assert_eq!(p.companies.iter().filter(|c| c.billable).count(), 2);

    // Agreements: labels from the picklists; an unknown period type is kept as `#9`.
    assert_eq!(p.agreements.len(), 3);
    let harbor = p.agreements.iter().find(|a| a.id == "29684300").unwrap();
    assert_eq!(harbor.agreement_type.as_deref(), Some("Recurring Service"));
    assert_eq!(harbor.status, "Active");
    assert_eq!(harbor.billing_cycle.as_deref(), Some("Monthly"));
    assert_eq!(harbor.company_id, "174");
    let summit = p.agreements.iter().find(|a| a.id == "29684301").unwrap();
    assert_eq!(summit.billing_cycle.as_deref(), Some("Quarterly"));
    let old_mill = p.agreements.iter().find(|a| a.id == "29684302").unwrap();
    assert_eq!(old_mill.billing_cycle.as_deref(), Some("#9"));

    // One line per unit row; at any date only the covering row is in force, never a sum.
    assert_eq!(p.lines.len(), 6);
    let ws = "Managed Workstation";
    for (contract, when, quantity) in [
        ("29684300", "2025-06-15T12:00:00Z", "30"),
        ("29684300", "2025-07-15T12:00:00Z", "24"),
        // The period's last day is still in it; the day after belongs to the next row.
        ("29684300", "2025-06-30T23:00:00Z", "30"),
        ("29684300", "2025-07-01T00:00:00Z", "24"),
        ("29684300", "2025-10-01T00:00:00Z", "0"),
        ("29684301", "2025-09-30T10:00:00Z", "11"),
    ] {
        assert_eq!(
            billed(&p, contract, ws, at(when)),
            dec(quantity),
            "{contract} at {when}"
        );
    }
    // Price, cost, dates and the contract are kept on each line.
    let june = p.lines.iter().find(|l| l.id == "990001").unwrap();
    assert_eq!(june.unit_price, dec("52.0"));
    assert_eq!(june.unit_cost, dec("12.5"));
    assert_eq!(june.effective, Some(at("2025-06-01T00:00:00Z")));
    assert_eq!(june.cancelled, Some(at("2025-07-01T00:00:00Z")));
    assert_eq!(june.agreement_id, "29684300");
    assert_eq!(june.company_id, "174");
    assert_eq!(june.product_id.as_deref(), Some("5001"));
    assert_eq!(june.description.as_deref(), Some("Managed Workstation"));
    // An empty invoice description falls back to the Service's name.
    let srv = p.lines.iter().find(|l| l.id == "990004").unwrap();
    assert_eq!(srv.product_identifier, "Managed Server");
    assert_eq!(srv.description.as_deref(), Some("Managed Server"));
    assert_eq!(srv.unit_price, dec("125.0"));

    assert_eq!(p.products.len(), 2);
    assert!(p.whole_units);
    assert_eq!(p.meta["api requests this hour"], "2310 of 10000");
    assert_eq!(p.meta["api threshold timeframe"], "60 minutes");
    // Threshold, two picklists, 2 company pages, contracts, services, units, services.
    assert_eq!(p.meta["api requests this sync"], "9");
    let stages: Vec<String> = progress
        .lock()
        .unwrap()
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    assert!(stages.contains(&"companies".to_string()), "{stages:?}");
}

#[tokio::test]
async fn billable_types_and_product_field_are_configurable() {
    let server = MockServer::start().await;
    mount_all(&server).await;
    let mut s = settings(&server);
    s.billable_company_types = vec!["customer".into(), "Prospect".into(), "42".into()];
    s.product_field = Some("invoiceDescription".into());
    let p = synced(&connector(&s, fast_retry(3))).await;
    let billable: Vec<&str> = p
        .companies
        .iter()
        .filter(|c| c.billable)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        billable,
        vec![
            "Harbor Dental Group",
            "Summit Legal LLP",
            "Northwind Prospects",
            "Cobalt Labs"
        ]
    );
    assert!(
        p.lines
            .iter()
            .any(|l| l.product_identifier == "Managed Server")
    );
    assert!(p.products.iter().all(|p| !p.identifier.is_empty()));

    // No types at all: every active company is billable.
    s.billable_company_types = vec![];
    let p = synced(&connector(&s, fast_retry(3))).await;
    assert_eq!(p.companies.iter().filter(|c| c.billable).count(), 5);
}

#[tokio::test]
async fn the_zone_is_looked_up_again_after_a_401() {
    let server = MockServer::start().await;
    authed("GET", "ThresholdInformation")
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_all(&server).await;
    let c = connector(&settings(&server), fast_retry(3));
    let msg = c.check().await.unwrap();
    assert!(msg.contains("America West 3"), "{msg}");
    assert!(msg.contains("2310 of 10000"), "{msg}");
    let zone = requests_to(&server, "/atservicesrest/v1.0/zoneInformation").await;
    assert_eq!(zone.len(), 2);
    // Cached after that: a sync does not look it up again.
    synced(&c).await;
    let zone = requests_to(&server, "/atservicesrest/v1.0/zoneInformation").await;
    assert_eq!(zone.len(), 2);
}

/// Autotask's `{"errors": [...]}` bodies are shown as their messages, not as JSON: in a
/// refusal and in a 5xx that lasts.
#[tokio::test]
async fn error_bodies_show_autotasks_own_messages() {
    for (status, entity, says) in [
        (403, "ContractServiceUnits", "HTTP 403"),
        (500, "ContractServices", "HTTP 500 after 3 attempts"),
    ] {
        let server = MockServer::start().await;
        authed("POST", &format!("{entity}/query"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_raw(fixture("autotask/errors_500.json"), "application/json"),
            )
            .mount(&server)
            .await;
        mount_all(&server).await;
        let err = connector(&settings(&server), fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(says), "{msg}");
        assert!(
            msg.contains("Your security level does not allow access to the ContractServiceUnits"),
            "{msg}"
        );
        assert!(!msg.contains("{\"errors\""), "{msg}");
    }
}

#[tokio::test]
async fn errors_inside_a_2xx_are_errors() {
    let server = MockServer::start().await;
    authed("POST", "ContractServiceUnits/query")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("autotask/errors_200.json"), "application/json"),
        )
        .mount(&server)
        .await;
    mount_all(&server).await;
    let err = connector(&settings(&server), fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("ContractServiceUnits/query"), "{msg}");
    assert!(msg.contains("Invalid filter: field 'contractID'"), "{msg}");
}

#[tokio::test]
async fn the_sync_stops_before_the_threshold_instead_of_pushing_the_tenant_into_refusal() {
    let server = MockServer::start().await;
    authed("GET", "ThresholdInformation")
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"externalRequestThreshold":10000,"requestThresholdTimeframe":60,"currentTimeframeRequestCount":7998}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    mount_all(&server).await;
    let err = connector(&settings(&server), fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("of its 10000 requests"), "{msg}");
    assert!(msg.contains("stops at 80% (8000)"), "{msg}");
    assert!(msg.contains("60 minutes"), "{msg}");
    assert!(msg.contains("max_threshold_percent"), "{msg}");
    // It stopped early: the contracts were never read.
    assert!(
        requests_to(&server, &format!("{API}/Contracts/query"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn no_more_than_three_requests_are_in_flight() {
    let server = MockServer::start().await;
    // 700 contracts over two pages: four `contractID in [...]` chunks of services to read.
    let contract = |id: i64| {
        serde_json::json!({"id": id, "companyID": 174, "contractName": format!("C{id}"),
            "contractType": 7, "status": 1, "startDate": "2025-01-01T00:00:00",
            "endDate": "2027-12-31T00:00:00", "contractPeriodType": 1})
    };
    let page = |ids: std::ops::Range<i64>, next: Option<String>| {
        serde_json::json!({"items": ids.map(contract).collect::<Vec<_>>(),
            "pageDetails": {"count": 0, "requestCount": 500, "prevPageUrl": null, "nextPageUrl": next}})
    };
    authed("POST", "Contracts/query")
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            1..501,
            Some(format!(
                "{}{API}/Contracts/query/next?paging=500",
                server.uri()
            )),
        )))
        .mount(&server)
        .await;
    authed("POST", "Contracts/query/next")
        .respond_with(ResponseTemplate::new(200).set_body_json(page(501..701, None)))
        .mount(&server)
        .await;
    authed("POST", "ContractServices/query")
        .respond_with(
            body(&server, "autotask/contract_services.json")
                .set_delay(std::time::Duration::from_millis(400)),
        )
        .mount(&server)
        .await;
    mount_all(&server).await;
    let started = std::time::Instant::now();
    let p = synced(&connector(&settings(&server), fast_retry(3))).await;
    assert_eq!(p.agreements.len(), 700);
    let cs = requests_to(&server, &format!("{API}/ContractServices/query")).await;
    assert_eq!(cs.len(), 4);
    // Four slow requests, three at a time: two rounds, not one.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn past_half_the_threshold_requests_are_paced() {
    let server = MockServer::start().await;
    authed("GET", "ThresholdInformation")
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"externalRequestThreshold":10000,"requestThresholdTimeframe":60,"currentTimeframeRequestCount":6000}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    mount_all(&server).await;
    let started = std::time::Instant::now();
    let p = synced(&connector(&settings(&server), fast_retry(3))).await;
    // Eight paced requests (picklists and queries) at 0.5 s each.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(3900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(p.meta["api requests this hour"], "6000 of 10000");
}

#[tokio::test]
async fn an_unknown_user_and_a_foreign_next_page_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/atservicesrest/v1.0/zoneInformation"))
        .respond_with(ResponseTemplate::new(500).set_body_raw(
            r#"{"errors":["Zone information could not be determined"]}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let err = connector(&settings(&server), fast_retry(3))
        .check()
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("does not know the user `{USER}`")),
        "{msg}"
    );

    let server = MockServer::start().await;
    authed("POST", "Companies/query")
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"items":[],"pageDetails":{"nextPageUrl":"https://evil.example/ATServicesRest/V1.0/Companies/query/next?paging=1"}}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    mount_all(&server).await;
    let err = connector(&settings(&server), fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not sending the credentials there"),
        "{err}"
    );
}

#[test]
fn config_defaults_and_validation() {
    let cfg = reconcile::config::Config::parse(
        "[connections.at]\nkind = \"autotask\"\nusername = \"api@x.example\"\nintegration_code = \"ABC\"\n",
    )
    .unwrap();
    let s = match &cfg.connections["at"].settings {
        reconcile::connectors::ConnectionSettings::Autotask(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(s.billable_company_types, vec!["Customer".to_string()]);
    assert!(
        reconcile::config::Config::parse(
            "[connections.at]\nkind = \"autotask\"\nusername = \"\"\nintegration_code = \"ABC\"\n"
        )
        .is_err()
    );
}

/// The shared HTTP contract: refusals and lasting faults at the contract service units query
/// (what `check` reads too), a 429 or 5xx on the second page of companies, bad bodies at the
/// contracts. A 401 makes the connector look the zone up again and try once more; errors
/// inside a 2xx are Autotask's own (`errors_inside_a_2xx_are_errors`).
struct AutotaskCase;

impl Case for AutotaskCase {
    const CONNECTION: &'static str = "at";
    const SECRETS: &'static [&'static str] = &[SECRET];
    const UNAUTHORIZED: Refusal = Refusal {
        body: None,
        says: &[
            "API Tracking Identifier",
            "reconcile connect autotask --name at",
        ],
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: None,
        says: &[
            "may not read ContractServiceUnits",
            "Contracts (Contracts > View",
        ],
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(connector(&settings(server), retry))
    }

    async fn mount(server: &MockServer) {
        mount_all(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::post(format!("{API}/ContractServiceUnits/query"))
    }

    fn transient() -> Endpoint {
        Endpoint::post(format!("{API}/Companies/query/next"))
    }

    fn decoded() -> Endpoint {
        Endpoint::post(format!("{API}/Contracts/query"))
    }

    fn wrong_shape() -> WrongShape {
        // A contract that names no company is set aside; `items` that is no list fails.
        WrongShape::new(
            r#"{"items":{"id":1,"companyID":174},"pageDetails":{"nextPageUrl":null}}"#,
            "items",
            "expected a JSON array, got an object",
        )
    }

    /// The zone lookup stands for a token: looked up again after a 401, never after a retry.
    fn token() -> Option<Endpoint> {
        Some(Endpoint::get("/atservicesrest/v1.0/zoneInformation"))
    }
}

contract_suite!(autotask_contract, AutotaskCase);
