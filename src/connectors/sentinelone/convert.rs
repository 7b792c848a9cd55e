//! SentinelOne wire types into the neutral model, with no requests: sites into accounts, an
//! agent into a usage item whose class is its `machineType` (`OTHER` for one this build does not
//! know, `DECOMMISSIONED` for a decommissioned agent), carrying its site's SKU and licenses.

use std::collections::BTreeMap;

use super::{DECOMMISSIONED, OTHER, wire};
use crate::http::Read;
use crate::model::{UsageItem, VendorAccount};

/// `machineType` values this build knows, and their classes.
const MACHINE_TYPES: &[(&str, &str)] = &[
    ("desktop", "DESKTOP"),
    ("laptop", "LAPTOP"),
    ("server", "SERVER"),
    ("kubernetes node", "KUBERNETES_NODE"),
    ("storage", "STORAGE"),
];

/// Sites into accounts; a site without a name is named by its id.
pub(super) fn accounts(sites: Vec<Read<wire::Site>>) -> Vec<VendorAccount> {
    sites
        .into_iter()
        .map(|s| VendorAccount {
            name: site_name(&s.value).unwrap_or_else(|| format!("site {}", s.value.id)),
            id: s.value.id,
            raw: Some(s.raw),
        })
        .collect()
}

fn site_name(s: &wire::Site) -> Option<String> {
    s.name.clone().filter(|n| !n.trim().is_empty())
}

/// Why a site cannot be counted, when one of its own fields the count depends on is odd: its
/// SKU decides which per-SKU service counts its agents. A null SKU is a site without one (read
/// so before); only a value that is not text is unknown.
pub(super) fn unreadable_site(site: &Read<wire::Site>) -> Option<String> {
    site.odd
        .iter()
        .any(|f| f == "sku")
        .then(|| format!("site {} has no readable SKU (`sku`)", site.value.id))
}

/// Why an agent's site cannot be counted, when a field its count depends on is unknown:
/// whether it is decommissioned (counted at all), and for a live agent its machine type (which
/// service counts it). An unknown machine type that is text is no such case: it is `OTHER`.
pub(super) fn unreadable_agent(a: &wire::Agent) -> Option<String> {
    match (a.is_decommissioned, &a.machine_type) {
        (None, _) => Some(format!(
            "agent {} has no readable decommissioned state (`isDecommissioned`)",
            a.id
        )),
        (Some(false), None) => Some(format!(
            "agent {} has no readable machine type (`machineType`)",
            a.id
        )),
        _ => None,
    }
}

/// The class of a `machineType`: known types by name, anything else `OTHER`.
pub fn class_of(machine_type: &str) -> &'static str {
    let t = machine_type.trim();
    MACHINE_TYPES
        .iter()
        .find(|(m, _)| m.eq_ignore_ascii_case(t))
        .map(|(_, c)| *c)
        .unwrap_or(OTHER)
}

pub(super) fn agent_item(a: wire::Agent, raw: String, site: Option<&wire::Site>) -> UsageItem {
    let machine_type = a.machine_type.clone().unwrap_or_default();
    let decommissioned = a.is_decommissioned.unwrap_or(false);
    let class = if decommissioned {
        DECOMMISSIONED
    } else {
        class_of(&machine_type)
    };
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("machine_type", a.machine_type.clone());
    if class_of(&machine_type) == OTHER {
        put("unknown_class", Some("true".into()));
    }
    put("decommissioned", Some(decommissioned.to_string()));
    put("uninstalled", a.is_uninstalled.map(|v| v.to_string()));
    put("os", a.os_type.clone());
    put("os_name", a.os_name.clone());
    put("group", a.group_name.clone());
    put("agent_version", a.agent_version.clone());
    put("network_status", a.network_status.clone());
    put("uuid", a.uuid.clone());
    put(
        "site",
        site.and_then(site_name).or_else(|| a.site_name.clone()),
    );
    if let Some(s) = site {
        put("sku", s.sku.clone());
        put("site_type", s.site_type.clone());
        put("site_state", s.state.clone());
        put("account_id", s.account_id.clone());
        put("account_name", s.account_name.clone());
        put(
            "site_active_licenses",
            s.active_licenses.map(|v| v.to_string()),
        );
        put(
            "site_total_licenses",
            if s.unlimited_licenses == Some(true) {
                Some("unlimited".into())
            } else {
                s.total_licenses.map(|v| v.to_string())
            },
        );
    }
    let online = match a.network_status.as_deref() {
        Some(s) if s.eq_ignore_ascii_case("connected") => Some(true),
        Some(s) if s.eq_ignore_ascii_case("disconnected") => Some(false),
        _ => a.is_active,
    };
    let name = a
        .computer_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("agent {}", a.id));
    UsageItem {
        id: a.id,
        account_id: a.site_id,
        name,
        class: class.to_string(),
        raw_class: machine_type,
        online,
        last_contact: a.last_active_date,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::sentinelone::services;

    fn agent(json: &str) -> wire::Agent {
        serde_json::from_str(json).unwrap()
    }

    fn site(sku: &str) -> wire::Site {
        serde_json::from_str(&format!(
            r#"{{"id":"10","name":"Acme","sku":"{sku}","totalLicenses":25,"activeLicenses":12}}"#
        ))
        .unwrap()
    }

    fn count(key: &str, item: &UsageItem) -> bool {
        services()
            .into_iter()
            .find(|s| s.key == key)
            .unwrap()
            .counts(item)
    }

    #[test]
    fn machine_types_become_classes_and_unknown_ones_count_as_other() {
        let s = site("Complete");
        let a = agent(
            r#"{"id":"1","siteId":"10","computerName":"PC-1","machineType":"laptop","isDecommissioned":false,"networkStatus":"connected","lastActiveDate":"2024-05-01T10:00:00.123Z"}"#,
        );
        let item = agent_item(a, String::new(), Some(&s));
        assert_eq!(item.class, "LAPTOP");
        assert_eq!(item.online, Some(true));
        assert!(item.last_contact.is_some());
        assert_eq!(item.attrs["sku"], "Complete");
        assert_eq!(item.attrs["site_total_licenses"], "25");
        assert!(count("agents", &item) && count("workstations", &item));
        assert!(count("agents-complete", &item) && !count("agents-core", &item));

        let a = agent(r#"{"id":"2","siteId":"10","machineType":"quantum toaster"}"#);
        let item = agent_item(a, String::new(), Some(&s));
        assert_eq!(item.class, OTHER);
        assert_eq!(item.raw_class, "quantum toaster");
        assert_eq!(item.name, "agent 2");
        assert!(count("agents", &item) && count("other", &item));
        assert!(!count("servers", &item));
    }

    #[test]
    fn decommissioned_agents_count_nowhere() {
        let s = site("Core");
        let a = agent(r#"{"id":"3","siteId":"10","machineType":"server","isDecommissioned":true}"#);
        let item = agent_item(a, String::new(), Some(&s));
        assert_eq!(item.class, DECOMMISSIONED);
        assert_eq!(item.raw_class, "server");
        for def in services() {
            assert!(
                !def.counts(&item),
                "{} counts a decommissioned agent",
                def.key
            );
        }
    }

    #[test]
    fn an_unknown_state_or_live_machine_type_makes_the_site_unreadable() {
        let why = |json: &str| unreadable_agent(&agent(json));
        assert_eq!(
            why(r#"{"id":"4","siteId":"10","machineType":"server"}"#).unwrap(),
            "agent 4 has no readable decommissioned state (`isDecommissioned`)"
        );
        assert_eq!(
            why(r#"{"id":"5","siteId":"10","isDecommissioned":false}"#).unwrap(),
            "agent 5 has no readable machine type (`machineType`)"
        );
        // Decommissioned, its type decides nothing; an unknown type that is text is `OTHER`.
        assert!(why(r#"{"id":"6","siteId":"10","isDecommissioned":true}"#).is_none());
        let other = r#"{"id":"7","siteId":"10","isDecommissioned":false,"machineType":"x"}"#;
        assert!(why(other).is_none());
    }
}
