//! SentinelOne: API token auth, cursor paging, machine types, decommissioned agents, per-SKU
//! services and the failure modes.

use std::collections::HashMap;

use reconcile::connectors::sentinelone::Settings as SentinelOneSettings;
use reconcile::connectors::sentinelone::{DECOMMISSIONED, OTHER, SentinelOne, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{Snapshot, VendorSnapshot};
use secrecy::SecretString;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{fast_retry, fixture, json, query, recording_cx, requests_to};

const TOKEN: &str = "s1-api-token-do-not-print";
const PAGE: usize = 3;
const SITES: &str = "/web/api/v2.1/sites";
const AGENTS: &str = "/web/api/v2.1/agents";
const ACME: &str = "1392053568582758390";

fn s1(server: &MockServer, retry: RetryPolicy) -> SentinelOne {
    let settings = SentinelOneSettings {
        url: server.uri(),
        page_size: Some(PAGE),
    };
    SentinelOne::new("s1", &settings, SecretString::from(TOKEN), retry)
        .expect("a loopback URL is accepted")
}

fn auth() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("ApiToken {TOKEN}").as_str())
}

async fn mount_sites(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(SITES))
        .and(auth())
        .and(query_param_is_missing("cursor"))
        .respond_with(json("sentinelone/sites_page1.json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(SITES))
        .and(auth())
        .and(query_param("cursor", "c2l0ZXMtcGFnZS0y"))
        .respond_with(json("sentinelone/sites_page2.json"))
        .mount(server)
        .await;
}

async fn mount_agent_page(server: &MockServer, cursor: Option<&str>, rel: &str) {
    let m = Mock::given(method("GET"))
        .and(path(AGENTS))
        .and(auth())
        .and(query_param("limit", PAGE.to_string()));
    let m = match cursor {
        Some(c) => m.and(query_param("cursor", c)),
        None => m.and(query_param_is_missing("cursor")),
    };
    m.respond_with(json(rel)).mount(server).await;
}

/// Agents in three pages of three, chained by `pagination.nextCursor`.
async fn mount_everything(server: &MockServer) {
    mount_sites(server).await;
    mount_agent_page(server, None, "sentinelone/agents_page1.json").await;
    mount_agent_page(
        server,
        Some("YWdlbnRzLXBhZ2UtMg=="),
        "sentinelone/agents_page2.json",
    )
    .await;
    mount_agent_page(
        server,
        Some("YWdlbnRzLXBhZ2UtMw=="),
        "sentinelone/agents_page3.json",
    )
    .await;
}

fn vendor(s: Snapshot) -> VendorSnapshot {
    match s {
        Snapshot::Vendor(v) => v,
        Snapshot::Psa(_) => panic!("SentinelOne must produce a vendor snapshot"),
    }
}

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        s1(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

/// Non-decommissioned agents per service, over the whole snapshot.
fn service_counts(snap: &VendorSnapshot) -> HashMap<String, usize> {
    services()
        .into_iter()
        .map(|s| {
            let n = snap.items.iter().filter(|i| s.counts(i)).count();
            (s.key, n)
        })
        .collect()
}

#[tokio::test]
async fn sync_reads_every_site_and_agent_page_by_cursor() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let (cx, progress) = recording_cx();
    let snap = vendor(s1(&server, fast_retry(3)).sync(&cx).await.unwrap());

    assert_eq!(snap.accounts.len(), 3);
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Acme Corp", "Globex", "Initech"]);
    assert_eq!(snap.accounts[0].id, ACME);
    assert!(
        snap.accounts[0]
            .raw
            .as_deref()
            .unwrap()
            .contains("\"totalLicenses\":20")
    );
    assert_eq!(snap.items.len(), 9);

    let agent_reqs = requests_to(&server, AGENTS).await;
    assert_eq!(
        agent_reqs.len(),
        3,
        "three pages, stopping at a null cursor"
    );
    let cursors: Vec<Option<String>> = agent_reqs
        .iter()
        .map(|r| query(r).get("cursor").cloned())
        .collect();
    assert_eq!(
        cursors,
        [
            None,
            Some("YWdlbnRzLXBhZ2UtMg==".to_string()),
            Some("YWdlbnRzLXBhZ2UtMw==".to_string())
        ]
    );
    for r in &agent_reqs {
        assert_eq!(query(r)["limit"], PAGE.to_string());
    }
    assert_eq!(requests_to(&server, SITES).await.len(), 2);

    let progress = progress.lock().unwrap().clone();
    assert!(progress.contains(&("sites".to_string(), 3)), "{progress:?}");
    assert!(
        progress.contains(&("agents".to_string(), 9)),
        "{progress:?}"
    );
}

#[tokio::test]
async fn agents_carry_class_site_sku_and_last_contact() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let by_name = |n: &str| snap.items.iter().find(|i| i.name == n).unwrap();

    let lt = by_name("ACME-LT-02");
    assert_eq!(lt.class, "LAPTOP");
    assert_eq!(lt.raw_class, "laptop");
    assert_eq!(lt.account_id, ACME);
    assert_eq!(lt.attrs["sku"], "Complete");
    assert_eq!(lt.attrs["site_total_licenses"], "20");
    assert_eq!(lt.attrs["os"], "macos");
    assert_eq!(lt.online, Some(true));
    assert_eq!(
        lt.last_contact.unwrap().to_string(),
        "2024-11-04T08:15:27.412331Z"
    );
    assert_eq!(by_name("acme-k8s-node-1").class, "KUBERNETES_NODE");
    assert_eq!(by_name("INI-SRV-01").attrs["sku"], "Core");
}

#[tokio::test]
async fn an_unknown_machine_type_is_kept_and_counted_as_other() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let holo = snap.items.iter().find(|i| i.name == "GLX-HOLO-01").unwrap();
    assert_eq!(holo.class, OTHER);
    assert_eq!(holo.raw_class, "holographic terminal");
    assert_eq!(holo.attrs["unknown_class"], "true");
    assert_eq!(holo.online, Some(false));
    let defs = services();
    let counted: Vec<&str> = defs
        .iter()
        .filter(|d| d.counts(holo))
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(counted, ["agents", "other", "agents-control"]);
}

#[tokio::test]
async fn decommissioned_agents_are_kept_but_not_counted() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let old = snap.items.iter().find(|i| i.name == "ACME-DT-OLD").unwrap();
    assert_eq!(old.class, DECOMMISSIONED);
    assert_eq!(old.raw_class, "desktop");
    assert_eq!(old.attrs["decommissioned"], "true");
    for def in services() {
        assert!(
            !def.counts(old),
            "{} counts a decommissioned agent",
            def.key
        );
    }
}

#[tokio::test]
async fn per_service_counts() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let counts = service_counts(&snap);
    let expect = [
        ("agents", 8),
        ("workstations", 4),
        ("servers", 2),
        ("other", 2),
        ("agents-complete", 5),
        ("agents-control", 2),
        ("agents-core", 1),
    ];
    for (key, n) in expect {
        assert_eq!(counts[key], n, "{key}");
    }
    // Acme's workstations: two laptops and a desktop; the decommissioned desktop is not one.
    let ws = services()
        .into_iter()
        .find(|s| s.key == "workstations")
        .unwrap();
    let acme_ws = snap
        .items
        .iter()
        .filter(|i| i.account_id == ACME && ws.counts(i))
        .count();
    assert_eq!(acme_ws, 3);
}

#[tokio::test]
async fn check_reads_one_site_and_reports_licenses() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SITES))
        .and(auth())
        .and(query_param("limit", "1"))
        .respond_with(json("sentinelone/sites_one.json"))
        .expect(1)
        .mount(&server)
        .await;
    let msg = s1(&server, fast_retry(3)).check().await.unwrap();
    assert!(msg.contains("3 sites are readable"), "{msg}");
    assert!(msg.contains("8 of 40 licenses"), "{msg}");
    assert!(!msg.contains(TOKEN));
}

async fn check_err(server: &MockServer, retry: RetryPolicy) -> ConnectorError {
    s1(server, retry)
        .check()
        .await
        .expect_err("check must fail")
}

#[tokio::test]
async fn a_refused_token_says_how_to_make_a_new_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SITES))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(fixture("sentinelone/unauthorized.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = check_err(&server, fast_retry(3)).await;
    assert!(err.is_auth(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("connection `s1`"), "{msg}");
    assert!(msg.contains("GET /web/api/v2.1/sites"), "{msg}");
    // The body follows the status after a separator (it once ran on: `HTTP 401{"errors"`).
    assert!(msg.contains("(HTTP 401: {\"errors\""), "{msg}");
    assert!(msg.contains("expired"), "{msg}");
    assert!(msg.contains("Service Users"), "{msg}");
    assert!(
        msg.contains("reconcile connect sentinelone --name s1"),
        "{msg}"
    );
    assert!(!msg.contains(TOKEN), "{msg}");
}

#[tokio::test]
async fn forbidden_names_the_viewer_role() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SITES))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw(fixture("sentinelone/forbidden.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let err = check_err(&server, fast_retry(3)).await;
    let msg = err.to_string();
    assert!(msg.contains("HTTP 403"), "{msg}");
    assert!(
        msg.contains("Viewer role (or higher) on the account or site scope"),
        "{msg}"
    );
    assert!(!msg.contains(TOKEN), "{msg}");
}

#[tokio::test]
async fn rate_limits_wait_as_retry_after_says() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SITES))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let started = std::time::Instant::now();
    let snap = vendor(
        s1(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "did not wait for Retry-After"
    );
    assert_eq!(snap.accounts.len(), 3);
    assert_eq!(snap.items.len(), 9);
}

#[tokio::test]
async fn a_long_retry_after_fails_with_advice() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SITES))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let msg = check_err(&server, fast_retry(3)).await.to_string();
    assert!(msg.contains("rate limiting (HTTP 429)"), "{msg}");
    assert!(msg.contains("3600s"), "{msg}");
}

#[tokio::test]
async fn a_server_error_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(AGENTS))
        .and(query_param("cursor", "YWdlbnRzLXBhZ2UtMg=="))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let snap = full_sync(&server).await;
    assert_eq!(snap.items.len(), 9);
    let page2 = requests_to(&server, AGENTS)
        .await
        .into_iter()
        .filter(|r| query(r).get("cursor").map(String::as_str) == Some("YWdlbnRzLXBhZ2UtMg=="))
        .count();
    assert_eq!(page2, 2, "the failed page is asked for again");
}

#[tokio::test]
async fn a_persistent_server_error_names_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SITES))
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .mount(&server)
        .await;
    let msg = check_err(&server, fast_retry(2)).await.to_string();
    assert!(
        msg.contains("GET /web/api/v2.1/sites answered HTTP 503 after 2 attempts"),
        "{msg}"
    );
}

#[tokio::test]
async fn malformed_json_fails_the_sync_and_says_so() {
    let server = MockServer::start().await;
    mount_sites(&server).await;
    Mock::given(method("GET"))
        .and(path(AGENTS))
        .respond_with(json("sentinelone/agents_truncated.json"))
        .mount(&server)
        .await;
    let err = s1(&server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .expect_err("a cut-off body must fail the sync");
    assert!(matches!(err, ConnectorError::Malformed { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("GET /web/api/v2.1/agents"), "{msg}");
    assert!(msg.contains("not valid JSON"), "{msg}");
}

#[tokio::test]
async fn a_wrong_shape_names_the_field() {
    let server = MockServer::start().await;
    mount_sites(&server).await;
    Mock::given(method("GET"))
        .and(path(AGENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"id": "1", "computerName": "x"}],
            "pagination": {"nextCursor": null, "totalItems": 1}
        })))
        .mount(&server)
        .await;
    let msg = s1(&server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("at `data[0]"), "{msg}");
    assert!(msg.contains("siteId"), "{msg}");
}

#[tokio::test]
async fn a_repeated_cursor_stops_paging() {
    let server = MockServer::start().await;
    mount_sites(&server).await;
    Mock::given(method("GET"))
        .and(path(AGENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [],
            "pagination": {"nextCursor": "same", "totalItems": 0}
        })))
        .mount(&server)
        .await;
    let msg = s1(&server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("cursor `same` twice"), "{msg}");
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let settings = SentinelOneSettings {
        url: "http://usea1-acme.sentinelone.net".into(),
        page_size: None,
    };
    let err = SentinelOne::new("s1", &settings, SecretString::from(TOKEN), fast_retry(1))
        .err()
        .expect("plain http is refused");
    assert!(err.to_string().contains("only https"), "{err}");
}
