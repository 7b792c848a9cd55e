//! Snapshot history: which successful sync runs a period or an `--as-of` date reconciles from.
//! Runs are kept after newer ones land precisely so these questions have answers.

use anyhow::Result;
use jiff::Timestamp;
use rusqlite::OptionalExtension;

use super::Store;
use super::runs::{RUN_COLUMNS, RunInfo, run_from_row};

impl Store {
    /// Every successful run of a connection whose records are kept (not pruned) with its finish
    /// time, oldest first. Times are parsed rather than compared as text: stored timestamps
    /// carry varying fractional digits.
    pub fn ok_runs(&self, connection: &str) -> Result<Vec<(Timestamp, RunInfo)>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM sync_run WHERE connection = ?1 AND status = 'ok' AND pruned = 0 ORDER BY id"
        ))?;
        let runs = stmt
            .query_map([connection], run_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out: Vec<(Timestamp, RunInfo)> = runs
            .into_iter()
            .filter_map(|r| {
                let t = r.finished_at.as_deref()?.parse::<Timestamp>().ok()?;
                Some((t, r))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        Ok(out)
    }

    /// How many successful runs of a connection had their records pruned (`db prune`).
    pub fn pruned_runs(&self, connection: &str) -> Result<usize> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sync_run WHERE connection = ?1 AND status = 'ok' AND pruned = 1",
            [connection],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// Each successful run's finish time and id, oldest first, without the rest of
    /// [`RunInfo`] (whose unreadable-account count reads every account of the run): what a
    /// period's run choice needs, over a year of daily runs.
    fn ok_run_times(&self, connection: &str) -> Result<Vec<(Timestamp, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, finished_at FROM sync_run WHERE connection = ?1 AND status = 'ok' AND pruned = 0 AND finished_at IS NOT NULL",
        )?;
        let mut out: Vec<(Timestamp, i64)> = stmt
            .query_map([connection], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter_map(|(id, t)| Some((t.parse::<Timestamp>().ok()?, id)))
            .collect();
        out.sort();
        Ok(out)
    }

    /// When the oldest successful run whose records are kept finished.
    pub fn oldest_ok_run_time(&self, connection: &str) -> Result<Option<Timestamp>> {
        Ok(self.ok_run_times(connection)?.first().map(|(t, _)| *t))
    }

    /// The newest successful run that finished at or before `at`.
    pub fn ok_run_at(&self, connection: &str, at: Timestamp) -> Result<Option<RunInfo>> {
        match self
            .ok_run_times(connection)?
            .into_iter()
            .rev()
            .find(|(t, _)| *t <= at)
        {
            Some((_, id)) => self.run_by_id(id),
            None => Ok(None),
        }
    }

    /// The successful runs that finished in `[from, to]` (finish time and id), oldest first.
    pub fn ok_runs_between(
        &self,
        connection: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, i64)>> {
        Ok(self
            .ok_run_times(connection)?
            .into_iter()
            .filter(|(t, _)| from <= *t && *t <= to)
            .collect())
    }

    /// The newest run of `connection` that ended (ok or failed) by `at`: a run whose end time
    /// is unknown counts as ended by any moment.
    pub fn last_ended_run_by(&self, connection: &str, at: Timestamp) -> Result<Option<RunInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, finished_at FROM sync_run WHERE connection = ?1 AND status != 'running' ORDER BY id DESC",
        )?;
        let mut rows = stmt.query([connection])?;
        while let Some(r) = rows.next()? {
            let finished: Option<String> = r.get(1)?;
            let by = finished
                .as_deref()
                .and_then(|f| f.parse::<Timestamp>().ok())
                .is_none_or(|t| t <= at);
            if by {
                return self.run_by_id(r.get(0)?);
            }
        }
        Ok(None)
    }

    /// One run, by id.
    pub fn run_by_id(&self, id: i64) -> Result<Option<RunInfo>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM sync_run WHERE id = ?1"))?
            .query_row([id], run_from_row)
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Snapshot, VendorSnapshot};
    use crate::store::Store;

    /// Runs "at" given times: the test rewrites finished_at, as if synced on those days.
    fn run_at(s: &mut Store, conn: &str, finished: &str, ok: bool) -> i64 {
        let id = s.begin_run(conn, "ninjaone").unwrap();
        if ok {
            s.finish_run_ok(id, conn, &Snapshot::Vendor(VendorSnapshot::default()))
                .unwrap();
        } else {
            s.finish_run_failed(id, "boom").unwrap();
        }
        s.conn
            .execute(
                "UPDATE sync_run SET finished_at = ?1 WHERE id = ?2",
                rusqlite::params![finished, id],
            )
            .unwrap();
        id
    }

    #[test]
    fn runs_at_a_moment_and_within_a_period() {
        let mut s = Store::open_in_memory().unwrap();
        let a = run_at(&mut s, "n", "2026-09-30T23:00:00Z", true);
        let b = run_at(&mut s, "n", "2026-10-05T08:00:00.5Z", true);
        let _failed = run_at(&mut s, "n", "2026-10-10T08:00:00Z", false);
        let c = run_at(&mut s, "n", "2026-10-31T23:59:59Z", true);
        let d = run_at(&mut s, "n", "2026-11-02T01:00:00Z", true);
        let _other = run_at(&mut s, "m", "2026-10-06T00:00:00Z", true);
        let at = |t: &str| s.ok_run_at("n", t.parse().unwrap()).unwrap().map(|r| r.id);
        assert_eq!(at("2026-09-01T00:00:00Z"), None);
        assert_eq!(at("2026-10-01T00:00:00Z"), Some(a));
        assert_eq!(
            at("2026-10-05T08:00:00Z"),
            Some(a),
            "half a second too early"
        );
        assert_eq!(
            at("2026-10-20T00:00:00Z"),
            Some(b),
            "the failed run is skipped"
        );
        assert_eq!(at("2026-12-01T00:00:00Z"), Some(d));
        let between: Vec<i64> = s
            .ok_runs_between(
                "n",
                "2026-10-01T00:00:00Z".parse().unwrap(),
                "2026-10-31T23:59:59.999999999Z".parse().unwrap(),
            )
            .unwrap()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        assert_eq!(between, vec![b, c]);
    }
}
