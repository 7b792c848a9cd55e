//! Microsoft 365 wire types into the neutral model, with no requests: a tenant's subscribed SKU
//! into a `LICENSE` item with its purchased and assigned seats, a Partner Center subscription
//! into a `SUBSCRIPTION` item (or `SUBSCRIPTION_INACTIVE`), unknown enum values kept and flagged;
//! and the classification of a tenant's token or license error as that tenant's consent or access
//! problem (listed as unreadable, with what to do) rather than the whole sync's.

use std::collections::BTreeMap;

use super::{AuthMode, LICENSE, SUBSCRIPTION, SUBSCRIPTION_INACTIVE, skus, wire};
use crate::http::ConnectorError;
use crate::model::UsageItem;

const CAPABILITY_STATUSES: &[&str] = &["Enabled", "Warning", "Suspended", "Deleted", "LockedOut"];
const APPLIES_TO: &[&str] = &["User", "Company"];
const SUBSCRIPTION_STATUSES: &[&str] = &[
    "active",
    "suspended",
    "deleted",
    "expired",
    "pending",
    "disabled",
];

/// Token errors that concern one customer tenant (consent, GDAP access, the tenant itself):
/// (AADSTS code, what it means, what to do). `{consent}` stands for the way to grant consent.
/// Any other token error fails the whole sync.
const CONSENT_CODES: &[(i64, &str, &str)] = &[
    (
        65001,
        "app {app} has no admin consent in this tenant",
        "{consent}",
    ),
    (
        65004,
        "an admin of this tenant declined consent for app {app}",
        "{consent}",
    ),
    (
        700016,
        "app {app} is not present in this tenant (never consented there)",
        "{consent}",
    ),
    (
        7000229,
        "app {app} has no service principal in this tenant (never consented there)",
        "{consent}",
    ),
    (
        500011,
        "Microsoft Graph is not enabled for app {app} in this tenant",
        "{consent}",
    ),
    (
        50020,
        "the partner user has no access to this tenant",
        "check that the GDAP relationship with this tenant is active",
    ),
    (
        90072,
        "the partner user has no access to this tenant",
        "check that the GDAP relationship with this tenant is active",
    ),
    (
        90002,
        "the tenant was not found (deleted, or a wrong id)",
        "remove it from `tenants`, or end its GDAP relationship",
    ),
    (
        53003,
        "a Conditional Access policy of this tenant blocked the sign-in",
        "exclude the app or the partner user from that policy",
    ),
];

/// The first `AADSTS<digits>` code in a token error text.
fn aadsts_code(text: &str) -> Option<i64> {
    let at = text.find("AADSTS")?;
    let digits: String = text[at + 6..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Why a tenant could not be read, when the failure is that tenant's consent or access rather
/// than something that concerns the whole sync.
pub(super) fn consent_problem(
    err: &ConnectorError,
    client_id: &str,
    mode: AuthMode,
    consent_url: &str,
) -> Option<String> {
    let ConnectorError::Auth {
        endpoint,
        status,
        detail,
        ..
    } = err
    else {
        return None;
    };
    if endpoint.starts_with("POST") {
        let code = aadsts_code(detail)?;
        let (_, what, todo) = CONSENT_CODES.iter().find(|(c, _, _)| *c == code)?;
        let consent = format!(
            "grant admin consent: an admin of the tenant opens {consent_url}, or push the consent through Partner Center / GDAP"
        );
        return Some(format!(
            "sign-in refused (AADSTS{code}): {}. To read it, {}, then sync again",
            what.replace("{app}", client_id),
            todo.replace("{consent}", &consent)
        ));
    }
    (*status == 403).then(|| licenses_forbidden(client_id, mode))
}

/// What to do when Graph answers 403 to a tenant's `subscribedSkus`.
pub(super) fn licenses_forbidden(client_id: &str, mode: AuthMode) -> String {
    let need = match mode {
        AuthMode::ClientCredentials => format!(
            "grant app {client_id} the Microsoft Graph application permission LicenseAssignment.Read.All (or Organization.Read.All) with admin consent in this tenant"
        ),
        AuthMode::RefreshToken => "give the partner user's GDAP relationship with this tenant a role that can read licenses (Global Reader, Directory Readers or License Administrator), and the app the delegated permission LicenseAssignment.Read.All".to_string(),
    };
    format!(
        "Microsoft Graph refused to list the tenant's licenses (HTTP 403 on subscribedSkus): {need}, then sync again"
    )
}

fn known(list: &[&str], v: &str) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(v))
}

/// A usage item, and why its tenant's counts are unknown when a field they depend on could not
/// be read (the tenant then goes into `VendorSnapshot::unreadable` with that reason).
pub(super) struct Converted {
    pub item: UsageItem,
    pub unknown: Option<String>,
}

/// The record's odd fields (read as unknown by the tolerant decoding) as its `odd_fields`
/// attribute, so `explain` shows what was not read.
fn mark_odd(item: &mut UsageItem, odd: &[String]) {
    if !odd.is_empty() {
        item.attrs.insert("odd_fields".into(), odd.join(","));
    }
}

/// One tenant's subscribed SKU as a usage item carrying its purchased and assigned seats.
/// Counted strictly: a seat count (`prepaidUnits.enabled` or `.warning`, `consumedUnits`) or
/// the SKU itself (`skuPartNumber` and `skuId`) that cannot be read is left out, never read as
/// 0, and named in [`Converted::unknown`].
pub(super) fn sku_item(
    tenant: &str,
    s: wire::SubscribedSku,
    raw: String,
    odd: &[String],
) -> Converted {
    let wire::SubscribedSku { key, fields: s } = s;
    let id = match &key {
        wire::SkuKey::Id(id) => id.clone(),
        wire::SkuKey::SkuId(sku) => format!("{tenant}_{sku}"),
    };
    // A SKU with no part number is still that SKU by its GUID (the service then goes by the
    // GUID); with neither, which service counts it is unknown.
    let part = [&s.sku_part_number, &s.sku_id]
        .into_iter()
        .flatten()
        .find(|p| !p.trim().is_empty())
        .cloned();
    let name = match &part {
        Some(p) => skus::name_of(p)
            .map(str::to_string)
            .unwrap_or_else(|| p.clone()),
        None => format!("SKU {id}"),
    };
    let units = s.prepaid_units.unwrap_or_default();
    let purchased = units.enabled.zip(units.warning).map(|(e, w)| e + w);
    let mut missing = Vec::new();
    if part.is_none() {
        missing.push("SKU (`skuPartNumber`, `skuId`)".to_string());
    }
    if purchased.is_none() {
        let fields: Vec<&str> = [
            ("`prepaidUnits.enabled`", units.enabled),
            ("`prepaidUnits.warning`", units.warning),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(f, _)| f)
        .collect();
        missing.push(format!("purchased units ({})", fields.join(", ")));
    }
    if s.consumed_units.is_none() {
        missing.push("assigned units (`consumedUnits`)".to_string());
    }
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("sku", part.clone());
    put("sku_id", s.sku_id.clone());
    put("sku_name", part.is_some().then(|| name.clone()));
    put("purchased", purchased.map(|v| v.to_string()));
    put("assigned", s.consumed_units.map(|v| v.to_string()));
    put("enabled", units.enabled.map(|v| v.to_string()));
    put("warning", units.warning.map(|v| v.to_string()));
    put("suspended", units.suspended.map(|v| v.to_string()));
    put("locked_out", units.locked_out.map(|v| v.to_string()));
    put("capability_status", s.capability_status.clone());
    put("applies_to", s.applies_to.clone());
    put("account_name", s.account_name.clone());
    put(
        "subscription_ids",
        s.subscription_ids
            .map(|v| v.into_iter().flatten().collect::<Vec<_>>().join(",")),
    );
    if let Some(c) = &s.capability_status
        && !known(CAPABILITY_STATUSES, c)
    {
        put("unknown_capability_status", Some("true".into()));
    }
    if let Some(a) = &s.applies_to
        && !known(APPLIES_TO, a)
    {
        put("unknown_applies_to", Some("true".into()));
    }
    if let Some(p) = &part {
        if skus::is_trial(p) {
            put("trial", Some("true".into()));
        }
        if skus::is_free(p) {
            put("free", Some("true".into()));
        }
    }
    if s.applies_to
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("Company"))
    {
        put("company_level", Some("true".into()));
    }
    let unknown = (!missing.is_empty()).then(|| {
        let label = match &part {
            Some(p) => format!("{p} ({id})"),
            None => id.clone(),
        };
        format!("SKU {label} has no readable {}", missing.join(", "))
    });
    let mut item = UsageItem {
        id,
        account_id: tenant.to_string(),
        name,
        class: LICENSE.to_string(),
        raw_class: s.applies_to.unwrap_or_default(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    };
    mark_odd(&mut item, odd);
    Converted { item, unknown }
}

/// One Partner Center subscription; only active ones get the class a service counts. Counted
/// strictly: an unreadable `status` (which decides whether it counts) or `quantity` is named in
/// [`Converted::unknown`], and the subscription is counted by nothing rather than guessed.
pub(super) fn subscription_item(
    tenant: &str,
    s: wire::Subscription,
    raw: String,
    odd: &[String],
) -> Converted {
    let status = s.status.clone().unwrap_or_default();
    let active = status.eq_ignore_ascii_case("active");
    let offer = s.offer_id.clone().unwrap_or_else(|| s.id.clone());
    let name = s
        .friendly_name
        .clone()
        .or(s.offer_name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| offer.clone());
    let mut missing = Vec::new();
    if s.status.is_none() {
        missing.push("status (`status`)");
    }
    if s.quantity.is_none() {
        missing.push("quantity (`quantity`)");
    }
    let unknown = (!missing.is_empty()).then(|| {
        format!(
            "Partner Center subscription {} ({name}) has no readable {}",
            s.id,
            missing.join(", ")
        )
    });
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("offer_id", Some(offer.clone()));
    put(
        "offer_name",
        s.offer_name.clone().or(s.friendly_name.clone()),
    );
    put("quantity", s.quantity.map(|q| q.to_string()));
    put("unit_type", s.unit_type.clone());
    put("status", s.status.clone());
    put("billing_cycle", s.billing_cycle.clone());
    put("term", s.term_duration.clone());
    put("commitment_end_date", s.commitment_end_date.clone());
    put("auto_renew", s.auto_renew_enabled.map(|v| v.to_string()));
    if s.is_trial == Some(true) {
        put("trial", Some("true".into()));
    }
    if !status.is_empty() && !known(SUBSCRIPTION_STATUSES, &status) {
        put("unknown_status", Some("true".into()));
    }
    let mut item = UsageItem {
        id: s.id,
        account_id: tenant.to_string(),
        name,
        // An unknown status is not read as active: counted by nothing, its tenant unreadable.
        class: if active {
            SUBSCRIPTION
        } else {
            SUBSCRIPTION_INACTIVE
        }
        .to_string(),
        raw_class: status,
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    };
    mark_odd(&mut item, odd);
    Converted { item, unknown }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::m365::families;
    use crate::model::ServiceFamily;

    fn sku(json: &str) -> wire::SubscribedSku {
        serde_json::from_str(json).unwrap()
    }

    fn family(suffix: &str) -> ServiceFamily {
        families()
            .into_iter()
            .find(|f| f.key_suffix == suffix)
            .unwrap()
    }

    #[test]
    fn sku_items_carry_purchased_and_assigned() {
        let item = sku_item(
            "t1",
            sku(
                r#"{"id":"t1_abc","skuId":"abc","skuPartNumber":"SPE_E3","appliesTo":"User","capabilityStatus":"Warning","consumedUnits":14,"prepaidUnits":{"enabled":15,"suspended":2,"warning":3,"lockedOut":0}}"#,
            ),
            String::new(),
            &[],
        )
        .item;
        assert_eq!(item.attrs["purchased"], "18");
        assert_eq!(item.attrs["assigned"], "14");
        assert_eq!(item.attrs["sku_name"], "Microsoft 365 E3");
        assert_eq!(item.class, LICENSE);
        let purchased = family(":purchased").expand([&item]);
        assert_eq!(purchased[0].key, "spe_e3:purchased");
        assert_eq!(purchased[0].name, "Microsoft 365 E3 (purchased)");
        assert_eq!(purchased[0].weight(&item), rust_decimal::Decimal::from(18));
        let assigned = family(":assigned")
            .service_for_key("spe_e3:assigned")
            .unwrap();
        assert_eq!(assigned.weight(&item), rust_decimal::Decimal::from(14));
    }

    #[test]
    fn unknown_enums_are_kept_and_flags_set() {
        let read = sku_item(
            "t1",
            sku(
                r#"{"skuId":"x","skuPartNumber":"POWER_BI_PRO_TRIAL","appliesTo":"Tenant","capabilityStatus":"Frozen","consumedUnits":1,"prepaidUnits":{"enabled":0,"warning":0}}"#,
            ),
            String::new(),
            &[],
        );
        assert_eq!(read.unknown, None);
        let item = read.item;
        assert_eq!(item.id, "t1_x");
        assert_eq!(item.attrs["capability_status"], "Frozen");
        assert_eq!(item.attrs["unknown_capability_status"], "true");
        assert_eq!(item.attrs["unknown_applies_to"], "true");
        assert_eq!(item.attrs["trial"], "true");
        assert_eq!(item.attrs["purchased"], "0");
        assert_eq!(item.name, "POWER_BI_PRO_TRIAL");
        let item = sku_item(
            "t1",
            sku(
                r#"{"skuId":"y","skuPartNumber":"MCOPSTNC","appliesTo":"Company","capabilityStatus":"Enabled","consumedUnits":0,"prepaidUnits":{"enabled":1}}"#,
            ),
            String::new(),
            &[],
        )
        .item;
        assert_eq!(item.attrs["company_level"], "true");
    }

    #[test]
    fn only_active_subscriptions_count() {
        let sub = |status: &str| -> wire::Subscription {
            serde_json::from_str(&format!(
                r#"{{"id":"s1","offerId":"CFQ7TTC0LH18:0001:CFQ7TTC0K971","offerName":"Microsoft 365 Business Basic","quantity":12,"status":"{status}","termDuration":"P1Y","commitmentEndDate":"2025-06-30T00:00:00Z","billingCycle":"monthly"}}"#
            ))
            .unwrap()
        };
        let active = subscription_item("t", sub("active"), String::new(), &[]).item;
        let gone = subscription_item("t", sub("suspended"), String::new(), &[]).item;
        let odd = subscription_item("t", sub("hibernating"), String::new(), &[]).item;
        let f = family(":subscribed");
        let defs = f.expand([&active]);
        assert_eq!(defs[0].key, "cfq7ttc0lh18-0001-cfq7ttc0k971:subscribed");
        assert!(defs[0].counts(&active));
        assert_eq!(defs[0].weight(&active), rust_decimal::Decimal::from(12));
        assert!(!defs[0].counts(&gone) && !defs[0].counts(&odd));
        assert_eq!(odd.attrs["unknown_status"], "true");
        assert_eq!(odd.raw_class, "hibernating");
    }

    #[test]
    fn unreadable_seat_counts_are_left_out_and_named_never_read_as_0() {
        // No `prepaidUnits` at all (nullable in the spec), and a null `consumedUnits`.
        let read = sku_item(
            "t1",
            sku(r#"{"id":"t1_x","skuId":"x","skuPartNumber":"SPE_E3","consumedUnits":null}"#),
            String::new(),
            &[],
        );
        assert!(!read.item.attrs.contains_key("purchased"));
        assert!(!read.item.attrs.contains_key("assigned"));
        assert_eq!(
            read.unknown.as_deref(),
            Some(
                "SKU SPE_E3 (t1_x) has no readable purchased units (`prepaidUnits.enabled`, `prepaidUnits.warning`), assigned units (`consumedUnits`)"
            )
        );
        // Neither `id` nor `skuId`: not an item at all (the tolerant decoding sets it aside).
        let err = serde_json::from_str::<wire::SubscribedSku>(r#"{"skuPartNumber":"SPE_E3"}"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("neither `id` nor `skuId`"),
            "{err}"
        );
        let sub: wire::Subscription =
            serde_json::from_str(r#"{"id":"s9","offerName":"E5","status":null,"quantity":3}"#)
                .unwrap();
        let read = subscription_item("t1", sub, String::new(), &["status".into()]);
        assert_eq!(read.item.class, SUBSCRIPTION_INACTIVE);
        assert_eq!(read.item.attrs["odd_fields"], "status");
        assert_eq!(
            read.unknown.as_deref(),
            Some("Partner Center subscription s9 (E5) has no readable status (`status`)")
        );
    }

    #[test]
    fn consent_codes_are_classified() {
        let token_err = |detail: &str| ConnectorError::Auth {
            connection: "m".into(),
            endpoint: "POST /t/oauth2/v2.0/token".into(),
            status: 400,
            detail: detail.into(),
            hint: String::new(),
        };
        let why = consent_problem(
            &token_err(r#": {"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented"#),
            "app",
            AuthMode::ClientCredentials,
            "https://login/t/adminconsent?client_id=app",
        )
        .unwrap();
        assert!(
            why.contains("AADSTS65001") && why.contains("consent"),
            "{why}"
        );
        assert!(
            consent_problem(
                &token_err(": AADSTS7000215: Invalid client secret provided."),
                "app",
                AuthMode::ClientCredentials,
                ""
            )
            .is_none()
        );
        let graph403 = ConnectorError::Auth {
            connection: "m".into(),
            endpoint: "GET /v1.0/subscribedSkus".into(),
            status: 403,
            detail: String::new(),
            hint: String::new(),
        };
        let why = consent_problem(&graph403, "app", AuthMode::ClientCredentials, "").unwrap();
        assert!(why.contains("LicenseAssignment.Read.All"), "{why}");
        let why = consent_problem(&graph403, "app", AuthMode::RefreshToken, "").unwrap();
        assert!(why.contains("GDAP"), "{why}");
    }
}
