//! ConnectWise PSA (Manage) REST 3.0 wire types, named as the API names them (`Company`,
//! `CompanyStatus`, `Agreement`, `Addition`, `CatalogItem`, plus the unauthenticated
//! `login/companyinfo` answer). Unknown fields are ignored; enums stay strings.

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

/// A reference to another record: `{"id": 1, "name": "Active", "_info": {...}}`.
#[derive(Debug, Deserialize)]
pub struct Ref {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub identifier: Option<String>,
}

/// An element of `GET /company/companies`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: i64,
    pub identifier: String,
    pub name: String,
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
    pub name: String,
    #[serde(default)]
    pub inactive_flag: Option<bool>,
}

/// An element of `GET /finance/agreements`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type", default)]
    pub agreement_type: Option<Ref>,
    pub company: Ref,
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
    pub product: Ref,
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
}

/// An element of `GET /procurement/catalog`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    pub id: i64,
    pub identifier: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub cost: Option<Decimal>,
    #[serde(default)]
    pub inactive_flag: Option<bool>,
}
