//! `reconcile map products`: the PSA's products, from its catalog and its recurring lines, so
//! that `map service ... --to IDENTIFIER` is never a guess.

use std::io::Write;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::cli::Exit;
use crate::config::Config;
use crate::connectors::Role;
use crate::mapping::{self, normalize};
use crate::output::fit::{Col, Fit, fit};
use crate::output::money::{grouped, price};
use crate::output::{CsvStyle, Format, table_width, write_csv_styled, write_json};
use crate::pipeline::snapshots::Current;
use crate::store::Store;

/// List the PSA's products: identifier (what `map service --to` takes), name, price, and how
/// many recurring lines and companies use each, with the vendor services mapped to it.
///
/// Read from the last synced snapshot of each PSA connection: its product catalog, and every
/// identifier its lines in force use (`lines only` when the catalog read does not list it).
/// Lines and companies count billable companies only, the ones `reconcile` compares.
/// Most-used first. CSV columns: psa_connection, identifier, name, status, catalog_price,
/// line_price_min, line_price_max, lines, companies, mapped_services.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this PSA connection's products
    #[arg(long, value_name = "PSA", add = crate::cli::complete::psas())]
    psa: Option<String>,
    /// Only products whose identifier or name contains TEXT (any case), or is close to it
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    csv: CsvStyle,
}

const COLUMNS: &[&str] = &[
    "psa_connection",
    "identifier",
    "name",
    "status",
    "catalog_price",
    "line_price_min",
    "line_price_max",
    "lines",
    "companies",
    "mapped_services",
];

#[derive(Debug, Serialize)]
struct Row {
    psa_connection: String,
    identifier: String,
    name: String,
    status: &'static str,
    catalog_price: Option<rust_decimal::Decimal>,
    line_price_min: Option<rust_decimal::Decimal>,
    line_price_max: Option<rust_decimal::Decimal>,
    lines: usize,
    companies: usize,
    /// `vendor/service` mapped to it, joined with "; ".
    mapped_services: String,
}

impl Args {
    pub fn run(self, config: &Config, store: &Store) -> Result<Exit> {
        if let Some(p) = &self.psa {
            let kind = config.connection(p)?.kind();
            if kind.role() != Role::Psa {
                bail!("`{p}` is not a PSA connection; --psa takes a PSA connection name");
            }
        }
        let cur = Current::load(config, store)?;
        if cur.psas.is_empty() {
            bail!(
                "no PSA connection has synced data; connect one (`reconcile connect connectwise ...`) and run `reconcile sync`"
            );
        }
        let currency = config.currency.as_str();
        let services = store.service_mappings()?;
        let now = jiff::Timestamp::now();
        let mut rows = Vec::new();
        for (conn, _, snap) in &cur.psas {
            if self.psa.as_deref().is_some_and(|p| p != conn) {
                continue;
            }
            for p in mapping::products(snap, now) {
                if let Some(q) = &self.search
                    && !matches_search(q, &p.identifier, &p.name)
                {
                    continue;
                }
                let mapped: Vec<String> = services
                    .iter()
                    .filter(|m| {
                        m.target.as_ref().is_some_and(|t| {
                            &t.connection == conn && t.product_identifier == p.identifier
                        })
                    })
                    .map(|m| format!("{}/{}", m.vendor_connection, m.service_key))
                    .collect();
                rows.push(Row {
                    psa_connection: conn.clone(),
                    identifier: p.identifier,
                    name: p.name,
                    status: p.status,
                    catalog_price: p.catalog_price.map(|d| price(d, currency)),
                    line_price_min: p.line_prices.map(|(lo, _)| price(lo, currency)),
                    line_price_max: p.line_prices.map(|(_, hi)| price(hi, currency)),
                    lines: p.lines,
                    companies: p.companies,
                    mapped_services: mapped.join("; "),
                });
            }
        }
        let mut out = std::io::stdout().lock();
        match self.format {
            Format::Csv => write_csv_styled(&mut out, &rows, COLUMNS, self.csv)?,
            Format::Json => write_json(&mut out, &rows)?,
            Format::Table if rows.is_empty() => writeln!(
                out,
                "No product{}.",
                self.search
                    .as_deref()
                    .map(|q| format!(" matches `{q}`"))
                    .unwrap_or_default()
            )?,
            Format::Table => {
                let several = cur.psas.len() > 1 && self.psa.is_none();
                let mut psa = Col::new("PSA", 2, Fit::Keep);
                let mut id = Col::new("Identifier", 0, Fit::Keep);
                let mut name = Col::new(
                    "Name",
                    1,
                    Fit::Wrap {
                        min: 12,
                        max_lines: 2,
                    },
                );
                let mut status = Col::new("Status", 5, Fit::Keep);
                let mut price_col = Col::new(format!("Price ({currency})"), 3, Fit::Keep);
                let mut lines = Col::new("Lines", 2, Fit::Keep);
                let mut companies = Col::new("Companies", 4, Fit::Keep);
                let mut mapped = Col::new(
                    "Mapped from",
                    4,
                    Fit::Wrap {
                        min: 14,
                        max_lines: 3,
                    },
                );
                for r in &rows {
                    psa.cells.push(r.psa_connection.clone());
                    id.cells.push(r.identifier.clone());
                    name.cells.push(r.name.clone());
                    status.cells.push(r.status.to_string());
                    price_col.cells.push(price_cell(r));
                    lines.cells.push(r.lines.to_string());
                    companies.cells.push(r.companies.to_string());
                    mapped.cells.push(r.mapped_services.clone());
                }
                let mut cols = Vec::new();
                if several {
                    cols.push(psa);
                }
                cols.extend([id, name, status, price_col, lines, companies, mapped]);
                let fitted = fit(cols, table_width(), false);
                writeln!(out, "{}", fitted.table)?;
                writeln!(
                    out,
                    "{} product(s). Map a service to one: reconcile map service <vendor> <service> --to <identifier>",
                    rows.len()
                )?;
            }
        }
        Ok(Exit::Ok)
    }
}

/// The catalog price, and the lines' prices when they differ from it: `45.00 (lines 40.00–49.00)`.
fn price_cell(r: &Row) -> String {
    let lines = match (r.line_price_min, r.line_price_max) {
        (Some(lo), Some(hi)) if lo == hi => grouped(lo),
        (Some(lo), Some(hi)) => format!("{}–{}", grouped(lo), grouped(hi)),
        _ => String::new(),
    };
    match r.catalog_price {
        Some(c) if lines.is_empty() || lines == grouped(c) => grouped(c),
        Some(c) => format!("{} (lines {lines})", grouped(c)),
        None => lines,
    }
}

/// `--search`: a substring of the identifier or the name (any case), or a name close to it.
fn matches_search(query: &str, identifier: &str, name: &str) -> bool {
    let q = normalize(query);
    normalize(identifier).contains(&q)
        || normalize(name).contains(&q)
        || mapping::similarity(query, name) >= mapping::SUGGESTION_THRESHOLD
        || mapping::similarity(query, identifier) >= mapping::SUGGESTION_THRESHOLD
}
