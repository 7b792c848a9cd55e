//! Sherweb wire types into the neutral model, with no requests: a subscription into a usage item
//! (`SUBSCRIPTION`, or `SUSPENDED` when its customer is suspended) whose units are its
//! `quantity`, keeping its billing cycle, commitment term, renewal and exact fees as attributes
//! and listing enum values this build does not know in `unknown_values`.

use std::collections::BTreeMap;

use super::{SUBSCRIPTION, SUSPENDED, wire};
use crate::model::{COST_CURRENCY_ATTR, UNIT_COST_ATTR, UsageItem};

/// Values the spec lists; anything else is kept and noted in `unknown_values`.
const BILLING_CYCLES: &[&str] = &["none", "daily", "weekly", "monthly", "yearly", "unknown"];

const TERM_TYPES: &[&str] = &["Monthly", "Annual", "Biennial", "Triennial"];

const CURRENCIES: &[&str] = &["Undefined", "Cad", "Usd", "Eur", "Gbp"];

fn known(values: &[&str], v: &str) -> bool {
    values.iter().any(|k| k.eq_ignore_ascii_case(v.trim()))
}

/// A usage item, and why its customer's counts are unknown when a field they depend on could
/// not be read (the customer then goes into `VendorSnapshot::unreadable` with that reason).
pub(super) struct Converted {
    pub item: UsageItem,
    pub unknown: Option<String>,
}

/// A customer's name: its `displayName`, else (null or unreadable) its id.
pub(super) fn customer_name(c: &wire::Customer) -> String {
    (c.display_name.clone()).unwrap_or_else(|| format!("customer {}", c.id))
}

/// One subscription. Counted strictly: an unreadable `quantity` (its seats) or `sku` (which
/// per-SKU service counts it) is left out, never read as 0, and named in
/// [`Converted::unknown`]; `odd` (fields read as unknown) becomes the `odd_fields` attribute.
pub(super) fn subscription_item(
    s: wire::Subscription,
    raw: String,
    customer: &wire::Customer,
    odd: &[String],
) -> Converted {
    let suspended = customer.suspended_on.is_some();
    let class = if suspended { SUSPENDED } else { SUBSCRIPTION };
    let mut attrs = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("sku", s.sku.clone());
    put("product_name", s.product_name.clone());
    put("description", s.description.clone());
    put("quantity", s.quantity.map(|q| q.to_string()));
    put("billing_cycle", s.billing_cycle.clone());
    if let Some(c) = s.billing_cycle.as_deref()
        && !known(BILLING_CYCLES, c)
    {
        unknown.push(format!("billing_cycle={c}"));
    }
    put("purchase_date", s.purchase_date.clone());
    if let Some(f) = &s.fees {
        put(
            "recurring_fee",
            f.recurring_fee.map(|d| d.normalize().to_string()),
        );
        put("setup_fee", f.setup_fee.map(|d| d.normalize().to_string()));
        put("currency", f.currency.clone());
        // The recurring fee is what one unit costs the MSP per billing cycle (inferred: the
        // spec does not say per unit or per subscription; public fixtures have 7.2 on 12
        // seats, a per-seat figure): per month for the margin, in the fee's currency.
        let months = match s
            .billing_cycle
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("monthly") => Some(rust_decimal::Decimal::ONE),
            Some("yearly") => Some(rust_decimal::Decimal::from(12)),
            _ => None,
        };
        if let (Some(fee), Some(m)) = (f.recurring_fee, months) {
            put(
                UNIT_COST_ATTR,
                Some((fee / m).round_dp(4).normalize().to_string()),
            );
            put(
                COST_CURRENCY_ATTR,
                f.currency
                    .as_deref()
                    .filter(|c| c.len() == 3)
                    .map(str::to_ascii_uppercase),
            );
        }
        if let Some(c) = f.currency.as_deref()
            && !known(CURRENCIES, c)
        {
            unknown.push(format!("currency={c}"));
        }
    }
    if let Some(t) = &s.commitment_term {
        put("commitment_term", t.term_type.clone());
        if let Some(v) = t.term_type.as_deref()
            && !known(TERM_TYPES, v)
        {
            unknown.push(format!("commitment_term={v}"));
        }
        put("term_end_date", t.term_end_date.clone());
        if let Some(r) = &t.renewal_configuration {
            put("renewal_date", r.renewal_date.clone());
            put(
                "renewal_quantity",
                r.scheduled_quantity.map(|q| q.to_string()),
            );
        }
        // The lowest quantity the subscription may be cut to until each date.
        if let Some(mins) = t
            .committed_minimal_quantities
            .as_ref()
            .filter(|m| !m.is_empty())
        {
            put(
                "committed_minimums",
                Some(
                    mins.iter()
                        .map(|m| format!("{} until {}", m.quantity, m.committed_until))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            );
        }
    }
    put("customer", Some(customer_name(customer)));
    put(
        "customer_path",
        customer.path.as_ref().map(|p| p.join(" > ")),
    );
    put("customer_suspended", Some(suspended.to_string()));
    put("customer_suspended_on", customer.suspended_on.clone());
    if !unknown.is_empty() {
        tracing::warn!(subscription = %s.id, values = %unknown.join(", "), "Sherweb sent values this version does not know; kept as sent");
        put("unknown_values", Some(unknown.join(", ")));
    }
    if !odd.is_empty() {
        put("odd_fields", Some(odd.join(",")));
    }
    let missing: Vec<&str> = [
        ("quantity (`quantity`)", s.quantity.is_none()),
        ("SKU (`sku`)", s.sku.is_none()),
    ]
    .into_iter()
    .filter_map(|(what, gone)| gone.then_some(what))
    .collect();
    let name = (s.product_name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("subscription {}", s.id));
    let unknown = (!missing.is_empty()).then(|| {
        format!(
            "subscription {} ({name}) has no readable {}",
            s.id,
            missing.join(", ")
        )
    });
    let item = UsageItem {
        id: s.id,
        account_id: customer.id.clone(),
        name,
        class: class.to_string(),
        raw_class: class.to_ascii_lowercase(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    };
    Converted { item, unknown }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::connectors::sherweb::{families, services};
    use crate::model::slug;

    fn customer(suspended: bool) -> wire::Customer {
        serde_json::from_value(serde_json::json!({
            "id": "2f1d6a59-7a3e-4c39-9d3c-0a4a1f0f3b11",
            "displayName": "Acme Dental",
            "path": ["Bluewave MSP", "Acme Dental"],
            "suspendedOn": if suspended { Value::from("2024-03-02T14:05:11.1234567") } else { Value::Null },
        }))
        .unwrap()
    }

    fn sub(json: Value) -> wire::Subscription {
        serde_json::from_value(json).unwrap()
    }

    fn weight(key: &str, item: &UsageItem) -> rust_decimal::Decimal {
        services()
            .into_iter()
            .chain(families()[0].expand([item]))
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("no service {key}"))
            .weight(item)
    }

    #[test]
    fn a_subscription_keeps_quantity_terms_and_exact_fees() {
        let s = sub(serde_json::json!({
            "id": "a4c1340d-6911-4758-bba3-0c4c6007d161",
            "productName": "Microsoft 365 Business Basic",
            "description": "Microsoft 365 Business Basic - Annual",
            "sku": "CFQ7TTC0LH18:0001",
            "quantity": 12,
            "billingCycle": "Monthly",
            "purchaseDate": "2023-11-21T20:27:05.7613888",
            "fees": {"recurringFee": 7.2, "setupFee": 0.0, "currency": "Usd"},
            "commitmentTerm": {
                "type": "Annual",
                "termEndDate": "2026-01-13",
                "renewalConfiguration": {"renewalDate": "2026-01-14", "scheduledQuantity": 10},
                "committedMinimalQuantities": [{"quantity": 12, "committedUntil": "2026-01-13"}]
            }
        }));
        let item = subscription_item(s, String::new(), &customer(false), &[]).item;
        assert_eq!(item.class, SUBSCRIPTION);
        assert_eq!(item.name, "Microsoft 365 Business Basic");
        assert_eq!(item.attrs["quantity"], "12");
        assert_eq!(item.attrs["recurring_fee"], "7.2");
        // Monthly: the fee per seat is the unit cost per month.
        assert_eq!(item.attrs[UNIT_COST_ATTR], "7.2");
        assert_eq!(item.attrs[COST_CURRENCY_ATTR], "USD");
        assert_eq!(item.attrs["setup_fee"], "0");
        assert_eq!(item.attrs["commitment_term"], "Annual");
        assert_eq!(item.attrs["term_end_date"], "2026-01-13");
        assert_eq!(item.attrs["renewal_quantity"], "10");
        assert_eq!(item.attrs["committed_minimums"], "12 until 2026-01-13");
        assert_eq!(item.attrs["customer_path"], "Bluewave MSP > Acme Dental");
        assert!(!item.attrs.contains_key("unknown_values"));
        assert_eq!(slug(&item.attrs["sku"]), "cfq7ttc0lh18-0001");
        assert_eq!(weight("cfq7ttc0lh18-0001", &item), 12.into());
        assert_eq!(weight("seats", &item), 12.into());
        assert_eq!(weight("subscriptions", &item), 1.into());
        assert_eq!(weight("suspended-seats", &item), 0.into());
        let fam = families()[0].expand([&item]);
        assert_eq!(fam[0].name, "Microsoft 365 Business Basic");
    }

    #[test]
    fn unknown_values_are_kept_and_suspended_customers_flagged() {
        let s = sub(serde_json::json!({
            "id": "b", "productName": "Thing", "description": "d", "sku": "X-1",
            "quantity": 3, "billingCycle": "Quarterly", "purchaseDate": "2024-01-01T00:00:00",
            "fees": {"recurringFee": 1, "setupFee": 0, "currency": "Jpy"},
            "commitmentTerm": {"type": "Quinquennial", "termEndDate": "2029-01-01"}
        }));
        let item = subscription_item(s, String::new(), &customer(true), &[]).item;
        assert_eq!(item.class, SUSPENDED);
        assert_eq!(item.attrs["customer_suspended"], "true");
        assert_eq!(
            item.attrs["unknown_values"],
            "billing_cycle=Quarterly, currency=Jpy, commitment_term=Quinquennial"
        );
        assert_eq!(item.attrs["billing_cycle"], "Quarterly");
        assert_eq!(weight("seats", &item), 3.into());
        assert_eq!(weight("suspended-seats", &item), 3.into());
        assert_eq!(weight("x-1", &item), 3.into());
    }

    #[test]
    fn an_unreadable_quantity_or_sku_is_named_never_read_as_0() {
        let s = sub(serde_json::json!({"id": "c", "productName": null, "quantity": null}));
        let read = subscription_item(s, String::new(), &customer(false), &["sku".into()]);
        assert!(!read.item.attrs.contains_key("quantity"));
        assert_eq!(read.item.attrs["odd_fields"], "sku");
        assert_eq!(read.item.name, "subscription c");
        assert_eq!(
            read.unknown.as_deref(),
            Some(
                "subscription c (subscription c) has no readable quantity (`quantity`), SKU (`sku`)"
            )
        );
    }
}
