//! The pure conversion from N-sight records to [`crate::model`]: clients become accounts, each
//! with one item for its mobile device count (the `quantity` of class [`MOBILE_COUNT`]);
//! workstations and servers become usage items with their per-device feature flags (`patch`,
//! `mav`, ...) as attributes (`true`/`false`), which the built-in feature services count. A
//! flag or device type that cannot be read makes the client unreadable: it decides counts.

use std::collections::BTreeMap;

use super::wire;
use super::{FEATURES, MOBILE_COUNT};
use crate::model::{UsageItem, VendorAccount};

/// A client as an account, and its mobile device count as an item (when it has one).
pub fn client(c: wire::Client, raw: String) -> (VendorAccount, Option<UsageItem>) {
    let name = c.name.unwrap_or_else(|| c.clientid.clone());
    let mobile = c.mobile_device_count.map(|n| UsageItem {
        id: format!("{}:mobile", c.clientid),
        account_id: c.clientid.clone(),
        name: format!("{name} mobile devices"),
        class: MOBILE_COUNT.to_string(),
        raw_class: MOBILE_COUNT.to_string(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs: BTreeMap::from([("quantity".to_string(), n.to_string())]),
        raw: None,
    });
    let account = VendorAccount {
        id: c.clientid,
        name,
        raw: Some(raw),
    };
    (account, mobile)
}

/// A device of `client` as a usage item of `class` (`WORKSTATION` or `SERVER`, from the list
/// it came in), with `site`; or why the client cannot be counted.
pub fn device(
    d: wire::Device,
    raw: String,
    odd: &[String],
    client: &str,
    class: &str,
    site: Option<&str>,
) -> Result<UsageItem, String> {
    if let Some((key, _)) = FEATURES.iter().find(|(k, _)| odd.iter().any(|o| o == k)) {
        return Err(format!(
            "device {} has no readable `{key}` flag (0 or 1)",
            d.id
        ));
    }
    let flags = [
        ("patch", d.patch),
        ("mav", d.mav),
        ("mob", d.mob),
        ("webprotection", d.webprotection),
        ("takecontrol", d.takecontrol),
        ("riskintelligence", d.riskintelligence),
        ("mavbreck", d.mavbreck),
    ];
    let mut attrs = BTreeMap::new();
    for (k, v) in flags {
        if let Some(v) = v {
            attrs.insert(k.to_string(), v.to_string());
        }
    }
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("os", d.os);
    put("status", d.status);
    put("agent_version", d.agent);
    put("guid", d.guid);
    put("site", site.map(str::to_string));
    if !odd.is_empty() {
        put("odd_fields", Some(odd.join(",")));
    }
    Ok(UsageItem {
        name: d.name.or(d.description).unwrap_or_else(|| d.id.clone()),
        id: d.id,
        account_id: client.to_string(),
        class: class.to_string(),
        raw_class: class.to_ascii_lowercase(),
        online: None,
        last_contact: d.lastresponse_utc,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(v: serde_json::Value) -> Result<UsageItem, String> {
        let mut got = crate::http::decode_tolerant::<wire::Device>("workstation", 0, vec![v]);
        let r = got.records.pop().expect("a device with an id");
        device(r.value, r.raw, &r.odd, "c1", "WORKSTATION", Some("HQ"))
    }

    #[test]
    fn flags_and_times_are_read_from_text_and_an_odd_flag_is_never_guessed() {
        let i = read(
            json!({"id": "77", "name": "ACME-WS-01", "patch": "1", "mav": "0",
            "lastresponse_utc": "2026-11-30 08:14:07", "webprotection": ""}),
        )
        .unwrap();
        assert_eq!(i.attrs["patch"], "true");
        assert_eq!(i.attrs["mav"], "false");
        assert!(!i.attrs.contains_key("webprotection"), "empty: unknown");
        assert_eq!(i.last_contact.unwrap().to_string(), "2026-11-30T08:14:07Z");
        assert_eq!(i.attrs["site"], "HQ");
        let odd = read(json!({"id": "78", "lastresponse_utc": "soon"})).unwrap();
        assert_eq!(odd.attrs["odd_fields"], "lastresponse_utc");
        assert_eq!(
            read(json!({"id": "79", "mav": "yes"})).unwrap_err(),
            "device 79 has no readable `mav` flag (0 or 1)"
        );
    }
}
