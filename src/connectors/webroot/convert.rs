//! The pure conversion from Webroot wire types to [`crate::model`]: sites become accounts, each
//! with one item for its allowed endpoint seats and one for its mobile seats (their quantity the
//! keycode's figure), and endpoints usage items (class `ENDPOINT`, or `DEACTIVATED`, counted by
//! no built-in service). An odd `Deactivated` makes the site unreadable: whether an endpoint
//! counts is never guessed.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::wire;
use super::{DEACTIVATED, ENDPOINT, MOBILE_SEATS, SEATS};
use crate::model::{UsageItem, VendorAccount};

/// A site and what its endpoints' requests need.
pub struct SiteInfo {
    pub account: VendorAccount,
    pub seats: Vec<UsageItem>,
    pub deactivated: bool,
}

fn seats(site: &wire::Site, class: &str, what: &str, n: Option<Decimal>) -> Option<UsageItem> {
    let n = n?;
    let name = site
        .site_name
        .clone()
        .unwrap_or_else(|| site.site_id.clone());
    let mut attrs = BTreeMap::new();
    attrs.insert("quantity".to_string(), n.to_string());
    if let Some(k) = &site.billing_cycle {
        attrs.insert("billing_cycle".into(), k.clone());
    }
    if let Some(k) = &site.end_date {
        attrs.insert("end_date".into(), k.clone());
    }
    Some(UsageItem {
        id: format!("{}:{}", site.site_id, class.to_ascii_lowercase()),
        account_id: site.site_id.clone(),
        name: format!("{name} {what}"),
        class: class.to_string(),
        raw_class: class.to_string(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: None,
    })
}

/// A site as an account, with its seat items.
pub fn site(s: wire::Site, raw: String) -> SiteInfo {
    let seats = [
        seats(&s, SEATS, "endpoint seats", s.devices_allowed),
        seats(&s, MOBILE_SEATS, "mobile seats", s.mobile_seats),
    ]
    .into_iter()
    .flatten()
    .collect();
    SiteInfo {
        deactivated: s.deactivated == Some(true),
        account: VendorAccount {
            name: s.site_name.unwrap_or_else(|| s.site_id.clone()),
            id: s.site_id,
            raw: Some(raw),
        },
        seats,
    }
}

/// An endpoint as a usage item of `site`, or why the site cannot be counted.
pub fn endpoint(
    e: wire::Endpoint,
    raw: String,
    odd: &[String],
    site: &str,
) -> Result<UsageItem, String> {
    if odd.iter().any(|o| o == "Deactivated" || o == "deactivated") {
        return Err(format!(
            "endpoint {} has no readable `Deactivated`",
            e.endpoint_id
        ));
    }
    let class = if e.deactivated == Some(true) {
        DEACTIVATED
    } else {
        ENDPOINT
    };
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("os", e.os);
    put("machine_id", e.machine_id);
    put("policy", e.policy_name);
    put("agent_version", e.agent_version);
    put("infected", e.infected.map(|b| b.to_string()));
    put("first_seen", e.first_seen.map(|t| t.to_string()));
    put("deactivated", e.deactivated.map(|b| b.to_string()));
    if !odd.is_empty() {
        put("odd_fields", Some(odd.join(",")));
    }
    Ok(UsageItem {
        name: e.host_name.unwrap_or_else(|| e.endpoint_id.clone()),
        id: e.endpoint_id,
        account_id: site.to_string(),
        class: class.to_string(),
        raw_class: class.to_string(),
        online: None,
        last_contact: e.last_seen,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_site_has_seat_items_and_endpoints_count_unless_deactivated() {
        let s: wire::Site = serde_json::from_value(json!({"SiteId": "s1", "SiteName": "Acme",
            "DevicesAllowed": 25, "MobileSeats": null, "BillingCycle": "Monthly"}))
        .unwrap();
        let info = site(s, String::new());
        assert_eq!(info.seats.len(), 1, "no mobile seats figure: no item");
        assert_eq!(info.seats[0].attrs["quantity"], "25");
        assert_eq!(info.seats[0].class, SEATS);
        let v = json!({"EndpointId": "e1", "HostName": "ACME-WS-01", "Deactivated": true,
            "LastSeen": "2026-11-30T10:00:00Z"});
        let mut got = crate::http::decode_tolerant::<wire::Endpoint>("Endpoints", 0, vec![v]);
        let r = got.records.pop().unwrap();
        let i = endpoint(r.value, r.raw, &r.odd, "s1").unwrap();
        assert_eq!(i.class, DEACTIVATED);
        let v = json!({"endpointId": "e2", "deactivated": "maybe"});
        let mut got = crate::http::decode_tolerant::<wire::Endpoint>("Endpoints", 0, vec![v]);
        let r = got.records.pop().unwrap();
        assert_eq!(
            endpoint(r.value, r.raw, &r.odd, "s1").unwrap_err(),
            "endpoint e2 has no readable `Deactivated`"
        );
    }
}
