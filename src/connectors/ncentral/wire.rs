//! N-central API-Service wire types, as the server sends them (field names from the API-Service
//! OpenAPI every N-central server publishes at `/api-explorer`: `ServerInfo`, `Customer`,
//! `QueryResponseDevice`/`Device`, `Filter`). Unknown fields are ignored.
//!
//! The spec marks no field of these records required, and types ids two ways: strings in
//! org-unit bodies (`customerId: "101"`), `int32` in device bodies (`customerId: 101`). Both are
//! read as text here and compared as text, so `101` and `"101"` are one customer. Only what
//! attributes a record is required: a customer's `customerId`, a device's `deviceId`, a filter's
//! `filterId`. A device's customer is checked in `convert.rs`. The lists are read by
//! `crate::http::decode_tolerant`: a field whose value cannot be read is unknown for that record
//! and named in its odd fields, never an error.

use jiff::Timestamp;
use serde::Deserialize;

use crate::connectors::de::{flag_opt, id_text, text_opt, timestamp_opt};

// `POST /api/auth/authenticate` is handled by `crate::http::TokenExchange`.

/// `GET /api/server-info`.
#[derive(Debug, Default, Deserialize)]
pub struct ServerInfo {
    #[serde(default, deserialize_with = "text_opt")]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub ncentral: Option<String>,
}

/// An element of `data` in `GET /api/customers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    #[serde(deserialize_with = "id_text")]
    pub customer_id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub customer_name: Option<String>,
}

/// An element of `data` in `GET /api/devices` (`Device`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(deserialize_with = "id_text")]
    pub device_id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub long_name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub discovered_name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub description: Option<String>,
    /// `Workstations - Windows`, `Laptops - Windows`, `Servers - Windows`, ... (free text).
    #[serde(default, deserialize_with = "text_opt")]
    pub device_class: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub device_class_label: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub is_probe: Option<bool>,
    #[serde(default, deserialize_with = "text_opt")]
    pub os_id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub supported_os: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub supported_os_label: Option<String>,
    /// The device's licence tier (`Professional`, `Essential`, ...; the spec lists no values).
    #[serde(default, deserialize_with = "text_opt")]
    pub license_mode: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub customer_id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub customer_name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub site_id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub site_name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub so_name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub last_logged_in_user: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub last_appliance_checkin_time: Option<Timestamp>,
}

/// An element of `data` in `GET /api/device-filters` (`Filter`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(deserialize_with = "id_text")]
    pub filter_id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub filter_name: Option<String>,
}

/// An element of `data` when only the device's id is needed (a filter's members).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    #[serde(deserialize_with = "id_text")]
    pub device_id: String,
}
