//! Acronis Account Management API v2 wire types, as the API sends them (names and types from
//! Acronis's official OpenAPI file: `GET /clients/{id}`, `GET /tenants`, `GET
//! /tenants/usages`). Unknown fields are ignored; enum-like values (kind, pricing mode, usage
//! type, measurement unit) are kept as sent. Lists are read tolerantly: a tenant's `id` and a
//! usage batch's `tenant` are required, the rest optional, and `convert.rs` says when what a
//! count depends on is unknown.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::connectors::de::{decimal_opt, flag_opt};

/// `GET /api/2/clients/{client_id}`: the API client, and the tenant it acts for.
#[derive(Debug, Deserialize)]
pub struct Client {
    pub tenant_id: String,
    #[serde(default)]
    pub status: Option<String>,
}

/// An element of `items` of `GET /api/2/tenants`.
#[derive(Debug, Deserialize)]
pub struct Tenant {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `root`, `partner`, `folder`, `customer`, `unit`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub enabled: Option<bool>,
    /// `trial`, `production`, `suspended`.
    #[serde(default)]
    pub pricing_mode: Option<String>,
    #[serde(default)]
    pub deleted_at: Option<String>,
}

/// An element of `items` of `GET /api/2/tenants/usages`.
#[derive(Debug, Deserialize)]
pub struct TenantUsages {
    pub tenant: String,
    #[serde(default)]
    pub usages: Vec<serde_json::Value>,
}

/// One usage row (read per row, so one odd row is unknown alone).
#[derive(Debug, Deserialize)]
pub struct Usage {
    /// The offering item (`adv_vms`, `workstations`).
    #[serde(default)]
    pub name: Option<String>,
    /// What is counted (`vms`, `workstations`, `servers`, `mailboxes`, `storage`).
    #[serde(default)]
    pub usage_name: Option<String>,
    #[serde(default)]
    pub edition: Option<String>,
    /// `count`, `feature`, `infra`.
    #[serde(default, rename = "type")]
    pub usage_type: Option<String>,
    /// `quantity`, `bytes`, `seconds`, `n/a`.
    #[serde(default)]
    pub measurement_unit: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub value: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub absolute_value: Option<Decimal>,
    /// The storage location of an `infra` row.
    #[serde(default)]
    pub infra_id: Option<String>,
    #[serde(default)]
    pub range_start: Option<String>,
}
