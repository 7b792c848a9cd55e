//! Tigerpaw: `Authorization: TSI <token>` (or a token made of the rep's key pair), the account
//! search paged by `StartRow`/`NextRow`, each account's active agreements and their additional
//! charges (whole units, one-time charges marked), `Success: false` on a 200, tolerant reading of
//! spec-valid oddities, and the shared contract suite.

use std::collections::BTreeMap;

use reconcile::connectors::tigerpaw::{Settings, Tigerpaw, pair_token};
use reconcile::connectors::{Connector, KindSettings, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::{BillCustomer, PsaSnapshot, Snapshot};
use secrecy::{ExposeSecret, SecretString};
use wiremock::matchers::{body_partial_json, header, method, path, path_regex};
use wiremock::{Mock, MockBuilder, MockServer};

use crate::common::{dec, fast_retry, json, psa, requests_to};
use crate::kit::{Case, Endpoint, Refusal, WrongShape, contract_suite};

const TOKEN: &str = "dGlnZXJwYXctcHVibGljOnRpZ2VycGF3LXByaXZhdGUtc2VjcmV0";
const AUTH: &str = "TSI dGlnZXJwYXctcHVibGljOnRpZ2VycGF3LXByaXZhdGUtc2VjcmV0";
const SEARCH: &str = "/api/accounts/search";

fn settings(server: &MockServer) -> Settings {
    toml::from_str(&format!("url = \"{}\"\n", server.uri())).unwrap()
}

fn tigerpaw(server: &MockServer, retry: RetryPolicy) -> Tigerpaw {
    Tigerpaw::with_token("tp", &settings(server), SecretString::from(TOKEN), retry).unwrap()
}

fn authed(m: &str, at: &str) -> MockBuilder {
    Mock::given(method(m))
        .and(path(at))
        .and(header("authorization", AUTH))
}

async fn mount_with(server: &MockServer, odd: bool) {
    // Accounts with no agreements of their own answer an empty list (Agreements: null).
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/agreements/account/\d+/true$"))
        .respond_with(json("tigerpaw/agreements_none.json"))
        .with_priority(10)
        .mount(server)
        .await;
    if odd {
        authed("POST", SEARCH)
            .respond_with(json("tigerpaw/odd_accounts.json"))
            .mount(server)
            .await;
        authed("GET", "/api/agreements/account/2147483647/true")
            .respond_with(json("tigerpaw/odd_agreements.json"))
            .mount(server)
            .await;
        authed("GET", "/api/agreements/601/additionalcharges")
            .respond_with(json("tigerpaw/odd_charges.json"))
            .mount(server)
            .await;
        return;
    }
    authed("POST", SEARCH)
        .and(body_partial_json(serde_json::json!({"StartRow": 4})))
        .respond_with(json("tigerpaw/accounts_p2.json"))
        .with_priority(1)
        .mount(server)
        .await;
    authed("POST", SEARCH)
        .respond_with(json("tigerpaw/accounts_p1.json"))
        .with_priority(2)
        .mount(server)
        .await;
    for a in ["1001", "1002"] {
        authed("GET", &format!("/api/agreements/account/{a}/true"))
            .respond_with(json(&format!("tigerpaw/agreements_{a}.json")))
            .mount(server)
            .await;
    }
    for n in ["501", "502"] {
        authed("GET", &format!("/api/agreements/{n}/additionalcharges"))
            .respond_with(json(&format!("tigerpaw/charges_{n}.json")))
            .mount(server)
            .await;
    }
}

async fn full_sync(server: &MockServer, odd: bool) -> PsaSnapshot {
    mount_with(server, odd).await;
    psa(tigerpaw(server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .expect("sync succeeds"))
}

#[tokio::test]
async fn sync_reads_the_additional_charges_of_every_accounts_active_agreements() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, false).await;

    // Every account: the search asks for account numbers above 0, 100 a page, and the second
    // page from the first one's NextRow.
    let searches = requests_to(&server, SEARCH).await;
    assert_eq!(searches.len(), 2);
    let first: serde_json::Value = serde_json::from_slice(&searches[0].body).unwrap();
    assert_eq!(first["PageSize"], 100);
    assert_eq!(first["Criteria"][0]["SearchType"], "AccountNumber");
    assert_eq!(first["Criteria"][0]["MatchType"], "GreaterThan");
    let second: serde_json::Value = serde_json::from_slice(&searches[1].body).unwrap();
    assert_eq!(second["StartRow"], 4);
    assert_eq!(snap.companies.len(), 5);
    let company = |id: &str| snap.companies.iter().find(|c| c.id == id).unwrap();
    assert!(company("1001").billable && company("1002").billable);
    assert!(
        company("1003")
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("`Prospect`")
    );
    assert!(
        company("1004")
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("`Inactive`")
    );
    assert_eq!(
        company("1005").not_billable_reason.as_deref(),
        Some("a vendor in Tigerpaw")
    );
    // Each account's active agreements, then each agreement's charges.
    for a in ["1001", "1002", "1003", "1004", "1005"] {
        let at = format!("/api/agreements/account/{a}/true");
        assert_eq!(requests_to(&server, &at).await.len(), 1, "{at}");
    }

    assert!(snap.whole_units, "Tigerpaw bills whole units");
    assert_eq!(
        snap.lines.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        ["1", "2", "3", "4"]
    );
    let ws = &snap.lines[0];
    assert_eq!(ws.quantity, dec("22"));
    assert_eq!(ws.unit_price, dec("35"));
    assert_eq!(ws.unit_cost, dec("0"), "a charge carries no cost");
    assert_eq!(ws.product_identifier, "MANAGED-WS");
    assert_eq!(
        (ws.company_id.as_str(), ws.agreement_id.as_str()),
        ("1001", "501")
    );
    assert_eq!(
        snap.lines[2].bill_customer,
        BillCustomer::Other("DeleteAfterInvoicing".into())
    );
    assert_eq!(snap.lines[3].unit_price, dec("26.4"));
    let agreement = |id: &str| snap.agreements.iter().find(|a| a.id == id).unwrap();
    assert_eq!(agreement("501").billing_cycle.as_deref(), Some("Monthly"));
    assert_eq!(agreement("502").billing_cycle.as_deref(), Some("Quarterly"));
    assert_eq!(
        snap.meta["one-time charges (delete after invoicing), not counted"],
        "1"
    );
    assert!(snap.meta["api requests this sync"].contains("120 a minute"));
    assert!(snap.unreadable.is_empty(), "{:?}", snap.unreadable);
}

#[tokio::test]
async fn spec_valid_oddities_sync_and_what_decides_a_count_is_never_guessed() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, true).await;
    assert!(
        snap.unreadable["2001"].contains("account.status"),
        "{:?}",
        snap.unreadable
    );
    assert!(
        snap.set_aside
            .iter()
            .any(|s| s.contains("POST /api/accounts/search")),
        "{:?}",
        snap.set_aside
    );
    let bare = snap.companies.iter().find(|c| c.id == "2002").unwrap();
    assert_eq!(bare.name, "Account #2002");
    assert!(!bare.billable);
    // A quantity that is not a number: the account's billing is unreadable, never 0.
    assert!(
        snap.unreadable["2147483647"].contains("`Quantity`"),
        "{:?}",
        snap.unreadable
    );
    // A charge without its item is known by its description; a null price is 0.
    let l = snap.lines.iter().find(|l| l.id == "12").unwrap();
    assert_eq!(l.product_identifier, "Backup seats");
    assert_eq!(l.quantity, dec("3"));
    assert!(
        snap.set_aside
            .iter()
            .any(|s| s.contains("/api/agreements/601/additionalcharges")),
        "{:?}",
        snap.set_aside
    );
    assert_eq!(
        snap.meta["billing periods kept as sent"],
        "Every 2 weeks-ish"
    );
}

#[tokio::test]
async fn success_false_on_a_200_is_an_error_with_the_message() {
    let server = MockServer::start().await;
    authed("POST", SEARCH)
        .respond_with(json("tigerpaw/success_false.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let err = tigerpaw(&server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("connection `tp`"), "{err}");
    assert!(err.contains("POST /api/accounts/search"), "{err}");
    assert!(
        err.contains("The rep does not have permission to search accounts."),
        "{err}"
    );
}

#[test]
fn a_key_pair_makes_the_token_tigerpaws_sample_has() {
    let token = pair_token(
        &SecretString::from(" tigerpaw-public "),
        &SecretString::from("tigerpaw-private-secret\n"),
    );
    assert_eq!(token.expose_secret(), TOKEN);
    let s: Settings = toml::from_str("url = \"https://api.example-msp.com\"\n").unwrap();
    assert!(s.validate("tp").is_ok());
    assert_eq!(s.billable_types, ["Customer"]);
    let plain: Settings = toml::from_str("url = \"http://api.example-msp.com\"\n").unwrap();
    assert!(plain.validate("tp").is_err(), "plain http only on loopback");
}

struct TigerpawCase;

impl Case for TigerpawCase {
    const CONNECTION: &'static str = "tp";
    const SECRETS: &'static [&'static str] = &[TOKEN];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("tigerpaw/forbidden.json"),
        says: &[
            "Tigerpaw refused the token",
            "--key-pair",
            "reconcile connect tigerpaw --name tp",
        ],
        requests: 1,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("tigerpaw/forbidden.json"),
        says: &["security role", "read access to accounts and agreements"],
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(tigerpaw(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_with(server, false).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::post(SEARCH)
    }

    fn transient() -> Endpoint {
        Endpoint::get("/api/agreements/account/1002/true")
    }

    fn decoded() -> Endpoint {
        Endpoint::get("/api/agreements/501/additionalcharges")
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            serde_json::json!({"DetailId": 1, "Quantity": 3}).to_string(),
            ".",
            "expected a JSON array",
        )
    }

    fn measure(snap: &Snapshot) -> BTreeMap<String, usize> {
        snap.counts()
    }
}

contract_suite!(tigerpaw_contract, TigerpawCase);
