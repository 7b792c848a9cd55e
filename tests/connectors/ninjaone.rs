//! NinjaOne: OAuth client credentials, keyset paging, device classes and the failure modes.

use std::collections::{BTreeMap, HashMap};

use reconcile::config::Config;
use reconcile::connectors::ninjaone::{DeviceListing, Settings as NinjaOneSettings};
use reconcile::connectors::ninjaone::{NinjaOne, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{UsageItem, VendorSnapshot};
use secrecy::SecretString;
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    counts_by_service, fast_retry, fixture, json, query, recording_cx, requests_to, vendor,
};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const CLIENT_ID: &str = "ninja-client-id";
const CLIENT_SECRET: &str = "ninja-client-secret-do-not-print";
const TOKEN_1: &str = "ninja-access-token-1";
const TOKEN_2: &str = "ninja-access-token-2";
const PAGE: usize = 4;

fn settings(server: &MockServer) -> NinjaOneSettings {
    NinjaOneSettings {
        region: None,
        url: Some(server.uri()),
        client_id: CLIENT_ID.into(),
        page_size: Some(PAGE),
        device_listing: Default::default(),
    }
}

fn ninja_with(settings: &NinjaOneSettings, retry: RetryPolicy) -> NinjaOne {
    NinjaOne::new("ninja", settings, SecretString::from(CLIENT_SECRET), retry)
        .expect("a loopback URL is accepted")
}

fn ninja(server: &MockServer, retry: RetryPolicy) -> NinjaOne {
    ninja_with(&settings(server), retry)
}

async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/ws/oauth/token"))
        .respond_with(json("ninjaone/token.json"))
        .mount(server)
        .await;
}

async fn mount_orgs_and_roles(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v2/organizations"))
        .and(bearer_token(TOKEN_1))
        .respond_with(json("ninjaone/organizations.json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/roles"))
        .and(bearer_token(TOKEN_1))
        .respond_with(json("ninjaone/roles.json"))
        .mount(server)
        .await;
}

/// Devices in three pages of `PAGE`: ids 101–104, 110–130, then a short page 140–160, each
/// page asked for with the last id of the one before as `after`.
async fn mount_device_pages(server: &MockServer) {
    for (after, page) in [(None, 1), (Some("104"), 2), (Some("130"), 3)] {
        let m = Mock::given(method("GET"))
            .and(path("/v2/devices"))
            .and(bearer_token(TOKEN_1))
            .and(query_param("pageSize", PAGE.to_string()));
        let m = match after {
            Some(a) => m.and(query_param("after", a)),
            None => m.and(query_param_is_missing("after")),
        };
        m.respond_with(json(&format!("ninjaone/devices_page{page}.json")))
            .mount(server)
            .await;
    }
}

async fn mount_everything(server: &MockServer) {
    mount_token(server).await;
    mount_orgs_and_roles(server).await;
    mount_device_pages(server).await;
}

fn item<'a>(snap: &'a VendorSnapshot, id: &str) -> &'a UsageItem {
    snap.items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("device {id} is missing"))
}

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        ninja(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

#[tokio::test]
async fn sync_gets_a_token_then_reads_orgs_roles_and_every_device_page() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let (cx, progress) = recording_cx();
    let snap = vendor(ninja(&server, fast_retry(3)).sync(&cx).await.unwrap());

    // One token for the whole sync, asked for with the client-credentials grant, read-only scope.
    let tokens = requests_to(&server, "/ws/oauth/token").await;
    assert_eq!(tokens.len(), 1, "the token is cached for the whole sync");
    let ct = tokens[0]
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(ct.starts_with("application/x-www-form-urlencoded"), "{ct}");
    let form: HashMap<String, String> = url::form_urlencoded::parse(&tokens[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], "monitoring");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);

    // Organizations and roles, then devices page by page with the last id as the cursor.
    assert_eq!(snap.accounts.len(), 3);
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Acme Dental", "Beta Law LLP", "Gamma Logistics"]);
    assert_eq!(snap.accounts[1].id, "2");
    let orgs = requests_to(&server, "/v2/organizations").await;
    assert_eq!(orgs.len(), 1, "3 organizations < pageSize {PAGE}: one page");
    assert_eq!(
        query(&orgs[0]).get("pageSize").map(String::as_str),
        Some("4")
    );
    assert_eq!(requests_to(&server, "/v2/roles").await.len(), 1);

    let devices = requests_to(&server, "/v2/devices").await;
    let afters: Vec<Option<String>> = devices.iter().map(|r| query(r).remove("after")).collect();
    assert_eq!(
        afters,
        [None, Some("104".to_string()), Some("130".to_string())],
        "after carries the last device id of the previous page; a short page ends paging"
    );
    assert!(
        devices
            .iter()
            .all(|r| query(r).get("pageSize").map(String::as_str) == Some("4"))
    );
    let ids: Vec<&str> = snap.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "101", "102", "103", "104", "110", "115", "120", "130", "140", "150", "160"
        ]
    );
    assert!(
        snap.items
            .iter()
            .all(|i| i.raw.as_deref().is_some_and(|r| r.contains("\"uid\""))),
        "each device keeps its raw JSON for audits"
    );

    let progress = progress.lock().unwrap().clone();
    assert_eq!(
        progress.iter().rfind(|(s, _)| s == "devices"),
        Some(&("devices".to_string(), 11))
    );
    assert!(progress.contains(&("organizations".to_string(), 3)));
}

#[tokio::test]
async fn devices_count_under_the_eight_services() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let counts = counts_by_service(&services(), &snap);
    let expected: BTreeMap<String, usize> = [
        ("total-devices", 11),
        ("total-servers", 3),
        ("total-physical-servers", 1),
        ("total-virtual-servers", 2),
        // WINDOWS_WORKSTATION, MAC, LINUX_WORKSTATION and the kiosk rolled up to a workstation.
        ("total-workstations", 4),
        ("total-workstations-and-servers", 7),
        ("total-network-devices", 1),
        // ANDROID and APPLE_IPADOS.
        ("total-mobile-devices", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, expected);
    assert!(
        services()[7].counts(item(&snap, "115")),
        "APPLE_IPADOS is mobile"
    );
}

#[tokio::test]
async fn unknown_node_classes_are_kept_and_roll_up_through_their_role() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;

    // A class this build does not know, on a custom role under Windows Desktop: counted as one.
    let kiosk = item(&snap, "150");
    assert_eq!(kiosk.raw_class, "WINDOWS_KIOSK");
    assert_eq!(kiosk.class, "WINDOWS_WORKSTATION");
    assert_eq!(
        kiosk.attrs.get("role").map(String::as_str),
        Some("Front Desk Kiosk")
    );
    assert_eq!(
        kiosk.attrs.get("role_custom").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        kiosk.attrs.get("tags").map(String::as_str),
        Some("kiosk,lobby")
    );
    assert!(!kiosk.attrs.contains_key("unknown_class"));

    // Unknown class whose role is unknown too: kept as sent, flagged, only in Total Devices.
    let fridge = item(&snap, "160");
    assert_eq!(fridge.class, "SMART_FRIDGE");
    assert_eq!(fridge.raw_class, "SMART_FRIDGE");
    assert_eq!(
        fridge.attrs.get("unknown_class").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        fridge.name, "fridge.gamma.local",
        "empty systemName falls back to dnsName"
    );
    let all = services();
    assert_eq!(
        all.iter()
            .filter(|s| s.counts(fridge))
            .map(|s| s.key.as_str())
            .collect::<Vec<_>>(),
        ["total-devices"]
    );
}

#[tokio::test]
async fn pending_offline_names_and_last_contact_come_through() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;

    let pending: Vec<&str> = snap
        .items
        .iter()
        .filter(|i| i.pending_approval)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(
        pending,
        ["104"],
        "approvalStatus PENDING marks the Mac only"
    );

    let offline: Vec<&str> = snap
        .items
        .iter()
        .filter(|i| i.online == Some(false))
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(offline, ["103", "120"]);
    assert_eq!(item(&snap, "101").online, Some(true));

    // lastContact is epoch seconds with a fraction.
    let dc = item(&snap, "101");
    assert_eq!(dc.last_contact.unwrap().as_millisecond(), 1_717_171_717_500);
    assert_eq!(dc.account_id, "1");
    assert_eq!(dc.name, "ACME-DC01");
    assert_eq!(dc.attrs.get("location_id").map(String::as_str), Some("11"));
    assert_eq!(
        dc.attrs.get("role").map(String::as_str),
        Some("Windows Server")
    );

    let vm = item(&snap, "102");
    assert_eq!(
        vm.name, "ACME-APP01",
        "empty displayName falls back to systemName"
    );
    assert_eq!(
        vm.attrs.get("parent_device_id").map(String::as_str),
        Some("140")
    );
    assert_eq!(item(&snap, "110").account_id, "2");
}

#[tokio::test]
async fn api_401_refreshes_the_token_once_and_carries_on() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ws/oauth/token"))
        .respond_with(json("ninjaone/token.json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ws/oauth/token"))
        .respond_with(json("ninjaone/token_refreshed.json"))
        .mount(&server)
        .await;
    // The first token was revoked server-side; the fresh one works.
    Mock::given(method("GET"))
        .and(path("/v2/organizations"))
        .and(bearer_token(TOKEN_1))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/organizations"))
        .and(bearer_token(TOKEN_2))
        .respond_with(json("ninjaone/organizations.json"))
        .mount(&server)
        .await;

    let ok = ninja(&server, fast_retry(3)).check().await.unwrap();
    assert!(ok.contains("organizations are readable"), "{ok}");
    assert_eq!(requests_to(&server, "/ws/oauth/token").await.len(), 2);
    assert_eq!(requests_to(&server, "/v2/organizations").await.len(), 2);
}

/// Regression: after the one refresh, a transient failure must not fetch yet another token.
#[tokio::test]
async fn a_retry_after_the_refresh_reuses_the_refreshed_token() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/organizations"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/organizations"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/organizations"))
        .respond_with(json("ninjaone/organizations.json"))
        .with_priority(3)
        .mount(&server)
        .await;

    ninja(&server, fast_retry(3)).check().await.unwrap();
    assert_eq!(requests_to(&server, "/v2/organizations").await.len(), 3);
    assert_eq!(
        requests_to(&server, "/ws/oauth/token").await.len(),
        2,
        "one token, one refresh; the 503 retry reuses the refreshed token"
    );
}

#[tokio::test]
async fn a_device_without_a_class_is_kept_and_counted_as_of_unknown_class() {
    // The spec requires no field; a device with no `nodeClass` is still one device of its
    // organization (Total Devices), of a class this sync cannot tell.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/devices"))
        .respond_with(json("ninjaone/devices_missing_field.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let snap = vendor(
        ninja(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("a device without a class fails nothing"),
    );
    assert_eq!(snap.items.len(), 2);
    let d = item(&snap, "102");
    assert_eq!(
        d.attrs.get("unknown_class").map(String::as_str),
        Some("true")
    );
    assert!(services()[0].counts(d), "still a device");
    assert!(snap.set_aside.is_empty());
}

/// Serves `devices_odd.json` as the whole device list (one page of up to 100).
async fn odd_sync(server: &MockServer) -> VendorSnapshot {
    Mock::given(method("GET"))
        .and(path("/v2/devices"))
        .respond_with(json("ninjaone/devices_odd.json"))
        .with_priority(1)
        .mount(server)
        .await;
    mount_token(server).await;
    mount_orgs_and_roles(server).await;
    let s = NinjaOneSettings {
        page_size: Some(100),
        ..settings(server)
    };
    vendor(
        ninja_with(&s, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("odd values the spec allows never fail the sync"),
    )
}

#[tokio::test]
async fn spec_valid_oddities_are_unknown_for_their_device_and_never_fail_the_sync() {
    let server = MockServer::start().await;
    let snap = odd_sync(&server).await;
    let ids: Vec<&str> = snap.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        ["201", "202", "203", "206"],
        "every attributable device is kept"
    );

    // A `lastContact` before 1970 (the issue's value) or past any calendar: unknown, named.
    let old = item(&snap, "201");
    assert_eq!(old.last_contact, None);
    assert_eq!(old.attrs["odd_fields"], "lastContact");
    assert_eq!(old.online, None, "a null `offline` is unknown");
    assert_eq!(old.name, "ACME-OLD01", "a null display name falls back");
    assert_eq!(old.class, "WINDOWS_SERVER");
    assert!(!old.pending_approval);
    let far = item(&snap, "202");
    assert_eq!(far.last_contact, None);
    assert_eq!(far.attrs["odd_fields"], "lastContact");
    assert!(far.pending_approval);
    // No class on the wire: its role's class.
    let ws = item(&snap, "203");
    assert_eq!(ws.class, "WINDOWS_WORKSTATION");
    assert!(!ws.attrs.contains_key("odd_fields"), "epoch 0 is a time");
    let plain = item(&snap, "206");
    assert!(plain.last_contact.is_some());
    assert!(!plain.attrs.contains_key("odd_fields"));

    // The counts: Total Devices per organization holds every kept device.
    let total = &services()[0];
    let acme = snap
        .items
        .iter()
        .filter(|i| i.account_id == "1" && total.counts(i))
        .count();
    assert_eq!(acme, 3);

    // Devices with no id or no organization are set aside, each named by place and reason.
    assert_eq!(snap.set_aside.len(), 2, "{:?}", snap.set_aside);
    assert!(snap.set_aside[0].contains("[3]"), "{:?}", snap.set_aside);
    assert!(
        snap.set_aside[0].contains("missing field `id`"),
        "{:?}",
        snap.set_aside
    );
    assert!(snap.set_aside[1].contains("[4]"), "{:?}", snap.set_aside);
    assert!(
        snap.set_aside[1].contains("organizationId"),
        "{:?}",
        snap.set_aside
    );
    let note = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(note.starts_with("2 records set aside"), "{note}");
}

#[tokio::test]
async fn built_from_the_config_file_and_plain_http_refused_off_loopback() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_orgs_and_roles(&server).await;
    let config = Config::parse(&format!(
        "[connections.ninja]\nkind = \"ninjaone\"\nurl = \"{}\"\nclient_id = \"{CLIENT_ID}\"\npage_size = 4\n",
        server.uri()
    ))
    .unwrap();
    let asked = std::sync::Mutex::new(Vec::new());
    let secret = |field: &str| {
        asked.lock().unwrap().push(field.to_string());
        Ok(SecretString::from(CLIENT_SECRET))
    };
    let conn = config
        .connection("ninja")
        .unwrap()
        .connect("ninja", &secret, fast_retry(3))
        .unwrap();
    let ok = conn.check().await.unwrap();
    assert!(
        ok.contains(&format!("signed in to {}", server.uri())),
        "{ok}"
    );
    assert_eq!(*asked.lock().unwrap(), ["client_secret"]);
    let orgs = requests_to(&server, "/v2/organizations").await;
    assert_eq!(
        query(&orgs[0]).get("pageSize").map(String::as_str),
        Some("1")
    );

    let mut settings = settings(&server);
    settings.url = Some("http://eu.ninjarmm.com".into());
    settings.page_size = None;
    let err = NinjaOne::new("ninja", &settings, SecretString::from("x"), fast_retry(1))
        .err()
        .expect("plain http to a public host is refused");
    assert!(err.to_string().contains("only https is allowed"), "{err}");
}

fn ninja_listing(server: &MockServer, listing: DeviceListing) -> NinjaOne {
    let mut s = settings(server);
    s.device_listing = listing;
    ninja_with(&s, fast_retry(3))
}

/// `GET /v2/organization/{id}/devices`: that organization's devices from the fixture pages,
/// keyset-paged by `pageSize` and `after` like `/v2/devices`.
struct OrgDevices(Vec<serde_json::Value>);

impl wiremock::Respond for OrgDevices {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let org: i64 = req.url.path().split('/').nth(3).unwrap().parse().unwrap();
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let size: usize = q["pageSize"].parse().unwrap();
        let after: i64 = q.get("after").map_or(0, |a| a.parse().unwrap());
        let page: Vec<_> = self
            .0
            .iter()
            .filter(|d| d["organizationId"] == org && d["id"].as_i64().unwrap() > after)
            .take(size)
            .cloned()
            .collect();
        ResponseTemplate::new(200).set_body_json(page)
    }
}

async fn mount_org_devices(server: &MockServer) {
    let mut all = Vec::new();
    for p in 1..=3 {
        let page: Vec<serde_json::Value> =
            serde_json::from_str(&fixture(&format!("ninjaone/devices_page{p}.json"))).unwrap();
        all.extend(page);
    }
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/v2/organization/\d+/devices$",
        ))
        .and(bearer_token(TOKEN_1))
        .respond_with(OrgDevices(all))
        .mount(server)
        .await;
}

fn sorted_ids(v: &VendorSnapshot) -> Vec<(String, String, String)> {
    let mut ids: Vec<_> = v
        .items
        .iter()
        .map(|i| (i.account_id.clone(), i.id.clone(), i.class.clone()))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn listing_by_organization_reads_the_same_devices_as_the_single_list() {
    let single = MockServer::start().await;
    let one_list = full_sync(&single).await;

    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_orgs_and_roles(&server).await;
    mount_org_devices(&server).await;
    let by_org = vendor(
        ninja_listing(&server, DeviceListing::ByOrganization)
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    );
    assert_eq!(by_org.items.len(), 11);
    assert_eq!(sorted_ids(&by_org), sorted_ids(&one_list));
    assert_eq!(by_org.accounts.len(), 3);
    // Orgs 1 and 2 hold exactly one full page (4), so each needs a second, empty page; org 3's
    // 3 devices end on a short page. The single list is never asked.
    for (org, pages) in [(1, 2), (2, 2), (3, 1)] {
        let asked = requests_to(&server, &format!("/v2/organization/{org}/devices")).await;
        assert_eq!(asked.len(), pages, "org {org}");
    }
    assert!(requests_to(&server, "/v2/devices").await.is_empty());
}

#[tokio::test]
async fn auto_listing_goes_by_organization_only_when_the_last_sync_says_it_is_faster() {
    // No history (a first sync): the single list, the fewest requests.
    let server = MockServer::start().await;
    mount_everything(&server).await;
    mount_org_devices(&server).await;
    let n = ninja_listing(&server, DeviceListing::Auto);
    vendor(n.sync(&SyncCx::silent()).await.unwrap());
    assert_eq!(requests_to(&server, "/v2/devices").await.len(), 3);

    // History of 120 devices over 3 orgs: one chain of 31 pages against 11 pages per org side
    // by side: per organization.
    let server = sync_with_history(&[("1", 40), ("2", 40), ("3", 40)]).await;
    assert!(requests_to(&server, "/v2/devices").await.is_empty());
    assert_eq!(
        requests_to(&server, "/v2/organization/1/devices")
            .await
            .len(),
        2
    );

    // History of 11 devices: the single list again (per organization would not be twice as
    // fast and costs more requests).
    let server = sync_with_history(&[("1", 4), ("2", 4), ("3", 3)]).await;
    assert_eq!(requests_to(&server, "/v2/devices").await.len(), 3);
}

/// An `auto` sync whose previous snapshot held `counts` devices per organization; checks it
/// read all 11 devices either way and returns the server to inspect the requests.
async fn sync_with_history(counts: &[(&str, usize)]) -> MockServer {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    mount_org_devices(&server).await;
    let previous: BTreeMap<String, usize> =
        counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let cx = SyncCx {
        previous: Some(std::sync::Arc::new(previous)),
        ..SyncCx::silent()
    };
    let got = vendor(
        ninja_listing(&server, DeviceListing::Auto)
            .sync(&cx)
            .await
            .unwrap(),
    );
    assert_eq!(got.items.len(), 11);
    server
}

#[tokio::test]
async fn an_organization_that_vanished_mid_sync_names_its_endpoint() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_orgs_and_roles(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/organization/2/devices"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            serde_json::json!({"resultCode": "FAILURE", "errorMessage": "Organization not found"}),
        ))
        .mount(&server)
        .await;
    mount_org_devices(&server).await;
    let err = ninja_listing(&server, DeviceListing::ByOrganization)
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, ConnectorError::Http { status: 404, .. }),
        "{msg}"
    );
    assert!(msg.contains("GET /v2/organization/2/devices"), "{msg}");
    assert!(msg.contains("Organization not found"), "{msg}");
}

/// The shared HTTP contract: refusals and lasting faults at the organizations list (what
/// `check` reads too), a 429 or 5xx on the second page of devices, bad bodies at the devices.
struct NinjaOneCase;

impl Case for NinjaOneCase {
    const CONNECTION: &'static str = "ninja";
    const SECRETS: &'static [&'static str] = &[CLIENT_SECRET, TOKEN_1];
    const UNAUTHORIZED: Refusal = Refusal {
        body: None,
        says: &[
            "Check the client id and secret",
            "reconcile connect ninjaone --name ninja",
        ],
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: None,
        says: &["it needs the `monitoring` scope"],
        requests: 2,
    };
    const CUT_OFF: Option<&'static str> = Some("ninjaone/devices_truncated.json");

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(ninja(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get("/v2/organizations")
    }

    fn transient() -> Endpoint {
        Endpoint::get("/v2/devices").with_query("after", "104")
    }

    fn decoded() -> Endpoint {
        Endpoint::get("/v2/devices")
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            fixture("ninjaone/devices_not_a_list.json"),
            ".",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post("/ws/oauth/token"))
    }
}

impl OAuthCase for NinjaOneCase {
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("ninjaone/token_invalid_client.json"),
        says: &[
            "invalid_client (Bad client credentials)",
            "Check the client id and secret",
            "reconcile connect ninjaone --name ninja",
        ],
        requests: 1,
    };
}

contract_suite!(ninjaone_contract, NinjaOneCase, oauth);

/// Regression: `connect`'s check read its one organization strictly, so one odd record (here an
/// id that is no integer, set aside as `sync` would) refused good credentials.
#[tokio::test]
async fn the_check_reads_a_first_organization_the_spec_allows() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/organizations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            {"id": 3.5e10, "name": null, "nodeApprovalMode": "SOMETHING_NEW"}
        ])))
        .mount(&server)
        .await;
    let ok = ninja(&server, fast_retry(3)).check().await.unwrap();
    assert!(ok.contains("organizations are readable"), "{ok}");
    // A body that is not the documented list still fails, naming what it got.
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/organizations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 1})))
        .mount(&server)
        .await;
    let err = ninja(&server, fast_retry(3)).check().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a JSON array, got an object"),
        "{err}"
    );
}
