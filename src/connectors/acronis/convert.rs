//! Acronis wire types into the neutral model, with no requests: a usage row into an item whose
//! units are its value (GB for bytes), classed by its tenant's pricing mode.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::wire;
use crate::model::UsageItem;

/// The class of a usage row of a tenant in production: what the services count.
pub const PRODUCTION: &str = "PRODUCTION";
/// A tenant on trial: visible in `explain`, not billed.
pub const TRIAL: &str = "TRIAL";
/// A suspended tenant: not billed.
pub const SUSPENDED: &str = "SUSPENDED";

/// The class of a tenant's rows from its `pricing_mode` (and whether the mode is one this
/// build knows).
pub(super) fn class_of(pricing_mode: Option<&str>) -> (&'static str, bool) {
    match pricing_mode
        .map(|m| m.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("production") => (PRODUCTION, false),
        Some("trial") => (TRIAL, false),
        Some("suspended") => (SUSPENDED, false),
        _ => (PRODUCTION, true),
    }
}

/// Bytes in a GB as Acronis bills storage (inferred: binary, as its console shows sizes).
const GB: i64 = 1024 * 1024 * 1024;

/// The units a row counts: its `value`, in GB (2 places) for `bytes`; `None` when unknown.
pub(super) fn units(u: &wire::Usage) -> Option<Decimal> {
    let v = u.value?;
    Some(
        match u.measurement_unit.as_deref().map(str::trim) {
            Some("bytes") => (v / Decimal::from(GB)).round_dp(2),
            _ => v,
        }
        .normalize(),
    )
}

/// The key a row is counted under: `<usage_name>` plus `/<edition>` when it has one, plus
/// `@<infra_id>` for storage rows (kept apart per location, as Acronis reports them).
pub(super) fn usage_key(u: &wire::Usage) -> Option<String> {
    let name = u.usage_name.as_deref().or(u.name.as_deref())?.trim();
    if name.is_empty() {
        return None;
    }
    let mut key = name.to_string();
    if let Some(e) = u
        .edition
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        key.push('/');
        key.push_str(e);
    }
    Some(key)
}

/// One usage row of tenant `tenant` (class from its pricing mode); the reason its count is
/// unknown when the row cannot be counted.
pub(super) fn usage_item(
    tenant: &str,
    class: &'static str,
    row: serde_json::Value,
    index: usize,
) -> (Option<UsageItem>, Option<String>) {
    let raw = row.to_string();
    let u: wire::Usage = match serde_json::from_value(row) {
        Ok(u) => u,
        Err(e) => {
            return (
                None,
                Some(format!("usage row {index} is not a usage record ({e})")),
            );
        }
    };
    let Some(key) = usage_key(&u) else {
        return (
            None,
            Some(format!("usage row {index} names no usage (`usage_name`)")),
        );
    };
    let units = units(&u);
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("usage_key", Some(key.clone()));
    put("usage_name", u.usage_name.clone());
    put("offering_item", u.name.clone());
    put("edition", u.edition.clone());
    put("usage_type", u.usage_type.clone());
    put("measurement_unit", u.measurement_unit.clone());
    put("units", units.map(|n| n.to_string()));
    put("value", u.value.map(|n| n.normalize().to_string()));
    put(
        "absolute_value",
        u.absolute_value.map(|n| n.normalize().to_string()),
    );
    put("infra_id", u.infra_id.clone());
    put("range_start", u.range_start.clone());
    let unknown = units
        .is_none()
        .then(|| format!("usage `{key}` has no readable value (`value`)"));
    let id = match &u.infra_id {
        Some(infra) => format!("{tenant}/{key}@{infra}"),
        None => format!("{tenant}/{key}"),
    };
    let item = UsageItem {
        id,
        account_id: tenant.to_string(),
        name: key,
        class: class.to_string(),
        raw_class: u.usage_type.unwrap_or_default(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    };
    (Some(item), unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_count_their_value_and_storage_in_gb() {
        let (item, unknown) = usage_item(
            "t1",
            PRODUCTION,
            serde_json::json!({"name": "storage", "usage_name": "storage", "edition": "standard",
                "type": "infra", "measurement_unit": "bytes", "value": 734003200000u64,
                "absolute_value": 734003200000u64, "infra_id": "b0e1"}),
            0,
        );
        assert!(unknown.is_none());
        let item = item.unwrap();
        assert_eq!(item.id, "t1/storage/standard@b0e1");
        assert_eq!(item.attrs["usage_key"], "storage/standard");
        // 734,003,200,000 bytes ÷ 1024³ = 683.59 GB.
        assert_eq!(item.attrs["units"], "683.59");
        let (item, _) = usage_item(
            "t1",
            TRIAL,
            serde_json::json!({"usage_name": "workstations", "edition": null,
                "measurement_unit": "quantity", "value": 18}),
            1,
        );
        let item = item.unwrap();
        assert_eq!(item.attrs["usage_key"], "workstations");
        assert_eq!(item.attrs["units"], "18");
        assert_eq!(item.class, TRIAL);
    }

    #[test]
    fn an_unreadable_value_is_unknown_never_zero() {
        let (item, unknown) = usage_item(
            "t1",
            PRODUCTION,
            serde_json::json!({"usage_name": "servers", "value": "many"}),
            2,
        );
        assert!(item.is_none());
        assert!(unknown.unwrap().contains("usage row 2"));
        let (item, unknown) = usage_item(
            "t1",
            PRODUCTION,
            serde_json::json!({"usage_name": "servers", "value": null}),
            3,
        );
        assert!(!item.unwrap().attrs.contains_key("units"));
        assert!(unknown.unwrap().contains("no readable value"));
    }
}
