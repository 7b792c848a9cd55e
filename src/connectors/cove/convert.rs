//! Cove rows into the neutral model, with no requests: a device into a usage item of its kind
//! (`SERVER`, `WORKSTATION`, `VIRTUAL`), with its product and used storage (GB).
//!
//! Columns read (codes from N-able's JSON API column reference): `I1` device name, `I18`
//! computer name, `I32` OS type (1 workstation, 2 server), `I81` physicality (virtual or
//! physical), `I10` product, `I14` used storage in bytes, `I78` active data sources, `I16` OS.
//! How a device's kind is told is inferred from those codes' descriptions: a physicality that
//! says virtual is `VIRTUAL`; else OS type 2 is `SERVER` and 1 `WORKSTATION`; a device with
//! neither is flagged `unknown_class` and counted only by `devices`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::wire;
use crate::model::UsageItem;

pub const SERVER: &str = "SERVER";
pub const WORKSTATION: &str = "WORKSTATION";
pub const VIRTUAL: &str = "VIRTUAL";
pub const OTHER: &str = "OTHER";

/// The columns asked for.
pub const COLUMNS: &[&str] = &["I1", "I18", "I32", "I81", "I10", "I14", "I78", "I16"];

/// Bytes in a GB (inferred: binary, as the console shows sizes).
const GB: i64 = 1024 * 1024 * 1024;

pub(super) fn class_of(d: &wire::Device) -> (&'static str, bool) {
    if d.column("I81")
        .is_some_and(|p| p.to_ascii_lowercase().contains("virtual"))
    {
        return (VIRTUAL, false);
    }
    match d.column("I32").as_deref() {
        Some("2") => (SERVER, false),
        Some("1") => (WORKSTATION, false),
        _ => (OTHER, true),
    }
}

/// One device, under `account` (its customer).
pub(super) fn device_item(
    d: wire::Device,
    raw: String,
    account: &str,
) -> (UsageItem, Option<String>) {
    let (class, unknown) = class_of(&d);
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("product", d.column("I10"));
    put("os", d.column("I16"));
    put("os_type", d.column("I32"));
    put("physicality", d.column("I81"));
    put("data_sources", d.column("I78"));
    put("computer_name", d.column("I18"));
    put("partner_id", d.partner_id.clone());
    let mut why = None;
    match d.column("I14") {
        Some(b) => match b.parse::<Decimal>() {
            Ok(bytes) => put(
                "used_gb",
                Some(
                    (bytes / Decimal::from(GB))
                        .round_dp(2)
                        .normalize()
                        .to_string(),
                ),
            ),
            Err(_) => {
                why = Some(format!(
                    "device {} has used storage `{b}` (column I14) that is not a number",
                    d.account_id
                ))
            }
        },
        None => put("used_gb", Some("0".into())),
    }
    if unknown {
        attrs.insert("unknown_class".into(), "true".into());
    }
    let name = d
        .column("I1")
        .or_else(|| d.column("I18"))
        .unwrap_or_else(|| format!("device {}", d.account_id));
    let item = UsageItem {
        id: d.account_id.clone(),
        account_id: account.to_string(),
        name,
        class: class.to_string(),
        raw_class: d.column("I32").unwrap_or_default(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    };
    (item, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(settings: serde_json::Value) -> wire::Device {
        serde_json::from_value(
            serde_json::json!({"AccountId": 7, "PartnerId": 9, "Settings": settings}),
        )
        .unwrap()
    }

    #[test]
    fn devices_are_told_apart_and_storage_is_in_gb() {
        let (i, why) = device_item(
            device(
                serde_json::json!([{"I1": "srv-01"}, {"I32": "2"}, {"I14": "107374182400"}, {"I10": "Server"}]),
            ),
            "{}".into(),
            "c1",
        );
        assert!(why.is_none());
        assert_eq!((i.class.as_str(), i.name.as_str()), (SERVER, "srv-01"));
        assert_eq!(i.attrs["used_gb"], "100");
        let (i, _) = device_item(
            device(serde_json::json!([{"I32": "2"}, {"I81": "Virtual"}])),
            "{}".into(),
            "c1",
        );
        assert_eq!(i.class, VIRTUAL);
        let (i, _) = device_item(device(serde_json::json!([{"I32": 1}])), "{}".into(), "c1");
        assert_eq!(i.class, WORKSTATION);
        let (i, why) = device_item(
            device(serde_json::json!([{"I14": "lots"}])),
            "{}".into(),
            "c1",
        );
        assert_eq!(i.class, OTHER);
        assert_eq!(i.attrs["unknown_class"], "true");
        assert!(why.unwrap().contains("not a number"));
    }
}
