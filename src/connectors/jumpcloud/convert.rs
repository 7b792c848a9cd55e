//! JumpCloud wire types into the neutral model, with no requests: a user into a usage item whose
//! class is its `state` (or its `activated`/`suspended` flags on older records; an unknown state
//! is kept and flagged as `USER_OTHER`), a system into a `SYSTEM` item with its OS family.

use std::collections::BTreeMap;

use super::{ACTIVATED, STAGED, SUSPENDED, SYSTEM, USER_OTHER, wire};
use crate::http::Read;
use crate::model::UsageItem;

/// The class of a user: by `state`, or by the `activated`/`suspended` flags when an older
/// record has no `state`; anything else is [`USER_OTHER`].
pub fn user_class(
    state: Option<&str>,
    activated: Option<bool>,
    suspended: Option<bool>,
) -> &'static str {
    match state.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.eq_ignore_ascii_case("ACTIVATED") => ACTIVATED,
        Some(s) if s.eq_ignore_ascii_case("SUSPENDED") => SUSPENDED,
        Some(s) if s.eq_ignore_ascii_case("STAGED") => STAGED,
        Some(_) => USER_OTHER,
        None => match (suspended, activated) {
            (Some(true), _) => SUSPENDED,
            (_, Some(true)) => ACTIVATED,
            (_, Some(false)) => STAGED,
            _ => USER_OTHER,
        },
    }
}

/// Why a user's organization cannot be counted: its state decides which per-state service
/// counts it, and the value sent (or the flags standing in for it) could not be read. A state
/// that is text but unknown is no such case: it is [`USER_OTHER`], as before.
pub(super) fn unreadable_user(u: &Read<wire::SystemUser>) -> Option<String> {
    let odd = |f: &str| u.odd.iter().any(|o| o == f);
    let v = &u.value;
    (user_class(v.state.as_deref(), v.activated, v.suspended) == USER_OTHER
        && (odd("state") || odd("activated") || odd("suspended")))
    .then(|| format!("user {} has no readable state (`state`)", v.id))
}

pub(super) fn user_item(
    u: wire::SystemUser,
    raw: String,
    org: &wire::Organization,
    org_name: &str,
) -> UsageItem {
    let class = user_class(u.state.as_deref(), u.activated, u.suspended);
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("kind", Some("user".into()));
    put("state", u.state.clone());
    if class == USER_OTHER {
        put("unknown_state", Some("true".into()));
    }
    put("email", u.email.clone());
    put("activated", u.activated.map(|v| v.to_string()));
    put("suspended", u.suspended.map(|v| v.to_string()));
    put("account_locked", u.account_locked.map(|v| v.to_string()));
    put(
        "externally_managed",
        u.externally_managed.map(|v| v.to_string()),
    );
    put("created", u.created.clone());
    put("organization", Some(org_name.to_string()));
    put(
        "org_max_users",
        org.max_system_users
            .filter(|m| *m > 0)
            .map(|m| m.to_string()),
    );
    let name = [&u.username, &u.email, &u.displayname]
        .into_iter()
        .flatten()
        .find(|n| !n.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| format!("user {}", u.id));
    UsageItem {
        id: u.id,
        account_id: org.id.clone(),
        name,
        class: class.to_string(),
        raw_class: u.state.unwrap_or_default(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    }
}

/// The OS family as the shared filters name it (`darwin` is `mac`).
fn os_family(s: &str) -> String {
    let s = s.trim().to_ascii_lowercase();
    match s.as_str() {
        "darwin" | "macos" | "mac os x" => "mac".into(),
        _ => s,
    }
}

pub(super) fn system_item(
    s: wire::System,
    raw: String,
    org: &wire::Organization,
    org_name: &str,
) -> UsageItem {
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("kind", Some("system".into()));
    put("os", s.os_family.as_deref().map(os_family));
    put("os_name", s.os.clone());
    put("hostname", s.hostname.clone());
    put("serial_number", s.serial_number.clone());
    put("agent_version", s.agent_version.clone());
    put("organization", Some(org_name.to_string()));
    let name = [&s.display_name, &s.hostname]
        .into_iter()
        .flatten()
        .find(|n| !n.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| format!("system {}", s.id));
    UsageItem {
        id: s.id,
        account_id: org.id.clone(),
        name,
        class: SYSTEM.to_string(),
        raw_class: s.os_family.unwrap_or_default(),
        online: s.active,
        last_contact: s.last_contact,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::jumpcloud::services;

    fn org() -> wire::Organization {
        serde_json::from_str(
            r#"{"id":"624d9eae6849cf3b3f93dc56","name":"Acme Inc","maxSystemUsers":50}"#,
        )
        .unwrap()
    }

    fn user(json: &str) -> UsageItem {
        user_item(
            serde_json::from_str(json).unwrap(),
            String::new(),
            &org(),
            "Acme Inc",
        )
    }

    fn counted_by(item: &UsageItem) -> Vec<String> {
        services()
            .into_iter()
            .filter(|s| s.counts(item))
            .map(|s| s.key)
            .collect()
    }

    #[test]
    fn states_become_classes_and_every_user_is_billed() {
        let a = user(r#"{"_id":"1","username":"jdoe","state":"ACTIVATED","activated":true}"#);
        assert_eq!(a.class, ACTIVATED);
        assert_eq!(counted_by(&a), ["users", "users-activated"]);
        let s = user(r#"{"_id":"2","username":"old","state":"SUSPENDED","suspended":true}"#);
        assert_eq!(counted_by(&s), ["users", "users-suspended"]);
        let st = user(r#"{"_id":"3","email":"new@acme.test","state":"STAGED"}"#);
        assert_eq!(st.name, "new@acme.test");
        assert_eq!(counted_by(&st), ["users", "users-staged"]);
        assert_eq!(st.attrs["org_max_users"], "50");
    }

    #[test]
    fn an_unknown_state_is_kept_visible_and_counted_as_a_user() {
        let u = user(r#"{"_id":"4","username":"x","state":"PENDING_DELETION"}"#);
        assert_eq!(u.class, USER_OTHER);
        assert_eq!(u.raw_class, "PENDING_DELETION");
        assert_eq!(u.attrs["unknown_state"], "true");
        assert_eq!(counted_by(&u), ["users"]);
    }

    #[test]
    fn records_without_state_fall_back_to_the_flags() {
        assert_eq!(user_class(None, Some(true), Some(false)), ACTIVATED);
        assert_eq!(user_class(None, Some(true), Some(true)), SUSPENDED);
        assert_eq!(user_class(Some(""), Some(false), None), STAGED);
        assert_eq!(user_class(None, None, None), USER_OTHER);
        assert_eq!(user_class(Some("activated"), None, None), ACTIVATED);
    }

    #[test]
    fn systems_count_once_with_their_os() {
        let s: wire::System = serde_json::from_str(
            r#"{"_id":"9","displayName":"ACME-MBP","osFamily":"darwin","os":"Mac OS X","active":true,"lastContact":"2024-05-01T10:00:00.123Z"}"#,
        )
        .unwrap();
        let item = system_item(s, String::new(), &org(), "Acme Inc");
        assert_eq!(item.class, SYSTEM);
        assert_eq!(item.attrs["os"], "mac");
        assert_eq!(item.online, Some(true));
        assert!(item.last_contact.is_some());
        assert_eq!(counted_by(&item), ["systems"]);
    }
}
