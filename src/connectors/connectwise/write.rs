//! ConnectWise write-back: one agreement addition, read and PATCHed in place (write-back.md §3.1).
//!
//! Read: `GET /finance/agreements/{agreementId}/additions/{additionId}` for the quantity, unit
//! cost and price and the drift marker `_info.lastUpdated` (ConnectWise sends no ETag), and
//! `GET /finance/agreements/{agreementId}` for the contract state. Write: `PATCH` of the same
//! addition with ConnectWise's JSON-patch dialect, `[{"op":"replace","path":"quantity",
//! "value":26}]` (bare field names), plus `unitCost` only when the change sets a cost. The
//! values are absolute, so the PATCH is safe to resend after a timeout or 5xx. Never PUT: it
//! needs the whole object and would rewrite fields this tool does not own.

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use reqwest::Method;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::{ConnectWise, Settings, wire};
use crate::connectors::{
    LineChange, LineRef, LineState, LineWriter, PsaGuard, WriteFacts, Written,
};
use crate::http::{ConnectorError, Request, RetryPolicy};

/// The security-role permission a write needs beyond the read-only role (write-back.md §2.8).
const PERMISSION: &str = "Finance > Agreements: Edit";

/// Reads and writes agreement additions of one ConnectWise connection, as one API member.
pub struct Writer {
    cw: ConnectWise,
    /// The member's public key (not a secret), to say which member lacks a permission.
    member: String,
}

impl Writer {
    /// A writer signed in as the member with `public_key` and `private_key`, built the way the
    /// connector builds its client (same site, codebase discovery, clientId, limits).
    pub fn new(
        name: &str,
        settings: &Settings,
        public_key: &str,
        private_key: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<Writer> {
        Ok(Writer {
            cw: ConnectWise::as_member(name, settings, public_key, private_key, retry)?,
            member: public_key.to_string(),
        })
    }

    /// The ids as numbers: they go into a URL path, so nothing else may pass.
    fn ids(&self, line: &LineRef) -> Result<(i64, i64), ConnectorError> {
        let id = |what: &str, v: &str| {
            v.trim().parse::<i64>().map_err(|_| ConnectorError::Invalid {
                connection: self.cw.name.clone(),
                message: format!(
                    "{what} id `{v}` is not a ConnectWise id (a number); the plan was not made from this connection's sync"
                ),
            })
        };
        Ok((
            id("agreement", &line.agreement_id)?,
            id("addition", &line.line_id)?,
        ))
    }
}

fn addition_path(agreement: i64, addition: i64) -> String {
    format!("finance/agreements/{agreement}/additions/{addition}")
}

fn day(t: Timestamp) -> Date {
    t.to_zoned(TimeZone::UTC).date()
}

/// A JSON number for ConnectWise's float fields: whole values as integers (`26`), others as
/// the nearest double (`18.75`).
fn number(d: Decimal) -> Value {
    let d = d.normalize();
    if d.scale() == 0
        && let Some(i) = d.to_i64()
    {
        return json!(i);
    }
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Money as ConnectWise keeps it: cents, halves away from zero.
fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The PATCH body for `change`: quantity always, unit cost only when the change sets one.
pub(super) fn patch_body(change: &LineChange) -> Value {
    let mut ops =
        vec![json!({"op": "replace", "path": "quantity", "value": number(change.quantity)})];
    if let Some(cost) = change.unit_cost {
        ops.push(json!({"op": "replace", "path": "unitCost", "value": number(cents(cost))}));
    }
    Value::Array(ops)
}

/// The guards ConnectWise itself decides, each with the record and field that fails it.
fn guards(
    addition: &wire::Addition,
    agreement: &wire::Agreement,
    effective: Date,
) -> Vec<(PsaGuard, String)> {
    let mut blocked = Vec::new();
    let (aid, lid) = (agreement.id, addition.id);
    // A DoNotBill or NoCharge line is informational (a count some sync keeps): never "fixed".
    if let Some(b) = addition
        .bill_customer
        .as_deref()
        .filter(|b| !b.eq_ignore_ascii_case("billable"))
    {
        blocked.push((
            PsaGuard::LineType,
            format!("addition {lid} has billCustomer {b}: an informational line, not billed"),
        ));
    }
    match agreement.agreement_status.as_deref() {
        Some(s) if s.eq_ignore_ascii_case("active") => {}
        Some(s) => blocked.push((
            PsaGuard::ContractState,
            format!("agreement {aid} has agreementStatus {s}, not Active"),
        )),
        None => blocked.push((
            PsaGuard::ContractState,
            format!("agreement {aid} has no agreementStatus: cannot tell whether it is active"),
        )),
    }
    if agreement.cancelled_flag == Some(true) {
        blocked.push((
            PsaGuard::ContractState,
            format!("agreement {aid} has cancelledFlag true"),
        ));
    }
    if agreement.no_ending_date_flag != Some(true)
        && let Some(end) = agreement.end_date.map(day)
        && end < effective
    {
        blocked.push((
            PsaGuard::ContractState,
            format!("agreement {aid} has endDate {end}, before the effective date {effective}"),
        ));
    }
    // In force while cancelledDate is absent or after the day (as the sync reads it).
    if let Some(cancelled) = addition.cancelled_date.map(day)
        && cancelled <= effective
    {
        blocked.push((
            PsaGuard::ContractState,
            format!(
                "addition {lid} has cancelledDate {cancelled}, on or before the effective date {effective}"
            ),
        ));
    }
    blocked
}

#[async_trait]
impl LineWriter for Writer {
    /// The API host and the company id; the codebase is left out since it moves on upgrades.
    fn tenant(&self) -> String {
        format!(
            "{} company {}",
            self.cw.api_origin.origin().ascii_serialization(),
            self.cw.company_id.to_ascii_lowercase()
        )
    }

    fn facts(&self) -> WriteFacts {
        WriteFacts {
            whole_units: false,
            timing: "applies at once: an in-place PATCH of the addition takes no effective date, so ConnectWise bills the new values from its next invoice",
            permission: PERMISSION,
        }
    }

    async fn read_line(
        &self,
        line: &LineRef,
        effective: Date,
    ) -> Result<LineState, ConnectorError> {
        let (agreement_id, addition_id) = self.ids(line)?;
        let (api, _) = self.cw.api().await?;
        let path = addition_path(agreement_id, addition_id);
        let agreement_path = format!("finance/agreements/{agreement_id}");
        let (addition, agreement) = tokio::try_join!(
            api.get_one::<wire::Addition>(&path, &[]),
            api.get_one::<wire::Agreement>(&agreement_path, &[]),
        )?;
        // Never read a missing quantity as 0: that would plan a write from nothing.
        let Some(quantity) = addition.quantity else {
            return Err(ConnectorError::Invalid {
                connection: self.cw.name.clone(),
                message: format!(
                    "GET /{path} has no quantity; check the addition in ConnectWise, or leave it out of the plan"
                ),
            });
        };
        Ok(LineState {
            quantity,
            unit_cost: addition.unit_cost,
            unit_price: addition.unit_price,
            currency: None,
            version: addition.info.as_ref().and_then(|i| i.last_updated.clone()),
            blocked: guards(&addition, &agreement, effective),
            write_ids: Default::default(),
        })
    }

    async fn write_line(&self, change: &LineChange) -> Result<Written, ConnectorError> {
        let (agreement_id, addition_id) = self.ids(&change.line)?;
        let (api, _) = self.cw.api().await?;
        let path = addition_path(agreement_id, addition_id);
        // Absolute values: sending it again after a lost answer leaves the same line.
        let req = Request::write(Method::PATCH, &path, patch_body(change), true);
        let name = &self.cw.name;
        let member = &self.member;
        let resp = api.send(&req).await.map_err(|e| {
            e.name_permission(|endpoint| {
                format!(
                    "The API member `{member}` may read but not change agreement additions ({endpoint}): give its security role {PERMISSION} (All, or customised to these agreements), or configure a write member with that right: `reconcile connect connectwise --name {name} --allow-write --write-public-key KEY ...`"
                )
            })
        })?;
        // ConnectWise answers a PATCH with 200 and the whole addition; the shared apply step
        // reads the line back to check it, so the body is not trusted here.
        Ok(Written {
            status: resp.status,
            returned_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(quantity: &str, cost: Option<&str>) -> LineChange {
        LineChange {
            line: LineRef {
                agreement_id: "55".into(),
                line_id: "901".into(),
                product_id: None,
            },
            before: LineState::quantity(Decimal::new(24, 0)),
            quantity: quantity.parse().unwrap(),
            unit_cost: cost.map(|c| c.parse().unwrap()),
            effective: jiff::civil::date(2026, 12, 4),
            plan_id: "p1".into(),
        }
    }

    #[test]
    fn patch_body_replaces_bare_fields_with_numbers() {
        assert_eq!(
            patch_body(&change("26.000", Some("18.754"))),
            json!([{"op":"replace","path":"quantity","value":26},
                   {"op":"replace","path":"unitCost","value":18.75}])
        );
        assert_eq!(
            patch_body(&change("21.5", None)),
            json!([{"op":"replace","path":"quantity","value":21.5}])
        );
        assert_eq!(cents("2.005".parse().unwrap()), Decimal::new(201, 2));
    }
}
