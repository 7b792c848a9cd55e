//! CSV billing import: the recurring billing of a PSA without a connector, exported as a CSV or
//! JSON file (one row per billing line) and read through a column profile into a PSA snapshot
//! like any PSA API's. The PSA-side twin of the vendor import in `connectors/csv`, whose reader
//! (file decoding, BOM, delimiters, JSON arrays, header aliases, located errors, cell parsers)
//! it shares through `csv::reader`.
//!
//! The profile (`[connections.NAME.columns]`) names, per role, the header aliases to look for
//! (matched ignoring case, spaces, `_`, `-` and `.`); a role the profile leaves out is looked
//! for under built-in aliases ([`Role::builtin`]). Roles: `company` and `product` and
//! `quantity` (required), `company_id`, `product_name`, `less_included`, `unit_price`, `unit_cost`,
//! `agreement`, `billing_cycle`, `start_date`, `end_date`, `billable`, `status`,
//! `company_type`.
//!
//! Every row is one billing line; rows are never summed (two lines for one company and product
//! are two lines, both counted, as on a PSA). Companies come from the company column (id: the
//! `company_id` column, else the name), agreements from the agreement column (else one per
//! company), products from the distinct product identifiers (with a price when every row of
//! the product has the same one). A company's status, type and billable flag come from its
//! first row. A bad row anywhere fails the whole import, naming file, line, column and header,
//! so a snapshot is never made of half a file.

mod args;
mod convert;
mod settings;

pub use args::Args;
pub use settings::{Columns, Settings};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use secrecy::SecretString;

use crate::connectors::csv::reader::{self, RoleSpec};
use crate::connectors::csv::{Aliases, normalize};
use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{ConnectorError, RetryPolicy};
use crate::model::{PsaSnapshot, Snapshot};

/// Problems listed in one failed import; the rest are counted.
pub const MAX_ERRORS: usize = 10;
/// The billing cycle of an agreement when the file has no billing cycle column.
pub const DEFAULT_BILLING_CYCLE: &str = "Monthly";
/// The `meta` key (shown by `status`) saying the file has no prices.
pub const META_PRICES: &str = "unit prices";

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Company,
    CompanyId,
    Product,
    ProductName,
    Quantity,
    LessIncluded,
    UnitPrice,
    UnitCost,
    Agreement,
    BillingCycle,
    StartDate,
    EndDate,
    Billable,
    Status,
    CompanyType,
}

impl Role {
    pub const ALL: [Role; 15] = [
        Role::Company,
        Role::CompanyId,
        Role::Product,
        Role::ProductName,
        Role::Quantity,
        Role::LessIncluded,
        Role::UnitPrice,
        Role::UnitCost,
        Role::Agreement,
        Role::BillingCycle,
        Role::StartDate,
        Role::EndDate,
        Role::Billable,
        Role::Status,
        Role::CompanyType,
    ];

    /// The key in `[connections.NAME.columns]` (and, with `-`, the `--KEY-column` flag).
    pub fn key(self) -> &'static str {
        match self {
            Role::Company => "company",
            Role::CompanyId => "company_id",
            Role::Product => "product",
            Role::ProductName => "product_name",
            Role::Quantity => "quantity",
            Role::LessIncluded => "less_included",
            Role::UnitPrice => "unit_price",
            Role::UnitCost => "unit_cost",
            Role::Agreement => "agreement",
            Role::BillingCycle => "billing_cycle",
            Role::StartDate => "start_date",
            Role::EndDate => "end_date",
            Role::Billable => "billable",
            Role::Status => "status",
            Role::CompanyType => "company_type",
        }
    }

    fn required(self) -> bool {
        matches!(self, Role::Company | Role::Product | Role::Quantity)
    }

    fn example(self) -> &'static str {
        match self {
            Role::Company => "Client",
            Role::CompanyId => "Client ID",
            Role::Product => "Item Code",
            Role::ProductName => "Item Description",
            Role::Quantity => "Qty",
            Role::LessIncluded => "Included",
            Role::UnitPrice => "Rate",
            Role::UnitCost => "Our Cost",
            Role::Agreement => "Contract",
            Role::BillingCycle => "Frequency",
            Role::StartDate => "Start",
            Role::EndDate => "End",
            Role::Billable => "Bill?",
            Role::Status => "Client Status",
            Role::CompanyType => "Client Type",
        }
    }

    /// Headers looked for when the profile does not name any, best first. No alias belongs to
    /// two roles, so one header never fills two; no money word is a quantity alias.
    pub fn builtin(self) -> &'static [&'static str] {
        match self {
            Role::Company => &[
                "company name",
                "company",
                "customer name",
                "customer",
                "client name",
                "client",
                "account name",
                "account",
                "organization name",
                "organization",
            ],
            Role::CompanyId => &[
                "company id",
                "customer id",
                "client id",
                "account id",
                "account number",
                "customer number",
                "company identifier",
            ],
            Role::Product => &[
                "product identifier",
                "product id",
                "product code",
                "product",
                "item identifier",
                "item code",
                "item",
                "sku",
                "service code",
                "service",
            ],
            Role::ProductName => &[
                "product name",
                "product description",
                "item name",
                "item description",
                "service name",
                "description",
            ],
            Role::Quantity => &["quantity", "qty", "units", "seats", "count"],
            Role::LessIncluded => &[
                "less included",
                "included",
                "included quantity",
                "included units",
            ],
            Role::UnitPrice => &[
                "unit price",
                "price",
                "rate",
                "unit rate",
                "price each",
                "sell price",
            ],
            Role::UnitCost => &["unit cost", "cost", "cost each"],
            Role::Agreement => &[
                "agreement",
                "agreement name",
                "contract",
                "contract name",
                "recurring invoice",
                "subscription",
            ],
            Role::BillingCycle => &[
                "billing cycle",
                "billing frequency",
                "frequency",
                "cycle",
                "billing period",
                "interval",
            ],
            Role::StartDate => &["start date", "start", "effective date", "effective", "from"],
            Role::EndDate => &[
                "end date",
                "end",
                "cancelled date",
                "cancel date",
                "cancelled",
                "until",
                "to",
            ],
            // Not a bare `Billable`: exports often flag single lines with it, and a line's flag
            // must not decide its whole company.
            Role::Billable => &["company billable", "client billable", "billable client"],
            Role::Status => &[
                "company status",
                "customer status",
                "client status",
                "status",
            ],
            Role::CompanyType => &["company type", "customer type", "client type", "type"],
        }
    }
}

/// Which header index fills each role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    cols: BTreeMap<&'static str, usize>,
}

impl Resolved {
    fn get(&self, role: Role) -> Option<usize> {
        self.cols.get(role.key()).copied()
    }
}

/// Finds each role's column.
pub fn resolve(headers: &[String], columns: &Columns) -> Result<Resolved, String> {
    let roles: Vec<RoleSpec> = Role::ALL
        .iter()
        .map(|r| RoleSpec {
            key: r.key(),
            configured: columns.get(*r).map(Aliases::list),
            builtin: r.builtin(),
            required: r.required(),
        })
        .collect();
    reader::resolve_roles(headers, &roles, "csv-billing").map(|cols| Resolved { cols })
}

/// What an import read: the snapshot and a line for `connect`'s check.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub snapshot: PsaSnapshot,
    pub rows: usize,
    pub columns: String,
}

/// Reads `bytes` (the file `file`) into a PSA snapshot, all or nothing.
pub fn import(file: &Path, bytes: &[u8], settings: &Settings) -> Result<Imported, String> {
    import_for(reader::Reading::default(), file, bytes, settings)
}

/// [`import`] as `reading` says (the connection, named in the commands its errors suggest). A file
/// with no rows is refused unless `allow_empty`; accepted, a header is still checked against
/// the profile.
pub(crate) fn import_for(
    reading: reader::Reading<'_>,
    file: &Path,
    bytes: &[u8],
    settings: &Settings,
) -> Result<Imported, String> {
    let shown = file.display().to_string();
    let format = reader::format_of(file, settings.format);
    let table = reader::read_table(&shown, format, settings.delimiter.as_deref(), file, bytes)?;
    if table.rows.is_empty() && !settings.allow_empty {
        return Err(reader::empty_file(
            &shown,
            &table,
            reading,
            "csv-billing",
            false,
        ));
    }
    let cols = if table.rows.is_empty() && table.headers.is_empty() {
        // No records and so no keys (`[]`): nothing to check the profile against.
        Resolved::default()
    } else {
        resolve(&table.headers, &settings.columns).map_err(|e| format!("{shown}: {e}"))?
    };
    convert::rows(&shown, &table, &cols, settings)
}

pub struct CsvBilling {
    name: String,
    settings: Settings,
}

impl CsvBilling {
    /// An import has no secrets, so `secret` is never called.
    pub fn new(
        name: &str,
        settings: &Settings,
        _secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        _retry: RetryPolicy,
    ) -> anyhow::Result<CsvBilling> {
        Ok(CsvBilling {
            name: name.to_string(),
            settings: settings.clone(),
        })
    }

    fn invalid(&self, message: String) -> ConnectorError {
        ConnectorError::Invalid {
            connection: self.name.clone(),
            message,
        }
    }

    /// Reads the given file, else the configured one; `allow_empty` accepts a file with no rows
    /// this time; `connecting` is `connect`'s check.
    async fn read(
        &self,
        given: Option<&Path>,
        allow_empty: bool,
        connecting: bool,
    ) -> Result<(PathBuf, Imported), ConnectorError> {
        let Some(file) = self.settings.file(given) else {
            return Err(self.invalid(format!(
                "no billing file to import: run `reconcile sync {0} --file PATH`, or set `path` under [connections.{0}]",
                self.name
            )));
        };
        let mut settings = self.settings.clone();
        settings.allow_empty |= allow_empty;
        let name = self.name.clone();
        let imported = crate::connectors::csv::reader::read_and_import(
            &self.name,
            file.clone(),
            move |path, bytes| {
                import_for(
                    reader::Reading {
                        connection: Some(&name),
                        connecting,
                    },
                    path,
                    bytes,
                    &settings,
                )
            },
        )
        .await?;
        Ok((file, imported))
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

#[async_trait]
impl Connector for CsvBilling {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::CsvBilling
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let (file, i) = self.read(None, false, true).await?;
        let s = &i.snapshot;
        let billable = s.companies.iter().filter(|c| c.billable).count();
        Ok(format!(
            "read {}: {} for {} ({billable} billable) and {} ({}){}",
            file.display(),
            plural(i.rows, "line"),
            plural(s.companies.len(), "company").replace("companys", "companies"),
            plural(s.products.len(), "product"),
            i.columns,
            match s.meta.get(META_PRICES) {
                Some(_) => "; no unit price column, so the report shows quantities but no money",
                None => "",
            }
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let (file, i) = self.read(cx.file.as_deref(), cx.allow_empty, false).await?;
        cx.report("lines", i.rows);
        tracing::debug!(connection = %self.name, file = %file.display(), lines = i.rows, companies = i.snapshot.companies.len(), "imported billing");
        Ok(Snapshot::Psa(i.snapshot))
    }
}

#[cfg(test)]
mod tests;
