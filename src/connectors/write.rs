//! Writing back to a PSA: what a PSA connector implements so `reconcile push` can change the
//! quantity (and, opted in, the unit cost) of one existing recurring billing line.
//!
//! The internal model is the desired absolute state of one existing line ([`LineChange`]); each
//! PSA's [`LineWriter`] translates it: an absolute PATCH (ConnectWise), PUT (Syncro) or line
//! update (HaloPSA), or an integer delta adjustment (Autotask). A writer never creates or
//! deletes lines, agreements or products.
//!
//! The writer only reads a line and writes it; the order around it lives in
//! `crate::pipeline::push`, the same for every PSA: read before planning, re-read before
//! writing (drift), skip a line already at its target, write once, read back, record. A writer
//! whose write is not idempotent (Autotask) decides itself, after a timeout or 5xx, from a
//! fresh read whether the write landed, and never sends it blindly again.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::http::ConnectorError;

/// Which line: the ids a snapshot's [`crate::model::PsaLine`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRef {
    /// The agreement, contract, recurring invoice or schedule the line belongs to.
    pub agreement_id: String,
    /// The line: a ConnectWise addition, an Autotask units row, a HaloPSA recurring-invoice
    /// line, a Syncro schedule line item.
    pub line_id: String,
    /// The product or service id the line bills (Autotask's `serviceID`).
    pub product_id: Option<String>,
}

/// A guard the PSA itself decides from a fresh read (the rest are decided by the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PsaGuard {
    /// The PSA computes the line's quantity itself (HaloPSA quantity types, Syncro lines tied
    /// to assets or searches) or the line is inside a bundle.
    LineType,
    /// The agreement or contract is inactive, cancelled or ended, or the line is cancelled, at
    /// the effective date.
    ContractState,
    /// The effective date lies in a period the PSA has already invoiced.
    PostedPeriod,
}

impl PsaGuard {
    pub fn as_str(self) -> &'static str {
        match self {
            PsaGuard::LineType => "line_type",
            PsaGuard::ContractState => "contract_state",
            PsaGuard::PostedPeriod => "posted_period",
        }
    }
}

/// A line as just read from the PSA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineState {
    /// The quantity in force at the effective date.
    pub quantity: Decimal,
    /// The unit cost, where the line has one.
    pub unit_cost: Option<Decimal>,
    /// The unit price (never written; shown in the plan and the audit).
    pub unit_price: Option<Decimal>,
    /// The currency of the line or its agreement, when the PSA says.
    pub currency: Option<String>,
    /// The PSA's change marker, compared for drift besides the values (ConnectWise's
    /// `_info.lastUpdated`).
    pub version: Option<String>,
    /// The guards this line fails, each with why (`agreement 55 is cancelled`).
    pub blocked: Vec<(PsaGuard, String)>,
    /// Ids the write needs beyond [`LineRef`] (Autotask's `contractServiceID`, HaloPSA's
    /// `ihid`), by the PSA's own field name.
    pub write_ids: BTreeMap<String, String>,
}

impl LineState {
    /// A state with only a quantity (the rest unknown or empty).
    pub fn quantity(quantity: Decimal) -> LineState {
        LineState {
            quantity,
            unit_cost: None,
            unit_price: None,
            currency: None,
            version: None,
            blocked: Vec::new(),
            write_ids: BTreeMap::new(),
        }
    }
}

/// The desired absolute state of one existing line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineChange {
    pub line: LineRef,
    /// The line as read just before this write (the plan's "before" after the drift check).
    pub before: LineState,
    /// The quantity to bill (whole for a PSA that takes whole units only).
    pub quantity: Decimal,
    /// The unit cost to set; `None` leaves it.
    pub unit_cost: Option<Decimal>,
    /// When the change takes effect, where the PSA takes a date.
    pub effective: Date,
    /// The plan id, for a PSA-side note where the PSA keeps one (Autotask contract notes).
    pub plan_id: String,
}

/// What a write returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// The HTTP status of the write.
    pub status: u16,
    /// The id the PSA gave the write, when it gives one (Autotask's adjustment `itemId`).
    pub returned_id: Option<String>,
}

/// How a PSA takes a change, for the plan and `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteFacts {
    /// The PSA takes whole units only (Autotask): targets are rounded up.
    pub whole_units: bool,
    /// What the PSA does with the effective date (`applies at once: an in-place PATCH has no
    /// date`).
    pub timing: &'static str,
    /// The permission the write credential needs beyond the read-only one.
    pub permission: &'static str,
}

/// One PSA connection's writer.
#[async_trait]
pub trait LineWriter: Send + Sync {
    /// The tenant it reads and writes (API base and company or instance), so a plan made
    /// against another tenant is refused.
    fn tenant(&self) -> String;

    fn facts(&self) -> WriteFacts;

    /// Which line of the PSA a snapshot's line is, for the reads and writes: its ids, as the
    /// snapshot has them, unless the PSA needs another (HaloPSA's recurring-invoice id, when
    /// the snapshot files the line under its contract).
    fn line_ref(&self, line: &crate::model::PsaLine) -> LineRef {
        LineRef {
            agreement_id: line.agreement_id.clone(),
            line_id: line.id.clone(),
            product_id: line.product_id.clone(),
        }
    }

    /// Reads the line fresh from the PSA as it stands at `effective` (a GET, or for Autotask a
    /// query POST: never a mutation).
    async fn read_line(&self, line: &LineRef, effective: Date)
    -> Result<LineState, ConnectorError>;

    /// Writes `change`: absolute where the PSA writes absolute values, the delta from
    /// `change.before` where it takes deltas. Called only when the line differs from the target.
    async fn write_line(&self, change: &LineChange) -> Result<Written, ConnectorError>;
}

/// Whether two quantities are the same after parsing (`24`, `24.0` and `"24.0000"` are):
/// within 1e-6, so a PSA that stores floats does not cause repeated writes.
pub fn same_quantity(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() <= Decimal::new(1, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_equal_within_a_millionth() {
        assert!(same_quantity(Decimal::new(24, 0), Decimal::new(240000, 4)));
        assert!(same_quantity(
            Decimal::new(9_999_999_995, 9),
            Decimal::new(10, 0)
        ));
        assert!(!same_quantity(Decimal::new(102, 1), Decimal::new(10, 0)));
    }
}
