//! ConnectWise write-back: the exact PATCH of an agreement addition (JSON patch with bare field
//! names) for an increase, a decrease and a cost change; drift by `_info.lastUpdated`; a
//! read-back mismatch; a 403 naming the permission; the PSA's own guards; a separate write
//! member; and a connection without --allow-write refusing to write.

use reconcile::connectors::connectwise::Settings;
use reconcile::connectors::{
    KindSettings, LineChange, LineRef, LineState, LineWriter, PsaGuard, WritePurpose,
};
use reconcile::pipeline::push::{LineOutcome, apply_line};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, json};

const ADDITION: &str = "/v4_6_release/apis/3.0/finance/agreements/55/additions/901";
const AGREEMENT: &str = "/v4_6_release/apis/3.0/finance/agreements/55";
/// `Basic base64("acme+pubKEY:privKEY")` and `Basic base64("acme+writePUB:writePRIV")`.
const READ_MEMBER: &str = "Basic YWNtZStwdWJLRVk6cHJpdktFWQ==";
const WRITE_MEMBER: &str = "Basic YWNtZSt3cml0ZVBVQjp3cml0ZVBSSVY=";

fn settings(server: &MockServer, allow_write: bool, write_member: bool) -> Settings {
    Settings {
        site: server.uri(),
        company_id: "acme".into(),
        public_key: "pubKEY".into(),
        client_id: "3f2e8d4c-6b1a-4f0e-9c7d-5a4b3c2d1e0f".into(),
        codebase: Some("v4_6_release/".into()),
        billable_company_types: vec![],
        page_size: None,
        allow_write,
        write_public_key: write_member.then(|| "writePUB".to_string()),
    }
}

fn writer(s: &Settings, purpose: WritePurpose) -> anyhow::Result<Box<dyn LineWriter>> {
    let secret = |field: &str| {
        Ok(SecretString::from(match field {
            "private_key" => "privKEY",
            "write_private_key" => "writePRIV",
            other => panic!("asked for {other}"),
        }))
    };
    Ok(s.writer("cw", &secret, fast_retry(2), purpose)?
        .expect("ConnectWise writes"))
}

fn line() -> LineRef {
    LineRef {
        agreement_id: "55".into(),
        line_id: "901".into(),
        product_id: Some("77".into()),
    }
}

/// The line as planned: 24, cost 4.25, last updated as in the fixture.
fn before() -> LineState {
    let mut s = LineState::quantity(dec("24"));
    s.unit_cost = Some(dec("4.25"));
    s.version = Some("2026-11-02T14:05:11Z".into());
    s
}

fn change(quantity: &str, cost: Option<&str>) -> LineChange {
    LineChange {
        line: line(),
        before: before(),
        quantity: dec(quantity),
        unit_cost: cost.map(dec),
        effective: jiff::civil::date(2027, 1, 1),
        plan_id: "7".into(),
    }
}

/// GETs of the addition answer `reads` in turn (the last repeats); the agreement is active.
async fn mount_reads(server: &MockServer, reads: &[&str], agreement: &str) {
    for (i, r) in reads.iter().enumerate() {
        let m = Mock::given(method("GET"))
            .and(path(ADDITION))
            .respond_with(json(&format!("connectwise/write/{r}")));
        if i + 1 < reads.len() {
            m.up_to_n_times(1).mount(server).await;
        } else {
            m.mount(server).await;
        }
    }
    Mock::given(method("GET"))
        .and(path(AGREEMENT))
        .respond_with(json(&format!("connectwise/write/{agreement}")))
        .mount(server)
        .await;
}

async fn mount_patch(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("PATCH"))
        .and(path(ADDITION))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// The PATCHes the server received: their bodies and Authorization headers.
async fn patches(server: &MockServer) -> Vec<(Value, String)> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| {
            (
                serde_json::from_slice(&r.body).unwrap(),
                r.headers
                    .get("authorization")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// (case, reads, target, cost, the body ConnectWise must receive)
type Case<'a> = (&'a str, &'a [&'a str], &'a str, Option<&'a str>, Value);

#[tokio::test]
async fn an_increase_a_decrease_and_a_cost_change_send_the_exact_json_patch() {
    let table: &[Case] = &[
        (
            "increase",
            &["addition_901.json", "addition_901_26.json"],
            "26",
            None,
            json!([{"op": "replace", "path": "quantity", "value": 26}]),
        ),
        (
            "decrease",
            &["addition_901.json", "addition_901_20.json"],
            "20",
            None,
            json!([{"op": "replace", "path": "quantity", "value": 20}]),
        ),
        (
            "cost change",
            &["addition_901.json", "addition_901_26_cost.json"],
            "26",
            Some("18.75"),
            json!([{"op": "replace", "path": "quantity", "value": 26},
                   {"op": "replace", "path": "unitCost", "value": 18.75}]),
        ),
    ];
    for (case, reads, target, cost, body) in table {
        let server = MockServer::start().await;
        mount_reads(&server, reads, "agreement_55.json").await;
        mount_patch(&server, json("connectwise/write/addition_901_26.json")).await;
        let w = writer(&settings(&server, true, false), WritePurpose::Write).unwrap();
        let got = apply_line(w.as_ref(), &change(target, *cost)).await;
        assert_eq!(got.as_str(), "written", "{case}: {got:?}");
        let sent = patches(&server).await;
        assert_eq!(sent.len(), 1, "{case}");
        assert_eq!(&sent[0].0, body, "{case}");
        assert_eq!(sent[0].1, READ_MEMBER, "{case}");
        // Only bare field names ConnectWise knows, every value a number.
        for op in sent[0].0.as_array().unwrap() {
            assert!(["quantity", "unitCost"].contains(&op["path"].as_str().unwrap()));
            assert!(op["value"].is_number(), "{case}: {op}");
        }
    }
}

#[tokio::test]
async fn drift_a_mismatch_and_a_line_at_its_target() {
    // Changed in ConnectWise since the plan (same quantity, newer lastUpdated): skipped.
    let server = MockServer::start().await;
    mount_reads(&server, &["addition_901_moved.json"], "agreement_55.json").await;
    mount_patch(&server, ResponseTemplate::new(200)).await;
    let w = writer(&settings(&server, true, false), WritePurpose::Write).unwrap();
    let got = apply_line(w.as_ref(), &change("26", None)).await;
    assert_eq!(got.as_str(), "drift", "{got:?}");
    assert!(patches(&server).await.is_empty());

    // Written, but the line reads back unchanged: a mismatch, which fails the apply.
    let server = MockServer::start().await;
    mount_reads(&server, &["addition_901.json"], "agreement_55.json").await;
    mount_patch(&server, json("connectwise/write/addition_901.json")).await;
    let w = writer(&settings(&server, true, false), WritePurpose::Write).unwrap();
    let got = apply_line(w.as_ref(), &change("26", None)).await;
    assert!(matches!(got, LineOutcome::Mismatch { .. }), "{got:?}");
    assert!(got.failed());
    assert_eq!(got.read_back().unwrap().quantity, dec("24"));

    // Already at the target: nothing sent.
    let server = MockServer::start().await;
    mount_reads(&server, &["addition_901_26.json"], "agreement_55.json").await;
    mount_patch(&server, ResponseTemplate::new(200)).await;
    let w = writer(&settings(&server, true, false), WritePurpose::Write).unwrap();
    let got = apply_line(w.as_ref(), &change("26", None)).await;
    assert_eq!(got.as_str(), "at_target");
    assert!(patches(&server).await.is_empty());
}

#[tokio::test]
async fn a_refused_patch_names_the_permission_and_a_write_member_signs_the_patch() {
    let server = MockServer::start().await;
    mount_reads(&server, &["addition_901.json"], "agreement_55.json").await;
    mount_patch(
        &server,
        ResponseTemplate::new(403).set_body_json(json!({"code": "Forbidden", "message": "You do not have access to edit agreement additions."})),
    )
    .await;
    let w = writer(&settings(&server, true, false), WritePurpose::Write).unwrap();
    let got = apply_line(w.as_ref(), &change("26", None)).await;
    let LineOutcome::Failed {
        stage,
        status,
        error,
    } = &got
    else {
        panic!("{got:?}");
    };
    assert_eq!((stage.as_str(), *status), ("write", Some(403)));
    assert!(error.contains("Finance > Agreements: Edit"), "{error}");
    assert!(error.contains("--write-public-key"), "{error}");
    assert!(!error.contains("privKEY"), "{error}");

    // A separate write member: the PATCH carries its keys, not the read member's.
    let server = MockServer::start().await;
    mount_reads(
        &server,
        &["addition_901.json", "addition_901_26.json"],
        "agreement_55.json",
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path(ADDITION))
        .and(header("authorization", WRITE_MEMBER))
        .respond_with(json("connectwise/write/addition_901_26.json"))
        .mount(&server)
        .await;
    let w = writer(&settings(&server, true, true), WritePurpose::Write).unwrap();
    let got = apply_line(w.as_ref(), &change("26", None)).await;
    assert_eq!(got.as_str(), "written", "{got:?}");
    assert_eq!(patches(&server).await[0].1, WRITE_MEMBER);
    // Planning uses the read member.
    let r = writer(&settings(&server, true, true), WritePurpose::Read).unwrap();
    r.read_line(&line(), jiff::civil::date(2027, 1, 1))
        .await
        .unwrap();
    let reads = server.received_requests().await.unwrap();
    let last = reads.last().unwrap();
    assert_eq!(last.headers.get("authorization").unwrap(), READ_MEMBER);
}

#[tokio::test]
async fn the_line_read_carries_connectwise_s_own_guards() {
    let server = MockServer::start().await;
    mount_reads(
        &server,
        &["addition_901_donotbill.json"],
        "agreement_55_cancelled.json",
    )
    .await;
    let w = writer(&settings(&server, false, false), WritePurpose::Read).unwrap();
    let s = w
        .read_line(&line(), jiff::civil::date(2027, 1, 1))
        .await
        .unwrap();
    assert_eq!(s.quantity, dec("24"));
    assert_eq!(s.version.as_deref(), Some("2026-12-04T10:00:00Z"));
    let guards: Vec<PsaGuard> = s.blocked.iter().map(|(g, _)| *g).collect();
    assert!(guards.contains(&PsaGuard::LineType), "{s:?}");
    assert!(guards.contains(&PsaGuard::ContractState), "{s:?}");
    let why: String = s.blocked.iter().map(|(_, w)| w.as_str()).collect();
    assert!(why.contains("billCustomer DoNotBill"), "{why}");
    assert!(why.contains("cancelledFlag"), "{why}");
    assert!(why.contains("cancelledDate 2026-11-30"), "{why}");
    // Nothing but GETs.
    for r in server.received_requests().await.unwrap() {
        assert_eq!(r.method.as_str(), "GET");
    }

    // Without --allow-write, no write credential is even built.
    let e = writer(&settings(&server, false, false), WritePurpose::Write)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("read-only") && e.contains("--allow-write"),
        "{e}"
    );
}

/// A write that must not land twice is sent once, whatever the answer; an absolute one is
/// retried like a read.
#[tokio::test]
async fn a_non_repeatable_write_is_sent_exactly_once_after_a_5xx() {
    use reconcile::http::{HttpClient, NoAuth, Request};
    use std::sync::Arc;
    for (repeatable, sends) in [(false, 1), (true, 3)] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/adjust"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let client = HttpClient::new(
            "psa",
            url::Url::parse(&server.uri()).unwrap(),
            Arc::new(NoAuth),
            fast_retry(3),
        );
        let req = Request::write(
            reqwest::Method::POST,
            "adjust",
            json!({"unitChange": 1}),
            repeatable,
        );
        let e = client.send(&req).await.unwrap_err();
        assert_eq!(e.status(), Some(503));
        assert!(e.outcome_unknown(), "{e}");
        let n = server.received_requests().await.unwrap().len();
        assert_eq!(n, sends, "repeatable: {repeatable}");
    }
}

/// The audit records the status the PSA answered a write with, not an assumed 200.
#[tokio::test]
async fn a_write_reports_the_status_it_was_answered_with() {
    use reconcile::http::{HttpClient, NoAuth, Request};
    use std::sync::Arc;
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/line"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let client = HttpClient::new(
        "psa",
        url::Url::parse(&server.uri()).unwrap(),
        Arc::new(NoAuth),
        fast_retry(3),
    );
    let resp = client
        .send(&Request::write(
            reqwest::Method::PUT,
            "line",
            json!({"quantity": 1}),
            true,
        ))
        .await
        .unwrap();
    assert_eq!(resp.status, 202);
}
