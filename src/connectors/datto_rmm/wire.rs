//! Datto RMM API v2 wire types, as the API sends them (field names from Datto's OpenAPI
//! description, `Account`, `SitesPage`/`Site` and `DevicesPage`/`Device`). Only a record's `uid`
//! (what paths and items are keyed by) must have its specified type; every other field is kept as
//! raw JSON and read leniently in `convert.rs`, so a null, an unknown enum value, a timestamp in
//! either of its shapes (epoch milliseconds on the wire, `date-time` in the spec) or an odd type
//! never fails a sync. Unknown fields are ignored. User-defined fields (`udf`), which often hold
//! secrets, are never read.

use serde::Deserialize;
use serde_json::Value;

// `POST /auth/oauth/token` is handled by `crate::http::OAuth2::password`.

/// `GET /api/v2/account`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    #[serde(default)]
    pub name: Value,
    #[serde(default)]
    pub devices_status: Value,
}

/// An element of `sites` in `GET /api/v2/account/sites`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub uid: String,
    #[serde(default)]
    pub id: Value,
    #[serde(default)]
    pub name: Value,
    #[serde(default)]
    pub on_demand: Value,
    #[serde(default)]
    pub autotask_company_id: Value,
    #[serde(default)]
    pub autotask_company_name: Value,
}

/// An element of `devices` in `GET /api/v2/account/devices`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub uid: String,
    #[serde(default)]
    pub id: Value,
    #[serde(default)]
    pub site_id: Value,
    #[serde(default)]
    pub site_uid: Value,
    #[serde(default)]
    pub site_name: Value,
    /// `{category, type}`: `Desktop`, `Laptop`, `Server`, `ESXi Host`, ... as the account's
    /// device types name them.
    #[serde(default)]
    pub device_type: Value,
    /// `device`, `printer`, `esxihost`, `rmmnetworkdevice` or `unknown` (spec enum).
    #[serde(default)]
    pub device_class: Value,
    #[serde(default)]
    pub hostname: Value,
    #[serde(default)]
    pub description: Value,
    #[serde(default)]
    pub operating_system: Value,
    #[serde(default)]
    pub domain: Value,
    #[serde(default)]
    pub display_version: Value,
    #[serde(default)]
    pub online: Value,
    #[serde(default)]
    pub suspended: Value,
    #[serde(default)]
    pub deleted: Value,
    #[serde(default)]
    pub last_seen: Value,
    #[serde(default)]
    pub creation_date: Value,
    #[serde(default)]
    pub warranty_date: Value,
    #[serde(default)]
    pub snmp_enabled: Value,
    #[serde(default)]
    pub network_probe: Value,
    /// `{antivirusProduct, antivirusStatus}`.
    #[serde(default)]
    pub antivirus: Value,
    /// `{patchStatus, ...}`.
    #[serde(default)]
    pub patch_management: Value,
}
