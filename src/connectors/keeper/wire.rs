//! Keeper Commander's JSON, as `msp-info --format json -v` prints it and as Service Mode wraps
//! it. Private to the connector: only `convert.rs` turns these into the neutral model.
//!
//! `msp-info` writes one object per managed company with the keys of its report columns:
//! `company_id`, `company_name`, `node`, `node_name` (verbose only), `plan`, `storage`,
//! `addons`, `allocated`, `active`. Commander leaves out keys whose value is null or an empty
//! string, so everything but the id is optional here. The array is read record by record
//! (`crate::http::decode_tolerant`): a company without its id is set aside, an odd value is
//! unknown for its company, and `convert` makes a company whose seat counts, plan or add-ons
//! were odd unreadable rather than count it.

use serde::Deserialize;
use serde_json::Value;

/// Service Mode's answer to `POST /api/v1/executecommand`:
/// `{"status": "success", "command": "msp-info", "data": [...]}`, or
/// `{"status": "error", "error": "..."}`; plain-text commands answer with `message`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub message: Option<Value>,
}

/// One managed company.
#[derive(Debug, Deserialize)]
pub struct Company {
    /// `mc_enterprise_id`: an integer.
    pub company_id: Id,
    /// `mc_enterprise_name`.
    #[serde(default)]
    pub company_name: Option<String>,
    /// The MSP node: its id with `-v`, its path without.
    #[serde(default)]
    pub node: Option<Id>,
    #[serde(default)]
    pub node_name: Option<String>,
    /// `product_id` with `-v` (`business`, `businessPlus`, ...), the display name without.
    #[serde(default)]
    pub plan: Option<String>,
    /// The file plan's display name (`100GB`, `1TB`).
    #[serde(default)]
    pub storage: Option<String>,
    /// With `-v` a list of `name` or `name:seats`; without, only how many there are.
    #[serde(default)]
    pub addons: Option<Addons>,
    /// `number_of_seats`: allocated licenses; -1 (or the raw 2147483647) means unlimited.
    #[serde(default)]
    pub allocated: Option<i64>,
    /// `number_of_users`: active users.
    #[serde(default)]
    pub active: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Id {
    Int(i64),
    Text(String),
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Int(n) => write!(f, "{n}"),
            Id::Text(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Addons {
    List(Vec<String>),
    Count(i64),
}
