//! N-sight RMM: the Data Extraction API's XML (CDATA, latin-1, a single record not wrapped in a
//! list), the API key as a query parameter that no message shows, error 3 as a refused key,
//! devices and their feature flags per client, tolerant reading, and the contract suite.

use std::collections::BTreeMap;

use reconcile::connectors::nsight::{Nsight, Settings, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::VendorSnapshot;
use secrecy::SecretString;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{counts_by_service, fast_retry, requests_to, vendor};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const KEY: &str = "5f0c1e2d3c4b5a69788796a5b4c3d2e1-do-not-print";
const API: &str = "/api/";

fn nsight(server: &MockServer, retry: RetryPolicy) -> Nsight {
    let settings = Settings { url: server.uri() };
    Nsight::new("ns", &settings, SecretString::from(KEY), retry).expect("a loopback URL")
}

fn xml(rel: &str) -> ResponseTemplate {
    let body = std::fs::read(format!(
        "{}/fixtures/nsight/{rel}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    ResponseTemplate::new(200).set_body_raw(body, "text/xml")
}

async fn call(server: &MockServer, params: &[(&str, &str)], rel: &str) {
    let mut m = Mock::given(method("GET"))
        .and(path(API))
        .and(query_param("apikey", KEY));
    for (k, v) in params {
        m = m.and(query_param(*k, *v));
    }
    m.respond_with(xml(rel)).mount(server).await;
}

async fn mount_everything(server: &MockServer) {
    call(server, &[("service", "list_clients")], "list_clients.xml").await;
    let devices = |client: &'static str, kind: &'static str| {
        [
            ("service", "list_devices_at_client"),
            ("clientid", client),
            ("devicetype", kind),
        ]
    };
    call(
        server,
        &devices("101", "workstation"),
        "devices_acme_workstation.xml",
    )
    .await;
    call(server, &devices("101", "server"), "devices_acme_server.xml").await;
    call(
        server,
        &devices("102", "workstation"),
        "devices_beta_workstation.xml",
    )
    .await;
    call(server, &devices("102", "server"), "devices_empty.xml").await;
    call(
        server,
        &devices("103", "workstation"),
        "devices_gamma_workstation.xml",
    )
    .await;
    call(server, &devices("103", "server"), "devices_empty.xml").await;
}

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        nsight(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

#[tokio::test]
async fn clients_devices_and_feature_flags_are_read_from_the_xml() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    assert_eq!(
        requests_to(&server, API).await.len(),
        7,
        "list_clients and two lists a client"
    );

    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Acme Dental", "Beta Law LLP", "Gamma Logistics"]);
    assert_eq!(
        snap.set_aside,
        [
            "GET /api/ (list_clients) client[3]: missing field `clientid`",
            "GET /api/ (list_devices_at_client) client 102 workstation[1]: missing field `id`",
        ]
    );
    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [("103", "client 103 has no readable `mobile_device_count`")]
    );

    let counts = counts_by_service(&services(), &snap);
    let want: BTreeMap<String, usize> = [
        // Acme: 3 workstations over two sites and a server; Beta: one workstation.
        ("total-devices", 5),
        ("total-servers", 1),
        ("total-workstations", 4),
        // One item per client with a mobile device count: Acme (4); Beta's is empty.
        ("total-mobile-devices", 1),
        ("patch", 4),
        ("mav", 4),
        ("mob", 1),
        ("webprotection", 1),
        ("takecontrol", 1),
        ("riskintelligence", 0),
        ("mavbreck", 0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);
    let mobile = services()
        .into_iter()
        .find(|s| s.key == "total-mobile-devices")
        .unwrap();
    let units: rust_decimal::Decimal = snap
        .items
        .iter()
        .filter(|i| mobile.counts(*i))
        .map(|i| mobile.weight(i))
        .sum();
    assert_eq!(units, 4.into());

    let lt = snap.items.iter().find(|i| i.name == "ACME-LT-01").unwrap();
    assert_eq!(lt.attrs["site"], "Acme Café", "latin-1 read");
    assert_eq!(lt.last_contact, None);
    assert_eq!(lt.attrs["odd_fields"], "lastresponse_utc");
    let ws = snap.items.iter().find(|i| i.name == "ACME-WS-01").unwrap();
    assert_eq!(ws.last_contact.unwrap().to_string(), "2026-12-01T08:58:00Z");
    assert_eq!(ws.class, "WORKSTATION");
    let beta = snap.items.iter().find(|i| i.id == "700301").unwrap();
    assert_eq!(beta.name, "700301", "an empty name: the id");
    assert!(
        !beta.attrs.contains_key("patch"),
        "an empty flag is unknown"
    );
}

#[tokio::test]
async fn a_refused_key_is_error_3_and_never_shows_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(API))
        .respond_with(xml("login_failed.xml"))
        .mount(&server)
        .await;
    let err = nsight(&server, fast_retry(3)).check().await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let msg = err.to_string();
    for needle in [
        "connection `ns`: GET /api/ (list_clients)",
        "N-sight error 3, Login failed",
        "General Settings > API",
        "your dashboard's server",
    ] {
        assert!(msg.contains(needle), "missing `{needle}` in {msg}");
    }
    assert!(
        !msg.contains(KEY) && !format!("{err:?}").contains(KEY),
        "{msg}"
    );
    // The key went as the `apikey` query parameter, as the API requires.
    let sent = requests_to(&server, API).await;
    assert_eq!(
        sent[0]
            .url
            .query_pairs()
            .find(|(k, _)| k == "apikey")
            .unwrap()
            .1,
        KEY
    );
}

#[tokio::test]
async fn check_counts_the_clients() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let said = nsight(&server, fast_retry(3)).check().await.unwrap();
    assert!(said.contains("(3 clients)"), "{said}");
}

struct NsightCase;

impl Case for NsightCase {
    const CONNECTION: &'static str = "ns";
    const SECRETS: &'static [&'static str] = &[KEY];
    const UNAUTHORIZED: Refusal = Refusal {
        body: None,
        says: &[
            "General Settings > API",
            "reconcile connect nsight --name ns",
        ],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: None,
        says: &["General Settings > API"],
        requests: 1,
    };
    const FORMAT: &'static str = "XML";
    const CUT_OFF: Option<&'static str> = Some("nsight/cut_off.xml");
    const CUT_OFF_SAYS: &'static [&'static str] = &["run the command again"];

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(nsight(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(API)
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            r#"<?xml version="1.0"?><result status="OK"><items>not a list</items></result>"#
                .to_string(),
            "result.items",
            "expected elements, got a string",
        )
    }
}

contract_suite!(nsight_contract, NsightCase);
