//! Microsoft 365: per-tenant tokens, GDAP customer paging, subscribedSkus paging, purchased and
//! assigned seats per SKU, Partner Center subscriptions with continuation tokens, tenants
//! without consent skipped by name, and the failure modes.

use std::collections::HashSet;

use reconcile::connectors::KindSettings;
use reconcile::connectors::m365::{
    AuthMode, LICENSE, M365, SUBSCRIPTION, SUBSCRIPTION_INACTIVE, Settings, Tenant, families,
};
use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::{UsageItem, VendorSnapshot};
use rust_decimal::Decimal;
use secrecy::SecretString;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{fast_retry, fixture, query, requests_to, vendor};
use crate::kit::{Case, Endpoint, OAuthCase, Refusal, WrongShape, contract_suite};

const SECRET: &str = "m365-client-secret-do-not-print";
const REFRESH: &str = "m365-refresh-token-do-not-print";
const CLIENT: &str = "a3c9e1f2-5b7d-4e8a-9c0b-1d2e3f4a5b6c";
const PARTNER: &str = "1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const CONTOSO: &str = "6a1c2f4e-0d55-4b8e-9c1a-3f2e5d7b9a01";
const FABRIKAM: &str = "8b2d3e5f-1e66-4c9f-8d2b-4a3f6e8c0b12";
const NORTHWIND: &str = "9c3e4f60-2f77-4da0-9e3c-5b4a7f9d1c23";
const SKUS: &str = "/v1.0/subscribedSkus";
const GDAP: &str = "/v1.0/tenantRelationships/delegatedAdminCustomers";

/// A fixture with `{{BASE}}` (next links) pointing at the mock server.
fn body(server: &MockServer, rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        fixture(rel).replace("{{BASE}}", &server.uri()),
        "application/json",
    )
}

/// The token endpoint of every tenant: `tok-<tenant>` (with `-<n>` after the first), or
/// AADSTS65001 for the tenants without consent.
struct Tokens {
    no_consent: HashSet<&'static str>,
}

impl Respond for Tokens {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let tenant = req.url.path().split('/').nth(1).unwrap_or_default();
        if self.no_consent.contains(tenant) {
            return ResponseTemplate::new(400).set_body_raw(
                fixture("m365/token_consent_required.json"),
                "application/json",
            );
        }
        let form = String::from_utf8_lossy(&req.body).to_string();
        assert!(form.contains(&format!("client_id={CLIENT}")), "{form}");
        assert!(form.contains("client_secret="), "{form}");
        ResponseTemplate::new(200).set_body_raw(
            fixture("m365/token.json").replace("{{TOKEN}}", &format!("tok-{tenant}")),
            "application/json",
        )
    }
}

fn bearer(tenant: &str) -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer tok-{tenant}").as_str())
}

async fn mount_tokens(server: &MockServer, no_consent: &[&'static str]) {
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(
            r"^/[^/]+/oauth2/v2\.0/token$",
        ))
        .respond_with(Tokens {
            no_consent: no_consent.iter().copied().collect(),
        })
        .mount(server)
        .await;
}

/// `GET path` as `tenant`: the page after `skiptoken`, or without one the first page.
async fn mount_page(
    server: &MockServer,
    p: &str,
    tenant: &str,
    skiptoken: Option<&str>,
    rel: &str,
) {
    let m = Mock::given(method("GET")).and(path(p)).and(bearer(tenant));
    let (m, priority) = match skiptoken {
        Some(t) => (m.and(query_param("$skiptoken", t)), 1),
        None => (m, 5),
    };
    m.respond_with(body(server, rel))
        .with_priority(priority)
        .mount(server)
        .await;
}

async fn mount_gdap(server: &MockServer) {
    let next = Some("RFNwdAIAAQAAAA");
    mount_page(
        server,
        GDAP,
        PARTNER,
        next,
        "m365/gdap_customers_page2.json",
    )
    .await;
    mount_page(
        server,
        GDAP,
        PARTNER,
        None,
        "m365/gdap_customers_page1.json",
    )
    .await;
}

async fn mount_skus(server: &MockServer) {
    let next = Some("X'74657374'");
    mount_page(server, SKUS, CONTOSO, next, "m365/skus_contoso_page2.json").await;
    mount_page(server, SKUS, CONTOSO, None, "m365/skus_contoso_page1.json").await;
    mount_page(server, SKUS, FABRIKAM, None, "m365/skus_fabrikam.json").await;
}

fn settings(server: &MockServer) -> Settings {
    Settings {
        partner_tenant_id: PARTNER.into(),
        client_id: CLIENT.into(),
        auth: AuthMode::ClientCredentials,
        tenants: Vec::new(),
        token_host: Some(server.uri()),
        graph_host: Some(server.uri()),
        partner_center: false,
        partner_center_host: Some(server.uri()),
    }
}

fn connector(settings: &Settings, retry: RetryPolicy) -> M365 {
    let secret = |field: &str| -> anyhow::Result<SecretString> {
        match field {
            "client_secret" => Ok(SecretString::from(SECRET)),
            "refresh_token" => Ok(SecretString::from(REFRESH)),
            other => anyhow::bail!("no secret {other}"),
        }
    };
    M365::new("m365", settings, &secret, retry).expect("loopback hosts are accepted")
}

/// Tenants for the `tenants` setting: (id, name).
fn tenants(list: &[(&str, Option<&str>)]) -> Vec<Tenant> {
    list.iter()
        .map(|(id, name)| Tenant {
            id: id.to_string(),
            name: name.map(str::to_string),
        })
        .collect()
}

async fn synced(s: &Settings) -> VendorSnapshot {
    vendor(
        connector(s, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("sync succeeds"),
    )
}

async fn sync_err(s: &Settings) -> ConnectorError {
    connector(s, fast_retry(2))
        .sync(&SyncCx::silent())
        .await
        .expect_err("the sync must fail")
}

fn item<'a>(snap: &'a VendorSnapshot, tenant: &str, sku: &str) -> &'a UsageItem {
    snap.items
        .iter()
        .find(|i| i.account_id == tenant && i.attrs.get("sku").map(String::as_str) == Some(sku))
        .unwrap_or_else(|| panic!("no {sku} in {tenant}: {:#?}", snap.items))
}

/// The family service `key`'s total over one tenant's items.
fn total(snap: &VendorSnapshot, tenant: &str, key: &str) -> Decimal {
    let def = families()
        .iter()
        .find_map(|f| f.service_for_key(key))
        .unwrap_or_else(|| panic!("{key} is no family key"));
    snap.items
        .iter()
        .filter(|i| i.account_id == tenant && def.counts(i))
        .map(|i| def.weight(i))
        .sum()
}

#[tokio::test]
async fn gdap_tenants_each_get_a_token_and_every_page_is_read() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[NORTHWIND]).await;
    mount_gdap(&server).await;
    mount_skus(&server).await;
    // A tenant without consent does not fail the sync.
    let snap = synced(&settings(&server)).await;

    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Contoso Ltd", "Fabrikam Inc", "Northwind Traders"]);
    assert_eq!(snap.items.len(), 6, "{:#?}", snap.items);
    assert_eq!(
        snap.items
            .iter()
            .filter(|i| i.account_id == CONTOSO)
            .count(),
        3,
        "both subscribedSkus pages"
    );

    // Northwind: listed, no items, the reason names the code and what to do.
    assert_eq!(snap.unreadable.len(), 1);
    let why = &snap.unreadable[NORTHWIND];
    assert!(why.contains("AADSTS65001"), "{why}");
    assert!(why.contains("consent"), "{why}");
    assert!(
        why.contains(&format!("/{NORTHWIND}/adminconsent?client_id={CLIENT}")),
        "{why}"
    );
    assert!(!snap.items.iter().any(|i| i.account_id == NORTHWIND));
    let notes = snap.unreadable_notes();
    assert!(notes[0].contains("Northwind Traders"), "{notes:?}");

    // One token request per tenant (partner for GDAP, then each customer), each to its own
    // tenant's endpoint, each with the Graph scope of the configured host.
    let token_requests: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(
        token_requests.len(),
        4,
        "one token per tenant, reused across pages"
    );
    let tenants: HashSet<String> = token_requests
        .iter()
        .map(|r| r.url.path().split('/').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(
        tenants,
        [PARTNER, CONTOSO, FABRIKAM, NORTHWIND]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    for r in &token_requests {
        let form = String::from_utf8_lossy(&r.body);
        assert!(form.contains("grant_type=client_credentials"), "{form}");
        assert!(form.contains("scope=http%3A%2F%2F127.0.0.1"), "{form}");
        assert!(form.contains("%2F.default"), "{form}");
    }
    let gdap = requests_to(&server, GDAP).await;
    assert_eq!(gdap.len(), 2);
    assert_eq!(query(&gdap[0])["$top"], "300");
}

#[tokio::test]
async fn purchased_and_assigned_seats_per_sku_with_flags() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[NORTHWIND]).await;
    mount_gdap(&server).await;
    mount_skus(&server).await;
    let snap = synced(&settings(&server)).await;

    let e3 = item(&snap, CONTOSO, "SPE_E3");
    assert_eq!(e3.class, LICENSE);
    assert_eq!(e3.name, "Microsoft 365 E3");
    assert_eq!(e3.attrs["purchased"], "17", "enabled 15 + warning 2");
    assert_eq!(e3.attrs["assigned"], "14");
    assert_eq!(total(&snap, CONTOSO, "spe_e3:purchased"), Decimal::from(17));
    assert_eq!(total(&snap, CONTOSO, "spe_e3:assigned"), Decimal::from(14));

    // Business Premium in its grace period: warning units still billed.
    assert_eq!(total(&snap, FABRIKAM, "spb:purchased"), Decimal::from(25));
    assert_eq!(total(&snap, FABRIKAM, "spb:assigned"), Decimal::from(22));

    let credits = item(&snap, CONTOSO, "MCOPSTNC");
    assert_eq!(credits.attrs["company_level"], "true");
    assert_eq!(credits.name, "Communications Credits");
    let flow = item(&snap, CONTOSO, "FLOW_FREE");
    assert_eq!(flow.attrs["free"], "true");
    let trial = item(&snap, FABRIKAM, "POWER_BI_PRO_TRIAL");
    assert_eq!(trial.attrs["trial"], "true");
    assert_eq!(
        trial.attrs["purchased"], "0",
        "suspended units are not purchased"
    );
    assert_eq!(trial.attrs["suspended"], "5");
    assert_eq!(trial.attrs["capability_status"], "Suspended");

    // Unknown capabilityStatus / appliesTo: kept, flagged, still counted.
    let pilot = item(&snap, FABRIKAM, "CONTOSO_PILOT_SKU");
    assert_eq!(
        pilot.name, "CONTOSO_PILOT_SKU",
        "unknown part numbers keep their name"
    );
    assert_eq!(pilot.attrs["capability_status"], "PendingActivation");
    assert_eq!(pilot.attrs["unknown_capability_status"], "true");
    assert_eq!(pilot.attrs["applies_to"], "Tenant");
    assert_eq!(pilot.attrs["unknown_applies_to"], "true");
    assert_eq!(
        total(&snap, FABRIKAM, "contoso_pilot_sku:purchased"),
        Decimal::from(5)
    );

    // The families expand to one service per SKU seen, named readably.
    let defs = families()[0].expand(snap.items.iter());
    let names: Vec<(&str, &str)> = defs
        .iter()
        .map(|d| (d.key.as_str(), d.name.as_str()))
        .collect();
    assert!(
        names.contains(&("spe_e3:purchased", "Microsoft 365 E3 (purchased)")),
        "{names:?}"
    );
    assert_eq!(defs.len(), 6, "{names:?}");
}

#[tokio::test]
async fn configured_tenants_skip_gdap_and_keep_their_names() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    mount_skus(&server).await;
    let mut s = settings(&server);
    s.tenants = tenants(&[(CONTOSO, Some("Contoso (config)")), (FABRIKAM, None)]);
    let snap = synced(&s).await;
    assert!(requests_to(&server, GDAP).await.is_empty());
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, [FABRIKAM, "Contoso (config)"], "sorted by name");
    assert!(snap.unreadable.is_empty());
    assert_eq!(snap.items.len(), 6);
}

#[tokio::test]
async fn graph_403_on_one_tenant_names_the_permission_and_skips_only_it() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    mount_gdap(&server).await;
    mount_skus(&server).await;
    Mock::given(method("GET"))
        .and(path(SKUS))
        .and(bearer(NORTHWIND))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw(fixture("m365/graph_forbidden.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let snap = synced(&settings(&server)).await;
    let why = &snap.unreadable[NORTHWIND];
    assert!(why.contains("LicenseAssignment.Read.All"), "{why}");
    assert!(why.contains("403"), "{why}");
    assert_eq!(snap.items.len(), 6);

    // In refresh-token mode the missing piece is a GDAP role.
    let mut s = settings(&server);
    s.auth = AuthMode::RefreshToken;
    let snap = synced(&s).await;
    assert!(
        snap.unreadable[NORTHWIND].contains("GDAP"),
        "{:?}",
        snap.unreadable
    );
}

#[tokio::test]
async fn refresh_token_mode_redeems_the_token_in_each_tenant() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    mount_skus(&server).await;
    let mut s = settings(&server);
    s.auth = AuthMode::RefreshToken;
    s.tenants = tenants(&[(CONTOSO, None)]);
    synced(&s).await;
    let reqs = requests_to(&server, &format!("/{CONTOSO}/oauth2/v2.0/token")).await;
    assert_eq!(reqs.len(), 1);
    let form = String::from_utf8_lossy(&reqs[0].body);
    assert!(form.contains("grant_type=refresh_token"), "{form}");
    assert!(form.contains(&format!("refresh_token={REFRESH}")), "{form}");
}

#[tokio::test]
async fn a_401_refreshes_the_tenant_token_once() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    mount_skus(&server).await;
    Mock::given(method("GET"))
        .and(path(SKUS))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            r#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}"#,
            "application/json",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.tenants = tenants(&[(FABRIKAM, None)]);
    let snap = synced(&s).await;
    assert_eq!(snap.items.len(), 3);
    assert_eq!(
        requests_to(&server, &format!("/{FABRIKAM}/oauth2/v2.0/token"))
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn partner_center_subscriptions_page_with_continuation_tokens() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    mount_skus(&server).await;
    let subs = format!("/v1/customers/{CONTOSO}/subscriptions");
    Mock::given(method("GET"))
        .and(path(subs.as_str()))
        .and(bearer(PARTNER))
        .and(query_param("seekOperation", "Next"))
        .and(header("MS-ContinuationToken", "AQABAAAAWNsQ2gT2pX"))
        .respond_with(body(&server, "m365/pc_subscriptions_page2.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(subs.as_str()))
        .and(bearer(PARTNER))
        .respond_with(body(&server, "m365/pc_subscriptions_page1.json"))
        .mount(&server)
        .await;
    // Fabrikam bought elsewhere: Partner Center does not know it.
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{FABRIKAM}/subscriptions")))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            r#"{"code":600010,"description":"Customer not found","errorName":"CustomerNotFound","data":[],"source":"PartnerFD"}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.partner_center = true;
    s.tenants = tenants(&[(CONTOSO, Some("Contoso")), (FABRIKAM, Some("Fabrikam"))]);
    let snap = synced(&s).await;
    let subs: Vec<&UsageItem> = snap
        .items
        .iter()
        .filter(|i| i.class == SUBSCRIPTION || i.class == SUBSCRIPTION_INACTIVE)
        .collect();
    assert_eq!(subs.len(), 3, "both pages");
    let e3 = subs
        .iter()
        .find(|i| i.attrs["offer_id"] == "CFQ7TTC0LFLZ:0002:CFQ7TTC0KDHF")
        .unwrap();
    assert_eq!(e3.attrs["quantity"], "17");
    assert_eq!(e3.attrs["term"], "P1Y");
    assert_eq!(e3.attrs["commitment_end_date"], "2024-06-30T00:00:00Z");
    assert_eq!(e3.attrs["status"], "active");
    assert_eq!(e3.attrs["billing_cycle"], "monthly");
    assert_eq!(
        total(&snap, CONTOSO, "cfq7ttc0lflz-0002-cfq7ttc0kdhf:subscribed"),
        Decimal::from(17)
    );
    // The suspended subscription is kept but counted by nothing.
    assert_eq!(
        total(&snap, CONTOSO, "cfq7ttc0lh18-0001-cfq7ttc0k971:subscribed"),
        Decimal::ZERO
    );
    assert_eq!(
        total(&snap, CONTOSO, "cfq7ttc0lchc-0002-cfq7ttc0kdfm:subscribed"),
        Decimal::from(12)
    );
    let second = requests_to(&server, &format!("/v1/customers/{CONTOSO}/subscriptions")).await;
    assert_eq!(second.len(), 2);
    assert_eq!(query(&second[1])["seekOperation"], "Next");
    // The Partner Center token is the partner tenant's, for the Partner Center audience.
    let token_forms: Vec<String> = requests_to(&server, &format!("/{PARTNER}/oauth2/v2.0/token"))
        .await
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .collect();
    assert_eq!(token_forms.len(), 1, "{token_forms:?}");
}

#[tokio::test]
async fn partner_center_403_names_the_app_registration() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    mount_skus(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{FABRIKAM}/subscriptions")))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            r#"{"code":900001,"description":"Forbidden","errorName":"Forbidden","data":[]}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.partner_center = true;
    s.tenants = tenants(&[(FABRIKAM, None)]);
    let err = sync_err(&s).await;
    assert!(err.to_string().contains("App management"), "{err}");
}

#[tokio::test]
async fn next_links_to_another_host_are_not_followed() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    Mock::given(method("GET"))
        .and(path(SKUS))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"value":[],"@odata.nextLink":"https://evil.example.com/v1.0/subscribedSkus?$skiptoken=1"}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.tenants = tenants(&[(FABRIKAM, None)]);
    let err = sync_err(&s).await;
    assert!(err.to_string().contains("not followed"), "{err}");
}

#[tokio::test]
async fn check_counts_gdap_customers() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    mount_gdap(&server).await;
    let msg = connector(&settings(&server), fast_retry(2))
        .check()
        .await
        .unwrap();
    assert!(msg.contains("3 GDAP customer tenants are listed"), "{msg}");
    assert!(msg.contains(PARTNER), "{msg}");
}

#[tokio::test]
async fn settings_reject_plain_http_hosts() {
    let server = MockServer::start().await;
    let mut s = settings(&server);
    s.token_host = Some("http://login.example.com".into());
    s.graph_host = None;
    s.partner_center_host = None;
    let err = s.validate("m365").unwrap_err().to_string();
    assert!(
        err.contains("token_host") && err.contains("only https"),
        "{err}"
    );
    s.token_host = None;
    s.validate("m365").unwrap();
}

#[tokio::test]
async fn check_with_listed_tenants_signs_in_to_the_partner_tenant_only() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    let mut s = settings(&server);
    s.tenants = tenants(&[(CONTOSO, None), (NORTHWIND, None)]);
    let msg = connector(&s, fast_retry(2)).check().await.unwrap();
    assert!(msg.contains("2 customer tenants are configured"), "{msg}");
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1, "one token request, nothing else");
    assert_eq!(reqs[0].url.path(), format!("/{PARTNER}/oauth2/v2.0/token"));
}

#[tokio::test]
async fn a_next_link_to_the_same_page_stops_instead_of_looping() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[]).await;
    Mock::given(method("GET"))
        .and(path(SKUS))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(
                r#"{{"value":[],"@odata.nextLink":"{}/v1.0/subscribedSkus"}}"#,
                server.uri()
            ),
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.tenants = tenants(&[(FABRIKAM, None)]);
    let err = sync_err(&s).await;
    assert!(err.to_string().contains("never end"), "{err}");
    assert_eq!(requests_to(&server, SKUS).await.len(), 1);
}

/// The shared HTTP contract in GDAP mode: refusals and lasting faults at the partner's GDAP
/// customer list (what `check` reads too), a 429 or 5xx on Contoso's second page of SKUs, bad
/// bodies at Fabrikam's SKUs. A customer tenant that refuses the app is skipped by name, not a
/// failure: `gdap_tenants_each_get_a_token_and_every_page_is_read` and
/// `graph_403_on_one_tenant_names_the_permission_and_skips_only_it`.
/// GDAP, both tenants' SKUs and Fabrikam's Partner Center subscriptions served from the
/// `odd_*` fixtures: oddities the Graph spec allows (nearly every field nullable, int32 at
/// its ends, unknown enum values, extra fields), records with no id, and seat counts that
/// cannot be read.
async fn odd_sync(server: &MockServer) -> VendorSnapshot {
    mount_tokens(server, &[]).await;
    mount_page(server, GDAP, PARTNER, None, "m365/odd_gdap_customers.json").await;
    mount_page(server, SKUS, CONTOSO, None, "m365/odd_skus_contoso.json").await;
    mount_page(server, SKUS, FABRIKAM, None, "m365/odd_skus_fabrikam.json").await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{FABRIKAM}/subscriptions")))
        .respond_with(body(server, "m365/odd_pc_subscriptions_fabrikam.json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{CONTOSO}/subscriptions")))
        .respond_with(ResponseTemplate::new(404))
        .mount(server)
        .await;
    let mut s = settings(server);
    s.partner_center = true;
    vendor(
        connector(&s, fast_retry(3))
            .sync(&SyncCx::silent())
            .await
            .expect("odd values the spec allows never fail the sync"),
    )
}

#[tokio::test]
async fn spec_valid_oddities_are_unknown_for_their_record_and_never_fail_the_sync() {
    let server = MockServer::start().await;
    let snap = odd_sync(&server).await;

    // A GDAP customer with no tenant id is set aside; a null display name falls back to the id.
    let names: Vec<&str> = snap.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, [FABRIKAM, "Contoso Ltd"], "sorted by name");

    // Contoso: int32 at its ends, null nullable fields and extra fields are read as sent.
    let e3 = item(&snap, CONTOSO, "SPE_E3");
    assert_eq!(e3.attrs["purchased"], "2147483647");
    assert_eq!(e3.attrs["assigned"], "2147483647");
    assert_eq!(e3.attrs["suspended"], "-2147483648");
    assert!(!e3.attrs.contains_key("locked_out"));
    assert_eq!(
        e3.attrs["subscription_ids"], "2b1c0d9e-8f7a-4b6c-9d5e-4f3a2b1c0d9e",
        "a null element of `subscriptionIds` is skipped"
    );
    assert!(!e3.attrs.contains_key("odd_fields"), "{:?}", e3.attrs);
    assert_eq!(
        total(&snap, CONTOSO, "spe_e3:purchased"),
        Decimal::from(2147483647)
    );
    // No part number: the SKU goes by its GUID; an `appliesTo` of the wrong type is unknown.
    let guid = "3b555118-da6a-4418-894f-7df1e2096870";
    let plain = item(&snap, CONTOSO, guid);
    assert_eq!(plain.attrs["purchased"], "6");
    assert_eq!(plain.attrs["assigned"], "3");
    assert_eq!(plain.attrs["odd_fields"], "appliesTo");
    assert_eq!(plain.attrs["unknown_capability_status"], "true");
    assert!(!plain.attrs.contains_key("applies_to"));
    assert_eq!(
        total(&snap, CONTOSO, &format!("{guid}:purchased")),
        Decimal::from(6)
    );
    assert!(
        !snap.unreadable.contains_key(CONTOSO),
        "{:?}",
        snap.unreadable
    );
    assert_eq!(
        snap.items
            .iter()
            .filter(|i| i.account_id == CONTOSO)
            .count(),
        2,
        "the SKU with neither `id` nor `skuId` is set aside"
    );

    // Fabrikam: seat counts, a SKU and a subscription quantity that cannot be read are not
    // read as 0: the tenant is unreadable, naming each record and field.
    let why = &snap.unreadable[FABRIKAM];
    for says in [
        "SKU O365_BUSINESS_ESSENTIALS (8b2d3e5f-1e66-4c9f-8d2b-4a3f6e8c0b12_4b585984-651b-448a-9e53-3b10f069cf7f) has no readable purchased units (`prepaidUnits.enabled`, `prepaidUnits.warning`), assigned units (`consumedUnits`)",
        "SKU 8b2d3e5f-1e66-4c9f-8d2b-4a3f6e8c0b12_00000000-0000-0000-0000-00000000abcd has no readable SKU (`skuPartNumber`, `skuId`)",
        "Partner Center subscription 7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d (Microsoft 365 E3) has no readable quantity (`quantity`)",
    ] {
        assert!(why.contains(says), "{why}");
    }
    let basic = item(&snap, FABRIKAM, "O365_BUSINESS_ESSENTIALS");
    assert_eq!(basic.attrs["odd_fields"], "prepaidUnits.enabled");
    assert!(!basic.attrs.contains_key("purchased") && !basic.attrs.contains_key("assigned"));
    assert_eq!(item(&snap, FABRIKAM, "SPB").attrs["purchased"], "25");
    let sub = |id: &str| {
        snap.items
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    };
    let premium = sub("5e4f3a2b-1c0d-4e9f-8a7b-6c5d4e3f2a1b");
    assert_eq!(premium.class, SUBSCRIPTION);
    assert_eq!(premium.attrs["quantity"], "2147483647");
    let hibernating = sub("6f5a4b3c-2d1e-4f0a-9b8c-7d6e5f4a3b2c");
    assert_eq!(hibernating.class, SUBSCRIPTION_INACTIVE);
    assert_eq!(hibernating.attrs["unknown_status"], "true");
    assert!(
        !sub("7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d")
            .attrs
            .contains_key("quantity")
    );

    // Records with no id are set aside, each named by endpoint, place and reason.
    assert_eq!(snap.set_aside.len(), 3, "{:#?}", snap.set_aside);
    assert!(
        snap.set_aside[0]
            .starts_with("GET /v1.0/tenantRelationships/delegatedAdminCustomers value[2]: ")
            && snap.set_aside[0].contains("tenantId"),
        "{:?}",
        snap.set_aside
    );
    assert!(
        snap.set_aside[1].starts_with(&format!(
            "GET /v1/customers/{FABRIKAM}/subscriptions items[3]: "
        )) && snap.set_aside[1].contains("missing field `id`"),
        "{:?}",
        snap.set_aside
    );
    assert_eq!(
        snap.set_aside[2],
        format!(
            "tenant {CONTOSO}: GET /v1.0/subscribedSkus value[2]: neither `id` nor `skuId` is readable"
        )
    );
    let note = reconcile::model::set_aside_note(&snap.set_aside).unwrap();
    assert!(note.starts_with("3 records set aside"), "{note}");
}

struct M365Case;

impl Case for M365Case {
    const CONNECTION: &'static str = "m365";
    const SECRETS: &'static [&'static str] = &[SECRET, REFRESH];
    const UNAUTHORIZED: Refusal = Refusal {
        body: None,
        says: &[
            "Certificates & secrets",
            "reconcile connect m365 --name m365",
        ],
        requests: 2,
    };
    const FORBIDDEN: Refusal = Refusal {
        body: Some("m365/graph_forbidden.json"),
        says: &[
            "Authorization_RequestDenied",
            "DelegatedAdminRelationship.Read.All",
            "`tenants`",
        ],
        requests: 2,
    };

    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector> {
        Box::new(connector(&settings(server), retry))
    }

    async fn mount(server: &MockServer) {
        mount_tokens(server, &[NORTHWIND]).await;
        mount_gdap(server).await;
        mount_skus(server).await;
    }

    fn endpoint() -> Endpoint {
        Endpoint::get(GDAP)
    }

    fn transient() -> Endpoint {
        Endpoint::get(SKUS)
            .with_header("authorization", &format!("Bearer tok-{CONTOSO}"))
            .with_query("$skiptoken", "X'74657374'")
    }

    fn decoded() -> Endpoint {
        Endpoint::get(SKUS).with_header("authorization", &format!("Bearer tok-{FABRIKAM}"))
    }

    fn wrong_shape() -> WrongShape {
        WrongShape::new(
            // Not the documented collection: `value` is one SKU, not a list of them.
            r#"{"value":{"skuId":"a","consumedUnits":1}}"#,
            "value",
            "expected a JSON array",
        )
    }

    fn token() -> Option<Endpoint> {
        Some(Endpoint::post(format!("/{PARTNER}/oauth2/v2.0/token")))
    }
}

impl OAuthCase for M365Case {
    const REFUSED_CLIENT: Refusal = Refusal {
        body: Some("m365/token_invalid_secret.json"),
        says: &[
            "AADSTS7000215",
            "Certificates & secrets",
            "reconcile connect m365 --name m365",
        ],
        requests: 1,
    };
}

contract_suite!(m365_contract, M365Case, oauth);
