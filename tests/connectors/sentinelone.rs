//! SentinelOne: API token auth, cursor paging, machine types, decommissioned agents, per-SKU
//! services and the failure modes.

use reconcile::connectors::sentinelone::Settings as SentinelOneSettings;
use reconcile::connectors::sentinelone::{DECOMMISSIONED, OTHER, SentinelOne, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::VendorSnapshot;
use secrecy::SecretString;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    counts_by_service, fast_retry, json, query, recording_cx, requests_to, vendor,
};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const TOKEN: &str = "s1-api-token-do-not-print";
const PAGE: usize = 3;
const SITES: &str = "/web/api/v2.1/sites";
const AGENTS: &str = "/web/api/v2.1/agents";
const ACME: &str = "1392053568582758390";

fn settings(server: &MockServer) -> SentinelOneSettings {
    SentinelOneSettings {
        url: server.uri(),
        page_size: Some(PAGE),
    }
}

fn s1(server: &MockServer, retry: RetryPolicy) -> SentinelOne {
    SentinelOne::new("s1", &settings(server), SecretString::from(TOKEN), retry)
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

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        s1(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
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
    let counts = counts_by_service(&services(), &snap);
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

/// Serves `sites_odd.json` and `agents_odd.json`, each a whole list in one page.
async fn odd_sync(server: &MockServer) -> VendorSnapshot {
    for (at, rel) in [
        (SITES, "sentinelone/sites_odd.json"),
        (AGENTS, "sentinelone/agents_odd.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .and(auth())
            .respond_with(json(rel))
            .mount(server)
            .await;
    }
    vendor(
        s1(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("odd values never fail the sync"),
    )
}

#[tokio::test]
async fn odd_values_are_unknown_for_their_record_and_never_fail_the_sync() {
    let server = MockServer::start().await;
    let snap = odd_sync(&server).await;
    let item = |id: &str| snap.items.iter().find(|i| i.id == id).unwrap();

    // Every site with an id is an account; one with a null name is named by its id.
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["site 1392053568582758390", "Globex", "Initech", "Umbrella"]
    );
    let mut ids: Vec<&str> = snap.items.iter().map(|i| i.id.as_str()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "18871930000011234567",
            "18871930000021234567",
            "18871930000031234567",
            "18871930000041234567",
            "18871930000051234567",
            "18871930000081234567"
        ],
        "every attributable agent is kept"
    );

    // A date that is no date is unknown; an unknown network status falls back to `isActive`
    // (null: unknown). The site's odd license count is named on its agents.
    let dt = item("18871930000011234567");
    assert_eq!(dt.class, "DESKTOP");
    assert_eq!(dt.last_contact, None);
    assert_eq!(dt.online, None);
    assert_eq!(dt.attrs["odd_fields"], "lastActiveDate");
    assert_eq!(dt.attrs["site_odd_fields"], "activeLicenses");
    assert_eq!(dt.attrs["sku"], "Complete");
    assert_eq!(dt.attrs["site_total_licenses"], i64::MAX.to_string());
    assert!(!dt.attrs.contains_key("site_active_licenses"));
    assert_eq!(
        dt.attrs["site_state"], "archived",
        "an unknown state is kept"
    );
    // An unknown machine type is text: `OTHER`, as before.
    let fridge = item("18871930000021234567");
    assert_eq!(fridge.class, OTHER);
    assert_eq!(fridge.attrs["unknown_class"], "true");
    assert_eq!(fridge.attrs["odd_fields"], "isUninstalled");
    assert_eq!(fridge.name, "agent 18871930000021234567");
    // A decommissioned agent's odd machine type decides nothing.
    let old = item("18871930000051234567");
    assert_eq!(old.class, DECOMMISSIONED);
    assert_eq!(old.attrs["odd_fields"], "machineType");
    let glx = item("18871930000081234567");
    assert_eq!(glx.attrs["odd_fields"], "agentVersion");
    assert_eq!(glx.attrs["site_odd_fields"], "sku");
    assert!(!glx.attrs.contains_key("sku"));
    assert_eq!(glx.attrs["os"], "solaris");
    // The last date a timestamp can hold is a day short of 9999-12-31: past it, unknown.
    let far = item("18871930000041234567");
    assert_eq!(far.last_contact, None);
    assert_eq!(far.attrs["odd_fields"], "lastActiveDate");

    // The counts: Acme's two live agents; the decommissioned one counts nowhere.
    let agents = &services()[0];
    let acme = snap
        .items
        .iter()
        .filter(|i| i.account_id == ACME && agents.counts(i))
        .count();
    assert_eq!(acme, 2);

    // What decides whether or where an agent counts is never guessed: its site is unreadable.
    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [
            (
                "1392053568582758391",
                "site 1392053568582758391 has no readable SKU (`sku`)"
            ),
            (
                "1392053568582758393",
                "agent 18871930000031234567 has no readable machine type (`machineType`)"
            ),
            (
                "1392053568582758394",
                "agent 18871930000041234567 has no readable decommissioned state (`isDecommissioned`)"
            ),
        ]
    );

    // Records with no id or no site are set aside, named by endpoint, place and reason.
    assert_eq!(
        snap.set_aside,
        [
            "GET /web/api/v2.1/sites data.sites[2]: missing field `id`",
            "GET /web/api/v2.1/agents data[5]: missing field `id`",
            "GET /web/api/v2.1/agents data[6]: missing field `siteId`",
        ]
    );
    let note = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(note.starts_with("3 records set aside"), "{note}");
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

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let server = MockServer::start().await;
    let mut settings = settings(&server);
    settings.url = "http://usea1-acme.sentinelone.net".into();
    settings.page_size = None;
    let err = SentinelOne::new("s1", &settings, SecretString::from(TOKEN), fast_retry(1))
        .err()
        .expect("plain http is refused");
    assert!(err.to_string().contains("only https"), "{err}");
}

/// The shared HTTP contract: refusals and lasting faults at the sites list (what `check` reads
/// too), a 429 or 5xx on the second page of agents, bad bodies at the agents.
struct SentinelOneCase;

impl Case for SentinelOneCase {
    const CONNECTION: &'static str = "s1";
    const SECRETS: &'static [&'static str] = &[TOKEN];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("sentinelone/unauthorized.json"),
        says: &[
            // The body follows the status after a separator (it once ran on: `HTTP 401{"errors"`).
            "(HTTP 401: {\"errors\"",
            "expired",
            "Service Users",
            "reconcile connect sentinelone --name s1",
        ],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("sentinelone/forbidden.json"),
        says: &["Viewer role (or higher) on the account or site scope"],
        requests: 1,
    };
    const CUT_OFF: Option<&'static str> = Some("sentinelone/agents_truncated.json");

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(s1(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(SITES)
    }

    fn transient() -> Endpoint {
        Endpoint::get(AGENTS).with_query("cursor", "YWdlbnRzLXBhZ2UtMg==")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(AGENTS)
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            // Agents read tolerantly: only a body without the `data` list is not the shape.
            serde_json::json!({
                "data": {"agents": [{"id": "1", "siteId": "10"}]},
                "pagination": {"nextCursor": null, "totalItems": 1}
            })
            .to_string(),
            "data",
            "expected a JSON array, got an object",
        )
    }
}

contract_suite!(sentinelone_contract, SentinelOneCase);
