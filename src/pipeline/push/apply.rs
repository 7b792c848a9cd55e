//! Applying one planned line: the order every PSA shares around its [`LineWriter`]. Re-read;
//! a line already at its target is left alone (so a second apply writes nothing); a line that
//! changed since the plan (drift) is skipped and reported; otherwise write once, read back, and
//! say whether the PSA now holds the target.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::connectors::write::same_quantity;
use crate::connectors::{LineChange, LineState, LineWriter, Written};

/// What became of one planned line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LineOutcome {
    /// Written, and read back at the target.
    Written { written: Written, after: LineState },
    /// Already at the target when re-read: nothing written.
    AtTarget { now: LineState },
    /// Changed in the PSA since the plan: skipped.
    Drift { now: LineState },
    /// Written, but the line read back holds something else.
    Mismatch { written: Written, after: LineState },
    /// The re-read, the write or the read-back failed; `status` is the HTTP status when the
    /// PSA answered.
    Failed {
        stage: String,
        status: Option<u16>,
        error: String,
    },
}

impl LineOutcome {
    /// `written`, `at_target`, `drift`, `mismatch`, `failed`: the audit's result column.
    pub fn as_str(&self) -> &'static str {
        match self {
            LineOutcome::Written { .. } => "written",
            LineOutcome::AtTarget { .. } => "at_target",
            LineOutcome::Drift { .. } => "drift",
            LineOutcome::Mismatch { .. } => "mismatch",
            LineOutcome::Failed { .. } => "failed",
        }
    }

    /// Whether this counts as a failed write for the exit code (2).
    pub fn failed(&self) -> bool {
        matches!(
            self,
            LineOutcome::Failed { .. } | LineOutcome::Mismatch { .. }
        )
    }

    /// The HTTP status of the write, when one was sent.
    pub fn status(&self) -> Option<u16> {
        match self {
            LineOutcome::Written { written, .. } | LineOutcome::Mismatch { written, .. } => {
                Some(written.status)
            }
            LineOutcome::Failed { status, .. } => *status,
            _ => None,
        }
    }

    /// The line as last read (read back after a write, or re-read before one).
    pub fn read_back(&self) -> Option<&LineState> {
        match self {
            LineOutcome::Written { after, .. } | LineOutcome::Mismatch { after, .. } => Some(after),
            LineOutcome::AtTarget { now } | LineOutcome::Drift { now } => Some(now),
            LineOutcome::Failed { .. } => None,
        }
    }
}

/// Whether `state` holds the change's target (quantity, and cost when the change sets one).
pub fn at_target(state: &LineState, quantity: Decimal, unit_cost: Option<Decimal>) -> bool {
    same_quantity(state.quantity, quantity)
        && unit_cost.is_none_or(|c| state.unit_cost.is_some_and(|s| same_quantity(s, c)))
}

/// Whether `now` differs from what the plan read (`before`): quantity, cost, or the PSA's
/// change marker.
pub fn drifted(before: &LineState, now: &LineState) -> bool {
    !same_quantity(before.quantity, now.quantity)
        || match (before.unit_cost, now.unit_cost) {
            (Some(a), Some(b)) => !same_quantity(a, b),
            (a, b) => a.is_some() != b.is_some(),
        }
        || (before.version.is_some() && before.version != now.version)
}

/// Applies `change` (whose `before` is the plan's) through `writer`.
pub async fn apply_line(writer: &dyn LineWriter, change: &LineChange) -> LineOutcome {
    let failed = |stage: &str, e: crate::http::ConnectorError| LineOutcome::Failed {
        stage: stage.into(),
        status: e.status(),
        error: e.to_string(),
    };
    let now = match writer.read_line(&change.line, change.effective).await {
        Ok(now) => now,
        Err(e) => return failed("re-read", e),
    };
    if at_target(&now, change.quantity, change.unit_cost) {
        return LineOutcome::AtTarget { now };
    }
    if drifted(&change.before, &now) {
        return LineOutcome::Drift { now };
    }
    let fresh = LineChange {
        before: now,
        ..change.clone()
    };
    let written = match writer.write_line(&fresh).await {
        Ok(w) => w,
        Err(e) => return failed("write", e),
    };
    match writer.read_line(&change.line, change.effective).await {
        Ok(after) if at_target(&after, change.quantity, change.unit_cost) => {
            LineOutcome::Written { written, after }
        }
        Ok(after) => LineOutcome::Mismatch { written, after },
        Err(e) => failed("read-back", e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use jiff::civil::Date;

    use super::*;
    use crate::connectors::{LineRef, WriteFacts};
    use crate::http::ConnectorError;

    /// A PSA line in memory: reads return `reads` in turn (the last one repeats), writes are
    /// counted and answer `write`.
    struct Fake {
        reads: Mutex<Vec<Decimal>>,
        writes: Mutex<Vec<Decimal>>,
        fail_write: bool,
    }

    impl Fake {
        fn new(reads: &[i64], fail_write: bool) -> Fake {
            Fake {
                reads: Mutex::new(reads.iter().rev().map(|r| Decimal::from(*r)).collect()),
                writes: Mutex::new(Vec::new()),
                fail_write,
            }
        }
    }

    #[async_trait]
    impl LineWriter for Fake {
        fn tenant(&self) -> String {
            "fake".into()
        }
        fn facts(&self) -> WriteFacts {
            WriteFacts {
                whole_units: false,
                timing: "at once",
                permission: "none",
            }
        }
        async fn read_line(&self, _: &LineRef, _: Date) -> Result<LineState, ConnectorError> {
            let mut r = self.reads.lock().unwrap();
            let q = if r.len() > 1 { r.pop().unwrap() } else { r[0] };
            Ok(LineState::quantity(q))
        }
        async fn write_line(&self, c: &LineChange) -> Result<Written, ConnectorError> {
            if self.fail_write {
                return Err(ConnectorError::Http {
                    connection: "fake".into(),
                    endpoint: "PATCH /x".into(),
                    status: 500,
                    attempts: String::new(),
                    snippet: "boom".into(),
                    hint: "try later".into(),
                });
            }
            self.writes.lock().unwrap().push(c.quantity);
            Ok(Written {
                status: 200,
                returned_id: None,
            })
        }
    }

    fn change(before: i64, target: i64) -> LineChange {
        LineChange {
            line: LineRef {
                agreement_id: "A".into(),
                line_id: "L".into(),
                product_id: None,
            },
            before: LineState::quantity(Decimal::from(before)),
            quantity: Decimal::from(target),
            unit_cost: None,
            effective: jiff::civil::date(2027, 1, 1),
            plan_id: "1".into(),
        }
    }

    /// (case, reads in turn, fail the write, before, target, outcome, writes sent)
    type Case<'a> = (&'a str, &'a [i64], bool, i64, i64, &'a str, usize);

    #[tokio::test]
    async fn each_outcome_of_one_line() {
        let table: &[Case] = &[
            (
                "written and read back",
                &[10, 12],
                false,
                10,
                12,
                "written",
                1,
            ),
            (
                "already at the target",
                &[12],
                false,
                10,
                12,
                "at_target",
                0,
            ),
            ("changed since the plan", &[11], false, 10, 12, "drift", 0),
            (
                "reads back something else",
                &[10, 10],
                false,
                10,
                12,
                "mismatch",
                1,
            ),
            ("the write fails", &[10], true, 10, 12, "failed", 0),
        ];
        for (case, reads, fail, before, target, want, writes) in table {
            let fake = Fake::new(reads, *fail);
            let got = apply_line(&fake, &change(*before, *target)).await;
            assert_eq!(got.as_str(), *want, "{case}: {got:?}");
            assert_eq!(fake.writes.lock().unwrap().len(), *writes, "{case}");
            assert_eq!(
                got.failed(),
                matches!(*want, "mismatch" | "failed"),
                "{case}"
            );
        }
        let failed = apply_line(&Fake::new(&[10], true), &change(10, 12)).await;
        assert_eq!(failed.status(), Some(500));
    }

    #[test]
    fn drift_counts_the_version_marker_and_the_cost() {
        let mut a = LineState::quantity(Decimal::TEN);
        let mut b = a.clone();
        assert!(!drifted(&a, &b));
        a.version = Some("2026-12-01T00:00:00Z".into());
        b.version = Some("2026-12-03T00:00:00Z".into());
        assert!(drifted(&a, &b));
        b.version = a.version.clone();
        b.unit_cost = Some(Decimal::ONE);
        assert!(drifted(&a, &b));
    }
}
