//! `reconcile connect csv-billing`: saves a billing import connection (file, format, column
//! profile, billable-company rules) for a PSA without a connector. There is no secret;
//! verifying means reading the file through the profile, every row of it.

use anyhow::Result;

use super::{Columns, Role, Settings};
use crate::connectors::csv::reader::check_separators;
use crate::connectors::csv::{FormatArg, absolute_path, aliases, delimiter_byte};
use crate::connectors::{Common, ConnectArgs, KindSettings, NewConnection};

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

/// Set up a CSV billing import: a PSA's billing export read through a column profile.
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
    #[command(flatten)]
    pub columns: Box<ColumnFlags>,
    /// Company status that counts as billable (repeat for several); default every status
    #[arg(long = "billable-status", value_name = "STATUS")]
    pub billable_statuses: Vec<String>,
    /// Company type that counts as a billable client (repeat for several); default every type
    #[arg(long = "billable-type", value_name = "TYPE")]
    pub billable_types: Vec<String>,
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

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
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
        let c = &self.columns;
        let flags: [(Role, &Vec<String>); 15] = [
            (Role::Company, &c.company),
            (Role::CompanyId, &c.company_id),
            (Role::Product, &c.product),
            (Role::ProductName, &c.product_name),
            (Role::Quantity, &c.quantity),
            (Role::LessIncluded, &c.less_included),
            (Role::UnitPrice, &c.unit_price),
            (Role::UnitCost, &c.unit_cost),
            (Role::Agreement, &c.agreement),
            (Role::BillingCycle, &c.billing_cycle),
            (Role::StartDate, &c.start_date),
            (Role::EndDate, &c.end_date),
            (Role::Billable, &c.billable),
            (Role::Status, &c.status),
            (Role::CompanyType, &c.company_type),
        ];
        let mut columns = Box::<Columns>::default();
        for (role, list) in flags {
            columns.set(role, aliases(role.key(), list)?);
        }
        let settings = Settings {
            path: self.path.as_deref().map(absolute_path).transpose()?,
            format: self.format.map(Into::into),
            delimiter: self.delimiter,
            decimal_separator: self.decimal_separator,
            thousands_separator: self.thousands_separator,
            allow_empty: self.allow_empty.unwrap_or(false),
            columns,
            billable_statuses: self.billable_statuses,
            billable_company_types: self.billable_types,
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
