//! `reconcile history`: how one company's usage and billing moved over the past months.

use std::io::Write;

use anyhow::Result;
use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::app::App;
use crate::cli::Exit;
use crate::output::{Format, money, new_table, qty, write_json};
use crate::pipeline::snapshots::{Current, Scope};
use crate::pipeline::trend::{TrendRow, history, sparkline};

/// Show one company's lines over the past billing periods: "since when?" when a count jumps.
///
/// Per period (oldest first) and product: the vendor count on the period's as-of snapshot
/// (latest) and the highest of any of its syncs (peak), the billed quantity, and the difference
/// and monthly money as the configured `[basis]` reckons them, with the finding's type. Each
/// period is reconciled from its own stored snapshots, as `reconcile report --period` would (with
/// today's mappings and config); nothing is stored. A period a `db prune` touched shows what it
/// reconciled to then (kept forever; `source` = kept, and "(kept)" in the table). A period with
/// no stored sync to reconcile from (before the first sync) is left out, and a line on stderr
/// says why.
///
/// On a terminal, a table and per product a sparkline of the peak vendor count and of the billed
/// quantity (▁ lowest to █ highest, on one scale). CSV columns (stable): period, company,
/// product, vendor_latest, vendor_peak, billed, difference, monthly_impact, currency, type,
/// snapshots, source.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The PSA company: its id, name or identifier (case and spacing do not matter)
    #[arg(value_name = "COMPANY", add = crate::cli::complete::companies_or_findings())]
    pub company: String,
    /// Only this product identifier (e.g. NINJA-WS); all of the company's products otherwise
    #[arg(value_name = "PRODUCT", add = crate::cli::complete::products())]
    pub product: Option<String>,
    /// How many billing periods, up to the current one
    #[arg(long, value_name = "N", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub months: u32,
    /// Output format [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Print JSON (the same as --format json)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    #[command(flatten)]
    pub csv: crate::output::CsvStyle,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let store = app.store_read()?;
        let now = Timestamp::now();
        let psas = Current::load_psas(&config, &store, Scope::Current, now)?;
        let (psa, company_id, _) = super::explain::find_company(&psas, &self.company)?;
        let (mut rows, skipped) = history(
            &config,
            &store,
            &psa,
            &company_id,
            self.product.as_deref(),
            self.months,
            now,
        )?;
        // Money in the currency's decimals, as `report` writes it.
        for r in &mut rows {
            r.monthly_impact = r
                .monthly_impact
                .map(|m| crate::output::money::amount(m, &r.currency));
        }
        for s in &skipped {
            app.warn(format!("period left out: {s}"));
        }
        if rows.is_empty() {
            anyhow::bail!(
                "no line of `{}`{} in the last {} period(s) to show (a product mapped to a vendor service, or a billing line, in a period with a stored sync)",
                self.company,
                self.product
                    .as_deref()
                    .map(|p| format!(" for product `{p}`"))
                    .unwrap_or_default(),
                self.months
            );
        }
        let format = match self.json {
            true => Format::Json,
            false => self.format.unwrap_or_else(Format::default_for_stdout),
        };
        let mut out = std::io::stdout().lock();
        match format {
            Format::Csv => crate::output::write_csv_styled(&mut out, &rows, &[], self.csv)?,
            Format::Json => write_json(&mut out, &rows)?,
            Format::Table => table(&mut out, &rows)?,
        }
        out.flush()?;
        Ok(Exit::Ok)
    }
}

fn opt(d: Option<Decimal>, f: fn(Decimal) -> String) -> String {
    d.map(f).unwrap_or_default()
}

fn table(out: &mut dyn Write, rows: &[TrendRow]) -> Result<()> {
    let mut t = new_table(&[
        "period",
        "product",
        "vendor (latest)",
        "vendor (peak)",
        "billed",
        "difference",
        "monthly impact",
        "type",
    ]);
    for r in rows {
        t.add_row(vec![
            match r.source {
                "kept" => format!("{} (kept)", r.period),
                _ => r.period.clone(),
            },
            r.product.clone(),
            opt(r.vendor_latest, qty),
            opt(r.vendor_peak, qty),
            opt(r.billed, qty),
            opt(r.difference, qty),
            r.monthly_impact
                .map(|m| format!("{} {}", money(m), r.currency))
                .unwrap_or_default(),
            r.kind.clone(),
        ]);
    }
    writeln!(out, "{t}")?;
    let mut products: Vec<&str> = rows.iter().map(|r| r.product.as_str()).collect();
    products.dedup();
    let periods: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.period.as_str()).collect();
    for p in products {
        let of = |f: fn(&TrendRow) -> Option<Decimal>| -> Vec<Option<Decimal>> {
            periods
                .iter()
                .map(|period| {
                    rows.iter()
                        .find(|r| r.product == p && r.period == *period)
                        .and_then(f)
                })
                .collect()
        };
        let peak = of(|r| r.vendor_peak);
        let billed = of(|r| r.billed);
        let known: Vec<Decimal> = peak.iter().chain(&billed).flatten().copied().collect();
        let lo = known.iter().min().copied().unwrap_or_default();
        let hi = known.iter().max().copied().unwrap_or_default();
        writeln!(
            out,
            "{p}: vendor peak {}  billed {}  ({} to {}, {} to {})",
            sparkline(&peak, (lo, hi)),
            sparkline(&billed, (lo, hi)),
            periods.first().copied().unwrap_or_default(),
            periods.last().copied().unwrap_or_default(),
            qty(lo),
            qty(hi)
        )?;
    }
    Ok(())
}
