//! Pax8 wire types into the neutral model, with no requests: a subscription into a usage item
//! whose class is its status and whose units are its `quantity`, keeping price, partner cost
//! (as the item's unit cost per month), billing term and commitment as attributes.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{COUNTED_STATUSES, wire};
use crate::model::{COST_CURRENCY_ATTR, UNIT_COST_ATTR, UsageItem};

/// Every status the spec lists; another is kept as sent and flagged `unknown_class`.
const STATUSES: &[&str] = &[
    "Active",
    "Cancelled",
    "PendingManual",
    "PendingAutomated",
    "PendingCancel",
    "WaitingForDetails",
    "Trial",
    "Converted",
    "PendingActivation",
    "Activated",
];

/// Billing terms whose `partnerCost` is a recurring cost per unit per month. Inferred: the spec
/// does not say the period, and its example prices an `Annual` Microsoft 365 Business Standard
/// seat at 12.5, the monthly list price. One-time, trial and activation terms recur not at all.
const RECURRING_TERMS: &[&str] = &["Monthly", "Annual", "2-Year", "3-Year"];

/// A company's name: its `name`, else (null or unreadable) its id.
pub(super) fn company_name(c: &wire::Company) -> String {
    c.name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("company {}", c.id))
}

/// The service key a subscription counts under: the vendor's SKU id when Pax8 gives it (the
/// same NCE `<product>:<sku>` code Sherweb uses, so both distributors' services for one
/// Microsoft SKU have one key), else Pax8's product id.
pub(super) fn sku_of(s: &wire::Subscription) -> Option<String> {
    s.vendor_sku_id
        .clone()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| s.product_id.clone().filter(|p| !p.trim().is_empty()))
}

/// A usage item, and why its company's counts are unknown when a field they depend on could
/// not be read.
pub(super) struct Converted {
    pub item: UsageItem,
    pub unknown: Option<String>,
}

/// One subscription. Counted strictly: an unreadable `quantity`, `status` or SKU (which
/// service counts it) makes its company's counts unknown, never 0; `odd` (fields read as
/// unknown) becomes the `odd_fields` attribute.
pub(super) fn subscription_item(s: wire::Subscription, raw: String, odd: &[String]) -> Converted {
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    let sku = sku_of(&s);
    put("sku", sku.clone());
    put("product_id", s.product_id.clone());
    put("product_name", s.product_name.clone());
    put("vendor_subscription_id", s.vendor_subscription_id.clone());
    put("quantity", s.quantity.map(|q| q.normalize().to_string()));
    put("price", s.price.map(|p| p.normalize().to_string()));
    put(
        "partner_cost",
        s.partner_cost.map(|p| p.normalize().to_string()),
    );
    put("currency", s.currency_code.clone());
    put("billing_term", s.billing_term.clone());
    put("start_date", s.start_date.clone());
    put("end_date", s.end_date.clone());
    put("billing_start", s.billing_start.clone());
    if let Some(t) = &s.commitment_term {
        put("commitment_term", t.term.clone());
        put("commitment_end", t.end_date.clone());
    }
    let recurring = s.billing_term.as_deref().is_some_and(|t| {
        RECURRING_TERMS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(t.trim()))
    });
    if let Some(cost) = s.partner_cost.filter(|c| *c >= Decimal::ZERO && recurring) {
        put(UNIT_COST_ATTR, Some(cost.normalize().to_string()));
        put(
            COST_CURRENCY_ATTR,
            s.currency_code
                .as_deref()
                .map(str::trim)
                .filter(|c| c.len() == 3)
                .map(str::to_ascii_uppercase),
        );
    }
    let status = s.status.clone().map(|v| v.trim().to_string());
    let known = status
        .as_deref()
        .and_then(|v| STATUSES.iter().find(|k| k.eq_ignore_ascii_case(v)));
    let class = match (known, &status) {
        (Some(k), _) => k.to_string(),
        (None, Some(v)) if !v.is_empty() => {
            tracing::warn!(subscription = %s.id, status = %v, "Pax8 sent a status this version does not know; kept as sent, not counted");
            attrs.insert("unknown_class".into(), "true".into());
            v.clone()
        }
        _ => String::new(),
    };
    if !odd.is_empty() {
        attrs.insert("odd_fields".into(), odd.join(","));
    }
    let missing: Vec<&str> = [
        ("quantity (`quantity`)", s.quantity.is_none()),
        ("status (`status`)", class.is_empty()),
        ("SKU (`vendorSkuId` or `productId`)", sku.is_none()),
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
    let counted = COUNTED_STATUSES.contains(&class.as_str());
    let item = UsageItem {
        id: s.id,
        account_id: s.company_id,
        name,
        raw_class: status.unwrap_or_default(),
        class,
        online: None,
        last_contact: None,
        // Ordered, not provisioned yet: Pax8 bills it from `billingStart`, so it counts, but
        // `explain` shows it is pending.
        pending_approval: false,
        attrs: {
            let mut a = attrs;
            a.insert("counted_status".into(), counted.to_string());
            a
        },
        raw: Some(raw),
    };
    Converted { item, unknown }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(v: serde_json::Value) -> wire::Subscription {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_subscription_keeps_its_quantity_prices_and_cost_per_month() {
        let s = sub(serde_json::json!({
            "id": "05c587df-9e7d-4ef9-8218-0262198e36c9",
            "companyId": "fe7a2d5f-4a14-43ff-940e-a65cda66474a",
            "productId": "e91bba5e-a9a3-483f-b036-f80165d410e3",
            "vendorSkuId": "CFQ7TTC0LDPB:0001",
            "productName": "Microsoft 365 Business Standard",
            "quantity": 12, "price": 15.4, "partnerCost": 12.5, "currencyCode": "USD",
            "billingTerm": "Annual",
            "commitmentTerm": {"term": "Annual", "endDate": "2026-01-31T00:00:00Z"},
            "status": "Active", "startDate": "2025-02-01T00:00:00Z", "billingStart": "2025-02-01"
        }));
        let c = subscription_item(s, "{}".into(), &[]);
        assert!(c.unknown.is_none());
        let i = c.item;
        assert_eq!(i.class, "Active");
        assert_eq!(i.account_id, "fe7a2d5f-4a14-43ff-940e-a65cda66474a");
        assert_eq!(i.attrs["sku"], "CFQ7TTC0LDPB:0001");
        assert_eq!(i.attrs["quantity"], "12");
        assert_eq!(i.attrs["price"], "15.4");
        assert_eq!(i.attrs[UNIT_COST_ATTR], "12.5");
        assert_eq!(i.attrs[COST_CURRENCY_ATTR], "USD");
        assert_eq!(i.attrs["commitment_end"], "2026-01-31T00:00:00Z");
    }

    #[test]
    fn odd_statuses_terms_and_missing_counts_are_said_never_guessed() {
        let base = serde_json::json!({"id": "s", "companyId": "c", "productId": "p",
            "quantity": 3, "partnerCost": 2, "billingTerm": "One-Time", "status": "Frozen"});
        let c = subscription_item(sub(base), "{}".into(), &["price".into()]);
        // An unknown status is kept, flagged, and counted by no status-filtered service.
        assert_eq!(c.item.class, "Frozen");
        assert_eq!(c.item.attrs["unknown_class"], "true");
        assert_eq!(c.item.attrs["counted_status"], "false");
        assert_eq!(c.item.attrs["odd_fields"], "price");
        // A one-time charge is no monthly cost; the SKU falls back to the product id.
        assert!(!c.item.attrs.contains_key(UNIT_COST_ATTR));
        assert_eq!(c.item.attrs["sku"], "p");
        assert!(c.unknown.is_none());
        let c = subscription_item(
            sub(serde_json::json!({"id": "s", "companyId": "c", "status": null})),
            "{}".into(),
            &[],
        );
        let why = c.unknown.unwrap();
        for what in ["quantity", "status", "SKU"] {
            assert!(why.contains(what), "{why}");
        }
    }
}
