//! `reconcile connect csv`: saves an import connection (file, format, column profile). There
//! is no secret; verifying means reading the file through the profile, every row of it.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::reader::check_separators;
use super::{Aliases, Columns, Format, Role, Settings, delimiter_byte};
use crate::connectors::{Common, ConnectArgs, KindSettings, NewConnection};

/// The column flags' rules, shown under `--help`.
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

/// Set up a CSV or JSON import: a vendor's export file read through a column profile.
#[derive(Debug, clap::Args)]
#[command(after_help = COLUMNS_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
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
    /// What separates decimals in the file's numbers: `.` or `,` (`--decimal-separator ,`
    /// reads `1.250,75` or `1250,75` as 1250.75) [default: a point; in a file not delimited by
    /// `,`, a comma in a number is refused as ambiguous unless this or --thousands-separator
    /// says what it is]
    #[arg(long, value_name = "CHAR")]
    pub decimal_separator: Option<String>,
    /// What groups thousands in the file's numbers: `,` `.` `' '` or `'` [default: `,` with a
    /// decimal point, none with a decimal comma]
    #[arg(long, value_name = "CHAR")]
    pub thousands_separator: Option<String>,
    /// Accept a file with a header but no rows as nothing in use (saved as `allow_empty`);
    /// `--allow-empty=false` refuses one again [default: refused, as an empty export is more
    /// often a broken one; `reconcile sync NAME --allow-empty` accepts one once]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub allow_empty: Option<bool>,
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
    /// Header of what one unit costs the MSP per month (the findings' cost and margin)
    #[arg(long = "unit-cost-column", value_name = "HEADER")]
    pub unit_cost: Vec<String>,
}

/// `--format` of the import connections.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
        }
    }
}

/// `--path` as saved: absolute, and text (the config file is UTF-8).
pub fn absolute_path(p: &Path) -> Result<String> {
    let abs = std::path::absolute(p)
        .with_context(|| format!("cannot resolve the path {}", p.display()))?;
    let Some(text) = abs.to_str() else {
        bail!(
            "the path {} is not valid UTF-8; rename the file or give another path",
            abs.display()
        );
    };
    Ok(text.to_string())
}

/// A column flag's aliases, refused when one of them is empty.
pub fn aliases(key: &str, list: &[String]) -> Result<Option<Aliases>> {
    if list.is_empty() {
        return Ok(None);
    }
    if list.iter().any(|h| h.trim().is_empty()) {
        bail!("--{}-column needs a header name", key.replace('_', "-"));
    }
    Ok(Some(Aliases::Many(list.to_vec())))
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    /// Keys without a flag keep their saved value, so the check reads the file the way the
    /// next sync will.
    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let saved = saved.cloned().unwrap_or_default();
        if let Some(d) = &self.delimiter {
            delimiter_byte(d).map_err(|e| anyhow::anyhow!("--delimiter: {e}"))?;
        }
        check_separators(
            self.decimal_separator.as_deref(),
            self.thousands_separator.as_deref(),
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "{}",
                e.replace("decimal_separator", "--decimal-separator")
                    .replace("thousands_separator", "--thousands-separator")
            )
        })?;
        let columns = Columns {
            account: aliases(Role::Account.key(), &self.account)?,
            account_id: aliases(Role::AccountId.key(), &self.account_id)?,
            sku: aliases(Role::Sku.key(), &self.sku)?,
            sku_name: aliases(Role::SkuName.key(), &self.sku_name)?,
            quantity: aliases(Role::Quantity.key(), &self.quantity)?,
            item_id: aliases(Role::ItemId.key(), &self.item_id)?,
            last_seen: aliases(Role::LastSeen.key(), &self.last_seen)?,
            unit_cost: aliases(Role::UnitCost.key(), &self.unit_cost)?,
        };
        // Either separator flag replaces both saved ones: they describe one file together.
        let (decimal_separator, thousands_separator) =
            if self.decimal_separator.is_some() || self.thousands_separator.is_some() {
                (self.decimal_separator, self.thousands_separator)
            } else {
                (saved.decimal_separator, saved.thousands_separator)
            };
        let settings = Settings {
            path: match &self.path {
                Some(p) => Some(absolute_path(p)?),
                None => saved.path,
            },
            format: self.format.map(Format::from).or(saved.format),
            delimiter: self.delimiter.or(saved.delimiter),
            decimal_separator,
            thousands_separator,
            allow_empty: self.allow_empty.unwrap_or(saved.allow_empty),
            // Any column flag replaces the whole saved profile.
            columns: if columns.is_empty() {
                saved.columns
            } else {
                columns
            },
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        let verify = !self.common.no_verify && settings.path.is_some();
        Ok(NewConnection {
            settings,
            secrets: Vec::new(),
            verify,
        })
    }
}
