//! N-able Cove JSON-RPC answers as the API sends them (names from N-able's JSON API
//! documentation and public clients): `EnumeratePartners` rows and `EnumerateAccountStatistics`
//! rows, whose `Settings` is a list of one-member objects `{"<column code>": "<value>"}`.
//! Unknown fields are ignored; values are text as Cove sends them.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::connectors::de::{id_text, text_opt};

/// An element of `EnumeratePartners`' result.
#[derive(Debug, Deserialize)]
pub struct Partner {
    #[serde(rename = "Id", deserialize_with = "id_text")]
    pub id: String,
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    /// `Root`, `Distributor`, `SubDistributor`, `Reseller`, `ServiceOrganization`,
    /// `EndCustomer`, `Site`.
    #[serde(rename = "Level", default)]
    pub level: Option<String>,
    #[serde(rename = "ParentId", default, deserialize_with = "text_opt")]
    pub parent_id: Option<String>,
}

/// An element of `EnumerateAccountStatistics`' result: one device.
#[derive(Debug, Deserialize)]
pub struct Device {
    #[serde(rename = "AccountId", deserialize_with = "id_text")]
    pub account_id: String,
    #[serde(rename = "PartnerId", default, deserialize_with = "text_opt")]
    pub partner_id: Option<String>,
    #[serde(rename = "Settings", default)]
    pub settings: Vec<BTreeMap<String, serde_json::Value>>,
}

impl Device {
    /// The value of column `code`, as text.
    pub fn column(&self, code: &str) -> Option<String> {
        self.settings.iter().find_map(|s| {
            s.get(code).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.trim().to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        })
    }
}
