//! Materiality: how far actual may be from billed before an under- or over-billed line is a
//! discrepancy, globally and per service.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// How far actual may be from billed before it is a discrepancy; all zero means exact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tolerance {
    /// Actual above billed (under-billed direction), in units.
    pub increase_abs: Decimal,
    /// Actual above billed, in percent of billed.
    pub increase_pct: Decimal,
    /// Actual below billed (over-billed direction), in units.
    pub decrease_abs: Decimal,
    /// Actual below billed, in percent of billed.
    pub decrease_pct: Decimal,
}

impl Tolerance {
    /// Whether `difference` (actual − billed) is small enough to be within tolerance.
    pub fn allows(&self, billed: Decimal, difference: Decimal) -> bool {
        let hundred = Decimal::ONE_HUNDRED;
        if difference > Decimal::ZERO {
            difference <= self.increase_abs || difference <= self.increase_pct / hundred * billed
        } else if difference < Decimal::ZERO {
            let d = -difference;
            d <= self.decrease_abs || d <= self.decrease_pct / hundred * billed
        } else {
            true
        }
    }

    /// Per key, the smaller of the two.
    fn min(&self, o: &Tolerance) -> Tolerance {
        Tolerance {
            increase_abs: self.increase_abs.min(o.increase_abs),
            increase_pct: self.increase_pct.min(o.increase_pct),
            decrease_abs: self.decrease_abs.min(o.decrease_abs),
            decrease_pct: self.decrease_pct.min(o.decrease_pct),
        }
    }
}

/// The global tolerance and complete per-service ones (the config fills in inherited keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tolerances {
    pub default: Tolerance,
    /// By `<vendor connection>/<service key>`.
    pub services: BTreeMap<String, Tolerance>,
}

impl Tolerances {
    /// The tolerance for a finding counting `services`: per key, the smallest of each
    /// service's own (override or global); the global one when there are no services.
    pub fn for_services(&self, services: &[String]) -> Tolerance {
        services
            .iter()
            .map(|s| self.services.get(s).unwrap_or(&self.default))
            .fold(None, |acc: Option<Tolerance>, t| {
                Some(acc.map_or_else(|| t.clone(), |a| a.min(t)))
            })
            .unwrap_or_else(|| self.default.clone())
    }
}
