//! Autotask write-back: contract service units changed by an adjustment (write-back.md §3.2,
//! §2.5). Units live in ContractServiceUnits rows, one per billing period; the only write is
//! `POST /V1.0/ContractServiceAdjustments`, a **delta** of whole units (`unitChange`, int32)
//! from `effectiveDate` on, create-only and not idempotent: every POST that lands adds units.
//!
//! So the delta is computed from the units just read for the effective date (the shared apply
//! step re-reads before writing), the POST is sent once (`Request::write(.., false)`), and after
//! a timeout or 5xx the units are read again: at the target, it landed; still at the value
//! before, it did not, and it is sent exactly once more; anything else stops with the error.
//! A contract note names the plan after each adjustment (Autotask also logs unit changes on its
//! own). A revert is a compensating adjustment: the old value as the target, its delta from a
//! fresh read.

use async_trait::async_trait;
use jiff::civil::Date;
use reqwest::Method;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Autotask;
use crate::connectors::de::decimal_opt;
use crate::connectors::{
    LineChange, LineRef, LineState, LineWriter, PsaGuard, WriteFacts, Written,
};
use crate::http::{ConnectorError, Request, decode_one};

const PERMISSION: &str = "a security level that may edit Contracts (service adjustments and notes)";

/// Reads units and adjusts them on one Autotask connection.
pub struct Writer {
    at: Autotask,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Contract {
    id: i64,
    #[serde(default)]
    status: Option<i64>,
    #[serde(default)]
    end_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContractService {
    id: i64,
    #[serde(default, deserialize_with = "decimal_opt")]
    unit_cost: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    unit_price: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnitsRow {
    id: i64,
    #[serde(default)]
    start_date: Option<String>,
    #[serde(default)]
    end_date: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    units: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    cost: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    price: Option<Decimal>,
    #[serde(default)]
    approve_and_post_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    #[serde(default)]
    item_id: Option<i64>,
}

/// The day of an Autotask date-time (`2026-12-01T00:00:00`, with or without a zone).
fn day(s: &str) -> Option<Date> {
    s.get(..10).and_then(|d| d.parse().ok())
}

fn eq(field: &str, value: i64) -> Value {
    json!({"op": "eq", "field": field, "value": value})
}

/// The adjustment body: the delta from `before` to the target, whole units only.
pub(super) fn adjustment(
    contract: i64,
    contract_service: i64,
    service: i64,
    change: &LineChange,
) -> Result<Value, String> {
    if !change.quantity.fract().is_zero() {
        return Err(format!(
            "Autotask takes whole units only; the target {} must be rounded before it is written",
            change.quantity
        ));
    }
    let delta = (change.quantity - change.before.quantity.ceil())
        .to_i64()
        .ok_or("the change does not fit an int32")?;
    let mut body = json!({
        "contractID": contract,
        "contractServiceID": contract_service,
        "serviceID": service,
        "effectiveDate": format!("{}T00:00:00", change.effective),
        "unitChange": delta,
    });
    if let Some(c) = change.unit_cost {
        body["adjustedUnitCost"] = json!(c.round_dp(2).to_f64().unwrap_or_default());
    }
    Ok(body)
}

impl Writer {
    pub fn new(at: Autotask) -> Writer {
        Writer { at }
    }

    fn invalid(&self, message: String) -> ConnectorError {
        ConnectorError::Invalid {
            connection: self.at.name.clone(),
            message,
        }
    }

    fn ids(&self, line: &LineRef) -> Result<(i64, i64), ConnectorError> {
        let contract = line.agreement_id.trim().parse::<i64>().ok();
        let service = line
            .product_id
            .as_deref()
            .and_then(|s| s.trim().parse::<i64>().ok());
        match (contract, service) {
            (Some(c), Some(s)) => Ok((c, s)),
            _ => Err(self.invalid(format!(
                "contract `{}` / service `{:?}` are not Autotask ids; plan again from a fresh sync",
                line.agreement_id, line.product_id
            ))),
        }
    }

    async fn write_once(&self, body: &Value) -> Result<Written, ConnectorError> {
        let root = self.at.api().await?.root.clone();
        let req = Request::write(
            Method::POST,
            format!("{root}ContractServiceAdjustments"),
            body.clone(),
            false,
        );
        let name = &self.at.name;
        let resp = self
            .at
            .send(&req, "ContractServiceAdjustments")
            .await
            .map_err(|e| {
                e.name_permission(|endpoint| {
                    format!(
                        "The API user may read but not adjust contracts ({endpoint}): give it {PERMISSION}, or configure a write user: `reconcile connect autotask --name {name} --allow-write --write-username USER ...`"
                    )
                })
            })?;
        let created: Option<Created> = decode_one(&self.at.name, &resp.endpoint, &resp.body)?;
        Ok(Written {
            status: resp.status,
            returned_id: created.and_then(|c| c.item_id).map(|i| i.to_string()),
        })
    }

    /// A contract note naming the plan; a failure is only logged (the units changed anyway,
    /// and Autotask notes unit changes itself).
    async fn note(&self, contract: i64, change: &LineChange, delta: &Value) {
        let Ok(api) = self.at.api().await else { return };
        let body = json!({
            "title": format!("reconcile push plan {}", change.plan_id),
            "description": format!(
                "Units of service {} changed from {} to {} ({} units) effective {}, by reconcile push plan {}.",
                change.line.product_id.as_deref().unwrap_or("?"),
                change.before.quantity.normalize(),
                change.quantity.normalize(),
                delta,
                change.effective,
                change.plan_id
            ),
        });
        let req = Request::write(
            Method::POST,
            format!("{}Contracts/{contract}/Notes", api.root),
            body,
            false,
        );
        if let Err(e) = self.at.send(&req, "ContractNotes").await {
            tracing::warn!(connection = %self.at.name, contract, error = %e, "the contract note was not created");
        }
    }
}

#[async_trait]
impl LineWriter for Writer {
    fn tenant(&self) -> String {
        format!(
            "{} user {}",
            self.at.lookup.as_str(),
            self.at.username.to_ascii_lowercase()
        )
    }

    fn facts(&self) -> WriteFacts {
        WriteFacts {
            whole_units: true,
            timing: "whole units as an adjustment from the effective date; Autotask prorates from it, so dated at a billing-period start there is no proration",
            permission: PERMISSION,
        }
    }

    async fn read_line(
        &self,
        line: &LineRef,
        effective: Date,
    ) -> Result<LineState, ConnectorError> {
        let (contract_id, service_id) = self.ids(line)?;
        let contracts: Vec<(Contract, String)> = self
            .at
            .query(
                "Contracts",
                json!([eq("id", contract_id)]),
                1,
                false,
                &|_| {},
            )
            .await?;
        let Some((contract, _)) = contracts.into_iter().next() else {
            return Err(self.invalid(format!("contract {contract_id} is gone; plan again")));
        };
        let services: Vec<(ContractService, String)> = self
            .at
            .query(
                "ContractServices",
                json!([eq("contractID", contract_id), eq("serviceID", service_id)]),
                10,
                false,
                &|_| {},
            )
            .await?;
        let Some((cs, _)) = services.into_iter().next() else {
            return Err(self.invalid(format!(
                "service {service_id} is not on contract {contract_id} any more; plan again (an adjustment would add it)"
            )));
        };
        let rows: Vec<(UnitsRow, String)> = self
            .at
            .query(
                "ContractServiceUnits",
                json!([
                    eq("contractID", contract_id),
                    eq("contractServiceID", cs.id)
                ]),
                500,
                true,
                &|_| {},
            )
            .await?;
        let covers = |r: &UnitsRow| {
            r.start_date
                .as_deref()
                .and_then(day)
                .is_some_and(|s| s <= effective)
                && r.end_date
                    .as_deref()
                    .and_then(day)
                    .is_some_and(|e| effective <= e)
        };
        let covering: Vec<&UnitsRow> = rows.iter().map(|(r, _)| r).filter(|r| covers(r)).collect();
        let mut blocked = Vec::new();
        let mut note = None;
        let row = match covering.as_slice() {
            [one] => *one,
            [] => {
                // No row for that period yet (a future period): the latest row, said so.
                let latest = rows
                    .iter()
                    .map(|(r, _)| r)
                    .max_by_key(|r| r.start_date.clone())
                    .ok_or_else(|| {
                        self.invalid(format!(
                            "contract service {} has no units rows; check the contract in Autotask",
                            cs.id
                        ))
                    })?;
                note = Some(format!(
                    "no units row covers {effective}; the latest (row {}) was read",
                    latest.id
                ));
                latest
            }
            many => {
                blocked.push((
                    PsaGuard::LineType,
                    format!(
                        "{} units rows of contract service {} cover {effective}; change them by hand",
                        many.len(),
                        cs.id
                    ),
                ));
                many[0]
            }
        };
        let Some(units) = row.units else {
            return Err(self.invalid(format!(
                "units row {} has no readable units; check it in Autotask",
                row.id
            )));
        };
        if let Some(posted) = &row.approve_and_post_date {
            blocked.push((
                PsaGuard::PostedPeriod,
                format!(
                    "units row {} (covering {effective}) was approved and posted {}: that period is invoiced",
                    row.id,
                    posted.get(..10).unwrap_or(posted)
                ),
            ));
        }
        // Contract status 1 is Active in Autotask's picklist.
        if contract.status != Some(1) {
            blocked.push((
                PsaGuard::ContractState,
                format!(
                    "contract {} has status {} (not Active)",
                    contract.id,
                    contract.status.map_or("unknown".into(), |s| s.to_string())
                ),
            ));
        }
        if let Some(end) = contract.end_date.as_deref().and_then(day)
            && end < effective
        {
            blocked.push((
                PsaGuard::ContractState,
                format!(
                    "contract {} ends {end}, before the effective date {effective}",
                    contract.id
                ),
            ));
        }
        let mut write_ids = std::collections::BTreeMap::from([
            ("contractServiceID".to_string(), cs.id.to_string()),
            ("unitsRowID".to_string(), row.id.to_string()),
        ]);
        if let Some(n) = note {
            write_ids.insert("unitsRowNote".into(), n);
        }
        Ok(LineState {
            quantity: units,
            unit_cost: row.cost.or(cs.unit_cost),
            unit_price: row.price.or(cs.unit_price),
            currency: None,
            version: None,
            blocked,
            write_ids,
        })
    }

    async fn write_line(&self, change: &LineChange) -> Result<Written, ConnectorError> {
        let (contract, service) = self.ids(&change.line)?;
        let cs = change
            .before
            .write_ids
            .get("contractServiceID")
            .and_then(|c| c.parse::<i64>().ok())
            .ok_or_else(|| {
                self.invalid("the line was read without its contract service; plan again".into())
            })?;
        let body = adjustment(contract, cs, service, change).map_err(|m| self.invalid(m))?;
        let delta = body["unitChange"].clone();
        let written = match self.write_once(&body).await {
            Ok(w) => w,
            Err(e) if e.outcome_unknown() => {
                // Landed or not? Only the units can tell; never send blindly again.
                let now = self.read_line(&change.line, change.effective).await?;
                if now.quantity == change.quantity {
                    tracing::info!(connection = %self.at.name, "the adjustment landed although its answer was lost");
                    Written {
                        status: e.status().unwrap_or(0),
                        returned_id: None,
                    }
                } else if now.quantity == change.before.quantity {
                    tracing::info!(connection = %self.at.name, "the adjustment did not land; sending it once more");
                    self.write_once(&body).await?
                } else {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        };
        self.note(contract, change, &delta).await;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(before: &str, target: &str) -> LineChange {
        LineChange {
            line: LineRef {
                agreement_id: "123".into(),
                line_id: "500001".into(),
                product_id: Some("456".into()),
            },
            before: LineState::quantity(before.parse().unwrap()),
            quantity: target.parse().unwrap(),
            unit_cost: None,
            effective: jiff::civil::date(2027, 1, 1),
            plan_id: "7".into(),
        }
    }

    #[test]
    fn the_adjustment_is_a_whole_delta_from_the_units_read() {
        // A count of 10.2 against 10 units is planned as 11: +1.
        assert_eq!(
            adjustment(123, 789, 456, &change("10", "11")).unwrap(),
            json!({"contractID": 123, "contractServiceID": 789, "serviceID": 456,
                   "effectiveDate": "2027-01-01T00:00:00", "unitChange": 1})
        );
        assert_eq!(
            adjustment(123, 789, 456, &change("12", "9")).unwrap()["unitChange"],
            -3
        );
        assert!(adjustment(123, 789, 456, &change("10", "10.2")).is_err());
    }
}
