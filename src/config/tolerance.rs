//! `[tolerance]`: how far actual may be from billed before it is a discrepancy, globally and per
//! service, and its conversion into the engine's [`Tolerances`].

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::engine::{Tolerance, Tolerances};

/// `[tolerance]`: global values and per-service overrides. See [`crate::engine`] for the rule.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ToleranceConfig {
    /// Units actual may be above billed.
    #[serde(default)]
    pub increase_abs: Decimal,
    /// Percent of billed actual may be above billed.
    #[serde(default)]
    pub increase_pct: Decimal,
    /// Units actual may be below billed.
    #[serde(default)]
    pub decrease_abs: Decimal,
    /// Percent of billed actual may be below billed.
    #[serde(default)]
    pub decrease_pct: Decimal,
    /// By `"<vendor connection>/<service key>"`; keys not set inherit the global values.
    #[serde(default)]
    pub services: BTreeMap<String, ToleranceOverride>,
}

/// `[tolerance.services."<vendor connection>/<service key>"]`.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ToleranceOverride {
    pub increase_abs: Option<Decimal>,
    pub increase_pct: Option<Decimal>,
    pub decrease_abs: Option<Decimal>,
    pub decrease_pct: Option<Decimal>,
}

impl ToleranceConfig {
    /// The engine's form: every per-service tolerance complete.
    pub fn resolve(&self) -> Tolerances {
        let default = Tolerance {
            increase_abs: self.increase_abs,
            increase_pct: self.increase_pct,
            decrease_abs: self.decrease_abs,
            decrease_pct: self.decrease_pct,
        };
        let services = self
            .services
            .iter()
            .map(|(k, o)| {
                (
                    k.clone(),
                    Tolerance {
                        increase_abs: o.increase_abs.unwrap_or(default.increase_abs),
                        increase_pct: o.increase_pct.unwrap_or(default.increase_pct),
                        decrease_abs: o.decrease_abs.unwrap_or(default.decrease_abs),
                        decrease_pct: o.decrease_pct.unwrap_or(default.decrease_pct),
                    },
                )
            })
            .collect();
        Tolerances { default, services }
    }

    pub(super) fn validate(&self) -> Result<()> {
        let check = |table: &str, key: &str, v: Option<Decimal>| -> Result<()> {
            if v.is_some_and(|v| v < Decimal::ZERO) {
                bail!("[{table}] {key} must not be negative");
            }
            Ok(())
        };
        for (key, v) in [
            ("increase_abs", self.increase_abs),
            ("increase_pct", self.increase_pct),
            ("decrease_abs", self.decrease_abs),
            ("decrease_pct", self.decrease_pct),
        ] {
            check("tolerance", key, Some(v))?;
        }
        for (service, o) in &self.services {
            let table = format!("tolerance.services.\"{service}\"");
            match service.split_once('/') {
                Some((c, k)) if !c.is_empty() && !k.is_empty() => {}
                _ => bail!(
                    "[{table}] is not named `<vendor connection>/<service key>` (such as \"ninjaone/total-workstations\"; `reconcile map` lists the service keys)"
                ),
            }
            for (key, v) in [
                ("increase_abs", o.increase_abs),
                ("increase_pct", o.increase_pct),
                ("decrease_abs", o.decrease_abs),
                ("decrease_pct", o.decrease_pct),
            ] {
                check(&table, key, v)?;
            }
        }
        Ok(())
    }
}
