//! Sherweb: client credentials with scope `service-provider` plus the gateway subscription key,
//! customers and their subscriptions (quantities, SKUs, terms, fees), suspended customers,
//! unknown values, and the failure modes.

use std::collections::HashMap;

use reconcile::connectors::sherweb::{
    SUBSCRIPTION, SUSPENDED, Settings, Sherweb, families, services,
};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::RetryPolicy;
use reconcile::model::VendorSnapshot;
use rust_decimal::Decimal;
use secrecy::SecretString;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, fixture, json, query, recording_cx, requests_to, vendor};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const CLIENT_ID: &str = "7d1c9a52-6b0e-4f4e-9a51-3c2b1d0e9f88";
const SECRET: &str = "sherweb-client-secret-do-not-print";
const KEY: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "/auth/oidc/connect/token";
const CUSTOMERS: &str = "/service-provider/v1/customers";
const SUBS: &str = "/service-provider/v1/billing/subscriptions";
const ACME: &str = "5b0c1c7e-3f0a-4f55-9a0e-8d7f2b6c1a01";
const GLOBEX: &str = "9e2d4a61-0b7c-4c3e-8f1a-2d5e6f7a8b02";
const INITECH: &str = "c3f1e2d4-5a6b-4c7d-8e9f-0a1b2c3d4e03";
const UMBRELLA: &str = "e7a8b9c0-d1e2-4f30-a4b5-c6d7e8f9a004";
const BEARER: &str = "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjQ2QjU5MEQ3IiwidHlwIjoiYXQrand0In0.c2hlcndlYi1maXh0dXJl.c2lnbmF0dXJl";

fn settings(server: &MockServer) -> Settings {
    Settings {
        client_id: CLIENT_ID.into(),
        api_url: Some(format!("{}/service-provider/v1", server.uri())),
        token_url: Some(format!("{}{TOKEN}", server.uri())),
    }
}

fn sherweb_with(settings: &Settings, key: &str, retry: RetryPolicy) -> anyhow::Result<Sherweb> {
    let key = key.to_string();
    let secret = move |field: &str| -> anyhow::Result<SecretString> {
        Ok(SecretString::from(match field {
            "client_secret" => SECRET.to_string(),
            "subscription_key" => key.clone(),
            other => anyhow::bail!("unexpected secret field {other}"),
        }))
    };
    Sherweb::new("sw", settings, &secret, retry)
}

fn sw(server: &MockServer, retry: RetryPolicy) -> Sherweb {
    sherweb_with(&settings(server), KEY, retry).expect("loopback URLs are accepted")
}

async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("scope=service-provider"))
        .respond_with(json("sherweb/token.json"))
        .mount(server)
        .await;
}

/// An API mock that only answers with both the bearer token and the gateway key.
fn api(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(p))
        .and(header("authorization", BEARER))
        .and(header("ocp-apim-subscription-key", KEY))
}

async fn mount_subs(server: &MockServer, customer: &str, rel: &str) {
    api(SUBS)
        .and(query_param("customerId", customer))
        .respond_with(json(rel))
        .mount(server)
        .await;
}

async fn mount_everything(server: &MockServer) {
    mount_token(server).await;
    api(CUSTOMERS)
        .respond_with(json("sherweb/customers.json"))
        .mount(server)
        .await;
    mount_subs(server, ACME, "sherweb/subscriptions_acme.json").await;
    mount_subs(server, GLOBEX, "sherweb/subscriptions_globex.json").await;
    mount_subs(server, INITECH, "sherweb/subscriptions_initech.json").await;
    mount_subs(server, UMBRELLA, "sherweb/subscriptions_none.json").await;
}

async fn full_sync(server: &MockServer) -> VendorSnapshot {
    mount_everything(server).await;
    vendor(
        sw(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

/// Units per service key (static services and the SKU family) over the whole snapshot.
fn units(snap: &VendorSnapshot) -> HashMap<String, Decimal> {
    let mut defs = services();
    for f in families() {
        defs.extend(f.expand(&snap.items));
    }
    defs.into_iter()
        .map(|d| {
            let n = snap.items.iter().map(|i| d.weight(i)).sum();
            (d.key, n)
        })
        .collect()
}

#[tokio::test]
async fn sync_reads_every_customer_and_each_ones_subscriptions() {
    let server = MockServer::start().await;
    mount_everything(&server).await;
    let (cx, progress) = recording_cx();
    let snap = vendor(sw(&server, fast_retry(3)).sync(&cx).await.unwrap());

    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Acme Dental Group",
            "Globex Corporation",
            "Initech",
            "Umbrella Research"
        ]
    );
    assert_eq!(snap.accounts[0].id, ACME);
    assert!(
        snap.accounts[1]
            .raw
            .as_deref()
            .unwrap()
            .contains("suspendedOn")
    );
    assert_eq!(snap.items.len(), 6, "3 + 1 + 2 + none (items: null)");
    assert!(snap.unreadable.is_empty());

    // One subscriptions call per customer, named by customerId (a few run at once).
    let mut asked: Vec<String> = requests_to(&server, SUBS)
        .await
        .iter()
        .map(|r| query(r)["customerId"].clone())
        .collect();
    asked.sort();
    assert_eq!(asked, [ACME, GLOBEX, INITECH, UMBRELLA]);
    // Items come in customer order whatever order the answers arrived in.
    let order: Vec<&str> = snap.items.iter().map(|i| i.account_id.as_str()).collect();
    assert_eq!(order, [ACME, ACME, ACME, GLOBEX, INITECH, INITECH]);
    assert_eq!(requests_to(&server, CUSTOMERS).await.len(), 1);

    // One token for the whole sync: the form the real endpoint takes, without the gateway key.
    let tokens = requests_to(&server, TOKEN).await;
    assert_eq!(tokens.len(), 1, "the token is cached");
    let form: HashMap<String, String> = url::form_urlencoded::parse(&tokens[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(form["scope"], "service-provider");
    assert!(!tokens[0].headers.contains_key("ocp-apim-subscription-key"));

    let progress = progress.lock().unwrap().clone();
    assert!(
        progress.contains(&("customers".to_string(), 4)),
        "{progress:?}"
    );
    assert!(
        progress.contains(&("subscriptions".to_string(), 6)),
        "{progress:?}"
    );
}

#[tokio::test]
async fn subscriptions_carry_quantity_sku_product_cycle_term_and_exact_fees() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let basic = snap
        .items
        .iter()
        .find(|i| i.id == "a4c1340d-6911-4758-bba3-0c4c6007d161")
        .unwrap();
    assert_eq!(basic.account_id, ACME);
    assert_eq!(basic.name, "Microsoft 365 Business Basic");
    assert_eq!(basic.class, SUBSCRIPTION);
    let a = &basic.attrs;
    assert_eq!(a["quantity"], "12");
    assert_eq!(a["sku"], "CFQ7TTC0LH18:0001");
    assert_eq!(a["product_name"], "Microsoft 365 Business Basic");
    assert_eq!(a["billing_cycle"], "Monthly");
    assert_eq!(a["commitment_term"], "Annual");
    assert_eq!(a["term_end_date"], "2026-01-13");
    assert_eq!(a["renewal_date"], "2026-01-14");
    assert_eq!(a["committed_minimums"], "10 until 2026-01-13");
    assert_eq!(a["currency"], "Usd");
    assert_eq!(dec(&a["recurring_fee"]), dec("7.20"));
    assert_eq!(a["recurring_fee"], "7.2");
    assert_eq!(a["customer_suspended"], "false");

    // No catalog item, no commitment: both null, nothing invented.
    let exo = snap
        .items
        .iter()
        .find(|i| i.attrs["sku"] == "CFQ7TTC0LH16:0001")
        .unwrap();
    assert!(!exo.attrs.contains_key("recurring_fee"));
    assert!(!exo.attrs.contains_key("commitment_term"));
    assert_eq!(exo.attrs["quantity"], "3");

    let acronis = snap
        .items
        .iter()
        .find(|i| i.attrs["sku"] == "ACR-CPC-WS-SEAT")
        .unwrap();
    assert_eq!(acronis.attrs["setup_fee"], "25");
    assert_eq!(acronis.attrs["recurring_fee"], "3.75");
}

#[tokio::test]
async fn services_count_quantities_per_sku_family_and_in_all() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let u = units(&snap);
    let expect = [
        ("subscriptions", "6"),
        ("seats", "52"),
        ("suspended-seats", "5"),
        ("cfq7ttc0lh18-0001", "21"),
        ("cfq7ttc0lchc-0002", "8"),
        ("cfq7ttc0lh16-0001", "3"),
        ("acr-cpc-ws-seat", "20"),
    ];
    for (key, n) in expect {
        assert_eq!(u.get(key).copied(), Some(dec(n)), "{key}: {u:?}");
    }
    assert_eq!(u.len(), expect.len(), "{u:?}");
    // The family service takes the product name as its display name.
    let fam = families()[0].expand(&snap.items);
    let basic = fam.iter().find(|s| s.key == "cfq7ttc0lh18-0001").unwrap();
    assert_eq!(basic.name, "Microsoft 365 Business Basic");
    // Acme alone: 12 Business Basic seats.
    let acme: Decimal = snap
        .items
        .iter()
        .filter(|i| i.account_id == ACME)
        .map(|i| basic.weight(i))
        .sum();
    assert_eq!(acme, dec("12"));
}

#[tokio::test]
async fn a_suspended_customers_subscriptions_are_flagged_and_still_counted() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let g: Vec<_> = snap
        .items
        .iter()
        .filter(|i| i.account_id == GLOBEX)
        .collect();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].class, SUSPENDED);
    assert_eq!(g[0].attrs["customer_suspended"], "true");
    assert_eq!(
        g[0].attrs["customer_suspended_on"],
        "2024-09-30T18:42:07.5531290"
    );
    assert_eq!(g[0].attrs["billing_cycle"], "Yearly");
    let counted: Vec<String> = services()
        .into_iter()
        .filter(|d| d.counts(g[0]))
        .map(|d| d.key)
        .collect();
    assert_eq!(counted, ["subscriptions", "seats", "suspended-seats"]);
}

#[tokio::test]
async fn unknown_enum_values_are_kept_listed_and_counted() {
    let server = MockServer::start().await;
    let snap = full_sync(&server).await;
    let odd = snap
        .items
        .iter()
        .find(|i| i.id == "8d9e0f1a-2b3c-4d4e-8f5a-6b7c8d9e0f62")
        .unwrap();
    assert_eq!(odd.attrs["billing_cycle"], "Quarterly");
    assert_eq!(odd.attrs["commitment_term"], "Quinquennial");
    assert_eq!(odd.attrs["currency"], "Chf");
    assert_eq!(
        odd.attrs["unknown_values"],
        "billing_cycle=Quarterly, currency=Chf, commitment_term=Quinquennial"
    );
    let seats = services().into_iter().find(|s| s.key == "seats").unwrap();
    assert_eq!(seats.weight(odd), dec("4"));
}

#[tokio::test]
async fn check_lists_customers_and_says_how_many_are_suspended() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    api(CUSTOMERS)
        .respond_with(json("sherweb/customers.json"))
        .expect(1)
        .mount(&server)
        .await;
    let msg = sw(&server, fast_retry(3)).check().await.unwrap();
    assert!(msg.contains("scope `service-provider`"), "{msg}");
    assert!(
        msg.contains("4 customers are readable (1 suspended)"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET) && !msg.contains(KEY), "{msg}");
}

#[tokio::test]
async fn a_customer_the_api_cannot_find_is_unreadable_not_zero() {
    let server = MockServer::start().await;
    api(SUBS)
        .and(query_param("customerId", UMBRELLA))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            fixture("sherweb/customer_not_found.json"),
            "application/json",
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    let snap = full_sync(&server).await;
    assert_eq!(snap.items.len(), 6);
    assert_eq!(snap.unreadable.len(), 1);
    let why = &snap.unreadable[UMBRELLA];
    assert!(
        why.contains("HTTP 404") && why.contains("was not found"),
        "{why}"
    );
    assert!(snap.unreadable_notes()[0].starts_with("Umbrella Research was not read"));
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let server = MockServer::start().await;
    let mut s = settings(&server);
    s.api_url = Some("http://api.sherweb.com/service-provider/v1".into());
    s.token_url = None;
    let err = sherweb_with(&s, KEY, fast_retry(1)).expect_err("plain http is refused");
    assert!(err.to_string().contains("only https"), "{err}");
}

#[tokio::test]
async fn when_no_customer_can_be_read_the_sync_fails() {
    let server = MockServer::start().await;
    api(SUBS)
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"{"title":"Bad Request","status":400,"detail":"The customerId field is required."}"#,
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_everything(&server).await;
    let err = sw(&server, fast_retry(3))
        .sync(&SyncCx::silent())
        .await
        .expect_err("nothing read is a failure");
    let msg = err.to_string();
    assert!(
        msg.contains("GET /service-provider/v1/billing/subscriptions answered HTTP 400"),
        "{msg}"
    );
    assert!(msg.contains("customerId field is required"), "{msg}");
}

/// Customers and subscriptions served from the `odd_*` fixtures: what the spec allows (null
/// `fees`, `commitmentTerm`, `renewalConfiguration`, `scheduledQuantity`, `suspendedOn`),
/// unknown enum values, int32 at its end, extra fields, values of the wrong type, and records
/// without an id.
async fn odd_sync(server: &MockServer) -> VendorSnapshot {
    mount_token(server).await;
    api(CUSTOMERS)
        .respond_with(json("sherweb/odd_customers.json"))
        .mount(server)
        .await;
    mount_subs(server, ACME, "sherweb/odd_subscriptions_acme.json").await;
    mount_subs(server, GLOBEX, "sherweb/subscriptions_globex.json").await;
    mount_subs(server, INITECH, "sherweb/odd_subscriptions_initech.json").await;
    vendor(
        sw(server, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("odd values never fail the sync"),
    )
}

#[tokio::test]
async fn odd_values_are_unknown_for_their_record_and_never_fail_the_sync() {
    let server = MockServer::start().await;
    let snap = odd_sync(&server).await;
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Acme Dental Group",
            &format!("customer {GLOBEX}"),
            "Initech"
        ],
        "a null display name falls back to the id"
    );
    let sub = |id: &str| {
        snap.items
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    };

    // Acme: counted as sent; unknown enum values kept, odd fields named.
    let premium = sub("a1f0c2d3-0000-4000-8000-000000000001");
    assert_eq!(premium.attrs["quantity"], "2147483647");
    assert_eq!(premium.attrs["unknown_values"], "billing_cycle=Fortnightly");
    assert!(!premium.attrs.contains_key("odd_fields"));
    let backup = sub("a1f0c2d3-0000-4000-8000-000000000002");
    assert_eq!(
        backup.name,
        "subscription a1f0c2d3-0000-4000-8000-000000000002"
    );
    assert_eq!(backup.attrs["odd_fields"], "purchaseDate");
    assert!(!backup.attrs.contains_key("purchase_date"));
    assert_eq!(backup.attrs["recurring_fee"], "99999999999.9999");
    assert_eq!(
        backup.attrs["unknown_values"],
        "currency=Jpy, commitment_term=Quinquennial"
    );
    assert!(!backup.attrs.contains_key("renewal_quantity"));
    assert!(!snap.unreadable.contains_key(ACME), "{:?}", snap.unreadable);
    let seats: Decimal = snap
        .items
        .iter()
        .filter(|i| i.account_id == ACME)
        .map(|i| services()[1].weight(i))
        .sum();
    assert_eq!(seats, Decimal::from(2147483647));

    // Globex: whether it is suspended is unknown, so its counts are.
    assert_eq!(
        snap.unreadable[GLOBEX],
        format!(
            "its counts are unknown: customer {GLOBEX} has no readable suspension state (`suspendedOn`)"
        )
    );
    // Initech: a quantity and a SKU that cannot be read are not read as 0 or as no SKU.
    let why = &snap.unreadable[INITECH];
    for says in [
        "subscription c3f1e2d4-0000-4000-8000-000000000001 (Exchange Online (Plan 1)) has no readable quantity (`quantity`)",
        "subscription c3f1e2d4-0000-4000-8000-000000000002 (Teams Phone Standard) has no readable SKU (`sku`)",
    ] {
        assert!(why.contains(says), "{why}");
    }
    assert!(
        !sub("c3f1e2d4-0000-4000-8000-000000000001")
            .attrs
            .contains_key("quantity")
    );
    assert_eq!(
        sub("c3f1e2d4-0000-4000-8000-000000000002").attrs["odd_fields"],
        "sku"
    );
    assert_eq!(
        sub("c3f1e2d4-0000-4000-8000-000000000004").attrs["quantity"],
        "7"
    );

    // Records with no id are set aside, named by endpoint, place and reason.
    assert_eq!(
        snap.set_aside,
        [
            "GET /service-provider/v1/customers items[3]: missing field `id`".to_string(),
            format!(
                "GET /service-provider/v1/billing/subscriptions?customerId={INITECH} items[2]: missing field `id`"
            ),
        ]
    );
    let note = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(note.starts_with("2 records set aside"), "{note}");
}

/// The shared HTTP contract: refusals and lasting faults at the customers list (what `check`
/// reads too), a 429 or 5xx on Globex's subscriptions, bad bodies at the subscriptions.
struct SherwebCase;

impl Case for SherwebCase {
    const CONNECTION: &'static str = "sw";
    const SECRETS: &'static [&'static str] = &[SECRET, KEY];
    const UNAUTHORIZED: Refusal = Refusal {
        body: Some("sherweb/unauthorized_apim.json"),
        says: &[
            "invalid subscription key",
            "copy the Subscription Key",
            "reconcile connect sherweb --name sw --client-id 7d1c9a52-6b0e-4f4e-9a51-3c2b1d0e9f88",
        ],
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("sherweb/forbidden.json"),
        says: &["`service-provider` scope", "Service Provider API"],
        requests: 2,
    };
    const CUT_OFF: Option<&'static str> = Some("sherweb/subscriptions_truncated.json");

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(sw(server, retry))
    }

    async fn mount(server: &MockServer) {
        mount_everything(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(CUSTOMERS)
    }

    fn transient() -> Endpoint {
        Endpoint::get(SUBS).with_query("customerId", GLOBEX)
    }

    fn decoded() -> Endpoint {
        Endpoint::get(SUBS)
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            // Not the documented list: `items` is one subscription, not a list of them.
            serde_json::json!({
                "items": {"id": "x", "productName": "P", "sku": "S", "quantity": 12}
            })
            .to_string(),
            "items",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(TOKEN))
    }
}

impl OAuthCase for SherwebCase {
    const REFUSED_CLIENT_STATUS: u16 = 400;
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("sherweb/token_invalid_client.json"),
        says: &[
            "invalid_client",
            "Security > APIs",
            "reconcile connect sherweb --name sw --client-id 7d1c9a52-6b0e-4f4e-9a51-3c2b1d0e9f88",
        ],
        requests: 1,
    };
}

contract_suite!(sherweb_contract, SherwebCase, oauth);
