//! A connection's `concurrency` reaches the requests a real `reconcile sync` makes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::flow::connect_ninjaone_at;
use crate::harness::Env;
use crate::support::runtime;

struct Counts {
    now: AtomicUsize,
    peak: AtomicUsize,
    per_org: AtomicUsize,
    single_list: AtomicUsize,
}

/// NinjaOne with 12 organizations of 3 devices, each organization's list taking 30 ms, counting
/// the most requests it had in flight at once.
fn counting_ninjaone(rt: &tokio::runtime::Runtime) -> (String, Arc<Counts>) {
    use axum::extract::Path;
    use axum::routing::{get, post};
    let counts = Arc::new(Counts {
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        per_org: AtomicUsize::new(0),
        single_list: AtomicUsize::new(0),
    });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let orgs: Vec<serde_json::Value> = (1..=12)
        .map(|id| serde_json::json!({"id": id, "name": format!("Org {id}")}))
        .collect();
    let (c1, c2) = (counts.clone(), counts.clone());
    let app = axum::Router::new()
        .route(
            "/ws/oauth/token",
            post(|| async {
                axum::Json(serde_json::json!({"access_token": "t", "token_type": "Bearer", "expires_in": 3600}))
            }),
        )
        .route(
            "/v2/organizations",
            get(move || {
                let orgs = orgs.clone();
                async move { axum::Json(orgs) }
            }),
        )
        .route("/v2/roles", get(|| async { axum::Json(serde_json::json!([])) }))
        .route(
            "/v2/devices",
            get(move || {
                c1.single_list.fetch_add(1, Ordering::SeqCst);
                async { axum::Json(serde_json::json!([])) }
            }),
        )
        .route(
            "/v2/organization/{id}/devices",
            get(move |Path(id): Path<i64>, _: axum::extract::Query<HashMap<String, String>>| {
                let c = c2.clone();
                async move {
                    let n = c.now.fetch_add(1, Ordering::SeqCst) + 1;
                    c.peak.fetch_max(n, Ordering::SeqCst);
                    c.per_org.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                    c.now.fetch_sub(1, Ordering::SeqCst);
                    let devices: Vec<serde_json::Value> = (1..=3)
                        .map(|k| serde_json::json!({"id": id * 100 + k, "organizationId": id, "nodeClass": "WINDOWS_WORKSTATION"}))
                        .collect();
                    axum::Json(devices)
                }
            }),
        );
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, counts)
}

/// Sets keys of `[connections.ninja]` in the config file, as a user would by hand.
fn set_ninja_keys(env: &Env, keys: &[(&str, toml_edit::Item)]) {
    let path = env.config_path();
    let mut doc: toml_edit::DocumentMut = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    for (k, v) in keys {
        doc["connections"]["ninja"][k] = v.clone();
    }
    std::fs::write(&path, doc.to_string()).unwrap();
}

#[test]
fn the_concurrency_setting_caps_the_requests_in_flight_of_a_sync() {
    // The demo's NinjaOne credentials, against a counting NinjaOne of this test's own.
    let env = Env::new();
    let rt = runtime();
    let (url, counts) = counting_ninjaone(&rt);
    connect_ninjaone_at(&env, &url, &["--no-verify"]).expect(0);
    for limit in [2usize, 5] {
        set_ninja_keys(
            &env,
            &[
                ("concurrency", toml_edit::value(limit as i64)),
                ("device_listing", toml_edit::value("by-organization")),
            ],
        );
        counts.peak.store(0, Ordering::SeqCst);
        counts.per_org.store(0, Ordering::SeqCst);
        env.run(&["sync", "ninja"], "").expect(0);
        assert_eq!(counts.per_org.load(Ordering::SeqCst), 12);
        assert_eq!(counts.single_list.load(Ordering::SeqCst), 0);
        // Never above the setting, and the sync does use it.
        assert_eq!(
            counts.peak.load(Ordering::SeqCst),
            limit,
            "concurrency = {limit}"
        );
        let status = env
            .run(&["status", "--format", "csv"], "")
            .expect(0)
            .stdout();
        let line = status.lines().find(|l| l.starts_with("ninja,")).unwrap();
        assert!(line.contains("36 items"), "{line}");
    }

    // An out-of-range value is refused before anything is read, naming the key.
    set_ninja_keys(&env, &[("concurrency", toml_edit::value(0))]);
    let out = env.run(&["sync", "ninja"], "");
    assert_eq!(out.code(), 2);
    assert!(
        out.stderr()
            .contains("[connections.ninja] concurrency must be a whole number from 1 to 64"),
        "{}",
        out.stderr()
    );
}
