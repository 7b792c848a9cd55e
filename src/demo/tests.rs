//! The sample and the sandboxes, exercised through the real connectors, the real mapping rules
//! and the real reconcile engine: if a sandbox drifts from what the connectors expect, or the
//! planted facts drift from the data, these fail.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use secrecy::SecretString;

use super::apis::{connectwise, ninjaone};
use super::sample::effective_class;
use super::*;
use crate::connectors::connectwise::ConnectWise;
use crate::connectors::ninjaone::{KNOWN_CLASSES, NinjaOne, services};
use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::engine::{self, FindingKind, Input, PsaInput, VendorInput};
use crate::http::{ConnectorError, Link, RetryPolicy};
use crate::mapping::{self, PsaCompanies};
use crate::model::{
    AccountMapping, CompanyTarget, MapSource, ProductTarget, PsaSnapshot, ServiceMapping, Snapshot,
    VendorSnapshot,
};

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(1),
        timeout: Duration::from_secs(20),
        ..RetryPolicy::default()
    }
}

fn ninja(sb: &Sandbox, page_size: Option<usize>, secret: &str) -> NinjaOne {
    let settings = crate::connectors::ninjaone::Settings {
        page_size,
        ..sb.settings()
    };
    NinjaOne::new(
        "ninjaone",
        &settings,
        SecretString::from(secret.to_string()),
        retry(),
    )
    .unwrap()
}

fn cw(sb: &Sandbox, page_size: Option<usize>, private_key: &str) -> ConnectWise {
    let settings = crate::connectors::connectwise::Settings {
        page_size,
        ..sb.settings()
    };
    ConnectWise::new(
        "connectwise",
        &settings,
        SecretString::from(private_key.to_string()),
        retry(),
    )
    .unwrap()
}

async fn vendor_snapshot(c: &dyn Connector) -> VendorSnapshot {
    match c.sync(&SyncCx::silent()).await.unwrap() {
        Snapshot::Vendor(v) => v,
        other => panic!("expected a vendor snapshot, got {other:?}"),
    }
}

async fn psa_snapshot(c: &dyn Connector) -> PsaSnapshot {
    match c.sync(&SyncCx::silent()).await.unwrap() {
        Snapshot::Psa(p) => p,
        other => panic!("expected a PSA snapshot, got {other:?}"),
    }
}

#[test]
fn the_sample_is_deterministic_and_covers_every_class() {
    let s = sample();
    assert_eq!(s, sample());
    let n = &s.ninjaone;
    assert!(n.organizations.len() >= 22, "{}", n.organizations.len());
    assert!(n.devices.len() >= 1000, "{}", n.devices.len());
    assert!(n.devices.windows(2).all(|w| w[0].id < w[1].id));
    assert!(n.organizations.windows(2).all(|w| w[0].id < w[1].id));
    let present: BTreeSet<&str> = n.devices.iter().map(|d| d.node_class.as_str()).collect();
    for class in KNOWN_CLASSES {
        assert!(present.contains(class), "no {class} device");
    }
    assert!(n.devices.iter().any(|d| d.offline));
    assert!(n.devices.iter().any(|d| d.approval_status == "PENDING"));
    // Organizations interleave in id order, as enrolment order does in NinjaOne.
    let first_100: BTreeSet<i64> = n.devices[..100].iter().map(|d| d.organization_id).collect();
    assert!(first_100.len() > 10);
    // Device names are unique and look like ACME-WS-014.
    let names: BTreeSet<&str> = n.devices.iter().map(|d| d.system_name.as_str()).collect();
    assert_eq!(names.len(), n.devices.len());
    assert!(names.contains("ACME-WS-014"));

    let p = &s.planted;
    for name in &p.rolled_up_devices {
        let d = n.devices.iter().find(|d| &d.display_name == name).unwrap();
        assert!(!KNOWN_CLASSES.contains(&d.node_class.as_str()));
        assert_eq!(effective_class(d, &n.roles), "WINDOWS_WORKSTATION");
    }
    assert!(!p.rolled_up_devices.is_empty());
    let unknown = n
        .devices
        .iter()
        .find(|d| d.display_name == p.unknown_class_device)
        .unwrap();
    assert_eq!(effective_class(unknown, &n.roles), unknown.node_class);

    let c = &s.connectwise;
    let clients = c
        .companies
        .iter()
        .filter(|co| co.type_ids == [1] && !co.deleted)
        .count();
    assert!(clients >= 22, "{clients}");
    assert!(p.under_billed.len() >= 3 && p.over_billed.len() >= 3);
    assert!(p.matched.len() > p.under_billed.len() + p.over_billed.len());
    let cancelled = c
        .additions
        .iter()
        .find(|a| a.id == p.cancelled_addition_id)
        .unwrap();
    assert!(cancelled.cancelled.unwrap() < Timestamp::now());
    for e in &p.expected {
        assert!(
            e.kind == FindingKind::BillingNoUsage
                || e.actual > rust_decimal::Decimal::ZERO
                || e.pending > 0,
            "{e:?}"
        );
    }
}

#[test]
fn planted_names_behave_under_the_mapping_rules() {
    let s = sample();
    let p = &s.planted;
    let cw_names: Vec<&str> = s
        .connectwise
        .companies
        .iter()
        .filter(|c| !c.deleted)
        .map(|c| c.name.as_str())
        .collect();
    assert_ne!(
        mapping::normalize(&p.fuzzy_org.ninjaone),
        mapping::normalize(&p.fuzzy_org.connectwise)
    );
    assert!(
        mapping::similarity(&p.fuzzy_org.ninjaone, &p.fuzzy_org.connectwise)
            >= mapping::SUGGESTION_THRESHOLD
    );
    for name in &cw_names {
        let score = mapping::similarity(&p.unmatched_org, name);
        assert!(score < mapping::SUGGESTION_THRESHOLD, "{name}: {score}");
    }
    for org in &s.ninjaone.organizations {
        let exact = cw_names
            .iter()
            .filter(|c| mapping::normalize(c) == mapping::normalize(&org.name))
            .count();
        let expected = usize::from(org.name != p.unmatched_org && org.name != p.fuzzy_org.ninjaone);
        assert_eq!(exact, expected, "{}", org.name);
    }
}

#[tokio::test]
async fn ninjaone_sync_pages_through_the_sandbox() {
    let s = sample();
    let sb = Sandbox::start(s.clone()).await.unwrap();
    let connector = ninja(&sb, Some(100), ninjaone::DEMO_CLIENT_SECRET);
    let check = connector.check().await.unwrap();
    assert!(check.contains("organizations are readable"), "{check}");
    let snap = vendor_snapshot(&connector).await;

    assert_eq!(snap.accounts.len(), s.ninjaone.organizations.len());
    assert_eq!(snap.items.len(), s.ninjaone.devices.len());
    let pages = sb
        .stats(ConnectorKind::NinjaOne)
        .endpoint("GET /v2/devices");
    assert!(pages >= 10, "{pages} device pages");
    assert_eq!(pages, s.ninjaone.devices.len() / 100 + 1);
    assert_eq!(
        sb.stats(ConnectorKind::NinjaOne)
            .endpoint("POST /ws/oauth/token"),
        1
    );
    assert_eq!(
        sb.stats(ConnectorKind::NinjaOne).endpoint("GET /v2/roles"),
        1
    );
    assert!(sb.stats(ConnectorKind::NinjaOne).total() >= pages + 3);

    let ids: BTreeSet<&str> = snap.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), snap.items.len(), "no device is read twice");
    for name in &s.planted.rolled_up_devices {
        let item = snap.items.iter().find(|i| &i.name == name).unwrap();
        assert_eq!(item.class, "WINDOWS_WORKSTATION");
        assert_eq!(item.raw_class, "WINDOWS_THIN_CLIENT");
        assert_eq!(
            item.attrs.get("role").map(String::as_str),
            Some("Library Thin Client")
        );
    }
    let unknown = snap
        .items
        .iter()
        .find(|i| i.name == s.planted.unknown_class_device)
        .unwrap();
    assert_eq!(
        unknown.attrs.get("unknown_class").map(String::as_str),
        Some("true")
    );
    let pending = snap.items.iter().filter(|i| i.pending_approval).count();
    let expected_pending = s
        .ninjaone
        .devices
        .iter()
        .filter(|d| d.approval_status == "PENDING")
        .count();
    assert_eq!(pending, expected_pending);
    assert!(snap.items.iter().any(|i| i.online == Some(false)));
    let recent = Timestamp::now() - jiff::SignedDuration::from_hours(1);
    assert!(
        snap.items
            .iter()
            .filter(|i| i.online == Some(true))
            .all(|i| i.last_contact.unwrap() > recent)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn ninjaone_refuses_wrong_credentials_and_missing_tokens() {
    let sb = Sandbox::start(sample()).await.unwrap();
    let err = ninja(&sb, None, "not-the-secret")
        .check()
        .await
        .unwrap_err();
    match &err {
        ConnectorError::Auth { status, detail, .. } => {
            assert_eq!(*status, 401);
            assert!(detail.contains("invalid_client"), "{detail}");
        }
        other => panic!("expected an auth error, got {other:?}"),
    }

    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/v2/devices", sb.url(ConnectorKind::NinjaOne)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http
        .get(format!("{}/v2/devices", sb.url(ConnectorKind::NinjaOne)))
        .bearer_auth("made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // The token endpoint takes a form, not JSON.
    let resp = http
        .post(format!(
            "{}/ws/oauth/token",
            sb.url(ConnectorKind::NinjaOne)
        ))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // A token without the monitoring scope may not read.
    let token: serde_json::Value = http
        .post(format!(
            "{}/ws/oauth/token",
            sb.url(ConnectorKind::NinjaOne)
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ninjaone::DEMO_CLIENT_ID),
            ("client_secret", ninjaone::DEMO_CLIENT_SECRET),
            ("scope", "management"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 3600);
    let resp = http
        .get(format!(
            "{}/v2/organizations",
            sb.url(ConnectorKind::NinjaOne)
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn ninjaone_lists_one_organizations_devices_in_pages() {
    let s = sample();
    let sb = Sandbox::start(s.clone()).await.unwrap();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!(
            "{}/ws/oauth/token",
            sb.url(ConnectorKind::NinjaOne)
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ninjaone::DEMO_CLIENT_ID),
            ("client_secret", ninjaone::DEMO_CLIENT_SECRET),
            ("scope", "monitoring"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let get = |path: String| {
        http.get(format!("{}{path}", sb.url(ConnectorKind::NinjaOne)))
            .bearer_auth(&token)
            .send()
    };
    // The organization with the most devices, paged 7 at a time with `after` = the last id.
    let org = s
        .ninjaone
        .organizations
        .iter()
        .max_by_key(|o| {
            s.ninjaone
                .devices
                .iter()
                .filter(|d| d.organization_id == o.id)
                .count()
        })
        .unwrap();
    let want: Vec<i64> = s
        .ninjaone
        .devices
        .iter()
        .filter(|d| d.organization_id == org.id)
        .map(|d| d.id)
        .collect();
    assert!(want.len() > 14, "{} devices", want.len());
    let mut got = Vec::new();
    let mut pages = 0;
    let mut after = String::new();
    loop {
        let resp = get(format!(
            "/v2/organization/{}/devices?pageSize=7{after}",
            org.id
        ))
        .await
        .unwrap();
        assert_eq!(resp.status(), 200);
        let page: Vec<serde_json::Value> = resp.json().await.unwrap();
        pages += 1;
        assert!(page.iter().all(|d| d["organizationId"] == org.id));
        got.extend(page.iter().map(|d| d["id"].as_i64().unwrap()));
        if page.len() < 7 {
            break;
        }
        after = format!("&after={}", got.last().unwrap());
    }
    assert_eq!(
        got, want,
        "every device of the organization once, in id order"
    );
    assert_eq!(pages, want.len() / 7 + 1);
    // Same record as the whole list serves.
    let all: Vec<serde_json::Value> = get("/v2/devices".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let one: Vec<serde_json::Value> = get(format!("/v2/organization/{}/devices", org.id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = all.iter().find(|d| d["id"] == one[0]["id"]).unwrap();
    assert_eq!(first["displayName"], one[0]["displayName"]);
    assert_eq!(first["nodeClass"], one[0]["nodeClass"]);
    assert_eq!(
        sb.stats(ConnectorKind::NinjaOne)
            .endpoint("GET /v2/organization/{id}/devices"),
        pages + 1
    );

    // An unknown organization is a 404 with NinjaOne's error body; no token is still a 401.
    let resp = get("/v2/organization/999999/devices".into()).await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["resultCode"], "NOT_FOUND");
    let resp = http
        .get(format!(
            "{}/v2/organization/{}/devices",
            sb.url(ConnectorKind::NinjaOne),
            org.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_sandboxes_wait_the_latency_they_are_given() {
    let sb = Sandbox::start(sample()).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v2/devices", sb.url(ConnectorKind::NinjaOne));
    // Unanswered without a token either way; only the wait differs.
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    sb.latency.set(Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = std::time::Instant::now();
    http.get(format!(
        "{}/v1.0/subscribedSkus",
        sb.url(ConnectorKind::M365)
    ))
    .send()
    .await
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(sb.stats(ConnectorKind::NinjaOne).total(), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn connectwise_sync_pages_through_the_sandbox() {
    let s = sample();
    let sb = Sandbox::start(s.clone()).await.unwrap();
    let connector = cw(&sb, Some(10), connectwise::DEMO_PRIVATE_KEY);
    let check = connector.check().await.unwrap();
    assert!(check.contains("v4_6_release/"), "{check}");
    let snap = psa_snapshot(&connector).await;
    let data = &s.connectwise;
    let p = &s.planted;

    let visible = data.companies.iter().filter(|c| !c.deleted).count();
    assert_eq!(snap.companies.len(), visible);
    assert!(snap.companies.len() > 20);
    assert!(!snap.companies.iter().any(|c| c.name == p.deleted_company));
    let by_name = |n: &str| snap.companies.iter().find(|c| c.name == n).unwrap();
    assert!(
        by_name(&p.inactive_company)
            .not_billable_reason
            .as_deref()
            .unwrap()
            .contains("inactive")
    );
    assert!(!by_name(&p.non_client_company).billable);
    assert_eq!(
        by_name(&p.fuzzy_org.connectwise).types,
        vec!["Client".to_string()]
    );
    assert_eq!(by_name(&p.fuzzy_org.connectwise).status, "Active");

    let live_agreements = data.agreements.iter().filter(|a| !a.cancelled).count();
    assert_eq!(snap.agreements.len(), live_agreements);
    assert!(
        !snap
            .agreements
            .iter()
            .any(|a| a.name == p.cancelled_agreement)
    );
    assert!(snap.agreements.iter().all(|a| {
        a.agreement_type.as_deref() == Some("Managed Services")
            && a.billing_cycle.as_deref() == Some("Monthly")
            && a.status == "Active"
    }));

    let live_agreement_ids: BTreeSet<i64> = data
        .agreements
        .iter()
        .filter(|a| !a.cancelled)
        .map(|a| a.id)
        .collect();
    let expected_lines = data
        .additions
        .iter()
        .filter(|a| live_agreement_ids.contains(&a.agreement_id))
        .count();
    assert_eq!(snap.lines.len(), expected_lines);
    let now = Timestamp::now();
    let cancelled = snap
        .lines
        .iter()
        .find(|l| l.id == p.cancelled_addition_id.to_string())
        .unwrap();
    assert!(!cancelled.is_active_at(now));
    let in_force = snap.lines.iter().filter(|l| l.is_active_at(now)).count();
    assert_eq!(
        in_force,
        expected_lines - 1,
        "only the cancelled line is out of force"
    );
    let ws = snap
        .lines
        .iter()
        .find(|l| l.product_identifier == "NINJA-WS" && l.is_active_at(now))
        .unwrap();
    assert!(ws.unit_price > rust_decimal::Decimal::ZERO);
    assert_eq!(ws.bill_customer, crate::model::BillCustomer::Billable);

    assert_eq!(
        snap.products.len(),
        data.catalog.iter().filter(|c| !c.inactive).count()
    );
    assert!(
        !snap
            .products
            .iter()
            .any(|c| c.identifier == p.inactive_product)
    );
    let srv = snap
        .products
        .iter()
        .find(|c| c.identifier == "NINJA-SRV")
        .unwrap();
    assert_eq!(srv.price, Some("125.00".parse().unwrap()));

    let stats = &sb.stats(ConnectorKind::ConnectWise);
    assert_eq!(stats.endpoint("GET /login/companyinfo/bluewave"), 1);
    let company_pages = stats.endpoint("GET /v4_6_release/apis/3.0/company/companies");
    // One pageSize=1 request from check, then every page of ten.
    assert_eq!(company_pages, 1 + visible.div_ceil(10));
    assert!(stats.endpoint("GET /v4_6_release/apis/3.0/finance/agreements") >= 3);
    // One page of ten additions per live agreement, more where an agreement has more lines;
    // exactly one full page comes without a Link header (as on the real server), so the
    // connector asks for the next page to see it is empty.
    let addition_pages: usize = data
        .agreements
        .iter()
        .filter(|a| !a.cancelled)
        .map(|a| {
            let n = data
                .additions
                .iter()
                .filter(|x| x.agreement_id == a.id)
                .count();
            n.div_ceil(10).max(1) + usize::from(n == 10)
        })
        .sum();
    assert_eq!(
        stats.endpoint("GET /v4_6_release/apis/3.0/finance/agreements/{id}/additions"),
        addition_pages
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn connectwise_paging_headers_and_auth_rules() {
    let sb = Sandbox::start(sample()).await.unwrap();
    let base = format!(
        "{}/v4_6_release/apis/3.0",
        sb.url(ConnectorKind::ConnectWise)
    );
    let http = reqwest::Client::new();
    let basic = format!(
        "{}+{}",
        connectwise::DEMO_COMPANY_ID,
        connectwise::DEMO_PUBLIC_KEY
    );
    let authed = |url: String| {
        http.get(url)
            .basic_auth(&basic, Some(connectwise::DEMO_PRIVATE_KEY))
            .header("ClientID", connectwise::DEMO_CLIENT_ID)
    };

    // Default page size 25 and a Link header the connector's parser reads.
    let resp = authed(format!("{base}/company/companies"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let link = resp.headers()["link"].to_str().unwrap().to_string();
    let body: Vec<serde_json::Value> = resp.json().await.unwrap();
    assert_eq!(body.len(), 25);
    let links = Link::parse_header(&link);
    let next = links.iter().find(|l| l.rel == "next").unwrap();
    assert!(
        next.url.contains("page=2") && next.url.contains("pageSize=25"),
        "{link}"
    );
    let resp = authed(next.url.clone()).send().await.unwrap();
    let link = resp.headers()["link"].to_str().unwrap().to_string();
    assert!(
        !Link::parse_header(&link).iter().any(|l| l.rel == "next"),
        "{link}"
    );
    assert!(link.contains("rel=\"prev\""), "{link}");

    // Conditions filter; pageSize is capped at 1000; a single page has no Link header.
    let resp = authed(format!(
        "{base}/company/companies?conditions=deletedFlag%3Dtrue&pageSize=5000"
    ))
    .send()
    .await
    .unwrap();
    assert!(resp.headers().get("link").is_none());
    let body: Vec<serde_json::Value> = resp.json().await.unwrap();
    assert_eq!(body.len(), 1);
    assert_eq!(body[0]["name"], sb.sample.planted.deleted_company);
    let resp = authed(format!(
        "{base}/company/companies?conditions=deletedFlag%3D"
    ))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);

    // Forward-only paging walks by id.
    let resp = authed(format!("{base}/company/companies?pageSize=10"))
        .header("pagination-type", "forward-only")
        .send()
        .await
        .unwrap();
    let link = resp.headers()["link"].to_str().unwrap().to_string();
    assert!(link.contains("pageId="), "{link}");

    // No clientId: refused with a message that says so.
    let resp = http
        .get(format!("{base}/system/info"))
        .basic_auth(&basic, Some(connectwise::DEMO_PRIVATE_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "Unauthorized");
    assert!(body["message"].as_str().unwrap().contains("clientId"));

    // Unknown company at discovery: a JSON null.
    let resp = http
        .get(format!(
            "{}/login/companyinfo/nobody",
            sb.url(ConnectorKind::ConnectWise)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "null");

    // Through the connector: wrong private key is an auth error, unknown company a clear one.
    let err = cw(&sb, None, "wrong").check().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Auth { status: 401, .. }),
        "{err:?}"
    );
    let mut settings: crate::connectors::connectwise::Settings = sb.settings();
    settings.company_id = "nobody".into();
    let err = ConnectWise::new(
        "connectwise",
        &settings,
        SecretString::from(connectwise::DEMO_PRIVATE_KEY),
        retry(),
    )
    .unwrap()
    .check()
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("does not know the company id"),
        "{err}"
    );
    assert!(sb.stats(ConnectorKind::ConnectWise).total() >= 10);
}

#[tokio::test]
async fn the_engine_finds_exactly_what_was_planted() {
    let s = sample();
    let sb = Sandbox::start(s.clone()).await.unwrap();
    let vendor = vendor_snapshot(&ninja(&sb, None, ninjaone::DEMO_CLIENT_SECRET)).await;
    let psa = psa_snapshot(&cw(&sb, None, connectwise::DEMO_PRIVATE_KEY)).await;
    let p = &s.planted;

    let psas = [PsaCompanies {
        connection: "connectwise",
        companies: &psa.companies,
    }];
    let mut accounts = mapping::auto_map("ninjaone", &vendor.accounts, &psas, &[]);
    let mapped: BTreeSet<&str> = accounts.iter().map(|m| m.account_name.as_str()).collect();
    assert!(!mapped.contains(p.fuzzy_org.ninjaone.as_str()));
    assert!(!mapped.contains(p.unmatched_org.as_str()));
    assert_eq!(mapped.len(), vendor.accounts.len() - 2);

    // The fuzzy organization is suggested, and a person confirms it.
    let fuzzy = vendor
        .accounts
        .iter()
        .find(|a| a.name == p.fuzzy_org.ninjaone)
        .unwrap();
    let suggestions = mapping::suggest(&fuzzy.name, &psas, 3);
    let best = suggestions.first().unwrap();
    assert_eq!(best.company.name, p.fuzzy_org.connectwise);
    accounts.push(AccountMapping {
        vendor_connection: "ninjaone".into(),
        account_id: fuzzy.id.clone(),
        account_name: fuzzy.name.clone(),
        target: Some(CompanyTarget {
            connection: "connectwise".into(),
            company_id: best.company.id.clone(),
            company_name: best.company.name.clone(),
        }),
        source: MapSource::Manual,
    });
    assert!(mapping::suggest(&p.unmatched_org, &psas, 3).is_empty());

    let mut service_maps: Vec<ServiceMapping> = DEMO_SERVICE_MAP
        .iter()
        .map(|(key, product)| ServiceMapping {
            vendor_connection: "ninjaone".into(),
            service_key: key.to_string(),
            target: Some(ProductTarget {
                connection: "connectwise".into(),
                product_identifier: product.to_string(),
            }),
            source: MapSource::Manual,
        })
        .collect();
    service_maps.extend(DEMO_UNBILLED_SERVICES.iter().map(|key| ServiceMapping {
        vendor_connection: "ninjaone".into(),
        service_key: key.to_string(),
        target: None,
        source: MapSource::Manual,
    }));
    let defs = services();
    assert_eq!(
        defs.len(),
        DEMO_SERVICE_MAP.len() + DEMO_UNBILLED_SERVICES.len()
    );

    let findings = engine::findings(&Input {
        as_of: Timestamp::now(),
        vendors: vec![VendorInput {
            connection: "ninjaone",
            services: &defs,
            snapshot: &vendor,
        }],
        psas: vec![PsaInput {
            connection: "connectwise",
            snapshot: &psa,
        }],
        accounts: &accounts,
        services: &service_maps,
        tolerances: &Default::default(),
        rules: &Default::default(),
        unhealthy: &Default::default(),
        period: None,
    });

    let unmapped: Vec<_> = findings
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                FindingKind::UnmappedAccount | FindingKind::UnmappedService
            )
        })
        .collect();
    assert_eq!(unmapped.len(), 1, "{unmapped:#?}");
    assert_eq!(unmapped[0].kind, FindingKind::UnmappedAccount);
    assert_eq!(unmapped[0].accounts, vec![p.unmatched_org.clone()]);

    let mut got: Vec<_> = findings
        .iter()
        .filter(|f| f.product.is_some())
        .map(|f| {
            (
                f.company.clone().unwrap().to_lowercase(),
                f.product.clone().unwrap(),
                f,
            )
        })
        .collect();
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(got.len(), p.expected.len());
    for ((_, _, f), e) in got.iter().zip(&p.expected) {
        let label = format!("{} / {}", e.company, e.product);
        assert_eq!(f.company.as_deref(), Some(e.company.as_str()), "{label}");
        assert_eq!(f.product.as_deref(), Some(e.product.as_str()), "{label}");
        assert_eq!(f.kind, e.kind, "{label}: {f:#?}");
        assert_eq!(f.billed, Some(e.billed), "{label}");
        assert_eq!(f.actual, Some(e.actual), "{label}");
        if e.pending > 0 {
            assert!(
                f.note
                    .contains(&format!("{} item(s) pending approval", e.pending)),
                "{label}: {}",
                f.note
            );
        }
    }

    let companies_with = |kind: FindingKind| -> BTreeSet<String> {
        findings
            .iter()
            .filter(|f| f.kind == kind)
            .filter_map(|f| f.company.clone())
            .collect()
    };
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(
        companies_with(FindingKind::UnderBilled),
        set(&p.under_billed)
    );
    assert_eq!(companies_with(FindingKind::OverBilled), set(&p.over_billed));
    assert_eq!(
        companies_with(FindingKind::BillingNoUsage),
        set(&p.billing_no_usage)
    );
    assert!(companies_with(FindingKind::UsageNoBilling).is_empty());
    for name in &p.matched {
        let kinds: BTreeMap<&str, FindingKind> = findings
            .iter()
            .filter(|f| f.company.as_ref() == Some(name))
            .map(|f| (f.product.as_deref().unwrap(), f.kind))
            .collect();
        assert!(!kinds.is_empty(), "{name}");
        assert!(
            kinds.values().all(|k| *k == FindingKind::Match),
            "{name}: {kinds:?}"
        );
    }
    let cancelled = findings
        .iter()
        .find(|f| {
            f.company.as_deref() == Some(p.cancelled_addition_company.as_str())
                && f.product.as_deref() == Some("NINJA-WS")
        })
        .unwrap();
    assert_eq!(cancelled.kind, FindingKind::Match);
    assert!(cancelled.note.contains("cancelled"), "{}", cancelled.note);
    assert!(
        !findings
            .iter()
            .any(|f| f.company.as_deref() == Some(p.inactive_company.as_str()))
    );
    let totals = engine::Totals::of(&findings);
    assert!(totals.under_billed_monthly > rust_decimal::Decimal::ZERO);
    assert!(totals.over_billed_monthly > rust_decimal::Decimal::ZERO);
    drop(sb);
}
