//! NinjaOne API v2 wire types, as the API sends them (field names from the public OpenAPI
//! description, `NodeWithDetailedReferences`, `Organization`, `NodeRole`). Unknown fields are
//! ignored; unknown enum values are kept as strings. The spec requires no field at all, so only
//! what attributes a record is required here (a device's `id` and `organizationId`, an
//! organization's and a role's `id`): every other field is optional, and one with an odd value
//! (a `lastContact` before 1970, a null name) is read as unknown by the tolerant decoding.

use jiff::Timestamp;
use serde::Deserialize;

use crate::connectors::de::epoch_opt;

// `POST /ws/oauth/token` is handled by `crate::http::OAuth2`.

/// An element of `GET /v2/organizations`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

/// An element of `GET /v2/roles`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRole {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub node_class: Option<String>,
    #[serde(default)]
    pub custom: Option<bool>,
}

/// An element of `GET /v2/devices`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: i64,
    pub organization_id: i64,
    #[serde(default)]
    pub location_id: Option<i64>,
    /// Absent or odd, the class comes from the device role, or is unknown (still counted in
    /// Total Devices).
    #[serde(default)]
    pub node_class: Option<String>,
    #[serde(default)]
    pub node_role_id: Option<i64>,
    #[serde(default)]
    pub approval_status: Option<String>,
    #[serde(default)]
    pub offline: Option<bool>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub system_name: Option<String>,
    #[serde(default)]
    pub dns_name: Option<String>,
    #[serde(default, deserialize_with = "epoch_opt")]
    pub last_contact: Option<Timestamp>,
    #[serde(default)]
    pub parent_device_id: Option<i64>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}
