//! JumpCloud: `x-api-key` + `x-org-id` auth, provider organizations, limit/skip paging checked
//! against `totalCount`, users by state, systems, and the failure modes.

use std::collections::HashMap;

use reconcile::connectors::jumpcloud::{
    ACTIVATED, JumpCloud, Region, SYSTEM, Settings, USER_OTHER, services,
};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::VendorSnapshot;
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{fast_retry, fixture, json, query, recording_cx, requests_to, vendor};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const KEY: &str = "jc-api-key-do-not-print";
const PROVIDER: &str = "5f0c9e2b1a2b3c4d5e6f7a8b";
const PAGE: usize = 2;
const ORGS: &str = "/api/v2/providers/5f0c9e2b1a2b3c4d5e6f7a8b/organizations";
const USERS: &str = "/api/systemusers";
const SYSTEMS: &str = "/api/systems";
const ACME: &str = "624d9eae6849cf3b3f93dc56";
const GLOBEX: &str = "63a1f0c2b7e4d95a1c3e8f21";
const INITECH: &str = "64f2a9d3c8b1e07f2d4a6b90";

fn settings(server: &MockServer) -> Settings {
    Settings {
        provider_id: PROVIDER.into(),
        region: None,
        url: Some(server.uri()),
        page_size: Some(PAGE),
    }
}

fn jc(server: &MockServer, retry: RetryPolicy) -> JumpCloud {
    JumpCloud::new(
        "jc",
        &settings(server),
        &|field| {
            assert_eq!(field, "api_key");
            Ok(SecretString::from(KEY))
        },
        retry,
    )
    .expect("a loopback URL is accepted")
}

fn key() -> wiremock::matchers::HeaderExactMatcher {
    header("x-api-key", KEY)
}

/// Answers like a JumpCloud list: the fixture's `results` sliced by `skip` and `limit`
/// (default 10), `totalCount` as in the fixture.
struct SkipPages(Value);

impl SkipPages {
    fn of(rel: &str) -> SkipPages {
        SkipPages(serde_json::from_str(&fixture(rel)).unwrap())
    }
}

impl Respond for SkipPages {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q = query(req);
        let skip: usize = q.get("skip").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(10);
        if limit > 100 {
            return ResponseTemplate::new(400).set_body_json(
                serde_json::json!({"message": "limit must be less than or equal to 100"}),
            );
        }
        let results: Vec<Value> = self.0["results"]
            .as_array()
            .unwrap()
            .iter()
            .skip(skip)
            .take(limit)
            .cloned()
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "totalCount": self.0["totalCount"],
            "results": results,
        }))
    }
}

async fn mount_orgs(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(ORGS))
        .and(key())
        .respond_with(SkipPages::of("jumpcloud/organizations.json"))
        .mount(server)
        .await;
}

async fn mount_org_lists(server: &MockServer) {
    for (org, name) in [(ACME, "acme"), (GLOBEX, "globex"), (INITECH, "initech")] {
        for (p, list) in [(USERS, "users"), (SYSTEMS, "systems")] {
            Mock::given(method("GET"))
                .and(path(p))
                .and(key())
                .and(header("x-org-id", org))
                .respond_with(SkipPages::of(&format!("jumpcloud/{list}_{name}.json")))
                .mount(server)
                .await;
        }
    }
}

async fn mount_everything(server: &MockServer) {
    mount_orgs(server).await;
    mount_org_lists(server).await;
}

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        jc(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

async fn sync_err(server: &MockServer, retry: RetryPolicy) -> ConnectorError {
    jc(server, retry)
        .sync(&SyncCx::silent())
        .await
        .expect_err("sync must fail")
}

/// Counts per (org id, service key).
fn counts(snap: &VendorSnapshot) -> HashMap<(String, String), usize> {
    let mut m = HashMap::new();
    for def in services() {
        for item in &snap.items {
            if def.counts(item) {
                *m.entry((item.account_id.clone(), def.key.clone()))
                    .or_default() += 1;
            }
        }
    }
    m
}

#[tokio::test]
async fn sync_pages_orgs_users_and_systems_to_the_end() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let (cx, progress) = recording_cx();
    let snap = vendor(jc(&server, fast_retry(3)).sync(&cx).await.unwrap());

    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Acme Inc", "Globex", "Initech"]);
    assert_eq!(snap.accounts[0].id, ACME);
    assert!(
        snap.accounts[0]
            .raw
            .as_deref()
            .unwrap()
            .contains("\"maxSystemUsers\":50")
    );
    assert_eq!(snap.items.len(), 8 + 4, "8 users and 4 systems");

    // Organizations: two pages of two and one; the provider call carries no x-org-id.
    let org_reqs = requests_to(&server, ORGS).await;
    let skips: Vec<String> = org_reqs.iter().map(|r| query(r)["skip"].clone()).collect();
    assert_eq!(skips, ["0", "2"]);
    for r in &org_reqs {
        assert_eq!(query(r)["limit"], PAGE.to_string());
        assert!(r.headers.get("x-org-id").is_none());
    }
    // Acme's five users: skip 0, 2, 4, each sorted by _id and asking only for the fields kept.
    let acme_users: Vec<Request> = requests_to(&server, USERS)
        .await
        .into_iter()
        .filter(|r| r.headers.get("x-org-id").unwrap() == ACME)
        .collect();
    let skips: Vec<String> = acme_users
        .iter()
        .map(|r| query(r)["skip"].clone())
        .collect();
    assert_eq!(skips, ["0", "2", "4"]);
    for r in &acme_users {
        let q = query(r);
        assert_eq!(q["sort"], "_id");
        assert!(q["fields"].split(' ').any(|f| f == "state"), "{q:?}");
    }
    // Globex's two users fill one page and reach totalCount: no empty second request.
    let globex_users = requests_to(&server, USERS)
        .await
        .into_iter()
        .filter(|r| r.headers.get("x-org-id").unwrap() == GLOBEX)
        .count();
    assert_eq!(globex_users, 1);

    let progress = progress.lock().unwrap().clone();
    assert!(
        progress.contains(&("organizations".to_string(), 3)),
        "{progress:?}"
    );
    assert!(progress.contains(&("users".to_string(), 8)), "{progress:?}");
    assert!(
        progress.contains(&("systems".to_string(), 4)),
        "{progress:?}"
    );
}

#[tokio::test]
async fn per_org_service_counts() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let c = counts(&snap);
    let get = |org: &str, key: &str| {
        c.get(&(org.to_string(), key.to_string()))
            .copied()
            .unwrap_or(0)
    };
    // Acme: 3 activated, 1 suspended, 1 staged; JumpCloud bills all five.
    assert_eq!(get(ACME, "users"), 5);
    assert_eq!(get(ACME, "users-activated"), 3);
    assert_eq!(get(ACME, "users-suspended"), 1);
    assert_eq!(get(ACME, "users-staged"), 1);
    assert_eq!(get(ACME, "systems"), 3);
    assert_eq!(get(GLOBEX, "users"), 2);
    assert_eq!(get(GLOBEX, "users-activated"), 1);
    assert_eq!(get(GLOBEX, "systems"), 0);
    assert_eq!(get(INITECH, "users"), 1);
    assert_eq!(get(INITECH, "users-staged"), 1);
    assert_eq!(get(INITECH, "systems"), 1);
}

#[tokio::test]
async fn users_and_systems_carry_what_explain_shows() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let by_name = |n: &str| {
        snap.items
            .iter()
            .find(|i| i.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let jdoe = by_name("jdoe");
    assert_eq!(jdoe.class, ACTIVATED);
    assert_eq!(jdoe.raw_class, "ACTIVATED");
    assert_eq!(jdoe.account_id, ACME);
    assert_eq!(jdoe.attrs["email"], "jdoe@acme.example");
    assert_eq!(jdoe.attrs["org_max_users"], "50");
    assert_eq!(by_name("bsmith").attrs["account_locked"], "true");

    let mbp = by_name("ACME-MBP-JDOE");
    assert_eq!(mbp.class, SYSTEM);
    assert_eq!(mbp.attrs["os"], "mac");
    assert_eq!(mbp.online, Some(true));
    assert_eq!(
        mbp.last_contact.unwrap().to_string(),
        "2024-11-04T08:15:27.412Z"
    );
    // No display name: the host name stands in.
    assert_eq!(by_name("acme-build-01").attrs["os"], "linux");
    assert_eq!(by_name("ACME-WS-02").online, Some(false));
}

#[tokio::test]
async fn an_unknown_user_state_is_kept_and_billed() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let odd = snap
        .items
        .iter()
        .find(|i| i.name == "pending.review")
        .unwrap();
    assert_eq!(odd.class, USER_OTHER);
    assert_eq!(odd.raw_class, "PENDING_REVIEW");
    assert_eq!(odd.attrs["unknown_state"], "true");
    let counted: Vec<String> = services()
        .into_iter()
        .filter(|d| d.counts(odd))
        .map(|d| d.key)
        .collect();
    assert_eq!(counted, ["users"]);
}

#[tokio::test]
async fn odd_values_are_unknown_for_their_record_and_never_fail_the_sync() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ORGS))
        .and(key())
        .respond_with(json("jumpcloud/odd_organizations.json"))
        .mount(&server)
        .await;
    for (org, name) in [(ACME, "acme"), (GLOBEX, "globex")] {
        for (p, list) in [(USERS, "users"), (SYSTEMS, "systems")] {
            Mock::given(method("GET"))
                .and(path(p))
                .and(key())
                .and(header("x-org-id", org))
                .respond_with(json(&format!("jumpcloud/odd_{list}_{name}.json")))
                .mount(&server)
                .await;
        }
    }
    let snap = vendor(
        jc(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("odd values never fail the sync"),
    );
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, [format!("organization {ACME}").as_str(), "Globex"]);
    let item = |id: &str| snap.items.iter().find(|i| i.id == id).unwrap();
    let jdoe = item("5f1a2b3c4d5e6f7a8b9c0d01");
    assert_eq!(jdoe.class, ACTIVATED);
    assert_eq!(jdoe.attrs["odd_fields"], "created");
    // An unknown state that is text is kept and billed, as before; not a reason to give up.
    assert_eq!(item("5f1a2b3c4d5e6f7a8b9c0d02").class, USER_OTHER);
    let bx = item("5f1a2b3c4d5e6f7a8b9c0e01");
    assert_eq!(bx.class, SYSTEM);
    assert_eq!(bx.last_contact, None);
    assert_eq!(bx.attrs["odd_fields"], "agentVersion,lastContact");
    let strange = item("5f1a2b3c4d5e6f7a8b9c0d04");
    assert_eq!(strange.attrs["odd_fields"], "state");
    assert_eq!(snap.items.len(), 4);

    // A state that cannot be read decides which service counts the user: never guessed.
    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [(
            GLOBEX,
            "user 5f1a2b3c4d5e6f7a8b9c0d04 has no readable state (`state`)"
        )]
    );
    // Records without an id are set aside; they still count towards `totalCount`.
    assert_eq!(
        snap.set_aside,
        [
            format!("GET {ORGS} results[2]: missing field `id`"),
            format!("GET {USERS} results[2]: missing field `_id`"),
        ]
    );
    let note = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(note.starts_with("2 records set aside"), "{note}");
}

#[tokio::test]
async fn check_reads_one_org_and_reports_the_total() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ORGS))
        .and(key())
        .respond_with(json("jumpcloud/organizations_one.json"))
        .expect(1)
        .mount(&server)
        .await;
    let msg = jc(&server, fast_retry(3)).check().await.unwrap();
    assert!(msg.contains("3 organizations are readable"), "{msg}");
    assert!(msg.contains(PROVIDER), "{msg}");
    assert!(!msg.contains(KEY));
    let req = &requests_to(&server, ORGS).await[0];
    assert_eq!(query(req)["limit"], "1");
}

#[tokio::test]
async fn forbidden_on_one_org_names_the_org_and_what_to_grant() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(header("x-org-id", GLOBEX))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw(fixture("jumpcloud/forbidden_org.json"), "application/json"),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let msg = sync_err(&server, fast_retry(3)).await.to_string();
    assert!(msg.contains("GET /api/systemusers"), "{msg}");
    assert!(msg.contains("HTTP 403"), "{msg}");
    assert!(
        msg.contains(&format!("organization `Globex` ({GLOBEX})")),
        "{msg}"
    );
    assert!(
        msg.contains("add the org under Organization Access"),
        "{msg}"
    );
    assert!(msg.contains("reconcile sync jc"), "{msg}");
}

#[tokio::test]
async fn a_list_without_results_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ORGS))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": []})))
        .mount(&server)
        .await;
    let msg = sync_err(&server, fast_retry(3)).await.to_string();
    assert!(msg.contains("at `results`"), "{msg}");
    assert!(msg.contains("missing"), "{msg}");
}

#[tokio::test]
async fn fewer_records_than_total_count_fails_the_sync() {
    let server = MockServer::start().await;
    // totalCount says 6 but the list ends after 5: a record was lost between pages.
    let mut body: Value = serde_json::from_str(&fixture("jumpcloud/users_acme.json")).unwrap();
    body["totalCount"] = 6.into();
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(header("x-org-id", ACME))
        .respond_with(SkipPages(body))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let msg = sync_err(&server, fast_retry(3)).await.to_string();
    assert!(
        msg.contains("returned 5 users for organization `Acme Inc`"),
        "{msg}"
    );
    assert!(msg.contains("totalCount says 6"), "{msg}");
    assert!(msg.contains("nothing was saved"), "{msg}");
}

#[tokio::test]
async fn a_record_read_twice_fails_the_sync() {
    let server = MockServer::start().await;
    // The second page repeats the last record of the first (records shifted mid-read).
    let body: Value = serde_json::from_str(&fixture("jumpcloud/systems_acme.json")).unwrap();
    let all = body["results"].as_array().unwrap().clone();
    Mock::given(method("GET"))
        .and(path(SYSTEMS))
        .and(header("x-org-id", ACME))
        .and(wiremock::matchers::query_param("skip", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "totalCount": 3,
            "results": [all[1].clone()],
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let msg = sync_err(&server, fast_retry(3)).await.to_string();
    assert!(
        msg.contains("returned system `6a0b1c2d3e4f5a6b7c8d9e02`"),
        "{msg}"
    );
    assert!(msg.contains("twice"), "{msg}");
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback_and_regions_pick_the_console() {
    let server = MockServer::start().await;
    let mut s = settings(&server);
    s.url = Some("http://console.jumpcloud.com".into());
    s.page_size = None;
    let secret = |_: &str| Ok(SecretString::from(KEY));
    let err = JumpCloud::new("jc", &s, &secret, fast_retry(1))
        .err()
        .expect("plain http is refused");
    assert!(err.to_string().contains("only https"), "{err}");
    s.url = None;
    s.region = Some(Region::Eu);
    assert_eq!(s.base_url(), "https://console.eu.jumpcloud.com");
    assert!(JumpCloud::new("jc", &s, &secret, fast_retry(1)).is_ok());
}

/// The shared HTTP contract: refusals and lasting faults at the provider's organizations (what
/// `check` reads too), a 429 or 5xx on Acme's second page of users, bad bodies at Acme's users.
struct JumpCloudCase;

impl Case for JumpCloudCase {
    const CONNECTION: &'static str = "jc";
    const SECRETS: &'static [&'static str] = &[KEY];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("jumpcloud/unauthorized.json"),
        says: &[
            "Account Management > Account Overview",
            "revokes the previous one",
            "reconcile connect jumpcloud --name jc --provider-id 5f0c9e2b1a2b3c4d5e6f7a8b",
        ],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("jumpcloud/forbidden.json"),
        says: &[
            "PERMISSION_DENIED",
            "Read Only is the least role",
            "API access enabled",
            "provider `5f0c9e2b1a2b3c4d5e6f7a8b`",
        ],
        requests: 1,
    };
    const CUT_OFF: Option<&'static str> = Some("jumpcloud/users_truncated.json");

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(jc(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(ORGS)
    }

    fn transient() -> Endpoint {
        Self::decoded().with_query("skip", "2")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(USERS).with_header("x-org-id", ACME)
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            // Records are read tolerantly: only `results` that is no list is not the shape.
            serde_json::json!({"totalCount": 1, "results": {"_id": "5f1a2b3c4d5e6f7a8b9c0d01"}})
                .to_string(),
            "results",
            "expected a JSON array, got an object",
        )
    }
}

contract_suite!(jumpcloud_contract, JumpCloudCase);
