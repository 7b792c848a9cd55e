//! Accelo: the service application's token (client in HTTP Basic, `expires_in` a string),
//! `{meta, response}` answers with every number a string, `_limit`/`_offset` paging to a short
//! page, companies billable by standing, contracts with their open periods, the materials on
//! those periods as the billing lines, tolerant reading of spec-valid oddities, and the shared
//! contract suite.

use std::collections::BTreeMap;

use reconcile::connectors::accelo::{Accelo, Settings};
use reconcile::connectors::{Connector, KindSettings, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::{PsaSnapshot, Snapshot};
use secrecy::SecretString;
use wiremock::matchers::{bearer_token, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer};

use crate::common::{dec, fast_retry, json, psa, query, requests_to};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const CLIENT_ID: &str = "acme-service-app";
const SECRET: &str = "acc-s3cret-Zx81";
const TOKEN: &str = "acc-token-1";
const TOKEN_PATH: &str = "/oauth2/v0/token";
const COMPANIES: &str = "/api/v0/companies";
const CONTRACTS: &str = "/api/v0/contracts";
const MATERIALS: &str = "/api/v0/object_budgets/materials";
const TEMPLATES: &str = "/api/v0/object_budgets/templates";

fn settings(server: &MockServer) -> Settings {
    toml::from_str(&format!(
        "url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n",
        server.uri()
    ))
    .unwrap()
}

fn accelo(server: &MockServer, retry: RetryPolicy) -> Accelo {
    Accelo::with_secret("acc", &settings(server), SecretString::from(SECRET), retry).unwrap()
}

fn get(at: &str) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(at))
        .and(bearer_token(TOKEN))
}

async fn mount_with(server: &MockServer, odd: bool) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json("accelo/token.json"))
        .mount(server)
        .await;
    if odd {
        get(COMPANIES)
            .respond_with(json("accelo/odd_companies.json"))
            .mount(server)
            .await;
        get(CONTRACTS)
            .respond_with(json("accelo/odd_contracts.json"))
            .mount(server)
            .await;
        for c in ["601", "602"] {
            get(&format!("/api/v0/contracts/{c}/periods"))
                .respond_with(json(&format!("accelo/odd_periods_{c}.json")))
                .mount(server)
                .await;
        }
        get(MATERIALS)
            .respond_with(json("accelo/odd_materials.json"))
            .mount(server)
            .await;
    } else {
        for (offset, rel) in [("0", "companies_p1.json"), ("100", "companies_p2.json")] {
            get(COMPANIES)
                .and(query_param("_offset", offset))
                .respond_with(json(&format!("accelo/{rel}")))
                .mount(server)
                .await;
        }
        get(CONTRACTS)
            .respond_with(json("accelo/contracts.json"))
            .mount(server)
            .await;
        for c in ["501", "502"] {
            get(&format!("/api/v0/contracts/{c}/periods"))
                .respond_with(json(&format!("accelo/periods_{c}.json")))
                .mount(server)
                .await;
        }
        get(MATERIALS)
            .respond_with(json("accelo/materials.json"))
            .mount(server)
            .await;
    }
    get(TEMPLATES)
        .respond_with(json("accelo/templates.json"))
        .mount(server)
        .await;
}

async fn full_sync(server: &MockServer, odd: bool) -> PsaSnapshot {
    mount_with(server, odd).await;
    psa(accelo(server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .expect("sync succeeds"))
}

#[tokio::test]
async fn sync_reads_the_materials_on_the_open_periods_of_active_contracts() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, false).await;

    // One token: the service application in Basic, read scope only, no secret in the form.
    let tokens = requests_to(&server, TOKEN_PATH).await;
    assert_eq!(tokens.len(), 1);
    let basic = tokens[0].headers["authorization"].to_str().unwrap();
    assert!(basic.starts_with("Basic "), "{basic}");
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&tokens[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], "read(all)");
    assert!(!form.contains_key("client_secret"));

    // Companies over two pages (100, then a short page), billable by standing.
    let pages = requests_to(&server, COMPANIES).await;
    assert_eq!(pages.len(), 2);
    assert_eq!(query(&pages[1])["_offset"], "100");
    assert_eq!(query(&pages[1])["_limit"], "100");
    assert_eq!(snap.companies.len(), 103);
    let company = |id: &str| snap.companies.iter().find(|c| c.id == id).unwrap();
    assert!(
        company("1").billable && company("102").billable,
        "`Active` reads as active"
    );
    assert!(
        company("101")
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("standing `paused`")
    );
    assert!(!company("3").billable);
    assert_eq!(company("1").identifier, "C001");

    // Only the active contracts' periods are read; the materials of their open periods, in
    // one filtered request.
    assert_eq!(
        requests_to(&server, "/api/v0/contracts/503/periods")
            .await
            .len(),
        0
    );
    let m = &requests_to(&server, MATERIALS).await[0];
    let filters = &query(m)["_filters"];
    assert!(
        filters.contains("against_type(contract_period)"),
        "{filters}"
    );
    assert!(filters.contains("against_id(5011,5021)"), "{filters}");

    assert_eq!(
        snap.lines.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        ["9001", "9002", "9003"]
    );
    let ws = &snap.lines[0];
    assert_eq!(ws.quantity, dec("22"));
    assert_eq!(ws.unit_price, dec("35"));
    assert_eq!(ws.unit_cost, dec("9.5"));
    assert_eq!(ws.product_identifier, "Managed Workstation");
    assert_eq!(ws.product_id.as_deref(), Some("8"));
    assert_eq!(ws.company_id, "1");
    assert_eq!(ws.effective.unwrap().as_second(), 1_795_996_800);
    // A contract against a job bills the company it names.
    assert_eq!(snap.lines[2].company_id, "2");

    let agreement = |id: &str| snap.agreements.iter().find(|a| a.id == id).unwrap();
    assert_eq!(agreement("501").billing_cycle.as_deref(), Some("Monthly"));
    assert_eq!(agreement("502").billing_cycle.as_deref(), Some("Quarterly"));
    assert_eq!(agreement("503").status, "cancelled");
    assert!(snap.agreements.iter().all(|a| a.id != "504"));
    assert_eq!(snap.meta["contracts on no company (not read)"], "1");
    assert_eq!(snap.meta["materials on no open period (not read)"], "1");
    assert!(snap.meta["api requests this sync"].contains("5000 an hour"));
    assert_eq!(snap.products.len(), 4);
    assert!(
        snap.products
            .iter()
            .any(|p| p.identifier == "Design Tools" && p.inactive)
    );
    assert!(snap.unreadable.is_empty(), "{:?}", snap.unreadable);
}

#[tokio::test]
async fn spec_valid_oddities_sync_and_what_decides_a_count_is_never_guessed() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, true).await;
    // An id sent as a number reads; a record without its id is set aside, named.
    assert!(snap.companies.iter().any(|c| c.id == "201"));
    assert!(
        snap.set_aside
            .iter()
            .any(|s| s.contains("GET /api/v0/companies")),
        "{:?}",
        snap.set_aside
    );
    assert!(
        snap.set_aside
            .iter()
            .any(|s| s.contains("GET /api/v0/contracts ")),
        "{:?}",
        snap.set_aside
    );
    // A standing that is not text: whether it bills is unknown, never guessed.
    assert!(
        snap.unreadable["202"].contains("standing"),
        "{:?}",
        snap.unreadable
    );
    // A quantity that is not a number: the company's billing is unreadable, not 0.
    assert!(
        snap.unreadable["201"].contains("quantity"),
        "{:?}",
        snap.unreadable
    );
    assert!(snap.lines.iter().all(|l| l.id != "9101"));
    // A nameless material with empty prices bills its quantity, known by its id.
    let l = snap.lines.iter().find(|l| l.id == "9102").unwrap();
    assert_eq!(l.quantity, dec("3"));
    assert_eq!(l.product_identifier, "material #9102");
    assert_eq!(l.unit_price, dec("0"));
    // A 15-day period is kept as sent, and said; an unlimited one counts monthly.
    assert_eq!(snap.meta["period lengths kept as sent"], "15 days");
    let unlimited = snap.agreements.iter().find(|a| a.id == "602").unwrap();
    assert_eq!(unlimited.billing_cycle, None);
    assert!(
        snap.meta
            .contains_key("records with odd fields read as unknown")
    );
}

#[test]
fn the_deployment_is_the_host() {
    let s: Settings = toml::from_str("deployment = \"Acme\"\nclient_id = \"c\"\n").unwrap();
    assert_eq!(s.host(), "https://acme.api.accelo.com");
    assert!(s.validate("a").is_ok());
    let s: Settings =
        toml::from_str("deployment = \"https://acme.accelo.com/\"\nclient_id = \"c\"\n").unwrap();
    assert_eq!(s.host(), "https://acme.api.accelo.com");
    let bad: Settings = toml::from_str("deployment = \"acme corp\"\nclient_id = \"c\"\n").unwrap();
    assert!(
        bad.validate("a")
            .unwrap_err()
            .to_string()
            .contains("not an Accelo deployment")
    );
    let fast: Settings =
        toml::from_str("deployment = \"acme\"\nclient_id = \"c\"\nrequests_per_hour = 5001\n")
            .unwrap();
    assert!(fast.validate("a").unwrap_err().to_string().contains("5000"));
    assert_eq!(fast.billable_standings, ["active"]);
}

struct AcceloCase;

impl Case for AcceloCase {
    const CONNECTION: &'static str = "acc";
    const SECRETS: &'static [&'static str] = &[SECRET, TOKEN];
    const UNAUTHORIZED: Refusal = Refusal {
        body: None,
        says: &[
            "check its client id and secret",
            "reconcile connect accelo --name acc",
        ],
        // A 401 is tried once more with a fresh token.
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("accelo/forbidden.json"),
        says: &["read(all)", "Service application"],
        requests: 2,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(accelo(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_with(server, false).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(COMPANIES)
    }

    fn transient() -> Endpoint {
        Endpoint::get(COMPANIES).with_query("_offset", "100")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(CONTRACTS)
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            serde_json::json!({"meta": {"status": "ok"}, "response": {"id": "501"}}).to_string(),
            "response",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(TOKEN_PATH))
    }

    fn measure(snap: &Snapshot) -> BTreeMap<String, usize> {
        snap.counts()
    }
}

impl OAuthCase for AcceloCase {
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("accelo/token_refused.json"),
        says: &["invalid_client", "check its client id and secret"],
        requests: 1,
    };
}

contract_suite!(accelo_contract, AcceloCase, oauth);
