//! Review decisions: user data, one per finding id, each written in its own transaction.

use std::str::FromStr;

use anyhow::{Context, Result, anyhow};
use rusqlite::params;
use rust_decimal::Decimal;

use super::Store;
use crate::engine::FindingKind;
use crate::review::{Decision, Verdict};

fn dec_opt(s: Option<String>) -> Result<Option<Decimal>> {
    s.map(|s| {
        Decimal::from_str(&s)
            .with_context(|| format!("the database holds `{s}` where a decimal belongs"))
    })
    .transpose()
}

impl Store {
    /// Records a decision, replacing any earlier one about the same finding.
    pub fn set_decision(&mut self, d: &Decision) -> Result<()> {
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO review_decision (finding_id, decision, note, decided_by, decided_at, period, kind, billed, less_included, actual, psa_unit_cost, vendor_unit_cost)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (finding_id) DO UPDATE SET
                decision = excluded.decision, note = excluded.note, decided_by = excluded.decided_by,
                decided_at = excluded.decided_at, period = excluded.period, kind = excluded.kind,
                billed = excluded.billed, less_included = excluded.less_included, actual = excluded.actual,
                psa_unit_cost = excluded.psa_unit_cost, vendor_unit_cost = excluded.vendor_unit_cost",
            params![
                d.finding_id,
                d.verdict.as_str(),
                d.note,
                d.decided_by,
                d.decided_at,
                d.period,
                d.kind.as_str(),
                d.billed.map(|x| x.to_string()),
                d.less_included.map(|x| x.to_string()),
                d.actual.map(|x| x.to_string()),
                d.psa_unit_cost.map(|x| x.to_string()),
                d.vendor_unit_cost.map(|x| x.to_string()),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every decision, oldest first.
    pub fn decisions(&self) -> Result<Vec<Decision>> {
        let mut stmt = self.conn.prepare(
            "SELECT finding_id, decision, note, decided_by, decided_at, period, kind, billed, less_included, actual,
                    psa_unit_cost, vendor_unit_cost
             FROM review_decision ORDER BY decided_at, finding_id",
        )?;
        type Row = (
            String,
            String,
            Option<String>,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            (Option<String>, Option<String>),
        );
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    (r.get(10)?, r.get(11)?),
                ))
            })?
            .collect::<rusqlite::Result<Vec<Row>>>()?;
        rows.into_iter()
            .map(
                |(
                    finding_id,
                    verdict,
                    note,
                    decided_by,
                    decided_at,
                    period,
                    kind,
                    b,
                    li,
                    a,
                    (pc, vc),
                )| {
                    Ok(Decision {
                        verdict: Verdict::parse(&verdict).ok_or_else(|| {
                            anyhow!("the database holds an unknown decision `{verdict}`")
                        })?,
                        kind: FindingKind::ALL
                            .into_iter()
                            .find(|k| k.as_str() == kind)
                            .ok_or_else(|| {
                                anyhow!("the database holds an unknown finding type `{kind}`")
                            })?,
                        finding_id,
                        note,
                        decided_by,
                        decided_at,
                        period,
                        billed: dec_opt(b)?,
                        less_included: dec_opt(li)?,
                        actual: dec_opt(a)?,
                        psa_unit_cost: dec_opt(pc)?,
                        vendor_unit_cost: dec_opt(vc)?,
                    })
                },
            )
            .collect()
    }

    /// Removes the decision about a finding; false when there was none.
    pub fn remove_decision(&mut self, finding_id: &str) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.execute(
            "DELETE FROM review_decision WHERE finding_id = ?1",
            [finding_id],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(id: &str, verdict: Verdict) -> Decision {
        Decision {
            finding_id: id.into(),
            verdict,
            note: Some("agreed with the client".into()),
            decided_by: "alice".into(),
            decided_at: "2026-01-15T10:00:00Z".into(),
            period: "2026-01".into(),
            kind: FindingKind::UnderBilled,
            billed: Some(Decimal::new(245, 1)),
            less_included: Some(Decimal::ZERO),
            actual: None,
            psa_unit_cost: None,
            vendor_unit_cost: None,
        }
    }

    #[test]
    fn decisions_round_trip_replace_and_remove() {
        let mut s = Store::open_in_memory().unwrap();
        let a = decision("F1", Verdict::Approve);
        s.set_decision(&a).unwrap();
        s.set_decision(&decision("F2", Verdict::Dismiss)).unwrap();
        assert_eq!(s.decisions().unwrap()[0], a);
        let mut b = decision("F1", Verdict::Ignore);
        b.note = None;
        s.set_decision(&b).unwrap();
        let all = s.decisions().unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.contains(&b));
        assert!(s.remove_decision("F1").unwrap());
        assert!(!s.remove_decision("F1").unwrap());
        assert_eq!(s.decisions().unwrap().len(), 1);
        // A cost mismatch's costs are kept with its decision.
        let mut c = decision("F3", Verdict::Ignore);
        c.kind = FindingKind::CostMismatch;
        (c.psa_unit_cost, c.vendor_unit_cost) =
            (Some(Decimal::new(480, 2)), Some(Decimal::from(6)));
        s.set_decision(&c).unwrap();
        assert!(s.decisions().unwrap().contains(&c));
    }
}
