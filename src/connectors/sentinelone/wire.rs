//! SentinelOne Management API v2.1 wire types, as the API sends them (field names from the
//! per-tenant API docs and captured responses: `GET /web/api/v2.1/sites`, `GET
//! /web/api/v2.1/agents`). Unknown fields are ignored; unknown enum values are kept as strings.
//! Ids are numeric strings.
//!
//! There is no public spec (it is served per tenant), so only what attributes a record is
//! required here: a site's `id`, an agent's `id` and `siteId`. Every other field is optional
//! and read tolerantly (a null name, a license count past `i64`, a date that is no date are
//! unknown for their record). What decides whether an agent counts (`isDecommissioned`) or
//! where (`machineType`, its site's `sku`) is checked strictly by the connector.

use jiff::Timestamp;
use serde::Deserialize;

use crate::connectors::de::timestamp_opt;

/// `data.allSites` of `GET /web/api/v2.1/sites`: license totals over every site the token sees.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllSites {
    #[serde(default)]
    pub active_licenses: Option<i64>,
    #[serde(default)]
    pub total_licenses: Option<i64>,
}

/// An element of `data.sites` of `GET /web/api/v2.1/sites`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub id: String,
    /// Absent or null, the account is named by its id.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub account_name: Option<String>,
    /// `Core`, `Control`, `Complete`, or whatever the tenant sells. Null is a site without a
    /// SKU (counted by no per-SKU service); a value of another type makes the site unreadable.
    #[serde(default)]
    pub sku: Option<String>,
    /// `Paid` or `Trial`.
    #[serde(default)]
    pub site_type: Option<String>,
    /// `active`, `expired` or `deleted`.
    #[serde(default)]
    pub state: Option<String>,
    /// Agents consuming a license.
    #[serde(default)]
    pub active_licenses: Option<i64>,
    /// Licenses purchased.
    #[serde(default)]
    pub total_licenses: Option<i64>,
    #[serde(default)]
    pub unlimited_licenses: Option<bool>,
}

/// An element of `data` of `GET /web/api/v2.1/agents`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub id: String,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub computer_name: Option<String>,
    pub site_id: String,
    #[serde(default)]
    pub site_name: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    /// `desktop`, `laptop`, `server`, `kubernetes node`, ... (unknown values kept, counted as
    /// `OTHER`). Absent or not a string, a live agent's site is unreadable: which service
    /// counts it is not known.
    #[serde(default)]
    pub machine_type: Option<String>,
    /// `windows`, `macos`, `linux`.
    #[serde(default)]
    pub os_type: Option<String>,
    #[serde(default)]
    pub os_name: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Decides whether the agent counts at all: unknown, its site is unreadable.
    #[serde(default)]
    pub is_decommissioned: Option<bool>,
    #[serde(default)]
    pub is_uninstalled: Option<bool>,
    /// `connected`, `disconnected`, `connecting`, `disconnecting`.
    #[serde(default)]
    pub network_status: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub last_active_date: Option<Timestamp>,
    #[serde(default)]
    pub agent_version: Option<String>,
}
