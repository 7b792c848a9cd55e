//! What a stored reconcile result was computed from, so `report` can show it again without
//! recomputing a million records when nothing it depends on changed (migration 0006).

use std::collections::BTreeMap;

use anyhow::Result;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::Store;

/// The inputs of one reconcile result: see `sql/0006_reconcile_inputs.sql`.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    pub fingerprint: String,
    /// Reuse only strictly before this moment.
    pub valid_until: Timestamp,
    pub unhealthy: BTreeMap<String, String>,
}

/// FNV-1a over 128 bits: stable across builds and platforms (std's hashers promise neither),
/// and 128 bits make an accidental collision between two states of one database negligible.
#[derive(Debug, Clone)]
pub struct InputsHasher(u128);

impl Default for InputsHasher {
    fn default() -> Self {
        InputsHasher(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d)
    }
}

impl InputsHasher {
    /// Adds one part; parts are delimited, so ("ab", "c") and ("a", "bc") differ.
    pub fn part(&mut self, text: &str) {
        for b in text.bytes().chain([0xff]) {
            self.0 ^= u128::from(b);
            self.0 = self
                .0
                .wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
    }

    pub fn finish(&self) -> String {
        format!("{:032x}", self.0)
    }
}

impl Store {
    /// Adds every sync run (id, connection, outcome, finish time, counts) and every connection's
    /// current run to `h`: any sync that started, ended or became current changes it. Returns
    /// the runs' finish times, for the caller's clock bounds.
    pub fn hash_sync_state(&self, h: &mut InputsHasher) -> Result<Vec<Timestamp>> {
        let mut finished = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT id, connection, status, finished_at, counts, whole_units FROM sync_run ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let finished_at: Option<String> = r.get(3)?;
            h.part(&format!(
                "run {} {} {} {} {} {}",
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                finished_at.as_deref().unwrap_or("-"),
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?
            ));
            if let Some(t) = finished_at.and_then(|f| f.parse().ok()) {
                finished.push(t);
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT connection, sync_run_id FROM snapshot_current ORDER BY connection")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            h.part(&format!(
                "current {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?
            ));
        }
        Ok(finished)
    }

    /// Records what reconcile result `id` was computed from (`None`: unknown, never reused).
    pub fn set_reconcile_inputs(&mut self, id: i64, inputs: Option<&Inputs>) -> Result<()> {
        let tx = self.write()?;
        tx.execute(
            "UPDATE reconcile_run SET inputs = ?1, valid_until = ?2, unhealthy = ?3 WHERE id = ?4",
            params![
                inputs.map(|i| i.fingerprint.clone()),
                inputs.map(|i| i.valid_until.to_string()),
                inputs
                    .map(|i| serde_json::to_string(&i.unhealthy))
                    .transpose()?,
                id
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The id and inputs of the most recent reconcile result, when they are known.
    pub fn latest_reconcile_inputs(&self) -> Result<Option<(i64, Inputs)>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, inputs, valid_until, unhealthy FROM reconcile_run ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, Some(fingerprint), Some(valid_until), Some(unhealthy))) = row else {
            return Ok(None);
        };
        let (Ok(valid_until), Ok(unhealthy)) = (
            valid_until.parse::<Timestamp>(),
            serde_json::from_str(&unhealthy),
        ) else {
            return Ok(None);
        };
        Ok(Some((
            id,
            Inputs {
                fingerprint,
                valid_until,
                unhealthy,
            },
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Snapshot, VendorSnapshot};

    fn state(s: &Store) -> String {
        let mut h = InputsHasher::default();
        s.hash_sync_state(&mut h).unwrap();
        h.finish()
    }

    #[test]
    fn every_sync_step_changes_the_sync_state() {
        let mut s = Store::open_in_memory().unwrap();
        let empty = state(&s);
        let r = s.begin_run("n", "ninjaone").unwrap();
        let running = state(&s);
        assert_ne!(running, empty);
        s.finish_run_ok(r, "n", &Snapshot::Vendor(VendorSnapshot::default()))
            .unwrap();
        let ok = state(&s);
        assert_ne!(ok, running);
        assert_eq!(state(&s), ok, "the same state hashes the same");
        let r = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_failed(r, "boom").unwrap();
        assert_ne!(state(&s), ok);
    }

    #[test]
    fn parts_are_delimited() {
        let (mut a, mut b) = (InputsHasher::default(), InputsHasher::default());
        a.part("ab");
        a.part("c");
        b.part("a");
        b.part("bc");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn inputs_round_trip_and_only_the_latest_result_counts() {
        let mut s = Store::open_in_memory().unwrap();
        assert!(s.latest_reconcile_inputs().unwrap().is_none());
        let record = crate::store::ReconcileRecord {
            id: 0,
            created_at: "2026-01-01T00:00:00Z".into(),
            as_of: "2026-01-01T00:00:00Z".into(),
            currency: "USD".into(),
            sources: BTreeMap::new(),
            totals: Default::default(),
            findings: Vec::new(),
        };
        let id = s.save_reconcile(&record).unwrap();
        assert!(s.latest_reconcile_inputs().unwrap().is_none());
        let inputs = Inputs {
            fingerprint: "abc".into(),
            valid_until: "2026-01-02T00:00:00Z".parse().unwrap(),
            unhealthy: [("n".to_string(), "why".to_string())].into(),
        };
        s.set_reconcile_inputs(id, Some(&inputs)).unwrap();
        assert_eq!(s.latest_reconcile_inputs().unwrap(), Some((id, inputs)));
        // A newer result without inputs (a --period run) hides the older one's.
        s.save_reconcile(&record).unwrap();
        assert!(s.latest_reconcile_inputs().unwrap().is_none());
    }
}
