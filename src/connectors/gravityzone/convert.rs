//! The pure conversion from GravityZone wire types to [`crate::model`]: companies become
//! accounts; managed endpoints usage items (class from the machine type and OS); and each
//! member of a company's monthly usage (`endpointMonthlyUsage: 42`) one item whose `quantity`
//! is that figure. What decides the count (an endpoint's `machineType`, a usage figure) is never
//! guessed: an odd one makes the company unreadable.

use std::collections::BTreeMap;

use serde_json::Value;

use super::wire;
use super::{MONTHLY_USAGE, OTHER};
use crate::model::{UsageItem, VendorAccount};

/// A company as an account (its id when it has no name).
pub fn company(c: wire::Company, raw: String) -> VendorAccount {
    VendorAccount {
        name: c.name.unwrap_or_else(|| c.id.clone()),
        id: c.id,
        raw: Some(raw),
    }
}

/// The machine type's name, and whether this build knows it.
pub fn machine_type(t: Option<i64>) -> (&'static str, bool) {
    match t {
        Some(1) => ("computer", true),
        Some(2) => ("virtual machine", true),
        Some(3) => ("EC2 instance", true),
        Some(0) | None => ("other", true),
        Some(_) => ("unknown", false),
    }
}

/// An endpoint's class: computers, virtual machines and EC2 instances are `SERVER` when their
/// OS is a server OS, else `WORKSTATION`; anything else is [`OTHER`].
pub fn class_of(machine: Option<i64>, os: Option<&str>) -> &'static str {
    match machine {
        Some(1..=3) => {
            let os = os.unwrap_or("").to_ascii_lowercase();
            let server = [
                "server", "linux", "ubuntu", "centos", "red hat", "debian", "suse",
            ]
            .iter()
            .any(|s| os.contains(s));
            if server { "SERVER" } else { "WORKSTATION" }
        }
        _ => OTHER,
    }
}

/// An endpoint as a usage item of `company`, or why the company cannot be counted.
pub fn endpoint(
    e: wire::Endpoint,
    raw: String,
    odd: &[String],
    company: &str,
) -> Result<UsageItem, String> {
    if odd.iter().any(|o| o == "machineType") {
        return Err(format!(
            "endpoint {} has no readable machine type (`machineType`)",
            e.id
        ));
    }
    let (type_name, known) = machine_type(e.machine_type);
    let class = class_of(e.machine_type, e.operating_system_version.as_deref());
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("machine_type", Some(type_name.to_string()));
    if !known {
        put("unknown_class", Some("true".into()));
        put("machine_type_code", e.machine_type.map(|t| t.to_string()));
    }
    put("os", e.operating_system_version);
    put("fqdn", e.fqdn);
    put("label", e.label);
    put("group_id", e.group_id);
    put("ip", e.ip);
    if !odd.is_empty() {
        put("odd_fields", Some(odd.join(",")));
    }
    Ok(UsageItem {
        name: e.name.unwrap_or_else(|| e.id.clone()),
        id: e.id,
        account_id: company.to_string(),
        class: class.to_string(),
        raw_class: type_name.to_string(),
        online: None,
        last_contact: None,
        // Only managed endpoints (an installed agent) are listed.
        pending_approval: false,
        attrs,
        raw: Some(raw),
    })
}

/// `aLaCarteMonthlyUsage` → (`a-la-carte`, `A La Carte`); Bitdefender's misspelling
/// `Monhtly` is read as `Monthly`. `None` for members that are not usage figures.
pub fn usage_member(member: &str) -> Option<(String, String)> {
    let m = member.replace("Monhtly", "Monthly");
    let stem = m
        .strip_suffix("MonthlyUsage")
        .or_else(|| m.strip_suffix("Usage"))?;
    if stem.is_empty() {
        return None;
    }
    let mut words: Vec<String> = Vec::new();
    for ch in stem.chars() {
        if ch.is_ascii_uppercase() || words.is_empty() {
            words.push(String::new());
        }
        words.last_mut().expect("a word").push(ch);
    }
    let key = words
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("-");
    let name = words
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some((key, name))
}

/// A company's monthly usage (`usages` of `getMonthlyUsagePerProductType`) as items, one per
/// usage member and product type, or why the company cannot be counted (a figure that is not a
/// whole number of 0 or more). Nulls are no figure.
pub fn monthly_usage(
    usages: &[Value],
    company: &str,
    month: &str,
) -> Result<Vec<UsageItem>, String> {
    let mut out = Vec::new();
    for u in usages {
        let Some(obj) = u.as_object() else {
            return Err(format!(
                "monthly usage for {month} holds {u}, not an object"
            ));
        };
        let product = obj
            .get("productType")
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into());
        for (member, value) in obj {
            let Some((key, name)) = usage_member(member) else {
                continue;
            };
            let quantity = match value {
                Value::Null => continue,
                Value::Number(n) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
                Value::String(s) if s.trim().parse::<u64>().is_ok() => {
                    s.trim().parse().unwrap_or_default()
                }
                other => {
                    return Err(format!(
                        "monthly usage `{member}` for {month} is {other}, not a count"
                    ));
                }
            };
            let mut attrs = BTreeMap::new();
            attrs.insert("usage".to_string(), key.clone());
            attrs.insert("usage_name".to_string(), name.clone());
            attrs.insert("usage_member".to_string(), member.clone());
            attrs.insert("product_type".to_string(), product.clone());
            attrs.insert("month".to_string(), month.to_string());
            attrs.insert("quantity".to_string(), quantity.to_string());
            out.push(UsageItem {
                id: format!("usage:{company}:{month}:{product}:{key}"),
                account_id: company.to_string(),
                name: format!("{name} monthly usage {month}"),
                class: MONTHLY_USAGE.to_string(),
                raw_class: member.clone(),
                online: None,
                last_contact: None,
                pending_approval: false,
                attrs,
                raw: Some(u.to_string()),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn usage_members_become_keys_and_names() {
        assert_eq!(
            usage_member("aLaCarteMonhtlyUsage"),
            Some(("a-la-carte".into(), "A La Carte".into()))
        );
        assert_eq!(
            usage_member("mspSecurePlusMonthlyUsage"),
            Some(("msp-secure-plus".into(), "Msp Secure Plus".into()))
        );
        assert_eq!(
            usage_member("integrityMonitoringUsage").unwrap().0,
            "integrity-monitoring"
        );
        assert_eq!(usage_member("productType"), None);
        assert_eq!(usage_member("MonthlyUsage"), None);
    }

    #[test]
    fn monthly_usage_is_a_quantity_per_member_and_an_odd_figure_is_never_guessed() {
        let usages = vec![json!({"productType": 0, "endpointMonthlyUsage": 42,
            "edrMonthlyUsage": "3", "exchangeMonthlyUsage": null, "newThingMonthlyUsage": 0})];
        let items = monthly_usage(&usages, "c1", "11/2026").unwrap();
        let got: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.attrs["usage"].as_str(), i.attrs["quantity"].as_str()))
            .collect();
        assert_eq!(got, [("edr", "3"), ("endpoint", "42"), ("new-thing", "0")]);
        assert_eq!(items[1].id, "usage:c1:11/2026:0:endpoint");
        let e = monthly_usage(&[json!({"endpointMonthlyUsage": -1})], "c1", "11/2026");
        assert_eq!(
            e.unwrap_err(),
            "monthly usage `endpointMonthlyUsage` for 11/2026 is -1, not a count"
        );
        assert!(monthly_usage(&[json!({"endpointMonthlyUsage": 2.5})], "c", "m").is_err());
    }

    #[test]
    fn endpoints_are_servers_or_workstations_by_os() {
        assert_eq!(
            class_of(Some(1), Some("Windows Server 2022 Standard")),
            "SERVER"
        );
        assert_eq!(class_of(Some(2), Some("Ubuntu 22.04")), "SERVER");
        assert_eq!(class_of(Some(1), Some("Windows 11 Pro")), "WORKSTATION");
        assert_eq!(class_of(Some(1), Some("macOS Sonoma")), "WORKSTATION");
        assert_eq!(class_of(Some(0), Some("Windows 11")), OTHER);
        assert_eq!(class_of(Some(9), None), OTHER);
        let e: wire::Endpoint =
            serde_json::from_value(json!({"id": "e1", "machineType": 9})).unwrap();
        let i = endpoint(e, String::new(), &[], "c1").unwrap();
        assert_eq!(i.attrs["unknown_class"], "true");
        assert_eq!(i.attrs["machine_type_code"], "9");
        let e: wire::Endpoint = serde_json::from_value(json!({"id": "e2"})).unwrap();
        assert_eq!(
            endpoint(e, String::new(), &["machineType".into()], "c1").unwrap_err(),
            "endpoint e2 has no readable machine type (`machineType`)"
        );
    }
}
