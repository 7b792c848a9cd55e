//! `[health]`: when a connection's current snapshot is too old or shrunk to be trusted.

use anyhow::{Result, bail};
use serde::Deserialize;

/// `[health]`: when a connection's current snapshot is not to be trusted.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// A last successful sync older than this many hours makes the connection unhealthy.
    #[serde(default = "default_max_age_hours")]
    pub max_age_hours: f64,
    /// A record count (items, lines) that fell by more than this fraction from the previous
    /// successful sync makes the connection unhealthy (0.5 = by more than half).
    #[serde(default = "default_max_count_drop")]
    pub max_count_drop: f64,
}

fn default_max_age_hours() -> f64 {
    36.0
}

fn default_max_count_drop() -> f64 {
    0.5
}

impl Default for HealthConfig {
    fn default() -> HealthConfig {
        HealthConfig {
            max_age_hours: default_max_age_hours(),
            max_count_drop: default_max_count_drop(),
        }
    }
}

impl HealthConfig {
    pub(super) fn validate(&self) -> Result<()> {
        if !(self.max_age_hours.is_finite() && self.max_age_hours > 0.0) {
            bail!("[health] max_age_hours must be a positive number of hours");
        }
        if !(0.0..=1.0).contains(&self.max_count_drop) {
            bail!(
                "[health] max_count_drop must be between 0 and 1 (a fraction: 0.5 = a drop of more than half)"
            );
        }
        Ok(())
    }
}
