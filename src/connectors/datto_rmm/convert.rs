//! The pure conversion from Datto RMM wire types to [`crate::model`]: sites become accounts,
//! devices become usage items with their class, OS, last contact, state and the attributes a
//! billing manager maps on. Every field but the `uid` is read leniently: a null is unknown, and a
//! value of another type than the spec's is unknown for that record and named in its
//! `odd_fields` attribute, never an error.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde_json::Value;

use super::wire;
use super::{DELETED, OTHER, SUSPENDED};
use crate::model::{UsageItem, VendorAccount};

/// Reads one record's fields, noting those of an unexpected type.
#[derive(Default)]
struct Reader {
    odd: Vec<&'static str>,
}

impl Reader {
    /// Text; numbers are written as text (an id sent as a number).
    fn text(&mut self, field: &'static str, v: &Value) -> Option<String> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            _ => {
                self.odd.push(field);
                None
            }
        }
    }

    /// A boolean; `"true"`/`"false"` as text too.
    fn flag(&mut self, field: &'static str, v: &Value) -> Option<bool> {
        match v {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
            _ => {
                self.odd.push(field);
                None
            }
        }
    }

    /// A time: epoch milliseconds (what the API sends), or an RFC 3339 `date-time` (what its
    /// spec says).
    fn time(&mut self, field: &'static str, v: &Value) -> Option<Timestamp> {
        let t = match v {
            Value::Null => return None,
            Value::String(s) if s.trim().is_empty() => return None,
            Value::Number(n) => n
                .as_i64()
                .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(ms) => Timestamp::from_millisecond(ms).ok(),
                Err(_) => crate::connectors::de::parse_timestamp(s.trim()).ok(),
            },
            _ => None,
        };
        if t.is_none() {
            self.odd.push(field);
        }
        t
    }

    /// An object's member (`deviceType.category`); a non-object is odd.
    fn member<'v>(&mut self, field: &'static str, v: &'v Value, key: &str) -> &'v Value {
        match v {
            Value::Object(m) => m.get(key).unwrap_or(&Value::Null),
            Value::Null => &Value::Null,
            _ => {
                self.odd.push(field);
                &Value::Null
            }
        }
    }
}

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
    let mut r = Reader::default();
    let name = r.text("name", &s.name).unwrap_or_else(|| s.uid.clone());
    let id = r.text("id", &s.id);
    let on_demand = r.flag("onDemand", &s.on_demand);
    let autotask_company_id = r.text("autotaskCompanyId", &s.autotask_company_id);
    let _ = r.text("autotaskCompanyName", &s.autotask_company_name);
    SiteInfo {
        account: VendorAccount {
            id: s.uid,
            name,
            raw: Some(raw),
        },
        id,
        on_demand,
        autotask_company_id,
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

/// A device as a usage item, in the account of its site (`siteUid`, else the site whose `id` is
/// its `siteId`). Deleted devices get the class [`DELETED`], suspended ones [`SUSPENDED`]: no
/// built-in service counts either.
pub fn device(d: wire::Device, raw: String, sites: &HashMap<String, &SiteInfo>) -> UsageItem {
    let mut r = Reader::default();
    let site_uid = r.text("siteUid", &d.site_uid);
    let site_id = r.text("siteId", &d.site_id);
    let site = site_uid
        .as_ref()
        .and_then(|u| sites.get(u))
        .or_else(|| {
            let id = site_id.as_ref()?;
            sites.values().find(|s| s.id.as_ref() == Some(id))
        })
        .copied();
    let account_id = site
        .map(|s| s.account.id.clone())
        .or(site_uid)
        .unwrap_or_default();
    let category_v = r.member("deviceType", &d.device_type, "category");
    let category = r.text("deviceType.category", category_v);
    let type_v = r.member("deviceType", &d.device_type, "type");
    let device_type = r.text("deviceType.type", type_v);
    let device_class = r.text("deviceClass", &d.device_class);
    let deleted = r.flag("deleted", &d.deleted);
    let suspended = r.flag("suspended", &d.suspended);
    let sent_class = class_of(category.as_deref(), device_class.as_deref());
    let class = if deleted == Some(true) {
        DELETED
    } else if suspended == Some(true) {
        SUSPENDED
    } else {
        sent_class
    };
    let hostname = r.text("hostname", &d.hostname);
    let description = r.text("description", &d.description);
    let online = r.flag("online", &d.online);
    let last_contact = r.time("lastSeen", &d.last_seen);
    let created = r.time("creationDate", &d.creation_date);

    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("device_type", category.clone());
    put("device_type_detail", device_type);
    put("device_class", device_class);
    if sent_class == OTHER {
        put("unknown_class", Some("true".into()));
    }
    put("deleted", deleted.map(|b| b.to_string()));
    put("suspended", suspended.map(|b| b.to_string()));
    put("os", r.text("operatingSystem", &d.operating_system));
    put("hostname", hostname.clone());
    put("site", r.text("siteName", &d.site_name));
    put("device_id", r.text("id", &d.id));
    put("domain", r.text("domain", &d.domain));
    put(
        "agent_version",
        r.text("displayVersion", &d.display_version),
    );
    put("created", created.map(|t| t.to_string()));
    put("warranty_date", r.text("warrantyDate", &d.warranty_date));
    put(
        "snmp_enabled",
        r.flag("snmpEnabled", &d.snmp_enabled)
            .map(|b| b.to_string()),
    );
    put(
        "network_probe",
        r.flag("networkProbe", &d.network_probe)
            .map(|b| b.to_string()),
    );
    let av_product = r.member("antivirus", &d.antivirus, "antivirusProduct");
    put(
        "antivirus_product",
        r.text("antivirus.antivirusProduct", av_product),
    );
    let av_status = r.member("antivirus", &d.antivirus, "antivirusStatus");
    put(
        "antivirus_status",
        r.text("antivirus.antivirusStatus", av_status),
    );
    let patch = r.member("patchManagement", &d.patch_management, "patchStatus");
    put("patch_status", r.text("patchManagement.patchStatus", patch));
    if let Some(s) = site {
        put("site_on_demand", s.on_demand.map(|b| b.to_string()));
        put("autotask_company_id", s.autotask_company_id.clone());
    }
    r.odd.dedup();
    if !r.odd.is_empty() {
        put("odd_fields", Some(r.odd.join(",")));
    }
    let name = hostname
        .or(description)
        .unwrap_or_else(|| format!("device {}", d.uid));
    UsageItem {
        id: d.uid,
        account_id,
        name,
        class: class.to_string(),
        raw_class: category.unwrap_or_else(|| sent_class.to_string()),
        online,
        last_contact,
        // Datto RMM has no approval step: a device is managed once its agent is installed.
        pending_approval: false,
        attrs,
        raw: Some(without_udf(raw)),
    }
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

    fn item(json: &str) -> UsageItem {
        let sites = sites();
        let by_uid = sites.iter().map(|s| (s.account.id.clone(), s)).collect();
        device(serde_json::from_str(json).unwrap(), json.into(), &by_uid)
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
        let a = item(r#"{"uid": "d", "lastSeen": 1721131200000}"#);
        let b = item(r#"{"uid": "d", "lastSeen": "2024-07-16T12:00:00Z"}"#);
        assert_eq!(a.last_contact, b.last_contact);
        assert_eq!(a.last_contact.unwrap().to_string(), "2024-07-16T12:00:00Z");
        assert!(!a.attrs.contains_key("odd_fields"));
    }

    #[test]
    fn odd_values_are_unknown_for_that_record_only() {
        let i = item(
            r#"{"uid": "d", "siteId": 7, "hostname": ["x"], "lastSeen": "last tuesday",
                "online": "maybe", "deviceType": "Desktop", "deleted": null, "udf": {"udf1": "secret"}}"#,
        );
        assert_eq!(i.account_id, "s-1", "found by siteId");
        assert_eq!(i.name, "device d");
        assert_eq!(i.last_contact, None);
        assert_eq!(i.online, None);
        assert_eq!(i.class, OTHER);
        assert_eq!(i.attrs["odd_fields"], "deviceType,hostname,online,lastSeen");
        assert!(!i.attrs.values().any(|v| v.contains("secret")));
        assert!(
            !i.raw.unwrap().contains("secret"),
            "user-defined fields are not kept"
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
