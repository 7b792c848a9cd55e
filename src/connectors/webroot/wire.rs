//! Webroot Unity API wire types (GSM console), as the API sends them: PascalCase members
//! (`SiteId`, `HostName`) as Webroot's API Reference and public clients show them, read with
//! camelCase aliases too. Unknown members are ignored. No published OpenAPI file was available,
//! so every member but what attributes a record is optional: a site's `SiteId`, an endpoint's
//! `EndpointId`. Lists are read by `crate::http::decode_tolerant`.

use jiff::Timestamp;
use serde::Deserialize;

use crate::connectors::de::{decimal_opt, flag_opt, text_opt, timestamp_opt};

// `POST /auth/token` is handled by `crate::http::OAuth2::password`.

/// An element of `Sites` in `GET /service/api/console/gsm/{gsmKey}/sites`.
#[derive(Debug, Deserialize)]
pub struct Site {
    #[serde(rename = "SiteId", alias = "siteId")]
    pub site_id: String,
    #[serde(
        rename = "SiteName",
        alias = "siteName",
        default,
        deserialize_with = "text_opt"
    )]
    pub site_name: Option<String>,
    /// Endpoint seats the site's keycode allows.
    #[serde(
        rename = "DevicesAllowed",
        alias = "devicesAllowed",
        default,
        deserialize_with = "decimal_opt"
    )]
    pub devices_allowed: Option<rust_decimal::Decimal>,
    #[serde(
        rename = "MobileSeats",
        alias = "mobileSeats",
        default,
        deserialize_with = "decimal_opt"
    )]
    pub mobile_seats: Option<rust_decimal::Decimal>,
    #[serde(
        rename = "Deactivated",
        alias = "deactivated",
        default,
        deserialize_with = "flag_opt"
    )]
    pub deactivated: Option<bool>,
    #[serde(
        rename = "BillingCycle",
        alias = "billingCycle",
        default,
        deserialize_with = "text_opt"
    )]
    pub billing_cycle: Option<String>,
    #[serde(
        rename = "EndDate",
        alias = "endDate",
        default,
        deserialize_with = "text_opt"
    )]
    pub end_date: Option<String>,
}

/// An element of `Endpoints` in `GET /service/api/console/gsm/{gsmKey}/sites/{siteId}/endpoints`.
#[derive(Debug, Deserialize)]
pub struct Endpoint {
    #[serde(rename = "EndpointId", alias = "endpointId")]
    pub endpoint_id: String,
    #[serde(
        rename = "HostName",
        alias = "hostName",
        default,
        deserialize_with = "text_opt"
    )]
    pub host_name: Option<String>,
    #[serde(
        rename = "MachineId",
        alias = "machineId",
        default,
        deserialize_with = "text_opt"
    )]
    pub machine_id: Option<String>,
    #[serde(
        rename = "Deactivated",
        alias = "deactivated",
        default,
        deserialize_with = "flag_opt"
    )]
    pub deactivated: Option<bool>,
    #[serde(
        rename = "LastSeen",
        alias = "lastSeen",
        default,
        deserialize_with = "timestamp_opt"
    )]
    pub last_seen: Option<Timestamp>,
    #[serde(
        rename = "FirstSeen",
        alias = "firstSeen",
        default,
        deserialize_with = "timestamp_opt"
    )]
    pub first_seen: Option<Timestamp>,
    #[serde(
        rename = "WindowsFullOS",
        alias = "windowsFullOS",
        alias = "OS",
        default,
        deserialize_with = "text_opt"
    )]
    pub os: Option<String>,
    #[serde(
        rename = "PolicyName",
        alias = "policyName",
        default,
        deserialize_with = "text_opt"
    )]
    pub policy_name: Option<String>,
    #[serde(
        rename = "AgentVersion",
        alias = "agentVersion",
        default,
        deserialize_with = "text_opt"
    )]
    pub agent_version: Option<String>,
    #[serde(
        rename = "Infected",
        alias = "infected",
        default,
        deserialize_with = "flag_opt"
    )]
    pub infected: Option<bool>,
}
