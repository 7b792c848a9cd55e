//! ConnectWise wire types into the neutral model, with no requests: companies (billable by
//! status and `billable_company_types`), agreements (their status derived from the flags and
//! dates when the API does not send it), agreement additions into lines, and catalog items into
//! products. A line's quantity, product, billing and dates decide what it counts: when one is
//! unknown, [`line()`] names it instead of guessing, and its company becomes unreadable.

use std::collections::HashMap;

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::wire;
use crate::model::{BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct};

pub(super) fn company(
    c: wire::Company,
    raw: String,
    statuses: &HashMap<i64, wire::CompanyStatus>,
    billable_types: &[String],
) -> PsaCompany {
    let status_ref = c.status.as_ref();
    let known = status_ref
        .and_then(|s| s.id)
        .and_then(|id| statuses.get(&id));
    let status = status_ref
        .and_then(|s| s.name.clone())
        .or_else(|| known.and_then(|k| k.name.clone()))
        .unwrap_or_default();
    let inactive = known.and_then(|k| k.inactive_flag).unwrap_or(false);
    let types: Vec<String> = match (c.types, c.single_type) {
        (Some(t), _) => t.into_iter().filter_map(|r| r.name).collect(),
        (None, Some(t)) => t.name.into_iter().collect(),
        (None, None) => Vec::new(),
    };
    let reason = if c.deleted_flag.unwrap_or(false) {
        Some("deleted".to_string())
    } else if inactive {
        Some(format!("status `{status}` is inactive"))
    } else if !billable_types.is_empty()
        && !types
            .iter()
            .any(|t| billable_types.iter().any(|b| b.eq_ignore_ascii_case(t)))
    {
        Some(format!(
            "type {} is not in billable_company_types",
            if types.is_empty() {
                "(none)".to_string()
            } else {
                types.join(", ")
            }
        ))
    } else {
        None
    };
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    PsaCompany {
        id: c.id.to_string(),
        identifier: nonempty(c.identifier).unwrap_or_else(|| c.id.to_string()),
        name: nonempty(c.name).unwrap_or_else(|| format!("company {}", c.id)),
        status,
        types,
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

pub(super) fn agreement(a: wire::Agreement, raw: String, now: Timestamp) -> PsaAgreement {
    let cancelled = a.cancelled_flag.unwrap_or(false);
    let end = if a.no_ending_date_flag.unwrap_or(false) {
        None
    } else {
        a.end_date
    };
    // Older API versions do not send agreementStatus; derive it from the flags and dates.
    let status = a.agreement_status.unwrap_or_else(|| {
        if cancelled {
            "Cancelled".into()
        } else if end.is_some_and(|e| e < now) {
            "Expired".into()
        } else {
            "Active".into()
        }
    });
    PsaAgreement {
        id: a.id.to_string(),
        company_id: a.company.id.to_string(),
        name: (a.name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("Agreement {}", a.id)),
        agreement_type: a.agreement_type.and_then(|t| t.name),
        status,
        start: a.start_date,
        end,
        cancelled,
        billing_cycle: a.billing_cycle.and_then(|b| b.name),
        raw: Some(raw),
    }
}

/// Why an agreement's status is unknown (`None` when it is known): it decides whether the
/// agreement's additions are read and counted, and it is the sent `agreementStatus`, or derived
/// from the flags and end date when that is absent. `odd` are the agreement's fields that were
/// read as unknown.
pub(super) fn agreement_unknown(a: &wire::Agreement, odd: &[String]) -> Option<String> {
    let field = if odd.iter().any(|f| f == "agreementStatus") {
        Some("agreementStatus")
    } else if a.agreement_status.is_none() {
        ["cancelledFlag", "noEndingDateFlag", "endDate"]
            .into_iter()
            .find(|f| odd.iter().any(|o| o == f))
    } else {
        None
    }
    .or_else(|| odd.iter().any(|f| f == "startDate").then_some("startDate"))?;
    Some(format!(
        "agreement {} has no readable status (`{field}`)",
        a.id
    ))
}

/// An addition as a line, or why its company's billing is unknown: a field the count depends
/// on (`quantity`, the product, `lessIncluded`, `billCustomer`, the dates that say whether it
/// is in force) was odd (named in `odd`) or, for the quantity and product, absent. A null
/// `lessIncluded` or `billCustomer` is read as before (nothing included, billable).
pub(super) fn line(
    a: wire::Addition,
    raw: String,
    odd: &[String],
    agreement: &PsaAgreement,
) -> Result<PsaLine, String> {
    let why = |what: &str, field: &str| {
        format!(
            "addition {} of agreement {} has no readable {what} (`{field}`)",
            a.id, agreement.id
        )
    };
    let Some(quantity) = a.quantity else {
        return Err(why("quantity", "quantity"));
    };
    let product = a.product.as_ref();
    let product_id = product.and_then(|p| p.id);
    let identifier = product
        .and_then(|p| p.identifier.clone())
        .filter(|i| !i.trim().is_empty())
        .or_else(|| product_id.map(|id| format!("#{id}")));
    let Some(product_identifier) = identifier else {
        return Err(why("product", "product"));
    };
    for (what, field) in [
        ("included quantity", "lessIncluded"),
        ("billing", "billCustomer"),
        ("effective date", "effectiveDate"),
        ("cancelled date", "cancelledDate"),
    ] {
        if odd.iter().any(|f| f == field) {
            return Err(why(what, field));
        }
    }
    Ok(PsaLine {
        id: a.id.to_string(),
        agreement_id: agreement.id.clone(),
        company_id: agreement.company_id.clone(),
        product_id: product_id.map(|id| id.to_string()),
        product_identifier,
        description: a.description,
        quantity,
        less_included: a.less_included.unwrap_or(Decimal::ZERO),
        unit_price: a.unit_price.unwrap_or(Decimal::ZERO),
        unit_cost: a.unit_cost.unwrap_or(Decimal::ZERO),
        effective: a.effective_date,
        cancelled: a.cancelled_date,
        bill_customer: a
            .bill_customer
            .as_deref()
            .map(BillCustomer::parse)
            .unwrap_or(BillCustomer::Billable),
        invoiced: None,
        raw: Some(raw),
    })
}

pub(super) fn product(p: wire::CatalogItem, raw: String) -> PsaProduct {
    PsaProduct {
        id: p.id.to_string(),
        identifier: (p.identifier)
            .filter(|i| !i.trim().is_empty())
            .unwrap_or_else(|| format!("#{}", p.id)),
        description: p.description,
        price: p.price,
        cost: p.cost,
        inactive: p.inactive_flag.unwrap_or(false),
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_billable_rules() {
        let statuses: HashMap<i64, wire::CompanyStatus> = [
            (
                1,
                wire::CompanyStatus {
                    id: 1,
                    name: Some("Active".into()),
                    inactive_flag: Some(false),
                },
            ),
            (
                2,
                wire::CompanyStatus {
                    id: 2,
                    name: Some("Not Approved".into()),
                    inactive_flag: Some(true),
                },
            ),
        ]
        .into();
        let c = |json: &str| serde_json::from_str::<wire::Company>(json).unwrap();
        let active = company(
            c(
                r#"{"id":1,"identifier":"A","name":"A","status":{"id":1,"name":"Active"},"types":[{"id":1,"name":"Client"}]}"#,
            ),
            String::new(),
            &statuses,
            &[],
        );
        assert!(active.billable);
        let inactive = company(
            c(
                r#"{"id":2,"identifier":"B","name":"B","status":{"id":2,"name":"Not Approved"},"types":[]}"#,
            ),
            String::new(),
            &statuses,
            &[],
        );
        assert!(!inactive.billable);
        assert!(inactive.not_billable_reason.unwrap().contains("inactive"));
        let prospect = company(
            c(
                r#"{"id":3,"identifier":"C","name":"C","status":{"id":1},"type":{"id":5,"name":"Prospect"}}"#,
            ),
            String::new(),
            &statuses,
            &["Client".to_string()],
        );
        assert!(!prospect.billable);
        assert_eq!(prospect.status, "Active");
        assert_eq!(prospect.types, vec!["Prospect".to_string()]);
    }

    #[test]
    fn agreement_status_is_derived_when_missing() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let a = |json: &str| agreement(serde_json::from_str(json).unwrap(), String::new(), now);
        assert_eq!(
            a(r#"{"id":1,"name":"x","company":{"id":1}}"#).status,
            "Active"
        );
        assert_eq!(
            a(r#"{"id":1,"name":"x","company":{"id":1},"endDate":"2025-01-01T00:00:00Z"}"#).status,
            "Expired"
        );
        assert_eq!(
            a(r#"{"id":1,"name":"x","company":{"id":1},"endDate":"2025-01-01T00:00:00Z","noEndingDateFlag":true}"#).status,
            "Active"
        );
        assert_eq!(
            a(r#"{"id":1,"name":"x","company":{"id":1},"agreementStatus":"Inactive"}"#).status,
            "Inactive"
        );
    }
}
