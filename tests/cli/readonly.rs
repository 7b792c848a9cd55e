//! A database this user cannot write (its directory read-only, as on a locked-down server or
//! a copy handed to an auditor): the commands that only read it (`status`, `report`, `explain`,
//! `map list`) work, and the ones that write say which directory and what to do.
//!
//! Root ignores file permissions, so a read-only directory is only read-only to root's
//! processes on a read-only mount. Run as root (as in some CI containers), the test runs the
//! binary as uid/gid 65534 (nobody) over a tree it owns; where even that is not possible it is
//! skipped, saying why.

#![cfg(unix)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::harness::{Env, Run};
use crate::support::{Finding, csv_rows};

/// The user the binary runs as: this process's, or nobody's when this process is root.
struct Runner<'a> {
    env: &'a Env,
    uid: Option<u32>,
}

impl Runner<'_> {
    fn run(&self, args: &[&str]) -> Run {
        let mut c = self.env.std_cmd();
        if let Some(id) = self.uid {
            c.uid(id).gid(id);
        }
        Run(c.args(args).stdin(Stdio::null()).output().unwrap())
    }

    fn report(&self) -> (Vec<Finding>, Run) {
        let run = self.run(&["report", "--format", "csv"]).expect(0);
        (csv_rows(&run.stdout()), run)
    }
}

/// Makes a directory read-only, and writable again when dropped (so a failed test leaves a
/// temporary directory that can be removed).
struct ReadOnlyDir(PathBuf);

impl ReadOnlyDir {
    fn new(dir: &Path) -> ReadOnlyDir {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        ReadOnlyDir(dir.to_path_buf())
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

fn chown_tree(path: &Path, id: u32) {
    std::os::unix::fs::lchown(path, Some(id), Some(id)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), id);
        }
    }
}

/// Who can be kept out of a read-only directory: `Some(None)` this process's user, `Some(Some(
/// 65534))` nobody when this process is root; `None` (after saying why) when no one can.
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn who_is_kept_out(env: &Env) -> Option<Option<u32>> {
    let probe = env.dir.path().join("probe");
    std::fs::create_dir(&probe).unwrap();
    let guard = ReadOnlyDir::new(&probe);
    let created = std::fs::File::create(probe.join("x"));
    drop(guard);
    let Ok(_) = created else {
        return Some(None);
    };
    let root = std::fs::metadata(probe.join("x")).unwrap().uid() == 0;
    if !root {
        eprintln!(
            "skipped: this process writes into a read-only directory without being root (a capability?), so no read-only directory can be made for it"
        );
        return None;
    }
    chown_tree(env.dir.path(), 65534);
    let mut c = env.std_cmd();
    c.uid(65534).gid(65534);
    match c.arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {
            eprintln!(
                "running as root, which ignores permissions: the binary runs as uid/gid 65534 (nobody) over a tree it owns"
            );
            Some(Some(65534))
        }
        other => {
            eprintln!(
                "skipped: running as root, which ignores permissions, and the binary cannot be run as uid 65534 here ({other:?})"
            );
            None
        }
    }
}

#[test]
fn read_only_commands_work_from_a_database_in_a_read_only_directory() {
    let env = Env::new();
    let Some(uid) = who_is_kept_out(&env) else {
        return;
    };
    let r = Runner { env: &env, uid };
    let usage = env.dir.path().join("usage.csv");
    std::fs::write(&usage, "Customer,Plan,Seats\nAcme,BK,5\nBeta,BK,2\n").unwrap();
    let billing = env.dir.path().join("billing.csv");
    std::fs::write(
        &billing,
        "Company,Product,Quantity,Unit Price\nAcme,BK-PSA,3,10\nBeta,BK-PSA,2,10\n",
    )
    .unwrap();
    for args in [
        vec![
            "connect",
            "csv",
            "--name",
            "backup",
            "--path",
            usage.to_str().unwrap(),
        ],
        vec![
            "connect",
            "csv-billing",
            "--name",
            "psa",
            "--path",
            billing.to_str().unwrap(),
        ],
        vec!["sync"],
        vec!["map", "account", "backup", "Acme", "--to", "Acme"],
        vec!["map", "account", "backup", "Beta", "--to", "Beta"],
        vec!["map", "service", "backup", "bk", "--to", "BK-PSA"],
        vec!["map", "service", "backup", "all", "--not-billed"],
        vec!["reconcile"],
    ] {
        r.run(&args).expect(0);
    }
    let (written, _) = r.report();
    let acme = |rows: &[Finding]| {
        rows.iter()
            .find(|f| f.company == "Acme")
            .map(|f| (f.actual_qty.clone(), f.billed_qty.clone()))
            .unwrap()
    };
    assert_eq!(acme(&written), ("5".into(), "3".into()));

    let db = env.db_path();
    let data = db.parent().unwrap().to_path_buf();
    let dir = data.display().to_string();
    let locked = ReadOnlyDir::new(&data);
    let status = r.run(&["status"]).expect(0);
    assert!(
        status.stdout().contains("2 accounts, 2 items"),
        "{}",
        status.stdout()
    );
    // The stored findings, as they are, and nothing said about them.
    let (rows, run) = r.report();
    assert_eq!(rows.len(), written.len());
    assert_eq!(acme(&rows), ("5".into(), "3".into()));
    assert!(run.stderr().is_empty(), "{}", run.stderr());
    r.run(&["explain", "Acme", "BK-PSA"])
        .expect(0)
        .stdout()
        .contains("actual            5")
        .then_some(())
        .expect("explain shows the count");
    let list = r.run(&["map", "list"]).expect(0).stdout();
    assert!(list.contains("BK-PSA") && list.contains("Acme"), "{list}");

    // Writing commands fail, naming the directory and what to do.
    let write_error = [
        format!("cannot write to the database {}: its directory {dir} is not writable by this user", db.display()),
        format!("chmod u+w {dir}"),
        "point --db (or RECONCILE_DB) at a copy in a writable directory".to_string(),
        "Commands that only read it (status, report of the stored findings, explain, map list) work".to_string(),
    ];
    let write_error: Vec<&str> = write_error.iter().map(String::as_str).collect();
    for args in [
        vec!["sync"],
        vec!["reconcile"],
        vec!["map", "account", "backup", "Acme", "--to", "Beta"],
    ] {
        r.run(&args)
            .expect(2)
            .says(&write_error, &["Error code", "SQLITE_READONLY"]);
    }
    assert!(!data.join("reconcile.db-wal").exists());

    // New usage synced while the directory is writable, not reconciled: the next report from
    // the read-only directory computes the findings, shows them, and says it could not store
    // them.
    drop(locked);
    std::fs::write(&usage, "Customer,Plan,Seats\nAcme,BK,6\nBeta,BK,2\n").unwrap();
    r.run(&["sync"]).expect(0);
    let locked = ReadOnlyDir::new(&data);
    let (rows, run) = r.report();
    assert_eq!(acme(&rows), ("6".into(), "3".into()));
    run.says(
        &[
            "warning: findings computed for this report from the stored snapshots and mappings, and not stored: cannot write to the database",
        ],
        &[],
    );
    drop(locked);

    // The database file read-only in a writable directory: reading leaves -wal and -shm files
    // as read-only as it, so the error names every file to make writable.
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    mode(&db, 0o400).unwrap();
    r.run(&["status"]).expect(0);
    let (rows, _) = r.report();
    assert_eq!(acme(&rows), ("6".into(), "3".into()));
    let failed = r.run(&["sync"]).expect(2);
    failed.says(
        &[
            &format!("cannot write to the database {}: ", db.display()),
            "read-only. Make",
            "chmod u+w ",
        ],
        &["Error code"],
    );
    let err = failed.stderr();
    let listed: Vec<PathBuf> = err
        .split("chmod u+w ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap()
        .split(' ')
        .map(PathBuf::from)
        .collect();
    assert!(listed.contains(&db), "{err}");
    for p in &listed {
        mode(p, 0o600).unwrap();
    }
    r.run(&["sync"]).expect(0);
}
