//! Bitdefender GravityZone: JSON-RPC over HTTP Basic (the key as the user), companies below the
//! partner, endpoints paged to `pagesCount`, monthly usage figures as quantities, a company
//! whose read fails unreadable and the others counted, and the shared contract suite.

use std::collections::BTreeMap;

use reconcile::config::Config;
use reconcile::connectors::gravityzone::{GravityZone, Settings, UsageMonth, services};
use reconcile::connectors::{Connector, ConnectorKind, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::VendorSnapshot;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{basic_auth, body_partial_json, method, path};
use wiremock::{Mock, MockServer};

use crate::common::{counts_by_service, fast_retry, json as fixture_json, requests_to, vendor};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const KEY: &str = "3d9f1b7a5c2e4d6f8a0b1c3e5d7f9a1b-do-not-print";
const COMPANIES: &str = "/api/v1.0/jsonrpc/companies";
const NETWORK: &str = "/api/v1.0/jsonrpc/network";
const LICENSING: &str = "/api/v1.0/jsonrpc/licensing";
const ACME: &str = "61a1b2c3d4e5f60718293a01";
const BETA: &str = "61a1b2c3d4e5f60718293a02";
const GAMMA: &str = "61a1b2c3d4e5f60718293a03";
const DELTA: &str = "61a1b2c3d4e5f60718293a04";

fn gz(server: &MockServer, retry: RetryPolicy) -> GravityZone {
    let settings = Settings {
        url: format!("{}/api", server.uri()),
        usage_month: Some(UsageMonth::Current),
        page_size: Some(3),
    };
    GravityZone::new("gz", &settings, SecretString::from(KEY), retry).expect("a loopback URL")
}

async fn rpc(server: &MockServer, at: &str, body: Value, rel: &str) {
    Mock::given(method("POST"))
        .and(path(at))
        .and(basic_auth(KEY, ""))
        .and(body_partial_json(body))
        .respond_with(fixture_json(&format!("gravityzone/{rel}")))
        .mount(server)
        .await;
}

async fn mount_everything(server: &MockServer) {
    rpc(
        server,
        COMPANIES,
        json!({"method": "getCompanyDetails"}),
        "company_details.json",
    )
    .await;
    rpc(
        server,
        COMPANIES,
        json!({"method": "findCompaniesByName", "params": {"nameFilter": "*"}}),
        "companies.json",
    )
    .await;
    let list = |parent: &str, page: u64| json!({"method": "getEndpointsList", "params": {"parentId": parent, "isManaged": true, "page": page}});
    // The partner's own list is recursive and long: `check` must read one page of it only.
    rpc(
        server,
        NETWORK,
        list("5f1c2d3e4a5b6c7d8e9f0a11", 1),
        "endpoints_acme_page1.json",
    )
    .await;
    rpc(server, NETWORK, list(ACME, 1), "endpoints_acme_page1.json").await;
    rpc(server, NETWORK, list(ACME, 2), "endpoints_acme_page2.json").await;
    rpc(server, NETWORK, list(BETA, 1), "endpoints_beta.json").await;
    rpc(server, NETWORK, list(GAMMA, 1), "endpoints_gamma.json").await;
    rpc(server, NETWORK, list(DELTA, 1), "suspended_error.json").await;
    let usage = |company: &str| json!({"method": "getMonthlyUsagePerProductType", "params": {"companyId": company}});
    rpc(
        server,
        LICENSING,
        usage("5f1c2d3e4a5b6c7d8e9f0a11"),
        "usage_beta.json",
    )
    .await;
    rpc(server, LICENSING, usage(ACME), "usage_acme.json").await;
    rpc(server, LICENSING, usage(BETA), "usage_beta.json").await;
    rpc(server, LICENSING, usage(GAMMA), "usage_odd.json").await;
}

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        gz(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

#[tokio::test]
async fn companies_endpoints_and_monthly_usage_are_read_and_a_broken_company_is_unreadable() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;

    // Every call is JSON-RPC 2.0 with the month asked for as mm/yyyy.
    let calls: Vec<Value> = requests_to(&server, LICENSING)
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let now = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC);
    let month = format!("{:02}/{}", now.month(), now.year());
    assert!(
        calls
            .iter()
            .all(|c| c["jsonrpc"] == "2.0" && c["params"]["targetMonth"] == month.as_str()),
        "{calls:?}"
    );
    assert_eq!(
        calls.len(),
        3,
        "Acme, Beta and Gamma; Delta's endpoints already failed"
    );
    let acme_pages: Vec<u64> = requests_to(&server, NETWORK)
        .await
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|b| b["params"]["parentId"] == ACME)
        .map(|b| b["params"]["page"].as_u64().unwrap())
        .collect();
    assert_eq!(acme_pages, [1, 2], "paged to pagesCount");

    let accounts: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        accounts,
        [
            "Acme Dental",
            "Beta Law LLP",
            "Gamma Logistics",
            "Delta Clinic"
        ],
        "not the partner itself"
    );
    assert_eq!(snap.set_aside.len(), 2, "{:?}", snap.set_aside);
    assert!(
        snap.set_aside[0].contains(
            "POST /api/v1.0/jsonrpc/companies (findCompaniesByName) result[5]: missing field `id`"
        ),
        "{:?}",
        snap.set_aside
    );
    assert!(
        snap.set_aside[1].contains(&format!(
            "(getEndpointsList) company {BETA} items[2]: missing field `id`"
        )),
        "{:?}",
        snap.set_aside
    );
    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [
            (
                GAMMA,
                "endpoint 70a1b2c3d4e5f60718293d02 has no readable machine type (`machineType`)"
            ),
            (
                DELTA,
                "getEndpointsList answered -32000: Server error: The company is suspended"
            ),
        ]
    );

    let counts = counts_by_service(&services(), &snap);
    let want: BTreeMap<String, usize> = [
        // Acme: a workstation, a server VM, a Mac, an appliance of an unknown type and one of no
        // type (Beta's endpoint in Acme's list is Beta's); Beta: an EC2 Linux server and a PC.
        ("total-endpoints", 7),
        ("total-servers", 2),
        ("total-workstations", 3),
        ("total-other-endpoints", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);

    // Monthly usage: one service per member, counting its figure, per company.
    let seen = Config::default().services_seen("gz", ConnectorKind::GravityZone, [&snap]);
    let figure = |key: &str, company: &str| -> rust_decimal::Decimal {
        let s = seen
            .iter()
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("{key} in {seen:?}"));
        snap.items
            .iter()
            .filter(|i| i.account_id == company && s.counts(*i))
            .map(|i| s.weight(i))
            .sum()
    };
    assert_eq!(figure("endpoint:monthly-usage", ACME), 7.into());
    assert_eq!(figure("endpoint:monthly-usage", BETA), 2.into());
    assert_eq!(
        figure("edr:monthly-usage", BETA),
        2.into(),
        "from product type 3, sent as text"
    );
    assert_eq!(
        figure("quantum-shield:monthly-usage", ACME),
        2.into(),
        "a member this build does not know"
    );
    assert_eq!(
        figure("a-la-carte:monthly-usage", ACME),
        0.into(),
        "the docs' misspelling read"
    );
    let name = &seen
        .iter()
        .find(|s| s.key == "edr:monthly-usage")
        .unwrap()
        .name;
    assert_eq!(name, "Edr (monthly usage)");
    let appliance = snap
        .items
        .iter()
        .find(|i| i.name == "ACME-APPLIANCE")
        .unwrap();
    assert_eq!(appliance.attrs["unknown_class"], "true");
    let beta_ws = snap.items.iter().find(|i| i.name == "BETA-WS-01").unwrap();
    assert_eq!(beta_ws.account_id, BETA);
    assert_eq!(beta_ws.class, "WORKSTATION");
}

#[tokio::test]
async fn check_reads_each_api_once_and_names_the_partner() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let said = gz(&server, fast_retry(3)).check().await.unwrap();
    assert!(
        said.contains("partner company `Northwind IT Services`"),
        "{said}"
    );
    assert!(
        said.contains("Companies, Network and Licensing APIs answer"),
        "{said}"
    );
    let listed = requests_to(&server, NETWORK).await;
    assert_eq!(listed.len(), 1, "one page of the partner's endpoints");
    let body: Value = serde_json::from_slice(&listed[0].body).unwrap();
    assert_eq!(body["params"]["perPage"], 1);
    assert_eq!(requests_to(&server, LICENSING).await.len(), 1);
}

struct GravityZoneCase;

impl Case for GravityZoneCase {
    const CONNECTION: &'static str = "gz";
    const SECRETS: &'static [&'static str] = &[KEY];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("gravityzone/unauthorized.json"),
        says: &[
            "My Account > API keys",
            "reconcile connect gravityzone --name gz --url http://",
        ],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("gravityzone/forbidden.json"),
        says: &[
            "enable the Companies API",
            "Companies, Network and Licensing",
        ],
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(gz(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::post(COMPANIES)
    }

    fn transient() -> Endpoint {
        Endpoint::post(NETWORK)
    }

    fn decoded() -> Endpoint {
        Endpoint::post(NETWORK)
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            json!({"id": "1", "jsonrpc": "2.0", "result": {"page": 1, "pagesCount": 1, "perPage": 3, "total": 1,
                   "items": {"id": "70a1b2c3d4e5f60718293b01"}}})
            .to_string(),
            "items",
            "expected a JSON array",
        )
    }
}

contract_suite!(gravityzone_contract, GravityZoneCase);
