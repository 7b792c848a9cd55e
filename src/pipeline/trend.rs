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
use crate::store::{PeriodLine, Store};

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
    /// `reconciled` (from the period's stored syncs, now) or `kept` (what the period reconciled
    /// to when `db prune` dropped its records).
    pub source: &'static str,
    /// The count on the configured basis (the difference's), for the HTML charts.
    #[serde(skip)]
    pub vendor: Option<Decimal>,
    #[serde(skip)]
    pub psa_connection: String,
    #[serde(skip)]
    pub company_id: String,
}

impl TrendRow {
    fn kept(l: PeriodLine) -> TrendRow {
        TrendRow {
            period: l.period,
            company: l.company,
            product: l.product,
            vendor_latest: l.vendor_latest,
            vendor_peak: l.vendor_peak,
            billed: l.billed,
            difference: l.difference,
            monthly_impact: l.monthly_impact,
            currency: l.currency,
            kind: l.kind,
            snapshots: l.snapshots,
            source: "kept",
            vendor: l.vendor,
            psa_connection: l.psa_connection,
            company_id: l.company_id,
        }
    }

    fn to_line(&self) -> PeriodLine {
        PeriodLine {
            period: self.period.clone(),
            psa_connection: self.psa_connection.clone(),
            company_id: self.company_id.clone(),
            product: self.product.clone(),
            company: self.company.clone(),
            vendor: self.vendor,
            vendor_latest: self.vendor_latest,
            vendor_peak: self.vendor_peak,
            billed: self.billed,
            difference: self.difference,
            monthly_impact: self.monthly_impact,
            currency: self.currency.clone(),
            kind: self.kind.clone(),
            snapshots: self.snapshots,
        }
    }
}

/// Every line of period `p` that `keep` keeps (a company's product), reconciled from the
/// period's own stored syncs three times: on the configured basis, on latest and on peak.
fn reconcile_period(
    config: &Config,
    store: &Store,
    p: Period,
    keep: &dyn Fn(&Finding) -> bool,
) -> Result<Vec<TrendRow>> {
    let on = |basis: Option<Basis>| {
        let mut c = config.clone();
        if let Some(b) = basis {
            c.basis.default = b;
            c.basis.services.clear();
        }
        c
    };
    let mut per_basis: Vec<Vec<Finding>> = Vec::new();
    for c in [on(None), on(Some(Basis::Latest)), on(Some(Basis::Peak))] {
        let (findings, _) = with_input(&c, store, Scope::Period(p), false, engine::findings)?;
        per_basis.push(
            findings
                .into_iter()
                .filter(|f| {
                    f.psa_connection.is_some()
                        && f.company_id.is_some()
                        && f.product.is_some()
                        && keep(f)
                })
                .collect(),
        );
    }
    let [configured, latest, peak] = <[Vec<Finding>; 3]>::try_from(per_basis)
        .unwrap_or_else(|_| unreachable!("one list per basis"));
    let same = |a: &Finding, b: &Finding| {
        a.psa_connection == b.psa_connection
            && a.company_id == b.company_id
            && a.product == b.product
    };
    let mut rows = Vec::new();
    for f in &configured {
        let on_latest = latest.iter().find(|x| same(x, f));
        let on_peak = peak.iter().find(|x| same(x, f));
        rows.push(TrendRow {
            period: p.to_string(),
            company: f.company.clone().unwrap_or_default(),
            product: f.product.clone().unwrap_or_default(),
            vendor_latest: on_latest.and_then(|x| x.actual),
            vendor_peak: on_peak.and_then(|x| x.actual),
            billed: f.billed,
            difference: f.difference,
            monthly_impact: f.monthly_impact,
            currency: config.currency.clone(),
            kind: f.kind.as_str().to_string(),
            snapshots: on_peak.map(|x| x.snapshots).unwrap_or(0),
            source: "reconciled",
            vendor: f.actual,
            psa_connection: f.psa_connection.clone().unwrap_or_default(),
            company_id: f.company_id.clone().unwrap_or_default(),
        });
    }
    Ok(rows)
}

/// The last `months` periods up to the one `now` is in (oldest first), for company `company_id`
/// on PSA connection `psa` (only `product`, when given). A period a `db prune` touched shows
/// the lines it kept then; any other is reconciled from its stored syncs. Periods with neither
/// (before the first sync) are left out, each with why.
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
    let kept = store.kept_periods()?;
    let wanted = |p: &str| product.is_none_or(|want| p.eq_ignore_ascii_case(want));
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for p in periods {
        let label = p.to_string();
        if kept.contains(&label) {
            rows.extend(
                store
                    .period_lines(&label, Some((psa, company_id)))?
                    .into_iter()
                    .filter(|l| wanted(&l.product))
                    .map(TrendRow::kept),
            );
            continue;
        }
        let keep = |f: &Finding| {
            f.psa_connection.as_deref() == Some(psa)
                && f.company_id.as_deref() == Some(company_id)
                && f.product.as_deref().is_some_and(wanted)
        };
        match reconcile_period(config, store, p, &keep) {
            Ok(r) => rows.extend(r),
            Err(e) => skipped.push(format!("{p}: {e:#}")),
        }
    }
    rows.sort_by(|a, b| (&a.product, &a.period).cmp(&(&b.product, &b.period)));
    Ok((rows, skipped))
}

/// Before `db prune` drops the records of syncs finished before `cutoff`: every billing period
/// from the oldest stored sync's to the one `cutoff` is in that has no kept lines yet is
/// reconciled (every company's lines, on the three bases), and its lines are kept
/// with what each vendor service counted per account on every basis, whatever it is mapped to
/// ([`Store::keep_period`]). Returns the periods kept, and why any period could not be.
pub fn keep_before_prune(
    config: &Config,
    store: &mut Store,
    cutoff: Timestamp,
) -> Result<(Vec<String>, Vec<String>)> {
    let periods = periods_to_keep(config, store, cutoff)?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for p in periods {
        let counts = with_input(
            config,
            store,
            Scope::Period(p),
            false,
            engine::service_counts,
        );
        match reconcile_period(config, store, p, &|_| true).and_then(|r| Ok((r, counts?.0))) {
            Ok((rows, counts)) => {
                let lines: Vec<PeriodLine> = rows.iter().map(TrendRow::to_line).collect();
                store.keep_period(&p.to_string(), &lines, &counts)?;
                done.push(p.to_string());
            }
            Err(e) => failed.push(format!("{p}: {e:#}")),
        }
    }
    Ok((done, failed))
}

/// When each configured connection's oldest kept successful sync finished (those with one).
fn oldest_syncs(config: &Config, store: &Store) -> Result<Vec<Timestamp>> {
    let mut out = Vec::new();
    for name in config.connections.keys() {
        out.extend(store.oldest_ok_run_time(name)?);
    }
    Ok(out)
}

/// The periods [`keep_before_prune`] would keep (for `db prune --dry-run`).
pub fn periods_to_keep(config: &Config, store: &Store, cutoff: Timestamp) -> Result<Vec<Period>> {
    let anchor = config.period.anchor_day;
    let Some(oldest) = oldest_syncs(config, store)?
        .into_iter()
        .min()
        .filter(|o| *o < cutoff)
    else {
        return Ok(Vec::new());
    };
    let kept = store.kept_periods()?;
    let mut p = Period::containing(oldest, anchor)?;
    let last = Period::containing(cutoff, anchor)?;
    let mut out = Vec::new();
    loop {
        if !kept.contains(&p.to_string()) {
            out.push(p);
        }
        if p == last {
            break;
        }
        p = Period::containing(
            p.last_instant() + jiff::SignedDuration::from_nanos(1),
            anchor,
        )?;
    }
    Ok(out)
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
/// from that period's own snapshots as `report --period` would, or for a period a `db prune`
/// touched, the lines it kept then. Periods before the first stored sync are blank, silently;
/// a period that could not be reconciled for another reason is blank and comes back with why.
pub fn charts(
    config: &Config,
    store: &Store,
    last: Period,
    months: u32,
) -> Result<(Charts, Vec<String>)> {
    let periods = periods_ending(last, months, config.period.anchor_day)?;
    // The first moment every connection with a stored sync had one: no earlier period can be
    // reconciled, and saying so for each would only be noise.
    let first = oldest_syncs(config, store)?.into_iter().max();
    let mut charts = Charts {
        periods: periods.iter().map(ToString::to_string).collect(),
        ..Charts::default()
    };
    let mut skipped = Vec::new();
    let kept = store.kept_periods()?;
    let mut add = |p: &Period, psa: String, id: String, product: String, vendor, billed| {
        charts
            .series
            .entry((psa, id, product))
            .or_default()
            .push(Point {
                period: p.to_string(),
                vendor,
                billed,
            });
    };
    for p in &periods[..periods.len() - 1] {
        if kept.contains(&p.to_string()) {
            for l in store.period_lines(&p.to_string(), None)? {
                add(
                    p,
                    l.psa_connection,
                    l.company_id,
                    l.product,
                    l.vendor,
                    l.billed,
                );
            }
            continue;
        }
        if first.is_none_or(|first| p.last_instant() < first) {
            continue;
        }
        match with_input(config, store, Scope::Period(*p), false, engine::findings) {
            Ok((findings, _)) => {
                for f in findings {
                    if let (Some(psa), Some(id), Some(product)) =
                        (f.psa_connection, f.company_id, f.product)
                    {
                        add(p, psa, id, product, f.actual, f.billed);
                    }
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
