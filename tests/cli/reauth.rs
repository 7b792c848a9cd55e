//! `connect --reauth`: after a reboot cleared the secrets, re-enter only them, verified, with the
//! settings left as saved; one wrong secret keeps only its own connection out.

use reconcile::demo::apis::{connectwise, ninjaone};

use crate::flow::{connected_both, serve};
use crate::harness::{Env, forget_in_store};

#[test]
fn reauth_re_enters_only_the_secrets_verified_and_leaves_the_settings() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    env.run(&["sync", "--quiet"], "").expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();

    // A reboot: the kernel keyring is empty again.
    forget_in_store(&env.service, &env.keyring_user("ninja/client_secret"));
    forget_in_store(&env.service, &env.keyring_user("cw/private_key"));
    env.run(&["sync", "--quiet"], "")
        .says(&["reconcile connect --reauth ninja"], &[]);

    // The old way needs every flag again; the new one only the secrets.
    env.run(&["connect", "ninjaone"], "x\n")
        .expect(2)
        .says(&["required arguments were not provided"], &[]);

    // Stdin with too few lines: the order is named, nothing is stored, no secret echoed.
    env.run(
        &["connect", "--reauth", "ninja", "--reauth", "cw"],
        "only-one\n",
    )
    .expect(2)
    .says(
        &[
            "held 1 non-empty line(s); give 2",
            "`ninja` client_secret, `cw` private_key",
        ],
        &["only-one"],
    );

    // A wrong NinjaOne secret: NinjaOne is refused and named, ConnectWise is still stored.
    let wrong = "not-the-secret";
    env.run(
        &["connect", "--reauth", "ninja", "--reauth", "cw"],
        &format!("{wrong}\n{}\n", connectwise::DEMO_PRIVATE_KEY),
    )
    .expect(2)
    .says(
        &[
            "verified ConnectWise",
            "stored `private_key` of `cw`",
            "the secrets of 1 of 2 connection(s) were not stored",
            "`ninja`:",
        ],
        &[wrong, connectwise::DEMO_PRIVATE_KEY],
    );
    env.run(&["sync", "cw", "--quiet"], "").expect(0);
    env.run(&["sync", "ninja", "--quiet"], "")
        .says(&["no `client_secret` secret for connection `ninja`"], &[]);

    env.run(
        &["connect", "--reauth", "ninja"],
        &format!("{}\n", ninjaone::DEMO_CLIENT_SECRET),
    )
    .expect(0)
    .says(
        &["verified NinjaOne", "stored `client_secret` of `ninja`"],
        &[ninjaone::DEMO_CLIENT_SECRET],
    );
    env.run(&["sync", "--quiet"], "").expect(0);
    assert_eq!(
        std::fs::read_to_string(env.config_path()).unwrap(),
        config,
        "--reauth leaves the config file as it was"
    );

    // Names that are not saved are refused before anything is read.
    env.run(&["connect", "--reauth", "nosuch"], "x\n")
        .expect(2)
        .says(&["no connection named `nosuch`", "saved: cw, ninja"], &[]);
    env.run(&["connect"], "")
        .expect(2)
        .says(&["reconcile connect --reauth NAME"], &[]);
}
