//! Datto RMM: the OAuth password grant, `nextPageUrl` paging, device classes and types, tolerant
//! reading, a 403 that is never sent again, and the shared contract suite.

use std::collections::{BTreeMap, HashMap};

use reconcile::config::Config;
use reconcile::connectors::datto_rmm::{DattoRmm, Settings, services};
use reconcile::connectors::{Connector, ConnectorKind, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{UsageItem, VendorSnapshot};
use secrecy::SecretString;
use wiremock::matchers::{bearer_token, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    counts_by_service, fast_retry, fixture, query, recording_cx, requests_to, vendor,
};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const KEY: &str = "DATTOKEY0DO0NOT0PRINT01";
const SECRET: &str = "datto-api-secret-do-not-print";
const TOKEN: &str = "datto-access-token-1";
/// base64("public-client:public"): Datto's public OAuth client.
const PUBLIC_CLIENT: &str = "Basic cHVibGljLWNsaWVudDpwdWJsaWM=";
const TOKEN_PATH: &str = "/auth/oauth/token";
const ACCOUNT: &str = "/api/v2/account";
const SITES: &str = "/api/v2/account/sites";
const DEVICES: &str = "/api/v2/account/devices";

fn settings(server: &MockServer) -> Settings {
    Settings {
        platform: None,
        url: Some(server.uri()),
        page_size: None,
        requests_per_minute: None,
    }
}

fn datto(server: &MockServer, retry: RetryPolicy) -> DattoRmm {
    let keys = (SecretString::from(KEY), SecretString::from(SECRET));
    DattoRmm::new("datto", &settings(server), keys, retry).expect("a loopback URL is accepted")
}

/// A fixture whose next-page links name the mock server.
fn page(server: &MockServer, rel: &str) -> ResponseTemplate {
    let body = fixture(&format!("datto_rmm/{rel}")).replace("{{BASE}}", &server.uri());
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

async fn mount_everything(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("authorization", PUBLIC_CLIENT))
        .respond_with(page(server, "token.json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(ACCOUNT))
        .and(bearer_token(TOKEN))
        .respond_with(page(server, "account.json"))
        .mount(server)
        .await;
    // `check` asks for one site.
    Mock::given(method("GET"))
        .and(path(SITES))
        .and(bearer_token(TOKEN))
        .and(query_param("max", "1"))
        .respond_with(page(server, "sites_page1.json"))
        .with_priority(2)
        .mount(server)
        .await;
    for (n, rel) in [("0", "sites_page1.json"), ("1", "sites_page2.json")] {
        Mock::given(method("GET"))
            .and(path(SITES))
            .and(bearer_token(TOKEN))
            .and(query_param("page", n))
            .respond_with(page(server, rel))
            .with_priority(3)
            .mount(server)
            .await;
    }
    for n in 0..3 {
        Mock::given(method("GET"))
            .and(path(DEVICES))
            .and(bearer_token(TOKEN))
            .and(query_param("page", n.to_string()))
            .respond_with(page(server, &format!("devices_page{}.json", n + 1)))
            .with_priority(3)
            .mount(server)
            .await;
    }
}

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        datto(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

fn item<'a>(snap: &'a VendorSnapshot, host: &str) -> &'a UsageItem {
    snap.items
        .iter()
        .find(|i| i.name == host)
        .unwrap_or_else(|| panic!("device {host} is missing"))
}

#[tokio::test]
async fn sync_signs_in_with_the_password_grant_and_follows_every_next_page() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let (cx, progress) = recording_cx();
    let snap = vendor(datto(&server, fast_retry(3)).sync(&cx).await.unwrap());

    // One token for the whole sync: the key and secret in the form, Datto's public client as
    // HTTP Basic, no scope.
    let tokens = requests_to(&server, TOKEN_PATH).await;
    assert_eq!(tokens.len(), 1, "the token is cached for the whole sync");
    let form: HashMap<String, String> = url::form_urlencoded::parse(&tokens[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], KEY);
    assert_eq!(form["password"], SECRET);
    assert!(
        !form.contains_key("scope") && !form.contains_key("client_secret"),
        "{form:?}"
    );

    // Sites in two pages, devices in three: page 0 first, then each nextPageUrl as sent, until
    // one is null (sites) or empty (devices).
    let pages = |reqs: Vec<wiremock::Request>| -> Vec<(Option<String>, Option<String>)> {
        reqs.iter()
            .map(|r| {
                let q = query(r);
                (q.get("page").cloned(), q.get("max").cloned())
            })
            .collect()
    };
    let s = |p: &str, m: Option<&str>| (Some(p.to_string()), m.map(str::to_string));
    assert_eq!(
        pages(requests_to(&server, SITES).await),
        [s("0", None), s("1", Some("2"))]
    );
    assert_eq!(
        pages(requests_to(&server, DEVICES).await),
        [s("0", None), s("1", Some("3")), s("2", Some("3"))]
    );
    assert!(
        requests_to(&server, ACCOUNT).await.is_empty(),
        "sync needs no account read"
    );
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["Acme Dental", "Beta Law LLP", "Gamma Logistics (on demand)"]
    );
    assert_eq!(
        snap.accounts[0].id, "9a4e2c71-3b0d-4f8e-a6c5-1d2e3f4a5b01",
        "sites by uid"
    );
    assert_eq!(snap.items.len(), 9);
    assert!(snap.unreadable.is_empty());
    let progress = progress.lock().unwrap().clone();
    assert_eq!(
        progress.iter().rfind(|(s, _)| s == "devices"),
        Some(&("devices".to_string(), 9))
    );
    assert!(progress.contains(&("sites".to_string(), 3)));
}

#[tokio::test]
async fn devices_count_by_class_and_deleted_or_suspended_ones_nowhere() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let counts = counts_by_service(&services(), &snap);
    let want: BTreeMap<String, usize> = [
        // Nine devices, less the deleted laptop and the suspended desktop.
        ("total-devices", 7),
        ("total-servers", 2),
        ("total-esxi-hosts", 1),
        ("total-workstations", 2),
        ("total-workstations-and-servers", 4),
        // The switch, and the printer known only by its deviceClass.
        ("total-network-devices", 2),
        ("total-mobile-devices", 0),
        ("total-other-devices", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);
    assert_eq!(item(&snap, "ACME-LT-OLD").class, "DELETED");
    assert_eq!(item(&snap, "GAMMA-WS-07").class, "SUSPENDED");
    assert_eq!(item(&snap, "GAMMA-WS-07").raw_class, "Desktop");
    assert_eq!(item(&snap, "BETA-ESX-01").class, "ESXI_HOST");
    assert_eq!(item(&snap, "BETA-PRN-01").class, "PRINTER");

    // One service per Datto device type, live devices only; a type this build does not know
    // gets one too, so it can be mapped.
    let config = Config::default();
    let seen = config.services_seen("datto", ConnectorKind::DattoRmm, [&snap]);
    let by_type: BTreeMap<&str, usize> = seen
        .iter()
        .filter(|s| s.key.ends_with(":device-type"))
        .map(|s| {
            (
                s.key.as_str(),
                snap.items.iter().filter(|i| s.counts(*i)).count(),
            )
        })
        .collect();
    let want: BTreeMap<&str, usize> = [
        ("desktop:device-type", 1),
        ("esxi-host:device-type", 1),
        ("kiosk:device-type", 1),
        ("laptop:device-type", 1),
        ("network-device:device-type", 1),
        ("server:device-type", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_type, want);
}

#[tokio::test]
async fn odd_values_nulls_and_unknown_enums_never_fail_a_sync() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;

    // An unknown device type and enum values: the class OTHER, flagged, and the values kept.
    let kiosk = item(&snap, "Reception kiosk");
    assert_eq!(kiosk.class, "OTHER");
    assert_eq!(kiosk.raw_class, "Kiosk");
    assert_eq!(kiosk.attrs["unknown_class"], "true");
    assert_eq!(kiosk.attrs["antivirus_status"], "RunningButQuarantined");
    assert_eq!(kiosk.attrs["patch_status"], "SomethingNew");
    assert_eq!(kiosk.last_contact, None);
    assert_eq!(kiosk.online, None);
    assert_eq!(kiosk.attrs["site_on_demand"], "true");

    // Epoch milliseconds, as the API sends them, and the spec's date-time string alike.
    let ws = item(&snap, "ACME-WS-01");
    assert_eq!(ws.last_contact.unwrap().to_string(), "2025-11-30T08:14:07Z");
    assert_eq!(item(&snap, "ACME-SRV-01").last_contact, ws.last_contact);
    assert_eq!(ws.attrs["os"], "Microsoft Windows 11 Pro 23H2");
    assert_eq!(ws.attrs["device_type"], "Desktop");
    assert_eq!(ws.attrs["autotask_company_id"], "29683");
    assert_eq!(ws.online, Some(true));
    assert_eq!(item(&snap, "ACME-LT-01").online, Some(false));
    assert!(!ws.pending_approval, "Datto RMM has no approval step");

    // A device of nulls reads as unknowns, not as an error.
    let switch = item(&snap, "beta-core-sw01");
    assert_eq!(switch.class, "NETWORK_DEVICE");
    assert!(!switch.attrs.contains_key("os"));
    assert!(!switch.attrs.contains_key("odd_fields"));

    // User-defined fields (a BitLocker key here) are neither attributes nor kept raw.
    for i in &snap.items {
        assert!(
            !i.attrs.values().any(|v| v.contains("BitLocker")),
            "{}",
            i.name
        );
        assert!(
            !i.raw.as_deref().unwrap().contains("BitLocker"),
            "{}",
            i.name
        );
    }
}

#[tokio::test]
async fn spec_valid_oddities_are_unknown_for_their_record_and_what_counts_is_never_guessed() {
    // The spec requires no field; these add nulls, numbers at their ends, unknown enum values,
    // values of another type, extra fields and records without uid or site.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(page(&server, "token.json"))
        .mount(&server)
        .await;
    for (p, rel) in [(SITES, "odd_sites.json"), (DEVICES, "odd_devices.json")] {
        Mock::given(method("GET"))
            .and(path(p))
            .and(bearer_token(TOKEN))
            .respond_with(page(&server, rel))
            .mount(&server)
            .await;
    }
    let snap = vendor(
        datto(&server, fast_retry(3))
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
        [("site-a", "site-a"), ("site-b", "Beta Logistics")]
    );

    let ids: Vec<&str> = snap.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["d-1", "d-2", "d-7"]);
    let ws = &snap.items[0];
    assert_eq!(
        (ws.class.as_str(), ws.account_id.as_str()),
        ("DESKTOP", "site-a")
    );
    assert_eq!(
        ws.last_contact, None,
        "past what a timestamp holds: unknown"
    );
    assert_eq!(ws.online, None);
    assert_eq!(ws.attrs["odd_fields"], "creationDate,lastSeen,snmpEnabled");
    assert_eq!(ws.attrs["antivirus_status"], "SomethingNew");
    assert_eq!(ws.attrs["autotask_company_id"], "29683");
    assert!(!ws.attrs.contains_key("site_on_demand"), "`yes` is unknown");
    // An unknown type and class: counted as OTHER and flagged, found by its siteId.
    let holo = &snap.items[1];
    assert_eq!(
        (holo.class.as_str(), holo.account_id.as_str()),
        ("OTHER", "site-b")
    );
    assert_eq!(holo.name, "Beta reception");
    assert_eq!(holo.attrs["unknown_class"], "true");
    assert!(!holo.attrs.contains_key("odd_fields"));
    assert_eq!(snap.items[2].class, "SUSPENDED");

    // Whether a device counts, and as what, is never guessed: its site is unknown.
    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [
            (
                "site-a",
                "device d-4 has no readable device type (`deviceType.category`)"
            ),
            ("site-b", "device d-3 has no readable `deleted`"),
        ]
    );
    let aside = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(aside.starts_with("3 records set aside"), "{aside}");
    for place in [
        "GET /api/v2/account/sites sites[2]: missing field `uid`",
        "GET /api/v2/account/devices devices[4]: missing field `uid`",
        "GET /api/v2/account/devices device d-6 names no site (`siteUid`, `siteId`)",
    ] {
        assert!(aside.contains(place), "{place} in {aside}");
    }
}

#[tokio::test]
async fn check_names_the_account_and_its_device_count() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let said = datto(&server, fast_retry(3)).check().await.unwrap();
    assert!(
        said.contains("account `Northwind IT Services`; 8 devices"),
        "{said}"
    );
    assert!(said.contains("sites and devices are readable"), "{said}");
}

#[tokio::test]
async fn a_403_mid_sync_is_never_sent_again_and_names_the_read_and_the_ip_block() {
    let server = MockServer::start().await;
    let at = Endpoint::get(DEVICES).with_query("page", "1");
    Mock::given(method("GET"))
        .and(path(DEVICES))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw(fixture("datto_rmm/forbidden.json"), "application/json"),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let err = datto(&server, fast_retry(4))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::Auth { status: 403, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    for needle in [
        "connection `datto`: GET /api/v2/account/devices rejected the credentials (HTTP 403",
        "The API user may not read the account's devices",
        "Enable API Access",
        "blocked this machine's IP address",
        "It was not retried",
    ] {
        assert!(msg.contains(needle), "missing `{needle}` in: {msg}");
    }
    assert!(!msg.contains(SECRET) && !msg.contains(KEY), "{msg}");
    assert_eq!(at.hits(&server).await, 1, "a 403 is sent once");
    assert_eq!(
        requests_to(&server, TOKEN_PATH).await.len(),
        1,
        "and gets no fresh token"
    );
}

struct DattoCase;

impl Case for DattoCase {
    const CONNECTION: &'static str = "datto";
    const SECRETS: &'static [&'static str] = &[KEY, SECRET];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("datto_rmm/unauthorized.json"),
        says: &[
            "Setup > Users > the API user > API Keys",
            "reconcile connect datto-rmm --name datto --url http://",
        ],
        // A 401 is tried once more with a fresh token.
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("datto_rmm/forbidden.json"),
        says: &[
            "The API user may not read the account's sites",
            "Setup > Global Settings > Access Control > Enable API Access",
            "blocked this machine's IP address",
            "It was not retried",
        ],
        // Never sent again: more requests prolong Datto's IP block.
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(datto(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(SITES)
    }

    fn transient() -> Endpoint {
        Endpoint::get(DEVICES).with_query("page", "1")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(DEVICES)
    }

    fn wrong_shape() -> WrongShape {
        // An odd record is read tolerantly (see the oddities test); only a body that is not
        // the documented page fails the sync.
        WrongShape::new(
            serde_json::json!({
                "pageDetails": {"count": 1, "totalCount": 1, "nextPageUrl": null},
                "devices": {"uid": "7700001", "hostname": "ACME-WS-01"}
            })
            .to_string(),
            "devices",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(TOKEN_PATH))
    }
}

impl OAuthCase for DattoCase {
    const REFUSED_CLIENT_STATUS: u16 = 400;
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("datto_rmm/token_invalid_grant.json"),
        says: &[
            "invalid_grant (Bad credentials)",
            "Setup > Users > the API user > API Keys",
        ],
        requests: 1,
    };
}

contract_suite!(datto_rmm_contract, DattoCase, oauth);
