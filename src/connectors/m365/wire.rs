//! Microsoft Graph, Entra ID token endpoint and Partner Center wire types, as the services send
//! them (field names from the Graph v1.0 reference for `subscribedSku` and
//! `delegatedAdminCustomer`, the Microsoft identity platform's token error response, and the
//! Partner Center REST `Subscription` resource). Unknown fields are ignored; enum-like fields
//! (`capabilityStatus`, `appliesTo`, `status`, ...) stay strings so a value Microsoft adds later
//! is kept rather than failing the sync.
//!
//! Lists are read tolerantly (`crate::http::decode_tolerant`), so only what attributes a record
//! is required here: a GDAP customer's `tenantId`, a subscription's `id`, and a SKU's `id` or
//! `skuId` (the item's id; its tenant is the one asked). Every other field is optional: Graph's
//! spec makes nearly every `subscribedSku` field nullable (`skuId`, `skuPartNumber`,
//! `consumedUnits`, each of `prepaidUnits`, even the elements of `subscriptionIds`), and an odd
//! value of one is read as unknown for its record. Whether an unknown seat count or status may
//! be left out is decided in `convert.rs`, which counts strictly.

use serde::Deserialize;

/// An element of `value` of `GET /v1.0/subscribedSkus`: read as [`SkuFields`], then refused
/// (so set aside, never fatal) when it has neither `id` nor `skuId` to be an item by.
#[derive(Debug, Deserialize)]
#[serde(try_from = "SkuFields")]
pub struct SubscribedSku {
    /// `id`, else `skuId`: never both absent.
    pub key: SkuKey,
    pub fields: SkuFields,
}

/// What identifies a SKU record within its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkuKey {
    /// Graph's `id` (`<tenantId>_<skuId>`).
    Id(String),
    /// Only `skuId` was readable: the id is made from the tenant and it.
    SkuId(String),
}

impl TryFrom<SkuFields> for SubscribedSku {
    type Error = &'static str;

    fn try_from(fields: SkuFields) -> Result<Self, Self::Error> {
        let present = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let key = match (present(&fields.id), present(&fields.sku_id)) {
            (Some(id), _) => SkuKey::Id(id),
            (None, Some(sku)) => SkuKey::SkuId(sku),
            (None, None) => return Err("neither `id` nor `skuId` is readable"),
        };
        Ok(SubscribedSku { key, fields })
    }
}

/// The fields of a `subscribedSku`, every one nullable in the spec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuFields {
    /// `<tenantId>_<skuId>`.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub sku_id: Option<String>,
    /// `SPE_E3`, `O365_BUSINESS_PREMIUM`, ...
    #[serde(default)]
    pub sku_part_number: Option<String>,
    /// `User` or `Company` (unknown values kept).
    #[serde(default)]
    pub applies_to: Option<String>,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut` (unknown values kept).
    #[serde(default)]
    pub capability_status: Option<String>,
    /// Licenses assigned (int32). Unknown, the tenant's assigned seats are unknown.
    #[serde(default)]
    pub consumed_units: Option<i64>,
    #[serde(default)]
    pub prepaid_units: Option<PrepaidUnits>,
    #[serde(default)]
    pub account_name: Option<String>,
    /// Elements may be null (the spec says so): skipped, not odd.
    #[serde(default)]
    pub subscription_ids: Option<Vec<Option<String>>>,
}

/// `prepaidUnits` of a `subscribedSku`: purchased units by state (int32 each, each nullable).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnits {
    #[serde(default)]
    pub enabled: Option<i64>,
    #[serde(default)]
    pub suspended: Option<i64>,
    #[serde(default)]
    pub warning: Option<i64>,
    #[serde(default)]
    pub locked_out: Option<i64>,
}

/// An element of `value` of `GET /v1.0/tenantRelationships/delegatedAdminCustomers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelegatedAdminCustomer {
    /// The tenant id (Graph's `id` equals `tenantId` here).
    pub tenant_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// An element of `items` of Partner Center `GET /v1/customers/{id}/subscriptions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub offer_id: Option<String>,
    #[serde(default)]
    pub offer_name: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Licenses (or units) subscribed. Unknown, the tenant's subscribed count is unknown.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// `Licenses`, `Usage-based`, `Benefit`, ...
    #[serde(default)]
    pub unit_type: Option<String>,
    /// `active`, `suspended`, `deleted`, `expired`, `pending`, ... (unknown values kept).
    /// It decides whether the subscription counts: unknown, so is its tenant's count.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub billing_cycle: Option<String>,
    /// ISO 8601 duration: `P1M`, `P1Y`, `P3Y`.
    #[serde(default)]
    pub term_duration: Option<String>,
    #[serde(default)]
    pub commitment_end_date: Option<String>,
    #[serde(default)]
    pub auto_renew_enabled: Option<bool>,
    #[serde(default)]
    pub is_trial: Option<bool>,
}

/// `links` of a Partner Center collection.
#[derive(Debug, Default, Deserialize)]
pub struct Links {
    #[serde(default)]
    pub next: Option<Link>,
}

/// `links.next`: the next page's URI and the headers to send with it.
#[derive(Debug, Deserialize)]
pub struct Link {
    pub uri: String,
    #[serde(default)]
    pub headers: Vec<LinkHeader>,
}

#[derive(Debug, Deserialize)]
pub struct LinkHeader {
    pub key: String,
    pub value: String,
}
