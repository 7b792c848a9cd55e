//! The SQLite file: opening it safely, migrating it, and every SQL statement the tool runs.
//!
//! WAL journaling and a busy timeout let two processes (two cron jobs) use the file at once; every
//! write is one `BEGIN IMMEDIATE` transaction, so a crash or a kill leaves either all of a change
//! or none of it. Migrations are numbered SQL files applied in order, never edited once released.

mod mappings;
mod runs;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use rusqlite_migration::{M, Migrations};

pub use runs::{ReconcileRecord, RunInfo, RunStatus};

/// Every migration, in order. Append only.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(include_str!("sql/0001_init.sql"))])
}

/// The number of migrations this build knows.
pub fn schema_version() -> usize {
    1
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
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > schema_version() {
            bail!(
                "the database was written by a newer version of reconcile (schema {version}, this build knows {}); upgrade reconcile",
                schema_version()
            );
        }
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        // Two processes opening a new file at once both see version 0; the loser's migration fails
        // once the winner committed. Try again: then there is nothing left to do.
        if let Err(first) = migrations().to_latest(&mut conn) {
            migrations()
                .to_latest(&mut conn)
                .with_context(|| format!("migrating the database schema failed: {first}"))?;
        }
        Ok(Store { conn })
    }

    fn write(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
        assert_eq!(schema_version(), migrations_len());
    }

    fn migrations_len() -> usize {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations().to_latest(&mut conn).unwrap();
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, usize>(0))
            .unwrap()
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
        let handles: Vec<_> = (0..4)
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
