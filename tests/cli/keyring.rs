//! The kernel user keyring from a shell whose session keyring was revoked: `connect` stores a
//! secret that a later job (another session, as cron is) can read, and never leaves a key behind
//! that it could not set up.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::ninjaone;

use crate::flow::serve;
use crate::harness::{Env, expected_backend};

#[test]
fn connect_from_a_revoked_session_keyring_stores_a_secret_cron_can_read() {
    if expected_backend().as_deref() == Some("secret-service")
        || std::process::Command::new("keyctl")
            .arg("--version")
            .output()
            .is_err()
    {
        // The Secret Service run stores elsewhere; the kernel-keyring run of `.ci/run` (which
        // installs keyctl) is the one that checks this.
        return;
    }
    let served = serve();
    let env = Env::new();
    env.cleanup.borrow_mut().push("ninja".to_string());
    // `keyctl session -` gives the command a new session keyring, which the shell revokes
    // before it runs `reconcile connect`: what a user meets after `keyctl revoke @s` or in some
    // service managers.
    let reconcile = env.std_cmd();
    let mut c = std::process::Command::new("keyctl");
    c.env_clear();
    for (k, v) in reconcile.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let out = c
        .args(["session", "-", "sh", "-c"])
        .arg(r#"keyctl revoke @s >/dev/null && printf %s "$SECRET" | exec "$@""#)
        .arg("sh")
        .arg(reconcile.get_program())
        .args([
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--url",
            served.sandbox.url(ConnectorKind::NinjaOne),
            "--client-id",
            ninjaone::DEMO_CLIENT_ID,
        ])
        .env("SECRET", ninjaone::DEMO_CLIENT_SECRET)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("stored `client_secret` of `ninja`"),
        "{stderr}"
    );
    // A sync from another process, outside that session, reads it.
    env.run(&["sync", "--quiet"], "").expect(0);
}

/// Runs `reconcile` as cron would on a desktop machine: the same user, no session bus.
fn as_cron(env: &Env, args: &[&str]) -> std::process::Output {
    let mut c = env.std_cmd();
    c.env_remove("DBUS_SESSION_BUS_ADDRESS");
    c.args(args).output().unwrap()
}

#[test]
fn a_secret_service_secret_is_out_of_crons_reach_and_the_error_says_what_works() {
    if expected_backend().as_deref() != Some("secret-service") {
        // Only the Secret Service run of `.ci/run` has a desktop-like session to leave.
        return;
    }
    let served = serve();
    let env = Env::new();
    crate::flow::connect_ninjaone_at(&env, served.sandbox.url(ConnectorKind::NinjaOne), &[])
        .expect(0)
        .says(&["in the Secret Service", "cannot read the secret"], &[]);
    env.run(&["sync", "--quiet"], "").expect(0);

    let cron = as_cron(&env, &["sync", "--quiet"]);
    let stderr = String::from_utf8_lossy(&cron.stderr);
    assert_eq!(cron.status.code(), Some(2), "{stderr}");
    for needle in [
        "not in the Secret Service, which this process cannot reach",
        "no D-Bus session bus",
        "reconcile connect --reauth ninja --store kernel",
        "RECONCILE_NINJA_CLIENT_SECRET",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }

    // What the error offers works: the secret in the kernel user keyring, readable by cron.
    env.run(
        &["connect", "--reauth", "ninja", "--store", "kernel"],
        &format!("{}\n", ninjaone::DEMO_CLIENT_SECRET),
    )
    .expect(0)
    .says(
        &["stored `client_secret` of `ninja` in kernel user keyring"],
        &[],
    );
    let cron = as_cron(&env, &["sync", "--quiet"]);
    assert_eq!(
        cron.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&cron.stderr)
    );
}

#[test]
fn two_configs_with_a_connection_of_the_same_name_keep_their_own_secrets() {
    let served = serve();
    let env = Env::new();
    let url = served.sandbox.url(ConnectorKind::NinjaOne);
    crate::flow::connect_ninjaone_at(&env, url, &[]).expect(0);
    // A second config of the same user (a second brand, a test set-up) with its own `ninja`.
    let other = env.dir.path().join("other.toml");
    let other = other.to_str().unwrap();
    let theirs = "the-other-configs-secret";
    env.run(
        &[
            "--config",
            other,
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--url",
            url,
            "--client-id",
            "someone-else",
            "--no-verify",
        ],
        &format!("{theirs}\n"),
    )
    .expect(0);
    // The first config still sends its own secret to its own host.
    env.run(&["sync", "--quiet"], "").expect(0);
    if expected_backend().is_some() {
        let mine =
            crate::harness::read_from_store(&env.service, &env.keyring_user("ninja/client_secret"));
        assert_eq!(
            mine.as_deref().map(str::trim_end),
            Some(ninjaone::DEMO_CLIENT_SECRET)
        );
    }
    // Removing the other config's connection leaves this one's secret.
    env.run(&["--config", other, "disconnect", "ninja"], "")
        .expect(0);
    env.run(&["sync", "--quiet"], "").expect(0);
}

#[test]
fn secrets_of_an_older_version_move_under_the_configs_id_on_first_use() {
    let served = serve();
    let env = Env::new();
    env.cleanup.borrow_mut().push("ninja".to_string());
    // What an older version left: a config without keyring_id, the secret as `ninja/client_secret`.
    if !crate::harness::write_to_store(
        &env.service,
        "ninja/client_secret",
        ninjaone::DEMO_CLIENT_SECRET,
    ) {
        return; // no store named by `.ci/run`: nothing to plant the old entry in
    }
    let path = env.config_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        format!(
            "currency = \"USD\"\n\n[connections.ninja]\nkind = \"ninjaone\"\nurl = \"{}\"\nclient_id = \"{}\"\n",
            served.sandbox.url(ConnectorKind::NinjaOne),
            ninjaone::DEMO_CLIENT_ID
        ),
    )
    .unwrap();
    env.run(&["sync", "--quiet"], "").expect(0);
    let config = std::fs::read_to_string(&path).unwrap();
    assert!(config.contains("keyring_id = "), "{config}");
    let scoped = env.keyring_user("ninja/client_secret");
    assert_ne!(scoped, "ninja/client_secret");
    assert_eq!(
        crate::harness::read_from_store(&env.service, &scoped)
            .as_deref()
            .map(str::trim_end),
        Some(ninjaone::DEMO_CLIENT_SECRET)
    );
    assert_eq!(
        crate::harness::read_from_store(&env.service, "ninja/client_secret"),
        None
    );
    env.run(&["sync", "--quiet"], "").expect(0);
}
