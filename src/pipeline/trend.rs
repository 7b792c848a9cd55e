//! One company's lines over past billing periods (`reconcile history`): per period and product,
//! the vendor count on the latest and on the peak basis, the billed quantity, and the difference
//! and money as the configured basis reckons them. Each period is reconciled from its own stored
//! snapshots, exactly as `reconcile report --period` would; nothing is stored. The same
//! per-period findings are the points of the HTML report's charts ([`charts`]).

use anyhow::Result;
use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use crate::config::Config;
use crate::engine::{self, Basis, Finding};
use crate::output::report::html::{Charts, Point};
use crate::period::Period;
use crate::store::Store;

use super::input::with_input;
use super::snapshots::Scope;

/// One product of the company in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendRow {
    pub period: String,
    pub company: String,
    pub product: String,
    /// Units counted on the period's as-of snapshot.
    pub vendor_latest: Option<Decimal>,
    /// The highest count of any snapshot of the period.
    pub vendor_peak: Option<Decimal>,
    pub billed: Option<Decimal>,
    /// Actual minus billed and the monthly money, on the configured `[basis]`.
    pub difference: Option<Decimal>,
    pub monthly_impact: Option<Decimal>,
    pub currency: String,
    /// The finding's type on the configured basis (`match`, `under_billed`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// How many of the period's syncs the peak was taken over.
    pub snapshots: usize,
}

/// The last `months` periods up to the one `now` is in (oldest first), for company `company_id`
/// on PSA connection `psa` (only `product`, when given). Periods without a stored snapshot to
/// reconcile from (before the first sync, or pruned) are left out, each with why.
pub fn history(
    config: &Config,
    store: &Store,
    psa: &str,
    company_id: &str,
    product: Option<&str>,
    months: u32,
    now: Timestamp,
) -> Result<(Vec<TrendRow>, Vec<String>)> {
    let periods = periods_ending(
        Period::containing(now, config.period.anchor_day)?,
        months,
        config.period.anchor_day,
    )?;
    let on = |basis: Option<Basis>| {
        let mut c = config.clone();
        if let Some(b) = basis {
            c.basis.default = b;
            c.basis.services.clear();
        }
        c
    };
    let configs = [on(None), on(Some(Basis::Latest)), on(Some(Basis::Peak))];
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    'periods: for p in periods {
        let mut per_basis: Vec<Vec<Finding>> = Vec::new();
        for c in &configs {
            match with_input(c, store, Scope::Period(p), false, engine::findings) {
                Ok((findings, _)) => per_basis.push(
                    findings
                        .into_iter()
                        .filter(|f| {
                            f.psa_connection.as_deref() == Some(psa)
                                && f.company_id.as_deref() == Some(company_id)
                                && f.product.is_some()
                                && product.is_none_or(|want| {
                                    f.product
                                        .as_deref()
                                        .is_some_and(|p| p.eq_ignore_ascii_case(want))
                                })
                        })
                        .collect(),
                ),
                Err(e) => {
                    skipped.push(format!("{p}: {e:#}"));
                    continue 'periods;
                }
            }
        }
        let [configured, latest, peak] = <[Vec<Finding>; 3]>::try_from(per_basis)
            .unwrap_or_else(|_| unreachable!("one list per basis"));
        let actual_of = |list: &[Finding], product: &str| {
            list.iter()
                .find(|f| f.product.as_deref() == Some(product))
                .and_then(|f| f.actual)
        };
        for f in configured {
            let product = f.product.clone().unwrap_or_default();
            rows.push(TrendRow {
                period: p.to_string(),
                company: f.company.clone().unwrap_or_default(),
                vendor_latest: actual_of(&latest, &product),
                vendor_peak: actual_of(&peak, &product),
                snapshots: peak
                    .iter()
                    .find(|x| x.product.as_deref() == Some(product.as_str()))
                    .map(|x| x.snapshots)
                    .unwrap_or(0),
                product,
                billed: f.billed,
                difference: f.difference,
                monthly_impact: f.monthly_impact,
                currency: config.currency.clone(),
                kind: f.kind.as_str().to_string(),
            });
        }
    }
    rows.sort_by(|a, b| (&a.product, &a.period).cmp(&(&b.product, &b.period)));
    Ok((rows, skipped))
}

/// The `months` billing periods that end with `last`, oldest first.
pub fn periods_ending(last: Period, months: u32, anchor: i8) -> Result<Vec<Period>> {
    let mut periods = vec![last];
    for _ in 1..months {
        let first = periods[0];
        let before =
            Period::containing(first.start() - jiff::SignedDuration::from_nanos(1), anchor)?;
        periods.insert(0, before);
    }
    Ok(periods)
}

/// The points of the HTML report's charts: the `months` periods ending with `last` (the report's
/// own, whose points come from its findings), and for each earlier period that has stored
/// syncs every line's vendor count (on the configured basis) and billed quantity, reconciled
/// from that period's own snapshots as `report --period` would. Periods before the first stored
/// sync (or pruned) are blank, silently; a period that could not be reconciled for another
/// reason is blank and comes back with why.
pub fn charts(
    config: &Config,
    store: &Store,
    last: Period,
    months: u32,
) -> Result<(Charts, Vec<String>)> {
    let periods = periods_ending(last, months, config.period.anchor_day)?;
    // The first moment every connection with a stored sync had one: no earlier period can be
    // reconciled, and saying so for each would only be noise.
    let mut first = None;
    for name in config.connections.keys() {
        if let Some((t, _)) = store.ok_runs(name)?.into_iter().next() {
            first = Some(first.map_or(t, |f: Timestamp| f.max(t)));
        }
    }
    let mut charts = Charts {
        periods: periods.iter().map(ToString::to_string).collect(),
        ..Charts::default()
    };
    let mut skipped = Vec::new();
    let Some(first) = first else {
        return Ok((charts, skipped));
    };
    for p in &periods[..periods.len() - 1] {
        if p.last_instant() < first {
            continue;
        }
        match with_input(config, store, Scope::Period(*p), false, engine::findings) {
            Ok((findings, _)) => {
                for f in findings {
                    let (Some(psa), Some(id), Some(product)) =
                        (f.psa_connection, f.company_id, f.product)
                    else {
                        continue;
                    };
                    charts
                        .series
                        .entry((psa, id, product))
                        .or_default()
                        .push(Point {
                            period: p.to_string(),
                            vendor: f.actual,
                            billed: f.billed,
                        });
                }
            }
            Err(e) => skipped.push(format!("{p}: {e:#}")),
        }
    }
    Ok((charts, skipped))
}

/// A sparkline of `values` (`▁` lowest to `█` highest over `scale`; a space where a value is
/// unknown).
pub fn sparkline(values: &[Option<Decimal>], scale: (Decimal, Decimal)) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (lo, hi) = scale;
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if hi <= lo => BARS[3],
            Some(v) => {
                let at = ((*v - lo) / (hi - lo) * Decimal::from(7)).round();
                let i = at.to_usize().unwrap_or(0).min(7);
                BARS[i]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: i64) -> Option<Decimal> {
        Some(Decimal::from(n))
    }

    #[test]
    fn sparklines_scale_from_lowest_to_highest_and_leave_gaps() {
        let scale = (Decimal::from(10), Decimal::from(24));
        assert_eq!(
            sparkline(&[d(10), d(12), None, d(17), d(24)], scale),
            "▁▂ ▅█"
        );
        assert_eq!(
            sparkline(&[d(5), d(5)], (Decimal::from(5), Decimal::from(5))),
            "▄▄"
        );
    }
}
