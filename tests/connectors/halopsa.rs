//! HaloPSA: auth-server discovery at `/api/authinfo`, the client-credentials token with the
//! hosted `tenant`, `pageinate`/`page_size`/`page_no` paging to `record_count`, signed ids kept
//! as text, recurring-invoice lines (with the single-record fallback), contracts, items,
//! billable-client filters, unknown picklist values kept, and errors (401, 403 naming the
//! permission, 429 with Retry-After, bounded 5xx, malformed JSON).

use std::collections::HashMap;

use jiff::Timestamp;
use reconcile::connectors::KindSettings;
use reconcile::connectors::halopsa::{HaloPsa, Settings};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{PsaLine, PsaSnapshot};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{dec, fast_retry, fixture, json, psa, query, requests_to};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const CLIENT_ID: &str = "b0c7f1de-halo-client";
const SECRET: &str = "halo-s3cret";
const TENANT: &str = "bluewave";
const BEARER: &str = "Bearer eyJhbGciOiJSUzI1NiJ9.halo-test-token";

fn settings(server: &MockServer) -> Settings {
    Settings {
        url: server.uri(),
        client_id: CLIENT_ID.into(),
        tenant: Some(TENANT.into()),
        auth_url: None,
        scope: None,
        billable_client_types: vec!["managed".into()],
        billable_top_levels: vec![],
        page_size: Some(2),
        allow_write: false,
        write_client_id: None,
    }
}

fn halo(s: &Settings, retry: RetryPolicy) -> HaloPsa {
    HaloPsa::new(
        "halo",
        s,
        &|field| {
            assert_eq!(field, "client_secret");
            Ok(SecretString::from(SECRET))
        },
        retry,
    )
    .expect("a loopback instance is accepted")
}

/// Answers like a Halo list: `{"record_count": total, key: [page]}`, sliced by `page_no`
/// (1-based) and `page_size` when `pageinate=true`.
struct HaloPages {
    body: Value,
    key: &'static str,
}

impl HaloPages {
    fn of(rel: &str, key: &'static str) -> HaloPages {
        HaloPages {
            body: serde_json::from_str(&fixture(rel)).unwrap(),
            key,
        }
    }
}

impl Respond for HaloPages {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q = query(req);
        let all = self.body[self.key].as_array().unwrap().clone();
        let total = all.len();
        let page: Vec<Value> = if q.get("pageinate").map(String::as_str) == Some("true") {
            let size: usize = q["page_size"].parse().unwrap();
            let no: usize = q["page_no"].parse().unwrap();
            all.into_iter().skip((no - 1) * size).take(size).collect()
        } else {
            all
        };
        let mut body = self.body.clone();
        body["record_count"] = total.into();
        body[self.key] = Value::Array(page);
        ResponseTemplate::new(200).set_body_json(body)
    }
}

async fn mount_auth(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/authinfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "auth_url": format!("{}/auth", server.uri()),
            "tenant_id": "4c1c0f0e-halo",
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(query_param("tenant", TENANT))
        .respond_with(json("halopsa/token.json"))
        .mount(server)
        .await;
}

fn authed(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/api/{p}")))
        .and(header("authorization", BEARER))
}

async fn mount_lists(server: &MockServer) {
    authed("Client")
        .respond_with(HaloPages::of("halopsa/clients.json", "clients"))
        .mount(server)
        .await;
    authed("RecurringInvoice")
        .and(query_param("includelines", "true"))
        .respond_with(HaloPages::of("halopsa/recurring_invoices.json", "invoices"))
        .mount(server)
        .await;
    authed("RecurringInvoice/310")
        .respond_with(json("halopsa/recurring_invoice_310.json"))
        .mount(server)
        .await;
    authed("ClientContract")
        .respond_with(HaloPages::of("halopsa/contracts.json", "contracts"))
        .mount(server)
        .await;
    authed("Item")
        .respond_with(HaloPages::of("halopsa/items.json", "items"))
        .mount(server)
        .await;
}

async fn full_sync(server: &MockServer, s: &Settings) -> PsaSnapshot {
    mount_auth(server).await;
    mount_lists(server).await;
    psa(halo(s, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .expect("sync succeeds"))
}

fn line<'a>(snap: &'a PsaSnapshot, id: &str) -> &'a PsaLine {
    snap.lines
        .iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("line {id} is missing"))
}

/// The `page_no`s requested of `p`, each with `pageinate=true` and `page_size=2`.
async fn page_nos(server: &MockServer, p: &str) -> Vec<String> {
    let reqs = requests_to(server, p).await;
    let mut nos: Vec<String> = reqs.iter().map(|r| query(r)["page_no"].clone()).collect();
    nos.sort();
    for r in &reqs {
        let q = query(r);
        assert_eq!(q["pageinate"], "true");
        assert_eq!(q["page_size"], "2");
    }
    nos
}

fn ts(s: &str) -> Option<Timestamp> {
    Some(s.parse().unwrap())
}

#[tokio::test]
async fn a_sync_reads_every_page_and_keeps_signed_ids_prices_and_dates() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, &settings(&server)).await;

    // Every page to record_count: 5 clients in pages of 2 is 3 pages, 4 invoices 2 pages.
    assert_eq!(snap.companies.len(), 5);
    assert_eq!(page_nos(&server, "/api/Client").await, ["1", "2", "3"]);
    assert_eq!(page_nos(&server, "/api/RecurringInvoice").await, ["1", "2"]);
    assert_eq!(page_nos(&server, "/api/Item").await, ["1", "2"]);

    // One token, for the tenant, with the client-credentials form.
    let tokens = requests_to(&server, "/auth/token").await;
    assert_eq!(tokens.len(), 1, "the token is cached");
    let form: HashMap<String, String> = url::form_urlencoded::parse(&tokens[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(form["scope"], "all");
    assert_eq!(query(&tokens[0])["tenant"], TENANT);

    // Agreements: two contracts and the four recurring invoices, negative ids as text.
    let ids: Vec<&str> = snap.agreements.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["contract:7", "contract:8", "-94", "-95", "-96", "310"]
    );
    let inv = snap.agreements.iter().find(|a| a.id == "-94").unwrap();
    assert_eq!(inv.company_id, "420");
    assert_eq!(inv.status, "Active");
    assert_eq!(inv.billing_cycle.as_deref(), Some("Monthly"));
    assert_eq!(inv.start, ts("2025-01-01T00:00:00Z"));
    assert_eq!(inv.end, None, "1900-01-01 is Halo's empty date");
    let disabled = snap.agreements.iter().find(|a| a.id == "-96").unwrap();
    assert_eq!(disabled.status, "Disabled");
    assert!(!disabled.is_active_at(Timestamp::now()));

    // Lines: the disabled invoice's and the inactive line are not read; 310's come from its
    // single record because the list had none.
    let line_ids: Vec<&str> = snap.lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(line_ids.len(), 4, "{line_ids:?}");
    for id in ["24964", "24965", "25001", "31001"] {
        assert!(line_ids.contains(&id), "{line_ids:?}");
    }
    assert_eq!(
        requests_to(&server, "/api/RecurringInvoice/310")
            .await
            .len(),
        1
    );
    assert_eq!(
        snap.meta
            .get("inactive recurring lines skipped")
            .map(String::as_str),
        Some("1")
    );

    let mu = line(&snap, "24964");
    assert_eq!(mu.agreement_id, "-94");
    assert_eq!(mu.company_id, "420");
    assert_eq!(mu.product_id.as_deref(), Some("1394"));
    assert_eq!(mu.product_identifier, "Managed User", "the item's name");
    assert_eq!(mu.quantity, dec("15"));
    assert_eq!(mu.unit_price, dec("119.99"));
    assert_eq!(mu.unit_cost, dec("42.5"));
    assert_eq!(mu.effective, ts("2025-01-01T00:00:00Z"));
    assert_eq!(mu.cancelled, None);
    assert_eq!(mu.less_included, Decimal::ZERO);

    // A line that carries a contract belongs to it; its own dates win over the invoice's.
    let srv = line(&snap, "24965");
    assert_eq!(srv.agreement_id, "contract:7");
    assert_eq!(srv.company_id, "420");
    assert_eq!(srv.effective, ts("2025-03-01T00:00:00Z"));
    assert_eq!(srv.cancelled, ts("2025-12-31T00:00:00Z"));
    // The invoice's contract when the line names none; the header's dates when it has none.
    let fab = line(&snap, "31001");
    assert_eq!(fab.agreement_id, "contract:8");
    assert_eq!(fab.effective, ts("2025-02-01T00:00:00Z"));
    // An item not in the catalog: the line's item_code.
    let legacy = line(&snap, "25001");
    assert_eq!(legacy.product_identifier, "LEGACY-AV");
    assert_eq!(legacy.quantity, dec("12.5"));
    assert_eq!(legacy.unit_price, dec("4.35"));

    let products: Vec<&str> = snap
        .products
        .iter()
        .map(|p| p.identifier.as_str())
        .collect();
    assert_eq!(products.len(), 3);
    assert!(products.contains(&"Managed Server"));
    let backup = snap
        .products
        .iter()
        .find(|p| p.identifier == "Cloud Backup 1TB")
        .unwrap();
    assert!(backup.inactive);
    assert_eq!(backup.price, Some(dec("30")));
}

#[tokio::test]
async fn spec_valid_oddities_are_unknown_for_their_record_and_unattributable_ones_set_aside() {
    // Halo marks all of these nullable: a client's and an item's name, an invoice's and a
    // contract's client (a recurring invoice template has none).
    let server = MockServer::start().await;
    mount_auth(&server).await;
    for (p, rel, key) in [
        ("Client", "halopsa/odd_clients.json", "clients"),
        ("RecurringInvoice", "halopsa/odd_invoices.json", "invoices"),
        ("ClientContract", "halopsa/odd_contracts.json", "contracts"),
        ("Item", "halopsa/odd_items.json", "items"),
    ] {
        authed(p)
            .respond_with(HaloPages::of(rel, key))
            .mount(&server)
            .await;
    }
    let snap = psa(halo(&settings(&server), fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .expect("records the spec allows never fail the sync"));

    let names: Vec<(&str, &str)> = snap
        .companies
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(names, [("500", "client 500"), ("501", "Northwind Traders")]);
    let mut agreements: Vec<&str> = snap.agreements.iter().map(|a| a.id.as_str()).collect();
    agreements.sort();
    assert_eq!(
        agreements.len(),
        2,
        "{agreements:?}: the template and the orphan are set aside"
    );
    assert!(agreements.contains(&"601"), "{agreements:?}");
    let ids: Vec<&str> = snap.lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["7001", "7003"], "the line without an id is set aside");
    let l = line(&snap, "7001");
    assert_eq!(l.company_id, "500");
    assert_eq!(l.quantity, dec("4"));
    assert_eq!(l.product_identifier, "MU-001");
    // An item with no name: its line and the product fall back to its id.
    assert_eq!(line(&snap, "7003").product_identifier, "#901");
    let p = snap.products.iter().find(|p| p.id == "901").unwrap();
    assert_eq!(p.identifier, "#901");
    assert_eq!(
        p.price, None,
        "`n/a` is an unknown price, not a failed sync"
    );

    // A quantity Halo sent as null is never read as 0: the company's billing is unknown.
    assert_eq!(
        snap.unreadable.get("500").map(String::as_str),
        Some("line 7004 of recurring invoice 601 has no readable quantity (`qty_order`)")
    );
    assert_eq!(snap.unreadable.len(), 1);
    let aside = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(aside.starts_with("4 records set aside"), "{aside}");
    for place in [
        "GET /api/Client clients[2]",
        "GET /api/RecurringInvoice invoices[0]: missing field `client_id`",
        "GET /api/ClientContract contracts[0]: missing field `client_id`",
    ] {
        assert!(aside.contains(place), "{place} in {aside}");
    }
    // The fourth, the line without an id, is counted past the three named.
    assert!(aside.contains("and 1 more"), "{aside}");
    // A start at the very end of 9999 is past what a timestamp holds: unknown for that line.
    assert_eq!(
        snap.meta["records with odd fields read as unknown"],
        "2 (GET /api/Item baseprice, GET /api/RecurringInvoice (invoice 601) startdate)"
    );
    assert_eq!(line(&snap, "7003").effective, None);
}

#[tokio::test]
async fn unknown_picklist_values_are_kept() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, &settings(&server)).await;
    let fab = snap.agreements.iter().find(|a| a.id == "-95").unwrap();
    assert_eq!(fab.billing_cycle.as_deref(), Some("Fortnightly"));
    assert_eq!(fab.name, "Recurring invoice -95", "an empty name gets one");
    let c8 = snap
        .agreements
        .iter()
        .find(|a| a.id == "contract:8")
        .unwrap();
    assert_eq!(c8.billing_cycle.as_deref(), Some("period type 3"));
    // recurring_invoice_quantity_type 7 (undocumented) keeps the line and is counted.
    assert_eq!(line(&snap, "25001").quantity, dec("12.5"));
    assert_eq!(
        snap.meta
            .get("lines with a computed quantity (qty_order as last set)")
            .map(String::as_str),
        Some("1")
    );
}

#[tokio::test]
async fn billable_client_rules_are_configurable() {
    let server = MockServer::start().await;
    let snap = full_sync(&server, &settings(&server)).await;
    let reason = |id: &str| {
        snap.companies
            .iter()
            .find(|c| c.id == id)
            .unwrap()
            .not_billable_reason
            .clone()
    };
    assert_eq!(reason("420"), None);
    assert_eq!(reason("421"), None);
    assert_eq!(reason("422").as_deref(), Some("inactive"));
    assert!(reason("423").unwrap().contains("Prospect"));
    assert_eq!(reason("12"), None, "no top-level filter configured");
    let contoso = snap.companies.iter().find(|c| c.id == "420").unwrap();
    assert_eq!(contoso.identifier, "CONTOSO");
    assert_eq!(contoso.types, ["Managed"]);
    let fabrikam = snap.companies.iter().find(|c| c.id == "421").unwrap();
    assert_eq!(
        fabrikam.identifier, "421",
        "an empty accountsid falls back to the id"
    );

    let server = MockServer::start().await;
    let mut s = settings(&server);
    s.billable_client_types = vec![];
    s.billable_top_levels = vec!["Clients".into()];
    let snap = full_sync(&server, &s).await;
    let billable: Vec<&str> = snap
        .companies
        .iter()
        .filter(|c| c.billable)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(billable, ["420", "421", "423"]);
    let internal = snap.companies.iter().find(|c| c.id == "12").unwrap();
    assert!(
        internal
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("top level Internal"),
        "{internal:?}"
    );
}

#[tokio::test]
async fn without_authinfo_the_default_auth_path_is_used_and_check_reports() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(json("halopsa/token.json"))
        .mount(&server)
        .await;
    mount_lists(&server).await;
    let msg = halo(&settings(&server), fast_retry(2))
        .check()
        .await
        .unwrap();
    assert!(
        msg.contains("clients and recurring invoices are readable"),
        "{msg}"
    );
    assert_eq!(requests_to(&server, "/api/authinfo").await.len(), 1);
    assert_eq!(requests_to(&server, "/auth/token").await.len(), 1);
}

#[tokio::test]
async fn a_list_without_its_array_is_named() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    authed("Client")
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"record_count": 3})),
        )
        .mount(&server)
        .await;
    let err = halo(&settings(&server), fast_retry(2))
        .sync(&SyncCx::silent())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("clients"), "{err}");
}

#[tokio::test]
async fn settings_are_validated() {
    let server = MockServer::start().await;
    let mut s = settings(&server);
    s.url = "http://halo.example.com".into();
    let err = s.validate("halo").unwrap_err().to_string();
    assert!(err.contains("connections.halo.url"), "{err}");
    s.url = "https://acme.halopsa.com".into();
    assert!(s.validate("halo").is_ok());
    s.client_id = " ".into();
    assert!(
        s.validate("halo")
            .unwrap_err()
            .to_string()
            .contains("client_id")
    );
}

/// The shared HTTP contract: refusals, lasting faults and bad bodies at the recurring invoices
/// (what `check` reads too), a 429 or 5xx on the second page of clients.
struct HaloPsaCase;

impl Case for HaloPsaCase {
    const CONNECTION: &'static str = "halo";
    const SECRETS: &'static [&'static str] = &[SECRET];
    const UNAUTHORIZED: Refusal = Refusal {
        body: None,
        says: &[
            "client id and secret",
            "reconcile connect halopsa --name halo",
        ],
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: None,
        says: &["read:invoices", "Permissions tab"],
        requests: 2,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(halo(&settings(server), retry))
    }

    async fn mount(server: &MockServer) {
        mount_auth(server).await;
        mount_lists(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get("/api/RecurringInvoice")
    }

    fn transient() -> Endpoint {
        Endpoint::get("/api/Client").with_query("page_no", "2")
    }

    fn wrong_shape() -> WrongShape {
        // An odd record is read tolerantly (see the oddities test); only a body that is not
        // the documented list fails the sync.
        let mut bad: Value =
            serde_json::from_str(&fixture("halopsa/recurring_invoices.json")).unwrap();
        bad["invoices"] = serde_json::json!({"id": -94});
        WrongShape::new(bad.to_string(), "invoices", "expected a JSON array")
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post("/auth/token"))
    }
}

impl OAuthCase for HaloPsaCase {
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("halopsa/token_invalid_client.json"),
        says: &[
            "invalid_client",
            "client id and secret",
            "reconcile connect halopsa --name halo",
        ],
        requests: 1,
    };
}

contract_suite!(halopsa_contract, HaloPsaCase, oauth);
