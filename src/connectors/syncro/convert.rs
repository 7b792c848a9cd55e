//! Syncro wire types into the neutral model, with no requests: customers (billable by the
//! business-only and property rules), each recurring invoice ("schedule") into an agreement,
//! its line items into lines (exact dollars, one-time charges marked as such) and products (known
//! by UPC code, else name).

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde_json::Value;

use super::{BillableRules, wire};
use crate::model::{BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct};

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A property value as text (`"Client"`, `true`, `3`).
fn property_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(super) fn company(c: wire::Customer, raw: String, rules: &BillableRules) -> PsaCompany {
    let business = non_empty(c.business_name.as_deref()).map(str::to_string);
    let person = non_empty(c.fullname.as_deref())
        .map(str::to_string)
        .or_else(|| {
            let parts: Vec<&str> = [c.firstname.as_deref(), c.lastname.as_deref()]
                .into_iter()
                .filter_map(non_empty)
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
    let name = business
        .clone()
        .or(person)
        .unwrap_or_else(|| format!("Customer #{}", c.id));
    let disabled = c.disabled.unwrap_or(false);
    let kind = if business.is_some() {
        "Business"
    } else {
        "Individual"
    };
    let property = rules.property.as_deref().map(|p| {
        let value = c
            .properties
            .as_ref()
            .and_then(|props| {
                props
                    .iter()
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(p.trim()))
                    .map(|(_, v)| property_text(v))
            })
            .unwrap_or_default();
        (p, value)
    });
    let mut types = vec![kind.to_string()];
    if let Some((p, v)) = &property
        && !v.is_empty()
    {
        types.push(format!("{p}: {v}"));
    }
    let reason = if disabled {
        Some("disabled in Syncro".to_string())
    } else if rules.business_only && business.is_none() {
        Some("an individual (no business name) and business_only is set".to_string())
    } else if let Some((p, v)) = &property {
        let ok = if rules.values.is_empty() {
            !v.is_empty() && !["false", "no", "0"].contains(&v.to_ascii_lowercase().as_str())
        } else {
            rules
                .values
                .iter()
                .any(|b| b.trim().eq_ignore_ascii_case(v))
        };
        (!ok).then(|| {
            if v.is_empty() {
                format!("property `{p}` is not set")
            } else {
                format!("property `{p}` is `{v}`, not in billable_property_values")
            }
        })
    } else {
        None
    };
    PsaCompany {
        id: c.id.to_string(),
        identifier: c.id.to_string(),
        name,
        status: if disabled { "Disabled" } else { "Active" }.to_string(),
        types,
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

/// One agreement per schedule: paused schedules are not active (their lines do not count),
/// the frequency is the billing cycle, kept as Syncro names it.
pub(super) fn agreement(s: &wire::Schedule, raw: String) -> PsaAgreement {
    let paused = s.paused.unwrap_or(false);
    PsaAgreement {
        id: s.id.to_string(),
        company_id: s.customer_id.to_string(),
        name: non_empty(s.name.as_deref())
            .map(str::to_string)
            .unwrap_or_else(|| format!("Recurring invoice #{}", s.id)),
        agreement_type: Some("Recurring invoice".into()),
        status: if paused { "Paused" } else { "Active" }.into(),
        start: s.created_at,
        end: None,
        cancelled: false,
        billing_cycle: non_empty(s.frequency.as_deref()).map(str::to_string),
        raw: Some(raw),
    }
}

/// Cents as an exact dollar amount (`1999` → `19.99`).
fn from_cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

/// A line whose `quantity` was read (`mod.rs` never reads a missing one as 0).
pub(super) fn line(
    l: wire::LineItem,
    raw: String,
    quantity: Decimal,
    a: &PsaAgreement,
    products: &HashMap<&str, &PsaProduct>,
) -> PsaLine {
    let product_id = l.product_id.map(|p| p.to_string());
    let known = product_id.as_deref().and_then(|p| products.get(p));
    // The product's identifier (UPC code, else name); a line without a product is known by its
    // own name.
    let identifier = known
        .map(|p| p.identifier.clone())
        .or_else(|| non_empty(l.name.as_deref()).map(str::to_string))
        .or_else(|| product_id.as_ref().map(|p| format!("#{p}")))
        .unwrap_or_else(|| format!("line #{}", l.id));
    let description = non_empty(l.description.as_deref())
        .or(non_empty(l.name.as_deref()))
        .map(str::to_string);
    PsaLine {
        id: l.id.to_string(),
        agreement_id: a.id.clone(),
        company_id: a.company_id.clone(),
        product_id,
        product_identifier: identifier,
        description,
        quantity,
        less_included: Decimal::ZERO,
        unit_price: l
            .price_retail
            .or(l.retail_cents.map(from_cents))
            .unwrap_or(Decimal::ZERO),
        unit_cost: l
            .price_cost
            .or(l.cost_cents.map(from_cents))
            .unwrap_or(Decimal::ZERO),
        effective: a.start,
        cancelled: None,
        bill_customer: if l.one_time_charge.unwrap_or(false) {
            // Billed once on the next run, then gone: not a recurring charge to reconcile.
            BillCustomer::Other("OneTimeCharge".into())
        } else {
            BillCustomer::Billable
        },
        invoiced: None,
        raw: Some(raw),
    }
}

pub(super) fn product(p: wire::Product, raw: String) -> PsaProduct {
    let identifier = non_empty(p.upc_code.as_deref())
        .or(non_empty(p.name.as_deref()))
        .map(str::to_string)
        .unwrap_or_else(|| format!("#{}", p.id));
    PsaProduct {
        id: p.id.to_string(),
        identifier,
        description: non_empty(p.name.as_deref())
            .or(non_empty(p.description.as_deref()))
            .map(str::to_string),
        price: p.price_retail,
        cost: p.price_cost,
        inactive: p.disabled.unwrap_or(false),
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_dollars() {
        let l: wire::LineItem = serde_json::from_str(
            r#"{"id":1,"quantity":"9.99","price_retail":19.99,"price_cost":0.30000000000000004,"retail_cents":1999}"#,
        )
        .unwrap();
        assert_eq!(l.price_retail.unwrap().to_string(), "19.99");
        assert_eq!(l.price_cost.unwrap().to_string(), "0.30000000000000004");
        assert_eq!(l.quantity.unwrap().to_string(), "9.99");
        let l: wire::LineItem =
            serde_json::from_str(r#"{"id":1,"retail_cents":1999,"cost_cents":30}"#).unwrap();
        let a = agreement(
            &serde_json::from_str(r#"{"id":5,"customer_id":7}"#).unwrap(),
            String::new(),
        );
        assert_eq!(
            l.quantity, None,
            "never read as 0: mod.rs makes the company unreadable"
        );
        let line = line(l, String::new(), Decimal::ONE, &a, &HashMap::new());
        assert_eq!(line.unit_price.to_string(), "19.99");
        assert_eq!(line.unit_cost.to_string(), "0.30");
        assert_eq!(line.product_identifier, "line #1");
    }

    #[test]
    fn billable_rules() {
        let c = |json: &str| serde_json::from_str::<wire::Customer>(json).unwrap();
        let none = BillableRules::default();
        let person = company(
            c(r#"{"id":1,"firstname":"Jo","lastname":"Doe","business_name":null}"#),
            String::new(),
            &none,
        );
        assert!(person.billable);
        assert_eq!(person.name, "Jo Doe");
        let business_only = BillableRules {
            business_only: true,
            ..BillableRules::default()
        };
        let person = company(
            c(r#"{"id":1,"fullname":"Jo Doe","business_name":""}"#),
            String::new(),
            &business_only,
        );
        assert!(!person.billable);
        assert!(person.not_billable_reason.unwrap().contains("individual"));
        let disabled = company(
            c(r#"{"id":2,"business_name":"Acme","disabled":true}"#),
            String::new(),
            &none,
        );
        assert!(!disabled.billable);
        assert_eq!(disabled.status, "Disabled");
        let by_type = BillableRules {
            property: Some("Type".into()),
            values: vec!["client".into()],
            ..BillableRules::default()
        };
        let client = company(
            c(r#"{"id":3,"business_name":"Acme","properties":{"Type":"Client"}}"#),
            String::new(),
            &by_type,
        );
        assert!(client.billable, "{:?}", client.not_billable_reason);
        assert_eq!(client.types, vec!["Business", "Type: Client"]);
        let prospect = company(
            c(r#"{"id":4,"business_name":"Beta","properties":{"Type":"Prospect"}}"#),
            String::new(),
            &by_type,
        );
        assert!(prospect.not_billable_reason.unwrap().contains("Prospect"));
        let flag = BillableRules {
            property: Some("Managed".into()),
            ..BillableRules::default()
        };
        let yes = company(
            c(r#"{"id":5,"business_name":"C","properties":{"Managed":true}}"#),
            String::new(),
            &flag,
        );
        assert!(yes.billable);
        let no = company(
            c(r#"{"id":6,"business_name":"D","properties":{"Managed":false}}"#),
            String::new(),
            &flag,
        );
        assert!(!no.billable);
    }
}
