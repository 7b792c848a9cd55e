//! Datto RMM API v2 wire types, as the API sends them (field names from Datto's OpenAPI
//! description, `Account`, `SitesPage`/`Site` and `DevicesPage`/`Device`). Unknown fields are
//! ignored. User-defined fields (`udf`), which often hold secrets, are never read.
//!
//! The spec requires no field of `Site` or `Device` and allows any of them to be left out; its
//! enums (`deviceClass`, `antivirusStatus`, `patchStatus`) are kept as text, so a value it does
//! not list is kept, not refused. Only what attributes a record is required here: a site's and a
//! device's `uid` (what paths and items are keyed by); a device's site (`siteUid` or `siteId`)
//! is checked in `mod.rs`. The lists are read by `crate::http::decode_tolerant`: a field whose
//! value the readers below cannot read (a value of another type than the spec's) is unknown for
//! that record and named in its odd fields; a record without its `uid` is set aside. The
//! readers are lenient where Datto is known to differ from its spec: ids and texts sent as
//! numbers, booleans sent as `"true"`, timestamps as epoch milliseconds (on the wire) or
//! `date-time` (in the spec).

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Value;

use crate::connectors::de::{flag_opt, text_opt};

// `POST /auth/oauth/token` is handled by `crate::http::OAuth2::password`.

/// A time: epoch milliseconds (what the API sends), or an RFC 3339 `date-time` (what its spec
/// says); empty is none.
pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let v = Value::deserialize(d)?;
    let t = match &v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::Number(n) => n
            .as_i64()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(ms) => Timestamp::from_millisecond(ms).ok(),
            Err(_) => crate::connectors::de::parse_timestamp(s.trim()).ok(),
        },
        _ => None,
    };
    t.map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a time, got {v}")))
}

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
    #[serde(default, deserialize_with = "text_opt")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub on_demand: Option<bool>,
    #[serde(default, deserialize_with = "text_opt")]
    pub autotask_company_id: Option<String>,
}

/// `deviceType` (`DevicesType`): `Desktop`, `Laptop`, `Server`, `ESXi Host`, ... as the
/// account's device types name them.
#[derive(Debug, Default, Deserialize)]
pub struct DeviceType {
    #[serde(default, deserialize_with = "text_opt")]
    pub category: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "text_opt")]
    pub kind: Option<String>,
}

/// `antivirus`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Antivirus {
    #[serde(default, deserialize_with = "text_opt")]
    pub antivirus_product: Option<String>,
    /// `RunningAndUpToDate`, `RunningAndNotUpToDate`, `NotRunning`, `NotDetected` (spec enum).
    #[serde(default, deserialize_with = "text_opt")]
    pub antivirus_status: Option<String>,
}

/// `patchManagement`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchManagement {
    /// `NoPolicy`, `NoData`, `RebootRequired`, ... (spec enum).
    #[serde(default, deserialize_with = "text_opt")]
    pub patch_status: Option<String>,
}

/// An element of `devices` in `GET /api/v2/account/devices`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub uid: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub site_id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub site_uid: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub site_name: Option<String>,
    #[serde(default)]
    pub device_type: Option<DeviceType>,
    /// `device`, `printer`, `esxihost`, `rmmnetworkdevice` or `unknown` (spec enum).
    #[serde(default, deserialize_with = "text_opt")]
    pub device_class: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub hostname: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub operating_system: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub domain: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub display_version: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub online: Option<bool>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub suspended: Option<bool>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub deleted: Option<bool>,
    #[serde(default, deserialize_with = "time")]
    pub last_seen: Option<Timestamp>,
    #[serde(default, deserialize_with = "time")]
    pub creation_date: Option<Timestamp>,
    #[serde(default, deserialize_with = "text_opt")]
    pub warranty_date: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub snmp_enabled: Option<bool>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub network_probe: Option<bool>,
    #[serde(default)]
    pub antivirus: Option<Antivirus>,
    #[serde(default)]
    pub patch_management: Option<PatchManagement>,
}
