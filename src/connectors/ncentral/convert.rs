//! The pure conversion from N-central wire types to [`crate::model`]: customers become
//! accounts, devices usage items with their class, OS, licence mode, last check-in and the
//! attributes a billing manager maps on, and a device's membership of a configured device filter
//! one more item of the class [`FILTER_MEMBER`]. Odd values are unknown for their record and
//! named in its `odd_fields` attribute; what decides whether and as what a device counts
//! (`deviceClass`, `isProbe`) is never guessed: see [`device`].

use std::collections::{BTreeMap, HashMap};

use super::wire;
use super::{FILTER_MEMBER, OTHER, PROBE};
use crate::model::{UsageItem, VendorAccount};

/// A customer as an account: its id, its name (the id when it has none).
pub fn customer(c: wire::Customer, raw: String) -> VendorAccount {
    VendorAccount {
        name: c.customer_name.unwrap_or_else(|| c.customer_id.clone()),
        id: c.customer_id,
        raw: Some(raw),
    }
}

/// A `deviceClass` as a class. N-central's classes are text such as `Servers - Windows`,
/// `Workstations - Mac OS X`, `Laptops - Windows`: the part before ` - ` decides (case and
/// plurals ignored). Any other is [`OTHER`].
pub fn class_of(device_class: Option<&str>) -> &'static str {
    let Some(text) = device_class else {
        return OTHER;
    };
    let head = text.split(" - ").next().unwrap_or(text);
    let norm: String = head
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect();
    let norm = norm.strip_suffix('s').unwrap_or(&norm);
    match norm {
        "workstation" | "desktop" => "WORKSTATION",
        "laptop" => "LAPTOP",
        "server" => "SERVER",
        "esxihost" | "esxi" | "vmwareesxi" => "ESXI_HOST",
        "printer" => "PRINTER",
        "switch"
        | "router"
        | "switchrouter"
        | "switchesrouter"
        | "firewall"
        | "network"
        | "networkdevice"
        | "wirelessaccesspoint"
        | "accesspoint" => "NETWORK_DEVICE",
        "mobile" | "mobiledevice" | "android" | "io" | "ipad" | "iphone" => "MOBILE",
        _ => OTHER,
    }
}

/// Why a device is not an item: it names no customer (set aside), or what decides whether it
/// counts could not be read (its customer is unreadable).
#[derive(Debug, PartialEq)]
pub enum NotCounted {
    NoCustomer(String),
    Unreadable { customer: String, why: String },
}

/// A device as a usage item, in the account of its customer (`customerId`; a device under a
/// site carries its customer's id too, so sites roll up to customers). Probes (`isProbe`) get
/// the class [`PROBE`]: no built-in service counts them. `odd` names the fields read as
/// unknown: when `deviceClass` or `isProbe` is one of them, the device is not guessed and its
/// customer becomes unreadable. A null there is unknown as before (not a probe, class from
/// what is known). `filters` are the names of the configured device filters it is in.
pub fn device(
    d: wire::Device,
    raw: String,
    odd: &[String],
    filters: &[&str],
) -> Result<UsageItem, NotCounted> {
    let Some(customer) = d.customer_id.clone().filter(|c| c != "-1") else {
        return Err(NotCounted::NoCustomer(format!(
            "device {} names no customer (`customerId`)",
            d.device_id
        )));
    };
    let decides = [
        ("deviceClass", "device class (`deviceClass`)"),
        ("isProbe", "`isProbe`"),
    ];
    if let Some((_, what)) = decides.iter().find(|(f, _)| odd.iter().any(|o| o == f)) {
        return Err(NotCounted::Unreadable {
            customer,
            why: format!("device {} has no readable {what}", d.device_id),
        });
    }
    let sent_class = class_of(d.device_class.as_deref());
    let class = if d.is_probe == Some(true) {
        PROBE
    } else {
        sent_class
    };

    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("device_class", d.device_class.clone());
    put("device_class_label", d.device_class_label);
    if sent_class == OTHER {
        put("unknown_class", Some("true".into()));
    }
    put("probe", d.is_probe.map(|b| b.to_string()));
    put("license_mode", d.license_mode);
    put("os", d.supported_os_label.or(d.supported_os));
    put("os_id", d.os_id);
    put("site", d.site_name);
    put("site_id", d.site_id);
    put("service_org", d.so_name);
    put("customer_name", d.customer_name);
    put("last_logged_in_user", d.last_logged_in_user);
    put("discovered_name", d.discovered_name.clone());
    if !odd.is_empty() {
        put("odd_fields", Some(odd.join(",")));
    }
    let name = d
        .long_name
        .or(d.discovered_name)
        .or(d.description)
        .unwrap_or_else(|| format!("device {}", d.device_id));
    let mut item = UsageItem {
        id: d.device_id,
        account_id: customer,
        name,
        class: class.to_string(),
        raw_class: d.device_class.unwrap_or_else(|| sent_class.to_string()),
        online: None,
        last_contact: d.last_appliance_checkin_time,
        // N-central has no approval step in this API: a device listed is a managed device.
        pending_approval: false,
        attrs,
        raw: Some(raw),
    };
    if !filters.is_empty() {
        item.attrs
            .insert("device_filters".into(), filters.join(", "));
    }
    Ok(item)
}

/// One item per configured device filter a device is in, of the class [`FILTER_MEMBER`] (which
/// only the filter's service counts), with the device's name, account, last check-in and
/// attributes, so exclusions and the inactive rule treat it as the device.
pub fn memberships(device: &UsageItem, filters: &[&str]) -> Vec<UsageItem> {
    filters
        .iter()
        .map(|f| {
            let mut attrs = device.attrs.clone();
            attrs.insert("device_filter".into(), f.to_string());
            attrs.insert("device_class".into(), device.raw_class.clone());
            UsageItem {
                id: format!("{}@filter:{f}", device.id),
                class: FILTER_MEMBER.to_string(),
                attrs,
                raw: None,
                ..device.clone()
            }
        })
        .collect()
}

/// Device id → names of the configured filters it is in, from each filter's members.
pub fn membership_index<'a>(
    members: impl IntoIterator<Item = (&'a str, Vec<String>)>,
) -> HashMap<String, Vec<&'a str>> {
    let mut by_device: HashMap<String, Vec<&str>> = HashMap::new();
    for (filter, ids) in members {
        for id in ids {
            let list = by_device.entry(id).or_default();
            if !list.contains(&filter) {
                list.push(filter);
            }
        }
    }
    by_device
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn read(json: &str, filters: &[&str]) -> Result<UsageItem, NotCounted> {
        let v: Value = serde_json::from_str(json).unwrap();
        let mut got = crate::http::decode_tolerant::<wire::Device>("data", 0, vec![v]);
        let r = got.records.pop().expect("a device with an id");
        device(r.value, json.into(), &r.odd, filters)
    }

    fn item(json: &str) -> UsageItem {
        read(json, &[]).unwrap()
    }

    #[test]
    fn device_classes_become_classes_and_unknown_ones_are_flagged() {
        for (text, want) in [
            ("Servers - Windows", "SERVER"),
            ("Servers - Linux", "SERVER"),
            ("Workstations - Windows", "WORKSTATION"),
            ("Workstations - Mac OS X", "WORKSTATION"),
            ("Laptops - Windows", "LAPTOP"),
            ("Laptop - Windows", "LAPTOP"),
            ("Printers", "PRINTER"),
            ("Switches/Routers", "NETWORK_DEVICE"),
            ("Firewalls", "NETWORK_DEVICE"),
            ("ESXi", "ESXI_HOST"),
            ("Mobile Devices - iOS", "MOBILE"),
            ("Other", OTHER),
            ("Toasters - IoT", OTHER),
        ] {
            assert_eq!(class_of(Some(text)), want, "{text}");
        }
        let i = item(r#"{"deviceId": 9, "customerId": 101, "deviceClass": "Toasters - IoT"}"#);
        assert_eq!(
            (i.class.as_str(), i.raw_class.as_str()),
            (OTHER, "Toasters - IoT")
        );
        assert_eq!(i.attrs["unknown_class"], "true");
    }

    #[test]
    fn ids_sent_as_numbers_or_text_are_one_customer_and_probes_count_nowhere() {
        let a = item(r#"{"deviceId": 1, "customerId": 101, "deviceClass": "Servers - Windows"}"#);
        let b = item(
            r#"{"deviceId": "2", "customerId": "101", "isProbe": true,
                         "deviceClass": "Servers - Windows", "licenseMode": "Professional"}"#,
        );
        assert_eq!(a.account_id, b.account_id);
        assert_eq!(a.class, "SERVER");
        assert_eq!(b.class, PROBE);
        assert_eq!(b.raw_class, "Servers - Windows");
        assert_eq!(b.attrs["license_mode"], "Professional");
    }

    #[test]
    fn what_decides_the_count_is_never_guessed() {
        let err = read(
            r#"{"deviceId": 3, "customerId": 101, "isProbe": "perhaps"}"#,
            &[],
        )
        .unwrap_err();
        assert_eq!(
            err,
            NotCounted::Unreadable {
                customer: "101".into(),
                why: "device 3 has no readable `isProbe`".into()
            }
        );
        let err = read(
            r#"{"deviceId": 4, "customerId": 101, "deviceClass": ["Servers"]}"#,
            &[],
        );
        assert!(matches!(err, Err(NotCounted::Unreadable { .. })), "{err:?}");
        assert_eq!(
            read(r#"{"deviceId": 5, "longName": "x"}"#, &[]).unwrap_err(),
            NotCounted::NoCustomer("device 5 names no customer (`customerId`)".into())
        );
        // A null is unknown, not odd: counted, class unknown.
        let i = item(
            r#"{"deviceId": 6, "customerId": 101, "deviceClass": null,
                         "lastApplianceCheckinTime": "not a time", "longName": null}"#,
        );
        assert_eq!(i.class, OTHER);
        assert_eq!(i.name, "device 6");
        assert_eq!(i.last_contact, None);
        assert_eq!(i.attrs["odd_fields"], "lastApplianceCheckinTime");
    }

    #[test]
    fn a_device_in_two_filters_is_one_device_and_one_member_of_each() {
        let index = membership_index([
            ("Managed Servers", vec!["1".to_string(), "2".to_string()]),
            ("Backup", vec!["1".to_string()]),
        ]);
        let filters = &index["1"];
        let d = read(
            r#"{"deviceId": 1, "customerId": 101, "deviceClass": "Servers - Windows",
                "longName": "SRV01", "lastApplianceCheckinTime": "2026-11-30T10:00:00Z"}"#,
            filters,
        )
        .unwrap();
        assert_eq!(d.attrs["device_filters"], "Managed Servers, Backup");
        let m = memberships(&d, filters);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].id, "1@filter:Managed Servers");
        assert_eq!(m[0].class, FILTER_MEMBER);
        assert_eq!(m[0].attrs["device_filter"], "Managed Servers");
        assert_eq!(
            (m[1].name.as_str(), m[1].account_id.as_str()),
            ("SRV01", "101")
        );
        assert_eq!(m[1].last_contact, d.last_contact);
    }
}
