//! Datto wire types into the neutral model, with no requests: a SaaS seat, a BCDR appliance and
//! a protected machine each into a usage item of its class.
//!
//! Classes: a SaaS seat is `SAAS_<TYPE>` (`SAAS_USER`, `SAAS_SHARED_MAILBOX`, ...; a type this
//! build does not know is `SAAS_OTHER`); an appliance is `BCDR_APPLIANCE`; a protected machine
//! is `SERVER`, `WORKSTATION` or `VIRTUAL`, or `ARCHIVED` (not billed). How a machine's kind is
//! told is inferred (the agent fields are documented, their values are not): an agentless or
//! hypervisor agent type is `VIRTUAL`; else an OS naming a server edition (or Linux, which
//! Datto protects as servers) is `SERVER`; else a known desktop OS is `WORKSTATION`; a machine
//! with neither is flagged `unknown_class` and counted only by `bcdr-agents`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::wire;
use crate::model::UsageItem;

pub const APPLIANCE: &str = "BCDR_APPLIANCE";
pub const SERVER: &str = "SERVER";
pub const WORKSTATION: &str = "WORKSTATION";
pub const VIRTUAL: &str = "VIRTUAL";
pub const ARCHIVED: &str = "ARCHIVED";
/// The SaaS seat classes, one per documented seat type, then the one for any other.
pub const SEAT_CLASSES: &[&str] = &[
    "SAAS_USER",
    "SAAS_SHARED_MAILBOX",
    "SAAS_SITE",
    "SAAS_TEAM_SITE",
    "SAAS_TEAM",
    "SAAS_SHARED_DRIVE",
    "SAAS_OTHER",
];

/// `SharedMailbox` → `SAAS_SHARED_MAILBOX`; an unknown type → `SAAS_OTHER`.
fn seat_class(seat_type: Option<&str>) -> (&'static str, bool) {
    let t = seat_type.unwrap_or("").trim().to_ascii_lowercase();
    let class = match t.as_str() {
        "user" => "SAAS_USER",
        "sharedmailbox" => "SAAS_SHARED_MAILBOX",
        "site" => "SAAS_SITE",
        "teamsite" => "SAAS_TEAM_SITE",
        "team" => "SAAS_TEAM",
        "shareddrive" => "SAAS_SHARED_DRIVE",
        _ => return ("SAAS_OTHER", true),
    };
    (class, false)
}

/// The account id of a SaaS customer.
pub(super) fn saas_account(id: &str) -> String {
    format!("saas:{id}")
}

/// The account of an appliance: its client's name as typed on it, else the appliance itself.
pub(super) fn bcdr_account(d: &wire::Device) -> (String, String) {
    match d
        .client_company_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => (format!("bcdr:{}", n.to_lowercase()), n.to_string()),
        None => (
            format!("bcdr-device:{}", d.serial_number),
            format!(
                "{} (appliance {} has no client name)",
                d.name.as_deref().unwrap_or("appliance"),
                d.serial_number
            ),
        ),
    }
}

fn put(attrs: &mut BTreeMap<String, String>, k: &str, v: Option<String>) {
    if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
        attrs.insert(k.to_string(), v);
    }
}

/// One SaaS seat of `domain`.
pub(super) fn seat_item(
    s: wire::Seat,
    raw: String,
    odd: &[String],
    domain: &wire::Domain,
) -> UsageItem {
    let (class, unknown) = seat_class(s.seat_type.as_deref());
    let mut attrs = BTreeMap::new();
    put(&mut attrs, "billable", s.billable.clone());
    put(&mut attrs, "seat_state", s.seat_state.clone());
    put(&mut attrs, "seat_type", s.seat_type.clone());
    put(&mut attrs, "product_type", domain.product_type.clone());
    put(&mut attrs, "domain", domain.domain.clone());
    put(&mut attrs, "retention_type", domain.retention_type.clone());
    put(&mut attrs, "date_added", s.date_added.clone());
    if unknown {
        attrs.insert("unknown_class".into(), "true".into());
    }
    if !odd.is_empty() {
        attrs.insert("odd_fields".into(), odd.join(","));
    }
    UsageItem {
        id: format!("saas:{}:{}", domain.saas_customer_id, s.main_id),
        account_id: saas_account(&domain.saas_customer_id),
        name: s.name.clone().unwrap_or_else(|| s.main_id.clone()),
        class: class.to_string(),
        raw_class: s.seat_type.unwrap_or_default(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    }
}

/// A storage size in GB: `{size, units}` with units GB, TB (× 1000) or MB (÷ 1000), as Datto
/// writes them (decimal units, inferred from the portal's figures); `None` for other units.
pub(super) fn gigabytes(s: &wire::Size) -> Option<Decimal> {
    let size = s.size?;
    let factor = match s.units.as_deref().map(|u| u.trim().to_ascii_uppercase()) {
        Some(u) if u == "GB" => Decimal::ONE,
        Some(u) if u == "TB" => Decimal::from(1000),
        Some(u) if u == "MB" => Decimal::new(1, 3),
        Some(u) if u == "KB" => Decimal::new(1, 6),
        _ => return None,
    };
    Some((size * factor).normalize())
}

/// One appliance: its service plan and offsite storage (GB) as attributes. An offsite size in
/// units this build does not know is named in the returned reason (its storage unknown).
pub(super) fn appliance_item(
    d: &wire::Device,
    account_id: &str,
    raw: String,
    odd: &[String],
) -> (UsageItem, Option<String>) {
    let mut attrs = BTreeMap::new();
    put(&mut attrs, "service_plan", d.service_plan.clone());
    put(&mut attrs, "model", d.model.clone());
    put(&mut attrs, "service_period", d.service_period.clone());
    put(&mut attrs, "last_seen", d.last_seen_date.clone());
    put(
        &mut attrs,
        "agent_count",
        d.agent_count.map(|n| n.normalize().to_string()),
    );
    let mut unknown = None;
    match d.offsite_storage_used.as_ref() {
        Some(s) => match gigabytes(s) {
            Some(gb) => put(&mut attrs, "offsite_gb", Some(gb.to_string())),
            None => {
                unknown = Some(format!(
                    "appliance {} has offsite storage in units this version does not read ({:?})",
                    d.serial_number,
                    s.units.as_deref().unwrap_or("none")
                ))
            }
        },
        None => put(&mut attrs, "offsite_gb", Some("0".into())),
    }
    if let Some(gb) = d.local_storage_used.as_ref().and_then(gigabytes) {
        put(&mut attrs, "local_gb", Some(gb.to_string()));
    }
    if !odd.is_empty() {
        attrs.insert("odd_fields".into(), odd.join(","));
    }
    let item = UsageItem {
        id: format!("bcdr:{}", d.serial_number),
        account_id: account_id.to_string(),
        name: d.name.clone().unwrap_or_else(|| d.serial_number.clone()),
        class: APPLIANCE.to_string(),
        raw_class: d.model.clone().unwrap_or_default(),
        online: None,
        // As for machines: an appliance is billed whether or not it checked in lately.
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    };
    (item, unknown)
}

/// The class of a protected machine (see the module header).
pub(super) fn machine_class(a: &wire::Agent) -> (&'static str, bool) {
    if a.is_archived == Some(true) {
        return (ARCHIVED, false);
    }
    let t = a.agent_type.as_deref().unwrap_or("").to_ascii_lowercase();
    if ["agentless", "esx", "vmware", "hyper", "virtual"]
        .iter()
        .any(|v| t.contains(v))
    {
        return (VIRTUAL, false);
    }
    let os = a.os.as_deref().unwrap_or("").to_ascii_lowercase();
    if os.contains("server") || os.contains("linux") {
        (SERVER, false)
    } else if os.contains("windows") || os.contains("mac") {
        (WORKSTATION, false)
    } else {
        (WORKSTATION, true)
    }
}

/// One protected machine of appliance `d`.
pub(super) fn agent_item(
    a: wire::Agent,
    raw: String,
    odd: &[String],
    d: &wire::Device,
    account_id: &str,
) -> UsageItem {
    let (class, unknown) = machine_class(&a);
    let mut attrs = BTreeMap::new();
    put(&mut attrs, "os", a.os.clone());
    put(&mut attrs, "agent_type", a.agent_type.clone());
    put(&mut attrs, "fqdn", a.fqdn.clone());
    put(&mut attrs, "appliance", Some(d.serial_number.clone()));
    put(&mut attrs, "paused", a.is_paused.map(|p| p.to_string()));
    if unknown {
        attrs.insert("unknown_class".into(), "true".into());
    }
    if !odd.is_empty() {
        attrs.insert("odd_fields".into(), odd.join(","));
    }
    // Kept, not used as last contact: Datto bills a protected machine whether or not it
    // backed up lately, so the stale-device rule must not drop it.
    let last = a
        .last_snapshot
        .and_then(|s| s.trunc().to_i64())
        .filter(|s| *s > 0)
        .and_then(|s| Timestamp::from_second(s).ok());
    put(&mut attrs, "last_snapshot", last.map(|t| t.to_string()));
    UsageItem {
        id: format!("bcdr:{}:{}", d.serial_number, a.volume),
        account_id: account_id.to_string(),
        name: a.name.clone().or(a.fqdn.clone()).unwrap_or(a.volume),
        class: class.to_string(),
        raw_class: a.agent_type.unwrap_or_default(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(v: serde_json::Value) -> wire::Agent {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn machines_are_told_apart_by_agent_type_and_os() {
        for (json, want) in [
            (
                serde_json::json!({"volume": "a", "os": "Windows Server 2022 Standard"}),
                (SERVER, false),
            ),
            (
                serde_json::json!({"volume": "a", "os": "Ubuntu Linux 22.04"}),
                (SERVER, false),
            ),
            (
                serde_json::json!({"volume": "a", "os": "Windows 11 Pro"}),
                (WORKSTATION, false),
            ),
            (
                serde_json::json!({"volume": "a", "os": "Windows Server 2019", "type": "agentless"}),
                (VIRTUAL, false),
            ),
            (
                serde_json::json!({"volume": "a", "os": "Windows 10", "isArchived": true}),
                (ARCHIVED, false),
            ),
            (serde_json::json!({"volume": "a"}), (WORKSTATION, true)),
        ] {
            assert_eq!(machine_class(&agent(json.clone())), want, "{json}");
        }
    }

    #[test]
    fn storage_is_read_in_gigabytes() {
        let s = |size: &str, units: &str| wire::Size {
            size: Some(size.parse().unwrap()),
            units: Some(units.into()),
        };
        assert_eq!(gigabytes(&s("1.5", "TB")), Some(Decimal::from(1500)));
        assert_eq!(gigabytes(&s("512", "GB")), Some(Decimal::from(512)));
        assert_eq!(gigabytes(&s("250", "MB")), Some(Decimal::new(25, 2)));
        assert_eq!(gigabytes(&s("1", "blocks")), None);
    }

    #[test]
    fn an_epoch_zero_snapshot_is_no_snapshot() {
        let d: wire::Device = serde_json::from_value(
            serde_json::json!({"serialNumber": "S1", "clientCompanyName": " Acme "}),
        )
        .unwrap();
        assert_eq!(bcdr_account(&d).0, "bcdr:acme");
        let a = agent_item(
            agent(serde_json::json!({"volume": "v", "os": "Windows 10", "lastSnapshot": 0})),
            "{}".into(),
            &[],
            &d,
            "bcdr:acme",
        );
        assert!(!a.attrs.contains_key("last_snapshot"));
        let b = agent_item(
            agent(
                serde_json::json!({"volume": "v", "os": "Windows 10", "lastSnapshot": 1764930000}),
            ),
            "{}".into(),
            &[],
            &d,
            "bcdr:acme",
        );
        assert_eq!(b.attrs["last_snapshot"], "2025-12-05T10:20:00Z");
        // Billed whether or not it backed up lately: never inactive.
        assert_eq!(b.last_contact, None);
    }
}
