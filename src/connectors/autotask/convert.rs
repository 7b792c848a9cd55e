//! Autotask wire types into the neutral model, with no requests: companies (billable by company
//! type), contracts into agreements, ContractServiceUnits rows into lines (priced from the row,
//! its ContractService or its Service), Services into products; picklist labels and values,
//! Autotask's dates, and the messages of its `{"errors": [...]}` bodies.

use std::collections::{BTreeMap, HashMap};

use jiff::{Timestamp, ToSpan};
use rust_decimal::Decimal;
use serde_json::Value;

use super::wire;
use crate::model::{BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct};

/// A company, billable unless it is inactive or its type is not in `billable_types` (labels or
/// picklist numbers; empty means every type).
pub(super) fn company(
    c: wire::Company,
    raw: String,
    types: Option<&HashMap<i64, String>>,
    billable_types: &[String],
) -> PsaCompany {
    let type_label = label(types, c.company_type);
    let active = c.is_active.unwrap_or(true);
    let matches = |b: &String| {
        let b = b.trim();
        type_label
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(b))
            || c.company_type.is_some_and(|v| b == v.to_string())
    };
    let reason = if !active {
        Some("inactive in Autotask".to_string())
    } else if !billable_types.is_empty() && !billable_types.iter().any(matches) {
        Some(format!(
            "type {} is not in billable_company_types ({})",
            type_label.clone().unwrap_or_else(|| "(none)".into()),
            billable_types.join(", ")
        ))
    } else {
        None
    };
    PsaCompany {
        id: c.id.to_string(),
        identifier: c.company_number.unwrap_or_else(|| c.id.to_string()),
        name: (c.company_name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("company {}", c.id)),
        status: if active { "Active" } else { "Inactive" }.into(),
        types: type_label.into_iter().collect(),
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

/// Contracts as agreements, in force from `startDate` to the day after `endDate`. A date that
/// is not one is unknown, and since it decides when the contract is in force, its company goes
/// in `unreadable` with the reason.
pub(super) fn agreements(
    contracts: Vec<(wire::Contract, String)>,
    contract_types: Option<&HashMap<i64, String>>,
    statuses: Option<&HashMap<i64, String>>,
    periods: Option<&HashMap<i64, String>>,
    unreadable: &mut BTreeMap<String, String>,
) -> Vec<PsaAgreement> {
    let mut agreements = Vec::new();
    for (c, raw) in contracts {
        let company_id = c.company_id.to_string();
        let what = format!("contract {}", c.id);
        let start = date_or_unknown(&c.start_date, "startDate", &what, &company_id, unreadable);
        let end = date_or_unknown(&c.end_date, "endDate", &what, &company_id, unreadable);
        agreements.push(PsaAgreement {
            id: c.id.to_string(),
            company_id,
            name: (c.contract_name)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("Contract {}", c.id)),
            agreement_type: label(contract_types, c.contract_type),
            status: label(statuses, c.status).unwrap_or_else(|| "Active".into()),
            start,
            // The day after the last day, like the lines, so the last day is in force.
            end: end.and_then(|e| e.checked_add(24.hours()).ok()),
            cancelled: false,
            billing_cycle: label(periods, c.contract_period_type),
            raw: Some(raw),
        });
    }
    agreements
}

/// `s` as a date; one that is not a date is `None`, and its company is unreadable (`what` and
/// `field` name the record and the field).
fn date_or_unknown(
    s: &Option<String>,
    field: &str,
    what: &str,
    company_id: &str,
    unreadable: &mut BTreeMap<String, String>,
) -> Option<Timestamp> {
    match s.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match parse_date(v) {
            Ok(t) => Some(t),
            Err(detail) => {
                unreadable
                    .entry(company_id.to_string())
                    .or_insert_with(|| format!("{what} has no readable `{field}`: {detail}"));
                None
            }
        },
    }
}

/// One line per ContractServiceUnits row whose contract is known (`contract_company`), with the
/// description, price and cost of the row, else its ContractService, else its Service; sorted by
/// agreement, product and start.
pub(super) fn lines(
    product_field: &str,
    units: Vec<(wire::ContractServiceUnit, String)>,
    contract_services: &[(wire::ContractService, String)],
    services: &[(wire::Service, String)],
    contract_company: &HashMap<i64, i64>,
    unreadable: &mut BTreeMap<String, String>,
) -> Vec<PsaLine> {
    let svc_by_id: HashMap<i64, (&wire::Service, &str)> = services
        .iter()
        .map(|(s, raw)| (s.id, (s, raw.as_str())))
        .collect();
    let cs_by_id: HashMap<i64, &wire::ContractService> =
        contract_services.iter().map(|(c, _)| (c.id, c)).collect();
    let cs_by_pair: HashMap<(i64, i64), &wire::ContractService> = contract_services
        .iter()
        .map(|(c, _)| ((c.contract_id, c.service_id), c))
        .collect();
    let mut lines = Vec::new();
    for (u, raw) in units {
        let Some(company_id) = contract_company.get(&u.contract_id) else {
            continue;
        };
        let company = company_id.to_string();
        let what = format!("units row {} of contract {}", u.id, u.contract_id);
        let start = date_or_unknown(&u.start_date, "startDate", &what, &company, unreadable);
        let end = date_or_unknown(&u.end_date, "endDate", &what, &company, unreadable);
        // What the company is billed depends on the units: never read them as 0.
        let Some(quantity) = u.units else {
            unreadable
                .entry(company)
                .or_insert_with(|| format!("{what} has no readable quantity (`units`)"));
            continue;
        };
        let cs = u
            .contract_service_id
            .and_then(|id| cs_by_id.get(&id))
            .or_else(|| cs_by_pair.get(&(u.contract_id, u.service_id)))
            .copied();
        let svc = svc_by_id.get(&u.service_id);
        let identifier = svc
            .map(|(s, r)| product_identifier(product_field, s, r))
            .unwrap_or_else(|| format!("#{}", u.service_id));
        lines.push(PsaLine {
            id: u.id.to_string(),
            agreement_id: u.contract_id.to_string(),
            company_id: company,
            product_id: Some(u.service_id.to_string()),
            product_identifier: identifier,
            description: cs
                .and_then(|c| c.invoice_description.clone())
                .filter(|d| !d.trim().is_empty())
                .or_else(|| svc.and_then(|(s, _)| s.name.clone())),
            quantity,
            less_included: Decimal::ZERO,
            unit_price: u
                .price
                .or_else(|| cs.and_then(|c| c.unit_price))
                .or_else(|| svc.and_then(|(s, _)| s.unit_price))
                .unwrap_or(Decimal::ZERO),
            unit_cost: u
                .cost
                .or_else(|| cs.and_then(|c| c.unit_cost))
                .or_else(|| svc.and_then(|(s, _)| s.unit_cost))
                .unwrap_or(Decimal::ZERO),
            effective: start,
            // endDate is the period's last day: the row stops being in force the day after.
            cancelled: end.and_then(|e| e.checked_add(24.hours()).ok()),
            bill_customer: BillCustomer::Billable,
            invoiced: None,
            raw: Some(raw),
        });
    }
    lines.sort_by(|a, b| {
        a.agreement_id
            .cmp(&b.agreement_id)
            .then(a.product_identifier.cmp(&b.product_identifier))
            .then(a.effective.cmp(&b.effective))
    });
    lines
}

/// Services as products, identified by `product_field`.
pub(super) fn products(
    product_field: &str,
    services: &[(wire::Service, String)],
) -> Vec<PsaProduct> {
    services
        .iter()
        .map(|(s, raw)| PsaProduct {
            id: s.id.to_string(),
            identifier: product_identifier(product_field, s, raw),
            description: s.description.clone().or_else(|| s.name.clone()),
            price: s.unit_price,
            cost: s.unit_cost,
            inactive: !s.is_active.unwrap_or(true),
            raw: Some(raw.clone()),
        })
        .collect()
}

/// The messages of an `{"errors": [...]}` answer. Only a body that names `"errors"` is parsed
/// here: pages of records are parsed once, by whoever reads them.
pub(super) fn body_errors(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"errors\"";
    if !body.windows(KEY.len()).any(|w| w == KEY) {
        return None;
    }
    error_messages(&serde_json::from_slice(body).ok()?)
}

/// The messages of an Autotask `{"errors": [...]}` body, joined; `None` when there are none.
fn error_messages(v: &Value) -> Option<String> {
    let errors = v.get("errors")?.as_array()?;
    let msgs: Vec<String> = errors
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            Value::Object(o) => o
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
            other => other.to_string(),
        })
        .filter(|s| !s.trim().is_empty())
        .collect();
    (!msgs.is_empty()).then(|| msgs.join("; "))
}

/// An error excerpt with an `{"errors": [...]}` body replaced by its messages.
pub(super) fn surface_errors(detail: &str) -> String {
    let (prefix, body) = match detail.find('{') {
        Some(i) => detail.split_at(i),
        None => return detail.to_string(),
    };
    match serde_json::from_str::<Value>(body)
        .ok()
        .as_ref()
        .and_then(error_messages)
    {
        Some(m) => format!("{prefix}{m}"),
        None => detail.to_string(),
    }
}

pub(super) fn picklist_number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A picklist value's label, or `#<value>` when the tenant's picklist does not list it (kept,
/// never dropped).
fn label(map: Option<&HashMap<i64, String>>, v: Option<i64>) -> Option<String> {
    let v = v?;
    Some(
        map.and_then(|m| m.get(&v))
            .cloned()
            .unwrap_or_else(|| format!("#{v}")),
    )
}

/// The value whose label is `name`, or `fallback` when the picklist does not have it.
pub(super) fn value_of(map: Option<&HashMap<i64, String>>, name: &str, fallback: i64) -> i64 {
    map.and_then(|m| {
        m.iter()
            .find(|(_, l)| l.eq_ignore_ascii_case(name))
            .map(|(v, _)| *v)
    })
    .unwrap_or(fallback)
}

/// Autotask dates: RFC 3339, a date-time without offset (UTC), or a date.
fn parse_date(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = crate::connectors::de::parse_timestamp(s) {
        return Ok(t);
    }
    s.parse::<jiff::civil::DateTime>()
        .map_err(|_| format!("`{s}` is not a date such as 2025-07-01T00:00:00Z"))
        .and_then(|dt| {
            dt.to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .map_err(|e| e.to_string())
        })
}

/// The product identifier a Service gives under `product_field`.
fn product_identifier(field: &str, s: &wire::Service, raw: &str) -> String {
    if field.eq_ignore_ascii_case("name") {
        return (s.name.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("#{}", s.id));
    }
    let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    let found = v.as_object().and_then(|o| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v)
    });
    match found {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => format!("#{}", s.id),
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use serde_json::{Value, json};

    use super::*;
    use crate::connectors::autotask::settings::default_billable_types;

    fn types() -> HashMap<i64, String> {
        [(1, "Customer".to_string()), (3, "Prospect".to_string())].into()
    }

    #[test]
    fn company_billable_rules() {
        let c = |j: &str| serde_json::from_str::<wire::Company>(j).unwrap();
        let t = types();
        let cust = company(
            c(r#"{"id":1,"companyName":"A","companyType":1,"isActive":true}"#),
            String::new(),
            Some(&t),
            &default_billable_types(),
        );
        assert!(cust.billable);
        let inactive = company(
            c(r#"{"id":2,"companyName":"B","companyType":1,"isActive":false}"#),
            String::new(),
            Some(&t),
            &default_billable_types(),
        );
        assert_eq!(
            inactive.not_billable_reason.as_deref(),
            Some("inactive in Autotask")
        );
        let prospect = company(
            c(r#"{"id":3,"companyName":"C","companyType":3,"isActive":true}"#),
            String::new(),
            Some(&t),
            &default_billable_types(),
        );
        assert!(!prospect.billable);
        assert!(prospect.not_billable_reason.unwrap().contains("Prospect"));
        // An unknown picklist value is kept as `#99`, and matches by number.
        let odd = company(
            c(r#"{"id":4,"companyName":"D","companyType":99,"isActive":true}"#),
            String::new(),
            Some(&t),
            &["99".to_string()],
        );
        assert!(odd.billable);
        assert_eq!(odd.types, vec!["#99".to_string()]);
    }

    #[test]
    fn dates_with_and_without_offset() {
        assert_eq!(
            parse_date("2025-07-01T00:00:00").unwrap(),
            "2025-07-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(parse_date("2025-07-01T00:00:00Z").is_ok());
        assert!(parse_date("2025-07-01").is_ok());
        assert!(parse_date("July").is_err());
    }

    #[test]
    fn error_bodies_are_surfaced() {
        let v: Value = serde_json::from_str(r#"{"errors":["one","two"]}"#).unwrap();
        assert_eq!(error_messages(&v).as_deref(), Some("one; two"));
        assert_eq!(error_messages(&json!({"errors": []})), None);
        assert_eq!(
            surface_errors(r#"{"errors":["Unable to find user"]}"#),
            "Unable to find user"
        );
        assert_eq!(surface_errors("plain text"), "plain text");
    }
}
