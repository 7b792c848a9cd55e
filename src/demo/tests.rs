//! The sample MSP as a whole, exercised through the real connectors, the real mapping rules and
//! the real reconcile engine: if the planted facts drift from the data, or the NinjaOne and
//! ConnectWise sandboxes from what the engine is meant to find in them, these fail. (Each
//! sandbox's own tests sit in its file in `apis/`.)

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;

use super::apis::{connectwise, ninjaone};
use super::kit::testing::{cw, ninja, psa_snapshot, vendor_snapshot};
use super::sample::effective_class;
use super::*;
use crate::connectors::ConnectorKind;
use crate::connectors::ninjaone::{KNOWN_CLASSES, services};
use crate::engine::{self, FindingKind, Input, PsaInput, VendorInput};
use crate::mapping::{self, PsaCompanies};
use crate::model::{AccountMapping, CompanyTarget, MapSource, ProductTarget, ServiceMapping};

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
async fn the_sandboxes_wait_the_latency_they_are_given() {
    let sb = Sandbox::start(sample()).await.unwrap();
    let http = crate::http::build_reqwest(std::time::Duration::from_secs(30));
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
            records_cost: true,
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
