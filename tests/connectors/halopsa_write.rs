//! HaloPSA write-back: the exact `POST /api/RecurringInvoice/updatelines` (an array of one
//! InvoiceDetail with its `id` and `ihid`, negative template ids kept) for an increase, a
//! decrease and a cost change; lines Halo computes itself and disabled invoices as guards; a
//! 403 naming the permission; a separate write application signing the write.

use reconcile::connectors::halopsa::Settings;
use reconcile::connectors::{
    KindSettings, LineChange, LineRef, LineState, LineWriter, PsaGuard, WritePurpose,
};
use reconcile::pipeline::push::{LineOutcome, apply_line};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, json};

const INVOICE: &str = "/api/RecurringInvoice/-94";
const UPDATE: &str = "/api/RecurringInvoice/updatelines";

fn writer(server: &MockServer, purpose: WritePurpose, write_app: bool) -> Box<dyn LineWriter> {
    let s = Settings {
        url: server.uri(),
        client_id: "read-app".into(),
        tenant: Some("bluewave".into()),
        auth_url: None,
        scope: None,
        billable_client_types: vec![],
        billable_top_levels: vec![],
        page_size: None,
        allow_write: true,
        write_client_id: write_app.then(|| "write-app".to_string()),
    };
    let secret = |field: &str| {
        Ok(SecretString::from(match field {
            "client_secret" => "read-s3cret",
            "write_client_secret" => "write-s3cret",
            other => panic!("asked for {other}"),
        }))
    };
    s.writer("halo", &secret, fast_retry(2), purpose)
        .unwrap()
        .unwrap()
}

async fn mount_auth(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/authinfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "auth_url": format!("{}/auth", server.uri()),
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(json("halopsa/token.json"))
        .mount(server)
        .await;
}

async fn mount_reads(server: &MockServer, reads: &[&str]) {
    mount_auth(server).await;
    for (i, r) in reads.iter().enumerate() {
        let m = Mock::given(method("GET"))
            .and(path(INVOICE))
            .and(query_param("includedetails", "true"))
            .respond_with(json(&format!("halopsa/write/{r}")));
        if i + 1 < reads.len() {
            m.up_to_n_times(1).mount(server).await;
        } else {
            m.mount(server).await;
        }
    }
}

fn change(line: &str, quantity: &str, cost: Option<&str>) -> LineChange {
    let mut before = LineState::quantity(dec("24"));
    before.unit_cost = Some(dec("4.5"));
    LineChange {
        line: LineRef {
            agreement_id: "-94".into(),
            line_id: line.into(),
            product_id: Some("77".into()),
        },
        before,
        quantity: dec(quantity),
        unit_cost: cost.map(dec),
        effective: jiff::civil::date(2027, 1, 1),
        plan_id: "7".into(),
    }
}

async fn updates(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == UPDATE)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// (case, reads, target, cost, the body Halo must receive)
type Case<'a> = (&'a str, &'a [&'a str], &'a str, Option<&'a str>, Value);

#[tokio::test]
async fn updatelines_gets_one_detail_with_its_line_and_invoice_ids() {
    let table: &[Case] = &[
        (
            "increase",
            &["invoice_-94.json", "invoice_-94_26.json"],
            "26",
            None,
            json!([{"id": 24964, "ihid": -94, "qty_order": 26}]),
        ),
        (
            "decrease",
            &["invoice_-94.json", "invoice_-94_20.json"],
            "20",
            None,
            json!([{"id": 24964, "ihid": -94, "qty_order": 20}]),
        ),
        (
            "cost change",
            &["invoice_-94.json", "invoice_-94_26_cost.json"],
            "26",
            Some("18.75"),
            json!([{"id": 24964, "ihid": -94, "qty_order": 26, "unit_cost": 18.75}]),
        ),
    ];
    for (case, reads, q, cost, body) in table {
        let server = MockServer::start().await;
        mount_reads(&server, reads).await;
        Mock::given(method("POST"))
            .and(path(UPDATE))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&server)
            .await;
        let w = writer(&server, WritePurpose::Write, false);
        let got = apply_line(w.as_ref(), &change("24964", q, *cost)).await;
        assert_eq!(got.as_str(), "written", "{case}: {got:?}");
        assert_eq!(updates(&server).await, vec![body.clone()], "{case}");
    }
}

#[tokio::test]
async fn halo_s_own_guards_a_refusal_and_a_write_application() {
    let server = MockServer::start().await;
    mount_reads(&server, &["invoice_-94_disabled.json"]).await;
    let w = writer(&server, WritePurpose::Read, false);
    let day = jiff::civil::date(2027, 1, 1);
    let computed = w
        .read_line(&change("24965", "12", None).line, day)
        .await
        .unwrap();
    assert_eq!(computed.blocked[0].0, PsaGuard::LineType, "{computed:?}");
    assert!(
        computed.blocked[0]
            .1
            .contains("recurring_invoice_quantity_type 2")
    );
    let disabled = w
        .read_line(&change("24964", "26", None).line, day)
        .await
        .unwrap();
    assert_eq!(
        disabled.blocked[0].0,
        PsaGuard::ContractState,
        "{disabled:?}"
    );
    assert_eq!(disabled.write_ids["ihid"], "-94");

    let server = MockServer::start().await;
    mount_reads(&server, &["invoice_-94.json"]).await;
    Mock::given(method("POST"))
        .and(path(UPDATE))
        .respond_with(ResponseTemplate::new(403).set_body_string("Forbidden"))
        .mount(&server)
        .await;
    let w = writer(&server, WritePurpose::Write, false);
    let got = apply_line(w.as_ref(), &change("24964", "26", None)).await;
    let LineOutcome::Failed { status, error, .. } = &got else {
        panic!("{got:?}");
    };
    assert_eq!(*status, Some(403));
    assert!(error.contains("edit:invoices"), "{error}");
    assert!(!error.contains("read-s3cret"), "{error}");

    // A write application: the token for the write is asked for with its client id.
    let server = MockServer::start().await;
    mount_reads(&server, &["invoice_-94.json", "invoice_-94_26.json"]).await;
    Mock::given(method("POST"))
        .and(path(UPDATE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let w = writer(&server, WritePurpose::Write, true);
    let got = apply_line(w.as_ref(), &change("24964", "26", None)).await;
    assert_eq!(got.as_str(), "written", "{got:?}");
    let tokens: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/auth/token")
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .collect();
    assert!(
        tokens.iter().all(|t| t.contains("client_id=write-app")),
        "{tokens:?}"
    );
}

#[tokio::test]
async fn drift_and_a_read_back_mismatch() {
    // The line moved to 20 since the plan read 24: skipped, nothing sent.
    let server = MockServer::start().await;
    mount_reads(&server, &["invoice_-94_20.json"]).await;
    let w = writer(&server, WritePurpose::Write, false);
    let got = apply_line(w.as_ref(), &change("24964", "26", None)).await;
    assert_eq!(got.as_str(), "drift", "{got:?}");
    assert!(updates(&server).await.is_empty());
    // Written, but it reads back 24 (an approval holding the change, say): a mismatch.
    let server = MockServer::start().await;
    mount_reads(&server, &["invoice_-94.json"]).await;
    Mock::given(method("POST"))
        .and(path(UPDATE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let w = writer(&server, WritePurpose::Write, false);
    let got = apply_line(w.as_ref(), &change("24964", "26", None)).await;
    assert!(matches!(got, LineOutcome::Mismatch { .. }), "{got:?}");
    assert!(got.failed());
    assert_eq!(updates(&server).await.len(), 1);
}
