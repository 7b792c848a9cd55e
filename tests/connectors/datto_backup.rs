//! Datto SaaS Protection and BCDR: HTTP Basic with the key pair, SaaS customers (one per id,
//! whatever its domains) and their billable seats, appliances paged by `_page`, their protected
//! machines by kind, offsite storage in GB, a customer the API will not list, odd values, the
//! failure modes, and proof that every request is a read (the same key changes seats).

use std::collections::HashMap;

use reconcile::connectors::datto_backup::{DattoBackup, READ_PATHS, Settings, families, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::VendorSnapshot;
use rust_decimal::Decimal;
use secrecy::SecretString;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, fixture, json, query, units_by_account, vendor};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const PUBLIC: &str = "a1b2c3d4e5f60718";
const SECRET: &str = "datto-secret-key-do-not-print";
// base64("a1b2c3d4e5f60718:datto-secret-key-do-not-print")
const BASIC: &str = "Basic YTFiMmMzZDRlNWY2MDcxODpkYXR0by1zZWNyZXQta2V5LWRvLW5vdC1wcmludA==";
const DOMAINS: &str = "/v1/saas/domains";
const DEVICES: &str = "/v1/bcdr/device";

fn client(server: &MockServer, retry: RetryPolicy) -> DattoBackup {
    let settings = Settings {
        public_key: PUBLIC.into(),
        url: Some(server.uri()),
    };
    let secret = |f: &str| -> anyhow::Result<SecretString> {
        match f {
            "secret_key" => Ok(SecretString::from(SECRET)),
            other => anyhow::bail!("unexpected secret {other}"),
        }
    };
    DattoBackup::new("db", &settings, &secret, retry).unwrap()
}

fn api(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(p.to_string()))
        .and(header("authorization", BASIC))
}

async fn mount_everything(server: &MockServer) {
    api(DOMAINS)
        .respond_with(json("datto_backup/domains.json"))
        .mount(server)
        .await;
    for id in ["31001", "31002"] {
        api(&format!("/v1/saas/{id}/seats"))
            .respond_with(json(&format!("datto_backup/seats_{id}.json")))
            .mount(server)
            .await;
    }
    for page in ["1", "2"] {
        api(DEVICES)
            .and(query_param("_page", page))
            .and(query_param("_perPage", "100"))
            .and(query_param("showHiddenDevices", "0"))
            .respond_with(json(&format!("datto_backup/devices_page{page}.json")))
            .mount(server)
            .await;
    }
    for serial in ["A1B2C3D4E5F6", "0A0B0C0D0E0F", "FFEEDDCCBBAA"] {
        api(&format!("/v1/bcdr/device/{serial}/asset/agent"))
            .respond_with(json(&format!("datto_backup/agents_{serial}.json")))
            .mount(server)
            .await;
    }
}

fn units(snap: &VendorSnapshot) -> HashMap<(String, String), Decimal> {
    units_by_account(services(), &families(), snap)
}

#[tokio::test]
async fn sync_counts_billable_seats_appliances_machines_and_storage() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let snap = vendor(
        client(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    assert!(snap.unreadable.is_empty(), "{:?}", snap.unreadable);
    let u = units(&snap);
    let at = |a: &str, k: &str| u.get(&(a.to_string(), k.to_string())).copied();
    // Acme's seats are listed once though it has two domains: 3 billable of 5.
    assert_eq!(at("saas:31001", "saas-seats"), Some(dec("3")));
    assert_eq!(at("saas:31001", "m365-seats"), Some(dec("3")));
    assert_eq!(at("saas:31001", "saas-user-seats"), Some(dec("2")));
    assert_eq!(at("saas:31001", "google-seats"), None);
    // Globex is Google; `billable: 1` as a number reads like "1".
    assert_eq!(at("saas:31002", "google-seats"), Some(dec("2")));
    // Acme's appliance: a server, a paused workstation (still billed), an agentless VM; the
    // archived machine counts nowhere. 1.25 TB offsite is 1250 GB.
    // Acme's appliance joins its SaaS customer's account: one client, one account.
    let acme = "saas:31001";
    assert_eq!(at(acme, "bcdr-appliances"), Some(dec("1")));
    assert_eq!(at(acme, "bcdr-servers"), Some(dec("1")));
    assert_eq!(at(acme, "bcdr-workstations"), Some(dec("1")));
    assert_eq!(at(acme, "bcdr-virtual"), Some(dec("1")));
    assert_eq!(at(acme, "bcdr-agents"), Some(dec("3")));
    assert_eq!(at(acme, "bcdr-offsite-gb"), Some(dec("1250")));
    assert_eq!(at(acme, "infinite-cloud-retention:plan"), Some(dec("1")));
    // Globex's appliance is on page 2: Linux is protected as a server.
    let globex = "saas:31002";
    assert_eq!(at(globex, "bcdr-servers"), Some(dec("1")));
    assert_eq!(at(globex, "bcdr-workstations"), Some(dec("1")));
    assert_eq!(at(globex, "bcdr-offsite-gb"), Some(dec("512.5")));
    // An appliance with no client name is its own account, named so it can be mapped.
    let spare = snap
        .accounts
        .iter()
        .find(|a| a.id == "bcdr-device:0A0B0C0D0E0F")
        .unwrap();
    assert!(spare.name.contains("has no client name"), "{}", spare.name);
    assert_eq!(snap.accounts.len(), 3, "{:?}", snap.accounts);
    // Devices paged from 1.
    let pages: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == DEVICES)
        .map(|r| query(r)["_page"].clone())
        .collect();
    assert_eq!(pages, ["1", "2"]);
}

/// The key pair can change SaaS seats: the connector must only read.
#[tokio::test]
async fn every_request_is_a_read() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let c = client(&server, fast_retry(3));
    c.check().await.unwrap();
    c.sync(&SyncCx::silent()).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() >= 8, "{}", requests.len());
    for r in &requests {
        let p = r.url.path().trim_start_matches('/');
        let known = READ_PATHS.iter().any(|pattern| {
            let (head, tail) = pattern.split_once("{}").unwrap_or((pattern, ""));
            p.starts_with(head)
                && p.ends_with(tail)
                && (tail.is_empty() || p.len() > head.len() + tail.len())
        });
        assert_eq!(r.method.as_str(), "GET", "{} {p}", r.method);
        assert!(known, "{p} is not one of the read paths");
        assert!(!p.contains("bulkSeatChange"), "{p}");
    }
}

#[tokio::test]
async fn a_customer_the_api_will_not_list_is_unreadable_and_the_rest_counts() {
    let server = MockServer::start().await;
    api("/v1/saas/31002/seats")
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_raw(fixture("datto_backup/not_found.json"), "application/json"),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let snap = vendor(
        client(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    let why = &snap.unreadable["saas:31002"];
    assert!(
        why.contains("its seats could not be listed (HTTP 404"),
        "{why}"
    );
    assert!(why.contains("Customer not found"), "{why}");
    let u = units(&snap);
    assert_eq!(
        u.get(&("saas:31001".into(), "saas-seats".into())),
        Some(&dec("3"))
    );
}

#[tokio::test]
async fn odd_offsite_units_leave_storage_unknown_never_zero() {
    let server = MockServer::start().await;
    let odd = fixture("datto_backup/devices_page2.json").replace("\"GB\"", "\"blocks\"");
    api(DEVICES)
        .and(query_param("_page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(odd, "application/json"))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let snap = vendor(
        client(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    let why = &snap.unreadable["saas:31002"];
    assert!(
        why.contains("offsite storage in units this version does not read"),
        "{why}"
    );
}

struct DattoBackupCase;

impl Case for DattoBackupCase {
    const CONNECTION: &'static str = "db";
    const SECRETS: &'static [&'static str] = &[SECRET];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("datto_backup/unauthorized.json"),
        says: &[
            "Admin > Integrations > API keys",
            "reconcile connect datto-backup --name db --public-key a1b2c3d4e5f60718",
        ],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("datto_backup/forbidden.json"),
        says: &["SaaS Protection or BCDR"],
        requests: 1,
    };
    const CUT_OFF: Option<&'static str> = Some("datto_backup/seats_truncated.json");

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(client(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(DOMAINS)
    }

    fn transient() -> Endpoint {
        Endpoint::get(DEVICES).with_query("_page", "2")
    }

    fn decoded() -> Endpoint {
        Endpoint::get("/v1/saas/31001/seats")
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            // Not the documented bare array.
            serde_json::json!({"items": [{"mainId": "x"}]}).to_string(),
            ".",
            "expected a JSON array",
        )
    }
}

contract_suite!(datto_backup_contract, DattoBackupCase);
