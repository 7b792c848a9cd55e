//! Autotask REST v1.0 wire types, with the camelCase field names the live API sends (the
//! swagger's models are PascalCase; responses are not). Query answers are wrapped in
//! `{items, pageDetails}`, which the shared pager reads; errors come as `{"errors": [...]}`.
//! Picklist values stay integers here and get their labels from `entityInformation/fields`.
//! Unknown fields are ignored. Query answers are read record by record (`Pages::tolerant`): only
//! what attributes a record is required (its id, and the contract, company or service it
//! belongs to); a record without it is set aside, any other odd value is unknown for its record.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::connectors::de::decimal_opt;

/// `GET {lookup}/v1.0/zoneInformation?user=...`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneInformation {
    #[serde(default)]
    pub zone_name: Option<String>,
    pub url: String,
}

/// `GET /V1.0/ThresholdInformation`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdInformation {
    pub external_request_threshold: u64,
    /// Minutes.
    #[serde(default)]
    pub request_threshold_timeframe: Option<u64>,
    pub current_timeframe_request_count: u64,
}

/// `GET /V1.0/{Entity}/entityInformation/fields`.
#[derive(Debug, Deserialize)]
pub struct FieldsInfo {
    #[serde(default)]
    pub fields: Vec<FieldInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldInfo {
    pub name: String,
    #[serde(default)]
    pub picklist_values: Option<Vec<PicklistValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    /// Sent as a string (`"1"`).
    pub value: Value,
    pub label: String,
}

/// An item of `POST /V1.0/Companies/query`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: i64,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub company_number: Option<String>,
    #[serde(default)]
    pub company_type: Option<i64>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// An item of `POST /V1.0/Contracts/query`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    pub id: i64,
    #[serde(rename = "companyID")]
    pub company_id: i64,
    #[serde(default)]
    pub contract_name: Option<String>,
    #[serde(default)]
    pub contract_type: Option<i64>,
    #[serde(default)]
    pub status: Option<i64>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub contract_period_type: Option<i64>,
}

/// An item of `POST /V1.0/ContractServices/query`: a service on a contract, with the contract's
/// price for it; the unit count lives in ContractServiceUnits.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractService {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_cost: Option<Decimal>,
    #[serde(default)]
    pub invoice_description: Option<String>,
}

/// An item of `POST /V1.0/ContractServiceUnits/query`: the units of one service for one billing
/// period (`startDate`..`endDate`, both inclusive days).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractServiceUnit {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "contractServiceID", default)]
    pub contract_service_id: Option<i64>,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub units: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub cost: Option<Decimal>,
}

/// An item of `POST /V1.0/Services/query`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_cost: Option<Decimal>,
    #[serde(default)]
    pub is_active: Option<bool>,
}
