//! `reconcile db prune` and `vacuum`: dropping the records of sync runs older than `[history]
//! keep_months`, and giving the freed pages back to the file system.
//!
//! A pruned run keeps its row (when it ran, how it ended, its record counts: what `status` and
//! `db stats` show) and loses its records: vendor accounts, its last-contact blob, PSA
//! companies, agreements, lines and products, and the item versions no kept run sees. So a
//! pruned period can no longer be reconciled or explained; one inside the kept months can.
//! Never pruned: a connection's current snapshot, and its newest successful run finished before
//! the cutoff (a moment just after the cutoff still has the snapshot that stood then). Review
//! decisions, mappings and stored findings are user data and are never touched.

use std::collections::BTreeMap;

use anyhow::Result;
use jiff::Timestamp;
use rusqlite::params;
use serde::Serialize;

use super::Store;

/// What a prune drops (or, in a dry run, would drop) of one connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneRow {
    pub connection: String,
    /// Successful runs whose records go.
    pub runs: u64,
    /// When the oldest and newest of them finished.
    pub oldest: Option<String>,
    pub newest: Option<String>,
    /// Records that go with them.
    pub accounts: u64,
    pub item_versions: u64,
    pub psa_records: u64,
    /// Successful runs whose records stay.
    pub kept_runs: u64,
}

impl Store {
    /// Drops the records of the successful runs that finished before `cutoff` (see the module
    /// header), or with `dry_run` only counts what would go. One transaction: a kill leaves
    /// all of it or none.
    pub fn prune(&mut self, cutoff: Timestamp, dry_run: bool) -> Result<Vec<PruneRow>> {
        let tx = self.write()?;
        let mut by_connection: BTreeMap<String, Vec<(i64, Timestamp, String)>> = BTreeMap::new();
        {
            let mut stmt = tx.prepare(
                "SELECT id, connection, finished_at FROM sync_run
                 WHERE status = 'ok' AND pruned = 0 AND finished_at IS NOT NULL ORDER BY id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let finished: String = r.get(2)?;
                let Ok(t) = finished.parse::<Timestamp>() else {
                    continue;
                };
                by_connection
                    .entry(r.get(1)?)
                    .or_default()
                    .push((r.get(0)?, t, finished));
            }
        }
        let mut out = Vec::new();
        for (connection, runs) in by_connection {
            let current: Option<i64> = tx
                .query_row(
                    "SELECT sync_run_id FROM snapshot_current WHERE connection = ?1",
                    [&connection],
                    |r| r.get(0),
                )
                .ok();
            let before: Vec<&(i64, Timestamp, String)> =
                runs.iter().filter(|(_, t, _)| *t < cutoff).collect();
            // The newest run before the cutoff stands for the moments just after it.
            let standing = before.iter().map(|(id, _, _)| *id).max();
            let gone: Vec<&(i64, Timestamp, String)> = before
                .into_iter()
                .filter(|(id, _, _)| Some(*id) != standing && Some(*id) != current)
                .collect();
            let kept: Vec<i64> = runs
                .iter()
                .map(|(id, _, _)| *id)
                .filter(|id| !gone.iter().any(|g| g.0 == *id))
                .collect();
            if gone.is_empty() {
                continue;
            }
            let ids = gone
                .iter()
                .map(|(id, _, _)| id.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let count = |sql: &str| -> Result<u64> {
                Ok(tx.query_row(&sql.replace("{ids}", &ids), [], |r| r.get::<_, i64>(0))? as u64)
            };
            let accounts = count("SELECT count(*) FROM vendor_account WHERE run_id IN ({ids})")?;
            let psa_records = count(
                "SELECT (SELECT count(*) FROM psa_company WHERE run_id IN ({ids}))
                      + (SELECT count(*) FROM psa_agreement WHERE run_id IN ({ids}))
                      + (SELECT count(*) FROM psa_line WHERE run_id IN ({ids}))
                      + (SELECT count(*) FROM psa_product WHERE run_id IN ({ids}))",
            )?;
            // A past version no kept run sees: it ended by the oldest kept run.
            let oldest_kept = kept.iter().min().copied().unwrap_or(i64::MAX);
            let item_versions: u64 = tx.query_row(
                "SELECT count(*) FROM item_past WHERE connection = ?1 AND valid_to <= ?2",
                params![connection, oldest_kept],
                |r| r.get::<_, i64>(0),
            )? as u64;
            if !dry_run {
                for table in [
                    "vendor_account",
                    "item_pulse",
                    "psa_company",
                    "psa_agreement",
                    "psa_line",
                    "psa_product",
                    "psa_unreadable",
                ] {
                    tx.execute(&format!("DELETE FROM {table} WHERE run_id IN ({ids})"), [])?;
                }
                tx.execute(
                    "DELETE FROM item_past WHERE connection = ?1 AND valid_to <= ?2",
                    params![connection, oldest_kept],
                )?;
                tx.execute(
                    &format!("UPDATE sync_run SET pruned = 1 WHERE id IN ({ids})"),
                    [],
                )?;
            }
            out.push(PruneRow {
                connection,
                runs: gone.len() as u64,
                oldest: gone.first().map(|g| g.2.clone()),
                newest: gone.last().map(|g| g.2.clone()),
                accounts,
                item_versions,
                psa_records,
                kept_runs: kept.len() as u64,
            });
        }
        if !dry_run {
            tx.commit()?;
        }
        Ok(out)
    }

    /// Rebuilds the file without its free pages (SQLite's `VACUUM`); returns its size before
    /// and after, in bytes. It needs as much free disk as the database, and waits for (then
    /// holds off) every other process using it.
    pub fn vacuum(&mut self) -> Result<(u64, u64)> {
        if let Some(why) = &self.read_only {
            anyhow::bail!("{why}");
        }
        let size = |s: &Store| -> Result<u64> {
            let page: i64 = s.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages: i64 = s.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            Ok((page * pages) as u64)
        };
        let before = size(self)?;
        self.conn.execute_batch("VACUUM")?;
        // The write-ahead log held the whole rewrite: give that back too.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok((before, size(self)?))
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Snapshot, UsageItem, VendorAccount, VendorSnapshot};
    use crate::store::Store;

    fn item(id: &str, class: &str) -> UsageItem {
        UsageItem {
            id: id.into(),
            account_id: "1".into(),
            name: id.into(),
            class: class.into(),
            raw_class: class.into(),
            online: None,
            last_contact: None,
            pending_approval: false,
            attrs: Default::default(),
            raw: None,
        }
    }

    /// A sync "finished" on `day` (the test rewrites the time).
    fn sync_on(s: &mut Store, day: &str, items: &[UsageItem]) -> i64 {
        let v = VendorSnapshot {
            accounts: vec![VendorAccount {
                id: "1".into(),
                name: "Acme".into(),
                raw: None,
            }],
            items: items.to_vec(),
            ..VendorSnapshot::default()
        };
        let r = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r, "n", &Snapshot::Vendor(v)).unwrap();
        s.conn_for_tests()
            .execute(
                "UPDATE sync_run SET finished_at = ?1 WHERE id = ?2",
                rusqlite::params![format!("{day}T12:00:00Z"), r],
            )
            .unwrap();
        r
    }

    #[test]
    fn prune_drops_old_records_keeps_what_stands_and_a_dry_run_changes_nothing() {
        let mut s = Store::open_in_memory().unwrap();
        // a stays; b is replaced by c on day 2; d comes on day 3.
        let r1 = sync_on(&mut s, "2025-01-01", &[item("a", "WS"), item("b", "WS")]);
        let r2 = sync_on(&mut s, "2025-02-01", &[item("a", "WS"), item("c", "WS")]);
        let r3 = sync_on(
            &mut s,
            "2025-03-01",
            &[item("a", "WS"), item("c", "SRV"), item("d", "WS")],
        );
        let r4 = sync_on(&mut s, "2026-06-01", &[item("a", "WS"), item("d", "WS")]);
        let cutoff = "2025-06-01T00:00:00Z".parse().unwrap();
        let dry = s.prune(cutoff, true).unwrap();
        assert_eq!(dry.len(), 1);
        // r1 and r2 go; r3 stands for the months after it, r4 is current.
        assert_eq!((dry[0].runs, dry[0].kept_runs), (2, 2));
        // b (ended at r2) and c as WS (ended at r3) are seen by no kept run.
        assert_eq!((dry[0].item_versions, dry[0].accounts), (2, 2));
        assert_eq!(s.load_vendor_snapshot(r1).unwrap().items.len(), 2);
        let done = s.prune(cutoff, false).unwrap();
        assert_eq!(done, dry);
        for gone in [r1, r2] {
            let err = s.load_vendor_snapshot(gone).unwrap_err().to_string();
            assert!(err.contains("were pruned"), "{err}");
        }
        let kept: Vec<i64> = s.ok_runs("n").unwrap().iter().map(|(_, r)| r.id).collect();
        assert_eq!(kept, vec![r3, r4]);
        let ids = |run| {
            s.load_vendor_snapshot(run)
                .unwrap()
                .items
                .into_iter()
                .map(|i| format!("{}:{}", i.id, i.class))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(r3), ["a:WS", "c:SRV", "d:WS"]);
        assert_eq!(ids(r4), ["a:WS", "d:WS"]);
        // The pruned runs keep their rows and counts.
        assert_eq!(s.runs("n").unwrap().len(), 4);
        assert!(s.prune(cutoff, false).unwrap().is_empty(), "nothing left");
        let (before, after) = s.vacuum().unwrap();
        assert!(after <= before, "{before} -> {after}");
    }
}
