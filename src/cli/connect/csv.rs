//! `reconcile connect csv`: saves an import connection (file, format, column profile). There
//! is no secret; verifying means reading the file through the profile, every row of it.

use anyhow::{Context, Result, bail};
use toml_edit::{Array, InlineTable, Value};

use super::Plan;
use crate::config::ConnectionSettings;
use crate::connectors::csv::{Aliases, Columns, Format, Role, Settings, delimiter_byte};

/// The column flags' rules, shown under `--help` (the subcommand's own text is its doc line in
/// `connect/mod.rs`).
const COLUMNS_HELP: &str =
    "Headers are matched ignoring case, spaces, `_`, `-` and `.`; repeat a column flag for \
several aliases, tried in order. A column without a flag is looked for under built-in aliases \
(Customer, Company, Client, Organization, Tenant, ... for the account; SKU, Product, Service, \
Plan, License, ... for the SKU; Quantity, Qty, Count, Units, Seats, Licenses, ... for the \
quantity). Giving any column flag replaces the whole saved profile.

Rows with the same account and SKU are summed into one item; with an item id column each row \
is an item of its own. A bad row anywhere (an empty account, a quantity that is not a number \
or is negative) fails the whole import with its file, line and column.

Example:
  reconcile connect csv --name backupco --path ~/exports/backupco.csv \\
      --account-column \"Client Name\" --sku-column Plan --quantity-column \"Protected GB\"
  reconcile sync backupco --file ~/exports/backupco-2024-06.csv";

#[derive(Debug, clap::Args)]
#[command(after_help = COLUMNS_HELP)]
pub struct Args {
    /// Connection name, used by other commands
    #[arg(long, default_value = "csv")]
    pub name: String,
    /// The file `reconcile sync NAME` reads (saved as an absolute path); without it, give one
    /// each time with `reconcile sync NAME --file PATH`
    #[arg(long, value_name = "PATH")]
    pub path: Option<std::path::PathBuf>,
    /// File format [default: from the extension: .json is JSON, anything else CSV]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV delimiter, one character (`;`, `|`, `\t`) [default: sniffed from the header line]
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Header of the vendor's customer name (required in the file)
    #[arg(long = "account-column", value_name = "HEADER")]
    pub account: Vec<String>,
    /// Header of the vendor's customer id [default: the account name is the id]
    #[arg(long = "account-id-column", value_name = "HEADER")]
    pub account_id: Vec<String>,
    /// Header of the SKU, product or service: one service per distinct value
    #[arg(long = "sku-column", value_name = "HEADER")]
    pub sku: Vec<String>,
    /// Header of a readable name for the SKU (shown as the service name)
    #[arg(long = "sku-name-column", value_name = "HEADER")]
    pub sku_name: Vec<String>,
    /// Header of the units (seats, GB, licenses) [default without a match: each row counts 1]
    #[arg(long = "quantity-column", value_name = "HEADER")]
    pub quantity: Vec<String>,
    /// Header of a per-row item id (device, user); rows are then not summed
    #[arg(long = "item-id-column", value_name = "HEADER")]
    pub item_id: Vec<String>,
    /// Header of a last-seen date or time
    #[arg(long = "last-seen-column", value_name = "HEADER")]
    pub last_seen: Vec<String>,
    /// Save without reading the file
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Json,
}

impl Args {
    /// What to save, and whether to verify it first (only when there is a file to read).
    /// `saved` is the connection's current settings, if it exists: keys without a flag stay as
    /// they are in the file, so the check uses them too.
    pub fn plan(self, saved: Option<Settings>) -> Result<(Plan, bool)> {
        let saved = saved.unwrap_or_default();
        let mut values: Vec<(&'static str, Value)> = vec![("kind", Value::from("csv"))];
        let path = match &self.path {
            Some(p) => {
                let abs = std::path::absolute(p)
                    .with_context(|| format!("cannot resolve the path {}", p.display()))?;
                let Some(text) = abs.to_str() else {
                    bail!(
                        "the path {} is not valid UTF-8; rename the file or give another path",
                        abs.display()
                    );
                };
                values.push(("path", Value::from(text)));
                Some(text.to_string())
            }
            None => saved.path.clone(),
        };
        let format = self
            .format
            .map(|f| match f {
                FormatArg::Csv => Format::Csv,
                FormatArg::Json => Format::Json,
            })
            .or(saved.format);
        if let Some(f) = self.format {
            values.push((
                "format",
                Value::from(match f {
                    FormatArg::Csv => "csv",
                    FormatArg::Json => "json",
                }),
            ));
        }
        if let Some(d) = &self.delimiter {
            delimiter_byte(d).map_err(|e| anyhow::anyhow!("--delimiter: {e}"))?;
            values.push(("delimiter", Value::from(d.as_str())));
        }
        let flags: [(Role, &Vec<String>); 7] = [
            (Role::Account, &self.account),
            (Role::AccountId, &self.account_id),
            (Role::Sku, &self.sku),
            (Role::SkuName, &self.sku_name),
            (Role::Quantity, &self.quantity),
            (Role::ItemId, &self.item_id),
            (Role::LastSeen, &self.last_seen),
        ];
        let mut columns = Columns::default();
        let mut table = InlineTable::new();
        for (role, list) in flags {
            if list.is_empty() {
                continue;
            }
            if list.iter().any(|h| h.trim().is_empty()) {
                bail!(
                    "--{}-column needs a header name",
                    role.key().replace('_', "-")
                );
            }
            let aliases = Some(Aliases::Many(list.clone()));
            match role {
                Role::Account => columns.account = aliases,
                Role::AccountId => columns.account_id = aliases,
                Role::Sku => columns.sku = aliases,
                Role::SkuName => columns.sku_name = aliases,
                Role::Quantity => columns.quantity = aliases,
                Role::ItemId => columns.item_id = aliases,
                Role::LastSeen => columns.last_seen = aliases,
            }
            table.insert(
                role.key(),
                Value::Array(list.iter().map(String::as_str).collect::<Array>()),
            );
        }
        if columns.is_empty() {
            columns = saved.columns.clone();
        } else {
            values.push(("columns", Value::InlineTable(table)));
        }
        let settings = Settings {
            path,
            format,
            delimiter: self.delimiter.clone().or(saved.delimiter.clone()),
            columns,
            secret_command: Default::default(),
        };
        settings.validate(&self.name)?;
        let verify = !self.no_verify && settings.path.is_some();
        Ok((
            Plan {
                name: self.name,
                settings: ConnectionSettings::Csv(settings),
                values,
                remove: Vec::new(),
                secrets: Vec::new(),
            },
            verify,
        ))
    }
}
