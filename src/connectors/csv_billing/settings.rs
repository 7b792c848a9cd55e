//! `[connections.<name>]` with `kind = "csv-billing"`: the file, its format and delimiter, the
//! column profile, and which companies bill.

use serde::{Deserialize, Serialize};

use super::Args;
use super::{Role, expand_home, normalize};
use crate::connectors::csv::{Aliases, Format, delimiter_byte};
use crate::connectors::{self, Connector, KindInfo, KindSettings, SecretFn};
use crate::http::RetryPolicy;
use std::path::{Path, PathBuf};

/// `[connections.NAME.columns]`: the header aliases of each role.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_name: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub less_included: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_cycle: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billable: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Aliases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_type: Option<Aliases>,
}

impl Columns {
    pub fn get(&self, role: Role) -> Option<&Aliases> {
        self.slot(role).as_ref()
    }

    /// The field of `role`, to set it.
    pub fn slot(&self, role: Role) -> &Option<Aliases> {
        match role {
            Role::Company => &self.company,
            Role::CompanyId => &self.company_id,
            Role::Product => &self.product,
            Role::ProductName => &self.product_name,
            Role::Quantity => &self.quantity,
            Role::LessIncluded => &self.less_included,
            Role::UnitPrice => &self.unit_price,
            Role::UnitCost => &self.unit_cost,
            Role::Agreement => &self.agreement,
            Role::BillingCycle => &self.billing_cycle,
            Role::StartDate => &self.start_date,
            Role::EndDate => &self.end_date,
            Role::Billable => &self.billable,
            Role::Status => &self.status,
            Role::CompanyType => &self.company_type,
        }
    }

    pub fn set(&mut self, role: Role, aliases: Option<Aliases>) {
        let slot = match role {
            Role::Company => &mut self.company,
            Role::CompanyId => &mut self.company_id,
            Role::Product => &mut self.product,
            Role::ProductName => &mut self.product_name,
            Role::Quantity => &mut self.quantity,
            Role::LessIncluded => &mut self.less_included,
            Role::UnitPrice => &mut self.unit_price,
            Role::UnitCost => &mut self.unit_cost,
            Role::Agreement => &mut self.agreement,
            Role::BillingCycle => &mut self.billing_cycle,
            Role::StartDate => &mut self.start_date,
            Role::EndDate => &mut self.end_date,
            Role::Billable => &mut self.billable,
            Role::Status => &mut self.status,
            Role::CompanyType => &mut self.company_type,
        };
        *slot = aliases;
    }

    pub fn is_empty(&self) -> bool {
        Role::ALL.iter().all(|r| self.get(*r).is_none())
    }
}

/// `[connections.<name>]` with `kind = "csv-billing"`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The file `sync` reads when not given `--file` (`~/` is the home directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Default: from the file's extension (`.json` is JSON, anything else CSV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// One character (`";"`, `"\t"`); default: sniffed from the header line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
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
    /// Boxed: fifteen roles would make every connection's settings as large as this one's.
    #[serde(default)]
    pub columns: Box<Columns>,
    /// Company statuses (the `status` column) that count as billable; empty: every status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billable_statuses: Vec<String>,
    /// Company types (the `company_type` column, several split on `,` or `;`) of which a
    /// company needs one to count as billable; empty: every type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billable_company_types: Vec<String>,
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
        key: "csv-billing",
        name: "CSV billing import",
        role: connectors::Role::Psa,
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
        for (key, list) in [
            ("billable_statuses", &self.billable_statuses),
            ("billable_company_types", &self.billable_company_types),
        ] {
            if list.iter().any(|s| s.trim().is_empty()) {
                anyhow::bail!("[connections.{name}] {key} has an empty entry; remove it");
            }
        }
        Ok(())
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::CsvBilling::new(name, self, secret, retry)?))
    }
}
