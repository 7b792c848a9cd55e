//! CSV import: any vendor's CSV or JSON export, read through a column profile, as a vendor
//! snapshot like any API's. For every vendor without a connector of its own.
//!
//! The profile (`[connections.NAME.columns]`) names, per role, the header aliases to look
//! for (matched ignoring case, spaces, `_`, `-` and `.`); a role the profile leaves out is
//! looked for under built-in aliases ([`Role::builtin`]). Roles: `account` (required),
//! `account_id`, `sku`, `sku_name`, `quantity`, `item_id`, `last_seen`, `unit_cost` (what one unit costs the MSP per month, in
//! the config's currency: the findings' cost and margin read it).
//!
//! Rows are summed: rows with the same account and SKU become one usage item whose
//! `quantity` attribute is the sum of their quantities (1 a row without a quantity column).
//! With an `item_id` column each row is an item of its own instead, and an item id that appears
//! twice for one SKU is an error (a file pasted together twice must not double a count). A bad
//! row anywhere fails the whole import, naming file, line, column and header, so a snapshot is
//! never made of half a file; the first [`MAX_ERRORS`] problems are reported together.
//!
//! Services: one per SKU ([`families`], key = the SKU's slug, units from `quantity`), and
//! `all`, every unit of the file (a SKU whose slug is `all` is shadowed by it).

mod args;
mod convert;
mod settings;

pub use args::{Args, FormatArg, absolute_path, aliases};
pub use settings::{Aliases, Columns, Format, Settings};

pub(crate) mod reader;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use secrecy::SecretString;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{ConnectorError, RetryPolicy};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, VendorSnapshot};

/// The class of every imported item (a file has no device types).
pub const CLASS: &str = "IMPORTED";
/// The key of the service that counts every unit of the file.
pub const ALL: &str = "all";
/// Problems listed in one failed import; the rest are counted.
pub const MAX_ERRORS: usize = 10;

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// The byte of a `delimiter` setting: one ASCII character, `\t` or `tab` for a tab.
pub fn delimiter_byte(d: &str) -> Result<u8, String> {
    match d {
        "\t" | "\\t" | "tab" | "TAB" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        s => Err(format!(
            "`{}` is not one character; use e.g. \",\", \";\", \"|\" or \"\\t\"",
            s.escape_debug()
        )),
    }
}

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Account,
    AccountId,
    Sku,
    SkuName,
    Quantity,
    ItemId,
    LastSeen,
    UnitCost,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Account,
        Role::AccountId,
        Role::Sku,
        Role::SkuName,
        Role::Quantity,
        Role::ItemId,
        Role::LastSeen,
        Role::UnitCost,
    ];

    /// The key in `[connections.NAME.columns]`.
    pub fn key(self) -> &'static str {
        match self {
            Role::Account => "account",
            Role::AccountId => "account_id",
            Role::Sku => "sku",
            Role::SkuName => "sku_name",
            Role::Quantity => "quantity",
            Role::ItemId => "item_id",
            Role::LastSeen => "last_seen",
            Role::UnitCost => "unit_cost",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Role::Account => "Customer",
            Role::AccountId => "Customer ID",
            Role::Sku => "Product",
            Role::SkuName => "Product Name",
            Role::Quantity => "Seats",
            Role::ItemId => "Device ID",
            Role::LastSeen => "Last Backup",
            Role::UnitCost => "Unit Cost",
        }
    }

    /// Headers looked for when the profile does not name any, best first (a name before a bare
    /// word that may be a number: `Company Name` before `Company`). Kept apart: no alias
    /// belongs to two roles, so one header never fills two. No money-like word (`Total`,
    /// `Amount`) is a quantity alias: summing prices as units would be silently wrong.
    pub fn builtin(self) -> &'static [&'static str] {
        match self {
            Role::Account => &[
                "customer name",
                "customer",
                "company name",
                "company",
                "client name",
                "client",
                "organization name",
                "organization",
                "organisation",
                "tenant name",
                "tenant",
                "account name",
                "account",
                "site name",
                "site",
            ],
            Role::AccountId => &[
                "account id",
                "customer id",
                "company id",
                "client id",
                "organization id",
                "tenant id",
                "site id",
            ],
            Role::Sku => &[
                "sku",
                "product",
                "product code",
                "product id",
                "service",
                "plan",
                "license",
                "license type",
                "edition",
            ],
            Role::SkuName => &[
                "sku name",
                "product name",
                "service name",
                "plan name",
                "description",
            ],
            Role::Quantity => &[
                "quantity", "qty", "count", "units", "seats", "licenses", "usage",
            ],
            Role::ItemId => &[
                "item id",
                "device id",
                "asset id",
                "user id",
                "serial number",
            ],
            Role::LastSeen => &[
                "last seen",
                "last contact",
                "last activity",
                "last check in",
                "last checkin",
                "last backup",
            ],
            // What one unit costs the MSP per month: never a price, which is the client's.
            Role::UnitCost => &["unit cost", "cost per unit", "partner cost", "cost price"],
        }
    }
}

/// The comparable form of a header: lowercase, without spaces, `_`, `-` and `.`.
pub fn normalize(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
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

/// Finds each role's column; an error when `account` is missing, when a role the profile names
/// matches no header, or when the matched header appears twice.
pub fn resolve(headers: &[String], columns: &Columns) -> Result<Resolved, String> {
    let roles: Vec<reader::RoleSpec> = Role::ALL
        .iter()
        .map(|r| reader::RoleSpec {
            key: r.key(),
            configured: columns.get(*r).map(Aliases::list),
            builtin: r.builtin(),
            required: *r == Role::Account,
        })
        .collect();
    reader::resolve_roles(headers, &roles, "csv").map(|cols| Resolved { cols })
}

/// What an import read: the snapshot and a line for `connect`'s check.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub snapshot: VendorSnapshot,
    pub rows: usize,
    pub columns: String,
}

/// Reads `bytes` (the file `file`) into a vendor snapshot, all or nothing.
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
        return Err(reader::empty_file(&shown, &table, reading, "csv", true));
    }
    let cols = if table.rows.is_empty() && table.headers.is_empty() {
        // No records and so no keys (`[]`): nothing to check the profile against.
        Resolved::default()
    } else {
        resolve(&table.headers, &settings.columns).map_err(|e| format!("{shown}: {e}"))?
    };
    let numbers = table.numbers(
        settings.decimal_separator.as_deref(),
        settings.thousands_separator.as_deref(),
    );
    convert::rows(&shown, &table, &cols, &numbers)
}

/// Built-in services: `all`, every unit of the file (handy for single-product exports).
pub fn services() -> Vec<ServiceDef> {
    vec![ServiceDef {
        key: ALL.into(),
        name: "All units".into(),
        classes: Some(vec![CLASS.to_string()]),
        quantity: Some("quantity".into()),
        ..ServiceDef::default()
    }]
}

/// One service per SKU the file holds, named by its `sku_name` when the file has one.
pub fn families() -> Vec<ServiceFamily> {
    vec![ServiceFamily {
        attr: "sku",
        name_attr: Some("sku_name"),
        key_suffix: "",
        name_suffix: "",
        quantity: Some("quantity"),
        classes: Some(&[CLASS]),
    }]
}

pub struct Csv {
    name: String,
    settings: Settings,
}

impl Csv {
    /// An import has no secrets, so `secret` is never called.
    pub fn new(
        name: &str,
        settings: &Settings,
        _secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        _retry: RetryPolicy,
    ) -> anyhow::Result<Csv> {
        Ok(Csv {
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
                "no file to import: run `reconcile sync {0} --file PATH`, or set `path` under [connections.{0}]",
                self.name
            )));
        };
        let mut settings = self.settings.clone();
        settings.allow_empty |= allow_empty;
        let name = self.name.clone();
        let imported = reader::read_and_import(&self.name, file.clone(), move |path, bytes| {
            import_for(
                reader::Reading {
                    connection: Some(&name),
                    connecting,
                },
                path,
                bytes,
                &settings,
            )
        })
        .await?;
        Ok((file, imported))
    }
}

#[async_trait]
impl Connector for Csv {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Csv
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let (file, i) = self.read(None, false, true).await?;
        Ok(format!(
            "read {}: {} row{} for {} account{} ({})",
            file.display(),
            i.rows,
            if i.rows == 1 { "" } else { "s" },
            i.snapshot.accounts.len(),
            if i.snapshot.accounts.len() == 1 {
                ""
            } else {
                "s"
            },
            i.columns
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let (file, i) = self.read(cx.file.as_deref(), cx.allow_empty, false).await?;
        cx.report("rows", i.rows);
        tracing::debug!(connection = %self.name, file = %file.display(), rows = i.rows, items = i.snapshot.items.len(), "imported");
        Ok(Snapshot::Vendor(i.snapshot))
    }
}

#[cfg(test)]
mod tests;
