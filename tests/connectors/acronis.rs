//! Acronis Cyber Protect Cloud: client credentials in HTTP Basic, the client's tenant, the
//! hierarchy cursor-paged (the next page carries `after` alone), usage in batches of at most
//! 100 tenants, customers only (enabled, not deleted), trial tenants counted nowhere, storage in
//! GB per location, an unreadable value, the failure modes, and proof every request is a read.

use std::collections::HashMap;

use reconcile::connectors::acronis::{Acronis, READ_PATHS, Settings, families, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::VendorSnapshot;
use rust_decimal::Decimal;
use secrecy::SecretString;
use wiremock::matchers::{body_string, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer};

use crate::common::{dec, fast_retry, json, query, units_by_account, vendor};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const CLIENT_ID: &str = "8d1f7e2c-5a3b-4c6d-9e0f-1a2b3c4d5e6f";
const SECRET: &str = "acronis-client-secret-do-not-print";
// base64("8d1f7e2c-5a3b-4c6d-9e0f-1a2b3c4d5e6f:acronis-client-secret-do-not-print")
const BASIC: &str = "Basic OGQxZjdlMmMtNWEzYi00YzZkLTllMGYtMWEyYjNjNGQ1ZTZmOmFjcm9uaXMtY2xpZW50LXNlY3JldC1kby1ub3QtcHJpbnQ=";
const BEARER: &str = "Bearer eyJhbGciOiJSUzI1NiJ9.YWNyb25pcy1maXh0dXJl.c2ln";
const TOKEN: &str = "/api/2/idp/token";
const TENANTS: &str = "/api/2/tenants";
const USAGES: &str = "/api/2/tenants/usages";
const PARTNER: &str = "f0000000-1111-4222-8333-444444444444";
const ACME: &str = "7d1c9a2e-0000-4a5b-9c3d-1e2f3a4b5c6d";
const GLOBEX: &str = "9e2d4a61-0b7c-4c3e-8f1a-2d5e6f7a8b02";
const INITECH: &str = "c3f1e2d4-5a6b-4c7d-8e9f-0a1b2c3d4e03";

fn client(server: &MockServer, retry: RetryPolicy) -> Acronis {
    let settings = Settings {
        url: server.uri(),
        client_id: CLIENT_ID.into(),
    };
    let secret = |f: &str| -> anyhow::Result<SecretString> {
        match f {
            "client_secret" => Ok(SecretString::from(SECRET)),
            other => anyhow::bail!("unexpected secret {other}"),
        }
    };
    Acronis::new("acr", &settings, &secret, retry).unwrap()
}

fn api(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(p.to_string()))
        .and(header("authorization", BEARER))
}

async fn mount_everything(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(header("authorization", BASIC))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(json("acronis/token.json"))
        .mount(server)
        .await;
    api(&format!("/api/2/clients/{CLIENT_ID}"))
        .respond_with(json("acronis/client.json"))
        .mount(server)
        .await;
    api(TENANTS)
        .and(query_param("subtree_root_id", PARTNER))
        .and(query_param_is_missing("after"))
        .respond_with(json("acronis/tenants_page1.json"))
        .mount(server)
        .await;
    // The next page carries the cursor alone.
    api(TENANTS)
        .and(query_param("after", "eyJsYXN0IjoiN2QxYyJ9"))
        .and(query_param_is_missing("subtree_root_id"))
        .respond_with(json("acronis/tenants_page2.json"))
        .mount(server)
        .await;
    api(USAGES)
        .respond_with(json("acronis/usages.json"))
        .mount(server)
        .await;
}

fn units(snap: &VendorSnapshot) -> HashMap<(String, String), Decimal> {
    units_by_account(services(), &families(), snap)
}

#[tokio::test]
async fn sync_walks_the_hierarchy_and_counts_production_usage() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let snap = vendor(
        client(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    // Customers only: not the partner or the folder, not the disabled or deleted tenant.
    let mut ids: Vec<&str> = snap.accounts.iter().map(|a| a.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, [ACME, GLOBEX, INITECH]);
    let u = units(&snap);
    let at = |a: &str, k: &str| u.get(&(a.to_string(), k.to_string())).copied();
    // Both editions of workstations; per edition too.
    assert_eq!(at(ACME, "workstations"), Some(dec("22")));
    assert_eq!(at(ACME, "workstations-standard:edition"), Some(dec("18")));
    assert_eq!(at(ACME, "workstations-advanced:edition"), Some(dec("4")));
    assert_eq!(at(ACME, "servers"), Some(dec("3")));
    assert_eq!(at(ACME, "mailboxes"), Some(dec("25")));
    // Two storage locations: 683.59 GB + 100 GB.
    assert_eq!(at(ACME, "storage-gb"), Some(dec("783.59")));
    // Globex is on trial: nothing counts.
    assert_eq!(at(GLOBEX, "workstations"), None);
    assert!(
        snap.items
            .iter()
            .any(|i| i.account_id == GLOBEX && i.class == "TRIAL")
    );
    // Initech's servers value is unreadable: its counts are unknown, never 0.
    assert_eq!(at(INITECH, "vms"), Some(dec("6")));
    let why = &snap.unreadable[INITECH];
    assert!(why.contains("usage row 1"), "{why}");
    // One usage request for the three customers.
    let usage_requests: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == USAGES)
        .map(|r| query(r)["tenants"].clone())
        .collect();
    assert_eq!(usage_requests.len(), 1);
    assert_eq!(usage_requests[0].split(',').count(), 3);
}

/// The same API changes tenants, offering items and pricing: the connector must only read.
#[tokio::test]
async fn every_request_is_a_read() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let c = client(&server, fast_retry(3));
    c.check().await.unwrap();
    c.sync(&SyncCx::silent()).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() >= 6, "{}", requests.len());
    for r in &requests {
        let p = r.url.path();
        if r.method.as_str() == "POST" {
            assert_eq!(p, TOKEN);
            continue;
        }
        assert_eq!(r.method.as_str(), "GET", "{p}");
        let rel = p.trim_start_matches("/api/2/");
        let known = READ_PATHS.iter().any(|pat| match pat.split_once("{}") {
            Some((head, tail)) => rel.starts_with(head) && rel.ends_with(tail),
            None => rel == *pat,
        });
        assert!(known, "{p} is not one of the read paths");
    }
}

#[tokio::test]
async fn a_disabled_api_client_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(json("acronis/token.json"))
        .mount(&server)
        .await;
    let body = crate::common::fixture("acronis/client.json").replace("\"enabled\"", "\"disabled\"");
    api(&format!("/api/2/clients/{CLIENT_ID}"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let err = client(&server, fast_retry(3))
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is disabled in Acronis"), "{err}");
    assert!(err.contains("Settings > API clients"), "{err}");
}

struct AcronisCase;

impl Case for AcronisCase {
    const CONNECTION: &'static str = "acr";
    const SECRETS: &'static [&'static str] = &[SECRET];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("acronis/unauthorized.json"),
        says: &[
            "Settings > API clients",
            "reconcile connect acronis --name acr",
        ],
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("acronis/forbidden.json"),
        says: &["may not read this part of the hierarchy"],
        requests: 2,
    };
    const CUT_OFF: Option<&'static str> = Some("acronis/usages_truncated.json");

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(client(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(format!("/api/2/clients/{CLIENT_ID}"))
    }

    fn transient() -> Endpoint {
        Endpoint::get(TENANTS).with_query("after", "eyJsYXN0IjoiN2QxYyJ9")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(USAGES)
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            serde_json::json!({"items": {"tenant": "t", "usages": []}}).to_string(),
            "items",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(TOKEN))
    }
}

impl OAuthCase for AcronisCase {
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("acronis/token_denied.json"),
        says: &["access_denied", "data center URL"],
        requests: 1,
    };
}

contract_suite!(acronis_contract, AcronisCase, oauth);

#[tokio::test]
async fn usage_is_asked_for_at_most_100_tenants_at_a_time() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(json("acronis/token.json"))
        .mount(&server)
        .await;
    api(&format!("/api/2/clients/{CLIENT_ID}"))
        .respond_with(json("acronis/client.json"))
        .mount(&server)
        .await;
    let tenants: Vec<serde_json::Value> = (0..250)
        .map(|i| {
            serde_json::json!({"id": format!("t{i:04}"), "name": format!("Client {i}"),
                "kind": "customer", "enabled": true, "pricing_mode": "production"})
        })
        .collect();
    api(TENANTS)
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"items": tenants, "paging": {"cursors": {}}})),
        )
        .mount(&server)
        .await;
    api(USAGES)
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": []})),
        )
        .mount(&server)
        .await;
    let snap = vendor(
        client(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    assert_eq!(snap.accounts.len(), 250);
    let mut sizes: Vec<usize> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == USAGES)
        .map(|r| query(r)["tenants"].split(',').count())
        .collect();
    sizes.sort();
    assert_eq!(sizes, [50, 100, 100]);
}
