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
