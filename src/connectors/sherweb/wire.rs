//! Sherweb Service Provider API (v1, beta) wire types, as the API sends them (field names and
//! types from Sherweb's published OpenAPI file for the service-provider scope: `GET /customers`,
//! `GET /billing/subscriptions?customerId=`). Unknown fields are ignored; enum-like values
//! (billing cycle, commitment term type, currency) are kept as the strings sent, so a value this
//! build does not know never fails a sync. Ids are GUID strings. Dates with a time carry no
//! offset (`2021-01-13T20:30:05.7613888`, UTC per the spec), so they are kept as text.
//!
//! Lists are read tolerantly (`crate::http::decode_tolerant`), so only what attributes a record
//! is required here: a customer's `id` and a subscription's `id` (its customer is the one
//! asked). The spec requires more (`displayName`, `path`, a subscription's `productName`,
//! `sku`, `quantity`, ...), but a field the count does not depend on is better unknown for one
//! record than a failed sync; those the count depends on (`quantity`, `sku`, `suspendedOn`) are
//! optional too, and `convert.rs` / the sync mark the customer unreadable when they are unknown.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::connectors::de::decimal_opt;

/// An element of `items` of `GET /customers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The reseller hierarchy above the customer, names from the top.
    #[serde(default)]
    pub path: Option<Vec<String>>,
    /// Set when the customer is suspended (UTC, no offset); null when it is not. A value of
    /// another type leaves whether it is suspended unknown.
    #[serde(default)]
    pub suspended_on: Option<String>,
}

/// An element of `items` of `GET /billing/subscriptions?customerId=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Which per-SKU service counts it.
    #[serde(default)]
    pub sku: Option<String>,
    /// Seats or units bought (int32 in the spec).
    #[serde(default)]
    pub quantity: Option<i64>,
    /// `none`, `daily`, `weekly`, `monthly`, `yearly`, `unknown` per the spec (sent capitalised
    /// in practice: `Monthly`); other values kept.
    #[serde(default)]
    pub billing_cycle: Option<String>,
    #[serde(default)]
    pub purchase_date: Option<String>,
    /// Null for subscriptions with no catalog item.
    #[serde(default)]
    pub fees: Option<Fees>,
    /// Null for subscriptions not tied to a commitment.
    #[serde(default)]
    pub commitment_term: Option<CommitmentTerm>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fees {
    #[serde(default, deserialize_with = "decimal_opt")]
    pub recurring_fee: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub setup_fee: Option<Decimal>,
    /// `Undefined`, `Cad`, `Usd`, `Eur`, `Gbp`; other values kept.
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitmentTerm {
    /// `Monthly`, `Annual`, `Biennial`, `Triennial`; other values kept.
    #[serde(rename = "type", default)]
    pub term_type: Option<String>,
    /// The last day of the commitment term (`YYYY-MM-DD`).
    #[serde(default)]
    pub term_end_date: Option<String>,
    /// Null when the subscription will not auto-renew.
    #[serde(default)]
    pub renewal_configuration: Option<RenewalConfiguration>,
    #[serde(default)]
    pub committed_minimal_quantities: Option<Vec<CommittedMinimalQuantity>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewalConfiguration {
    #[serde(default)]
    pub renewal_date: Option<String>,
    /// Absent: renews with the current quantity.
    #[serde(default)]
    pub scheduled_quantity: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommittedMinimalQuantity {
    pub quantity: i64,
    pub committed_until: String,
}
