//! What the database holds and how big it is (`reconcile db stats`): its size and free space,
//! and per connection its sync runs and the records they stored. Usage items are stored once per
//! version (see `versions.rs`), so they grow with change; PSA records and vendor accounts are
//! stored with every snapshot.

use anyhow::Result;
use serde::Serialize;

use super::Store;

/// The database as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbStats {
    /// Pages in use times the page size.
    pub bytes: u64,
    /// Free pages (what `VACUUM` would give back) times the page size.
    pub free_bytes: u64,
    pub schema_version: usize,
    pub connections: Vec<ConnectionStats>,
    pub reconcile_runs: u64,
    pub findings: u64,
    pub review_decisions: u64,
    /// Billing periods whose summary `db prune` kept, and their rows: lines per company and
    /// product, and vendor counts per account and service.
    pub kept_periods: u64,
    pub kept_lines: u64,
    pub kept_service_counts: u64,
}

/// One connection's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionStats {
    pub connection: String,
    pub kind: String,
    pub runs: u64,
    pub ok_runs: u64,
    pub failed_runs: u64,
    /// When its oldest and newest runs finished (RFC 3339), if any did.
    pub oldest: Option<String>,
    pub newest: Option<String>,
    /// Records stored over every run: vendor accounts and usage item versions (an item
    /// unchanged over many syncs is one version), or PSA companies, agreements, lines and
    /// products.
    pub accounts: u64,
    pub items: u64,
    pub psa_records: u64,
}

impl Store {
    /// The database's size and, per connection, its runs and stored records.
    pub fn stats(&self) -> Result<DbStats> {
        let pragma = |p: &str| -> Result<u64> {
            Ok(self
                .conn
                .query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, i64>(0))?
                as u64)
        };
        let page = pragma("page_size")?;
        let bytes = pragma("page_count")? * page;
        let free_bytes = pragma("freelist_count")? * page;
        let mut stmt = self.conn.prepare(
            "SELECT connection, MAX(kind), COUNT(*), SUM(status = 'ok'), SUM(status = 'failed'),
                    MIN(finished_at), MAX(finished_at)
             FROM sync_run GROUP BY connection ORDER BY connection",
        )?;
        let mut connections: Vec<ConnectionStats> = stmt
            .query_map([], |r| {
                Ok(ConnectionStats {
                    connection: r.get(0)?,
                    kind: r.get(1)?,
                    runs: r.get::<_, i64>(2)? as u64,
                    ok_runs: r.get::<_, i64>(3)? as u64,
                    failed_runs: r.get::<_, i64>(4)? as u64,
                    oldest: r.get(5)?,
                    newest: r.get(6)?,
                    accounts: 0,
                    items: 0,
                    psa_records: 0,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let per_connection = |table: &str| -> Result<Vec<(String, u64)>> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT r.connection, COUNT(*) FROM {table} t JOIN sync_run r ON r.id = t.run_id GROUP BY r.connection"
            ))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        };
        let mut add = |table: &str, field: fn(&mut ConnectionStats) -> &mut u64| -> Result<()> {
            for (c, n) in per_connection(table)? {
                if let Some(s) = connections.iter_mut().find(|s| s.connection == c) {
                    *field(s) += n;
                }
            }
            Ok(())
        };
        add("vendor_account", |s| &mut s.accounts)?;
        add("usage_item", |s| &mut s.items)?;
        for t in ["psa_company", "psa_agreement", "psa_line", "psa_product"] {
            add(t, |s| &mut s.psa_records)?;
        }
        let mut stmt = self.conn.prepare(
            "SELECT connection, COUNT(*) FROM (
                 SELECT connection FROM item_current
                 -- Not the new items of a sync still running (or killed): not stored yet.
                 WHERE valid_from NOT IN (SELECT id FROM sync_run WHERE status <> 'ok')
                 UNION ALL SELECT connection FROM item_past)
             GROUP BY connection",
        )?;
        let versions: Vec<(String, u64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<_>>()?;
        for (c, n) in versions {
            if let Some(s) = connections.iter_mut().find(|s| s.connection == c) {
                s.items += n;
            }
        }
        let count = |table: &str| -> Result<u64> {
            Ok(self
                .conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })? as u64)
        };
        Ok(DbStats {
            bytes,
            free_bytes,
            schema_version: super::schema_version(),
            connections,
            reconcile_runs: count("reconcile_run")?,
            findings: count("finding")?,
            review_decisions: count("review_decision")?,
            kept_periods: self.kept_periods()?.len() as u64,
            kept_lines: count("period_line")?,
            kept_service_counts: count("period_service_count")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::runs::tests::vendor;

    #[test]
    fn stats_count_runs_and_the_records_every_snapshot_stores() {
        let mut s = Store::open_in_memory().unwrap();
        for n in [3, 5] {
            let r = s.begin_run("ninja", "ninjaone").unwrap();
            s.finish_run_ok(r, "ninja", &vendor(n)).unwrap();
        }
        let r = s.begin_run("ninja", "ninjaone").unwrap();
        s.finish_run_failed(r, "boom").unwrap();
        let st = s.stats().unwrap();
        assert_eq!(st.connections.len(), 1);
        let n = &st.connections[0];
        assert_eq!((n.runs, n.ok_runs, n.failed_runs), (3, 2, 1));
        // Items 0-2 did not change between the two syncs: 5 versions, not 3 + 5. Accounts are
        // kept per snapshot: 1 + 1.
        assert_eq!((n.items, n.accounts, n.psa_records), (5, 2, 0));
        assert!(n.oldest.is_some() && n.oldest <= n.newest);
        assert!(st.bytes > 0);
        assert_eq!(st.schema_version, crate::store::schema_version());
    }
}
