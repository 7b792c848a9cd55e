//! Syncro: `Authorization: Bearer <token>`, `page` paging driven by `meta.total_pages`, schedules
//! whose lines come inline or from `GET /schedules/{id}`, exact dollar prices, billable-customer
//! rules, the 180-a-minute limit, and errors (401, 403 naming the permission, 429, 5xx, bad JSON).

use std::time::Duration;

use reconcile::connectors::syncro::{Settings, Syncro};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{BillCustomer, PsaSnapshot};
use rust_decimal::Decimal;
use secrecy::SecretString;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, fixture, json, psa, query, recording_cx, requests_to};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const TOKEN: &str = "T0k3n-syncro-abc";
const BEARER: &str = "Bearer T0k3n-syncro-abc";

fn settings(server: &MockServer) -> Settings {
    Settings {
        subdomain: None,
        url: Some(format!("{}/api/v1", server.uri())),
        business_only: false,
        billable_property: None,
        billable_property_values: vec![],
        requests_per_minute: None,
        allow_write: false,
        write_token: false,
    }
}

fn syncro(s: &Settings) -> Syncro {
    Syncro::with_token("syncro", s, SecretString::from(TOKEN), fast_retry(3)).unwrap()
}

fn authed(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/{p}")))
        .and(header("authorization", BEARER))
}

async fn mount_everything(server: &MockServer) {
    for page in ["1", "2"] {
        authed("customers")
            .and(query_param("page", page))
            .respond_with(json(&format!("syncro/customers_p{page}.json")))
            .mount(server)
            .await;
        authed("schedules")
            .and(query_param("page", page))
            .respond_with(json(&format!("syncro/schedules_p{page}.json")))
            .mount(server)
            .await;
    }
    authed("schedules/204")
        .respond_with(json("syncro/schedule_204.json"))
        .mount(server)
        .await;
    authed("products")
        .and(query_param("page", "1"))
        .respond_with(json("syncro/products_p1.json"))
        .mount(server)
        .await;
}

async fn sync_with(s: &Settings) -> PsaSnapshot {
    psa(syncro(s)
        .sync(&SyncCx::silent())
        .await
        .expect("sync succeeds"))
}

#[tokio::test]
async fn reads_every_page_of_customers_schedules_lines_and_products() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let (cx, progress) = recording_cx();
    let snap = psa(syncro(&settings(&server)).sync(&cx).await.unwrap());
    assert_eq!(snap.companies.len(), 5);
    assert_eq!(snap.agreements.len(), 4);
    assert_eq!(snap.lines.len(), 6);
    assert_eq!(snap.products.len(), 3);
    assert!(!snap.whole_units);

    // Both pages of each list, disabled customers asked for (they are shown, not billed).
    let customers = requests_to(&server, "/api/v1/customers").await;
    let pages: Vec<String> = customers.iter().map(|r| query(r)["page"].clone()).collect();
    assert_eq!(pages, ["1", "2"]);
    assert!(
        customers
            .iter()
            .all(|r| query(r)["include_disabled"] == "true")
    );
    assert_eq!(requests_to(&server, "/api/v1/schedules").await.len(), 2);
    // Only the schedule listed without `lines` is read on its own.
    assert_eq!(requests_to(&server, "/api/v1/schedules/204").await.len(), 1);
    assert_eq!(requests_to(&server, "/api/v1/products").await.len(), 1);
    assert_eq!(
        snap.meta["api requests this sync"],
        "6 (at most 180 a minute)"
    );
    let seen = progress.lock().unwrap().clone();
    assert!(seen.contains(&("customers".to_string(), 5)));
    assert!(seen.contains(&("recurring invoice lines".to_string(), 6)));

    // Names: business name, else the person's name.
    let names: Vec<&str> = snap.companies.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Acme Dental",
            "Jo Smith",
            "Beta Prospects LLC",
            "Old Mill Bakery",
            "Cobalt Inc"
        ]
    );
}

#[tokio::test]
async fn lines_keep_schedule_product_quantity_price_cost_and_dates() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let snap = sync_with(&settings(&server)).await;
    let line = |id: &str| snap.lines.iter().find(|l| l.id == id).unwrap();
    let ws = line("3001");
    assert_eq!(ws.agreement_id, "201");
    assert_eq!(ws.company_id, "101");
    assert_eq!(ws.product_id.as_deref(), Some("9001"));
    assert_eq!(ws.product_identifier, "NINJA-WS");
    assert_eq!(ws.quantity, dec("12.0"));
    assert_eq!(ws.unit_price.to_string(), "19.99");
    assert_eq!(ws.unit_cost, dec("10"));
    assert_eq!(ws.effective, Some("2024-01-01T00:00:00Z".parse().unwrap()));
    assert_eq!(ws.cancelled, None);
    assert_eq!(ws.bill_customer, BillCustomer::Billable);

    // Prices as strings and as 0.1/0.2-style numbers stay exact: 0.1 + 0.2 == 0.3.
    let srv = line("3002");
    assert_eq!(srv.quantity.to_string(), "2.5");
    assert_eq!(srv.unit_price.to_string(), "0.30");
    let one_time = line("3003");
    assert_eq!(srv.unit_cost + one_time.unit_cost, dec("0.3"));
    assert_eq!((srv.unit_cost + one_time.unit_cost).to_string(), "0.3");
    assert_eq!(one_time.unit_price, Decimal::from(150));
    // No product: known by the line's name; a one-time charge is not a recurring charge.
    assert_eq!(one_time.product_identifier, "Onsite support block");
    assert_eq!(one_time.product_id, None);
    assert_eq!(
        one_time.bill_customer,
        BillCustomer::Other("OneTimeCharge".into())
    );
    // A product without a UPC code is known by its name.
    assert_eq!(line("3004").product_identifier, "Cloud Backup 1TB");
    // A product the product list does not hold (disabled, deleted): the line's own name.
    let legacy = line("3006");
    assert_eq!(legacy.product_identifier, "Legacy AV");
    assert_eq!(legacy.agreement_id, "204");
    assert_eq!(legacy.quantity, dec("4"));

    let products: Vec<&str> = snap
        .products
        .iter()
        .map(|p| p.identifier.as_str())
        .collect();
    assert_eq!(products, ["NINJA-WS", "NINJA-SRV", "Cloud Backup 1TB"]);
    assert_eq!(snap.products[1].price, Some(dec("0.3")));
}

#[tokio::test]
async fn schedules_are_agreements_with_frequency_and_pause() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let snap = sync_with(&settings(&server)).await;
    let a = |id: &str| snap.agreements.iter().find(|a| a.id == id).unwrap();
    assert_eq!(a("201").billing_cycle.as_deref(), Some("Monthly"));
    assert_eq!(a("201").status, "Active");
    assert_eq!(a("201").name, "Acme Dental - Managed Services");
    assert_eq!(a("202").billing_cycle.as_deref(), Some("Annually"));
    assert_eq!(a("204").billing_cycle.as_deref(), Some("Quarterly"));
    // An unknown frequency is kept as sent; a paused schedule does not bill.
    let paused = a("203");
    assert_eq!(paused.billing_cycle.as_deref(), Some("Fortnightly"));
    assert_eq!(paused.status, "Paused");
    assert_eq!(snap.meta["frequencies kept as sent"], "Fortnightly");
    let now = jiff::Timestamp::now();
    assert!(!paused.is_active_at(now));
    assert!(a("201").is_active_at(now));
    assert_eq!(
        reconcile::engine::months_per_cycle(Some("Annually")),
        Some(Decimal::from(12))
    );
}

#[tokio::test]
async fn billable_customer_rules() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let billable = |snap: &PsaSnapshot| -> Vec<String> {
        snap.companies
            .iter()
            .filter(|c| c.billable)
            .map(|c| c.name.clone())
            .collect()
    };

    // Default: every customer that is not disabled.
    let snap = sync_with(&settings(&server)).await;
    assert_eq!(
        billable(&snap),
        [
            "Acme Dental",
            "Jo Smith",
            "Beta Prospects LLC",
            "Cobalt Inc"
        ]
    );
    let mill = snap
        .companies
        .iter()
        .find(|c| c.name == "Old Mill Bakery")
        .unwrap();
    assert_eq!(mill.status, "Disabled");
    assert_eq!(
        mill.not_billable_reason.as_deref(),
        Some("disabled in Syncro")
    );

    // Businesses only.
    let mut s = settings(&server);
    s.business_only = true;
    let snap = sync_with(&s).await;
    assert_eq!(
        billable(&snap),
        ["Acme Dental", "Beta Prospects LLC", "Cobalt Inc"]
    );
    let jo = snap
        .companies
        .iter()
        .find(|c| c.name == "Jo Smith")
        .unwrap();
    assert_eq!(jo.types, ["Individual"]);
    assert!(
        jo.not_billable_reason
            .as_deref()
            .unwrap()
            .contains("individual")
    );

    // A customer property with billable values.
    let mut s = settings(&server);
    s.billable_property = Some("type".into());
    s.billable_property_values = vec!["Client".into()];
    let snap = sync_with(&s).await;
    assert_eq!(billable(&snap), ["Acme Dental", "Jo Smith"]);
    let reason = |name: &str| {
        snap.companies
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .not_billable_reason
            .clone()
            .unwrap()
    };
    assert!(reason("Beta Prospects LLC").contains("`Prospect`"));
    assert!(reason("Cobalt Inc").contains("not set"));
}

#[tokio::test]
async fn spec_valid_oddities_are_unknown_for_their_record_and_unattributable_ones_set_aside() {
    // Syncro's examples show null in most fields; these add unknown enum values, numbers at
    // their ends, values of another type, extra fields and records without id or customer.
    let server = MockServer::start().await;
    for (p, rel) in [
        ("customers", "syncro/odd_customers.json"),
        ("schedules", "syncro/odd_schedules.json"),
        ("schedules/305", "syncro/odd_schedule_305.json"),
        ("products", "syncro/odd_products.json"),
    ] {
        authed(p).respond_with(json(rel)).mount(&server).await;
    }
    let snap = psa(syncro(&settings(&server))
        .sync(&SyncCx::silent())
        .await
        .expect("records the spec allows never fail the sync"));

    let names: Vec<(&str, &str)> = snap
        .companies
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("401", "Customer #401"),
            ("402", "Northwind Traders"),
            ("403", "Ann Lee"),
            ("405", "Fabrikam"),
        ]
    );
    // A null `disabled` is not disabled, as before; an unreadable one is not guessed.
    assert!(snap.companies[0].billable);
    let mut agreements: Vec<&str> = snap.agreements.iter().map(|a| a.id.as_str()).collect();
    agreements.sort();
    assert_eq!(
        agreements,
        ["301", "302", "304", "305"],
        "303 has no customer"
    );
    let a301 = snap.agreements.iter().find(|a| a.id == "301").unwrap();
    assert_eq!(a301.billing_cycle.as_deref(), Some("Every other Tuesday"));
    assert_eq!(a301.name, "Recurring invoice #301");
    assert_eq!(
        a301.status, "Active",
        "a null `paused` is not paused, as before"
    );
    assert_eq!(a301.start, None, "an unreadable `created_at` is unknown");

    let ids: Vec<&str> = snap.lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["4001", "4003", "4005"]);
    let l = |id: &str| snap.lines.iter().find(|l| l.id == id).unwrap();
    assert_eq!(l("4001").quantity, dec("3.0"));
    assert_eq!(
        l("4001").unit_price,
        dec("21474836.47"),
        "from retail_cents"
    );
    assert_eq!(l("4001").product_identifier, "Managed User");
    assert_eq!(l("4001").bill_customer, BillCustomer::Billable);
    assert_eq!(l("4003").quantity, dec("2"));
    assert_eq!(l("4003").unit_price, Decimal::ZERO, "`n/a` is no price");
    // A product with neither UPC code nor name is known by its id.
    assert_eq!(l("4005").product_identifier, "#9502");
    let p = snap.products.iter().find(|p| p.id == "9501").unwrap();
    assert_eq!(p.price, None, "past what a decimal holds: unknown");

    // What the count depends on is never guessed: those customers' billing is unknown.
    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [
            (
                "401",
                "line 4004 of recurring invoice 301 has no readable quantity (`quantity`)"
            ),
            (
                "402",
                "customer 402 has no readable `disabled`, which decides whether it bills"
            ),
            ("403", "recurring invoice 302 has no readable `paused`"),
            (
                "405",
                "line 4007 of recurring invoice 305 has no readable `one_time_charge` (whether it recurs)"
            ),
        ]
    );
    // A paused schedule's line with an unreadable quantity counts for nothing either way.
    assert!(!snap.lines.iter().any(|l| l.id == "4006"));

    let aside = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(aside.starts_with("4 records set aside"), "{aside}");
    for place in [
        "GET /api/v1/customers customers[2]: missing field `id`",
        "GET /api/v1/schedules schedules[2]: missing field `customer_id`",
        "GET /api/v1/schedules schedules[id=301].lines[1]: missing field `id`",
    ] {
        assert!(aside.contains(place), "{place} in {aside}");
    }
    assert!(aside.contains("and 1 more"), "{aside}");
    assert!(
        snap.set_aside[3].starts_with("GET /api/v1/products products[1]:"),
        "{:?}",
        snap.set_aside
    );
    // The lines' fields are named under the answer they came in.
    assert_eq!(
        snap.meta["records with odd fields read as unknown"],
        "8 (GET /api/v1/customers disabled, GET /api/v1/customers business_name, \
         GET /api/v1/schedules created_at, GET /api/v1/schedules paused, \
         GET /api/v1/schedules price_retail, GET /api/v1/schedules quantity, \
         GET /api/v1/schedules/305 one_time_charge, GET /api/v1/products price_retail)"
    );
}

#[tokio::test]
async fn check_names_the_account_and_counts() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let msg = syncro(&settings(&server)).check().await.unwrap();
    assert!(
        msg.contains("5 customers, 4 recurring invoices and the products are readable"),
        "{msg}"
    );
}

#[tokio::test]
async fn an_answer_without_its_list_is_named() {
    let server = MockServer::start().await;
    authed("customers")
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"error": "x"})))
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let err = syncro(&settings(&server))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("no `customers` list"), "{err}");
}

#[tokio::test]
async fn the_request_limit_is_honoured() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let mut s = settings(&server);
    s.requests_per_minute = Some(2);
    let c = syncro(&s);
    // Two requests fit in the minute; the third waits for the window instead of being sent.
    let got = tokio::time::timeout(Duration::from_millis(1500), c.sync(&SyncCx::silent())).await;
    assert!(got.is_err(), "the sync should still be waiting");
    let sent = server.received_requests().await.unwrap().len();
    assert_eq!(sent, 2);
}

#[tokio::test]
async fn the_token_goes_with_or_without_bearer_and_never_in_debug() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let s = settings(&server);
    sync_with(&s).await;
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs.iter()
            .all(|r| r.headers.get("authorization").unwrap() == BEARER)
    );
    assert!(!format!("{s:?}").contains(TOKEN));
}

/// The shared HTTP contract: refusals at the schedules list (what `check` reads too), a 429 or
/// 5xx on the second page of customers, bad bodies at the schedules list.
struct SyncroCase;

impl Case for SyncroCase {
    const CONNECTION: &'static str = "syncro";
    const SECRETS: &'static [&'static str] = &[TOKEN];
    const UNAUTHORIZED: Refusal = Refusal {
        body: None,
        says: &["API Tokens", "reconcile connect syncro --name syncro"],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: None,
        says: &["`Recurring Invoices - List` permission"],
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(
            Syncro::with_token(
                "syncro",
                &settings(server),
                SecretString::from(TOKEN),
                retry,
            )
            .unwrap(),
        )
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get("/api/v1/schedules")
    }

    fn transient() -> Endpoint {
        Endpoint::get("/api/v1/customers").with_query("page", "2")
    }

    fn wrong_shape() -> WrongShape {
        // An odd record is read tolerantly (see the oddities test); only a body that is not
        // the documented list fails the sync.
        let mut body: serde_json::Value =
            serde_json::from_str(&fixture("syncro/schedules_p1.json")).unwrap();
        body["schedules"] = serde_json::json!({"id": 201});
        WrongShape::new(body.to_string(), "schedules", "expected a JSON array")
    }
}

contract_suite!(syncro_contract, SyncroCase);
