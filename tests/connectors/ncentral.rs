//! N-central: the User-API Token exchanged for an access token, numbered pages read to the
//! stated total, device classes, probes, device filters, tolerant reading, and the shared
//! contract suite.

use std::collections::BTreeMap;

use reconcile::config::Config;
use reconcile::connectors::ncentral::{Ncentral, Settings, services};
use reconcile::connectors::{Connector, ConnectorKind, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{UsageItem, VendorSnapshot};
use secrecy::SecretString;
use wiremock::matchers::{bearer_token, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    counts_by_service, fast_retry, fixture, json, query, recording_cx, requests_to, vendor,
};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const JWT: &str = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhcGktdXNlciJ9.do-not-print-this";
const TOKEN: &str = "nc-access-token-1";
const AUTH: &str = "/api/auth/authenticate";
const INFO: &str = "/api/server-info";
const CUSTOMERS: &str = "/api/customers";
const DEVICES: &str = "/api/devices";
const FILTERS: &str = "/api/device-filters";

fn settings(server: &MockServer, filters: &[&str]) -> Settings {
    Settings {
        url: server.uri(),
        page_size: Some(3),
        device_filters: filters.iter().map(|s| s.to_string()).collect(),
    }
}

fn ncentral(server: &MockServer, retry: RetryPolicy, filters: &[&str]) -> Ncentral {
    Ncentral::new(
        "nc",
        &settings(server, filters),
        SecretString::from(JWT),
        retry,
    )
    .expect("a loopback URL is accepted")
}

async fn mount_get(
    server: &MockServer,
    at: &str,
    params: &[(&str, &str)],
    rel: &str,
    priority: u8,
) {
    let mut m = Mock::given(method("GET"))
        .and(path(at))
        .and(bearer_token(TOKEN));
    for (k, v) in params {
        m = m.and(query_param(*k, *v));
    }
    m.respond_with(json(&format!("ncentral/{rel}")))
        .with_priority(priority)
        .mount(server)
        .await;
}

async fn mount_everything(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(AUTH))
        .and(bearer_token(JWT))
        .respond_with(json("ncentral/authenticate.json"))
        .mount(server)
        .await;
    mount_get(server, INFO, &[], "server_info.json", 3).await;
    // `check` asks for one record of each list.
    mount_get(
        server,
        CUSTOMERS,
        &[("pageSize", "1")],
        "customers_page1.json",
        2,
    )
    .await;
    mount_get(
        server,
        DEVICES,
        &[("pageSize", "1")],
        "devices_page1.json",
        2,
    )
    .await;
    for (n, rel) in [("1", "customers_page1.json"), ("2", "customers_page2.json")] {
        mount_get(server, CUSTOMERS, &[("pageNumber", n)], rel, 3).await;
    }
    for n in 1..=3 {
        let rel = format!("devices_page{n}.json");
        mount_get(server, DEVICES, &[("pageNumber", &n.to_string())], &rel, 3).await;
    }
    mount_get(server, FILTERS, &[], "device_filters.json", 3).await;
    mount_get(
        server,
        DEVICES,
        &[("filterId", "501")],
        "filter_members.json",
        1,
    )
    .await;
}

async fn full_sync(server: &MockServer, filters: &[&str]) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        ncentral(server, fast_retry(3), filters)
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

fn item<'a>(snap: &'a VendorSnapshot, name: &str) -> &'a UsageItem {
    snap.items
        .iter()
        .find(|i| i.name == name && i.class != "FILTER_MEMBER")
        .unwrap_or_else(|| panic!("device {name} is missing"))
}

#[tokio::test]
async fn sync_exchanges_the_token_once_and_reads_every_page_to_the_stated_total() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let (cx, progress) = recording_cx();
    let snap = vendor(
        ncentral(&server, fast_retry(3), &[])
            .sync(&cx)
            .await
            .unwrap(),
    );

    // One authentication for the whole sync: the User-API Token as a bearer, no body.
    let auths = requests_to(&server, AUTH).await;
    assert_eq!(
        auths.len(),
        1,
        "the access token is cached for the whole sync"
    );
    assert!(auths[0].body.is_empty());

    let pages = |reqs: Vec<wiremock::Request>| -> Vec<(String, String)> {
        reqs.iter()
            .map(|r| {
                let q = query(r);
                (q["pageNumber"].clone(), q["pageSize"].clone())
            })
            .collect()
    };
    let p = |n: &str| (n.to_string(), "3".to_string());
    assert_eq!(
        pages(requests_to(&server, CUSTOMERS).await),
        [p("1"), p("2")]
    );
    assert_eq!(
        pages(requests_to(&server, DEVICES).await),
        [p("1"), p("2"), p("3")]
    );
    assert!(
        requests_to(&server, FILTERS).await.is_empty(),
        "no filter configured"
    );
    assert!(
        requests_to(&server, INFO).await.is_empty(),
        "sync needs no server info"
    );

    // Four customers, and the customer a device names that the list does not hold.
    let accounts: Vec<(&str, &str)> = snap
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    assert_eq!(
        accounts,
        [
            ("101", "Acme Dental"),
            ("102", "Beta Law LLP"),
            ("103", "Gamma Logistics"),
            ("104", "Delta Clinic"),
            ("105", "Epsilon Partners"),
        ]
    );
    assert_eq!(snap.items.len(), 8);
    assert!(snap.unreadable.is_empty() && snap.set_aside.is_empty());
    let progress = progress.lock().unwrap().clone();
    assert!(
        progress.contains(&("devices".to_string(), 8)),
        "{progress:?}"
    );
    assert!(
        progress.contains(&("customers".to_string(), 4)),
        "{progress:?}"
    );
}

#[tokio::test]
async fn devices_count_by_class_and_probes_nowhere() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, &[]).await;
    let counts = counts_by_service(&services(), &snap);
    let want: BTreeMap<String, usize> = [
        // Eight devices less the probe.
        ("total-devices", 7),
        ("total-servers", 1),
        // A Windows workstation, a laptop, a Mac and Epsilon's workstation.
        ("total-workstations", 4),
        ("total-workstations-and-servers", 5),
        ("total-network-devices", 1),
        ("total-mobile-devices", 0),
        ("total-other-devices", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);
    let probe = item(&snap, "ACME-PROBE");
    assert_eq!(
        (probe.class.as_str(), probe.raw_class.as_str()),
        ("PROBE", "Servers - Windows")
    );
    let ws = item(&snap, "ACME-WS-01");
    assert_eq!(ws.class, "WORKSTATION");
    assert_eq!(
        ws.account_id, "101",
        "a device in a site counts for its customer"
    );
    assert_eq!(ws.attrs["site"], "Acme Dental - Main Office");
    assert_eq!(ws.attrs["os"], "Microsoft Windows 11 Pro");
    assert_eq!(ws.last_contact.unwrap().to_string(), "2026-11-30T08:14:07Z");

    // One service per licence mode and per device class, live devices only.
    let seen = Config::default().services_seen("nc", ConnectorKind::Ncentral, [&snap]);
    let count = |suffix: &str| -> BTreeMap<String, usize> {
        seen.iter()
            .filter(|s| s.key.ends_with(suffix))
            .map(|s| {
                (
                    s.key.clone(),
                    snap.items.iter().filter(|i| s.counts(*i)).count(),
                )
            })
            .collect()
    };
    let modes = count(":license-mode");
    assert_eq!(
        modes.into_iter().collect::<Vec<_>>(),
        [
            ("enterprise-edge:license-mode".to_string(), 1),
            ("essential:license-mode".to_string(), 1),
            ("professional:license-mode".to_string(), 4),
        ]
    );
    let classes = count(":device-class");
    assert_eq!(classes["servers-windows:device-class"], 1, "not the probe");
    assert_eq!(
        classes["kiosks-windows:device-class"], 1,
        "an unknown class can be mapped"
    );
}

#[tokio::test]
async fn a_device_filter_is_a_service_of_its_own_and_an_unknown_one_is_a_clear_error() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, &["managed servers"]).await;
    assert_eq!(
        requests_to(&server, FILTERS).await.len(),
        1,
        "the filters are listed to find the name"
    );
    let members: Vec<&UsageItem> = snap
        .items
        .iter()
        .filter(|i| i.class == "FILTER_MEMBER")
        .collect();
    assert_eq!(members.len(), 1, "the server, not the probe");
    assert_eq!(members[0].name, "ACME-SRV-01");
    assert_eq!(members[0].account_id, "101");
    assert_eq!(
        item(&snap, "ACME-SRV-01").attrs["device_filters"],
        "Managed Servers"
    );
    // The memberships leave the device counts alone.
    assert_eq!(counts_by_service(&services(), &snap)["total-devices"], 7);
    let seen = Config::default().services_seen("nc", ConnectorKind::Ncentral, [&snap]);
    let svc = seen
        .iter()
        .find(|s| s.key == "managed-servers:device-filter")
        .expect("the filter's service");
    assert_eq!(svc.name, "Managed Servers (device filter)");
    assert_eq!(snap.items.iter().filter(|i| svc.counts(*i)).count(), 1);

    let err = ncentral(&server, fast_retry(3), &["Managed Laptops"])
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    for needle in [
        "[connections.nc] device_filters names `Managed Laptops`",
        "lists: Managed Servers, All Macs",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in: {err}");
    }
}

#[tokio::test]
async fn spec_valid_oddities_are_unknown_for_their_record_and_what_counts_is_never_guessed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(AUTH))
        .respond_with(json("ncentral/authenticate.json"))
        .mount(&server)
        .await;
    mount_get(&server, CUSTOMERS, &[], "odd_customers.json", 3).await;
    mount_get(&server, DEVICES, &[], "odd_devices.json", 3).await;
    let snap = vendor(
        ncentral(&server, fast_retry(3), &[])
            .sync(&SyncCx::silent())
            .await
            .expect("records the spec allows never fail the sync"),
    );
    let accounts: Vec<(&str, &str)> = snap
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    assert_eq!(
        accounts,
        [
            ("101", "101"),
            ("102", "Beta Logistics"),
            ("2147483647", "Max Int Co")
        ]
    );
    let ids: Vec<&str> = snap.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["11", "2147483647", "-2147483648"]);
    let odd = &snap.items[0];
    assert_eq!(odd.class, "SERVER", "isProbe null: not a probe");
    assert_eq!(odd.last_contact, None);
    assert_eq!(
        odd.attrs["odd_fields"],
        "lastApplianceCheckinTime,supportedOsLabel"
    );
    let holo = &snap.items[1];
    assert_eq!(
        (holo.class.as_str(), holo.attrs["unknown_class"].as_str()),
        ("OTHER", "true")
    );
    assert_eq!(holo.attrs["license_mode"], "Quantum");
    assert_eq!(snap.items[2].class, "LAPTOP", "`\"false\"` is false");

    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(unreadable, [("102", "device 13 has no readable `isProbe`")]);
    assert_eq!(
        snap.set_aside,
        [
            "GET /api/customers data[1]: missing field `customerId`",
            "GET /api/customers data[3]: missing field `customerId`",
            "GET /api/devices data[3]: missing field `deviceId`",
            "GET /api/devices device 15 names no customer (`customerId`)",
        ]
    );
    let note = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(note.starts_with("4 records set aside"), "{note}");
}

#[tokio::test]
async fn check_names_the_server_version() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let said = ncentral(&server, fast_retry(3), &[]).check().await.unwrap();
    assert!(said.contains("N-central, version 2024.6.1.12"), "{said}");
    assert!(
        said.contains("customers and devices are readable"),
        "{said}"
    );
}

#[tokio::test]
async fn a_403_names_the_read_and_the_role_and_is_not_sent_again() {
    let server = MockServer::start().await;
    let at = Endpoint::get(DEVICES).with_query("pageNumber", "2");
    Mock::given(method("GET"))
        .and(path(DEVICES))
        .and(query_param("pageNumber", "2"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw(fixture("ncentral/forbidden.json"), "application/json"),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let err = ncentral(&server, fast_retry(4), &[])
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::Auth { status: 403, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    for needle in [
        "connection `nc`: GET /api/devices",
        "HTTP 403",
        "AccessDeniedException",
        "The API user may not read devices",
        "Administration > User Management > Roles",
    ] {
        assert!(msg.contains(needle), "missing `{needle}` in: {msg}");
    }
    assert!(!msg.contains(JWT) && !msg.contains(TOKEN), "{msg}");
    assert_eq!(at.hits(&server).await, 1, "a 403 is sent once");
}

struct NcentralCase;

impl Case for NcentralCase {
    const CONNECTION: &'static str = "nc";
    const SECRETS: &'static [&'static str] = &[JWT, TOKEN];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("ncentral/unauthorized.json"),
        says: &[
            "API Access > Generate JSON Web Token",
            "reconcile connect ncentral --name nc --url http://",
        ],
        // A 401 is tried once more with a fresh access token.
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("ncentral/forbidden.json"),
        says: &[
            "The API user may not read customers",
            "Administration > User Management > Roles",
        ],
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(ncentral(server, retry, &[]))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(CUSTOMERS)
    }

    fn transient() -> Endpoint {
        Endpoint::get(DEVICES).with_query("pageNumber", "2")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(DEVICES)
    }

    fn wrong_shape() -> WrongShape {
        // An odd record is read tolerantly (see the oddities test); only a body that is not
        // the documented page fails the sync.
        WrongShape::new(
            serde_json::json!({
                "data": {"deviceId": 1, "customerId": 101},
                "totalItems": 1, "totalPages": 1, "_links": {}
            })
            .to_string(),
            "data",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(AUTH))
    }
}

impl OAuthCase for NcentralCase {
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("ncentral/authenticate_refused.json"),
        says: &[
            "the JWT is invalid, expired or revoked",
            "API Access > Generate JSON Web Token",
        ],
        requests: 1,
    };
}

contract_suite!(ncentral_contract, NcentralCase, oauth);
