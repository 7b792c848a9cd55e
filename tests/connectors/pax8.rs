//! Pax8: client credentials as a JSON body with the partner audience, companies and all
//! subscriptions paged from page 0, the billed statuses counted, partner cost kept as each
//! seat's unit cost, odd records read tolerantly, the failure modes, and, since Pax8's key can
//! place orders, proof that every request the connector sends is a read.

use std::collections::HashMap;

use reconcile::connectors::pax8::{Pax8, READ_PATHS, Settings, families, services};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::{UNIT_COST_ATTR, VendorSnapshot};
use rust_decimal::Decimal;
use secrecy::SecretString;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer};

use crate::common::{dec, fast_retry, json, query, units_by_account, vendor};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const CLIENT_ID: &str = "p8-3b1f0c2e-client";
const SECRET: &str = "pax8-client-secret-do-not-print";
const TOKEN: &str = "/v1/token";
const COMPANIES: &str = "/v1/companies";
const SUBS: &str = "/v1/subscriptions";
const ACME: &str = "fe7a2d5f-4a14-43ff-940e-a65cda66474a";
const GLOBEX: &str = "0b8c3e1d-2a9f-4d7b-8e6c-5f4a3b2c1d0e";
const BEARER: &str = "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.cGF4OC1maXh0dXJl.c2lnbmF0dXJl";

fn settings(server: &MockServer) -> Settings {
    Settings {
        client_id: CLIENT_ID.into(),
        api_url: Some(format!("{}/v1", server.uri())),
        token_url: Some(format!("{}{TOKEN}", server.uri())),
        audience: None,
    }
}

fn pax8(server: &MockServer, retry: RetryPolicy) -> Pax8 {
    let secret = |field: &str| -> anyhow::Result<SecretString> {
        match field {
            "client_secret" => Ok(SecretString::from(SECRET)),
            other => anyhow::bail!("unexpected secret field {other}"),
        }
    };
    Pax8::new("p8", &settings(server), &secret, retry).expect("loopback URLs are accepted")
}

/// The token request exactly as Pax8 documents it: JSON, with the audience.
async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::json!({
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "audience": "https://api.pax8.com",
            "grant_type": "client_credentials",
        })))
        .respond_with(json("pax8/token.json"))
        .mount(server)
        .await;
}

fn api(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(p))
        .and(header("authorization", BEARER))
        .and(query_param("size", "200"))
}

async fn mount_everything(server: &MockServer) {
    mount_token(server).await;
    api(COMPANIES)
        .and(query_param("page", "0"))
        .respond_with(json("pax8/companies.json"))
        .mount(server)
        .await;
    for (page, rel) in [
        ("0", "pax8/subscriptions_page0.json"),
        ("1", "pax8/subscriptions_page1.json"),
    ] {
        api(SUBS)
            .and(query_param("page", page))
            .respond_with(json(rel))
            .mount(server)
            .await;
    }
}

/// Units per (account, service key) over the whole snapshot.
fn units(snap: &VendorSnapshot) -> HashMap<(String, String), Decimal> {
    units_by_account(services(), &families(), snap)
}

#[tokio::test]
async fn sync_reads_every_page_and_counts_the_billed_statuses() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let snap = vendor(
        pax8(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    assert_eq!(snap.accounts.len(), 2);
    assert_eq!(snap.items.len(), 5, "both pages of subscriptions");
    assert!(snap.unreadable.is_empty(), "{:?}", snap.unreadable);
    let u = units(&snap);
    let at = |a: &str, k: &str| u.get(&(a.to_string(), k.to_string())).copied();
    // Acme: 12 Business Standard (active) + 5 Business Basic ordered (PendingManual counts);
    // the cancelled 40 do not.
    assert_eq!(at(ACME, "seats"), Some(dec("17")));
    assert_eq!(at(ACME, "subscriptions"), Some(dec("2")));
    assert_eq!(at(ACME, "cfq7ttc0ldpb-0001"), Some(dec("12")));
    assert_eq!(at(ACME, "cfq7ttc0lh18-0001"), Some(dec("5")));
    // Globex: 8 workloads of a product without a vendor SKU (keyed by Pax8's product id); the
    // trial does not count.
    assert_eq!(at(GLOBEX, "seats"), Some(dec("8")));
    assert_eq!(
        at(GLOBEX, "c0ffee00-1111-4222-8333-444455556666"),
        Some(dec("8"))
    );
    assert_eq!(at(GLOBEX, "cfq7ttc0ldpb-0001"), None);
    // Partner cost is each seat's unit cost per month; Pax8 billing Globex directly is said.
    let bs = snap
        .items
        .iter()
        .find(|i| i.id.starts_with("05c587df"))
        .unwrap();
    assert_eq!(bs.attrs[UNIT_COST_ATTR], "12.5");
    assert_eq!(bs.attrs["price"], "15.4");
    assert_eq!(bs.class, "Active");
    let acronis = snap
        .items
        .iter()
        .find(|i| i.account_id == GLOBEX && i.class == "Active")
        .unwrap();
    assert_eq!(acronis.attrs["bill_on_behalf_of"], "true");
    assert!(!acronis.attrs.contains_key("price"), "a null price is none");
    // One service per SKU, named after the product.
    let fam = families()[0].expand(&snap.items);
    assert!(
        fam.iter()
            .any(|d| d.key == "cfq7ttc0ldpb-0001" && d.name == "Microsoft 365 Business Standard"),
        "{fam:?}"
    );
    // Pages from 0, at the largest size.
    let pages: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == SUBS)
        .map(|r| query(r)["page"].clone())
        .collect();
    assert_eq!(pages, ["0", "1"]);
}

/// Pax8's key can order, change quantities and cancel; the connector must only read.
#[tokio::test]
async fn every_request_is_a_read_never_an_order() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let p = pax8(&server, fast_retry(3));
    p.check().await.unwrap();
    p.sync(&SyncCx::silent()).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() >= 4, "{}", requests.len());
    let reads: Vec<String> = READ_PATHS.iter().map(|p| format!("/v1/{p}")).collect();
    for r in &requests {
        let (m, p) = (r.method.as_str(), r.url.path());
        let ok = (m == "POST" && p == TOKEN) || (m == "GET" && reads.iter().any(|x| x == p));
        assert!(
            ok,
            "the connector sent {m} {p}: only GET of {reads:?} and the token POST are allowed"
        );
    }
    // And the list of read paths holds no write endpoint of the spec.
    for write in ["orders", "subscriptions/{id}", "companies/{id}/contacts"] {
        assert!(!READ_PATHS.contains(&write), "{write}");
    }
}

#[tokio::test]
async fn odd_records_are_read_tolerantly_and_unknown_counts_are_said() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    api(COMPANIES)
        .respond_with(json("pax8/companies.json"))
        .mount(&server)
        .await;
    api(SUBS)
        .respond_with(json("pax8/odd_subscriptions.json"))
        .mount(&server)
        .await;
    let snap = vendor(
        pax8(&server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .unwrap(),
    );
    // The record without an id is set aside and named; the rest are read.
    assert_eq!(snap.items.len(), 3);
    assert_eq!(snap.set_aside.len(), 1, "{:?}", snap.set_aside);
    assert!(
        snap.set_aside[0].contains("GET /v1/subscriptions"),
        "{:?}",
        snap.set_aside
    );
    // An unknown status is kept and flagged, an unreadable price is unknown for its record.
    let suspended = snap.items.iter().find(|i| i.class == "Suspended").unwrap();
    assert_eq!(suspended.attrs["unknown_class"], "true");
    assert_eq!(suspended.attrs["odd_fields"], "price");
    // `quantity: "lots"` leaves Globex's counts unknown, never 0.
    let why = &snap.unreadable[GLOBEX];
    assert!(
        why.contains("has no readable quantity (`quantity`)"),
        "{why}"
    );
    // A subscription of a company the list did not return still counts, under its id.
    let stranger = "4d5e6f7a-8b9c-4d0e-9f1a-3b4c5d6e7f8a";
    let a = snap.accounts.iter().find(|a| a.id == stranger).unwrap();
    assert_eq!(a.name, format!("company {stranger}"));
    let u = units(&snap);
    assert_eq!(
        u.get(&(stranger.to_string(), "seats".to_string())),
        Some(&dec("2"))
    );
    let item = snap
        .items
        .iter()
        .find(|i| i.account_id == stranger)
        .unwrap();
    assert_eq!(item.attrs["cost_currency"], "USD");
}

struct Pax8Case;

impl Case for Pax8Case {
    const CONNECTION: &'static str = "p8";
    const SECRETS: &'static [&'static str] = &[SECRET];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("pax8/unauthorized.json"),
        says: &[
            "Integrations > Credentials",
            "reconcile connect pax8 --name p8 --client-id p8-3b1f0c2e-client",
        ],
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("pax8/forbidden.json"),
        says: &["partner account"],
        requests: 2,
    };
    const CUT_OFF: Option<&'static str> = Some("pax8/subscriptions_truncated.json");

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(pax8(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(COMPANIES)
    }

    fn transient() -> Endpoint {
        Endpoint::get(SUBS).with_query("page", "1")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(SUBS)
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            // Not the documented page: `content` is one subscription, not a list of them.
            serde_json::json!({
                "content": {"id": "x", "companyId": "c", "quantity": 1},
                "page": {"size": 200, "totalElements": 1, "totalPages": 1, "number": 0}
            })
            .to_string(),
            "content",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(TOKEN))
    }
}

impl OAuthCase for Pax8Case {
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("pax8/token_denied.json"),
        says: &[
            "access_denied",
            "Integrations > Credentials",
            "api://p8p.client",
        ],
        requests: 1,
    };
}

contract_suite!(pax8_contract, Pax8Case, oauth);
