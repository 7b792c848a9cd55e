//! The billing import's rows into the neutral model, with no file reading: every row one line
//! (never summed), companies from the company column (billable by the flag column, then the
//! status and type rules), agreements from the agreement column (else one per company), and
//! products from the distinct product identifiers with a price when all their rows agree; every
//! bad cell located by file, line, column and header.
//!
//! Read tolerantly, count strictly (issue 12): a row without its company (or `company_id`) cannot
//! be attributed and is set aside, counted and named in the snapshot's `set_aside`; an empty
//! company name beside a company id is the id. What the count depends on (the product, the
//! quantity and what is included, the dates that put a line in force, the billable flag) and the
//! money (with its decimal-separator hint) still refuse the file by line and column, since the
//! user can fix it; text columns (status, type, product name, agreement, cycle) are read as given.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::{DEFAULT_BILLING_CYCLE, Imported, MAX_ERRORS, META_PRICES, Resolved, Role, Settings};
use crate::connectors::csv::normalize;
use crate::connectors::csv::reader::{self, Table, parse_money, parse_quantity, parse_time};
use crate::model::{BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct, PsaSnapshot};

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

/// The table's rows into companies, agreements, lines and products, all or nothing: every bad
/// row is listed, the first [`MAX_ERRORS`] by file, line and column.
pub(super) fn rows(
    shown: &str,
    table: &Table,
    cols: &Resolved,
    settings: &Settings,
) -> Result<Imported, String> {
    let mut errors: Vec<String> = Vec::new();
    let mut set_aside: Vec<String> = Vec::new();
    let mut companies: Vec<CompanyAcc> = Vec::new();
    let mut company_index: HashMap<String, usize> = HashMap::new();
    let mut agreements: Vec<PsaAgreement> = Vec::new();
    let mut agreement_index: HashMap<String, usize> = HashMap::new();
    let mut products: Vec<ProductAcc> = Vec::new();
    let mut product_index: HashMap<String, usize> = HashMap::new();
    let mut lines: Vec<PsaLine> = Vec::new();
    let numbers = table.numbers(
        settings.decimal_separator.as_deref(),
        settings.thousands_separator.as_deref(),
    );

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
        // What attributes the row: without it the row is set aside, not the file refused.
        let attributes = match cols.get(Role::CompanyId) {
            Some(_) => Role::CompanyId,
            None => Role::Company,
        };
        if let Some((c, _)) = cell(attributes).filter(|(_, v)| v.is_empty()) {
            let what = format!("the {} is empty", attributes.key().replace('_', " "));
            set_aside.push(table.cell_error(shown, row.line, c, &what));
            continue;
        }
        let company_id = cell(attributes).map(|(_, v)| v.to_string());
        // A name the count does not depend on: unknown, the company is known by its id.
        let name = given(Role::Company)
            .map(|(_, v)| v.to_string())
            .or_else(|| company_id.clone());
        let product = required(Role::Product, &mut bad);
        let quantity = cell(Role::Quantity)
            .and_then(|(c, v)| parse_quantity(v, &numbers).map_err(|e| bad(c, e)).ok());
        let less_included = match given(Role::LessIncluded) {
            None => Some(Decimal::ZERO),
            Some((c, v)) => parse_quantity(v, &numbers).map_err(|e| bad(c, e)).ok(),
        };
        let mut money = |role: Role, what: &str| -> Option<Option<Decimal>> {
            match given(role) {
                None => Some(None),
                Some((c, v)) => parse_money(v, what, &numbers)
                    .map(Some)
                    .map_err(|e| bad(c, e))
                    .ok(),
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
            invoiced: None,
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
            set_aside,
            ..Default::default()
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
