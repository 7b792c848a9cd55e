//! Accelo API v0 wire types, named as its docs name them: `Company`, `Contract`, the contract's
//! `Period` and the `Material` on a period. Accelo sends **every** number, id and date as a
//! string (`"id": "45"`, `"quantity": "12.0000"`, dates as unix seconds `"1493265142"`, 0 for
//! none), read here with string-tolerant readers; a linked object may come as its id or as the
//! object (`"company": "39"` or `{"id": "39", ...}`).
//!
//! Only what attributes a record is required: its `id`, a period's `contract_id`. The lists are
//! read by `crate::http::decode_tolerant`: any other odd value is unknown for its record, and
//! `mod.rs` decides which unknowns the count cannot do without (a material's quantity).

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::connectors::de::{decimal_opt, id_text, text_opt, unix_text_opt};

/// The id of a linked object sent as its id or as the object.
pub fn linked_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty() && s != "0"),
        Value::Number(n) => Some(n.to_string()).filter(|s| s != "0"),
        Value::Object(o) => o.get("id").and_then(linked_id),
        _ => None,
    }
}

/// An element of `GET /companies`.
#[derive(Debug, Deserialize)]
pub struct Company {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub custom_id: Option<String>,
    /// From the company's status: `active`, `inactive`, … (the deployment names its statuses).
    #[serde(default, deserialize_with = "text_opt")]
    pub standing: Option<String>,
}

/// An element of `GET /contracts`.
#[derive(Debug, Deserialize)]
pub struct Contract {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub title: Option<String>,
    /// `company`, `contact`, `job`, …
    #[serde(default, deserialize_with = "text_opt")]
    pub against_type: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub against_id: Option<String>,
    /// The company the contract is against, if any: an id or the object.
    #[serde(default)]
    pub company: Value,
    /// `active`, `cancelled`, …
    #[serde(default, deserialize_with = "text_opt")]
    pub standing: Option<String>,
    #[serde(default, deserialize_with = "unix_text_opt")]
    pub date_started: Option<Timestamp>,
    #[serde(default, deserialize_with = "unix_text_opt")]
    pub date_expires: Option<Timestamp>,
    /// The contract type: an id or the object.
    #[serde(default)]
    pub contract_type: Value,
}

/// An element of `GET /contracts/{id}/periods`.
#[derive(Debug, Deserialize)]
pub struct Period {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(deserialize_with = "id_text")]
    pub contract_id: String,
    #[serde(default, deserialize_with = "unix_text_opt")]
    pub date_commenced: Option<Timestamp>,
    #[serde(default, deserialize_with = "unix_text_opt")]
    pub date_expires: Option<Timestamp>,
    /// `fixed` or `unlimited`.
    #[serde(default, deserialize_with = "text_opt")]
    pub duration_type: Option<String>,
    /// `opened` or `closed`.
    #[serde(default, deserialize_with = "text_opt")]
    pub standing: Option<String>,
}

/// An element of `GET /object_budgets/materials`: an item on a budget, here a contract period's.
#[derive(Debug, Deserialize)]
pub struct Material {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub against_type: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub against_id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub contract_period_id: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub cost: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "text_opt")]
    pub material_template_id: Option<String>,
}

/// An element of `GET /object_budgets/templates`: the item templates materials are made from,
/// the catalogue.
#[derive(Debug, Deserialize)]
pub struct Template {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub cost: Option<Decimal>,
    #[serde(default, deserialize_with = "text_opt")]
    pub standing: Option<String>,
}
