//! The SQLite file: opening it safely, migrating it, and every SQL statement the tool runs.
//!
//! WAL journaling and a busy timeout let two processes (two cron jobs) use the file at once; every
//! write is one `BEGIN IMMEDIATE` transaction, so a crash or a kill leaves either all of a change
//! or none of it. Migrations are numbered SQL files applied in order, never edited once released.

mod history;
mod mappings;
mod reviews;
mod runs;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use runs::{ReconcileRecord, RunInfo, RunStatus};

/// Every migration, in order; `user_version` counts how many were applied. Append only.
const MIGRATIONS: &[&str] = &[
    include_str!("sql/0001_init.sql"),
    include_str!("sql/0002_review.sql"),
    include_str!("sql/0003_unreadable_accounts.sql"),
    include_str!("sql/0004_psa_run_facts.sql"),
];

/// The number of migrations this build knows.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open the database {}", path.display()))?;
        Self::setup(conn).with_context(|| format!("cannot use the database {}", path.display()))
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(Duration::from_secs(30))?;
        // Switching a new file to WAL and migrating it need locks that SQLite does not wait for
        // through the busy handler; when two processes open a new file at once, the loser gets
        // SQLITE_BUSY at once. Retry those steps for a while: afterwards there is nothing to do.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match Self::prepare(&mut conn) {
                Ok(()) => break,
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Store { conn })
    }

    fn prepare(conn: &mut Connection) -> Result<()> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        // The version is read inside the write transaction: two processes opening a new file at
        // once cannot both decide to apply the same migration.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > schema_version() {
            bail!(
                "the database was written by a newer version of reconcile (schema {version}, this build knows {}); upgrade reconcile",
                schema_version()
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(sql)
                .with_context(|| format!("applying database migration {} failed", i + 1))?;
        }
        if version < schema_version() {
            tx.pragma_update(None, "user_version", schema_version())?;
        }
        tx.commit()?;
        Ok(())
    }

    fn write(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// Whether an error is SQLite saying another connection holds the lock.
fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let code = c
            .downcast_ref::<rusqlite::Error>()
            .and_then(|e| e.sqlite_error_code());
        matches!(
            code,
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_gets_every_migration() {
        let s = Store::open_in_memory().unwrap();
        let v: usize = s
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len());
        let tables: i64 = s
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('sync_run', 'account_map', 'service_map', 'finding', 'review_decision')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 5);
    }

    #[test]
    fn migrations_apply_twice_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        {
            let mut s = Store::open(&path).unwrap();
            s.set_account_mapping(&crate::model::AccountMapping {
                vendor_connection: "n".into(),
                account_id: "1".into(),
                account_name: "Acme".into(),
                target: None,
                source: crate::model::MapSource::Manual,
            })
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.account_mappings().unwrap().len(), 1);
        let s2 = Store::open(&path).unwrap();
        assert_eq!(s2.account_mappings().unwrap().len(), 1);
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = format!("{:#}", Store::open(&path).err().unwrap());
        assert!(err.contains("newer version"), "{err}");
    }

    #[test]
    fn concurrent_first_opens_do_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Store::open(&p).map(|_| ()))
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    }
}
