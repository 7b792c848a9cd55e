//! Sync runs: a run is recorded as `running` when it starts (refused with [`Busy`] while another
//! live process syncs the connection; runs left behind by a dead process are marked failed),
//! and becomes the connection's current snapshot when it completes, its records written in the
//! same transaction (see `snapshots.rs`); a failure records only the error. Older runs stay as
//! history until purged.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::Store;
use super::snapshots::{write_accounts, write_psa};
use super::versions;
use crate::model::Snapshot;

/// Another live `reconcile` process is syncing the connection.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{connection}` is being synced by another reconcile process (pid {pid}, started {started_at})"
)]
pub struct Busy {
    pub connection: String,
    pub pid: u32,
    pub started_at: String,
}

/// Whether a process with this id is running (on this machine).
#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "kill(pid, 0) sends no signal; it only asks whether the pid exists"
)]
pub(super) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 only checks: EPERM means it exists under another user.
    // SAFETY: kill with signal 0 sends nothing; it only reports whether the pid exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
pub(super) fn process_alive(_pid: u32) -> bool {
    // No cheap check here: trust the run until INTERRUPTED_AFTER_HOURS.
    true
}

/// A `running` run older than this is taken as interrupted (the process died).
const INTERRUPTED_AFTER_HOURS: i64 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Ok,
    Failed,
}

impl RunStatus {
    fn parse(s: &str) -> RunStatus {
        match s {
            "ok" => RunStatus::Ok,
            "running" => RunStatus::Running,
            _ => RunStatus::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub connection: String,
    pub kind: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: RunStatus,
    pub error: Option<String>,
    pub counts: BTreeMap<String, usize>,
    /// Accounts the run listed but could not read (a partial run when not 0).
    pub unreadable: usize,
    /// The connector's notes on the API (PSA runs), e.g. its request quota.
    pub meta: BTreeMap<String, String>,
}

pub(super) fn run_from_row(r: &rusqlite::Row) -> rusqlite::Result<RunInfo> {
    let counts: String = r.get(7)?;
    Ok(RunInfo {
        id: r.get(0)?,
        connection: r.get(1)?,
        kind: r.get(2)?,
        started_at: r.get(3)?,
        finished_at: r.get(4)?,
        status: RunStatus::parse(&r.get::<_, String>(5)?),
        error: r.get(6)?,
        counts: serde_json::from_str(&counts).unwrap_or_default(),
        unreadable: r.get::<_, i64>(8)? as usize,
        meta: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
    })
}

pub(super) const RUN_COLUMNS: &str = "id, connection, kind, started_at, finished_at, status, error, counts,
    (SELECT count(*) FROM vendor_account va WHERE va.run_id = sync_run.id AND va.unreadable IS NOT NULL)
        + (SELECT count(*) FROM psa_unreadable pu WHERE pu.run_id = sync_run.id),
    meta";

impl Store {
    /// Records that a sync of `connection` started; returns the run id, or
    /// [`Busy`] when another live process is syncing the connection. Runs left `running` by a
    /// process that is gone (killed) are marked failed first.
    pub fn begin_run(&mut self, connection: &str, kind: &str) -> Result<i64> {
        let now = Timestamp::now();
        let stale = now - jiff::SignedDuration::from_hours(INTERRUPTED_AFTER_HOURS);
        let me = std::process::id();
        let tx = self.write()?;
        let running: Vec<(i64, Option<u32>, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, pid, started_at FROM sync_run WHERE connection = ?1 AND status = 'running'",
            )?;
            stmt.query_map([connection], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (id, pid, started_at) in running {
            let old = started_at
                .parse::<Timestamp>()
                .map(|t| t < stale)
                .unwrap_or(true);
            let alive = pid.is_some_and(|p| p != me && process_alive(p));
            if alive && !old {
                return Err(Busy {
                    connection: connection.to_string(),
                    pid: pid.unwrap_or_default(),
                    started_at,
                }
                .into());
            }
            let why = match pid {
                Some(p) if !old => {
                    format!("interrupted: the process (pid {p}) ended before the sync finished")
                }
                _ => "interrupted: the process ended before the sync finished".to_string(),
            };
            tx.execute(
                "UPDATE sync_run SET status = 'failed', finished_at = ?1, error = ?2 WHERE id = ?3",
                params![now.to_string(), why, id],
            )?;
            drop_partial_rows(&tx, id)?;
        }
        tx.execute(
            "INSERT INTO sync_run (connection, kind, started_at, status, pid) VALUES (?1, ?2, ?3, 'running', ?4)",
            params![connection, kind, now.to_string(), me],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Writes a completed run's records and makes them the current snapshot, all at once.
    pub fn finish_run_ok(
        &mut self,
        run_id: i64,
        connection: &str,
        snapshot: &Snapshot,
    ) -> Result<()> {
        self.finish_run_ok_streamed(run_id, connection, snapshot, 0)
    }

    /// [`Store::finish_run_ok`] for a run that already streamed `streamed` items through
    /// [`Store::write_items`]; they count in the run's item count.
    pub fn finish_run_ok_streamed(
        &mut self,
        run_id: i64,
        connection: &str,
        snapshot: &Snapshot,
        streamed: usize,
    ) -> Result<()> {
        let mut counts = snapshot.counts();
        if streamed > 0 {
            *counts.entry("items".into()).or_default() += streamed;
        }
        let counts = serde_json::to_string(&counts)?;
        let stream = self.streams.remove(&run_id);
        if streamed > 0 && stream.is_none() {
            bail!(
                "sync run {run_id} of `{connection}`: storing its streamed records failed earlier, so it cannot complete"
            );
        }
        let tx = self.write()?;
        match snapshot {
            Snapshot::Vendor(v) => {
                write_accounts(&tx, run_id, v)?;
                // The run's own connection, whatever the caller named.
                let owner: String = tx.query_row(
                    "SELECT connection FROM sync_run WHERE id = ?1",
                    [run_id],
                    |r| r.get(0),
                )?;
                versions::check_newest(&tx, &owner, run_id)?;
                match stream {
                    Some(mut stream) => {
                        stream.write(&tx, run_id, &v.items)?;
                        stream.finish(&tx, run_id)?;
                    }
                    None => versions::merge_items(&tx, &owner, run_id, &v.items)?,
                }
            }
            Snapshot::Psa(p) => write_psa(&tx, run_id, p)?,
        }
        let (mut meta, whole_units) = match snapshot {
            Snapshot::Psa(p) => (p.meta.clone(), p.whole_units),
            Snapshot::Vendor(_) => (Default::default(), false),
        };
        if let Some(note) = crate::model::set_aside_note(snapshot.set_aside()) {
            meta.insert(crate::model::SET_ASIDE_META.to_string(), note);
        }
        let meta = serde_json::to_string(&meta)?;
        tx.execute(
            "UPDATE sync_run SET status = 'ok', finished_at = ?1, counts = ?2, meta = ?3, whole_units = ?4 WHERE id = ?5",
            params![Timestamp::now().to_string(), counts, meta, whole_units, run_id],
        )?;
        tx.execute(
            "INSERT INTO snapshot_current (connection, sync_run_id) VALUES (?1, ?2)
             ON CONFLICT (connection) DO UPDATE SET sync_run_id = excluded.sync_run_id
             WHERE excluded.sync_run_id > snapshot_current.sync_run_id",
            params![connection, run_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed run and drops any items it streamed; the current snapshot stays as it
    /// was.
    pub fn finish_run_failed(&mut self, run_id: i64, error: &str) -> Result<()> {
        self.streams.remove(&run_id);
        let tx = self.write()?;
        tx.execute(
            "UPDATE sync_run SET status = 'failed', finished_at = ?1, error = ?2 WHERE id = ?3",
            params![Timestamp::now().to_string(), error, run_id],
        )?;
        drop_partial_rows(&tx, run_id)?;
        tx.commit()?;
        Ok(())
    }

    /// Marks a run failed if it is still running (the process is being interrupted); a run that
    /// already finished keeps its outcome.
    pub fn abandon_run(&mut self, run_id: i64, error: &str) -> Result<bool> {
        self.streams.remove(&run_id);
        let tx = self.write()?;
        let n = tx.execute(
            "UPDATE sync_run SET status = 'failed', finished_at = ?1, error = ?2 WHERE id = ?3 AND status = 'running'",
            params![Timestamp::now().to_string(), error, run_id],
        )?;
        if n > 0 {
            drop_partial_rows(&tx, run_id)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// The most recent run of a connection, whatever its outcome.
    pub fn latest_run(&self, connection: &str) -> Result<Option<RunInfo>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM sync_run WHERE connection = ?1 ORDER BY id DESC LIMIT 1"),
                [connection],
                run_from_row,
            )
            .optional()?)
    }

    /// The run whose records are the connection's current snapshot.
    pub fn current_run(&self, connection: &str) -> Result<Option<RunInfo>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM sync_run WHERE id = (SELECT sync_run_id FROM snapshot_current WHERE connection = ?1)"
                ),
                [connection],
                run_from_row,
            )
            .optional()?)
    }

    /// The latest successful run of a connection before run `before` (the one whose snapshot a
    /// new one replaced), for comparing record counts.
    pub fn previous_ok_run(&self, connection: &str, before: i64) -> Result<Option<RunInfo>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM sync_run WHERE connection = ?1 AND status = 'ok' AND id < ?2 ORDER BY id DESC LIMIT 1"
                ),
                params![connection, before],
                run_from_row,
            )
            .optional()?)
    }

    /// Every run of a connection, newest first.
    pub fn runs(&self, connection: &str) -> Result<Vec<RunInfo>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM sync_run WHERE connection = ?1 ORDER BY id DESC"
        ))?;
        let rows = stmt
            .query_map([connection], run_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Connections that have sync history (configured or not).
    pub fn connections_with_history(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT connection FROM sync_run ORDER BY connection")?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// Deletes a connection's sync history and snapshots; returns how many runs went.
    pub fn purge_history(&mut self, connection: &str) -> Result<usize> {
        let tx = self.write()?;
        tx.execute(
            "DELETE FROM snapshot_current WHERE connection = ?1",
            [connection],
        )?;
        tx.execute(
            "DELETE FROM item_current WHERE connection = ?1",
            [connection],
        )?;
        tx.execute("DELETE FROM item_past WHERE connection = ?1", [connection])?;
        let n = tx.execute("DELETE FROM sync_run WHERE connection = ?1", [connection])?;
        tx.commit()?;
        Ok(n)
    }
}

/// Items of an unfinished run that failed or was killed: never current, so only clutter. Its
/// items new to the connection were written as versions beginning at it (see `versions.rs`).
fn drop_partial_rows(tx: &rusqlite::Transaction, run_id: i64) -> Result<()> {
    versions::drop_run_versions(tx, run_id)?;
    versions::drop_staged(tx, run_id)?;
    // Staged in `usage_item` by an earlier release, and left there by a kill.
    tx.execute("DELETE FROM usage_item WHERE run_id = ?1", [run_id])?;
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::{UsageItem, VendorAccount, VendorSnapshot};

    /// One account ("Acme", id 1) with `n` workstations, the first pending approval.
    pub(in crate::store) fn vendor(n: usize) -> Snapshot {
        Snapshot::Vendor(VendorSnapshot {
            accounts: vec![VendorAccount {
                id: "1".into(),
                name: "Acme".into(),
                raw: Some("{}".into()),
            }],
            items: (0..n)
                .map(|i| UsageItem {
                    id: i.to_string(),
                    account_id: "1".into(),
                    name: format!("pc{i}"),
                    class: "WINDOWS_WORKSTATION".into(),
                    raw_class: "WINDOWS_WORKSTATION".into(),
                    online: Some(true),
                    last_contact: Some("2026-01-02T03:04:05.5Z".parse().unwrap()),
                    pending_approval: i == 0,
                    attrs: [("role".to_string(), "x".to_string())].into(),
                    raw: None,
                })
                .collect(),
            ..VendorSnapshot::default()
        })
    }

    #[test]
    fn a_failed_run_leaves_the_current_snapshot_alone() {
        let mut s = Store::open_in_memory().unwrap();
        let r1 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r1, "n", &vendor(3)).unwrap();
        let r2 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_failed(r2, "boom").unwrap();
        let current = s.current_run("n").unwrap().unwrap();
        assert_eq!(current.id, r1);
        assert_eq!(current.counts["items"], 3);
        let latest = s.latest_run("n").unwrap().unwrap();
        assert_eq!(latest.status, RunStatus::Failed);
        assert_eq!(latest.error.as_deref(), Some("boom"));
        let snap = s.load_vendor_snapshot(current.id).unwrap();
        assert_eq!(snap.items.len(), 3);
        assert!(snap.items[0].pending_approval);
        assert_eq!(snap.items[1].attrs["role"], "x");
        assert_eq!(
            snap.items[1].last_contact,
            Some("2026-01-02T03:04:05.5Z".parse().unwrap())
        );
    }

    #[test]
    fn the_previous_ok_run_skips_failed_runs() {
        let mut s = Store::open_in_memory().unwrap();
        let r1 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r1, "n", &vendor(4)).unwrap();
        let r2 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_failed(r2, "boom").unwrap();
        let r3 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r3, "n", &vendor(1)).unwrap();
        let prev = s.previous_ok_run("n", r3).unwrap().unwrap();
        assert_eq!(prev.id, r1);
        assert_eq!(prev.counts["items"], 4);
        assert!(s.previous_ok_run("n", r1).unwrap().is_none());
        assert!(s.previous_ok_run("other", r3).unwrap().is_none());
    }

    #[test]
    fn history_is_kept_and_purge_removes_it() {
        let mut s = Store::open_in_memory().unwrap();
        for n in [2, 5] {
            let r = s.begin_run("n", "ninjaone").unwrap();
            s.finish_run_ok(r, "n", &vendor(n)).unwrap();
        }
        assert_eq!(s.runs("n").unwrap().len(), 2);
        assert_eq!(s.current_run("n").unwrap().unwrap().counts["items"], 5);
        assert_eq!(s.purge_history("n").unwrap(), 2);
        assert!(s.current_run("n").unwrap().is_none());
        let items: i64 = s
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM usage_item) + (SELECT COUNT(*) FROM item_current) + (SELECT COUNT(*) FROM item_past)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(items, 0);
    }
}
