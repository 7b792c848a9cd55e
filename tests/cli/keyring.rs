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
    .says(&["stored `client_secret` of `ninja` in kernel user keyring"], &[]);
    let cron = as_cron(&env, &["sync", "--quiet"]);
    assert_eq!(
        cron.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&cron.stderr)
    );
}
