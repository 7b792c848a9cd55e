//! The BMS family end to end, once per member (Kaseya BMS, Pulseway PSA, CloudBlue PSA): NinjaOne
//! from the demo sandbox, the PSA from the BMS v2 sandbox (the same clients and billing as the
//! ConnectWise one, on invoices), `connect <kind>` with the password on stdin, then sync, map, reconcile and a CSV report whose billed and actual
//! quantities are the planted ones and whose notes say the billed figure is last period's
//! invoice; `push` says the connection is report-only. CloudBlue PSA needs its API host.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::kaseya_bms::{self as bms, DEMO_PASSWORD, DEMO_TENANT, DEMO_USER};
use reconcile::demo::kit;

use crate::flow::{connect_ninjaone_at, map_demo, serve};
use crate::harness::Env;
use crate::support::{assert_planted, report, running};

#[test]
fn reconcile_ninjaone_against_kaseya_bms() {
    against("kaseya-bms", "Kaseya BMS");
}

#[test]
fn reconcile_ninjaone_against_pulseway_psa() {
    against("pulseway", "Pulseway PSA");
}

#[test]
fn reconcile_ninjaone_against_cloudblue_psa() {
    against("cloudblue", "CloudBlue PSA");
}

/// The whole flow against connection `bms` of `kind` (each family member's sandbox serves the
/// same BMS v2 surface).
fn against(kind: &str, display: &str) {
    let served = serve();
    let s = &served.sandbox;
    let api = running(kit::serve::<bms::Api>(s.sample.clone()));
    let url = api.server.url().to_string();
    let env = Env::new();
    env.cleanup.borrow_mut().push("bms".to_string());
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);

    let connect = |password: &str| {
        env.run(
            &[
                "connect",
                kind,
                "--name",
                "bms",
                "--url",
                &url,
                "--user",
                DEMO_USER,
                "--tenant",
                DEMO_TENANT,
                "--password-stdin",
            ],
            &format!("{password}\n"),
        )
    };
    // A wrong password is refused with the login's own message, and nothing is saved.
    let refused = connect("not-the-password").expect(2);
    let err = refused.stderr();
    assert!(
        err.contains("Invalid username, password or tenant"),
        "{err}"
    );
    assert!(
        err.contains("check the user name, the password and the tenant"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    let connected = connect(DEMO_PASSWORD).expect(0);
    let said = connected.stderr();
    assert!(said.contains(&format!("verified {display}")), "{said}");
    assert!(said.contains("each contract's last invoice"), "{said}");
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains(&format!("kind = \"{kind}\"")), "{config}");
    assert!(config.contains("tenant = \"Bluewave\""), "{config}");
    assert!(!config.contains(DEMO_PASSWORD), "{config}");

    env.run(&["sync"], "").expect(0);
    let status = env.run(&["status"], "").expect(0).stdout();
    // The table wraps long cells: read its words in order, without the borders.
    let words = status
        .replace(['│', '┆'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        words.contains("billed quantities: each contract's last invoice"),
        "{status}"
    );

    env.run(&["map"], "").expect(0);
    map_demo(&env, s);
    env.run(&["reconcile"], "").expect(0);
    let (rows, text) = report(&env, &[]);
    assert_planted(&rows, &text, &s.sample.planted, "bms");
    assert!(
        text.contains("billed quantity is last period's invoice (invoice INV-"),
        "{text}"
    );
    assert!(api.server.stats.endpoint("GET /v2/crm/accounts/summary") >= 2);

    // Write-back is not offered: push says why, and writes nothing.
    let push = env.run(&["push", "plan"], "").expect(0);
    let all = format!("{}{}", push.stdout(), push.stderr());
    assert!(
        all.contains(&format!("`bms` ({display}) is report-only")),
        "{all}"
    );
    assert!(all.contains("adds a new contract service row"), "{all}");
    assert_eq!(
        api.server
            .stats
            .endpoint("POST /v2/finance/contracts/recurringservices"),
        0
    );
}

#[test]
fn cloudblue_needs_its_api_host() {
    let env = Env::new();
    let r = env
        .run(
            &[
                "connect",
                "cloudblue",
                "--user",
                "u",
                "--tenant",
                "t",
                "--password-stdin",
            ],
            "pw\n",
        )
        .expect(2);
    assert!(r.stderr().contains("--url"), "{}", r.stderr());
}
