//! The report per service offering (`report --by service`, and a section of the table): for
//! each PSA product across every client, the units billed and used, revenue, cost and margin
//! per month, and the clients where it loses money, largest loss first. The view a billing
//! manager reprices from.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use rust_decimal::Decimal;
use serde::Serialize;

use super::super::fit::{Col, Fit, fit, wrap};
use super::super::money::{amount, grouped};
use super::super::{CsvStyle, write_csv_styled, write_json};
use crate::engine::{Finding, FindingKind};

/// The CSV columns of `report --by service`, in this order (stable; append only).
pub const SERVICE_COLUMNS: &[&str] = &[
    "psa_connection",
    "product",
    "clients",
    "billed_qty",
    "actual_qty",
    "revenue_monthly",
    "cost_monthly",
    "margin_monthly",
    "margin_pct",
    "currency",
    "clients_losing_money",
    "losses",
    "clients_without_cost",
];

/// One PSA product across every client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceTotal {
    pub psa_connection: String,
    pub product: String,
    /// Clients with a line or usage on it.
    pub clients: usize,
    pub billed_qty: Decimal,
    pub actual_qty: Decimal,
    /// Revenue, cost and margin over the clients whose margin is known (so revenue − cost =
    /// margin); `None` when no client's cost comes from the vendor or `[cost]`.
    pub revenue_monthly: Option<Decimal>,
    pub cost_monthly: Option<Decimal>,
    pub margin_monthly: Option<Decimal>,
    pub margin_pct: Option<Decimal>,
    pub currency: String,
    pub clients_losing_money: usize,
    /// `Company: -12.00`, largest loss first, joined with "; ".
    pub losses: String,
    /// Clients whose margin is unknown (no cost, no price, or a stale source): not in revenue,
    /// cost and margin.
    pub clients_without_cost: usize,
}

/// Whether a finding is one client's line of a product (not a mapping gap, not the second row
/// a cost mismatch adds).
fn is_line(f: &Finding) -> bool {
    f.product.is_some()
        && f.company_id.is_some()
        && !matches!(
            f.kind,
            FindingKind::UnmappedAccount | FindingKind::UnmappedService | FindingKind::CostMismatch
        )
}

/// Per (PSA connection, product) over `findings`: worst margin first, products whose margin is
/// unknown last.
pub fn service_totals<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    currency: &str,
) -> Vec<ServiceTotal> {
    #[derive(Default)]
    struct Acc {
        clients: usize,
        billed: Decimal,
        actual: Decimal,
        revenue: Decimal,
        cost: Decimal,
        margin: Decimal,
        with_margin: usize,
        /// Some client's cost came from somewhere (not only "nothing used costs nothing").
        sourced: bool,
        losses: Vec<(Decimal, String)>,
        without: usize,
    }
    let mut by: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for f in findings.into_iter().filter(|f| is_line(f)) {
        let key = (
            f.psa_connection.clone().unwrap_or_default(),
            f.product.clone().unwrap_or_default(),
        );
        let a = by.entry(key).or_default();
        a.clients += 1;
        a.billed += f.billed.unwrap_or_default();
        a.actual += f.actual.unwrap_or_default();
        match (f.revenue, f.cost, f.margin) {
            (Some(r), Some(c), Some(m)) => {
                a.revenue += r;
                a.cost += c;
                a.margin += m;
                a.with_margin += 1;
                a.sourced |= !f.cost_source.is_empty();
                if m < Decimal::ZERO {
                    let who = f.company.clone().unwrap_or_default();
                    a.losses.push((m, who));
                }
            }
            _ => a.without += 1,
        }
    }
    let mut out: Vec<ServiceTotal> = by
        .into_iter()
        .map(|((psa, product), mut a)| {
            a.losses
                .sort_by(|x, y| x.0.cmp(&y.0).then_with(|| x.1.cmp(&y.1)));
            let known = a.with_margin > 0 && a.sourced;
            let money = |d: Decimal| known.then(|| amount(d, currency));
            ServiceTotal {
                psa_connection: psa,
                product,
                clients: a.clients,
                billed_qty: a.billed.normalize(),
                actual_qty: a.actual.normalize(),
                revenue_monthly: money(a.revenue),
                cost_monthly: money(a.cost),
                margin_monthly: money(a.margin),
                margin_pct: (known && !a.revenue.is_zero())
                    .then(|| (a.margin / a.revenue * Decimal::ONE_HUNDRED).round_dp(1)),
                currency: currency.to_string(),
                clients_losing_money: a.losses.len(),
                losses: a
                    .losses
                    .iter()
                    .map(|(m, who)| format!("{who}: {}", amount(*m, currency)))
                    .collect::<Vec<_>>()
                    .join("; "),
                clients_without_cost: if known { a.without } else { a.clients },
            }
        })
        .collect();
    out.sort_by(|a, b| match (a.margin_monthly, b.margin_monthly) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.product.cmp(&b.product)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.product.cmp(&b.product),
    });
    out
}

/// `report --by service` as CSV.
pub fn write_csv(out: &mut dyn Write, rows: &[ServiceTotal], style: CsvStyle) -> Result<()> {
    write_csv_styled(out, rows, SERVICE_COLUMNS, style)
}

/// `report --by service --format json`.
pub fn write_json_report(out: &mut dyn Write, rows: &[ServiceTotal], as_of: &str) -> Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        as_of: &'a str,
        services: &'a [ServiceTotal],
    }
    write_json(
        out,
        &Doc {
            as_of,
            services: rows,
        },
    )
}

/// The per-service table of the products with a known margin, and a line counting the rest
/// (wrapped to `width`).
pub fn table(
    rows: &[ServiceTotal],
    cur: &str,
    width: usize,
    color: bool,
) -> Option<(String, Option<String>)> {
    let known: Vec<&ServiceTotal> = rows.iter().filter(|r| r.margin_monthly.is_some()).collect();
    if known.is_empty() {
        return None;
    }
    let mut product = Col::new(
        "Product",
        1,
        Fit::Wrap {
            min: 10,
            max_lines: 3,
        },
    );
    let mut clients = Col::new("Clients", 4, Fit::Keep);
    let mut billed = Col::new("Billed", 5, Fit::Keep);
    let mut used = Col::new("Used", 5, Fit::Keep);
    let mut revenue = Col::new(format!("Revenue/mo ({cur})"), 3, Fit::Keep);
    let mut cost = Col::new(format!("Cost/mo ({cur})"), 3, Fit::Keep);
    let mut margin = Col::new(format!("Margin/mo ({cur})"), 0, Fit::Keep);
    let mut pct = Col::new("Margin %", 2, Fit::Keep);
    let mut losing = Col::new(
        "Loses money at",
        2,
        Fit::Wrap {
            min: 14,
            max_lines: 3,
        },
    );
    for r in &known {
        product.cells.push(r.product.clone());
        clients.cells.push(r.clients.to_string());
        billed.cells.push(grouped(r.billed_qty));
        used.cells.push(grouped(r.actual_qty));
        revenue
            .cells
            .push(r.revenue_monthly.map(grouped).unwrap_or_default());
        cost.cells
            .push(r.cost_monthly.map(grouped).unwrap_or_default());
        margin
            .cells
            .push(r.margin_monthly.map(grouped).unwrap_or_default());
        pct.cells.push(
            r.margin_pct
                .map(|p| format!("{} %", p.normalize()))
                .unwrap_or_default(),
        );
        losing.cells.push(r.losses.clone());
    }
    let t = fit(
        vec![
            product, clients, billed, used, revenue, cost, margin, pct, losing,
        ],
        width,
        color,
    );
    let unknown = rows.len() - known.len();
    let rest = (unknown > 0).then(|| {
        wrap(
            &format!(
                "{unknown} more product{} with no known cost (`[cost.\"<vendor>/<service>\"] unit_cost` sets one).",
                if unknown == 1 { "" } else { "s" }
            ),
            width,
            usize::MAX,
        )
        .0
        .join("\n")
    });
    Some((t.table.to_string(), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(company: &str, product: &str, revenue: i64, cost: Option<i64>) -> Finding {
        let mut f = crate::engine::blank_finding();
        f.kind = FindingKind::Match;
        f.psa_connection = Some("cw".into());
        f.company_id = Some(company.to_lowercase());
        f.company = Some(company.into());
        f.product = Some(product.into());
        f.billed = Some(Decimal::from(10));
        f.actual = Some(Decimal::from(10));
        f.revenue = Some(Decimal::from(revenue));
        f.cost = cost.map(Decimal::from);
        f.margin = cost.map(|c| Decimal::from(revenue - c));
        if cost.is_some() {
            f.cost_source = "vendor (pax8/ws)".into();
        }
        f
    }

    #[test]
    fn products_total_their_clients_worst_margin_first_with_the_losses_listed() {
        let mut mismatch = line("Acme", "WS", 100, Some(30));
        mismatch.kind = FindingKind::CostMismatch;
        let findings = vec![
            line("Acme", "WS", 100, Some(30)),
            line("Beta", "WS", 50, Some(70)),
            line("Gamma", "WS", 20, Some(60)),
            // The second row of a cost mismatch is not counted twice.
            mismatch,
            line("Acme", "BACKUP", 200, Some(20)),
            line("Beta", "BACKUP", 10, None),
            line("Acme", "EMAIL", 10, None),
            // Nothing used costs nothing, but says nothing of what the product costs.
            Finding {
                actual: Some(Decimal::ZERO),
                cost_source: String::new(),
                ..line("Beta", "EMAIL", 10, Some(0))
            },
        ];
        let t = service_totals(&findings, "USD");
        let products: Vec<&str> = t.iter().map(|s| s.product.as_str()).collect();
        assert_eq!(products, ["WS", "BACKUP", "EMAIL"]);
        let ws = &t[0];
        assert_eq!(ws.clients, 3);
        assert_eq!(ws.billed_qty, Decimal::from(30));
        assert_eq!(ws.revenue_monthly.unwrap().to_string(), "170.00");
        assert_eq!(ws.cost_monthly.unwrap().to_string(), "160.00");
        assert_eq!(ws.margin_monthly.unwrap().to_string(), "10.00");
        assert_eq!(ws.margin_pct.unwrap().to_string(), "5.9");
        assert_eq!(ws.clients_losing_money, 2);
        assert_eq!(ws.losses, "Gamma: -40.00; Beta: -20.00");
        // Beta's unknown cost leaves its revenue out too: revenue − cost = margin.
        let backup = &t[1];
        assert_eq!(backup.revenue_monthly.unwrap().to_string(), "200.00");
        assert_eq!(backup.margin_monthly.unwrap().to_string(), "180.00");
        assert_eq!(backup.clients_without_cost, 1);
        assert_eq!(t[2].margin_monthly, None);
        assert_eq!(t[2].clients_without_cost, 2);
        let (text, rest) = table(&t, "USD", 160, false).unwrap();
        assert!(text.contains("Gamma: -40.00"), "{text}");
        assert!(!text.contains("EMAIL"), "{text}");
        assert!(
            rest.unwrap()
                .starts_with("1 more product with no known cost"),
            "{text}"
        );
    }
}
