//! Webroot: the password grant (the API client as HTTP Basic, scope `Console.GSM`), sites and
//! their endpoints paged with `pageNr`/`pageSize` to `TotalAvailable`, seats per keycode as
//! quantities, deactivated sites and endpoints, tolerant reading, and the contract suite.

use std::collections::{BTreeMap, HashMap};

use reconcile::connectors::webroot::{Settings, Webroot, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::VendorSnapshot;
use secrecy::SecretString;
use wiremock::matchers::{bearer_token, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer};

use crate::common::{counts_by_service, fast_retry, json, query, requests_to, vendor};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const CLIENT_SECRET: &str = "wr-client-secret-do-not-print";
const PASSWORD: &str = "wr-admin-password-do-not-print";
const TOKEN: &str = "wr-access-token-1";
const GSM: &str = "SA11-GSM0-1234-5678-90AB";
const TOKEN_PATH: &str = "/auth/token";
const SITES: &str = "/service/api/console/gsm/SA11-GSM0-1234-5678-90AB/sites";
const ACME: &str = "2c8a6f51-0b1e-4c2d-9a3b-1f2e3d4c5b01";
const BETA: &str = "2c8a6f51-0b1e-4c2d-9a3b-1f2e3d4c5b02";
const GAMMA: &str = "2c8a6f51-0b1e-4c2d-9a3b-1f2e3d4c5b03";

fn endpoints_of(site: &str) -> String {
    format!("{SITES}/{site}/endpoints")
}

fn webroot(server: &MockServer, retry: RetryPolicy) -> Webroot {
    let settings = Settings {
        gsm_key: GSM.into(),
        client_id: "client_x".into(),
        username: "api@msp.example".into(),
        url: Some(server.uri()),
        page_size: Some(3),
    };
    let secrets = (
        SecretString::from(CLIENT_SECRET),
        SecretString::from(PASSWORD),
    );
    Webroot::new("wr", &settings, secrets, retry).expect("a loopback URL")
}

async fn get(server: &MockServer, at: &str, params: &[(&str, &str)], rel: &str) {
    let mut m = Mock::given(method("GET"))
        .and(path(at))
        .and(bearer_token(TOKEN))
        .and(header_exists("user-agent"));
    for (k, v) in params {
        m = m.and(query_param(*k, *v));
    }
    m.respond_with(json(&format!("webroot/{rel}")))
        .mount(server)
        .await;
}

async fn mount_everything(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header(
            "authorization",
            "Basic Y2xpZW50X3g6d3ItY2xpZW50LXNlY3JldC1kby1ub3QtcHJpbnQ=",
        ))
        .respond_with(json("webroot/token.json"))
        .mount(server)
        .await;
    get(server, SITES, &[], "sites.json").await;
    get(
        server,
        &endpoints_of(ACME),
        &[("pageNr", "1")],
        "endpoints_acme_page1.json",
    )
    .await;
    get(
        server,
        &endpoints_of(ACME),
        &[("pageNr", "2")],
        "endpoints_acme_page2.json",
    )
    .await;
    get(server, &endpoints_of(BETA), &[], "endpoints_beta.json").await;
    get(server, &endpoints_of(GAMMA), &[], "endpoints_gamma.json").await;
}

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        webroot(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

#[tokio::test]
async fn sites_endpoints_and_seats_are_read_with_the_password_grant() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let tokens = requests_to(&server, TOKEN_PATH).await;
    assert_eq!(tokens.len(), 1);
    let form: HashMap<String, String> = url::form_urlencoded::parse(&tokens[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], "api@msp.example");
    assert_eq!(form["password"], PASSWORD);
    assert_eq!(form["scope"], "Console.GSM");
    let pages: Vec<(String, String)> = requests_to(&server, &endpoints_of(ACME))
        .await
        .iter()
        .map(|r| {
            let q = query(r);
            (q["pageNr"].clone(), q["pageSize"].clone())
        })
        .collect();
    assert_eq!(pages, [("1".into(), "3".into()), ("2".into(), "3".into())]);
    assert!(
        requests_to(
            &server,
            &endpoints_of("2c8a6f51-0b1e-4c2d-9a3b-1f2e3d4c5b04")
        )
        .await
        .is_empty(),
        "a deactivated site's endpoints are not read"
    );

    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Acme Dental",
            "Beta Law LLP",
            "Gamma Logistics",
            "Delta Clinic (closed)"
        ]
    );
    assert_eq!(snap.set_aside.len(), 2, "{:?}", snap.set_aside);
    assert!(
        snap.set_aside[0].contains("sites Sites[4]: missing field `SiteId`"),
        "{:?}",
        snap.set_aside
    );
    assert!(
        snap.set_aside[1].contains(&format!(
            "{BETA}/endpoints Endpoints[2]: missing field `EndpointId`"
        )),
        "{:?}",
        snap.set_aside
    );
    let unreadable: Vec<(&str, &str)> = snap
        .unreadable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [(GAMMA, "endpoint G1 has no readable `Deactivated`")]
    );

    let counts = counts_by_service(&services(), &snap);
    let want: BTreeMap<String, usize> = [
        // Acme: three live endpoints (not the deactivated one); Beta: two, one of nulls.
        ("total-endpoints", 5),
        // One seats item per site with a figure: Acme, Beta, Delta (deactivated; Gamma is
        // unreadable, so none of its items are kept).
        ("endpoint-seats", 3),
        ("mobile-seats", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);
    let seats = services()
        .into_iter()
        .find(|s| s.key == "endpoint-seats")
        .unwrap();
    let units: rust_decimal::Decimal = snap
        .items
        .iter()
        .filter(|i| i.account_id == BETA && seats.counts(*i))
        .map(|i| seats.weight(i))
        .sum();
    assert_eq!(units, 10.into(), "seats sent as text");
    let b1 = snap.items.iter().find(|i| i.id == "B1").unwrap();
    assert_eq!((b1.name.as_str(), b1.class.as_str()), ("B1", "ENDPOINT"));
    assert_eq!(b1.last_contact, None);
    assert_eq!(b1.attrs["odd_fields"], "Infected,LastSeen");
    let b2 = snap.items.iter().find(|i| i.id == "B2").unwrap();
    assert_eq!(b2.name, "beta-mac-01", "camelCase members read too");
    assert!(b2.last_contact.is_some());
}

#[tokio::test]
async fn check_names_the_console_and_its_sites() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let said = webroot(&server, fast_retry(3)).check().await.unwrap();
    assert!(
        said.contains(&format!("GSM console {GSM}, 4 sites")),
        "{said}"
    );
}

struct WebrootCase;

impl Case for WebrootCase {
    const CONNECTION: &'static str = "wr";
    const SECRETS: &'static [&'static str] = &[CLIENT_SECRET, PASSWORD];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("webroot/unauthorized.json"),
        says: &[
            "Settings > API Access",
            "api@msp.example",
            "reconcile connect webroot --name wr",
        ],
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("webroot/forbidden.json"),
        says: &["access to the GSM keycode SA11-GSM0-1234-5678-90AB"],
        requests: 2,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(webroot(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(SITES)
    }

    fn transient() -> Endpoint {
        Endpoint::get(endpoints_of(ACME)).with_query("pageNr", "2")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(endpoints_of(BETA))
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            serde_json::json!({"TotalAvailable": 1, "PageNr": 1, "PageSize": 3, "Endpoints": {"EndpointId": "B1"}}).to_string(),
            "Endpoints",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(TOKEN_PATH))
    }
}

impl OAuthCase for WebrootCase {
    const REFUSED_CLIENT_STATUS: u16 = 400;
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("webroot/token_invalid_grant.json"),
        says: &[
            "invalid_grant (The user name or password is incorrect)",
            "Settings > API Access",
        ],
        requests: 1,
    };
}

contract_suite!(webroot_contract, WebrootCase, oauth);
