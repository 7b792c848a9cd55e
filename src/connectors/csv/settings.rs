//! `[connections.<name>]` with `kind = "csv"`: the file, its format and delimiter, and the column
//! profile that finds each role's header.

use serde::{Deserialize, Serialize};

use super::Args;
use super::{Role, delimiter_byte, expand_home, normalize};
use crate::connectors::{self, Connector, KindInfo, KindSettings, SecretFn};
use crate::http::RetryPolicy;
use crate::model::{ServiceDef, ServiceFamily};
use std::path::{Path, PathBuf};

/// `format = "csv" | "json"`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

/// One alias or a list of them (`account = "Customer"` or `account = ["Customer", "Client"]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Aliases {
    One(String),
    Many(Vec<String>),
}

impl Aliases {
    pub fn list(&self) -> Vec<String> {
        match self {
            Aliases::One(s) => vec![s.clone()],
            Aliases::Many(v) => v.clone(),
        }
    }
}

/// `[connections.NAME.columns]`: the header aliases of each role.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku_name: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<Aliases>,
}

impl Columns {
    pub(super) fn get(&self, role: Role) -> Option<&Aliases> {
        match role {
            Role::Account => self.account.as_ref(),
            Role::AccountId => self.account_id.as_ref(),
            Role::Sku => self.sku.as_ref(),
            Role::SkuName => self.sku_name.as_ref(),
            Role::Quantity => self.quantity.as_ref(),
            Role::ItemId => self.item_id.as_ref(),
            Role::LastSeen => self.last_seen.as_ref(),
            Role::UnitCost => self.unit_cost.as_ref(),
        }
    }

    pub fn is_empty(&self) -> bool {
        Role::ALL.iter().all(|r| self.get(*r).is_none())
    }
}

/// `[connections.<name>]` with `kind = "csv"`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The file `sync` reads when not given `--file` (relative to the working directory; `~/`
    /// is the home directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Default: from the file's extension (`.json` is JSON, anything else CSV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// One character (`";"`, `"\t"`); default: sniffed from the header line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(default)]
    pub columns: Columns,
    /// `"."` or `","`: what separates decimals in the file's numbers (CSV only; JSON numbers
    /// have a point). Default: a point, except that in a file not delimited by `,` a comma is
    /// ambiguous and refused unless this or `thousands_separator` says what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_separator: Option<String>,
    /// `","`, `"."`, `" "` or `"'"`: what groups thousands in the file's numbers (CSV only).
    /// Default: `,` with a decimal point, none with a decimal comma.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thousands_separator: Option<String>,
    /// Accept a file with a header but no rows as nothing in use (0 items). Default: refused,
    /// as an empty export is more often a broken one; `sync --allow-empty` accepts one once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_empty: bool,
}

impl Settings {
    /// The file to read: `--file` first, else `path`.
    pub fn file(&self, given: Option<&Path>) -> Option<PathBuf> {
        given
            .map(Path::to_path_buf)
            .or_else(|| self.path.as_deref().map(expand_home))
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "csv",
        name: "CSV import",
        role: connectors::Role::Vendor,
        secrets: &[],
        concurrency: 1,
        reads_files: true,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        if let Some(d) = &self.delimiter {
            delimiter_byte(d)
                .map_err(|e| anyhow::anyhow!("[connections.{name}] delimiter: {e}"))?;
        }
        crate::connectors::csv::reader::check_separators(
            self.decimal_separator.as_deref(),
            self.thousands_separator.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("[connections.{name}] {e}"))?;
        if self.path.as_deref().is_some_and(|p| p.trim().is_empty()) {
            anyhow::bail!(
                "[connections.{name}] path is empty; remove it, or name the file to import"
            );
        }
        for role in Role::ALL {
            if let Some(a) = self.columns.get(role) {
                let list = a.list();
                if list.is_empty() || list.iter().any(|s| normalize(s).is_empty()) {
                    anyhow::bail!(
                        "[connections.{name}.columns] {} needs at least one header name, and none empty (e.g. {} = [\"{}\"])",
                        role.key(),
                        role.key(),
                        role.example()
                    );
                }
            }
        }
        Ok(())
    }

    fn services() -> Vec<ServiceDef> {
        super::services()
    }

    fn families() -> Vec<ServiceFamily> {
        super::families()
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::Csv::new(name, self, secret, retry)?))
    }
}
