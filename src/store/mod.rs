//! The SQLite file: opening it safely, migrating it, and every SQL statement the tool runs.
//!
//! WAL journaling and a busy timeout let two processes (two cron jobs) use the file at once; every
//! write is one `BEGIN IMMEDIATE` transaction, so a crash or a kill leaves either all of a change
//! or none of it. Migrations are numbered SQL files applied in order, never edited once released.

mod fingerprint;
mod history;
mod items;
mod mappings;
mod period_lines;
mod prune;
mod pulse;
mod push;
mod reconcile_runs;
mod reviews;
mod runs;
mod snapshots;
mod stats;
mod versions;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use fingerprint::{Inputs, InputsHasher};
pub use period_lines::{KeptCount, PeriodLine};
pub use prune::PruneRow;
pub use push::{ApplyBusy, AuditRow, PushOptIn, StoredPlan};
pub use reconcile_runs::ReconcileRecord;
pub use runs::{Busy, RunInfo, RunStatus};
pub use stats::{ConnectionStats, DbStats};

/// Every migration, in order; `user_version` counts how many were applied. Append only.
const MIGRATIONS: &[&str] = &[
    include_str!("sql/0001_init.sql"),
    include_str!("sql/0002_review.sql"),
    include_str!("sql/0003_unreadable_accounts.sql"),
    include_str!("sql/0004_psa_run_facts.sql"),
    include_str!("sql/0005_run_pid.sql"),
    include_str!("sql/0006_reconcile_inputs.sql"),
    include_str!("sql/0007_psa_unreadable.sql"),
    include_str!("sql/0008_push.sql"),
    include_str!("sql/0009_psa_line_invoiced.sql"),
    include_str!("sql/0010_review_costs.sql"),
    include_str!("sql/0011_item_versions.sql"),
    include_str!("sql/0012_period_lines.sql"),
    include_str!("sql/0013_period_service_counts.sql"),
];

/// What a migration (numbered from 1) does beyond its SQL, in the same transaction.
fn migrate_data(tx: &rusqlite::Transaction, migration: usize) -> Result<()> {
    match migration {
        11 => versions::convert_history(tx),
        _ => Ok(()),
    }
}

/// The number of migrations this build knows.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

pub struct Store {
    conn: Connection,
    /// Why the database was opened read-only (see [`Store::open_read`]); every write then fails
    /// with this.
    read_only: Option<String>,
    /// The streamed runs this process is storing, by run id: each one's comparison with its
    /// connection's current versions so far (see `versions.rs`).
    streams: std::collections::HashMap<i64, versions::Stream>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date, for
    /// a command that writes. A database this process cannot write (a read-only directory or
    /// file) is an error saying which and what to do.
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_rw(path).map_err(|e| match cannot_write(path, &e) {
            Some(why) => anyhow::anyhow!("{why}"),
            None => e,
        })
    }

    /// Opens the database at `path` for a command that only reads it (`status`, `report`,
    /// `explain`, `map list`): as [`Store::open`] when it can be written, else read-only as it
    /// is (no migration), and then every write fails saying why.
    pub fn open_read(path: &Path) -> Result<Store> {
        let e = match Self::open_rw(path) {
            Ok(s) => return Ok(s),
            Err(e) => e,
        };
        let Some(why) = cannot_write(path, &e) else {
            return Err(e);
        };
        if !path.exists() {
            return Err(anyhow::anyhow!("{why}"));
        }
        let conn = Self::open_ro(path).with_context(|| format!("{why}\nReading it failed too"))?;
        check_ours(&conn).with_context(|| format!("cannot use the database {}", path.display()))?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > schema_version() {
            bail!(
                "cannot use the database {}: it was written by a newer version of reconcile (schema {version}, this build knows {}); upgrade reconcile",
                path.display(),
                schema_version()
            );
        }
        if version < schema_version() {
            bail!(
                "{why}\nThis version of reconcile must also upgrade it (schema {version} to {}) before reading it, which needs the same write access",
                schema_version()
            );
        }
        conn.busy_timeout(Duration::from_secs(30))?;
        Ok(Store {
            conn,
            read_only: Some(why),
            streams: Default::default(),
        })
    }

    /// Read-only: first as SQLite reads a WAL database it may not write (it needs the
    /// `-shm` file to exist or be creatable); else, when nothing can be created next to it, as
    /// an immutable file (nothing else can be writing it then either).
    fn open_ro(path: &Path) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let plain = Connection::open_with_flags(path, flags).and_then(|c| {
            c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?;
            Ok(c)
        });
        match plain {
            Ok(c) => Ok(c),
            Err(_) => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let c = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)?;
                c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })?;
                Ok(c)
            }
        }
    }

    fn open_rw(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "cannot create the data directory {}; create it (writable by this user), or point --db (or RECONCILE_DB) at a file in a writable directory",
                    dir.display()
                )
            })?;
        }
        let existed = path.exists();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open the database {}", path.display()))?;
        if !existed {
            // Mappings, decisions and account names are the MSP's business: owner only. SQLite
            // gives its -wal and -shm files the same mode.
            owner_only(path)?;
        }
        Self::setup(conn).with_context(|| format!("cannot use the database {}", path.display()))
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?)
    }

    /// Why the database was opened read-only, when it was.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
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
        Ok(Store {
            conn,
            read_only: None,
            streams: Default::default(),
        })
    }

    fn prepare(conn: &mut Connection) -> Result<()> {
        // Before anything writes: a file that is not ours must stay exactly as it is.
        check_ours(conn)?;
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
                .map_err(anyhow::Error::from)
                .and_then(|()| migrate_data(&tx, i + 1))
                .with_context(|| format!("applying database migration {} failed", i + 1))?;
        }
        if version < schema_version() {
            tx.pragma_update(None, "user_version", schema_version())?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
        conn.execute_batch(STAGE_TABLE)?;
        Ok(())
    }

    /// The connection itself, for tests that set up what no API writes (old timestamps).
    #[cfg(test)]
    pub(crate) fn conn_for_tests(&self) -> &Connection {
        &self.conn
    }

    fn write(&mut self) -> Result<rusqlite::Transaction<'_>> {
        if let Some(why) = &self.read_only {
            bail!("{why}");
        }
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// Where a streamed sync's changed items wait until the run completes and their new versions
/// open (see `versions.rs`): a table of this connection's own temporary database, so staging
/// writes no write-ahead log, a killed sync leaves nothing behind, and dropping the staged rows
/// costs next to nothing. Only the process syncing ever reads them.
const STAGE_TABLE: &str = "CREATE TEMP TABLE IF NOT EXISTS stage_item (
    run_id           INTEGER NOT NULL,
    id               TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    class            TEXT NOT NULL,
    raw_class        TEXT NOT NULL,
    online           INTEGER,
    last_contact     TEXT,
    pending_approval INTEGER NOT NULL,
    attrs            TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;
-- The records as the vendor sent them, apart: the merge reads every staged item's fields but
-- only the new versions' records, and these are most of the bytes.
CREATE TEMP TABLE IF NOT EXISTS stage_raw (
    run_id INTEGER NOT NULL,
    id     TEXT NOT NULL,
    raw    TEXT NOT NULL,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;";

/// `PRAGMA application_id` of a reconcile database ("RCNC"), so another program's SQLite file
/// is never mistaken for ours, nor ours for theirs.
pub const APPLICATION_ID: i32 = 0x5243_4E43;

/// Refuses a file that is not a reconcile database: not SQLite at all, another program's
/// database (its application id, or tables without our schema version), without writing to it.
fn check_ours(conn: &Connection) -> Result<()> {
    // One read transaction, so a first open racing ours is seen before or after its migration,
    // never half-way (tables there, version not yet).
    let tx = conn.unchecked_transaction()?;
    let verdict = judge(&tx);
    tx.rollback()?;
    verdict
}

fn judge(conn: &Connection) -> Result<()> {
    let what_next = "reconcile will not write to it; point --db (or RECONCILE_DB) at another file, or move this one away";
    let app_id: i32 = match conn.pragma_query_value(None, "application_id", |r| r.get(0)) {
        Ok(id) => id,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            bail!("the file is not a SQLite database (is it the right path?); {what_next}")
        }
        Err(e) => return Err(e.into()),
    };
    if app_id == APPLICATION_ID {
        return Ok(());
    }
    if app_id != 0 {
        bail!(
            "the file is the SQLite database of another program (application id {app_id:#x}); {what_next}"
        );
    }
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let written_by_us = version > 0
        && ["sync_run", "account_map", "service_map"]
            .iter()
            .all(|t| tables.iter().any(|x| x == t));
    if tables.is_empty() || written_by_us {
        // A new file, or one an earlier build wrote before it set the application id.
        return Ok(());
    }
    let mut shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
    if tables.len() > 5 {
        shown.push("...");
    }
    bail!(
        "the file is a SQLite database of another program (tables: {}); {what_next}",
        shown.join(", ")
    )
}

#[cfg(unix)]
fn owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} readable by its owner only", path.display()))
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> Result<()> {
    // Windows: the file inherits the ACL of the user's profile directory it lives in.
    Ok(())
}

/// The error of a database this process cannot write, when `e` is SQLite (or the file system)
/// saying so: which file or directory, and what to do. `None` for any other error.
fn cannot_write(path: &Path, e: &anyhow::Error) -> Option<String> {
    let sqlite = e.chain().find_map(|c| {
        c.downcast_ref::<rusqlite::Error>()
            .and_then(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) => Some(*f),
                _ => None,
            })
            .filter(|f| {
                matches!(
                    f.code,
                    rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen
                )
            })
    });
    let io = e
        .chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(30));
    if (sqlite.is_none() && !io) || path.is_dir() {
        return None;
    }
    let dir: PathBuf = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "reconcile.db".into());
    let readonly = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().readonly());
    let reads = if path.exists() {
        "Commands that only read it (status, report of the stored findings, explain, map list) work as it is"
    } else {
        "It does not exist yet, so there is nothing to read either"
    };
    let elsewhere = "or point --db (or RECONCILE_DB) at a copy in a writable directory";
    const READONLY_DIRECTORY: std::ffi::c_int = 1544; // SQLITE_READONLY_DIRECTORY
    let what = if sqlite.is_some_and(|f| f.extended_code == READONLY_DIRECTORY)
        || (path.exists() && readonly(&dir))
        || !path.exists()
    {
        format!(
            "its directory {0} is not writable by this user, and SQLite keeps its journal next to the database ({file}-wal, {file}-shm){1}. Make the directory writable by the user reconcile runs as (e.g. `chmod u+w {0}`), {elsewhere}",
            dir.display(),
            if path.exists() {
                ""
            } else {
                " and must create the database there"
            },
        )
    } else if let ro @ [_, ..] = [
        path.to_path_buf(),
        dir.join(format!("{file}-wal")),
        dir.join(format!("{file}-shm")),
    ]
    .into_iter()
    .filter(|p| readonly(p))
    .map(|p| p.display().to_string())
    .collect::<Vec<_>>()
    .as_slice()
    {
        // SQLite gives the -wal and -shm files it creates the mode of the database: after a
        // read of a read-only database they stay read-only when it is made writable again.
        format!(
            "{} read-only. Make {} writable by the user reconcile runs as (e.g. `chmod u+w {}`), {elsewhere}",
            match ro {
                [one] if *one == path.display().to_string() => "the file is".to_string(),
                [one] => format!("{one} is"),
                [first @ .., last] => format!("{} and {last} are", first.join(", ")),
                [] => unreachable!("at least one file is read-only"),
            },
            if ro.len() == 1 { "it" } else { "them" },
            ro.join(" ")
        )
    } else {
        format!(
            "SQLite cannot write it or create {file}-wal and {file}-shm in {} (a read-only file system or mount, or files owned by another user?). Make the file and its directory writable by the user reconcile runs as, {elsewhere}",
            dir.display()
        )
    };
    Some(format!(
        "cannot write to the database {}: {what}. {reads}.",
        path.display()
    ))
}

/// `path` for a `file:` URI: `%`, `?` and `#` escaped (and `\` as `/` on Windows).
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            '\\' if cfg!(windows) => out.push('/'),
            c => out.push(c),
        }
    }
    // A Windows drive path (`C:/...`) is written `file:///C:/...`.
    if cfg!(windows) && path.is_absolute() {
        out.insert_str(0, "///");
    }
    out
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

    /// A database as the release before item versions left it (schema 10), with `rows` in its
    /// `usage_item` table for one successful run.
    fn schema_10_database(path: &Path, rows: &[(&str, &str, Option<&str>)]) {
        let mut c = Connection::open(path).unwrap();
        let tx = c.transaction().unwrap();
        for sql in &MIGRATIONS[..10] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 10).unwrap();
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        tx.execute(
            "INSERT INTO sync_run (id, connection, kind, started_at, finished_at, status, counts)
             VALUES (1, 'n', 'ninjaone', '2026-11-01T00:00:00Z', '2026-11-01T00:01:00Z', 'ok', '{\"accounts\":1,\"items\":2}')",
            [],
        )
        .unwrap();
        for (id, class, contact) in rows {
            tx.execute(
                "INSERT INTO usage_item (run_id, id, account_id, name, class, raw_class, online, last_contact, pending_approval)
                 VALUES (1, ?1, 'a', ?1, ?2, ?2, 1, ?3, 0)",
                rusqlite::params![id, class, contact],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn a_migration_that_fails_half_way_leaves_the_old_schema_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        // The second row cannot be converted: the step errors after the first was merged.
        schema_10_database(
            &path,
            &[
                ("d1", "WS", Some("2026-10-31T23:00:00Z")),
                ("d2", "WS", Some("not a time")),
            ],
        );
        let err = format!("{:#}", Store::open(&path).err().unwrap());
        assert!(
            err.contains("applying database migration 11 failed") && err.contains("not a time"),
            "{err}"
        );
        let c = Connection::open(&path).unwrap();
        let version: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 10);
        let rows: i64 = c
            .query_row("SELECT count(*) FROM usage_item", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2, "the old rows are all there");
        let new_table: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'item_current'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(new_table, 0, "nothing of migration 11 stayed");
        // Repaired, it migrates, and the run reads back.
        c.execute(
            "UPDATE usage_item SET last_contact = '2026-10-31T22:00:00Z' WHERE id = 'd2'",
            [],
        )
        .unwrap();
        drop(c);
        let s = Store::open(&path).unwrap();
        let back = s.load_vendor_snapshot(1).unwrap();
        assert_eq!(back.items.len(), 2);
        assert_eq!(
            back.items[1].last_contact,
            Some("2026-10-31T22:00:00Z".parse().unwrap())
        );
    }

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
    fn a_file_that_is_not_ours_is_refused_and_left_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        // Not SQLite at all.
        let text = dir.path().join("notes.db");
        std::fs::write(
            &text,
            "quarterly notes, not a database, padded to look like a file\n",
        )
        .unwrap();
        let before = std::fs::read(&text).unwrap();
        let err = format!("{:#}", Store::open(&text).err().unwrap());
        assert!(err.contains("not a SQLite database"), "{err}");
        assert!(err.contains("RECONCILE_DB"), "{err}");
        assert_eq!(std::fs::read(&text).unwrap(), before);

        // Another program's SQLite database.
        let foreign = dir.path().join("crm.db");
        {
            let c = Connection::open(&foreign).unwrap();
            c.execute_batch("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO contacts VALUES (1, 'x');")
                .unwrap();
        }
        let before = std::fs::read(&foreign).unwrap();
        let err = format!("{:#}", Store::open(&foreign).err().unwrap());
        assert!(err.contains("another program (tables: contacts)"), "{err}");
        assert_eq!(std::fs::read(&foreign).unwrap(), before);
        assert!(!dir.path().join("crm.db-wal").exists());

        // One with another application id.
        let other = dir.path().join("other.db");
        {
            let c = Connection::open(&other).unwrap();
            c.pragma_update(None, "application_id", 0x1234_5678)
                .unwrap();
            c.execute_batch("CREATE TABLE t (x);").unwrap();
        }
        let err = format!("{:#}", Store::open(&other).err().unwrap());
        assert!(err.contains("application id 0x12345678"), "{err}");
    }

    #[test]
    fn a_database_of_an_earlier_build_is_accepted_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        {
            let s = Store::open(&path).unwrap();
            // What builds before the application id left behind.
            s.conn.pragma_update(None, "application_id", 0).unwrap();
        }
        let s = Store::open(&path).unwrap();
        let id: i32 = s
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("r.db");
        drop(Store::open(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
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
    fn a_read_only_store_reads_and_every_write_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a?b#c%d.db");
        let mapping = crate::model::AccountMapping {
            vendor_connection: "n".into(),
            account_id: "1".into(),
            account_name: "Acme".into(),
            target: None,
            source: crate::model::MapSource::Manual,
        };
        Store::open(&path)
            .unwrap()
            .set_account_mapping(&mapping)
            .unwrap();
        // The immutable fallback, by URI: `?`, `#` and `%` in the path are escaped.
        let uri = format!("file:{}?immutable=1", uri_path(&path));
        let conn = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .unwrap();
        for conn in [conn, Store::open_ro(&path).unwrap()] {
            let mut s = Store {
                conn,
                read_only: Some("cannot write to the database: why, and what to do".into()),
                streams: Default::default(),
            };
            assert_eq!(s.account_mappings().unwrap().len(), 1);
            let e = format!("{:#}", s.set_account_mapping(&mapping).unwrap_err());
            assert_eq!(e, "cannot write to the database: why, and what to do");
        }
    }

    #[test]
    fn read_only_errors_name_the_directory_or_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        drop(Store::open(&path).unwrap());
        let sqlite = |extended_code| {
            anyhow::Error::new(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error {
                    code: rusqlite::ErrorCode::ReadOnly,
                    extended_code,
                },
                None,
            ))
            .context("cannot use the database")
        };
        let d = dir.path().display().to_string();
        let e = cannot_write(&path, &sqlite(1544)).unwrap();
        assert!(
            e.starts_with(&format!(
                "cannot write to the database {}: its directory {d} is not writable by this user",
                path.display()
            )),
            "{e}"
        );
        assert!(e.contains(&format!("`chmod u+w {d}`")), "{e}");
        assert!(e.contains("--db (or RECONCILE_DB)"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
            let e = cannot_write(&path, &sqlite(8)).unwrap();
            assert!(
                e.contains(&format!(
                    "the file is read-only. Make it writable by the user reconcile runs as (e.g. `chmod u+w {}`)",
                    path.display()
                )),
                "{e}"
            );
        }
        assert!(cannot_write(&path, &anyhow::anyhow!("disk full")).is_none());
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
