//! JumpCloud API wire types, as the API sends them (field names from JumpCloud's published
//! OpenAPI documents: v2 `GET /api/v2/providers/{provider_id}/organizations`, v1
//! `GET /api/systemusers` and `GET /api/systems`). Unknown fields are ignored; enum-like values
//! (`state`, `osFamily`) are kept as strings so a value this build does not know never fails a
//! sync. Ids are 24-hex-digit strings.

use jiff::Timestamp;
use serde::Deserialize;

use crate::connectors::de::timestamp_opt;

/// An element of `results` of `GET /api/v2/providers/{provider_id}/organizations`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The user cap the MSP set on the org in the Multi-Tenant Portal (0 or absent: none).
    #[serde(default)]
    pub max_system_users: Option<i64>,
}

/// An element of `results` of `GET /api/systemusers` (v1 field names are snake_case, with
/// a few camelCase exceptions such as `displayname`).
#[derive(Debug, Deserialize)]
pub struct SystemUser {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub displayname: Option<String>,
    /// `STAGED`, `ACTIVATED` or `SUSPENDED` (unknown values kept).
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub activated: Option<bool>,
    #[serde(default)]
    pub suspended: Option<bool>,
    #[serde(default)]
    pub account_locked: Option<bool>,
    #[serde(default)]
    pub externally_managed: Option<bool>,
    #[serde(default)]
    pub created: Option<String>,
}

/// An element of `results` of `GET /api/systems`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct System {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    /// `Windows`, `Mac OS X`, `Ubuntu`, ...
    #[serde(default)]
    pub os: Option<String>,
    /// `windows`, `darwin`, `linux`, `ios`, `android` (unknown values kept).
    #[serde(default)]
    pub os_family: Option<String>,
    /// Whether the agent is connected now.
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub last_contact: Option<Timestamp>,
    #[serde(default)]
    pub serial_number: Option<String>,
    #[serde(default)]
    pub agent_version: Option<String>,
}
