//! Syncro write-back: the exact `PUT /schedules/{id}/line_items/{id}` (the spec's
//! ScheduleLineItem: `quantity` a number, `cost_cents` an integer) for an increase, a decrease
//! and a cost change; lines Syncro computes itself and paused schedules as guards; a 403 naming
//! "Recurring Invoices - Edit"; a 422 reported as a failed write.

use reconcile::connectors::syncro::Settings;
use reconcile::connectors::{
    KindSettings, LineChange, LineRef, LineState, LineWriter, PsaGuard, WritePurpose,
};
use reconcile::pipeline::push::{LineOutcome, apply_line};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{dec, fast_retry, json};

const SCHEDULE: &str = "/api/v1/schedules/15";
const LINE: &str = "/api/v1/schedules/15/line_items/3";

fn writer(server: &MockServer, allow_write: bool) -> anyhow::Result<Box<dyn LineWriter>> {
    let s = Settings {
        subdomain: None,
        url: Some(format!("{}/api/v1", server.uri())),
        business_only: false,
        billable_property: None,
        billable_property_values: vec![],
        requests_per_minute: None,
        allow_write,
        write_token: true,
    };
    let secret = |field: &str| {
        Ok(SecretString::from(match field {
            "api_token" => "read-token",
            "write_api_token" => "W-secret-9x",
            other => panic!("asked for {other}"),
        }))
    };
    let purpose = if allow_write {
        WritePurpose::Write
    } else {
        WritePurpose::Read
    };
    Ok(s.writer("syncro", &secret, fast_retry(2), purpose)?
        .unwrap())
}

fn change(line: &str, quantity: &str, cost: Option<&str>) -> LineChange {
    let mut before = LineState::quantity(dec("24"));
    before.unit_cost = Some(dec("4.5"));
    LineChange {
        line: LineRef {
            agreement_id: "15".into(),
            line_id: line.into(),
            product_id: Some("9001".into()),
        },
        before,
        quantity: dec(quantity),
        unit_cost: cost.map(dec),
        effective: jiff::civil::date(2027, 1, 1),
        plan_id: "7".into(),
    }
}

async fn mount_reads(server: &MockServer, reads: &[&str]) {
    for (i, r) in reads.iter().enumerate() {
        let m = Mock::given(method("GET"))
            .and(path(SCHEDULE))
            .respond_with(json(&format!("syncro/write/{r}")));
        if i + 1 < reads.len() {
            m.up_to_n_times(1).mount(server).await;
        } else {
            m.mount(server).await;
        }
    }
}

async fn puts(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// The ScheduleLineItem fields and their JSON types, as the spec lists them.
fn schedule_line_item_type(field: &str) -> Option<&'static str> {
    Some(match field {
        "product_id"
        | "cost_cents"
        | "position"
        | "retail_cents"
        | "user_id"
        | "asset_type_id"
        | "contact_field_type_id"
        | "contact_field_answer_id"
        | "recurring_type_id"
        | "saved_asset_search_id" => "integer",
        "description" | "name" => "string",
        "quantity" => "number",
        "one_time_charge" | "taxable" => "boolean",
        _ => return None,
    })
}

/// (case, reads, target, cost, the body Syncro must receive)
type Case<'a> = (&'a str, &'a [&'a str], &'a str, Option<&'a str>, Value);

#[tokio::test]
async fn the_put_sends_only_what_changes_as_the_spec_types_it() {
    let table: &[Case] = &[
        (
            "increase",
            &["schedule_15.json", "schedule_15_26.json"],
            "26",
            None,
            json!({"quantity": 26}),
        ),
        (
            "decrease",
            &["schedule_15.json", "schedule_15_20.json"],
            "20",
            None,
            json!({"quantity": 20}),
        ),
        (
            "cost change",
            &["schedule_15.json", "schedule_15_26_cost.json"],
            "26",
            Some("18.75"),
            json!({"quantity": 26, "cost_cents": 1875}),
        ),
    ];
    for (case, reads, q, cost, body) in table {
        let server = MockServer::start().await;
        mount_reads(&server, reads).await;
        Mock::given(method("PUT"))
            .and(path(LINE))
            .and(header("authorization", "Bearer W-secret-9x"))
            .respond_with(json("syncro/write/line_item_3.json"))
            .mount(&server)
            .await;
        let w = writer(&server, true).unwrap();
        let got = apply_line(w.as_ref(), &change("3", q, *cost)).await;
        assert_eq!(got.as_str(), "written", "{case}: {got:?}");
        let sent = puts(&server).await;
        assert_eq!(sent, vec![body.clone()], "{case}");
        for (k, v) in sent[0].as_object().unwrap() {
            let want =
                schedule_line_item_type(k).unwrap_or_else(|| panic!("{k} is not in the spec"));
            let ok = match want {
                "integer" => v.is_i64(),
                "number" => v.is_number(),
                _ => false,
            };
            assert!(ok, "{case}: {k} = {v} is not an {want}");
        }
    }
}

#[tokio::test]
async fn guards_a_refusal_and_an_invalid_line() {
    // A line tied to an asset type, and a paused schedule: Syncro's own guards.
    let server = MockServer::start().await;
    mount_reads(&server, &["schedule_15.json"]).await;
    let w = writer(&server, false).unwrap();
    let s = w
        .read_line(&change("4", "5", None).line, jiff::civil::date(2027, 1, 1))
        .await
        .unwrap();
    assert_eq!(s.blocked[0].0, PsaGuard::LineType, "{s:?}");
    assert!(s.blocked[0].1.contains("asset_type_id 12"), "{s:?}");
    let server = MockServer::start().await;
    mount_reads(&server, &["schedule_15_paused.json"]).await;
    let w = writer(&server, false).unwrap();
    let s = w
        .read_line(&change("3", "26", None).line, jiff::civil::date(2027, 1, 1))
        .await
        .unwrap();
    assert_eq!(
        s.blocked,
        vec![(PsaGuard::ContractState, "schedule 15 is paused".to_string())]
    );
    assert_eq!((s.quantity, s.unit_cost), (dec("24"), Some(dec("4.5"))));

    // 403: names the permission; 422: a failed write with Syncro's message.
    for (status, body, needle) in [
        (
            403,
            json!({"error": "Forbidden"}),
            "Recurring Invoices - Edit",
        ),
        (
            422,
            json!({"error": ["Quantity must be a number"]}),
            "HTTP 422",
        ),
    ] {
        let server = MockServer::start().await;
        mount_reads(&server, &["schedule_15.json"]).await;
        Mock::given(method("PUT"))
            .and(path(LINE))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
        let w = writer(&server, true).unwrap();
        let got = apply_line(w.as_ref(), &change("3", "26", None)).await;
        let LineOutcome::Failed {
            status: s, error, ..
        } = &got
        else {
            panic!("{got:?}");
        };
        assert_eq!(*s, Some(status));
        assert!(error.contains(needle), "{error}");
        assert!(!error.contains("W-secret-9x"), "{error}");
    }
}

#[tokio::test]
async fn drift_and_a_read_back_mismatch() {
    // The line moved to 20 since the plan read 24: skipped, no PUT.
    let server = MockServer::start().await;
    mount_reads(&server, &["schedule_15_20.json"]).await;
    let w = writer(&server, true).unwrap();
    let got = apply_line(w.as_ref(), &change("3", "26", None)).await;
    assert_eq!(got.as_str(), "drift", "{got:?}");
    assert!(puts(&server).await.is_empty());
    // Written, but it reads back 24: a mismatch, a failed line.
    let server = MockServer::start().await;
    mount_reads(&server, &["schedule_15.json"]).await;
    Mock::given(method("PUT"))
        .and(path(LINE))
        .respond_with(json("syncro/write/line_item_3.json"))
        .mount(&server)
        .await;
    let w = writer(&server, true).unwrap();
    let got = apply_line(w.as_ref(), &change("3", "26", None)).await;
    assert!(matches!(got, LineOutcome::Mismatch { .. }), "{got:?}");
    assert_eq!(puts(&server).await.len(), 1);
}
