//! ConnectWise PSA (Manage) REST 3.0 wire types, named as the API names them (`Company`,
//! `CompanyStatus`, `Agreement`, `Addition`, `CatalogItem`, plus the unauthenticated
//! `login/companyinfo` answer). Unknown fields are ignored; enums stay strings.
//!
//! ConnectWise's spec marks every `*Reference.id` nullable, every flag and number nullable, and
//! requires names and identifiers without promising them non-empty; the lists are read by
//! `crate::http::decode_tolerant`, so only what attributes a record is required here: its `id`,
//! and an agreement's `company.id` (an addition belongs to the agreement it was listed under).
//! Any other field with an odd value is unknown for its record.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::connectors::de::{decimal_opt, timestamp_opt};

/// `GET https://{site}/login/companyinfo/{companyId}`; the body is `null` for an unknown company.
#[derive(Debug, Deserialize)]
pub struct CompanyInfo {
    #[serde(rename = "Codebase", default)]
    pub codebase: Option<String>,
    #[serde(rename = "VersionCode", default)]
    pub version_code: Option<String>,
    #[serde(rename = "CompanyName", default)]
    pub company_name: Option<String>,
}

/// `GET /system/info`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    #[serde(default)]
    pub version: Option<String>,
}

/// A reference to another record: `{"id": 1, "name": "Active", "_info": {...}}`. Its `id` is
/// nullable in the spec, so optional here; [`Owner`] is the reference a record cannot do without.
#[derive(Debug, Deserialize)]
pub struct Ref {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub identifier: Option<String>,
}

/// An agreement's `company`: the reference that attributes it, so its `id` is required.
#[derive(Debug, Deserialize)]
pub struct Owner {
    pub id: i64,
}

/// An element of `GET /company/companies`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: i64,
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<Ref>,
    /// Newer API versions send `types`, older ones a single `type`.
    #[serde(default)]
    pub types: Option<Vec<Ref>>,
    #[serde(rename = "type", default)]
    pub single_type: Option<Ref>,
    #[serde(default)]
    pub deleted_flag: Option<bool>,
}

/// An element of `GET /company/companies/statuses`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyStatus {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub inactive_flag: Option<bool>,
}

/// An element of `GET /finance/agreements`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub agreement_type: Option<Ref>,
    pub company: Owner,
    /// `Active`, `Cancelled`, `Expired`, `Inactive`.
    #[serde(default)]
    pub agreement_status: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub start_date: Option<Timestamp>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub end_date: Option<Timestamp>,
    #[serde(default)]
    pub no_ending_date_flag: Option<bool>,
    #[serde(default)]
    pub cancelled_flag: Option<bool>,
    #[serde(default)]
    pub billing_cycle: Option<Ref>,
}

/// An element of `GET /finance/agreements/{id}/additions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Addition {
    pub id: i64,
    /// Required by the spec but its `id` nullable: a line without a readable product is kept
    /// and its company made unreadable, since the product decides which service it counts for.
    #[serde(default)]
    pub product: Option<Ref>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub less_included: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_cost: Option<Decimal>,
    /// `Billable`, `DoNotBill` or `NoCharge`.
    #[serde(default)]
    pub bill_customer: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub effective_date: Option<Timestamp>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub cancelled_date: Option<Timestamp>,
    /// The change marker write-back compares for drift (ConnectWise sends no ETag).
    #[serde(rename = "_info", default)]
    pub info: Option<Info>,
}

/// A record's `_info`: only `lastUpdated` is read, kept as sent so it compares exactly.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    #[serde(default)]
    pub last_updated: Option<String>,
}

/// An element of `GET /procurement/catalog`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    pub id: i64,
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub cost: Option<Decimal>,
    #[serde(default)]
    pub inactive_flag: Option<bool>,
}
