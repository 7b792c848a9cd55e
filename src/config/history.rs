//! `[history]`: how long sync history keeps its records.

use anyhow::{Result, bail};
use serde::Deserialize;

/// `[history]`: what `reconcile db prune` keeps.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Months of sync runs whose records (every item, account and billing line) are kept, so
    /// any period in them can be reconciled and explained again. Older runs keep their row
    /// (when, how it ended, its record counts). 13 by default: last year's same month stays.
    #[serde(default = "default_keep_months")]
    pub keep_months: u32,
}

fn default_keep_months() -> u32 {
    13
}

impl Default for HistoryConfig {
    fn default() -> HistoryConfig {
        HistoryConfig {
            keep_months: default_keep_months(),
        }
    }
}

impl HistoryConfig {
    pub(super) fn validate(&self) -> Result<()> {
        if !(1..=1200).contains(&self.keep_months) {
            bail!(
                "[history] keep_months must be a whole number of months from 1 to 1200 (13 keeps last year's same month)"
            );
        }
        Ok(())
    }
}
