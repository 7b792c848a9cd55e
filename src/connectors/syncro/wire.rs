//! Syncro API v1 wire types, named as the API names them: `Customer`, `Schedule` (a recurring
//! invoice) with its `lines` (schedule line items) and `Product`, plus the `meta` paging block
//! of list answers. Unknown fields are ignored; enums such as `frequency` stay strings so a
//! value this version does not know is kept, not refused.
//!
//! The spec (Syncro's swagger) gives examples, not schemas: they show `null` in most fields (a
//! customer's `business_name`, a line's `product_id`, a product's `upc_code`), quantities as
//! decimal strings and prices as numbers. So only what attributes a record is required here: its
//! `id`, and a schedule's `customer_id`. The lists are read by `crate::http::decode_tolerant`:
//! any other field with an odd value is unknown for its record (named in its odd fields), and a
//! record without its id or customer is set aside. Which unknowns the count cannot do without (a
//! line's quantity, a schedule's `paused`) is decided in `mod.rs`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::connectors::de::{decimal_opt, timestamp_opt};

/// `meta` of a list answer: `{"total_pages": 3, "total_entries": 61, "per_page": 25, "page": 1}`
/// (the pager reads `total_pages`; `check` reports `total_entries`).
#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub total_entries: Option<u64>,
}

/// An element of `GET /customers`.
#[derive(Debug, Deserialize)]
pub struct Customer {
    pub id: i64,
    #[serde(default)]
    pub business_name: Option<String>,
    #[serde(default)]
    pub firstname: Option<String>,
    #[serde(default)]
    pub lastname: Option<String>,
    #[serde(default)]
    pub fullname: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Custom customer fields, by name; values may be strings, numbers or booleans.
    #[serde(default)]
    pub properties: Option<BTreeMap<String, Value>>,
}

/// An element of `GET /schedules` (`{"schedules": [...]}`) or the `schedule` of
/// `GET /schedules/{id}`.
#[derive(Debug, Deserialize)]
pub struct Schedule {
    pub id: i64,
    pub customer_id: i64,
    #[serde(default)]
    pub name: Option<String>,
    /// `Daily`, `Weekly`, `Biweekly`, `Monthly`, `Quarterly`, `Semi-Annually`, `Annually`,
    /// `Biennially`, `Triennially`.
    #[serde(default)]
    pub frequency: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub paused: Option<bool>,
    /// Absent on some accounts' list answers; then the schedule is read on its own.
    #[serde(default)]
    pub lines: Option<Vec<Value>>,
}

/// `GET /schedules/{id}`: the schedule must be an object (the documented shape); its fields are
/// read tolerantly, as the list's are.
#[derive(Debug, Deserialize)]
pub struct OneSchedule {
    pub schedule: serde_json::Map<String, Value>,
}

/// An element of a schedule's `lines` (a schedule line item).
#[derive(Debug, Deserialize)]
pub struct LineItem {
    pub id: i64,
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Sent as a string (`"9.99"`).
    #[serde(default, deserialize_with = "decimal_opt")]
    pub quantity: Option<Decimal>,
    /// Dollars, as read back; written as `retail_cents`.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price_retail: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price_cost: Option<Decimal>,
    #[serde(default)]
    pub retail_cents: Option<i64>,
    #[serde(default)]
    pub cost_cents: Option<i64>,
    #[serde(default)]
    pub one_time_charge: Option<bool>,
}

/// An element of `GET /products`.
#[derive(Debug, Deserialize)]
pub struct Product {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub upc_code: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price_retail: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price_cost: Option<Decimal>,
    #[serde(default)]
    pub disabled: Option<bool>,
}
