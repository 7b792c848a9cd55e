//! The vendor import's rows into the neutral model, with no file reading: the accounts of the
//! `account` column (id from `account_id` when there is one), rows of one account and SKU summed
//! into one `IMPORTED` item (or one item a row with an `item_id` column, an id twice for one SKU
//! being an error), and every bad cell located by file, line, column and header.
//!
//! Read tolerantly, count strictly (issue 12): a row without its account (or `account_id`, or
//! `item_id` where the file has one) cannot be attributed and is set aside, counted and named in
//! the snapshot's `set_aside`; a `last_seen` that cannot be read is unknown for that row (named
//! in the item's `odd_fields`); what the count depends on (the quantity, the SKU that picks the
//! service) still refuses the file, by line and column, since the user can fix it.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;

use super::reader::{self, NumberFormat, Pos, Table, parse_quantity, parse_time};
use super::{CLASS, Imported, MAX_ERRORS, Resolved, Role};
use crate::model::UNIT_COST_ATTR;
use crate::model::{UsageItem, VendorAccount, VendorSnapshot, slug};

/// One item being summed.
struct Acc {
    item: UsageItem,
    quantity: Decimal,
    lines: Vec<u64>,
    /// (units, unit cost) of each summed row that has a cost.
    costs: Vec<(Decimal, Decimal)>,
}

/// The table's rows into accounts and summed items (one item a row with an `item_id` column),
/// all or nothing: every bad row is listed, the first [`MAX_ERRORS`] by file, line and column.
pub(super) fn rows(
    shown: &str,
    table: &Table,
    cols: &Resolved,
    numbers: &NumberFormat,
) -> Result<Imported, String> {
    let mut errors: Vec<String> = Vec::new();
    let mut set_aside: Vec<String> = Vec::new();
    let mut accounts: Vec<VendorAccount> = Vec::new();
    let mut account_index: HashMap<String, usize> = HashMap::new();
    let mut items: Vec<Acc> = Vec::new();
    let mut item_index: HashMap<String, usize> = HashMap::new();
    let with_ids = cols.get(Role::ItemId).is_some();

    for row in &table.rows {
        let mut bad = |col: usize, message: String| {
            errors.push(format!(
                "{}: column `{}`: {message}",
                table.locate(
                    shown,
                    Pos {
                        line: row.line,
                        column: Some(col + 1)
                    }
                ),
                table.headers.get(col).map(String::as_str).unwrap_or("")
            ));
        };
        let cell = |role: Role| -> Option<(usize, &str)> {
            cols.get(role)
                .map(|c| (c, row.cells.get(c).map(|s| s.trim()).unwrap_or_default()))
        };
        let required = |role: Role, bad: &mut dyn FnMut(usize, String)| -> Option<String> {
            let (c, v) = cell(role)?;
            if v.is_empty() {
                bad(c, format!("the {} is empty", role.key().replace('_', " ")));
                None
            } else {
                Some(v.to_string())
            }
        };
        let text = |role: Role| {
            cell(role)
                .map(|(_, v)| v.to_string())
                .filter(|v| !v.is_empty())
        };
        // What attributes the row: without it the row is set aside, not the file refused.
        let unattributed = [Role::AccountId, Role::ItemId]
            .into_iter()
            .chain(cols.get(Role::AccountId).is_none().then_some(Role::Account))
            .find_map(|role| {
                cell(role)
                    .filter(|(_, v)| v.is_empty())
                    .map(|(c, _)| (role, c))
            });
        if let Some((role, c)) = unattributed {
            set_aside.push(format!(
                "{}: column `{}`: the {} is empty",
                table.locate(
                    shown,
                    Pos {
                        line: row.line,
                        column: Some(c + 1)
                    }
                ),
                table.headers.get(c).map(String::as_str).unwrap_or(""),
                role.key().replace('_', " ")
            ));
            continue;
        }
        let account_id = text(Role::AccountId).or_else(|| text(Role::Account));
        // A name the count does not depend on: unknown, the account is known by its id.
        let name = text(Role::Account).or_else(|| account_id.clone());
        let sku = match cols.get(Role::Sku) {
            Some(_) => required(Role::Sku, &mut bad).map(Some),
            None => Some(None),
        };
        let item_id = Some(text(Role::ItemId));
        let quantity = match cell(Role::Quantity) {
            None => Some(Decimal::ONE),
            Some((c, v)) => parse_quantity(v, numbers).map_err(|e| bad(c, e)).ok(),
        };
        // Unreadable, the last-seen date is unknown for this row (the count does not use it).
        let (last_seen, seen_odd) = match cell(Role::LastSeen) {
            Some((_, v)) if !v.is_empty() => match parse_time(v) {
                Ok(t) => (Some(Some(t)), false),
                Err(_) => (Some(None), true),
            },
            _ => (Some(None), false),
        };
        let sku_name = cell(Role::SkuName)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty());
        // Unreadable, the cost is unknown for this row (its count does not depend on it): the
        // findings then say their cost is unknown, never 0.
        let (unit_cost, cost_odd) = match cell(Role::UnitCost) {
            Some((_, v)) if !v.trim().is_empty() => match parse_quantity(v, numbers) {
                Ok(c) => (Some(c), false),
                Err(_) => (None, true),
            },
            _ => (None, false),
        };
        let (Some(name), Some(account_id), Some(sku), Some(item_id), Some(quantity), Some(seen)) =
            (name, account_id, sku, item_id, quantity, last_seen)
        else {
            continue;
        };
        if sku.as_deref().is_some_and(|s| slug(s).is_empty()) {
            let c = cols.get(Role::Sku).expect("a SKU was read");
            bad(
                c,
                format!(
                    "`{}` has no letter or digit to make a service key of",
                    sku.as_deref().unwrap_or_default()
                ),
            );
            continue;
        }

        if !account_index.contains_key(&account_id) {
            account_index.insert(account_id.clone(), accounts.len());
            accounts.push(VendorAccount {
                id: account_id.clone(),
                name: name.clone(),
                raw: None,
            });
        }
        let sku_slug = sku.as_deref().map(slug);
        let key = match (&item_id, &sku_slug) {
            (Some(i), Some(s)) => format!("{i}/{s}"),
            (Some(i), None) => i.clone(),
            (None, Some(s)) => format!("{account_id}/{s}"),
            (None, None) => account_id.clone(),
        };
        if let Some(&at) = item_index.get(&key) {
            let acc = &mut items[at];
            if with_ids {
                let c = cols.get(Role::ItemId).expect("with ids");
                bad(
                    c,
                    format!(
                        "item `{}`{} is already on line {}; each item id may appear once per SKU",
                        item_id.as_deref().unwrap_or_default(),
                        sku.as_deref()
                            .map(|s| format!(" with SKU `{s}`"))
                            .unwrap_or_default(),
                        acc.lines[0]
                    ),
                );
                continue;
            }
            acc.quantity += quantity;
            acc.lines.push(row.line);
            if seen_odd {
                acc.item
                    .attrs
                    .insert("odd_fields".into(), "last_seen".into());
            }
            if cost_odd {
                acc.item
                    .attrs
                    .insert("odd_fields".into(), "unit_cost".into());
            }
            // Rows summed into one item at different costs: its cost is the units' average.
            if let Some(c) = unit_cost {
                acc.costs.push((quantity, c));
            }
            if let Some(t) = seen
                && acc.item.last_contact.is_none_or(|c| c < t)
            {
                acc.item.last_contact = Some(t);
            }
            if let Some(n) = sku_name
                && !acc.item.attrs.contains_key("sku_name")
            {
                acc.item.attrs.insert("sku_name".into(), n);
            }
            continue;
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("account".to_string(), name.clone());
        if let Some(s) = &sku {
            attrs.insert("sku".to_string(), s.clone());
        }
        if let Some(n) = sku_name {
            attrs.insert("sku_name".to_string(), n);
        }
        if seen_odd {
            attrs.insert("odd_fields".to_string(), "last_seen".to_string());
        }
        if cost_odd {
            attrs.insert("odd_fields".to_string(), "unit_cost".to_string());
        }
        let item_name = match (&item_id, &sku) {
            (Some(i), _) => i.clone(),
            (None, Some(s)) => format!("{name} - {s}"),
            (None, None) => name.clone(),
        };
        item_index.insert(key.clone(), items.len());
        items.push(Acc {
            item: UsageItem {
                id: key,
                account_id: account_id.clone(),
                name: item_name,
                class: CLASS.to_string(),
                raw_class: sku.clone().unwrap_or_default(),
                online: None,
                last_contact: seen,
                pending_approval: false,
                attrs,
                raw: None,
            },
            quantity,
            lines: vec![row.line],
            costs: unit_cost.map(|c| (quantity, c)).into_iter().collect(),
        });
    }
    if !errors.is_empty() {
        return Err(reader::failed(&errors, MAX_ERRORS));
    }
    let rows = table.rows.len();
    let items = items
        .into_iter()
        .map(|mut a| {
            a.item
                .attrs
                .insert("quantity".into(), a.quantity.normalize().to_string());
            a.item.attrs.insert("rows".into(), a.lines.len().to_string());
            // A cost only when every summed row has one: the units' weighted average.
            if a.costs.len() == a.lines.len() && !a.costs.is_empty() {
                let units: Decimal = a.costs.iter().map(|(q, _)| *q).sum();
                let cost = if units.is_zero() {
                    a.costs[0].1
                } else {
                    (a.costs.iter().map(|(q, c)| q * c).sum::<Decimal>() / units).round_dp(4)
                };
                a.item
                    .attrs
                    .insert(UNIT_COST_ATTR.into(), cost.normalize().to_string());
            }
            // Kept for audits: where in the file the item came from.
            a.item.raw = Some(
                serde_json::json!({ "file": shown, "lines": a.lines, "quantity": a.quantity.normalize().to_string() })
                    .to_string(),
            );
            a.item
        })
        .collect();
    let columns = Role::ALL
        .iter()
        .filter_map(|r| {
            cols.get(*r)
                .map(|c| format!("{} = `{}`", r.key(), table.headers[c]))
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Imported {
        snapshot: VendorSnapshot {
            accounts,
            items,
            set_aside,
            ..VendorSnapshot::default()
        },
        rows,
        columns,
    })
}
