//! Pax8 Partner API (v1) wire types, as the API sends them (field names and types from Pax8's
//! published OpenAPI file, "PARTNER ENDPOINTS": `GET /companies`, `GET /subscriptions`).
//! Unknown fields are ignored; enum-like values (status, billing term) are kept as the strings
//! sent, so a value this build does not know never fails a sync. Ids are UUID strings.
//!
//! Lists are read tolerantly (`crate::http::decode_tolerant`), so only what attributes a record
//! is required here: a company's `id`, a subscription's `id` and `companyId`. What the count
//! depends on (`quantity`, `status`) is optional too: `convert.rs` makes the company unreadable
//! when it is unknown. Dates are kept as text: the spec's examples mix `Z`, `-0600` and bare
//! dates.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::connectors::de::decimal_opt;

/// An element of `content` of `GET /companies`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `Active`, `Inactive`, `Deleted`; other values kept.
    #[serde(default)]
    pub status: Option<String>,
    /// Pax8 invoices the customer directly.
    #[serde(default)]
    pub bill_on_behalf_of_enabled: Option<bool>,
}

/// An element of `content` of `GET /subscriptions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub company_id: String,
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub product_name: Option<String>,
    /// The vendor's SKU id (for Microsoft NCE `<product>:<sku>`, as Sherweb names it).
    #[serde(default)]
    pub vendor_sku_id: Option<String>,
    #[serde(default)]
    pub vendor_subscription_id: Option<String>,
    /// Seats bought: a number in the spec, normally whole.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub quantity: Option<Decimal>,
    /// What the customer pays per unit.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price: Option<Decimal>,
    /// What the MSP pays Pax8 per unit.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub partner_cost: Option<Decimal>,
    #[serde(default)]
    pub currency_code: Option<String>,
    /// `Monthly`, `Annual`, `2-Year`, `3-Year`, `One-Time`, `Trial`, `Activation`.
    #[serde(default)]
    pub billing_term: Option<String>,
    /// `Active`, `Cancelled`, `PendingManual`, `PendingAutomated`, `PendingCancel`,
    /// `WaitingForDetails`, `Trial`, `Converted`, `PendingActivation`, `Activated`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub billing_start: Option<String>,
    #[serde(default)]
    pub commitment_term: Option<CommitmentTerm>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitmentTerm {
    #[serde(default)]
    pub term: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
}
