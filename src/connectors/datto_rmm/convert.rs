//! The pure conversion from Datto RMM wire types to [`crate::model`]: sites become accounts,
//! devices become usage items with their class, OS, last contact, state and the attributes a
//! billing manager maps on. The wire types are read tolerantly (see `wire.rs`): a null is
//! unknown, and a value of another type than the spec's is unknown for that record and named in
//! its `odd_fields` attribute, never an error. What decides whether and where a device counts
//! (its site, `deleted`, `suspended`, `deviceType`, `deviceClass`) is never guessed when it
//! cannot be read: see [`device`].

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::wire;
use super::{DELETED, OTHER, SUSPENDED};
use crate::model::{UsageItem, VendorAccount};

/// A site and what its devices take from it.
pub struct SiteInfo {
    pub account: VendorAccount,
    pub id: Option<String>,
    pub on_demand: Option<bool>,
    pub autotask_company_id: Option<String>,
}

/// A site as an account: its uid is the account id (the API's paths use uids), its name the
/// account's name (the uid when it has none).
pub fn site(s: wire::Site, raw: String) -> SiteInfo {
    SiteInfo {
        account: VendorAccount {
            name: s.name.unwrap_or_else(|| s.uid.clone()),
            id: s.uid,
            raw: Some(raw),
        },
        id: s.id,
        on_demand: s.on_demand,
        autotask_company_id: s.autotask_company_id,
    }
}

/// A `deviceType.category` as a class: known categories by name (case, spaces and `-` ignored),
/// else the spec's `deviceClass` where it says more, else [`OTHER`].
pub fn class_of(category: Option<&str>, device_class: Option<&str>) -> &'static str {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .flat_map(|c| c.to_lowercase())
            .collect()
    };
    let by_category = category.map(norm).and_then(|c| {
        Some(match c.as_str() {
            "desktop" | "workstation" => "DESKTOP",
            "laptop" => "LAPTOP",
            "server" => "SERVER",
            "esxihost" | "esxi" => "ESXI_HOST",
            "printer" => "PRINTER",
            "networkdevice" | "network" => "NETWORK_DEVICE",
            "mobile" | "mobiledevice" => "MOBILE",
            _ => return None,
        })
    });
    by_category
        .or_else(|| match device_class.map(norm).as_deref() {
            Some("esxihost") => Some("ESXI_HOST"),
            Some("printer") => Some("PRINTER"),
            Some("rmmnetworkdevice") => Some("NETWORK_DEVICE"),
            _ => None,
        })
        .unwrap_or(OTHER)
}

/// Why a device is not an item: it names no site (set aside), or what decides whether it
/// counts could not be read (its site is unreadable).
#[derive(Debug, PartialEq)]
pub enum NotCounted {
    NoSite(String),
    Unreadable { site: String, why: String },
}

/// A device as a usage item, in the account of its site (`siteUid`, else the site whose `id` is
/// its `siteId`). Deleted devices get the class [`DELETED`], suspended ones [`SUSPENDED`]: no
/// built-in service counts either. `odd` names the fields read as unknown: when one of them
/// decides whether the device counts, or as what, it is not guessed; the device's site becomes
/// unreadable. A null there is unknown as before (not deleted, the class from what is known).
pub fn device(
    d: wire::Device,
    raw: String,
    odd: &[String],
    sites: &HashMap<String, &SiteInfo>,
) -> Result<UsageItem, NotCounted> {
    let site = d
        .site_uid
        .as_ref()
        .and_then(|u| sites.get(u))
        .or_else(|| {
            let id = d.site_id.as_ref()?;
            sites.values().find(|s| s.id.as_ref() == Some(id))
        })
        .copied();
    let Some(account_id) = site.map(|s| s.account.id.clone()).or(d.site_uid.clone()) else {
        return Err(NotCounted::NoSite(format!(
            "device {} names no site (`siteUid`, `siteId`)",
            d.uid
        )));
    };
    let decides = [
        ("deleted", "`deleted`"),
        ("suspended", "`suspended`"),
        ("deviceType", "device type (`deviceType`)"),
        ("deviceType.category", "device type (`deviceType.category`)"),
        ("deviceClass", "device class (`deviceClass`)"),
    ];
    if let Some((_, what)) = decides.iter().find(|(f, _)| odd.iter().any(|o| o == f)) {
        return Err(NotCounted::Unreadable {
            site: account_id,
            why: format!("device {} has no readable {what}", d.uid),
        });
    }
    let device_type = d.device_type.unwrap_or_default();
    let category = device_type.category;
    let sent_class = class_of(category.as_deref(), d.device_class.as_deref());
    let class = if d.deleted == Some(true) {
        DELETED
    } else if d.suspended == Some(true) {
        SUSPENDED
    } else {
        sent_class
    };

    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("device_type", category.clone());
    put("device_type_detail", device_type.kind);
    put("device_class", d.device_class);
    if sent_class == OTHER {
        put("unknown_class", Some("true".into()));
    }
    put("deleted", d.deleted.map(|b| b.to_string()));
    put("suspended", d.suspended.map(|b| b.to_string()));
    put("os", d.operating_system);
    put("hostname", d.hostname.clone());
    put("site", d.site_name);
    put("device_id", d.id);
    put("domain", d.domain);
    put("agent_version", d.display_version);
    put("created", d.creation_date.map(|t| t.to_string()));
    put("warranty_date", d.warranty_date);
    put("snmp_enabled", d.snmp_enabled.map(|b| b.to_string()));
    put("network_probe", d.network_probe.map(|b| b.to_string()));
    let av = d.antivirus.unwrap_or_default();
    put("antivirus_product", av.antivirus_product);
    put("antivirus_status", av.antivirus_status);
    put(
        "patch_status",
        d.patch_management.and_then(|p| p.patch_status),
    );
    if let Some(s) = site {
        put("site_on_demand", s.on_demand.map(|b| b.to_string()));
        put("autotask_company_id", s.autotask_company_id.clone());
    }
    if !odd.is_empty() {
        put("odd_fields", Some(odd.join(",")));
    }
    let name = d
        .hostname
        .or(d.description)
        .unwrap_or_else(|| format!("device {}", d.uid));
    Ok(UsageItem {
        id: d.uid,
        account_id,
        name,
        class: class.to_string(),
        raw_class: category.unwrap_or_else(|| sent_class.to_string()),
        online: d.online,
        last_contact: d.last_seen,
        // Datto RMM has no approval step: a device is managed once its agent is installed.
        pending_approval: false,
        attrs,
        raw: Some(without_udf(raw)),
    })
}

/// The raw JSON kept for audits, without the user-defined fields: they often hold secrets
/// (BitLocker keys, passwords) and no count reads them.
fn without_udf(raw: String) -> String {
    match serde_json::from_str::<Value>(&raw) {
        Ok(Value::Object(mut m)) if m.contains_key("udf") => {
            m.remove("udf");
            Value::Object(m).to_string()
        }
        _ => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites() -> Vec<SiteInfo> {
        let s: wire::Site = serde_json::from_str(
            r#"{"id": 7, "uid": "s-1", "name": "Acme", "onDemand": false, "autotaskCompanyId": "29683"}"#,
        )
        .unwrap();
        vec![site(s, String::new())]
    }

    fn read(json: &str) -> Result<UsageItem, NotCounted> {
        let sites = sites();
        let by_uid = sites.iter().map(|s| (s.account.id.clone(), s)).collect();
        let v: Value = serde_json::from_str(json).unwrap();
        let mut got = crate::http::decode_tolerant::<wire::Device>("devices", 0, vec![v]);
        let r = got.records.pop().expect("a device with a uid");
        device(r.value, json.into(), &r.odd, &by_uid)
    }

    fn item(json: &str) -> UsageItem {
        read(json).unwrap()
    }

    #[test]
    fn categories_become_classes_and_unknown_ones_are_flagged() {
        assert_eq!(class_of(Some("Desktop"), Some("device")), "DESKTOP");
        assert_eq!(class_of(Some("ESXi Host"), None), "ESXI_HOST");
        assert_eq!(class_of(Some("network device"), None), "NETWORK_DEVICE");
        assert_eq!(class_of(Some("Toaster"), Some("printer")), "PRINTER");
        assert_eq!(class_of(None, Some("rmmnetworkdevice")), "NETWORK_DEVICE");
        assert_eq!(class_of(Some("Toaster"), Some("device")), OTHER);
        let i = item(r#"{"uid": "d", "siteUid": "s-1", "deviceType": {"category": "Toaster"}}"#);
        assert_eq!(i.class, OTHER);
        assert_eq!(i.raw_class, "Toaster");
        assert_eq!(i.attrs["unknown_class"], "true");
        assert_eq!(i.attrs["device_type"], "Toaster");
    }

    #[test]
    fn epoch_milliseconds_and_date_times_are_both_read() {
        let a = item(r#"{"uid": "d", "siteUid": "s-1", "lastSeen": 1721131200000}"#);
        let b = item(r#"{"uid": "d", "siteUid": "s-1", "lastSeen": "2024-07-16T12:00:00Z"}"#);
        assert_eq!(a.last_contact, b.last_contact);
        assert_eq!(a.last_contact.unwrap().to_string(), "2024-07-16T12:00:00Z");
        assert!(!a.attrs.contains_key("odd_fields"));
    }

    #[test]
    fn odd_values_are_unknown_for_that_record_only() {
        let i = item(
            r#"{"uid": "d", "siteId": 7, "hostname": ["x"], "lastSeen": "last tuesday",
                "online": "maybe", "deviceType": null, "deleted": null, "udf": {"udf1": "secret"}}"#,
        );
        assert_eq!(i.account_id, "s-1", "found by siteId");
        assert_eq!(i.name, "device d");
        assert_eq!(i.last_contact, None);
        assert_eq!(i.online, None);
        assert_eq!(i.class, OTHER, "no type sent: unknown, still counted");
        assert_eq!(i.attrs["odd_fields"], "hostname,lastSeen,online");
        assert!(!i.attrs.values().any(|v| v.contains("secret")));
        assert!(
            !i.raw.unwrap().contains("secret"),
            "user-defined fields are not kept"
        );
    }

    #[test]
    fn what_decides_the_count_is_never_guessed() {
        let unreadable = |json: &str| match read(json) {
            Err(NotCounted::Unreadable { site, why }) => (site, why),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            unreadable(r#"{"uid": "d", "siteUid": "s-1", "deleted": "perhaps"}"#),
            ("s-1".into(), "device d has no readable `deleted`".into())
        );
        assert_eq!(
            unreadable(r#"{"uid": "d", "siteId": 7, "deviceType": "Desktop"}"#).1,
            "device d has no readable device type (`deviceType`)"
        );
        assert_eq!(
            read(r#"{"uid": "d", "hostname": "x"}"#).unwrap_err(),
            NotCounted::NoSite("device d names no site (`siteUid`, `siteId`)".into())
        );
    }

    #[test]
    fn deleted_and_suspended_devices_keep_their_type_but_not_their_class() {
        let d = item(
            r#"{"uid": "d", "siteUid": "s-1", "deleted": true, "suspended": true, "deviceType": {"category": "Laptop", "type": "Physical"}}"#,
        );
        assert_eq!(d.class, DELETED);
        assert_eq!(d.raw_class, "Laptop");
        let s = item(
            r#"{"uid": "e", "siteUid": "s-1", "suspended": true, "deviceType": {"category": "Laptop"}}"#,
        );
        assert_eq!(s.class, SUSPENDED);
        assert_eq!(s.attrs["autotask_company_id"], "29683");
        assert_eq!(s.attrs["site_on_demand"], "false");
        assert!(!s.pending_approval);
    }
}
