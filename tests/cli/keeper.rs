//! Keeper end to end, both routes: `connect keeper --commander` with a fake `keeper` executable
//! on PATH that prints the `msp-info` fixture, and `connect keeper --url` against the demo's
//! Service Mode sandbox; ConnectWise from the demo sandbox; then sync, map, reconcile and a CSV
//! report whose seat counts are Keeper's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reconcile::demo::apis::keeper as sandbox;
use reconcile::demo::kit;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{reconciled, running};

/// A directory holding an executable `keeper` that prints the fixture, and the PATH with it first.
fn fake_keeper_on_path(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keeper/msp-info.json");
    let script: PathBuf = bin.join("keeper");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1 $2 $3 $4\" = 'msp-info --format json -v' ] || {{ echo \"unexpected: $*\" >&2; exit 2; }}\ncat '{}'\n",
            fixture.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn connect_sync_map_report_with_keeper_commander() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    env.cleanup.borrow_mut().push("keeper".to_string());
    let path = fake_keeper_on_path(env.dir.path());
    let with_path = [("PATH", path.as_str())];

    let connect = env
        .run_env(&["connect", "keeper", "--commander"], &with_path)
        .expect(0);
    assert!(
        connect
            .stderr()
            .contains("4 managed companies are readable"),
        "{}",
        connect.stderr()
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.keeper]"), "{config}");
    assert!(config.contains("mode = \"commander\""), "{config}");

    // Without the fake on PATH the sync fails and says what to do.
    let failed = env.run(&["sync", "keeper"], "");
    assert_ne!(failed.code(), 0);
    assert!(
        failed.stderr().contains("pip install keepercommander"),
        "{}",
        failed.stderr()
    );

    let sync = env.run_env(&["sync"], &with_path).expect(0);
    assert!(sync.stderr().contains("10 items"), "{}", sync.stderr());

    let line = &s.sample.planted.expected[0];
    let company = line.company.clone();
    let product = line.product.clone();
    env.run(
        &[
            "map",
            "account",
            "keeper",
            "Acme Dental Group",
            "--to",
            &company,
        ],
        "",
    )
    .expect(0);
    env.run(&["map", "service", "keeper", "seats", "--to", &product], "")
        .expect(0);
    // A family service key is accepted by name.
    env.run(
        &[
            "map",
            "service",
            "keeper",
            "enterprise_breach_watch:addon",
            "--not-billed",
        ],
        "",
    )
    .expect(0);
    // Acme Dental Group has 25 allocated seats in the fixture.
    reconciled(&env, &company, &product, "keeper", "25");
}

#[test]
fn connect_sync_report_with_keeper_service_mode_sandbox() {
    let names = ["Harbor Clinic", "Summit Accounting", "Riverbend Schools"];
    let sample = Arc::new(sandbox::sample(&names));
    let service = running(kit::serve::<sandbox::Api>(sample.clone()));
    let server = &service.server;
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    env.cleanup.borrow_mut().push("kservice".to_string());

    // A wrong key is refused before anything is saved.
    let refused = env.run(
        &[
            "connect",
            "keeper",
            "--name",
            "kservice",
            "--url",
            server.url(),
            "--api-key-stdin",
        ],
        "not-the-key",
    );
    assert_ne!(refused.code(), 0);
    refused.says(&["HTTP 401"], &["not-the-key"]);
    assert!(
        !env.config_path().exists() || {
            let c = std::fs::read_to_string(env.config_path()).unwrap();
            !c.contains("kservice")
        }
    );

    env.run(
        &[
            "connect",
            "keeper",
            "--name",
            "kservice",
            "--url",
            server.url(),
            "--api-key-stdin",
        ],
        sandbox::DEMO_API_KEY,
    )
    .expect(0);
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!config.contains(sandbox::DEMO_API_KEY), "{config}");
    env.run(&["sync"], "").expect(0);

    let line = &s.sample.planted.expected[0];
    env.run(
        &[
            "map",
            "account",
            "kservice",
            names[1],
            "--to",
            &line.company,
        ],
        "",
    )
    .expect(0);
    env.run(
        &[
            "map",
            "service",
            "kservice",
            "active-users",
            "--to",
            &line.product,
        ],
        "",
    )
    .expect(0);
    let want = sandbox::usage(&sample)
        .into_iter()
        .find(|(a, k, _)| a == names[1] && k == "active-users")
        .map(|(_, _, n)| n)
        .unwrap();
    reconciled(
        &env,
        &line.company,
        &line.product,
        "kservice",
        &want.to_string(),
    );
}

#[test]
fn connect_commander_saves_args_and_needs_no_secret() {
    let env = Env::new();
    env.cleanup.borrow_mut().push("kc".to_string());
    let connect = env
        .run(
            &[
                "connect",
                "keeper",
                "--name",
                "kc",
                "--commander",
                "--executable",
                "/nonexistent/keeper",
                "--arg",
                "--config",
                "--arg=/etc/keeper/reconcile.json",
                "--timeout-secs",
                "30",
                "--no-verify",
            ],
            "",
        )
        .expect(0);
    assert!(
        !connect.stderr().contains("stored `"),
        "{}",
        connect.stderr()
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("mode = \"commander\""), "{config}");
    assert!(
        config.contains(r#"args = ["--config", "/etc/keeper/reconcile.json"]"#),
        "{config}"
    );
    assert!(config.contains("timeout_secs = 30"), "{config}");
    // Commander keeps its own login: status lists no secret, so none shows as missing.
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(!status.contains("MISSING"), "{status}");
    assert!(!status.contains("api_key"), "{status}");
    let sync = env.run(&["sync", "kc"], "");
    assert_ne!(sync.code(), 0);
    assert!(
        sync.stderr().contains("cannot run `/nonexistent/keeper`"),
        "{}",
        sync.stderr()
    );

    // --url and --commander are two routes: one of them, not both.
    let both = env.run(
        &[
            "connect",
            "keeper",
            "--commander",
            "--url",
            "https://k.example.com",
        ],
        "",
    );
    assert_ne!(both.code(), 0);
    let neither = env.run(&["connect", "keeper"], "");
    assert_ne!(neither.code(), 0);
    assert!(neither.stderr().contains("--url"), "{}", neither.stderr());
}
