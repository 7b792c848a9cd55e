//! Keeper wire types into the neutral model, with no requests: each managed company of
//! `msp-info -v` into an account with a `PLAN` item (plan ids also from display names, unknown
//! plans kept and flagged) and an `ADDON` item per add-on; seats as allocated, or the active
//! users when Keeper's allocation is unlimited (`-1` or its 2147483647 sentinel).

use std::collections::BTreeMap;

use super::{ADDON, PLAN, wire};
use crate::http::{Read, Tolerant};
use crate::model::{UsageItem, VendorAccount, VendorSnapshot};

/// `number_of_seats` above this is Keeper's "unlimited" (the sentinel is 2147483647).
const UNLIMITED_ABOVE: i64 = 2_000_000;

/// Plans Commander knows: (product_id, display name).
const PLANS: &[(&str, &str)] = &[
    ("business", "Business"),
    ("businessPlus", "Business Plus"),
    ("businessStarter", "Business Starter"),
    ("enterprise", "Enterprise"),
    ("enterprisePlus", "Enterprise Plus"),
];

/// Add-ons Commander knows: (name, display name).
const ADDONS: &[(&str, &str)] = &[
    ("chat", "KeeperChat"),
    (
        "enterprise_audit_and_reporting",
        "Advanced Reporting & Alerts Module",
    ),
    (
        "professional_services_silver_add_on",
        "Professional Services Silver",
    ),
    (
        "gold_professional_services_add_on",
        "Professional Services Gold",
    ),
    (
        "platinum_professional_services_add_on",
        "Professional Services Platinum",
    ),
    ("msp_service_and_support", "MSP Dedicated Service & Support"),
    ("consumer_breach_watch", "Consumer BreachWatch"),
    ("enterprise_breach_watch", "Enterprise BreachWatch"),
    ("compliance_report", "Compliance Reporting"),
    ("secrets_manager", "Keeper Secrets Manager"),
    ("connection_manager", "Keeper Connection Manager"),
    ("password_rotation", "Password Rotation"),
    ("remote_browser_isolation", "Remote Browser Isolation"),
    ("privileged_access_manager", "Privileged Access Manager"),
    (
        "keeper_endpoint_privilege_manager",
        "Keeper Endpoint Privilege Manager",
    ),
];

/// The fields the seat counts depend on.
const COUNTED_FIELDS: &[&str] = &["allocated", "active", "plan", "addons"];

/// Allocated seats as sent, or `None` for unlimited (-1, or anything above 2,000,000, which is
/// how Keeper stores "unlimited").
fn limited(allocated: i64) -> Option<i64> {
    (0..=UNLIMITED_ABOVE)
        .contains(&allocated)
        .then_some(allocated)
}

/// The seats a company is billed for: its allocated seats, or, when its seats are unlimited,
/// its active users (an unlimited allocation has no number to bill; what is in use is the
/// honest measure). `None` when Keeper sent neither.
pub fn billed_seats(allocated: Option<i64>, active: Option<i64>) -> Option<i64> {
    match allocated {
        Some(a) if limited(a).is_some() => Some(a),
        Some(_) => active,
        None => None,
    }
}

fn plan_name(plan: &str) -> Option<&'static str> {
    PLANS
        .iter()
        .find(|(id, name)| id.eq_ignore_ascii_case(plan) || name.eq_ignore_ascii_case(plan))
        .map(|(_, n)| *n)
}

/// The plan's id (`businessPlus`), also when Commander printed its display name.
fn plan_id(plan: &str) -> String {
    PLANS
        .iter()
        .find(|(id, name)| id.eq_ignore_ascii_case(plan) || name.eq_ignore_ascii_case(plan))
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| plan.trim().to_string())
}

/// `connection_manager:5` → (`connection_manager`, Some(5)); `chat` → (`chat`, None).
fn split_addon(s: &str) -> (String, Option<i64>) {
    if let Some((name, n)) = s.rsplit_once(':')
        && let Ok(n) = n.trim().parse::<i64>()
    {
        return (name.trim().to_string(), Some(n));
    }
    (s.trim().to_string(), None)
}

/// Managed companies into accounts, each with a `PLAN` item and one `ADDON` item per add-on.
/// A company whose `allocated`, `active`, `plan` or `addons` held an odd value (not the
/// number or text Commander prints) is unreadable, named with the fields: its seats would be
/// guessed. A company without its id is set aside (in `companies.set_aside`).
pub(super) fn snapshot(companies: Tolerant<wire::Company>) -> VendorSnapshot {
    let mut snap = VendorSnapshot {
        set_aside: companies.set_aside,
        ..VendorSnapshot::default()
    };
    for Read {
        value: mut c,
        raw,
        odd,
    } in companies.records
    {
        let id = c.company_id.to_string();
        let company_name = (c.company_name.take())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("company {id}"));
        let counted: Vec<&str> = odd
            .iter()
            .map(String::as_str)
            .filter(|f| COUNTED_FIELDS.contains(f))
            .collect();
        if !counted.is_empty() {
            snap.unreadable.insert(
                id.clone(),
                format!(
                    "{company_name} has no readable {} in `msp-info`, so its seats are unknown",
                    counted
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let plan_raw = c.plan.clone().unwrap_or_default();
        let plan = plan_id(&plan_raw);
        let known_plan = plan_name(&plan_raw);
        let unlimited = c.allocated.is_some_and(|a| limited(a).is_none());
        let seats = billed_seats(c.allocated, c.active);

        let mut attrs = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                attrs.insert(k.to_string(), v);
            }
        };
        put("plan", Some(plan.clone()));
        put(
            "plan_name",
            Some(
                known_plan
                    .map(str::to_string)
                    .unwrap_or_else(|| plan.clone()),
            ),
        );
        if known_plan.is_none() && !plan.is_empty() {
            put("unknown_plan", Some("true".into()));
        }
        put("seats", seats.map(|s| s.to_string()));
        put(
            "allocated",
            c.allocated.map(|a| {
                limited(a)
                    .map(|n| n.to_string())
                    .unwrap_or("unlimited".into())
            }),
        );
        put("seats_unlimited", Some(unlimited.to_string()));
        put("active_users", c.active.map(|a| a.to_string()));
        put("storage", c.storage.clone());
        put("node", c.node.as_ref().map(|n| n.to_string()));
        put("node_name", c.node_name.clone());
        put("odd_fields", (!odd.is_empty()).then(|| odd.join(",")));
        let addons: Vec<String> = match &c.addons {
            Some(wire::Addons::List(l)) => l.clone(),
            Some(wire::Addons::Count(n)) => {
                // Commander without `-v` only counts them; keep the number for audits.
                put("addon_count", Some(n.to_string()));
                Vec::new()
            }
            None => Vec::new(),
        };
        snap.items.push(UsageItem {
            id: format!("{id}:plan"),
            account_id: id.clone(),
            name: format!(
                "{} ({})",
                company_name,
                known_plan.unwrap_or(if plan.is_empty() { "no plan" } else { &plan })
            ),
            class: PLAN.into(),
            raw_class: plan_raw.clone(),
            online: None,
            last_contact: None,
            pending_approval: false,
            attrs,
            raw: Some(raw.clone()),
        });

        for entry in addons {
            let (name, own) = split_addon(&entry);
            if name.is_empty() {
                continue;
            }
            let known = ADDONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name));
            // An add-on without seats of its own covers the whole company: it is billed per
            // seat of the plan. One with its own seats (KCM, PAM, KEPM) counts those.
            let (units, source, addon_unlimited) = match own {
                Some(n) if limited(n).is_some() => (Some(n), "addon", false),
                Some(_) => (c.active, "addon", true),
                None => (seats, "plan", unlimited),
            };
            let mut attrs = BTreeMap::new();
            attrs.insert("addon".to_string(), name.clone());
            attrs.insert(
                "addon_name".to_string(),
                known.map(|(_, d)| d.to_string()).unwrap_or(name.clone()),
            );
            if known.is_none() {
                attrs.insert("unknown_addon".into(), "true".into());
            }
            if let Some(u) = units {
                attrs.insert("seats".into(), u.to_string());
            }
            attrs.insert("seats_source".into(), source.into());
            attrs.insert("seats_unlimited".into(), addon_unlimited.to_string());
            // Not `plan`: the per-plan family reads that attribute, and add-ons are not plans.
            if !plan.is_empty() {
                attrs.insert("company_plan".into(), plan.clone());
            }
            snap.items.push(UsageItem {
                id: format!("{id}:addon:{name}"),
                account_id: id.clone(),
                name: format!(
                    "{} ({})",
                    company_name,
                    known.map(|(_, d)| *d).unwrap_or(&name)
                ),
                class: ADDON.into(),
                raw_class: entry.clone(),
                online: None,
                last_contact: None,
                pending_approval: false,
                attrs,
                raw: None,
            });
        }
        snap.accounts.push(VendorAccount {
            id,
            name: company_name,
            raw: Some(raw),
        });
    }
    snap
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::keeper::{families, services};

    fn company(json: &str) -> Tolerant<wire::Company> {
        crate::http::decode_tolerant("", 0, vec![serde_json::from_str(json).unwrap()])
    }

    fn weight(key: &str, item: &UsageItem) -> rust_decimal::Decimal {
        services()
            .into_iter()
            .find(|s| s.key == key)
            .unwrap()
            .weight(item)
    }

    #[test]
    fn plan_and_addons_become_items() {
        let snap = snapshot(company(
            r#"{"company_id":3862,"company_name":"Acme","node":"5497558138882","plan":"businessPlus","storage":"1TB","addons":["enterprise_breach_watch","connection_manager:5"],"allocated":25,"active":18}"#,
        ));
        assert_eq!(snap.accounts[0].id, "3862");
        assert_eq!(snap.items.len(), 3);
        let plan = &snap.items[0];
        assert_eq!(plan.class, PLAN);
        assert_eq!(plan.attrs["plan"], "businessPlus");
        assert_eq!(plan.attrs["plan_name"], "Business Plus");
        assert_eq!(weight("seats", plan), 25.into());
        assert_eq!(weight("active-users", plan), 18.into());
        let bw = &snap.items[1];
        assert_eq!(bw.attrs["seats"], "25");
        assert_eq!(bw.attrs["seats_source"], "plan");
        let kcm = &snap.items[2];
        assert_eq!(kcm.attrs["addon"], "connection_manager");
        assert_eq!(kcm.attrs["seats"], "5");
        for item in &snap.items[1..] {
            assert_eq!(
                weight("seats", item),
                0.into(),
                "add-ons are not plan seats"
            );
        }
    }

    #[test]
    fn unlimited_seats_count_active_users() {
        for raw in ["-1", "2147483647"] {
            let snap = snapshot(company(&format!(
                r#"{{"company_id":1,"company_name":"U","plan":"enterprise","addons":["privileged_access_manager:-1","chat"],"allocated":{raw},"active":40}}"#
            )));
            let plan = &snap.items[0];
            assert_eq!(plan.attrs["seats_unlimited"], "true");
            assert_eq!(plan.attrs["allocated"], "unlimited");
            assert_eq!(weight("seats", plan), 40.into());
            assert_eq!(snap.items[1].attrs["seats"], "40");
            assert_eq!(snap.items[1].attrs["seats_unlimited"], "true");
            assert_eq!(snap.items[2].attrs["seats"], "40");
        }
    }

    #[test]
    fn unknown_plans_and_addons_are_kept() {
        let snap = snapshot(company(
            r#"{"company_id":"77","company_name":"N","plan":"businessUltra","addons":["quantum_vault:3"],"allocated":10,"active":2}"#,
        ));
        let plan = &snap.items[0];
        assert_eq!(plan.attrs["plan"], "businessUltra");
        assert_eq!(plan.attrs["unknown_plan"], "true");
        let fam = &families()[0];
        let keys: Vec<String> = fam.expand(&snap.items).into_iter().map(|s| s.key).collect();
        assert_eq!(keys, ["businessultra:seats"]);
        let addon = &snap.items[1];
        assert_eq!(addon.attrs["unknown_addon"], "true");
        let keys: Vec<String> = families()[1]
            .expand(&snap.items)
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(keys, ["quantum_vault:addon"]);
    }

    #[test]
    fn display_names_map_to_plan_ids() {
        assert_eq!(plan_id("Business Plus"), "businessPlus");
        assert_eq!(plan_id("enterprisePlus"), "enterprisePlus");
        assert_eq!(split_addon("a:b"), ("a:b".to_string(), None));
    }
}
