//! The BMS family (Kaseya BMS; Pulseway PSA and CloudBlue PSA share the client): the form login
//! and its bearer token, the `{success, error, result}` envelope in either case (a PascalCase
//! fixture as the spec writes it), `PageNumber` paging to `totalRecords`, billing read from each
//! contract's last invoice, billable accounts by type, tolerant reading of spec-valid oddities,
//! `success: false` on a 200, hosts per family member, and the shared contract suite.

use std::collections::BTreeMap;

use reconcile::connectors::bms_api::Region;
use reconcile::connectors::cloudblue::Settings as CloudBlueSettings;
use reconcile::connectors::kaseya_bms::{KaseyaBmsApi, Settings};
use reconcile::connectors::pulseway::Settings as PulsewaySettings;
use reconcile::connectors::{Connector, KindSettings, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::{PsaSnapshot, Snapshot};
use secrecy::SecretString;
use wiremock::matchers::{bearer_token, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, json, psa, requests_to};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const PASSWORD: &str = "s3cret-bms-Pa55";
const TOKEN: &str = "bms-access-1";
const LOGIN: &str = "/v2/security/authenticate";
const USERINFO: &str = "/v2/security/userinfo";
const ACCOUNTS: &str = "/v2/crm/accounts/summary";
const SERVICES: &str = "/v2/admin/finance/services/search";
const CONTRACTS: &str = "/v2/finance/contracts/summary";
const INVOICES: &str = "/v2/finance/invoices/summary";
const LINES: &str = "/v2/finance/invoices/details";

fn settings(server: &MockServer) -> Settings {
    toml::from_str(&format!(
        "url = \"{}\"\nuser = \"api.reconcile\"\ntenant = \"Acme MSP\"\n",
        server.uri()
    ))
    .unwrap()
}

fn bms(server: &MockServer, retry: RetryPolicy) -> KaseyaBmsApi {
    KaseyaBmsApi::with_password(
        "bms",
        &settings(server),
        SecretString::from(PASSWORD),
        retry,
    )
    .unwrap()
}

fn get(at: &str) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(at))
        .and(bearer_token(TOKEN))
}

fn post(at: &str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(at))
        .and(bearer_token(TOKEN))
}

/// The login, userinfo and every list, from `rel(name)` fixtures.
async fn mount_with(server: &MockServer, odd: bool) {
    let f = |name: &str| {
        if odd {
            format!("kaseya_bms/odd_{name}.json")
        } else {
            format!("kaseya_bms/{name}_p1.json")
        }
    };
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(json("kaseya_bms/authenticate.json"))
        .mount(server)
        .await;
    get(USERINFO)
        .respond_with(json("kaseya_bms/userinfo.json"))
        .mount(server)
        .await;
    if odd {
        get(ACCOUNTS)
            .respond_with(json(&f("accounts")))
            .mount(server)
            .await;
    } else {
        for page in ["1", "2"] {
            get(ACCOUNTS)
                .and(query_param("PageNumber", page))
                .respond_with(json(&format!("kaseya_bms/accounts_p{page}.json")))
                .mount(server)
                .await;
        }
    }
    // Lists whose oddities have no fixture of their own answer as in the clean case.
    post(SERVICES)
        .respond_with(json("kaseya_bms/services_p1.json"))
        .mount(server)
        .await;
    get(CONTRACTS)
        .respond_with(json(&f("contracts")))
        .mount(server)
        .await;
    get(INVOICES)
        .respond_with(json(&f("invoices")))
        .mount(server)
        .await;
    post(LINES)
        .respond_with(json(&f("invoice_lines")))
        .mount(server)
        .await;
}

async fn full_sync(server: &MockServer, odd: bool) -> PsaSnapshot {
    mount_with(server, odd).await;
    psa(bms(server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .expect("sync succeeds"))
}

#[tokio::test]
async fn sync_logs_in_once_and_bills_each_contract_from_its_last_invoice() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, false).await;

    // One login for the whole sync: the form the family documents.
    let logins = requests_to(&server, LOGIN).await;
    assert_eq!(logins.len(), 1);
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&logins[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["grantType"], "password");
    assert_eq!(form["userName"], "api.reconcile");
    assert_eq!(form["password"], PASSWORD);
    assert_eq!(form["tenant"], "Acme MSP");

    // Accounts over two pages, to the stated total; billable by type and active flag.
    assert_eq!(requests_to(&server, ACCOUNTS).await.len(), 2);
    assert_eq!(snap.companies.len(), 5);
    let company = |id: &str| snap.companies.iter().find(|c| c.id == id).unwrap();
    assert!(company("101").billable && company("105").billable);
    assert!(
        company("103")
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("account type `Prospect`")
    );
    assert_eq!(
        company("104").not_billable_reason.as_deref(),
        Some("inactive in Kaseya BMS")
    );

    // The invoice lines asked for by invoice date, paged in the body.
    let lines_req = &requests_to(&server, LINES).await[0];
    let body: serde_json::Value = serde_json::from_slice(&lines_req.body).unwrap();
    assert_eq!(body["PageNumber"], 1);
    assert!(body["Filter"]["InvoiceDateFrom"].as_str().unwrap().len() >= 19);
    let invoices_req = &requests_to(&server, INVOICES).await[0];
    assert!(
        invoices_req
            .url
            .query()
            .unwrap()
            .contains("Filter.CreatedFrom=")
    );

    // Each contract's last invoice: Acme's November one (not October's 20), Beacon's September
    // one; the void invoice and the labour line are not billing; a line of an invoice the list
    // did not give is set aside, named.
    let line = |id: &str| snap.lines.iter().find(|l| l.id == id);
    assert_eq!(
        snap.lines.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        ["3", "4", "6", "8"]
    );
    let ws = line("3").unwrap();
    assert_eq!(ws.quantity, dec("22"));
    assert_eq!(ws.unit_price, dec("35"));
    // No cost on invoices: the catalogue's, read from a PascalCase answer.
    assert_eq!(ws.unit_cost, dec("9.5"));
    assert_eq!(ws.product_id.as_deref(), Some("55"));
    assert_eq!(ws.product_identifier, "Managed Workstation");
    assert_eq!(ws.company_id, "101");
    assert_eq!(
        ws.invoiced.as_deref(),
        Some("invoice INV-9002 of 2026-11-01")
    );
    assert_eq!(
        line("6").unwrap().invoiced.as_deref(),
        Some("invoice INV-9003 of 2026-09-01")
    );
    assert_eq!(snap.products.len(), 3);
    assert_eq!(snap.set_aside.len(), 1, "{:?}", snap.set_aside);
    assert!(
        snap.set_aside[0].contains("invoice 9777"),
        "{:?}",
        snap.set_aside
    );

    // Agreements are the contracts: cycle, status and dates from the contract summary.
    let agreement = |id: &str| snap.agreements.iter().find(|a| a.id == id).unwrap();
    assert_eq!(agreement("812").billing_cycle.as_deref(), Some("Monthly"));
    assert_eq!(agreement("812").end, None, "0001-01-01 is no end date");
    assert_eq!(agreement("813").billing_cycle.as_deref(), Some("Quarterly"));
    assert_eq!(agreement("814").status, "Inactive");
    assert!(!agreement("814").is_active_at(jiff::Timestamp::now()));

    assert!(snap.meta["billed quantities"].contains("last invoice"));
    assert!(
        snap.meta["billed quantities"].contains("3 invoice(s) dated 2026-09-01 to 2026-11-01"),
        "{}",
        snap.meta["billed quantities"]
    );
    assert_eq!(snap.meta["void invoices left out"], "1");
    assert_eq!(
        snap.meta["invoice lines on no contract (not recurring, not read)"],
        "1"
    );
    assert!(snap.meta["api requests this sync"].contains("1500 an hour per endpoint"));
    assert!(snap.unreadable.is_empty(), "{:?}", snap.unreadable);
}

#[tokio::test]
async fn spec_valid_oddities_sync_and_what_decides_a_count_is_never_guessed() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, true).await;
    // An account without its id is set aside; one whose `isActive` is odd bills unknown.
    assert!(
        snap.set_aside
            .iter()
            .any(|s| s.contains("GET /v2/crm/accounts/summary") && s.contains("id")),
        "{:?}",
        snap.set_aside
    );
    assert!(
        snap.unreadable["201"].contains("isActive"),
        "{:?}",
        snap.unreadable
    );
    // Nulls read as unknown: a name, a type (not billable while types decide).
    let nameless = snap.companies.iter().find(|c| c.id == "202").unwrap();
    assert_eq!(nameless.name, "Account #202");
    assert!(!nameless.billable);
    // The int32 end of the ids reads.
    assert!(snap.companies.iter().any(|c| c.id == "2147483647"));
    // A line whose contract is unreadable makes its account unreadable, not "no contract".
    assert!(
        snap.unreadable["2147483647"].contains("contractId"),
        "{:?}",
        snap.unreadable
    );
    // An invoice without its account and a line without its invoice are set aside.
    assert!(
        snap.set_aside.iter().any(|s| s.contains("accountId")),
        "{:?}",
        snap.set_aside
    );
    assert!(
        snap.set_aside.iter().any(|s| s.contains("invoiceId")),
        "{:?}",
        snap.set_aside
    );
    // A nameless line on an undated invoice still bills, named by its id.
    let l = snap.lines.iter().find(|l| l.id == "33").unwrap();
    assert_eq!(l.product_identifier, "line #33");
    assert_eq!(l.quantity, dec("3"));
    assert_eq!(l.invoiced.as_deref(), Some("invoice 9101, undated"));
    // A billing cycle this version does not know is kept as sent, and said.
    assert_eq!(snap.meta["billing cycles kept as sent"], "Fortnightly-ish");
    assert!(
        snap.meta
            .contains_key("records with odd fields read as unknown")
    );
}

#[tokio::test]
async fn success_false_on_a_200_is_an_error_with_the_message() {
    let server = MockServer::start().await;
    get(ACCOUNTS)
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"Success":false,"Error":{"Code":12,"Message":"Filter.IsActive is not valid"},"Result":null}"#,
            "application/json",
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_with(&server, false).await;
    let err = bms(&server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("connection `bms`"), "{err}");
    assert!(err.contains("GET /v2/crm/accounts/summary"), "{err}");
    assert!(err.contains("Filter.IsActive is not valid"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
}

#[tokio::test]
async fn check_signs_in_and_reads_one_record_of_each_list() {
    let server = MockServer::start().await;
    mount_with(&server, false).await;
    let said = bms(&server, fast_retry(3)).check().await.unwrap();
    assert!(said.contains("as API Reconcile"), "{said}");
    assert!(said.contains("5 accounts"), "{said}");
    assert!(said.contains("last invoice"), "{said}");
    for at in [ACCOUNTS, INVOICES, CONTRACTS] {
        let reqs = requests_to(&server, at).await;
        assert_eq!(reqs.len(), 1, "{at}");
        assert!(reqs[0].url.query().unwrap().contains("PageSize=1"), "{at}");
    }
    for at in [SERVICES, LINES] {
        let reqs = requests_to(&server, at).await;
        let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(body["PageSize"], 1, "{at}");
    }
}

#[test]
fn each_family_member_has_its_host() {
    let base = "user = \"u\"\ntenant = \"t\"\n";
    let bms: Settings = toml::from_str(base).unwrap();
    assert_eq!(bms.host().as_deref(), Some("https://api.bms.kaseya.com"));
    let emea: Settings = toml::from_str(&format!("{base}region = \"emea\"\n")).unwrap();
    assert_eq!(emea.host().as_deref(), Some(Region::Emea.host()));
    assert!(emea.validate("b").is_ok());
    let pulseway: PulsewaySettings = toml::from_str(base).unwrap();
    assert_eq!(
        pulseway.host().as_deref(),
        Some("https://api.psa.pulseway.com")
    );
    let err = toml::from_str::<PulsewaySettings>(&format!("{base}region = \"emea\"\n"))
        .unwrap()
        .validate("pw")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`region` is for Kaseya BMS only"), "{err}");
    let cloudblue: CloudBlueSettings = toml::from_str(base).unwrap();
    let err = cloudblue.validate("cb").unwrap_err().to_string();
    assert!(err.contains("`url` is missing"), "{err}");
    assert!(err.contains("reconcile connect cloudblue --url"), "{err}");
    let months: Settings = toml::from_str(&format!("{base}invoice_months = 25\n")).unwrap();
    assert!(
        months
            .validate("b")
            .unwrap_err()
            .to_string()
            .contains("give 1 to 24")
    );
    let http: Settings =
        toml::from_str(&format!("{base}url = \"http://bms.example.com\"\n")).unwrap();
    assert!(http.validate("b").is_err(), "plain http only on loopback");
}

struct BmsCase;

impl Case for BmsCase {
    const CONNECTION: &'static str = "bms";
    const SECRETS: &'static [&'static str] = &[PASSWORD, TOKEN];
    const UNAUTHORIZED: Refusal = Refusal {
        body: None,
        says: &[
            "check the user name, the password and the tenant",
            "reconcile connect kaseya-bms --name bms",
        ],
        // A 401 is tried once more after a fresh login.
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("kaseya_bms/forbidden.json"),
        says: &[
            "lacks read access to CRM accounts",
            "Admin > My Company > Security Roles",
        ],
        requests: 1,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(bms(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_with(server, false).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(ACCOUNTS)
    }

    fn transient() -> Endpoint {
        Endpoint::get(ACCOUNTS).with_query("PageNumber", "2")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(CONTRACTS)
    }

    fn wrong_shape() -> WrongShape {
        // Odd records are read tolerantly; only a body that is not the documented list fails.
        WrongShape::new(
            serde_json::json!({"success": true, "error": null, "totalRecords": 1,
                "result": {"id": 812, "contractName": "Not a list"}})
            .to_string(),
            "result",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(LOGIN))
    }

    fn measure(snap: &Snapshot) -> BTreeMap<String, usize> {
        snap.counts()
    }
}

impl OAuthCase for BmsCase {
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("kaseya_bms/authenticate_refused.json"),
        says: &[
            "Invalid username, password or tenant",
            "check the user name, the password and the tenant",
        ],
        requests: 1,
    };
}

contract_suite!(kaseya_bms_contract, BmsCase, oauth);
