//! N-sight RMM Data Extraction API records, as its XML reads once `crate::http::parse_xml` has
//! made values of it: every leaf is text, so numbers, flags and times are parsed from text here
//! (element names from N-able's API docs and public clients: `list_clients`'s `<client>`,
//! `list_devices_at_client`'s `<site>` with `<workstation>`/`<server>` devices). Unknown
//! elements are ignored; times (`2026-11-30 08:14:07`, UTC in `*_utc` elements) are read by
//! `timestamp_opt`; only what attributes a record is required: a client's `clientid`, a
//! device's `id`. Lists are read by `crate::http::decode_tolerant`.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, de::Error};

use crate::connectors::de::{id_text, text_opt, timestamp_opt};

/// A feature flag: `1`/`0` (or `true`/`false`); empty is none.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match text_opt(d)?
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => Ok(None),
        Some("1" | "true") => Ok(Some(true)),
        Some("0" | "false") => Ok(Some(false)),
        Some(other) => Err(D::Error::custom(format!("`{other}` is not 0 or 1"))),
    }
}

/// A count; empty text is none.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match text_opt(d)? {
        None => Ok(None),
        Some(s) => s
            .parse::<u64>()
            .map(|n| Some(Decimal::from(n)))
            .map_err(|_| D::Error::custom(format!("`{s}` is not a count"))),
    }
}

/// A `<client>` of `list_clients`.
#[derive(Debug, Deserialize)]
pub struct Client {
    #[serde(deserialize_with = "id_text")]
    pub clientid: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "count")]
    pub mobile_device_count: Option<Decimal>,
}

/// A `<workstation>` or `<server>` of `list_devices_at_client`.
#[derive(Debug, Deserialize)]
pub struct Device {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub os: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub agent: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub guid: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub lastresponse_utc: Option<Timestamp>,
    #[serde(default, deserialize_with = "flag")]
    pub patch: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    pub mav: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    pub mob: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    pub webprotection: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    pub takecontrol: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    pub riskintelligence: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    pub mavbreck: Option<bool>,
}
