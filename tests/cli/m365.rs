//! Microsoft 365 end to end: `connect m365` against the Microsoft 365 demo sandbox (token
//! endpoint and Graph on loopback, GDAP customers, one tenant without consent), ConnectWise from
//! the demo sandbox, then a partial sync, map, reconcile and a CSV report whose quantity is the
//! tenant's purchased Business Premium seats.

use std::sync::Arc;

use reconcile::demo::apis::m365::{
    Api, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PARTNER_TENANT, DEMO_UNCONSENTED_NAME, sample,
    usage,
};
use reconcile::demo::kit;
use rust_decimal::Decimal;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{Finding, billed_for, csv_rows, reconciled, running};

#[test]
fn connect_sync_map_report_with_m365() {
    let served = serve();
    let s = &served.sandbox;
    // A ConnectWise company billed for NINJA-WS; its tenant is named like it.
    let company = billed_for(&s.sample, "NINJA-WS");
    let sample = Arc::new(sample(&[&company, "Globex Ltd"]));
    let want = usage(&sample);
    let graph = running(kit::serve::<Api>(sample));
    let env = Env::new();
    env.cleanup.borrow_mut().push("m365".to_string());

    let url = graph.server.url().to_string();
    let connect = env
        .run(
            &[
                "connect",
                "m365",
                "--partner-tenant",
                DEMO_PARTNER_TENANT,
                "--client-id",
                DEMO_CLIENT_ID,
                "--token-host",
                &url,
                "--graph-host",
                &url,
                "--client-secret-stdin",
            ],
            &format!("{DEMO_CLIENT_SECRET}\n"),
        )
        .expect(0);
    connect.says(
        &[
            "verified Microsoft 365",
            "3 GDAP customer tenants are listed",
        ],
        &[DEMO_CLIENT_SECRET],
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.m365]"), "{config}");
    assert!(config.contains("kind = \"m365\""), "{config}");
    assert!(config.contains("auth = \"client-credentials\""), "{config}");
    assert!(!config.contains(DEMO_CLIENT_SECRET), "{config}");

    // The tenant without consent is named, the rest is read, the run succeeds as partial.
    let sync = env.run(&["sync"], "").expect(0);
    let err = sync.stderr();
    assert!(err.contains(DEMO_UNCONSENTED_NAME), "{err}");
    assert!(err.contains("AADSTS65001"), "{err}");
    // The sync ends with a line for the connection that did not end plainly ok.
    assert!(err.contains("`m365`: synced partially (1 warning"), "{err}");
    let status = env.run(&["status"], "").expect(0);
    assert!(
        status.stdout().contains("partial: 1 account not read"),
        "{}",
        status.stdout()
    );
    // Client-credentials mode needs no refresh token, so none is listed as missing.
    let csv = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(csv.contains("client_secret: "), "{csv}");
    assert!(!csv.contains("refresh_token"), "{csv}");

    env.run(&["map", "account", "m365", &company, "--to", &company], "")
        .expect(0);
    env.run(
        &[
            "map",
            "service",
            "m365",
            "spb:purchased",
            "--to",
            "NINJA-WS",
        ],
        "",
    )
    .expect(0);
    let purchased = want
        .iter()
        .find(|(a, k, _)| *a == company && k == "spb:purchased")
        .map(|(_, _, q)| *q)
        .unwrap();
    assert_eq!(purchased, Decimal::from(4), "the demo sample changed");
    reconciled(&env, &company, "NINJA-WS", "m365", &purchased.to_string());

    // The cron line: under --quiet stderr holds errors only, so the mail is exactly the CSV;
    // the partial sync is in it as a stale_source finding with the reason.
    let sync = env.run(&["sync", "--quiet"], "").expect(0);
    assert_eq!(sync.stderr(), "", "a partial sync under --quiet");
    let report = env
        .run(
            &[
                "report",
                "--quiet",
                "--format",
                "csv",
                "--only-discrepancies",
            ],
            "",
        )
        .expect(0);
    assert_eq!(report.stderr(), "");
    let out = report.stdout();
    assert!(out.starts_with("finding_id,"), "{out}");
    // Parsed as CSV with the documented header, every row whole; the unread tenant is in it.
    let rows: Vec<Finding> = csv_rows(&out);
    assert!(!rows.is_empty(), "{out}");
    assert!(
        rows.iter()
            .any(|f| f.vendor_accounts.contains(DEMO_UNCONSENTED_NAME)),
        "{out}"
    );
}

#[test]
fn connect_refresh_token_mode_with_listed_tenants() {
    let env = Env::new();
    env.cleanup.borrow_mut().push("m365rt".to_string());
    let args = [
        "connect",
        "m365",
        "--name",
        "m365rt",
        "--partner-tenant",
        "partner.onmicrosoft.com",
        "--client-id",
        DEMO_CLIENT_ID,
        "--auth",
        "refresh-token",
        "--tenant",
        "6a1c2f4e-0d55-4b8e-9c1a-3f2e5d7b9a01=Acme Corp",
        "--tenant",
        "fabrikam.onmicrosoft.com",
        "--partner-center",
        "--client-secret-stdin",
        "--no-verify",
    ];
    // Refresh-token mode needs both secrets: one line is refused, nothing is saved.
    let refused = env.run(&args, "only-the-secret\n").expect(2);
    assert!(
        refused.stderr().contains("two lines"),
        "{}",
        refused.stderr()
    );
    assert!(
        !env.config_path().exists() || {
            let c = std::fs::read_to_string(env.config_path()).unwrap();
            !c.contains("m365rt")
        }
    );

    let run = env
        .run(&args, "cli-secret-do-not-print\ncli-refresh-do-not-print\n")
        .expect(0);
    let err = run.stderr();
    assert!(err.contains("stored `client_secret`"), "{err}");
    assert!(err.contains("stored `refresh_token`"), "{err}");
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("auth = \"refresh-token\""), "{config}");
    assert!(config.contains("partner_center = true"), "{config}");
    assert!(
        config.contains(r#"{ id = "6a1c2f4e-0d55-4b8e-9c1a-3f2e5d7b9a01", name = "Acme Corp" }"#),
        "{config}"
    );
    assert!(
        config.contains(r#"{ id = "fabrikam.onmicrosoft.com" }"#),
        "{config}"
    );
    assert!(!config.contains("do-not-print"), "{config}");
    // The saved entry reads back; refresh-token mode uses both secrets.
    let csv = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(csv.contains("refresh_token: "), "{csv}");
    assert!(csv.contains("client_secret: "), "{csv}");
}
