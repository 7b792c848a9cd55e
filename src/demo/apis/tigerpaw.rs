//! The Tigerpaw sandbox for `reconcile demo --psa tigerpaw`: the demo MSP's ConnectWise data as
//! Tigerpaw REST API answers (PascalCase, as the 2019 Swagger models). It enforces what the real
//! API enforces: `Authorization: TSI <token>` on every request, and the account search paged by
//! `PageSize` and `StartRow` (from 1; the answer's `NextRow`, 0 on the last page).
//!
//! Translation: a company is an account (deleted ones are gone; its type is `Customer` when it
//! has the demo's billable type, else its first type; an inactive status is `Inactive`); an
//! active agreement is an agreement (only active ones are listed, as `activeOnly` asks; its
//! billing cycle is the billing period); an addition in force now and billed to the customer is
//! an additional charge whose `SpecialItemId` is its product's ConnectWise identifier (so the
//! demo's mappings hold) and whose `Quantity` is an integer: a fractional quantity is rounded up,
//! since Tigerpaw bills whole units. ConnectWise's "less included" is not carried.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::connectors::tigerpaw::Settings;
use crate::demo::kit::auth::{authorization, guard};
use crate::demo::kit::http::{Window, reply};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::{CwAgreement, DEMO_BILLABLE_TYPE, SampleMsp};

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The token the sandbox accepts: base64 of a rep's public key and private key, the form of
/// Tigerpaw's sample token.
pub const DEMO_TOKEN: &str = "M2Y2YjJjMWEtOWQ4ZS00YzdiLWIxYTAtNWU0ZDNjMmIxYTA5OlpHVnRieTEwYVdkbGNuQmhkeTF3Y21sMllYUmxMV3RsZVE9PQ==";
const MAX_PAGE: usize = 100;

/// The Tigerpaw sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-tigerpaw";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        let api = Router::new()
            .route("/api/accounts/search", post(accounts))
            .route(
                "/api/agreements/account/{account}/{active}",
                get(agreements),
            )
            .route(
                "/api/agreements/{agreement}/additionalcharges",
                get(charges),
            );
        Surface::router(
            guard(api, (), authorized)
                .fallback(|| async { failure(StatusCode::NOT_FOUND, "No HTTP resource was found") })
                .with_state(sample),
        )
    }

    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        let settings = Settings {
            url: served.url().to_string(),
            billable_types: vec!["Customer".into()],
            requests_per_minute: None,
        };
        Connection::new(settings, format!("--url {}", served.url()))
            .secret("api_token", DEMO_TOKEN)
            .note("the token on stdin")
    }
}

fn failure(status: StatusCode, message: &str) -> Response {
    reply(status, json!({ "Message": message }))
}

fn authorized(_: &(), headers: &HeaderMap) -> Result<(), Response> {
    match authorization(headers) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("TSI") && token == DEMO_TOKEN => {
            Ok(())
        }
        _ => Err(failure(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        )),
    }
}

fn date_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

fn number(d: Decimal) -> Value {
    serde_json::Number::from_f64(d.to_f64().unwrap_or(0.0))
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// `{Criteria, PageSize, StartRow}`: every account (the connector asks for account numbers
/// above 0), `PageSize` (1 to 100, default 100) from `StartRow` (from 1).
async fn accounts(State(sample): State<Arc<SampleMsp>>, body: Bytes) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return failure(StatusCode::BAD_REQUEST, "The request is invalid.");
    };
    let size = body.get("PageSize").and_then(Value::as_u64).unwrap_or(100) as usize;
    let start = body.get("StartRow").and_then(Value::as_u64).unwrap_or(1) as usize;
    if !(1..=MAX_PAGE).contains(&size) || start == 0 {
        return reply(
            StatusCode::OK,
            json!({"Accounts": [], "Success": false, "Message": format!("PageSize must be 1 to {MAX_PAGE} and StartRow 1 or more")}),
        );
    }
    let cw = &sample.connectwise;
    let all: Vec<Value> = cw
        .companies
        .iter()
        .filter(|c| !c.deleted)
        .map(|c| {
            let inactive = cw
                .company_statuses
                .iter()
                .any(|s| s.id == c.status_id && s.inactive_flag);
            let types: Vec<&str> = c
                .type_ids
                .iter()
                .filter_map(|t| cw.company_types.iter().find(|ct| ct.id == *t))
                .map(|ct| ct.name.as_str())
                .collect();
            let kind = if types.contains(&DEMO_BILLABLE_TYPE) {
                "Customer"
            } else {
                types.first().copied().unwrap_or("Prospect")
            };
            json!({
                "AccountNumber": c.id,
                "Account": {
                    "Name": c.name, "AccountId": c.identifier, "Address1": c.address_line1,
                    "City": c.city, "State": c.state, "PostalCode": c.zip, "Country": "USA",
                    "AccountType": kind, "Status": if inactive { "Inactive" } else { "Active" },
                    "RepNumber": 3, "IsVendor": false, "DoNotEmail": false,
                },
                "PhoneNumber": c.phone_number, "RepName": "Sam Rep", "RelatedAccounts": 0,
                "OpenInvoices": 0, "NumberOfContacts": 2,
            })
        })
        .collect();
    let total = all.len();
    let window = Window::offset(start - 1, size);
    let next = if window.more(total) {
        window.end() + 1
    } else {
        0
    };
    reply(
        StatusCode::OK,
        json!({"Accounts": window.of(all), "PageSize": size, "NextRow": next,
               "TotalCount": total, "Success": true, "Message": null}),
    )
}

fn active(a: &CwAgreement) -> bool {
    a.status.eq_ignore_ascii_case("active") && !a.cancelled
}

fn agreement_json(sample: &SampleMsp, a: &CwAgreement) -> Value {
    let cw = &sample.connectwise;
    let cycle = cw
        .billing_cycles
        .iter()
        .find(|(id, _)| *id == a.billing_cycle_id)
        .map(|(_, n)| n.as_str())
        .unwrap_or("Monthly");
    let account = cw.companies.iter().find(|c| c.id == a.company_id);
    json!({
        "AgreementNumber": a.id,
        "AccountName": account.map(|c| c.name.as_str()),
        "Agreement": {
            "AccountNumber": a.company_id, "Type": "Managed Services",
            "StartDate": date_time(a.start), "EndDate": a.end.map(date_time),
            "BillingPeriod": 1, "BillingPeriodDescription": if cycle == "Annual" { "Annually" } else { cycle },
            "AutomatedBilling": true, "ContractNumber": null, "TotalPrice": 0.0, "TotalCost": 0.0,
            "DateCreated": date_time(a.start),
        },
        "AdditionalCharges": 1, "CoveredAssetTypes": 0, "Invoices": 0,
    })
}

async fn agreements(
    State(sample): State<Arc<SampleMsp>>,
    Path((account, active_only)): Path<(String, String)>,
) -> Response {
    let only_active = active_only.eq_ignore_ascii_case("true");
    let list: Vec<Value> = sample
        .connectwise
        .agreements
        .iter()
        .filter(|a| a.company_id.to_string() == account && (!only_active || active(a)))
        .map(|a| agreement_json(&sample, a))
        .collect();
    let total = list.len();
    reply(
        StatusCode::OK,
        json!({"Agreements": list, "PageSize": total, "NextRow": 0, "TotalCount": total,
               "Success": true, "Message": null}),
    )
}

async fn charges(State(sample): State<Arc<SampleMsp>>, Path(agreement): Path<String>) -> Response {
    let Some(a) = sample
        .connectwise
        .agreements
        .iter()
        .find(|a| a.id.to_string() == agreement)
    else {
        return failure(StatusCode::NOT_FOUND, "The agreement was not found.");
    };
    let now = Timestamp::now();
    let list: Vec<Value> = sample
        .additions()
        .into_iter()
        .filter(|x| {
            x.agreement_id == a.id
                && x.bill_customer == "Billable"
                && x.effective <= now
                && x.cancelled.is_none_or(|c| c > now)
        })
        .map(|x| {
            let item = sample
                .connectwise
                .catalog
                .iter()
                .find(|p| p.id == x.product_id)
                .map(|p| p.identifier.as_str())
                .unwrap_or(x.description.as_str());
            json!({
                "DetailId": x.id, "SpecialItemId": item, "ItemDescription": x.description,
                // Whole units: a fraction is billed as the next unit.
                "Quantity": x.quantity.ceil().to_i64().unwrap_or(0),
                "Price": number(x.unit_price), "PriceLevel": 1, "PriceLevelDescription": "List",
                "Source": 1, "SourceDescription": "Manual", "PrintWhenQuantityZero": false,
                "DeleteAfterInvoicing": false, "DateAdded": date_time(x.effective),
                "UseFlatPrice": false,
            })
        })
        .collect();
    reply(StatusCode::OK, Value::Array(list))
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::tigerpaw::Tigerpaw;
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_reads_what_the_demo_bills_in_whole_units() {
        let sample = Arc::new(crate::demo::sample());
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let settings = Api::connection(&server, &sample).settings;
        let c = Tigerpaw::with_token(
            "tigerpaw",
            &settings,
            SecretString::from(DEMO_TOKEN),
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(c.check().await.unwrap().contains("agreements are readable"));
        let Snapshot::Psa(psa) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a PSA snapshot")
        };
        assert!(psa.whole_units);
        crate::demo::kit::testing::assert_bills_the_planted(&sample, &psa, |q| q.ceil());
        let billable = psa.companies.iter().filter(|c| c.billable).count();
        assert!(billable > 0 && billable < psa.companies.len());

        let wrong = Tigerpaw::with_token(
            "tigerpaw",
            &settings,
            SecretString::from("nope"),
            RetryPolicy::default(),
        )
        .unwrap();
        let err = wrong.check().await.unwrap_err().to_string();
        assert!(err.contains("HTTP 401"), "{err}");
        assert!(err.contains("--key-pair"), "{err}");
    }
}
