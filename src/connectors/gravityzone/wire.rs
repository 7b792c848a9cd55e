//! Bitdefender GravityZone JSON-RPC wire types, as the API sends them (member names from the
//! GravityZone API documentation: `getCompanyDetails`, `findCompaniesByName`,
//! `getEndpointsList`, `getMonthlyUsagePerProductType`). Unknown members are ignored.
//!
//! There is no OpenAPI description (JSON-RPC); the docs give no member as required. Only what
//! attributes a record is required here: a company's and an endpoint's `id` (24 hex digits as
//! text). Lists are read by `crate::http::decode_tolerant`: an odd value is unknown for its
//! record and named in its odd fields. Monthly usage objects are read member by member in
//! `convert.rs` (their set of `*MonthlyUsage` members grows with Bitdefender's products).

use serde::Deserialize;

use crate::connectors::de::{flag_opt, text_opt};

/// `companies.getCompanyDetails` without params: the API key's own company.
#[derive(Debug, Deserialize)]
pub struct CompanyDetails {
    pub id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
}

/// An element of `companies.findCompaniesByName`'s result.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
}

/// An element of `items` in `network.getEndpointsList`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: String,
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub fqdn: Option<String>,
    /// 0 other, 1 computer, 2 virtual machine, 3 EC2 instance (more may come).
    #[serde(default)]
    pub machine_type: Option<i64>,
    #[serde(default, deserialize_with = "text_opt")]
    pub operating_system_version: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub is_managed: Option<bool>,
    #[serde(default, deserialize_with = "text_opt")]
    pub company_id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub group_id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub ip: Option<String>,
}
