//! Datto Partner Portal REST API (v1) wire types for SaaS Protection and BCDR, as the API sends
//! them (field names from Datto's API documentation and the public clients named in the module
//! header). Unknown fields are ignored; enum-like values (product type, seat type and state)
//! are kept as the strings sent. Lists are read tolerantly: only what attributes a record is
//! required (a SaaS customer's id, an appliance's serial number); what the count depends on is
//! optional too, and `convert.rs` says when it is unknown.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::connectors::de::{decimal_opt, flag_opt, id_text, text_opt};

/// An element of the bare array `GET /v1/saas/domains` answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    #[serde(deserialize_with = "id_text")]
    pub saas_customer_id: String,
    #[serde(default)]
    pub saas_customer_name: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    /// `Office365` or `GoogleApps`.
    #[serde(default)]
    pub product_type: Option<String>,
    /// The seats Datto counts for the customer: compared with the seats listed.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub seats_used: Option<Decimal>,
    /// `ICR` (infinite cloud retention) or `TBR` (time-based retention).
    #[serde(default)]
    pub retention_type: Option<String>,
}

/// An element of the bare array `GET /v1/saas/{saasCustomerId}/seats` answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seat {
    #[serde(deserialize_with = "id_text")]
    pub main_id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `User`, `SharedMailbox`, `Site`, `TeamSite`, `Team`, `SharedDrive`.
    #[serde(default)]
    pub seat_type: Option<String>,
    /// `Active`, `Unprotected`, `Paused`, `Archived`.
    #[serde(default)]
    pub seat_state: Option<String>,
    /// `"1"` when Datto bills the seat, `"0"` when not (a string in the docs; a number read too).
    #[serde(default, deserialize_with = "text_opt")]
    pub billable: Option<String>,
    #[serde(default)]
    pub date_added: Option<String>,
}

/// `GET /v1/bcdr/device?_page=&_perPage=`: `{pagination, items}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(deserialize_with = "id_text")]
    pub serial_number: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// Free text typed on the appliance: the client it protects.
    #[serde(default)]
    pub client_company_name: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub hidden: Option<bool>,
    #[serde(default)]
    pub service_plan: Option<String>,
    /// The service end date.
    #[serde(default)]
    pub service_period: Option<String>,
    #[serde(default)]
    pub last_seen_date: Option<String>,
    #[serde(default)]
    pub offsite_storage_used: Option<Size>,
    #[serde(default)]
    pub local_storage_used: Option<Size>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub agent_count: Option<Decimal>,
}

/// `{size, units}` as the device list writes storage.
#[derive(Debug, Deserialize)]
pub struct Size {
    #[serde(default, deserialize_with = "decimal_opt")]
    pub size: Option<Decimal>,
    #[serde(default)]
    pub units: Option<String>,
}

/// An element of the bare array `GET /v1/bcdr/device/{serialNumber}/asset/agent` answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// The protected machine's id (32 hex digits).
    #[serde(deserialize_with = "id_text")]
    pub volume: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub fqdn: Option<String>,
    /// The agent's kind (a Windows or Linux agent, or an agentless virtual machine); the values
    /// are not documented.
    #[serde(default, rename = "type")]
    pub agent_type: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub is_paused: Option<bool>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub is_archived: Option<bool>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub last_snapshot: Option<Decimal>,
}
