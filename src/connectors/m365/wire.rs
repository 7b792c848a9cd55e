//! Microsoft Graph, Entra ID token endpoint and Partner Center wire types, as the services send
//! them (field names from the Graph v1.0 reference for `subscribedSku` and
//! `delegatedAdminCustomer`, the Microsoft identity platform's token error response, and the
//! Partner Center REST `Subscription` resource). Unknown fields are ignored; enum-like fields
//! (`capabilityStatus`, `appliesTo`, `status`, ...) stay strings so a value Microsoft adds later
//! is kept rather than failing the sync.

use serde::Deserialize;

/// An element of `value` of `GET /v1.0/subscribedSkus`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedSku {
    /// `<tenantId>_<skuId>`.
    #[serde(default)]
    pub id: Option<String>,
    pub sku_id: String,
    /// `SPE_E3`, `O365_BUSINESS_PREMIUM`, ...
    #[serde(default)]
    pub sku_part_number: Option<String>,
    /// `User` or `Company` (unknown values kept).
    #[serde(default)]
    pub applies_to: Option<String>,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut` (unknown values kept).
    #[serde(default)]
    pub capability_status: Option<String>,
    /// Licenses assigned.
    #[serde(default)]
    pub consumed_units: Option<i64>,
    #[serde(default)]
    pub prepaid_units: Option<PrepaidUnits>,
    #[serde(default)]
    pub account_name: Option<String>,
    #[serde(default)]
    pub subscription_ids: Option<Vec<String>>,
}

/// `prepaidUnits` of a `subscribedSku`: purchased units by state.
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
    /// Licenses (or units) subscribed.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// `Licenses`, `Usage-based`, `Benefit`, ...
    #[serde(default)]
    pub unit_type: Option<String>,
    /// `active`, `suspended`, `deleted`, `expired`, `pending`, ... (unknown values kept).
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
