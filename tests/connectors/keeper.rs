//! Keeper: `msp-info --format json -v` through a server that answers like Commander's Service
//! Mode (`api-key` header, `{"status","command","data"}` envelope, 401/403/429/5xx) and through
//! a fake `keeper` executable; plan and add-on items, unlimited seats, unknown plans and add-ons.

use std::path::{Path, PathBuf};

use reconcile::connectors::KindSettings;
use reconcile::connectors::keeper::{
    ADDON, Keeper, MSP_INFO, Mode, PLAN, Settings, families, services,
};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{ServiceDef, VendorSnapshot};
use rust_decimal::Decimal;
use secrecy::SecretString;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, fixture, json, recording_cx, requests_to, vendor};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const KEY: &str = "ksm-service-key-do-not-print";
const EXECUTE: &str = "/api/v1/executecommand";

/// Service Mode at `url`; commander mode starts from these too.
fn service_settings(url: &str) -> Settings {
    Settings {
        mode: Mode::Service,
        url: Some(url.to_string()),
        executable: None,
        args: Vec::new(),
        timeout_secs: None,
    }
}

fn service(server: &MockServer, retry: RetryPolicy) -> Keeper {
    let secret = |f: &str| {
        assert_eq!(f, "api_key");
        Ok(SecretString::from(KEY))
    };
    Keeper::new("keeper", &service_settings(&server.uri()), &secret, retry)
        .expect("a loopback URL is accepted")
}

fn no_secret(f: &str) -> anyhow::Result<SecretString> {
    panic!("commander mode must not ask for a secret (asked for {f})")
}

fn commander(executable: &str, args: Vec<String>, timeout: u64) -> Keeper {
    let mut settings = service_settings("");
    settings.mode = Mode::Commander;
    settings.url = None;
    settings.executable = Some(executable.to_string());
    settings.args = args;
    settings.timeout_secs = Some(timeout);
    Keeper::new("keeper", &settings, &no_secret, fast_retry(1)).unwrap()
}

fn executes() -> Mock {
    Mock::given(method("POST"))
        .and(path(EXECUTE))
        .and(header("api-key", KEY))
        .and(body_json(serde_json::json!({ "command": MSP_INFO })))
        .respond_with(json("keeper/service-msp-info.json"))
}

fn total(def: &ServiceDef, snap: &VendorSnapshot, account: Option<&str>) -> Decimal {
    snap.items
        .iter()
        .filter(|i| account.is_none_or(|a| i.account_id == a))
        .map(|i| def.weight(i))
        .sum()
}

fn service_def(key: &str) -> ServiceDef {
    services().into_iter().find(|s| s.key == key).unwrap()
}

/// Everything the fixture holds, checked the same way for both routes.
fn assert_fixture_snapshot(snap: &VendorSnapshot) {
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Acme Dental Group",
            "Northwind Traders",
            "Contoso Legal",
            "Fabrikam Inc"
        ]
    );
    assert_eq!(snap.accounts[0].id, "3862");
    let plans = snap.items.iter().filter(|i| i.class == PLAN).count();
    let addons = snap.items.iter().filter(|i| i.class == ADDON).count();
    assert_eq!((plans, addons), (4, 6));

    // 25 + 42 (Northwind is unlimited: its 42 active users) + 10 + 5.
    assert_eq!(total(&service_def("seats"), snap, None), dec("82"));
    assert_eq!(total(&service_def("active-users"), snap, None), dec("73"));
    assert_eq!(
        total(&service_def("managed-companies"), snap, None),
        dec("4")
    );

    let north = snap.items.iter().find(|i| i.id == "3901:plan").unwrap();
    assert_eq!(north.attrs["seats_unlimited"], "true");
    assert_eq!(north.attrs["allocated"], "unlimited");
    assert_eq!(north.attrs["seats"], "42");
    assert!(
        snap.items
            .iter()
            .all(|i| !i.attrs.values().any(|v| v == "2147483647" || v == "-1"))
    );

    // The unknown plan is kept as sent and gets its own family service.
    let fab = snap.items.iter().find(|i| i.id == "4102:plan").unwrap();
    assert_eq!(fab.attrs["plan"], "businessStarterPlus");
    assert_eq!(fab.attrs["unknown_plan"], "true");

    let plan_keys: Vec<String> = families()[0]
        .expand(&snap.items)
        .into_iter()
        .map(|s| s.key)
        .collect();
    assert_eq!(
        plan_keys,
        [
            "business:seats",
            "businessplus:seats",
            "businessstarterplus:seats",
            "enterprise:seats"
        ]
    );
    let addon_services = families()[1].expand(&snap.items);
    let addon_keys: Vec<&str> = addon_services.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        addon_keys,
        [
            "chat:addon",
            "connection_manager:addon",
            "enterprise_audit_and_reporting:addon",
            "enterprise_breach_watch:addon",
            "privileged_access_manager:addon",
            "quantum_vault:addon"
        ]
    );
    let seats_of = |key: &str, acct: &str| {
        let def = addon_services.iter().find(|s| s.key == key).unwrap();
        total(def, snap, Some(acct))
    };
    // Own seats for KCM and PAM; company-wide add-ons count the plan's seats.
    assert_eq!(seats_of("connection_manager:addon", "3862"), dec("5"));
    assert_eq!(seats_of("enterprise_breach_watch:addon", "3862"), dec("25"));
    assert_eq!(
        seats_of("privileged_access_manager:addon", "4017"),
        dec("3")
    );
    assert_eq!(seats_of("chat:addon", "4017"), dec("10"));
    assert_eq!(seats_of("quantum_vault:addon", "4102"), dec("5"));
    let unknown = snap
        .items
        .iter()
        .find(|i| i.id == "4102:addon:quantum_vault")
        .unwrap();
    assert_eq!(unknown.attrs["unknown_addon"], "true");
}

#[tokio::test]
async fn service_mode_reads_managed_companies() {
    let server = MockServer::start().await;
    executes().expect(1).mount(&server).await;
    let (cx, progress) = recording_cx();
    let snap = vendor(service(&server, fast_retry(3)).sync(&cx).await.unwrap());
    assert_fixture_snapshot(&snap);
    assert_eq!(
        progress.lock().unwrap().as_slice(),
        [("managed companies".to_string(), 4)]
    );
}

#[tokio::test]
async fn odd_values_are_unknown_for_their_company_and_never_fail_the_sync() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(EXECUTE))
        .respond_with(json("keeper/service-msp-info-odd.json"))
        .mount(&server)
        .await;
    let snap = vendor(
        service(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("odd values never fail the sync"),
    );
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["company 4100", "Globex Logistics", "Initech", "Hooli"],
        "a null name falls back to the id; the company without an id is not an account"
    );
    // Extra fields and an unknown add-on are read; a null name and storage are unknown.
    let plan = snap.items.iter().find(|i| i.id == "4100:plan").unwrap();
    assert_eq!(plan.attrs["seats"], "12");
    assert!(!plan.attrs.contains_key("odd_fields"), "{:?}", plan.attrs);
    let seats = service_def("seats");
    assert_eq!(total(&seats, &snap, Some("4100")), dec("12"));
    // A seat count that is no number, a plan that is no text: the company is unreadable,
    // never 0 seats or "no plan".
    assert_eq!(
        snap.unreadable.get("4101").map(String::as_str),
        Some(
            "Globex Logistics has no readable `allocated` in `msp-info`, so its seats are unknown"
        )
    );
    assert_eq!(
        snap.unreadable.get("4102").map(String::as_str),
        Some("Initech has no readable `plan` in `msp-info`, so its seats are unknown")
    );
    let globex = snap.items.iter().find(|i| i.id == "4101:plan").unwrap();
    assert_eq!(globex.attrs["odd_fields"], "allocated");
    // A null `active` is what Commander leaves out: absent, not odd, so Hooli is readable.
    assert!(
        !snap.unreadable.contains_key("4104"),
        "{:?}",
        snap.unreadable
    );
    assert_eq!(snap.unreadable.len(), 2);
    // The company without an id is set aside, named by place and reason.
    let note = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert_eq!(
        note,
        "1 record set aside, not attributable to an account: POST /api/v1/executecommand data[3]: missing field `company_id`"
    );
}

#[tokio::test]
async fn service_url_may_carry_the_api_prefix_and_check_counts_companies() {
    let server = MockServer::start().await;
    executes().mount(&server).await;
    let secret = |_: &str| Ok(SecretString::from(KEY));
    let k = Keeper::new(
        "keeper",
        &service_settings(&format!("{}/api/v1/", server.uri())),
        &secret,
        fast_retry(1),
    )
    .unwrap();
    let msg = k.check().await.unwrap();
    assert!(msg.contains("4 managed companies are readable"), "{msg}");
    assert!(msg.contains("Service Mode"), "{msg}");
}

#[tokio::test]
async fn no_managed_companies_is_an_empty_snapshot() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(EXECUTE))
        .respond_with(json("keeper/service-no-companies.json"))
        .mount(&server)
        .await;
    let snap = vendor(
        service(&server, fast_retry(1))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    assert!(snap.accounts.is_empty() && snap.items.is_empty());
}

#[tokio::test]
async fn an_answer_that_is_not_a_list_of_companies_is_named() {
    // Encrypted or text answers (a service made with an encryption key) are not an array.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(EXECUTE))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"status":"success","command":"msp-info","data":"Invalid JSON response"}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let err = service(&server, fast_retry(1))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Decode { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("expected the managed companies as a JSON array"),
        "{err}"
    );
}

#[tokio::test]
async fn commander_errors_are_reported_with_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(EXECUTE))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            fixture("keeper/service-400-not-admin.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let msg = service(&server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("only available for Administrators of Keeper"),
        "{msg}"
    );
    assert!(msg.contains("logged in as an MSP administrator"), "{msg}");
    assert_eq!(
        requests_to(&server, EXECUTE).await.len(),
        1,
        "a 400 is not retried"
    );
}

// ---- commander mode: a fake `keeper` ----

/// Writes a shell script standing in for `keeper`; run through `/bin/sh` so no test executes a
/// file another thread may still hold open for writing.
fn fake_keeper(dir: &Path, body: &str) -> PathBuf {
    let script = dir.join("keeper.sh");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    script
}

fn via_sh(script: &Path, extra: &[&str]) -> Keeper {
    let mut args = vec![script.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    commander("/bin/sh", args, 10)
}

#[tokio::test]
async fn commander_mode_runs_keeper_and_reads_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("msp-info.json");
    std::fs::write(&out, fixture("keeper/msp-info.json")).unwrap();
    let argv = dir.path().join("argv");
    let script = fake_keeper(
        dir.path(),
        &format!(
            "printf '%s\\n' \"$@\" > '{}'\necho 'Logging in to Keeper Commander' >&2\ncat '{}'",
            argv.display(),
            out.display()
        ),
    );
    let k = via_sh(&script, &["--config", "/etc/keeper/config.json"]);
    let snap = vendor(k.sync(&SyncCx::silent()).await.unwrap());
    assert_fixture_snapshot(&snap);
    let args = std::fs::read_to_string(&argv).unwrap();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "--config",
            "/etc/keeper/config.json",
            "msp-info",
            "--format",
            "json",
            "-v"
        ]
    );
    let msg = k.check().await.unwrap();
    assert!(msg.contains("4 managed companies"), "{msg}");
}

#[tokio::test]
async fn commander_failure_names_the_command_and_keeper_login() {
    let dir = tempfile::tempdir().unwrap();
    let script = fake_keeper(dir.path(), "echo 'Not logged in' >&2\nexit 1");
    let msg = via_sh(&script, &[])
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("msp-info --format json -v"), "{msg}");
    assert!(msg.contains("exited with status 1"), "{msg}");
    assert!(msg.contains("Not logged in"), "{msg}");
    assert!(msg.contains("keeper login"), "{msg}");
    assert!(msg.contains("persistent-login"), "{msg}");
}

#[tokio::test]
async fn commander_text_output_is_not_taken_for_data() {
    let dir = tempfile::tempdir().unwrap();
    let script = fake_keeper(dir.path(), "echo 'Enter password for msp@example.com'");
    let msg = via_sh(&script, &[])
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("did not print JSON"), "{msg}");
    assert!(msg.contains("Enter password"), "{msg}");
    assert!(msg.contains("keeper login"), "{msg}");

    let script = fake_keeper(dir.path(), "echo 'No Managed Companies' >&2");
    let snap = vendor(via_sh(&script, &[]).sync(&SyncCx::silent()).await.unwrap());
    assert!(snap.accounts.is_empty());

    let script = fake_keeper(dir.path(), "true");
    let msg = via_sh(&script, &[])
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("printed nothing"), "{msg}");
}

#[tokio::test]
async fn commander_is_stopped_after_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let script = fake_keeper(dir.path(), "sleep 30");
    let k = commander("/bin/sh", vec![script.display().to_string()], 1);
    let started = std::time::Instant::now();
    let msg = k.sync(&SyncCx::silent()).await.unwrap_err().to_string();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(msg.contains("did not finish within 1s"), "{msg}");
    assert!(msg.contains("persistent-login"), "{msg}");
}

#[tokio::test]
async fn missing_executable_says_how_to_install() {
    let k = commander("/nonexistent/keeper", Vec::new(), 5);
    let msg = k.sync(&SyncCx::silent()).await.unwrap_err().to_string();
    assert!(msg.contains("no such executable"), "{msg}");
    assert!(msg.contains("pip install keepercommander"), "{msg}");
}

#[test]
fn settings_are_checked_per_mode() {
    let mut s = service_settings("http://example.com");
    assert!(
        s.validate("k")
            .unwrap_err()
            .to_string()
            .contains("only https")
    );
    s.url = None;
    assert!(
        s.validate("k")
            .unwrap_err()
            .to_string()
            .contains("needs `url`")
    );
    s.url = Some("https://keeper.example.com:8900".into());
    s.executable = Some("keeper".into());
    assert!(
        s.validate("k")
            .unwrap_err()
            .to_string()
            .contains("`executable`")
    );
    let mut c = service_settings("https://x");
    c.mode = Mode::Commander;
    assert!(
        c.validate("k")
            .unwrap_err()
            .to_string()
            .contains("`url` is for")
    );
}

/// The shared HTTP contract of Service Mode, whose one endpoint runs `msp-info`.
struct KeeperCase;

impl Case for KeeperCase {
    const CONNECTION: &'static str = "keeper";
    const SECRETS: &'static [&'static str] = &[KEY];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("keeper/service-401.json"),
        says: &[
            "Please provide a valid api key",
            "persistent login",
            "reconcile connect keeper --name keeper",
        ],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("keeper/service-403.json"),
        says: &[
            "Not permitted to perform this function",
            "does not allow `msp-info`",
            "service-create -c",
        ],
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(service(server, retry))
    }

    async fn mount(server: &MockServer) {
        executes().mount(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::post(EXECUTE)
    }

    fn wrong_shape() -> WrongShape {
        // One odd company is unknown, not a failed sync: only a `data` that is no list is.
        WrongShape::new(
            r#"{"status":"success","command":"msp-info","data":{"company_id":1,"company_name":"A"}}"#,
            "data",
            "expected the managed companies as a JSON array",
        )
    }
}

contract_suite!(keeper_contract, KeeperCase);
