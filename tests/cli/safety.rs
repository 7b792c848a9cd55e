//! Faults a user does not choose: a sync killed outright (SIGKILL, power loss) at any moment,
//! and verbose logs that must still never show a secret.

use std::time::Duration;

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::{connectwise, ninjaone};

use crate::flow::{
    connect_both, connect_ninjaone_at, connected_both, map_demo, serve, synced_and_mapped,
};
use crate::harness::Env;
use crate::support::runtime;

/// Per connection: (status, counts) of the run its current snapshot comes from, read straight
/// from the database, plus SQLite's own integrity verdict.
fn current_runs(env: &Env) -> (String, Vec<(String, String, String)>) {
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let mut stmt = db
        .prepare(
            "SELECT c.connection, r.status, r.counts FROM snapshot_current c
             JOIN sync_run r ON r.id = c.sync_run_id ORDER BY c.connection",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (integrity, rows)
}

#[cfg(unix)]
#[test]
fn a_sync_killed_at_any_moment_leaves_the_last_good_snapshot_and_a_sound_database() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    env.run(&["sync"], "").expect(0);
    let (integrity, baseline) = current_runs(&env);
    assert_eq!(integrity, "ok");
    assert_eq!(baseline.len(), 2, "{baseline:?}");

    // From right after start to past the end of a sync: every stage gets hit by some kill.
    let mut killed_while_running = 0;
    for delay_ms in [1, 5, 15, 30, 50, 80, 120, 170, 230, 300, 400, 550] {
        let mut child = env
            .std_cmd()
            .args(["sync", "--quiet"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished_already = child.try_wait().unwrap().is_some();
        child.kill().unwrap_or(()); // SIGKILL: no handler runs, nothing is flushed.
        let status = child.wait().unwrap();
        if !finished_already && status.code().is_none() {
            killed_while_running += 1;
        }
        let (integrity, current) = current_runs(&env);
        assert_eq!(integrity, "ok", "after a kill at {delay_ms} ms");
        assert_eq!(
            current.len(),
            2,
            "after a kill at {delay_ms} ms: {current:?}"
        );
        for ((conn, status, counts), (_, _, base_counts)) in current.iter().zip(&baseline) {
            // The current snapshot is always a completed run with the full data: the killed
            // run either finished before the kill or left the previous one current.
            assert_eq!(status, "ok", "{conn} after a kill at {delay_ms} ms");
            assert_eq!(counts, base_counts, "{conn} after a kill at {delay_ms} ms");
        }
    }
    assert!(
        killed_while_running >= 3,
        "only {killed_while_running} kills landed during a sync"
    );

    // No killed run is reported as a good one, and the tool carries on.
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    let ok_runs: i64 = db
        .query_row(
            "SELECT count(*) FROM sync_run WHERE status = 'ok' AND finished_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ok_runs, 0);
    drop(db);
    env.run(&["sync"], "").expect(0);
    map_demo(&env, s);
    let report = env.run(&["report", "--format", "csv"], "").expect(0);
    assert!(report.stdout().lines().count() > 20, "{}", report.stdout());
}

#[test]
fn a_verbose_run_of_the_whole_flow_shows_no_secret_anywhere() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    let secrets = [ninjaone::DEMO_CLIENT_SECRET, connectwise::DEMO_PRIVATE_KEY];
    let (a, b) = connect_both(&env, s);
    let mut seen = vec![a.expect(0), b.expect(0)];
    for args in [
        &["-vv", "sync"][..],
        &["-vv", "status"],
        &["-vv", "map"],
        &["-vv", "reconcile"],
        &["-vv", "report", "--format", "json", "--all"],
        &["-vv", "explain", &s.sample.planted.under_billed[0]],
    ] {
        seen.push(env.run(args, ""));
    }
    let verbose = seen[2].stderr();
    assert!(
        verbose.contains("DEBUG") || verbose.contains("TRACE"),
        "-vv logs requests: {verbose}"
    );
    for run in &seen {
        for secret in secrets {
            assert!(!run.stdout().contains(secret), "stdout shows a secret");
            assert!(!run.stderr().contains(secret), "stderr shows a secret");
        }
    }
    let mut files = vec![env.config_path(), env.db_path()];
    for ext in ["-wal", "-shm"] {
        let p = env.db_path().with_file_name(format!("reconcile.db{ext}"));
        if p.exists() {
            files.push(p);
        }
    }
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in secrets {
            assert!(!text.contains(secret), "{} holds a secret", f.display());
        }
    }
}

#[cfg(unix)]
#[test]
fn a_second_sync_waits_for_the_first_and_a_killed_one_is_marked_interrupted() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    // NinjaOne on a host that accepts connections and never answers: its sync hangs.
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", hang.local_addr().unwrap());
    let connect = |url: &str| {
        connect_ninjaone_at(&env, url, &["--no-verify"]).expect(0);
    };
    connect(&url);
    let mut first = env
        .std_cmd()
        .args(["sync", "ninja"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));

    // A second sync of the same connection waits for the first rather than racing it, and
    // gives up with a clear message when the first does not finish in time.
    let second = env.run_env(&["sync", "ninja"], &[("RECONCILE_SYNC_WAIT_SECS", "2")]);
    assert_eq!(second.code(), 2, "{}", second.stderr());
    let err = second.stderr();
    assert!(
        err.contains("`ninja` is being synced by another reconcile process"),
        "{err}"
    );
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(err.contains("waiting for it to finish"), "{err}");
    assert!(err.contains("still after waiting 2s"), "{err}");
    // Other connections are not held up by it.
    env.run_env(&["sync", "cw"], &[("RECONCILE_SYNC_WAIT_SECS", "2")])
        .expect(0);

    // The first one is killed outright: the next sync finds its process gone, marks its run
    // interrupted, and goes ahead.
    let pid = first.id();
    first.kill().unwrap();
    first.wait().unwrap();
    connect(s.url(ConnectorKind::NinjaOne));
    env.run(&["sync", "ninja"], "").expect(0);
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    let (status, error): (String, String) = db
        .query_row(
            "SELECT status, error FROM sync_run WHERE connection = 'ninja' AND pid = ?1",
            [pid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "failed");
    assert_eq!(
        error,
        format!("interrupted: the process (pid {pid}) ended before the sync finished")
    );
    drop(hang);
}

/// A NinjaOne stand-in that serves a first full page of 1,000 devices and then never answers
/// the next page: a sync against it stays in the middle of writing its records. The flag turns
/// true when the next page is asked for (the first one was read).
fn stalling_ninjaone(
    rt: &tokio::runtime::Runtime,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let asked_next = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = asked_next.clone();
    use axum::routing::{get, post};
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let devices: Vec<serde_json::Value> = (1..=1000)
        .map(|id| serde_json::json!({"id": id, "organizationId": 1, "nodeClass": "WINDOWS_WORKSTATION", "systemName": format!("PC-{id}")}))
        .collect();
    let page = move |q: axum::extract::Query<std::collections::HashMap<String, String>>| {
        let devices = devices.clone();
        let flag = flag.clone();
        async move {
            if q.contains_key("after") {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                std::future::pending::<()>().await;
            }
            axum::Json(devices)
        }
    };
    let app = axum::Router::new()
        .route(
            "/ws/oauth/token",
            post(|| async {
                axum::Json(serde_json::json!({"access_token": "t", "token_type": "Bearer", "expires_in": 3600}))
            }),
        )
        .route(
            "/v2/organizations",
            get(|| async { axum::Json(serde_json::json!([{"id": 1, "name": "Stall Co"}])) }),
        )
        .route("/v2/roles", get(|| async { axum::Json(serde_json::json!([])) }))
        // Whichever way the sync lists devices (one list, or per organization).
        .route("/v2/devices", get(page.clone()))
        .route("/v2/organization/1/devices", get(page));
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, asked_next)
}

#[cfg(unix)]
#[test]
fn report_works_while_a_sync_is_writing_and_never_shows_its_half_read_records() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    let before = synced_and_mapped(&env, s);

    let rt = runtime();
    let (url, asked_next) = stalling_ninjaone(&rt);
    connect_ninjaone_at(&env, &url, &["--no-verify"]).expect(0);
    let mut sync = env
        .std_cmd()
        .args(["-v", "sync", "ninja"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the running sync has read its first page of records and is staging them
    // (in its own temporary database: no other process sees them).
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    let in_file = || -> i64 {
        db.query_row(
            "SELECT count(*) FROM usage_item u JOIN sync_run r ON r.id = u.run_id WHERE r.status <> 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !asked_next.load(std::sync::atomic::Ordering::SeqCst) {
        if std::time::Instant::now() > deadline || sync.try_wait().unwrap().is_some() {
            sync.kill().unwrap();
            let out = sync.wait_with_output().unwrap();
            panic!(
                "the sync never read its first page: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let running: i64 = db
        .query_row(
            "SELECT count(*) FROM sync_run WHERE status = 'running'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(running, 1, "the sync is in the middle of its run");

    // Meanwhile `report` runs, and shows the last complete snapshot, not the half-read one.
    let during = env.run(&["report", "--format", "csv"], "");
    assert_eq!(during.code(), 0, "{}", during.stderr());
    assert_eq!(during.stdout(), before);
    assert!(!during.stdout().contains("Stall Co"));

    // Killed mid-write: nothing it staged is left in the database file, and the next sync
    // marks it interrupted.
    sync.kill().unwrap();
    sync.wait().unwrap();
    assert_eq!(in_file(), 0, "a killed run's records were left behind");
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &["--no-verify"]).expect(0);
    env.run(&["sync", "ninja"], "").expect(0);
    let killed: String = db
        .query_row(
            "SELECT error FROM sync_run WHERE connection = 'ninja' AND status = 'failed' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(killed.starts_with("interrupted"), "{killed}");
    assert_eq!(
        env.run(&["report", "--format", "csv"], "")
            .expect(0)
            .stdout(),
        before
    );
}

#[test]
fn report_reuses_stored_findings_only_while_nothing_changed() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    let before = synced_and_mapped(&env, s);
    let report = || {
        env.run(&["report", "--format", "csv"], "")
            .expect(0)
            .stdout()
    };
    // Reused: the same output as the report that computed it.
    assert_eq!(report(), before);
    // Recomputed from scratch (the stored inputs forgotten): still the same.
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    db.execute("UPDATE reconcile_run SET inputs = NULL", [])
        .unwrap();
    assert_eq!(report(), before);

    // A mapping changes what is owed: the stored findings must not be shown again.
    let org = &s.sample.ninjaone.organizations[0].name;
    env.run(&["map", "account", "ninja", org, "--not-billed"], "")
        .expect(0);
    let after = report();
    assert_ne!(
        after, before,
        "a stale report was shown after a mapping change"
    );
    // And that new result is what recomputing gives.
    db.execute("UPDATE reconcile_run SET inputs = NULL", [])
        .unwrap();
    assert_eq!(report(), after);
}
