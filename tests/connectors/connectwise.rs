//! ConnectWise PSA: codebase discovery, Basic auth plus clientId, page/pageSize paging with Link
//! headers, exact decimals, agreement and addition filtering, billable-company rules, errors.

use std::collections::BTreeMap;

use jiff::Timestamp;
use reconcile::config::Config;
use reconcile::connectors::connectwise::{ConnectWise, Settings as ConnectWiseSettings};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{BillCustomer, PsaCompany, PsaLine, PsaSnapshot, Snapshot};
use rust_decimal::Decimal;
use secrecy::SecretString;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    CwPages, dec, fast_retry, fixture, json, psa, query, recording_cx, requests_to,
};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const COMPANY_ID: &str = "acme";
const PUBLIC_KEY: &str = "pubKEY";
const PRIVATE_KEY: &str = "privKEY";
const CLIENT_ID: &str = "3f2e8d4c-6b1a-4f0e-9c7d-5a4b3c2d1e0f";
/// `Basic base64("acme+pubKEY:privKEY")`, computed outside the code under test.
const BASIC: &str = "Basic YWNtZStwdWJLRVk6cHJpdktFWQ==";
const API: &str = "/v4_6_release/apis/3.0";

fn settings(server: &MockServer) -> ConnectWiseSettings {
    ConnectWiseSettings {
        site: server.uri(),
        company_id: COMPANY_ID.into(),
        public_key: PUBLIC_KEY.into(),
        client_id: CLIENT_ID.into(),
        codebase: None,
        billable_company_types: vec!["client".into()],
        page_size: Some(2),
        allow_write: false,
        write_public_key: None,
    }
}

fn cw_with(s: &ConnectWiseSettings) -> ConnectWise {
    cw_retrying(s, fast_retry(3))
}

fn cw_retrying(s: &ConnectWiseSettings, retry: RetryPolicy) -> ConnectWise {
    ConnectWise::new("cw", s, SecretString::from(PRIVATE_KEY), retry)
        .expect("a loopback site is accepted")
}

fn api(p: &str) -> String {
    format!("{API}/{p}")
}

async fn mount_discovery(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/login/companyinfo/acme"))
        .respond_with(json("connectwise/companyinfo.json"))
        .mount(server)
        .await;
}

/// An authenticated API collection answered page by page from a fixture.
fn authed(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(api(p)))
        .and(header("authorization", BASIC))
        .and(header("clientId", CLIENT_ID))
}

/// Everything a sync reads. `link` chooses whether collections send `Link` headers.
async fn mount_everything(server: &MockServer, link: bool) {
    mount_discovery(server).await;
    let pages = |rel: &str| CwPages {
        link,
        ..CwPages::of(rel)
    };
    authed("system/info")
        .respond_with(json("connectwise/system_info.json"))
        .mount(server)
        .await;
    authed("company/companies/statuses")
        .respond_with(pages("connectwise/statuses.json"))
        .mount(server)
        .await;
    authed("company/companies")
        .respond_with(pages("connectwise/companies.json"))
        .mount(server)
        .await;
    authed("finance/agreements")
        .respond_with(pages("connectwise/agreements.json"))
        .mount(server)
        .await;
    for id in [500, 501, 504] {
        authed(&format!("finance/agreements/{id}/additions"))
            .respond_with(pages(&format!("connectwise/additions_{id}.json")))
            .mount(server)
            .await;
    }
    authed("procurement/catalog")
        .respond_with(pages("connectwise/catalog.json"))
        .mount(server)
        .await;
}

async fn full_sync(server: &MockServer) -> PsaSnapshot {
    mount_everything(server, true).await;
    psa(cw_with(&settings(server))
        .sync(&SyncCx::silent())
        .await
        .expect("sync succeeds"))
}

fn line<'a>(snap: &'a PsaSnapshot, id: &str) -> &'a PsaLine {
    snap.lines
        .iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("line {id} is missing"))
}

fn company<'a>(snap: &'a PsaSnapshot, identifier: &str) -> &'a PsaCompany {
    snap.companies
        .iter()
        .find(|c| c.identifier == identifier)
        .unwrap_or_else(|| panic!("company {identifier} is missing"))
}

#[tokio::test]
async fn check_discovers_the_codebase_and_sends_basic_auth_and_client_id() {
    let server = MockServer::start().await;
    mount_everything(&server, true).await;
    let ok = cw_with(&settings(&server)).check().await.unwrap();
    assert!(ok.contains("codebase v4_6_release/"), "{ok}");
    assert!(ok.contains("version v2025.1.112233"), "{ok}");
    assert!(ok.contains("companies and agreements are readable"), "{ok}");

    let all = server.received_requests().await.unwrap();
    let (discovery, api_calls): (Vec<_>, Vec<_>) = all
        .iter()
        .partition(|r| r.url.path().starts_with("/login/"));
    assert_eq!(discovery.len(), 1);
    assert_eq!(discovery[0].url.path(), "/login/companyinfo/acme");
    assert!(
        discovery[0].headers.get("authorization").is_none(),
        "credentials never go to the unauthenticated discovery endpoint"
    );
    let paths: Vec<&str> = api_calls.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            api("system/info"),
            api("company/companies"),
            api("finance/agreements")
        ]
    );
    for r in &api_calls {
        assert_eq!(r.headers.get("authorization").unwrap(), BASIC);
        assert_eq!(r.headers.get("clientid").unwrap(), CLIENT_ID);
    }
    assert_eq!(
        query(api_calls[1]).get("pageSize").map(String::as_str),
        Some("1")
    );
}

#[tokio::test]
async fn sync_reads_companies_agreements_additions_and_catalog() {
    let server = MockServer::start().await;
    mount_everything(&server, true).await;
    let (cx, progress) = recording_cx();
    let snap = psa(cw_with(&settings(&server)).sync(&cx).await.unwrap());

    let counts = Snapshot::Psa(snap.clone()).counts();
    let expected: BTreeMap<String, usize> = [
        ("companies", 6),
        ("agreements", 5),
        ("lines", 7),
        ("products", 5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, expected);

    // Every collection was paged with page/pageSize=2 and the filters the connector promises.
    for (p, pages, conditions) in [
        ("company/companies/statuses", 2, None),
        ("company/companies", 3, Some("deletedFlag=false")),
        ("finance/agreements", 3, Some("cancelledFlag=false")),
        ("procurement/catalog", 3, Some("inactiveFlag=false")),
    ] {
        let reqs = requests_to(&server, &api(p)).await;
        for r in &reqs {
            assert_eq!(
                query(r).get("conditions").map(String::as_str),
                conditions,
                "{p}"
            );
        }
        let got: Vec<(String, String)> = reqs
            .iter()
            .map(|r| {
                let q = query(r);
                (q["page"].clone(), q["pageSize"].clone())
            })
            .collect();
        let want: Vec<(String, String)> = (1..=pages)
            .map(|n| (n.to_string(), "2".to_string()))
            .collect();
        assert_eq!(got, want, "{p}");
    }

    // Lines come back sorted by agreement then id, with the agreement's company.
    let ids: Vec<(&str, &str)> = snap
        .lines
        .iter()
        .map(|l| (l.agreement_id.as_str(), l.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("500", "1001"),
            ("500", "1002"),
            ("500", "1003"),
            ("500", "1004"),
            ("500", "1005"),
            ("500", "1006"),
            ("501", "1010")
        ]
    );
    assert_eq!(line(&snap, "1010").company_id, "251");
    assert_eq!(line(&snap, "1001").product_identifier, "NINJA-WS");
    assert_eq!(line(&snap, "1001").product_id.as_deref(), Some("77"));

    let agreement = snap.agreements.iter().find(|a| a.id == "500").unwrap();
    assert_eq!(agreement.company_id, "250");
    assert_eq!(
        agreement.agreement_type.as_deref(),
        Some("Managed Services")
    );
    assert_eq!(agreement.billing_cycle.as_deref(), Some("Monthly"));
    assert_eq!(
        agreement.start,
        Some("2024-01-01T00:00:00Z".parse().unwrap())
    );
    assert!(agreement.raw.as_deref().unwrap().contains("additions_href"));

    let product = snap
        .products
        .iter()
        .find(|p| p.identifier == "NINJA-NET")
        .unwrap();
    assert_eq!(product.price, Some(dec("22.99")));
    assert_eq!(product.cost, Some(dec("9.99")));
    assert!(!product.inactive);

    let progress = progress.lock().unwrap().clone();
    let max = |stage: &str| {
        progress
            .iter()
            .filter(|(s, _)| s == stage)
            .map(|(_, n)| *n)
            .max()
    };
    assert_eq!(max("companies"), Some(6));
    assert_eq!(max("agreements"), Some(5));
    assert_eq!(max("additions"), Some(7));
    assert_eq!(max("catalog"), Some(5));
}

#[tokio::test]
async fn additions_follow_the_link_header_across_three_pages() {
    let server = MockServer::start().await;
    full_sync(&server).await;
    let reqs = requests_to(&server, &api("finance/agreements/500/additions")).await;
    let pages: Vec<(String, String)> = reqs
        .iter()
        .map(|r| {
            let q = query(r);
            (q["page"].clone(), q["pageSize"].clone())
        })
        .collect();
    // Page 3 is full (6 additions, 2 a page) but has no rel="next": the Link header ends paging.
    assert_eq!(
        pages,
        [
            ("1".to_string(), "2".to_string()),
            ("2".to_string(), "2".to_string()),
            ("3".to_string(), "2".to_string())
        ]
    );
    // The one-addition agreement needs a single, short page; the empty one a single request.
    assert_eq!(
        requests_to(&server, &api("finance/agreements/501/additions"))
            .await
            .len(),
        1
    );
    assert_eq!(
        requests_to(&server, &api("finance/agreements/504/additions"))
            .await
            .len(),
        1
    );
}

/// The `Link` header exactly as ConnectWise cloud sends it: absolute URLs on the public API host,
/// `page` and `pageSize` in the query, several relations in one header.
#[tokio::test]
async fn a_cloud_style_link_header_drives_paging() {
    let server = MockServer::start().await;
    let items = crate::common::fixture_array("connectwise/additions_500.json");
    let url = |page: u32| {
        format!(
            "<https://api-na.myconnectwise.net/v4_6_release/apis/3.0/finance/agreements/500/additions?page={page}&pageSize=2>"
        )
    };
    let links = [
        format!(r#"{}; rel="next", {}; rel="last""#, url(2), url(3)),
        format!(
            r#"{}; rel="prev", {}; rel="next", {}; rel="first", {}; rel="last""#,
            url(1),
            url(3),
            url(1),
            url(3)
        ),
        format!(r#"{}; rel="prev", {}; rel="first""#, url(2), url(1)),
    ];
    for (i, link) in links.iter().enumerate() {
        authed("finance/agreements/500/additions")
            .and(wiremock::matchers::query_param("page", (i + 1).to_string()))
            .and(wiremock::matchers::query_param("pageSize", "2"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(&items[i * 2..i * 2 + 2])
                    .insert_header("Link", link.as_str()),
            )
            .with_priority(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    mount_everything(&server, true).await;
    let snap = psa(cw_with(&settings(&server))
        .sync(&SyncCx::silent())
        .await
        .unwrap());
    let on_500: Vec<&str> = snap
        .lines
        .iter()
        .filter(|l| l.agreement_id == "500")
        .map(|l| l.id.as_str())
        .collect();
    assert_eq!(on_500, ["1001", "1002", "1003", "1004", "1005", "1006"]);
    assert_eq!(
        requests_to(&server, &api("finance/agreements/500/additions"))
            .await
            .len(),
        3,
        "no rel=\"next\" on page 3 ends paging even though it is full"
    );
}

#[tokio::test]
async fn without_link_headers_paging_runs_until_a_short_page() {
    let server = MockServer::start().await;
    mount_everything(&server, false).await;
    let snap = psa(cw_with(&settings(&server))
        .sync(&SyncCx::silent())
        .await
        .unwrap());
    assert_eq!(snap.lines.len(), 7);
    let pages: Vec<String> = requests_to(&server, &api("finance/agreements/500/additions"))
        .await
        .iter()
        .map(|r| query(r)["page"].clone())
        .collect();
    assert_eq!(
        pages,
        ["1", "2", "3", "4"],
        "a full page 3 asks for page 4, which is empty"
    );
}

#[tokio::test]
async fn money_and_quantities_are_exact_decimals() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;

    let ws = line(&snap, "1001");
    assert_eq!(ws.unit_price, dec("12.50"));
    assert_eq!(ws.unit_cost, dec("4.25"));
    assert_eq!(ws.quantity, dec("24"));
    assert_eq!(ws.less_included, Decimal::ZERO);
    assert_eq!(
        ws.description.as_deref(),
        Some("Managed Workstation - NinjaOne")
    );

    let net = line(&snap, "1003");
    assert_eq!(net.quantity, dec("2.5"));
    assert_eq!(net.less_included, dec("0.5"));
    assert_eq!(net.unit_price, dec("22.99"));
    assert_eq!(net.unit_price.to_string(), "22.99", "never 22.989999…");

    let srv = line(&snap, "1002");
    assert_eq!(srv.less_included, dec("1"));
    assert_eq!(srv.unit_cost, dec("31.75"));

    // What the client is billed each month for lines in force and billable, to the cent.
    let now = Timestamp::now();
    let monthly: Decimal = snap
        .lines
        .iter()
        .filter(|l| l.is_active_at(now) && l.bill_customer == BillCustomer::Billable)
        .map(|l| (l.quantity - l.less_included) * l.unit_price)
        .sum();
    // 24×12.50 + 2×95.00 + 2×22.99 + 10×12.5
    assert_eq!(monthly, dec("660.98"));
}

#[tokio::test]
async fn cancelled_additions_and_inactive_agreements_are_not_in_force() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let now = Timestamp::now();

    let mobile = line(&snap, "1004");
    assert_eq!(
        mobile.cancelled,
        Some("2025-01-31T00:00:00Z".parse().unwrap())
    );
    assert!(
        !mobile.is_active_at(now),
        "a past cancelledDate ends the line"
    );
    assert!(mobile.is_active_at("2024-06-01T00:00:00Z".parse().unwrap()));

    let next_year = line(&snap, "1006");
    assert!(!next_year.is_active_at(now), "effective in the future");
    assert_eq!(next_year.bill_customer, BillCustomer::DoNotBill);
    assert_eq!(line(&snap, "1005").bill_customer, BillCustomer::NoCharge);

    let in_force: Vec<&str> = snap
        .lines
        .iter()
        .filter(|l| l.is_active_at(now))
        .map(|l| l.id.as_str())
        .collect();
    assert_eq!(in_force, ["1001", "1002", "1003", "1005", "1010"]);

    // Expired and Inactive agreements are kept for the report but their additions are not read.
    let status = |id: &str| {
        snap.agreements
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.status.clone())
            .unwrap()
    };
    assert_eq!(status("502"), "Expired");
    assert_eq!(status("503"), "Inactive");
    assert_eq!(status("504"), "Active");
    let active: Vec<&str> = snap
        .agreements
        .iter()
        .filter(|a| a.is_active_at(now))
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(active, ["500", "501", "504"]);
    let all = server.received_requests().await.unwrap();
    assert!(
        !all.iter().any(|r| {
            let p = r.url.path();
            p.contains("/agreements/502/") || p.contains("/agreements/503/")
        }),
        "no additions are read for agreements that are not Active"
    );
    assert!(snap.lines.iter().all(|l| l.agreement_id != "504"));
}

#[tokio::test]
async fn billable_companies_follow_deleted_status_and_type_rules() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;

    let billable: Vec<&str> = snap
        .companies
        .iter()
        .filter(|c| c.billable)
        .map(|c| c.identifier.as_str())
        .collect();
    assert_eq!(billable, ["AcmeDental", "BetaLaw", "GammaLog"]);

    let reason = |id: &str| company(&snap, id).not_billable_reason.clone().unwrap();
    assert_eq!(reason("OldCo"), "status `Inactive` is inactive");
    assert_eq!(
        reason("ProspectCo"),
        "type Prospect is not in billable_company_types"
    );
    assert_eq!(reason("GoneCo"), "deleted");

    let gamma = company(&snap, "GammaLog");
    assert_eq!(
        gamma.status, "Credit Hold",
        "a status without inactiveFlag stays billable"
    );
    assert_eq!(gamma.types, ["Partner", "Client"]);
    assert_eq!(gamma.name, "Gamma Logistics");
    assert_eq!(gamma.id, "255");
    assert!(gamma.not_billable_reason.is_none());
}

#[tokio::test]
async fn with_no_type_filter_every_live_company_is_billable() {
    let server = MockServer::start().await;
    mount_everything(&server, true).await;
    let mut s = settings(&server);
    s.billable_company_types.clear();
    let snap = psa(cw_with(&s).sync(&SyncCx::silent()).await.unwrap());
    let billable: Vec<&str> = snap
        .companies
        .iter()
        .filter(|c| c.billable)
        .map(|c| c.identifier.as_str())
        .collect();
    assert_eq!(
        billable,
        ["AcmeDental", "BetaLaw", "ProspectCo", "GammaLog"]
    );
}

#[tokio::test]
async fn an_unknown_company_id_null_body_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/login/companyinfo/acme"))
        .respond_with(json("connectwise/companyinfo_unknown.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v4_6_release/"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;

    let err = cw_with(&settings(&server)).check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Invalid { .. }), "{err:?}");
    let msg = err.to_string();
    for needle in [
        "connection `cw`",
        &server.uri(),
        "does not know the company id `acme`",
        "--company-id",
        "--codebase",
    ] {
        assert!(msg.contains(needle), "missing `{needle}` in: {msg}");
    }
}

#[tokio::test]
async fn a_pinned_codebase_skips_discovery() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/login/companyinfo/acme"))
        .respond_with(json("connectwise/companyinfo.json"))
        .expect(0)
        .mount(&server)
        .await;
    for p in ["system/info", "company/companies", "finance/agreements"] {
        Mock::given(method("GET"))
            .and(path(format!("/v2025_1/apis/3.0/{p}")))
            .and(header("authorization", BASIC))
            .respond_with(if p == "system/info" {
                json("connectwise/system_info.json")
            } else {
                ResponseTemplate::new(200).set_body_string("[]")
            })
            .mount(&server)
            .await;
    }
    let mut s = settings(&server);
    s.codebase = Some("/v2025_1".into());
    let ok = cw_with(&s).check().await.unwrap();
    assert!(ok.contains("codebase v2025_1/"), "{ok}");
}

#[tokio::test]
async fn built_from_the_config_file() {
    let server = MockServer::start().await;
    mount_everything(&server, true).await;
    let config = Config::parse(&format!(
        r#"
[connections.cw]
kind = "connectwise"
site = "{}"
company_id = "{COMPANY_ID}"
public_key = "{PUBLIC_KEY}"
client_id = "{CLIENT_ID}"
billable_company_types = ["Client"]
page_size = 2
"#,
        server.uri()
    ))
    .unwrap();
    let secret = |field: &str| {
        assert_eq!(field, "private_key");
        Ok(SecretString::from(PRIVATE_KEY))
    };
    let conn = config
        .connection("cw")
        .unwrap()
        .connect("cw", &secret, fast_retry(3))
        .unwrap();
    let snap = psa(conn.sync(&SyncCx::silent()).await.unwrap());
    assert_eq!(snap.lines.len(), 7);
    assert_eq!(snap.companies.iter().filter(|c| c.billable).count(), 3);
}

#[tokio::test]
async fn spec_valid_oddities_are_unknown_for_their_record_and_unattributable_ones_set_aside() {
    // ConnectWise marks every reference's `id`, every flag and number nullable; enums may grow.
    let server = MockServer::start().await;
    mount_discovery(&server).await;
    for (p, rel) in [
        (
            "company/companies/statuses",
            "connectwise/odd_statuses.json",
        ),
        ("company/companies", "connectwise/odd_companies.json"),
        ("finance/agreements", "connectwise/odd_agreements.json"),
        (
            "finance/agreements/600/additions",
            "connectwise/odd_additions_600.json",
        ),
        (
            "finance/agreements/2147483647/additions",
            "connectwise/odd_additions_big.json",
        ),
        (
            "finance/agreements/605/additions",
            "connectwise/odd_additions_605.json",
        ),
        ("procurement/catalog", "connectwise/odd_catalog.json"),
    ] {
        authed(p)
            .respond_with(CwPages::of(rel))
            .mount(&server)
            .await;
    }
    // 603's status is derived (none sent) from an end date past what a date holds: Active.
    authed("finance/agreements/603/additions")
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    let snap = psa(cw_with(&settings(&server))
        .sync(&SyncCx::silent())
        .await
        .expect("records the spec allows never fail the sync"));

    let companies: Vec<(&str, &str, &str)> = snap
        .companies
        .iter()
        .map(|c| (c.id.as_str(), c.identifier.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        companies,
        [
            ("300", "OddOne", "Odd One"),
            ("301", "301", "company 301"),
            ("302", "UnknownStatus", "Unknown Status Ltd"),
            ("2147483647", "Biggest", "Biggest Id Inc"),
        ]
    );
    // A status id the statuses list does not have keeps the company, its status unknown.
    assert_eq!(snap.companies[2].status, "");
    assert!(snap.companies.iter().all(|c| c.billable));

    let agreements: Vec<(&str, &str, &str)> = snap
        .agreements
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str(), a.status.as_str()))
        .collect();
    assert_eq!(
        agreements,
        [
            ("600", "Agreement 600", "Active"),
            ("601", "Suspended one", "Suspended"),
            ("603", "Ends past what a date holds", "Active"),
            ("2147483647", "Biggest agreement", "Active"),
            ("605", "Huge quantity", "Active"),
        ],
        "the agreement without a company is set aside; an unknown status is kept as text"
    );

    let ids: Vec<&str> = snap.lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["7101", "7001", "7002"]);
    let l = line(&snap, "7001");
    assert_eq!((l.company_id.as_str(), l.quantity), ("300", dec("5")));
    assert_eq!(
        l.less_included,
        Decimal::ZERO,
        "a null lessIncluded is none"
    );
    assert_eq!(
        l.bill_customer,
        BillCustomer::Billable,
        "as before for null"
    );
    let l = line(&snap, "7002");
    assert_eq!(l.product_identifier, "S1-CORE");
    assert_eq!(l.product_id, None, "a null product id");
    assert_eq!(l.bill_customer, BillCustomer::Other("Invoiced".into()));
    let l = line(&snap, "7101");
    assert_eq!(l.product_identifier, "#78");
    assert_eq!(l.quantity, dec("2147483647"));
    assert_eq!(
        l.unit_price,
        Decimal::ZERO,
        "a price past what a decimal holds is unknown, as a null one"
    );

    // A quantity or product that is unknown is never read as 0: the company is unreadable.
    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [
            (
                "2147483647",
                "addition 7201 of agreement 605 has no readable quantity (`quantity`)"
            ),
            (
                "300",
                "addition 7003 of agreement 600 has no readable quantity (`quantity`)"
            ),
            (
                "301",
                "addition 7102 of agreement 2147483647 has no readable product (`product`)"
            ),
            ("302", "agreement 603 has no readable status (`endDate`)"),
        ]
    );

    assert_eq!(snap.set_aside.len(), 6, "{:?}", snap.set_aside);
    for place in [
        "GET /company/companies/statuses [2]: missing field `id`",
        "GET /company/companies [4]: missing field `id`",
        "GET /company/companies [5]: missing field `id`",
        "GET /finance/agreements [2]: missing field `company`",
        "GET /procurement/catalog [2]: missing field `id`",
        "GET /finance/agreements/605/additions [1]: missing field `id`",
    ] {
        assert!(
            snap.set_aside.iter().any(|s| s.starts_with(place)),
            "{place} in {:?}",
            snap.set_aside
        );
    }
    let aside = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(aside.starts_with("6 records set aside"), "{aside}");

    let products: Vec<(&str, &str)> = snap
        .products
        .iter()
        .map(|p| (p.id.as_str(), p.identifier.as_str()))
        .collect();
    assert_eq!(products, [("77", "NINJA-WS"), ("78", "#78")]);
    assert_eq!(snap.products[0].cost, None, "`n/a` is an unknown cost");

    let odd = &snap.meta["records with odd fields read as unknown"];
    assert!(odd.starts_with("5 ("), "{odd}");
    for f in [
        "GET /company/companies deletedFlag",
        "GET /finance/agreements endDate",
        "GET /procurement/catalog cost",
        "GET /finance/agreements/2147483647/additions unitCost",
        "GET /finance/agreements/2147483647/additions unitPrice",
        "GET /finance/agreements/605/additions quantity",
    ] {
        assert!(odd.contains(f), "{f} in {odd}");
    }
}

/// The shared HTTP contract: refusals and lasting faults at the companies list (what `check`
/// reads too), a 429 or 5xx on the second page of an agreement's additions, bad bodies there.
/// ConnectWise names one role for 401 and 403 alike.
struct ConnectWiseCase;

impl Case for ConnectWiseCase {
    const CONNECTION: &'static str = "cw";
    const SECRETS: &'static [&'static str] = &[PRIVATE_KEY, "YWNtZStwdWJLRVk6cHJpdktFWQ=="];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("connectwise/unauthorized.json"),
        says: &[
            "Authentication failed.",
            "Check the company id, the API member's public and private keys",
            "Finance > Agreements",
            "reconcile connect connectwise --name cw",
        ],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: None,
        says: &[
            "security role may inquire on Companies, Finance > Agreements and Procurement > Product Catalog",
            "reconcile connect connectwise --name cw",
        ],
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(cw_retrying(&settings(server), retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server, true).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(api("company/companies"))
    }

    fn transient() -> Endpoint {
        Self::decoded().with_query("page", "2")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(api("finance/agreements/500/additions"))
    }

    fn wrong_shape() -> WrongShape {
        // An odd record is read tolerantly (see the oddities test); only a body that is not
        // the documented list fails the sync.
        WrongShape::new(
            fixture("connectwise/additions_not_a_list.json"),
            ".",
            "expected a JSON array",
        )
    }
}

contract_suite!(connectwise_contract, ConnectWiseCase);
