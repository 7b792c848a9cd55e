//! `[cost."<vendor connection>/<service key>"]` (what a unit of a service costs the MSP when the
//! vendor does not say) and `[margin]` (when a line's margin is worth a note, and whether the
//! PSA's recorded unit cost is checked against the vendor's).

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::engine::{CostRate, Margin};

/// `[cost."<vendor connection>/<service key>"]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    /// What one unit costs the MSP per month.
    pub unit_cost: Decimal,
    /// The currency of `unit_cost` (default: the top-level `currency`). A cost in another
    /// currency than the report's is not converted: findings say their cost is unknown.
    #[serde(default)]
    pub currency: Option<String>,
}

/// `[margin]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MarginConfig {
    /// A line whose margin is under this percent of its revenue gets a `low_margin` note
    /// (a negative margin always does); none by default.
    #[serde(default)]
    pub low_margin_pct: Option<Decimal>,
    /// Whether a PSA line's recorded unit cost that differs from the vendor's is a
    /// `cost_mismatch` finding (default true).
    #[serde(default = "yes")]
    pub check_psa_cost: bool,
}

fn yes() -> bool {
    true
}

impl Default for MarginConfig {
    fn default() -> MarginConfig {
        MarginConfig {
            low_margin_pct: None,
            check_psa_cost: true,
        }
    }
}

/// Checks `[cost]` and `[margin]`; errors name the key.
pub(super) fn validate(cost: &BTreeMap<String, CostConfig>, margin: &MarginConfig) -> Result<()> {
    for (key, c) in cost {
        let table = format!("[cost.\"{key}\"]");
        if !key.contains('/') {
            bail!("{table} must name a service as \"<vendor connection>/<service key>\"");
        }
        if c.unit_cost < Decimal::ZERO {
            bail!("{table} unit_cost must not be negative");
        }
        if let Some(cur) = &c.currency
            && (cur.len() != 3 || !cur.chars().all(|c| c.is_ascii_uppercase()))
        {
            bail!("{table} currency = \"{cur}\" is not an ISO 4217 code such as \"USD\"");
        }
    }
    if margin
        .low_margin_pct
        .is_some_and(|p| p < Decimal::ZERO || p > Decimal::ONE_HUNDRED)
    {
        bail!("[margin] low_margin_pct is a percent of revenue, from 0 to 100");
    }
    Ok(())
}

/// The engine's view: per service its configured rate, and the margin settings.
pub(super) fn engine_costs(
    cost: &BTreeMap<String, CostConfig>,
    currency: &str,
) -> BTreeMap<String, CostRate> {
    cost.iter()
        .map(|(k, c)| {
            (
                k.clone(),
                CostRate {
                    unit_cost: c.unit_cost,
                    currency: c.currency.clone().unwrap_or_else(|| currency.to_string()),
                },
            )
        })
        .collect()
}

pub(super) fn engine_margin(margin: &MarginConfig, currency: &str) -> Margin {
    Margin {
        currency: currency.to_string(),
        low_margin_pct: margin.low_margin_pct,
        check_psa_cost: margin.check_psa_cost,
    }
}
