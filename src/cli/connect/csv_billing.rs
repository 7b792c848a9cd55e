//! `reconcile connect csv-billing`: saves a billing import connection (file, format, column
//! profile, billable-company rules) for a PSA without a connector. There is no secret;
//! verifying means reading the file through the profile, every row of it.

use anyhow::{Context, Result, bail};
use toml_edit::{Array, InlineTable, Value};

use super::Plan;
use crate::config::ConnectionSettings;
use crate::connectors::csv::{Aliases, Format, delimiter_byte};
use crate::connectors::csv_billing::{Columns, Role, Settings};

/// The column flags' rules, shown under `--help`.
const COLUMNS_HELP: &str =
    "Export your PSA's recurring billing (one row per billing line: client, product, \
quantity, and ideally price, agreement and dates) as CSV or JSON. Headers are matched ignoring \
case, spaces, `_`, `-` and `.`; repeat a column flag for several aliases, tried in order. A \
column without a flag is looked for under built-in aliases (Company, Customer, Client, ... for \
the company; Product ID, Product, Item Code, SKU, ... for the product; Quantity, Qty, Units, \
Seats for the quantity; Unit Price, Price, Rate for the price; Agreement, Contract for the \
agreement; Start Date, End Date; Company Status, Company Type, Company Billable). Running \
`connect` again replaces the saved file, profile and rules with the flags given.

Each row is one line (rows are not summed). Without a unit price column every price is 0 and \
the report shows quantities but no money. A bad row anywhere fails the whole import with its \
file, line and column.

Example:
  reconcile connect csv-billing --name psa --path ~/exports/billing.csv \\
      --product-column \"Item Code\" --unit-price-column \"Rate\" --billable-status Active
  reconcile sync psa --file ~/exports/billing-2024-06.csv";

#[derive(Debug, clap::Args)]
#[command(after_help = COLUMNS_HELP)]
pub struct Args {
    /// Connection name, used by other commands
    #[arg(long, default_value = "csv-billing")]
    pub name: String,
    /// The file `reconcile sync NAME` reads (saved as an absolute path); without it, give one
    /// each time with `reconcile sync NAME --file PATH`
    #[arg(long, value_name = "PATH")]
    pub path: Option<std::path::PathBuf>,
    /// File format [default: from the extension: .json is JSON, anything else CSV]
    #[arg(long, value_enum)]
    pub format: Option<super::csv::FormatArg>,
    /// CSV delimiter, one character (`;`, `|`, `\t`) [default: sniffed from the header line]
    #[arg(long)]
    pub delimiter: Option<String>,
    #[command(flatten)]
    pub columns: Box<ColumnFlags>,
    /// Company status that counts as billable (repeat for several); default every status
    #[arg(long = "billable-status", value_name = "STATUS")]
    pub billable_statuses: Vec<String>,
    /// Company type that counts as a billable client (repeat for several); default every type
    #[arg(long = "billable-type", value_name = "TYPE")]
    pub billable_types: Vec<String>,
    /// Save without reading the file
    #[arg(long)]
    pub no_verify: bool,
}

/// The per-role column flags (boxed in [`Args`]: fifteen lists would make every `connect`
/// command as large as this one).
#[derive(Debug, clap::Args)]
pub struct ColumnFlags {
    /// Header of the client company's name (required in the file)
    #[arg(long = "company-column", value_name = "HEADER")]
    pub company: Vec<String>,
    /// Header of the company's id or code [default: the name is the id]
    #[arg(long = "company-id-column", value_name = "HEADER")]
    pub company_id: Vec<String>,
    /// Header of the product identifier vendor services map to (required in the file)
    #[arg(long = "product-column", value_name = "HEADER")]
    pub product: Vec<String>,
    /// Header of the product's name or the line's description
    #[arg(long = "product-name-column", value_name = "HEADER")]
    pub product_name: Vec<String>,
    /// Header of the quantity billed (required in the file)
    #[arg(long = "quantity-column", value_name = "HEADER")]
    pub quantity: Vec<String>,
    /// Header of the units included at no charge [default: none]
    #[arg(long = "less-included-column", value_name = "HEADER")]
    pub less_included: Vec<String>,
    /// Header of the unit price [default: 0, and the report has no money impact]
    #[arg(long = "unit-price-column", value_name = "HEADER")]
    pub unit_price: Vec<String>,
    /// Header of the unit cost [default: 0]
    #[arg(long = "unit-cost-column", value_name = "HEADER")]
    pub unit_cost: Vec<String>,
    /// Header of the agreement or contract name [default: one agreement per company]
    #[arg(long = "agreement-column", value_name = "HEADER")]
    pub agreement: Vec<String>,
    /// Header of the billing cycle (Monthly, Quarterly, Annual) [default: Monthly]
    #[arg(long = "billing-cycle-column", value_name = "HEADER")]
    pub billing_cycle: Vec<String>,
    /// Header of the date a line starts billing [default: always]
    #[arg(long = "start-date-column", value_name = "HEADER")]
    pub start_date: Vec<String>,
    /// Header of the last day a line bills (a date alone includes that day) [default: never ends]
    #[arg(long = "end-date-column", value_name = "HEADER")]
    pub end_date: Vec<String>,
    /// Header of a yes/no flag: is the company a billable client (its first row decides)
    #[arg(long = "billable-column", value_name = "HEADER")]
    pub billable: Vec<String>,
    /// Header of the company's status (see --billable-status)
    #[arg(long = "status-column", value_name = "HEADER")]
    pub status: Vec<String>,
    /// Header of the company's type(s), several split on `,` or `;` (see --billable-type)
    #[arg(long = "company-type-column", value_name = "HEADER")]
    pub company_type: Vec<String>,
}

impl Args {
    /// What to save, and whether to verify it first (only when there is a file to read).
    pub fn plan(self) -> Result<(Plan, bool)> {
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
                Some(text.to_string())
            }
            None => None,
        };
        if let Some(d) = &self.delimiter {
            delimiter_byte(d).map_err(|e| anyhow::anyhow!("--delimiter: {e}"))?;
        }
        let flags: [(Role, &Vec<String>); 15] = [
            (Role::Company, &self.columns.company),
            (Role::CompanyId, &self.columns.company_id),
            (Role::Product, &self.columns.product),
            (Role::ProductName, &self.columns.product_name),
            (Role::Quantity, &self.columns.quantity),
            (Role::LessIncluded, &self.columns.less_included),
            (Role::UnitPrice, &self.columns.unit_price),
            (Role::UnitCost, &self.columns.unit_cost),
            (Role::Agreement, &self.columns.agreement),
            (Role::BillingCycle, &self.columns.billing_cycle),
            (Role::StartDate, &self.columns.start_date),
            (Role::EndDate, &self.columns.end_date),
            (Role::Billable, &self.columns.billable),
            (Role::Status, &self.columns.status),
            (Role::CompanyType, &self.columns.company_type),
        ];
        let mut columns = Box::<Columns>::default();
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
            columns.set(role, Some(Aliases::Many(list.clone())));
        }
        let settings = Settings {
            path,
            format: self.format.map(|f| match f {
                super::csv::FormatArg::Csv => Format::Csv,
                super::csv::FormatArg::Json => Format::Json,
            }),
            delimiter: self.delimiter.clone(),
            columns,
            billable_statuses: self.billable_statuses.clone(),
            billable_company_types: self.billable_types.clone(),
            secret_command: Default::default(),
        };
        let verify = !self.no_verify && settings.path.is_some();
        Ok((plan(&self.name, settings)?, verify))
    }
}

/// The plan saving `settings` as connection `name` (also what the demo calls): every key the
/// settings give, and the keys they leave out removed, so a re-connect replaces the profile.
pub fn plan(name: &str, settings: Settings) -> Result<Plan> {
    settings.validate(name)?;
    let mut values: Vec<(&'static str, Value)> = vec![("kind", Value::from("csv-billing"))];
    let mut remove: Vec<&'static str> = Vec::new();
    let mut opt = |key: &'static str, v: Option<Value>| match v {
        Some(v) => values.push((key, v)),
        None => remove.push(key),
    };
    opt("path", settings.path.as_deref().map(Value::from));
    opt(
        "format",
        settings.format.map(|f| {
            Value::from(match f {
                Format::Csv => "csv",
                Format::Json => "json",
            })
        }),
    );
    opt("delimiter", settings.delimiter.as_deref().map(Value::from));
    let mut table = InlineTable::new();
    for role in Role::ALL {
        if let Some(a) = settings.columns.get(role) {
            table.insert(
                role.key(),
                Value::Array(a.list().iter().map(String::as_str).collect::<Array>()),
            );
        }
    }
    opt(
        "columns",
        (!table.is_empty()).then(|| Value::InlineTable(table)),
    );
    let list = |l: &[String]| {
        (!l.is_empty()).then(|| Value::Array(l.iter().map(String::as_str).collect::<Array>()))
    };
    opt("billable_statuses", list(&settings.billable_statuses));
    opt(
        "billable_company_types",
        list(&settings.billable_company_types),
    );
    Ok(Plan {
        name: name.to_string(),
        settings: ConnectionSettings::CsvBilling(settings),
        values,
        remove,
        secrets: Vec::new(),
    })
}
