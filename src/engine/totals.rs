//! The money totals over a set of findings, as the report's summary shows them.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{ExcludedAccount, Finding, FindingKind};

/// Money totals over a set of findings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Revenue per month not being billed (under-billed lines and usage with no line).
    pub under_billed_monthly: Decimal,
    /// Charges per month for more than is used (over-billed lines and lines with no usage).
    pub over_billed_monthly: Decimal,
    /// Discrepancies whose money impact is unknown (no price, unmapped, unknown billing cycle);
    /// `stale_source` findings are not counted here (their count is in `by_kind`).
    pub discrepancies_without_impact: usize,
    /// Net money impact per month of `within_tolerance` findings (positive = under-billed),
    /// which is in neither total above.
    #[serde(default)]
    pub within_tolerance_monthly: Decimal,
    pub by_kind: BTreeMap<String, usize>,
    /// Unmapped vendor accounts an account-wide `[[exclude]]` removed (they have no finding, so
    /// the report lists them here). Filled by the caller from
    /// [`excluded_accounts`](super::excluded_accounts).
    #[serde(default)]
    pub excluded_accounts: Vec<ExcludedAccount>,
}

impl Totals {
    pub fn of(findings: &[Finding]) -> Totals {
        let mut t = Totals::default();
        for k in FindingKind::ALL {
            t.by_kind.insert(k.as_str().to_string(), 0);
        }
        for f in findings {
            *t.by_kind.entry(f.kind.as_str().to_string()).or_default() += 1;
            match f.kind {
                // A wrong recorded cost does not change what the client is billed.
                FindingKind::StaleSource | FindingKind::CostMismatch => continue,
                FindingKind::WithinTolerance => {
                    t.within_tolerance_monthly += f.monthly_impact.unwrap_or_default();
                    continue;
                }
                _ => {}
            }
            match f.monthly_impact {
                Some(m) if m > Decimal::ZERO => t.under_billed_monthly += m,
                Some(m) if m < Decimal::ZERO => t.over_billed_monthly -= m,
                Some(_) => {}
                None if f.kind.is_discrepancy() => t.discrepancies_without_impact += 1,
                None => {}
            }
        }
        t
    }
}
