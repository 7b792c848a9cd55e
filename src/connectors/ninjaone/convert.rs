//! NinjaOne wire types into the neutral model, with no requests: a device into a usage item whose
//! class is its `nodeClass`, or, for a class this build does not know, its device role's class
//! when that is a known one (kept as sent and flagged `unknown_class` otherwise).

use std::collections::{BTreeMap, HashMap};

use super::{is_known, wire};
use crate::model::UsageItem;

pub(super) fn device_item(
    d: wire::Device,
    raw: String,
    roles: &HashMap<i64, wire::NodeRole>,
) -> UsageItem {
    let role = d.node_role_id.and_then(|id| roles.get(&id));
    let raw_class = d.node_class.clone().unwrap_or_default();
    let class = if is_known(&raw_class) {
        raw_class.clone()
    } else {
        role.and_then(|r| r.node_class.clone())
            .filter(|c| is_known(c))
            .unwrap_or_else(|| raw_class.clone())
    };
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            attrs.insert(k.to_string(), v);
        }
    };
    put("location_id", d.location_id.map(|v| v.to_string()));
    put("role_id", d.node_role_id.map(|v| v.to_string()));
    put("role", role.and_then(|r| r.name.clone()));
    put(
        "role_custom",
        role.and_then(|r| r.custom).map(|c| c.to_string()),
    );
    put("approval_status", d.approval_status.clone());
    put(
        "parent_device_id",
        d.parent_device_id.map(|v| v.to_string()),
    );
    put("system_name", d.system_name.clone());
    put("dns_name", d.dns_name.clone());
    put(
        "tags",
        d.tags
            .as_ref()
            .filter(|t| !t.is_empty())
            .map(|t| t.join(",")),
    );
    if !is_known(&class) {
        put("unknown_class", Some("true".into()));
    }
    let name = [&d.display_name, &d.system_name, &d.dns_name]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| format!("device {}", d.id));
    UsageItem {
        id: d.id.to_string(),
        account_id: d.organization_id.to_string(),
        name,
        class,
        raw_class,
        online: d.offline.map(|o| !o),
        last_contact: d.last_contact,
        pending_approval: d
            .approval_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("PENDING")),
        attrs,
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::ninjaone::services;

    fn device(json: &str) -> wire::Device {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn unknown_classes_roll_up_through_custom_roles_or_stay_as_sent() {
        let mut roles = HashMap::new();
        roles.insert(
            9,
            wire::NodeRole {
                id: 9,
                name: Some("Kiosk".into()),
                node_class: Some("WINDOWS_WORKSTATION".into()),
                custom: Some(true),
            },
        );
        let d = device(
            r#"{"id":1,"organizationId":2,"nodeClass":"KIOSK_PC","nodeRoleId":9,"approvalStatus":"APPROVED"}"#,
        );
        let item = device_item(d, String::new(), &roles);
        assert_eq!(item.class, "WINDOWS_WORKSTATION");
        assert_eq!(item.raw_class, "KIOSK_PC");

        let d = device(r#"{"id":2,"organizationId":2,"nodeClass":"QUANTUM_TOASTER"}"#);
        let item = device_item(d, String::new(), &roles);
        assert_eq!(item.class, "QUANTUM_TOASTER");
        assert_eq!(
            item.attrs.get("unknown_class").map(String::as_str),
            Some("true")
        );
        let all = &services()[0];
        assert!(all.counts(&item));
        assert!(!services()[4].counts(&item));
    }

    #[test]
    fn pending_devices_and_names() {
        let d = device(
            r#"{"id":3,"organizationId":2,"nodeClass":"MAC","approvalStatus":"PENDING","offline":true,"systemName":"MBP-01","lastContact":1717171717.123}"#,
        );
        let item = device_item(d, String::new(), &HashMap::new());
        assert!(item.pending_approval);
        assert_eq!(item.online, Some(false));
        assert_eq!(item.name, "MBP-01");
        assert!(item.last_contact.is_some());
    }
}
