//! HaloPSA API wire types, named as the API names them: the unauthenticated `authinfo` answer,
//! the token answer is handled by the shared OAuth code, `Client` (schema `Area`),
//! `RecurringInvoice` headers (`InvoiceHeader`) with their `lines` (`InvoiceDetail`),
//! `ClientContract` (`ContractHeader`) and `Item`. Unknown fields are ignored; picklists stay
//! numbers or strings so a value this code has never seen is kept, not a decode error. Halo's
//! models require no field and mark nearly every one nullable (a client's or an item's `name`,
//! an invoice's or a contract's `client_id`: a recurring invoice template has no client), so
//! only what attributes a record is required here (its `id`, and the `client_id` of invoices and
//! contracts); the lists are read by `crate::http::decode_tolerant`, so any other field with an
//! odd value is unknown for its record, and a record without its id or client is set aside.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::connectors::de::{decimal_opt, parse_timestamp};

/// `GET /api/authinfo`: where the instance's auth server lives.
#[derive(Debug, Default, Deserialize)]
pub struct AuthInfo {
    #[serde(default)]
    pub auth_url: Option<String>,
}

/// A Halo id: a JSON number (ids can be negative) or, from some endpoints, a numeric string.
/// Kept as the decimal text the API sent, so `-94` stays `-94`.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) if n.is_i64() => Ok(n.to_string()),
        Value::String(s) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an integer id, got {other}"
        ))),
    }
}

/// An optional id where Halo writes `0` (or nothing) for "none".
pub fn id_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let s = id(v).map_err(serde::de::Error::custom)?;
            Ok((s != "0").then_some(s))
        }
    }
}

/// Halo dates: `2025-07-01T00:00:00` (no offset, read as UTC), RFC 3339, or a plain date.
/// Halo writes `1900-01-01T00:00:00` for an empty date, so anything before 1901 is "none".
pub fn date_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let t = match parse_timestamp(s) {
        Ok(t) => t,
        Err(e) => s
            .parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
            .ok_or_else(|| serde::de::Error::custom(e))?,
    };
    let cutoff: Timestamp = "1901-01-01T00:00:00Z".parse().expect("a valid timestamp");
    Ok((t >= cutoff).then_some(t))
}

/// An element of `clients` in `GET /api/Client`.
#[derive(Debug, Deserialize)]
pub struct Client {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "id_opt")]
    pub toplevel_id: Option<String>,
    #[serde(default)]
    pub toplevel_name: Option<String>,
    #[serde(default)]
    pub inactive: Option<bool>,
    /// The tenant's customer type lookup id.
    #[serde(default, deserialize_with = "id_opt")]
    pub customertype: Option<String>,
    #[serde(default)]
    pub customertype_name: Option<String>,
    #[serde(default)]
    pub accountsid: Option<String>,
}

/// An element of `invoices` in `GET /api/RecurringInvoice`, or the single-record answer.
#[derive(Debug, Deserialize)]
pub struct InvoiceHeader {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(deserialize_with = "id")]
    pub client_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "id_opt")]
    pub contract_id: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default, deserialize_with = "date_opt")]
    pub startdate: Option<Timestamp>,
    #[serde(default, deserialize_with = "date_opt")]
    pub enddate: Option<Timestamp>,
    /// The schedule's name (`Monthly`, `Quarterly`, `Yearly`...), tenant-visible text.
    #[serde(default)]
    pub periodname: Option<String>,
    /// The schedule's unit as a number (meaning not published); kept when no name is sent.
    #[serde(default)]
    pub period_type: Option<Value>,
    /// Absent when the list was read without lines; then the single record is read.
    #[serde(default)]
    pub lines: Option<Vec<Value>>,
}

/// An element of an invoice's `lines`.
#[derive(Debug, Deserialize)]
pub struct InvoiceDetail {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(rename = "_itemid", default, deserialize_with = "id_opt")]
    pub item_id: Option<String>,
    #[serde(default)]
    pub item_code: Option<String>,
    #[serde(default)]
    pub item_shortdescription: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub qty_order: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_cost: Option<Decimal>,
    #[serde(default, deserialize_with = "id_opt")]
    pub contract_id: Option<String>,
    #[serde(default)]
    pub isinactive: Option<bool>,
    /// 0 for a fixed quantity; other values derive it from users/assets/licences (undocumented).
    #[serde(default)]
    pub recurring_invoice_quantity_type: Option<Value>,
    #[serde(default, deserialize_with = "date_opt")]
    pub startdate: Option<Timestamp>,
    #[serde(default, deserialize_with = "date_opt")]
    pub enddate: Option<Timestamp>,
}

/// An element of `contracts` in `GET /api/ClientContract`.
#[derive(Debug, Deserialize)]
pub struct ContractHeader {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(deserialize_with = "id")]
    pub client_id: String,
    #[serde(rename = "ref", default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub contracttype_name: Option<String>,
    #[serde(default, deserialize_with = "date_opt")]
    pub start_date: Option<Timestamp>,
    #[serde(default, deserialize_with = "date_opt")]
    pub end_date: Option<Timestamp>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub expired: Option<bool>,
    #[serde(default)]
    pub billingperiod_name: Option<String>,
    #[serde(default)]
    pub billingperiod: Option<Value>,
}

/// An element of `items` in `GET /api/Item`.
#[derive(Debug, Deserialize)]
pub struct Item {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub baseprice: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub costprice: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub recurringprice: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub recurringcost: Option<Decimal>,
    #[serde(default)]
    pub inactive: Option<bool>,
}
