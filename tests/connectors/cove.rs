//! N-able Cove: `Login` answers a visa, every call carries the latest one and gets a new one,
//! calls serial; end customers are accounts and a site rolls up to its customer; devices by
//! kind and used storage; an expired visa gets one new login; a refused login names what to
//! check; an unreadable storage value is unknown, never 0; only the three read methods are
//! ever called.

use std::collections::HashMap;

use reconcile::connectors::cove::{Cove, METHODS, Settings, families, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::VendorSnapshot;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer};

use crate::common::{dec, fast_retry, json, units_by_account, vendor};

const PASSWORD: &str = "cove-api-password-do-not-print";
const PARTNER: &str = "Bluewave MSP (ops@bluewave.example)";
const ACME: &str = "4100010";
const GLOBEX: &str = "4100020";

fn cove(server: &MockServer, retry: RetryPolicy) -> Cove {
    let settings = Settings {
        partner: PARTNER.into(),
        username: "api-reconcile".into(),
        url: Some(server.uri()),
    };
    let secret = |f: &str| -> anyhow::Result<SecretString> {
        match f {
            "password" => Ok(SecretString::from(PASSWORD)),
            other => anyhow::bail!("unexpected secret {other}"),
        }
    };
    Cove::new("cv", &settings, &secret, retry).unwrap()
}

async fn on(server: &MockServer, body: Value, rel: &str) {
    Mock::given(method("POST"))
        .and(path("/jsonapi"))
        .and(body_partial_json(body))
        .respond_with(json(&format!("cove/{rel}")))
        .mount(server)
        .await;
}

async fn mount_everything(server: &MockServer) {
    on(
        server,
        json!({"method": "Login", "params": {"partner": PARTNER, "username": "api-reconcile", "password": PASSWORD}}),
        "login.json",
    )
    .await;
    on(
        server,
        json!({"method": "EnumeratePartners", "visa": "visa-0001", "params": {"parentPartnerId": 4100000}}),
        "partners.json",
    )
    .await;
    on(
        server,
        json!({"method": "EnumerateAccountStatistics", "visa": "visa-0002", "params": {"query": {"PartnerId": 4100000, "StartRecordNumber": 0}}}),
        "devices.json",
    )
    .await;
}

fn units(snap: &VendorSnapshot) -> HashMap<(String, String), Decimal> {
    units_by_account(services(), &families(), snap)
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn sync_chains_the_visa_and_counts_devices_per_customer() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let snap = vendor(
        cove(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    // Each call carried the visa the previous answer brought (the mocks match on it).
    let visas: Vec<Option<String>> = bodies(&server)
        .await
        .iter()
        .map(|b| b.get("visa").and_then(Value::as_str).map(str::to_string))
        .collect();
    assert_eq!(
        visas,
        [None, Some("visa-0001".into()), Some("visa-0002".into())]
    );
    let u = units(&snap);
    let at = |a: &str, k: &str| u.get(&(a.to_string(), k.to_string())).copied();
    // The branch site's workstation is Acme's.
    assert_eq!(at(ACME, "servers"), Some(dec("1")));
    assert_eq!(at(ACME, "workstations"), Some(dec("1")));
    assert_eq!(at(ACME, "virtual"), Some(dec("1")));
    assert_eq!(at(ACME, "devices"), Some(dec("3")));
    // 200 + 40 + 120 GB.
    assert_eq!(at(ACME, "storage-gb"), Some(dec("360")));
    assert_eq!(at(ACME, "server:product"), Some(dec("2")));
    // Globex's storage is unreadable: its counts are unknown, never 0.
    assert!(
        snap.unreadable[GLOBEX].contains("not a number"),
        "{:?}",
        snap.unreadable
    );
    // A device of a partner the list did not return is kept under that partner.
    assert!(snap.accounts.iter().any(|a| a.id == "4100099"));
    // The partner without an id is set aside and named.
    assert_eq!(snap.set_aside.len(), 1, "{:?}", snap.set_aside);
    assert!(
        snap.set_aside[0].starts_with("EnumeratePartners"),
        "{:?}",
        snap.set_aside
    );
}

#[tokio::test]
async fn only_the_three_read_methods_are_ever_called() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let c = cove(&server, fast_retry(3));
    c.sync(&SyncCx::silent()).await.unwrap();
    for b in bodies(&server).await {
        let m = b["method"].as_str().unwrap().to_string();
        assert!(METHODS.contains(&m.as_str()), "called {m}");
    }
}

#[tokio::test]
async fn an_expired_visa_gets_one_new_login() {
    let server = MockServer::start().await;
    // The first partners call is refused for its visa; the second login's visa is taken.
    Mock::given(method("POST"))
        .and(path("/jsonapi"))
        .and(body_partial_json(json!({"method": "EnumeratePartners"})))
        .respond_with(json("cove/visa_expired.json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let snap = vendor(
        cove(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    assert_eq!(snap.items.len(), 5);
    let methods: Vec<String> = bodies(&server)
        .await
        .iter()
        .map(|b| b["method"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        methods,
        [
            "Login",
            "EnumeratePartners",
            "Login",
            "EnumeratePartners",
            "EnumerateAccountStatistics"
        ]
    );
}

#[tokio::test]
async fn a_refused_login_names_what_to_check_and_no_secret() {
    let server = MockServer::start().await;
    on(&server, json!({"method": "Login"}), "login_refused.json").await;
    let err = cove(&server, fast_retry(3)).check().await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let msg = err.to_string();
    for want in [
        "connection `cv`",
        "wrong partner, user name or password",
        "exactly as shown in the Management Console",
        "reconcile connect cove --name cv",
    ] {
        assert!(msg.contains(want), "{want}: {msg}");
    }
    assert!(!msg.contains(PASSWORD) && !format!("{err:?}").contains(PASSWORD));
}

#[tokio::test]
async fn a_cut_off_answer_is_malformed_and_a_5xx_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/jsonapi"))
        .and(body_partial_json(
            json!({"method": "EnumerateAccountStatistics"}),
        ))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let snap = vendor(
        cove(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    assert_eq!(snap.items.len(), 5);

    let server = MockServer::start().await;
    on(&server, json!({"method": "Login"}), "login.json").await;
    on(
        &server,
        json!({"method": "EnumeratePartners"}),
        "partners.json",
    )
    .await;
    on(
        &server,
        json!({"method": "EnumerateAccountStatistics"}),
        "devices_truncated.json",
    )
    .await;
    let err = cove(&server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ends too early"), "{err}");
}
