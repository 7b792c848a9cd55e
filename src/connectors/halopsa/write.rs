//! HaloPSA write-back: one recurring-invoice line, read from
//! `GET /api/RecurringInvoice/{ihid}?includedetails=true` and changed with
//! `POST /api/RecurringInvoice/updatelines`, an array of InvoiceDetail objects each carrying its
//! line `id` and invoice `ihid` (write-back.md §3.3). Only `qty_order` and, when the change sets
//! one, `unit_cost` are sent: absolute values, so the POST may be sent again after a lost
//! answer. The response body is not described by Halo's spec, so the shared apply step reads
//! the line back. A line whose `recurring_invoice_quantity_type` is not 0 takes its quantity
//! from users, assets or licences and is never written. Template ids may be negative.

use async_trait::async_trait;
use jiff::civil::Date;
use reqwest::Method;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};

use super::{HaloPsa, wire};
use crate::connectors::{
    LineChange, LineRef, LineState, LineWriter, PsaGuard, WriteFacts, Written,
};
use crate::http::{ConnectorError, Request, decode_value};
use crate::model::PsaLine;

const PERMISSION: &str =
    "edit on recurring invoices for the application's agent (`edit:invoices`, or `all`)";

/// Reads and writes recurring-invoice lines of one HaloPSA connection.
pub struct Writer {
    halo: HaloPsa,
}

impl Writer {
    pub fn new(halo: HaloPsa) -> Writer {
        Writer { halo }
    }

    fn invalid(&self, message: String) -> ConnectorError {
        ConnectorError::Invalid {
            connection: self.halo.name.clone(),
            message,
        }
    }

    /// The invoice id: the snapshot files a line under its contract when it has one, so the
    /// line's own `ihid` (kept in `write_ids` or the raw record) comes first.
    fn ihid(&self, line: &LineRef) -> Result<i64, ConnectorError> {
        line.agreement_id.trim().parse::<i64>().map_err(|_| {
            self.invalid(format!(
                "`{}` is not a recurring-invoice id; plan again from a fresh sync",
                line.agreement_id
            ))
        })
    }
}

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

/// The updatelines body: one InvoiceDetail with the line's `id` and `ihid`.
pub(super) fn update_body(ihid: i64, line_id: i64, change: &LineChange) -> Value {
    let mut d = Map::new();
    d.insert("id".into(), json!(line_id));
    d.insert("ihid".into(), json!(ihid));
    d.insert("qty_order".into(), number(change.quantity));
    if let Some(c) = change.unit_cost {
        d.insert(
            "unit_cost".into(),
            number(c.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)),
        );
    }
    Value::Array(vec![Value::Object(d)])
}

#[async_trait]
impl LineWriter for Writer {
    fn tenant(&self) -> String {
        let t = self.halo.settings.tenant.as_deref().unwrap_or_default();
        format!(
            "{} tenant {t}",
            self.halo.instance.as_str().trim_end_matches('/')
        )
    }

    fn facts(&self) -> WriteFacts {
        WriteFacts {
            whole_units: false,
            timing: "the line changes at once; HaloPSA prorates as the line's prorata settings say",
            permission: PERMISSION,
        }
    }

    /// The line's own invoice (`ihid` in the raw record), not the contract the snapshot files
    /// it under.
    fn line_ref(&self, line: &PsaLine) -> LineRef {
        let ihid = line
            .raw
            .as_deref()
            .and_then(|r| serde_json::from_str::<Value>(r).ok())
            .and_then(|v| v.get("ihid").cloned())
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            });
        LineRef {
            agreement_id: ihid.map_or_else(|| line.agreement_id.clone(), |i| i.to_string()),
            line_id: line.id.clone(),
            product_id: line.product_id.clone(),
        }
    }

    async fn read_line(
        &self,
        line: &LineRef,
        effective: Date,
    ) -> Result<LineState, ConnectorError> {
        let ihid = self.ihid(line)?;
        let (api, _) = self.halo.api().await?;
        let path = format!("RecurringInvoice/{ihid}");
        let resp = api
            .get(&path, &[("includedetails", "true".to_string())])
            .await?;
        let body: Value = crate::http::parse_json(&self.halo.name, &resp.endpoint, &resp.body)?;
        let header: wire::InvoiceHeader = decode_value(&self.halo.name, &resp.endpoint, "", body)?;
        let raw = header
            .lines
            .unwrap_or_default()
            .into_iter()
            .find(|l| {
                l.get("id").map(|v| v.to_string().trim_matches('"').to_string())
                    == Some(line.line_id.clone())
            })
            .ok_or_else(|| {
                self.invalid(format!(
                    "recurring invoice {ihid} has no line {} any more (GET /api/{path}); plan again",
                    line.line_id
                ))
            })?;
        let d: wire::InvoiceDetail = decode_value(&self.halo.name, &resp.endpoint, "lines[]", raw)?;
        let Some(quantity) = d.qty_order else {
            return Err(self.invalid(format!(
                "line {} of recurring invoice {ihid} has no readable qty_order; check it in HaloPSA",
                d.id
            )));
        };
        let mut blocked = Vec::new();
        match &d.recurring_invoice_quantity_type {
            None => {}
            Some(v) if v.as_i64() == Some(0) => {}
            Some(v) => blocked.push((
                PsaGuard::LineType,
                format!(
                    "line {} has recurring_invoice_quantity_type {v}: HaloPSA computes its quantity",
                    d.id
                ),
            )),
        }
        if header.disabled == Some(true) {
            blocked.push((
                PsaGuard::ContractState,
                format!("recurring invoice {ihid} is disabled"),
            ));
        }
        let day = |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).date();
        if let Some(end) = header.enddate.map(day)
            && end < effective
        {
            blocked.push((
                PsaGuard::ContractState,
                format!(
                    "recurring invoice {ihid} ends {end}, before the effective date {effective}"
                ),
            ));
        }
        if d.isinactive == Some(true) {
            blocked.push((
                PsaGuard::ContractState,
                format!("line {} is inactive", d.id),
            ));
        }
        Ok(LineState {
            quantity,
            unit_cost: d.unit_cost,
            unit_price: d.unit_price,
            currency: None,
            version: None,
            blocked,
            write_ids: [("ihid".to_string(), ihid.to_string())].into(),
        })
    }

    async fn write_line(&self, change: &LineChange) -> Result<Written, ConnectorError> {
        let ihid = self.ihid(&change.line)?;
        let line_id: i64 = change.line.line_id.trim().parse().map_err(|_| {
            self.invalid(format!(
                "`{}` is not a HaloPSA line id",
                change.line.line_id
            ))
        })?;
        let (api, _) = self.halo.api().await?;
        let name = &self.halo.name;
        let resp = api
            .send(&Request::write(
            Method::POST,
            "RecurringInvoice/updatelines",
            update_body(ihid, line_id, change),
            true,
        ))
        .await
        .map_err(|e| {
            e.name_permission(|endpoint| {
                format!(
                    "The API application may read but not change recurring invoices ({endpoint}): give it {PERMISSION}, or configure a write application: `reconcile connect halopsa --name {name} --allow-write --write-client-id ID ...`"
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
    fn updatelines_sends_one_detail_with_its_ids() {
        let change = LineChange {
            line: LineRef {
                agreement_id: "-94".into(),
                line_id: "24964".into(),
                product_id: None,
            },
            before: LineState::quantity(Decimal::TEN),
            quantity: Decimal::new(16, 0),
            unit_cost: Some(Decimal::new(4505, 3)),
            effective: jiff::civil::date(2027, 1, 1),
            plan_id: "1".into(),
        };
        assert_eq!(
            update_body(-94, 24964, &change),
            json!([{"id": 24964, "ihid": -94, "qty_order": 16, "unit_cost": 4.51}])
        );
    }
}
