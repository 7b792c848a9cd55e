//! Autotask write-back: a whole-unit `POST /V1.0/ContractServiceAdjustments` whose delta comes
//! from the units row covering the effective date (a count of 10.2 is planned as 11 and sent
//! as `unitChange: 1` from a read of 10); the body's fields and types as the spec's
//! ContractServiceAdjustmentModel has them; a 5xx on the non-idempotent POST decided by a fresh
//! read (landed: no second POST; not landed: exactly one more; moved: stop); posted periods and
//! inactive contracts as guards; a 403 naming the permission; a contract note per adjustment.

use reconcile::connectors::autotask::Settings;
use reconcile::connectors::{
    KindSettings, LineChange, LineRef, LineState, LineWriter, PsaGuard, WritePurpose,
};
use reconcile::pipeline::push::{LineOutcome, apply_line};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, fixture};

const API: &str = "/ATServicesRest/V1.0";
const ADJUST: &str = "/ATServicesRest/V1.0/ContractServiceAdjustments";
const NOTES: &str = "/ATServicesRest/V1.0/Contracts/123/Notes";

fn writer(server: &MockServer, purpose: WritePurpose) -> Box<dyn LineWriter> {
    let s = Settings {
        username: "api-recon@bluewave.example".into(),
        integration_code: "BLUEWAVERECON01".into(),
        zone_lookup_url: Some(format!("{}/atservicesrest/", server.uri())),
        billable_company_types: vec![],
        product_field: None,
        max_threshold_percent: None,
        history_days: None,
        allow_write: true,
        write_username: None,
    };
    let secret = |_: &str| Ok(SecretString::from("s3cr3t-Autotask!"));
    s.writer("at", &secret, fast_retry(3), purpose)
        .unwrap()
        .unwrap()
}

fn body(server: &MockServer, rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        fixture(rel).replace("{{BASE}}", &server.uri()),
        "application/json",
    )
}

/// The zone, the contract and its service, and the units answers in turn.
async fn mount_reads(server: &MockServer, contract: &str, units: &[&str]) {
    Mock::given(method("GET"))
        .and(path("/atservicesrest/v1.0/zoneInformation"))
        .respond_with(body(server, "autotask/zone.json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/ThresholdInformation")))
        .respond_with(body(server, "autotask/threshold.json"))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/Contracts/query")))
        .respond_with(body(server, &format!("autotask/write/{contract}")))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/ContractServices/query")))
        .respond_with(body(server, "autotask/write/contract_service_789.json"))
        .mount(server)
        .await;
    for (i, u) in units.iter().enumerate() {
        let m = Mock::given(method("POST"))
            .and(path(format!("{API}/ContractServiceUnits/query")))
            .respond_with(body(server, &format!("autotask/write/{u}")));
        if i + 1 < units.len() {
            m.up_to_n_times(1).mount(server).await;
        } else {
            m.mount(server).await;
        }
    }
    Mock::given(method("POST"))
        .and(path(NOTES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"itemId": 77})))
        .mount(server)
        .await;
}

fn change(target: &str) -> LineChange {
    let mut before = LineState::quantity(dec("10"));
    before.unit_cost = Some(dec("12.5"));
    LineChange {
        line: LineRef {
            agreement_id: "123".into(),
            line_id: "500002".into(),
            product_id: Some("456".into()),
        },
        before,
        quantity: dec(target),
        unit_cost: None,
        effective: jiff::civil::date(2027, 1, 1),
        plan_id: "7".into(),
    }
}

async fn posts(server: &MockServer, p: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// ContractServiceAdjustmentModel's writable fields and JSON types, from the spec (Autotask
/// matches names without case).
fn model_type(field: &str) -> Option<&'static str> {
    Some(match field.to_ascii_lowercase().as_str() {
        "adjustedunitcost" | "adjustedunitprice" => "number",
        "allowrepeatservice" => "boolean",
        "contractid" | "contractserviceid" | "quoteitemid" | "serviceid" | "unitchange" => {
            "integer"
        }
        "effectivedate" => "date-time",
        _ => return None,
    })
}

fn check_against_model(body: &Value) {
    for (k, v) in body.as_object().unwrap() {
        let ok = match model_type(k).unwrap_or_else(|| panic!("{k} is not in the model")) {
            "integer" => v.is_i64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            _ => v
                .as_str()
                .is_some_and(|s| s.len() == 19 && s.ends_with("T00:00:00")),
        };
        assert!(ok, "{k} = {v}");
    }
}

#[tokio::test]
async fn a_fractional_count_is_a_whole_delta_from_the_units_read() {
    // Planned: a count of 10.2 against 10 units is 11 (whole units, rounded up).
    let server = MockServer::start().await;
    mount_reads(
        &server,
        "contract_123.json",
        &["units_10.json", "units_11.json"],
    )
    .await;
    Mock::given(method("POST"))
        .and(path(ADJUST))
        .respond_with(body(&server, "autotask/write/adjustment_created.json"))
        .mount(&server)
        .await;
    let w = writer(&server, WritePurpose::Write);
    assert!(w.facts().whole_units);
    let got = apply_line(w.as_ref(), &change("11")).await;
    let LineOutcome::Written { written, after } = &got else {
        panic!("{got:?}");
    };
    assert_eq!(written.returned_id.as_deref(), Some("31337"));
    assert_eq!(after.quantity, dec("11"));
    let sent = posts(&server, ADJUST).await;
    assert_eq!(
        sent,
        vec![
            json!({"contractID": 123, "contractServiceID": 789, "serviceID": 456,
                    "effectiveDate": "2027-01-01T00:00:00", "unitChange": 1})
        ]
    );
    check_against_model(&sent[0]);
    // The contract note names the plan.
    let notes = posts(&server, NOTES).await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]["title"].as_str().unwrap().contains("plan 7"),
        "{notes:?}"
    );
}

/// (case, units reads in turn, POST answers in turn, outcome, POSTs sent)
type Case<'a> = (&'a str, &'a [&'a str], &'a [u16], &'a str, usize);

#[tokio::test]
async fn a_5xx_on_the_adjustment_is_decided_by_reading_the_units() {
    let cases: &[Case] = &[
        // Landed although the answer was lost: no second POST.
        (
            "landed",
            &["units_10.json", "units_11.json"],
            &[503],
            "written",
            1,
        ),
        // Not landed: sent exactly once more.
        (
            "not landed",
            &["units_10.json", "units_10.json", "units_11.json"],
            &[503, 200],
            "written",
            2,
        ),
        // Moved elsewhere: stop with the error, no second POST.
        (
            "moved",
            &["units_10.json", "units_12.json"],
            &[503],
            "failed",
            1,
        ),
    ];
    for (case, units, answers, outcome, sends) in cases {
        let server = MockServer::start().await;
        mount_reads(&server, "contract_123.json", units).await;
        for (i, status) in answers.iter().enumerate() {
            let r = if *status == 200 {
                body(&server, "autotask/write/adjustment_created.json")
            } else {
                ResponseTemplate::new(*status)
            };
            let m = Mock::given(method("POST"))
                .and(path(ADJUST))
                .respond_with(r);
            if i + 1 < answers.len() {
                m.up_to_n_times(1).mount(&server).await;
            } else {
                m.mount(&server).await;
            }
        }
        let w = writer(&server, WritePurpose::Write);
        let got = apply_line(w.as_ref(), &change("11")).await;
        assert_eq!(got.as_str(), *outcome, "{case}: {got:?}");
        assert_eq!(posts(&server, ADJUST).await.len(), *sends, "{case}");
    }
}

#[tokio::test]
async fn posted_periods_inactive_contracts_and_a_refusal() {
    let server = MockServer::start().await;
    mount_reads(
        &server,
        "contract_123_inactive.json",
        &["units_posted.json"],
    )
    .await;
    let w = writer(&server, WritePurpose::Read);
    let s = w
        .read_line(&change("11").line, jiff::civil::date(2027, 1, 1))
        .await
        .unwrap();
    let guards: Vec<PsaGuard> = s.blocked.iter().map(|(g, _)| *g).collect();
    assert!(guards.contains(&PsaGuard::PostedPeriod), "{s:?}");
    assert!(guards.contains(&PsaGuard::ContractState), "{s:?}");
    assert_eq!(s.write_ids["contractServiceID"], "789");
    for r in server.received_requests().await.unwrap() {
        let p = r.url.path();
        assert!(r.method.as_str() == "GET" || p.ends_with("/query"), "{p}");
    }

    let server = MockServer::start().await;
    mount_reads(&server, "contract_123.json", &["units_10.json"]).await;
    Mock::given(method("POST"))
        .and(path(ADJUST))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"errors": ["Access denied"]})),
        )
        .mount(&server)
        .await;
    let w = writer(&server, WritePurpose::Write);
    let got = apply_line(w.as_ref(), &change("11")).await;
    let LineOutcome::Failed { status, error, .. } = &got else {
        panic!("{got:?}");
    };
    assert_eq!(*status, Some(403));
    assert!(error.contains("may edit Contracts"), "{error}");
    assert!(!error.contains("s3cr3t"), "{error}");
    assert_eq!(posts(&server, ADJUST).await.len(), 1);
}

#[tokio::test]
async fn drift_and_a_read_back_mismatch() {
    // The units moved to 12 since the plan read 10: skipped, no adjustment.
    let server = MockServer::start().await;
    mount_reads(&server, "contract_123.json", &["units_12.json"]).await;
    let w = writer(&server, WritePurpose::Write);
    let got = apply_line(w.as_ref(), &change("11")).await;
    assert_eq!(got.as_str(), "drift", "{got:?}");
    assert!(posts(&server, ADJUST).await.is_empty());
    // Adjusted, but the units read back 10: a mismatch, and never a second adjustment.
    let server = MockServer::start().await;
    mount_reads(&server, "contract_123.json", &["units_10.json"]).await;
    Mock::given(method("POST"))
        .and(path(ADJUST))
        .respond_with(body(&server, "autotask/write/adjustment_created.json"))
        .mount(&server)
        .await;
    let w = writer(&server, WritePurpose::Write);
    let got = apply_line(w.as_ref(), &change("11")).await;
    assert!(matches!(got, LineOutcome::Mismatch { .. }), "{got:?}");
    assert_eq!(posts(&server, ADJUST).await.len(), 1);
}
