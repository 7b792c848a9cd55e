//! Syncro write-back: one schedule line item (a recurring invoice's line), read from
//! `GET /schedules/{id}` and changed with `PUT /schedules/{id}/line_items/{line id}`
//! (write-back.md §3.4; the spec's ScheduleLineItem body, permission "Recurring Invoices -
//! Edit").
//!
//! The PUT sends only what changes: `quantity` (a number) and, when the change sets a cost,
//! `cost_cents` (integer cents; Syncro reads costs back in dollars as `price_cost`). The values
//! are absolute, so the PUT may be sent again after a lost answer. Syncro has no effective
//! date: the schedule's next run bills the new quantity. A line tied to an asset type, a
//! recurring type or a saved asset search computes its own quantity and is never written.

use async_trait::async_trait;
use jiff::civil::Date;
use reqwest::Method;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Settings, Syncro};
use crate::connectors::de::decimal_opt;
use crate::connectors::{
    LineChange, LineRef, LineState, LineWriter, PsaGuard, WriteFacts, Written,
};
use crate::http::{ConnectorError, Request, RetryPolicy, decode_one};

const PERMISSION: &str = "Recurring Invoices - Edit";

/// Reads and writes schedule line items of one Syncro connection.
pub struct Writer {
    syncro: Syncro,
    base: String,
}

/// `GET /schedules/{id}`: the schedule with its lines.
#[derive(Debug, Deserialize)]
struct OneSchedule {
    schedule: Schedule,
}

#[derive(Debug, Deserialize)]
struct Schedule {
    #[serde(default)]
    paused: Option<bool>,
    #[serde(default)]
    lines: Vec<Map<String, Value>>,
}

/// The fields of a line this writer reads; the rest stay as sent.
#[derive(Debug, Deserialize)]
struct Line {
    id: i64,
    #[serde(default, deserialize_with = "decimal_opt")]
    quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    price_cost: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    price_retail: Option<Decimal>,
    #[serde(default)]
    asset_type_id: Option<i64>,
    #[serde(default)]
    recurring_type_id: Option<i64>,
    #[serde(default)]
    saved_asset_search_id: Option<i64>,
}

impl Writer {
    pub fn new(
        name: &str,
        settings: &Settings,
        token: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<Writer> {
        Ok(Writer {
            syncro: Syncro::with_token(name, settings, token, retry)?,
            base: settings.base_url(),
        })
    }

    fn id(&self, what: &str, v: &str) -> Result<i64, ConnectorError> {
        v.trim().parse::<i64>().map_err(|_| ConnectorError::Invalid {
            connection: self.syncro.name.clone(),
            message: format!(
                "{what} id `{v}` is not a Syncro id (a number); the plan was not made from this connection's sync"
            ),
        })
    }
}

/// The PUT body: the quantity, and the cost in whole cents when the change sets one.
pub(super) fn put_body(change: &LineChange) -> Value {
    let mut body = Map::new();
    let q = change.quantity.normalize();
    body.insert(
        "quantity".into(),
        match q.to_i64().filter(|_| q.scale() == 0) {
            Some(i) => json!(i),
            None => q
                .to_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
        },
    );
    if let Some(cost) = change.unit_cost {
        let cents = (cost * Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
            .unwrap_or_default();
        body.insert("cost_cents".into(), json!(cents));
    }
    Value::Object(body)
}

#[async_trait]
impl LineWriter for Writer {
    fn tenant(&self) -> String {
        self.base.clone()
    }

    fn facts(&self) -> WriteFacts {
        WriteFacts {
            whole_units: false,
            timing: "no effective date: the schedule's next run bills the new quantity",
            permission: PERMISSION,
        }
    }

    async fn read_line(
        &self,
        line: &LineRef,
        _effective: Date,
    ) -> Result<LineState, ConnectorError> {
        let sid = self.id("schedule", &line.agreement_id)?;
        let lid = self.id("line item", &line.line_id)?;
        let path = format!("schedules/{sid}");
        let resp = self.syncro.client.get(&path, &[]).await?;
        let one: Option<OneSchedule> = decode_one(&self.syncro.name, &resp.endpoint, &resp.body)?;
        let invalid = |message: String| ConnectorError::Invalid {
            connection: self.syncro.name.clone(),
            message,
        };
        let Some(one) = one else {
            return Err(invalid(format!(
                "GET /{path} answered null: the schedule is gone; plan again"
            )));
        };
        let raw = one
            .schedule
            .lines
            .into_iter()
            .find(|l| l.get("id").and_then(Value::as_i64) == Some(lid))
            .ok_or_else(|| {
                invalid(format!(
                    "schedule {sid} has no line item {lid} any more (GET /{path}); plan again"
                ))
            })?;
        let l: Line = serde_json::from_value(Value::Object(raw)).map_err(|e| {
            invalid(format!(
                "line item {lid} of schedule {sid} is not readable: {e}"
            ))
        })?;
        let Some(quantity) = l.quantity else {
            return Err(invalid(format!(
                "line item {lid} of schedule {sid} has no readable quantity; check it in Syncro"
            )));
        };
        let mut blocked = Vec::new();
        for (field, v) in [
            ("asset_type_id", l.asset_type_id),
            ("recurring_type_id", l.recurring_type_id),
            ("saved_asset_search_id", l.saved_asset_search_id),
        ] {
            if let Some(v) = v {
                blocked.push((
                    PsaGuard::LineType,
                    format!(
                        "line item {} has {field} {v}: Syncro computes its quantity",
                        l.id
                    ),
                ));
            }
        }
        if one.schedule.paused == Some(true) {
            blocked.push((PsaGuard::ContractState, format!("schedule {sid} is paused")));
        }
        Ok(LineState {
            quantity,
            unit_cost: l.price_cost,
            unit_price: l.price_retail,
            currency: None,
            version: None,
            blocked,
            write_ids: Default::default(),
        })
    }

    async fn write_line(&self, change: &LineChange) -> Result<Written, ConnectorError> {
        let sid = self.id("schedule", &change.line.agreement_id)?;
        let lid = self.id("line item", &change.line.line_id)?;
        let path = format!("schedules/{sid}/line_items/{lid}");
        let name = &self.syncro.name;
        let resp = self
            .syncro
            .client
            .send(&Request::write(Method::PUT, &path, put_body(change), true))
            .await
            .map_err(|e| {
                e.name_permission(|endpoint| {
                    format!(
                        "The API token may read but not change recurring invoices ({endpoint}): give it {PERMISSION} (Admin > API Tokens > the token > Permissions), or give a separate write token: `reconcile connect syncro --name {name} --allow-write --write-token ...`"
                    )
                })
            })?;
        Ok(Written {
            status: resp.status,
            returned_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_put_sends_the_quantity_and_whole_cents() {
        let c = |q: &str, cost: Option<&str>| LineChange {
            line: LineRef {
                agreement_id: "15".into(),
                line_id: "3".into(),
                product_id: None,
            },
            before: LineState::quantity(Decimal::TEN),
            quantity: q.parse().unwrap(),
            unit_cost: cost.map(|c| c.parse().unwrap()),
            effective: jiff::civil::date(2027, 1, 1),
            plan_id: "1".into(),
        };
        assert_eq!(put_body(&c("12.0", None)), json!({"quantity": 12}));
        assert_eq!(
            put_body(&c("12.5", Some("4.505"))),
            json!({"quantity": 12.5, "cost_cents": 451})
        );
    }
}
