//! `[push]`: how `reconcile push` plans writes to the PSA: the effective date, the guards'
//! thresholds, the direction policy, who the audit names, and per service the opt-in (the same
//! keys `map service --push/--push-cost` stores) and a configured unit cost.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Deserialize;

/// `[push]`.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// `next-period-start` (default), `today`, or a date `YYYY-MM-DD`.
    #[serde(default)]
    pub effective: Option<String>,
    /// A change of more units than this needs review (default 10).
    #[serde(default)]
    pub max_change_abs: Option<Decimal>,
    /// A change of more than this percent of the line's quantity needs review (default 25).
    #[serde(default)]
    pub max_change_pct: Option<Decimal>,
    /// `review` (default): decreases need review; `auto`: they are planned like increases.
    #[serde(default)]
    pub decreases: Option<Decreases>,
    /// Whether a target of 0 may be written (default false).
    #[serde(default)]
    pub allow_zero: Option<bool>,
    /// A plan older than this many hours is refused by `push apply` (default 24).
    #[serde(default)]
    pub max_plan_age_hours: Option<u32>,
    /// Who the audit names as the operator [default: $USER, else $USERNAME].
    #[serde(default)]
    pub operator: Option<String>,
    /// `[push.services."<vendor connection>/<service key>"]`.
    #[serde(default)]
    pub services: BTreeMap<String, PushServiceConfig>,
    /// `[push.psa."<psa connection>"]`.
    #[serde(default)]
    pub psa: BTreeMap<String, PushPsaConfig>,
}

/// `[push.services."<vendor connection>/<service key>"]`.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushServiceConfig {
    /// Write this service's quantity (as `map service --push`); `false` turns a stored opt-in off.
    pub push: Option<bool>,
    /// Write its unit cost too (as `map service --push-cost`).
    pub push_cost: Option<bool>,
    /// The unit cost to write when the vendor reports none.
    pub unit_cost: Option<Decimal>,
    /// The currency of `unit_cost` (default: the top-level `currency`).
    pub currency: Option<String>,
    pub allow_zero: Option<bool>,
    pub effective: Option<String>,
    pub decreases: Option<Decreases>,
}

/// `[push.psa."<psa connection>"]`.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushPsaConfig {
    pub effective: Option<String>,
    pub max_change_abs: Option<Decimal>,
    pub max_change_pct: Option<Decimal>,
}

/// The direction policy.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Decreases {
    #[default]
    Review,
    Auto,
}

/// When a change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effective {
    /// The first day of the next billing period.
    NextPeriodStart,
    Today,
    On(Date),
}

impl Effective {
    pub fn parse(s: &str) -> Result<Effective> {
        match s.trim() {
            "next-period-start" => Ok(Effective::NextPeriodStart),
            "today" => Ok(Effective::Today),
            d => d.parse::<Date>().map(Effective::On).map_err(|_| {
                anyhow!(
                    "`{s}` is not an effective date; write `next-period-start`, `today`, or a date like 2026-12-01"
                )
            }),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Effective::NextPeriodStart => "next-period-start".into(),
            Effective::Today => "today".into(),
            Effective::On(d) => d.to_string(),
        }
    }
}

impl PushConfig {
    /// Checks what deserializing cannot; errors name the key.
    pub fn validate(&self) -> Result<()> {
        let check = |key: &str, v: &Option<String>| -> Result<()> {
            if let Some(v) = v {
                Effective::parse(v).map_err(|e| anyhow!("[push] {key}: {e}"))?;
            }
            Ok(())
        };
        check("effective", &self.effective)?;
        for (k, s) in &self.services {
            if !k.contains('/') {
                bail!(
                    "[push.services.\"{k}\"] must name a service as \"<vendor connection>/<service key>\""
                );
            }
            check(&format!("services.\"{k}\".effective"), &s.effective)?;
            if s.unit_cost.is_some_and(|c| c < Decimal::ZERO) {
                bail!("[push.services.\"{k}\"] unit_cost must not be negative");
            }
        }
        for (k, p) in &self.psa {
            check(&format!("psa.\"{k}\".effective"), &p.effective)?;
        }
        for (key, v) in [
            ("max_change_abs", self.max_change_abs),
            ("max_change_pct", self.max_change_pct),
        ] {
            if v.is_some_and(|v| v < Decimal::ZERO) {
                bail!("[push] {key} must not be negative");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_dates_parse_and_bad_ones_say_what_to_write() {
        assert_eq!(
            Effective::parse("next-period-start").unwrap(),
            Effective::NextPeriodStart
        );
        assert_eq!(Effective::parse("today").unwrap(), Effective::Today);
        assert_eq!(
            Effective::parse("2026-12-01").unwrap(),
            Effective::On(jiff::civil::date(2026, 12, 1))
        );
        let e = Effective::parse("tomorrow").unwrap_err().to_string();
        assert!(e.contains("next-period-start"), "{e}");
    }

    #[test]
    fn push_tables_parse_and_validate() {
        let c: PushConfig = toml::from_str(
            r#"
            effective = "today"
            decreases = "auto"
            [services."n/total-workstations"]
            push = true
            unit_cost = 3.5
            [psa.cw]
            effective = "2026-12-01"
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.decreases, Some(Decreases::Auto));
        let bad: PushConfig = toml::from_str("[services.oops]\npush = true").unwrap();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("vendor connection")
        );
        assert!(toml::from_str::<PushConfig>("decrease = \"auto\"").is_err());
    }
}
