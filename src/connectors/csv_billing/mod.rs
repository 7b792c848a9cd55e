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
mod settings;

pub use args::Args;
pub use settings::{Columns, Settings};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use jiff::Timestamp;
use rust_decimal::Decimal;
use secrecy::SecretString;

use crate::connectors::csv::reader::{
    self, RoleSpec, Table, parse_money, parse_quantity, parse_time,
};
use crate::connectors::csv::{Aliases, normalize};
use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{ConnectorError, RetryPolicy};
use crate::model::{
    BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct, PsaSnapshot, Snapshot,
};

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

/// A billable flag cell: yes/no in the usual spellings; `None` when it is neither.
fn parse_flag(cell: &str) -> Option<bool> {
    match normalize(cell).as_str() {
        "yes" | "y" | "true" | "1" | "x" | "billable" | "bill" => Some(true),
        "no" | "n" | "false" | "0" | "notbillable" | "nonbillable" | "donotbill" | "nocharge" => {
            Some(false)
        }
        _ => None,
    }
}

/// An end date given without a time is the last day billed: the line stops at the end of it.
fn parse_end(cell: &str) -> Result<Timestamp, String> {
    let t = parse_time(cell)?;
    let date_only = cell.trim().parse::<jiff::civil::Date>().is_ok()
        && !cell.contains(':')
        && cell.trim().len() <= 10;
    Ok(if date_only {
        t.checked_add(jiff::SignedDuration::from_hours(24))
            .unwrap_or(t)
    } else {
        t
    })
}

/// What an import read: the snapshot and a line for `connect`'s check.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub snapshot: PsaSnapshot,
    pub rows: usize,
    pub columns: String,
}

/// A company being built: the first row's status, types and flag.
struct CompanyAcc {
    company: PsaCompany,
    flag: Option<(bool, String)>,
}

/// One product's prices across its rows: `Some` while every row agrees.
struct ProductAcc {
    product: PsaProduct,
    price: Option<Option<Decimal>>,
    cost: Option<Option<Decimal>>,
}

fn agree(acc: &mut Option<Option<Decimal>>, v: Option<Decimal>) {
    match acc {
        None => *acc = Some(v),
        Some(prev) if *prev != v => *prev = None,
        _ => {}
    }
}

/// Reads `bytes` (the file `file`) into a PSA snapshot, all or nothing.
pub fn import(file: &Path, bytes: &[u8], settings: &Settings) -> Result<Imported, String> {
    let shown = file.display().to_string();
    let format = reader::format_of(file, settings.format);
    let table = reader::read_table(&shown, format, settings.delimiter.as_deref(), file, bytes)?;
    let cols = resolve(&table.headers, &settings.columns).map_err(|e| format!("{shown}: {e}"))?;
    convert(&shown, &table, &cols, settings)
}

fn convert(
    shown: &str,
    table: &Table,
    cols: &Resolved,
    settings: &Settings,
) -> Result<Imported, String> {
    let mut errors: Vec<String> = Vec::new();
    let mut companies: Vec<CompanyAcc> = Vec::new();
    let mut company_index: HashMap<String, usize> = HashMap::new();
    let mut agreements: Vec<PsaAgreement> = Vec::new();
    let mut agreement_index: HashMap<String, usize> = HashMap::new();
    let mut products: Vec<ProductAcc> = Vec::new();
    let mut product_index: HashMap<String, usize> = HashMap::new();
    let mut lines: Vec<PsaLine> = Vec::new();

    for row in &table.rows {
        let mut bad = |col: usize, message: String| {
            errors.push(table.cell_error(shown, row.line, col, &message));
        };
        let cell = |role: Role| -> Option<(usize, &str)> {
            cols.get(role)
                .map(|c| (c, row.cells.get(c).map(|s| s.trim()).unwrap_or_default()))
        };
        // A present, non-empty cell of an optional role.
        let given = |role: Role| cell(role).filter(|(_, v)| !v.is_empty());
        let required = |role: Role, bad: &mut dyn FnMut(usize, String)| -> Option<String> {
            let (c, v) = cell(role)?;
            if v.is_empty() {
                bad(c, format!("the {} is empty", role.key().replace('_', " ")));
                None
            } else {
                Some(v.to_string())
            }
        };
        let name = required(Role::Company, &mut bad);
        let company_id = match cols.get(Role::CompanyId) {
            Some(_) => required(Role::CompanyId, &mut bad),
            None => name.clone(),
        };
        let product = required(Role::Product, &mut bad);
        let quantity =
            cell(Role::Quantity).and_then(|(c, v)| parse_quantity(v).map_err(|e| bad(c, e)).ok());
        let less_included = match given(Role::LessIncluded) {
            None => Some(Decimal::ZERO),
            Some((c, v)) => parse_quantity(v).map_err(|e| bad(c, e)).ok(),
        };
        let mut money = |role: Role, what: &str| -> Option<Option<Decimal>> {
            match given(role) {
                None => Some(None),
                Some((c, v)) => parse_money(v, what).map(Some).map_err(|e| bad(c, e)).ok(),
            }
        };
        let unit_price = money(Role::UnitPrice, "unit price");
        let unit_cost = money(Role::UnitCost, "unit cost");
        let start = match given(Role::StartDate) {
            None => Some(None),
            Some((c, v)) => parse_time(v).map(Some).map_err(|e| bad(c, e)).ok(),
        };
        let end = match given(Role::EndDate) {
            None => Some(None),
            Some((c, v)) => parse_end(v).map(Some).map_err(|e| bad(c, e)).ok(),
        };
        if let (Some(Some(s)), Some(Some(e)), Some((c, v))) = (start, end, given(Role::EndDate))
            && e <= s
        {
            bad(c, format!("the end date `{v}` is before the start date"));
            continue;
        }
        let flag = match given(Role::Billable) {
            None => Some(None),
            Some((c, v)) => match parse_flag(v) {
                Some(b) => Some(Some((b, v.to_string()))),
                None => {
                    bad(
                        c,
                        format!(
                            "`{v}` is not a billable flag (write yes or no, true or false, 1 or 0)"
                        ),
                    );
                    None
                }
            },
        };
        let (
            Some(name),
            Some(company_id),
            Some(product),
            Some(quantity),
            Some(less_included),
            Some(unit_price),
            Some(unit_cost),
            Some(start),
            Some(end),
            Some(flag),
        ) = (
            name,
            company_id,
            product,
            quantity,
            less_included,
            unit_price,
            unit_cost,
            start,
            end,
            flag,
        )
        else {
            continue;
        };
        let product_name = given(Role::ProductName).map(|(_, v)| v.to_string());

        if !company_index.contains_key(&company_id) {
            let status = given(Role::Status)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            let types: Vec<String> = given(Role::CompanyType)
                .map(|(_, v)| {
                    v.split([',', ';'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            companies.push(CompanyAcc {
                company: PsaCompany {
                    id: company_id.clone(),
                    identifier: company_id.clone(),
                    name: name.clone(),
                    status,
                    types,
                    billable: true,
                    not_billable_reason: None,
                    raw: None,
                },
                flag: flag.clone(),
            });
            company_index.insert(company_id.clone(), companies.len() - 1);
        }

        let agreement_name = given(Role::Agreement).map(|(_, v)| v.to_string());
        let agreement_id = match &agreement_name {
            Some(a) => format!("{company_id}/{a}"),
            None => format!("{company_id}/"),
        };
        if !agreement_index.contains_key(&agreement_id) {
            agreement_index.insert(agreement_id.clone(), agreements.len());
            agreements.push(PsaAgreement {
                id: agreement_id.clone(),
                company_id: company_id.clone(),
                name: agreement_name
                    .clone()
                    .unwrap_or_else(|| format!("{name} (imported billing)")),
                agreement_type: None,
                // The file lists what is billed; whether a line is in force is up to its dates.
                status: "Active".into(),
                start: None,
                end: None,
                cancelled: false,
                billing_cycle: Some(
                    given(Role::BillingCycle)
                        .map(|(_, v)| v.to_string())
                        .unwrap_or_else(|| DEFAULT_BILLING_CYCLE.to_string()),
                ),
                raw: None,
            });
        }

        match product_index.get(&product) {
            Some(&pi) => {
                let p = &mut products[pi];
                agree(&mut p.price, unit_price);
                agree(&mut p.cost, unit_cost);
                if p.product.description.is_none() {
                    p.product.description = product_name.clone();
                }
            }
            None => {
                product_index.insert(product.clone(), products.len());
                products.push(ProductAcc {
                    product: PsaProduct {
                        id: product.clone(),
                        identifier: product.clone(),
                        description: product_name.clone(),
                        price: None,
                        cost: None,
                        inactive: false,
                        raw: None,
                    },
                    price: Some(unit_price),
                    cost: Some(unit_cost),
                });
            }
        }

        lines.push(PsaLine {
            // The row's place in the file: stable while the file is, and what an audit needs.
            id: format!("line-{}", row.line),
            agreement_id,
            company_id,
            product_id: Some(product.clone()),
            product_identifier: product,
            description: product_name,
            quantity,
            less_included,
            unit_price: unit_price.unwrap_or(Decimal::ZERO),
            unit_cost: unit_cost.unwrap_or(Decimal::ZERO),
            effective: start,
            cancelled: end,
            bill_customer: BillCustomer::Billable,
            raw: Some(
                serde_json::json!({
                    "file": shown,
                    "line": row.line,
                    "cells": table.headers.iter().zip(&row.cells).collect::<BTreeMap<_, _>>(),
                })
                .to_string(),
            ),
        });
    }
    if !errors.is_empty() {
        return Err(reader::failed(&errors, MAX_ERRORS));
    }

    let companies = companies
        .into_iter()
        .map(|mut acc| {
            let reason = billable_reason(&acc, settings, cols, table);
            acc.company.billable = reason.is_none();
            acc.company.not_billable_reason = reason;
            acc.company
        })
        .collect();
    let products = products
        .into_iter()
        .map(|acc| PsaProduct {
            price: acc.price.flatten(),
            cost: acc.cost.flatten(),
            ..acc.product
        })
        .collect();
    let mut meta = BTreeMap::new();
    if cols.get(Role::UnitPrice).is_none() {
        meta.insert(
            META_PRICES.to_string(),
            "none in the file: quantities are compared, but every finding's money is 0".to_string(),
        );
    }
    let columns = Role::ALL
        .iter()
        .filter_map(|r| {
            cols.get(*r)
                .map(|c| format!("{} = `{}`", r.key(), table.headers[c]))
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Imported {
        snapshot: PsaSnapshot {
            companies,
            agreements,
            lines,
            products,
            whole_units: false,
            meta,
        },
        rows: table.rows.len(),
        columns,
    })
}

/// Why a company is not a billable client under the connection's rules, or `None`.
fn billable_reason(
    acc: &CompanyAcc,
    settings: &Settings,
    cols: &Resolved,
    table: &Table,
) -> Option<String> {
    let c = &acc.company;
    let header = |role: Role| {
        cols.get(role)
            .and_then(|i| table.headers.get(i))
            .cloned()
            .unwrap_or_default()
    };
    if let Some((false, v)) = &acc.flag {
        return Some(format!("column `{}` says `{v}`", header(Role::Billable)));
    }
    if !settings.billable_statuses.is_empty()
        && !settings
            .billable_statuses
            .iter()
            .any(|s| s.trim().eq_ignore_ascii_case(c.status.trim()))
    {
        return Some(format!(
            "status `{}` is not in billable_statuses",
            if c.status.is_empty() {
                "(none)"
            } else {
                &c.status
            }
        ));
    }
    if !settings.billable_company_types.is_empty()
        && !c.types.iter().any(|t| {
            settings
                .billable_company_types
                .iter()
                .any(|b| b.trim().eq_ignore_ascii_case(t))
        })
    {
        return Some(format!(
            "type {} is not in billable_company_types",
            if c.types.is_empty() {
                "(none)".to_string()
            } else {
                c.types.join(", ")
            }
        ));
    }
    None
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

    async fn read(&self, given: Option<&Path>) -> Result<(PathBuf, Imported), ConnectorError> {
        let Some(file) = self.settings.file(given) else {
            return Err(self.invalid(format!(
                "no billing file to import: run `reconcile sync {0} --file PATH`, or set `path` under [connections.{0}]",
                self.name
            )));
        };
        let settings = self.settings.clone();
        let imported = crate::connectors::csv::reader::read_and_import(
            &self.name,
            file.clone(),
            move |path, bytes| import(path, bytes, &settings),
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
        let (file, i) = self.read(None).await?;
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
        let (file, i) = self.read(cx.file.as_deref()).await?;
        cx.report("lines", i.rows);
        tracing::debug!(connection = %self.name, file = %file.display(), lines = i.rows, companies = i.snapshot.companies.len(), "imported billing");
        Ok(Snapshot::Psa(i.snapshot))
    }
}

#[cfg(test)]
mod tests;
