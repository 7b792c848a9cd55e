//! The whole flow a user runs (connect, status, sync, map, reconcile, report, disconnect),
//! against the sandbox NinjaOne and ConnectWise APIs of `reconcile demo`, each command a separate
//! process: a secret stored by `connect` must be read back by `sync`.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::{connectwise, ninjaone};
use reconcile::demo::{DEMO_SERVICE_MAP, DEMO_UNBILLED_SERVICES, Sandbox, sample};
use reconcile::engine::FindingKind;
use rust_decimal::Decimal;

use crate::harness::{Env, Run, expected_backend, read_from_store};
use crate::support::{Finding, assert_expected, assert_planted, csv_rows, dec, finding, runtime};

/// A sandbox served by its own runtime's worker threads while the test runs processes.
pub(crate) struct Served {
    pub(crate) sandbox: Sandbox,
    _rt: tokio::runtime::Runtime,
}

pub(crate) fn serve() -> Served {
    let rt = runtime();
    let sandbox = rt.block_on(Sandbox::start(sample())).unwrap();
    Served { sandbox, _rt: rt }
}

/// Connects the sandbox ConnectWise as `cw` (billable type `Client`), private key on stdin.
pub(crate) fn connect_connectwise(env: &Env, s: &Sandbox) -> Run {
    env.cleanup.borrow_mut().push("cw".to_string());
    env.run(
        &[
            "connect",
            "connectwise",
            "--name",
            "cw",
            "--site",
            s.url(ConnectorKind::ConnectWise),
            "--company-id",
            connectwise::DEMO_COMPANY_ID,
            "--public-key",
            connectwise::DEMO_PUBLIC_KEY,
            "--client-id",
            connectwise::DEMO_CLIENT_ID,
            "--billable-type",
            "Client",
            "--private-key-stdin",
        ],
        connectwise::DEMO_PRIVATE_KEY,
    )
}

pub(crate) fn connect_both(env: &Env, s: &Sandbox) -> (Run, Run) {
    let ninja = connect_ninjaone_at(env, s.url(ConnectorKind::NinjaOne), &[]);
    let cw = connect_connectwise(env, s);
    (ninja, cw)
}

/// Connects NinjaOne and ConnectWise, both of which must succeed.
pub(crate) fn connected_both(env: &Env, s: &Sandbox) {
    let (ninja, cw) = connect_both(env, s);
    ninja.expect(0);
    cw.expect(0);
}

/// Connects (or re-points) `ninja` to `url` with the sandbox's credentials, secret on stdin.
pub(crate) fn connect_ninjaone_at(env: &Env, url: &str, extra: &[&str]) -> Run {
    env.cleanup.borrow_mut().push("ninja".to_string());
    let mut args = vec![
        "connect",
        "ninjaone",
        "--name",
        "ninja",
        "--url",
        url,
        "--client-id",
        ninjaone::DEMO_CLIENT_ID,
    ];
    args.extend_from_slice(extra);
    env.run(&args, &format!("{}\n", ninjaone::DEMO_CLIENT_SECRET))
}

/// Connects the HaloPSA sandbox at `url` as `halo` (billable client type `Client`), `secret`
/// on stdin, with `extra` flags (`--allow-write`).
pub(crate) fn connect_halopsa(env: &Env, url: &str, secret: &str, extra: &[&str]) -> Run {
    use reconcile::demo::apis::halopsa::{DEMO_CLIENT_ID, DEMO_TENANT};
    env.cleanup.borrow_mut().push("halo".to_string());
    let mut args = vec![
        "connect",
        "halopsa",
        "--name",
        "halo",
        "--url",
        url,
        "--client-id",
        DEMO_CLIENT_ID,
        "--tenant",
        DEMO_TENANT,
        "--billable-client-type",
        "Client",
        "--client-secret-stdin",
    ];
    args.extend_from_slice(extra);
    env.run(&args, &format!("{secret}\n"))
}

/// Connects NinjaOne and ConnectWise, syncs both, maps the demo's planted names, and returns
/// the CSV report of that: the baseline a fault must not change.
pub(crate) fn synced_and_mapped(env: &Env, s: &Sandbox) -> String {
    connected_both(env, s);
    env.run(&["sync"], "").expect(0);
    map_demo(env, s);
    env.run(&["report", "--format", "csv"], "")
        .expect(0)
        .stdout()
}

pub(crate) fn map_demo(env: &Env, s: &Sandbox) {
    let fuzzy = &s.sample.planted.fuzzy_org;
    env.run(
        &[
            "map",
            "account",
            "ninja",
            &fuzzy.ninjaone,
            "--to",
            &fuzzy.connectwise,
        ],
        "",
    )
    .expect(0);
    for (service, product) in DEMO_SERVICE_MAP {
        env.run(&["map", "service", "ninja", service, "--to", product], "")
            .expect(0);
    }
    for service in DEMO_UNBILLED_SERVICES {
        env.run(&["map", "service", "ninja", service, "--not-billed"], "")
            .expect(0);
    }
}

fn parse_csv(text: &str) -> Vec<Finding> {
    csv_rows(text)
}

#[test]
fn connect_sync_map_reconcile_report_disconnect() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();

    // connect: verified, secret stored in the real store, config without secrets.
    let (ninja, cw) = connect_both(&env, s);
    let ninja = ninja.expect(0);
    let cw = cw.expect(0);
    assert!(
        ninja.stderr().contains("verified NinjaOne"),
        "{}",
        ninja.stderr()
    );
    assert!(
        cw.stderr().contains("verified ConnectWise PSA"),
        "{}",
        cw.stderr()
    );
    match expected_backend().as_deref() {
        Some("secret-service") => {
            assert!(
                ninja
                    .stderr()
                    .contains("stored `client_secret` of `ninja` in the Secret Service"),
                "{}",
                ninja.stderr()
            );
            // Where it went is said with who can read it: not a cron job.
            assert!(
                ninja.stderr().contains("cannot read the secret")
                    && ninja.stderr().contains("--reauth ninja --store kernel"),
                "{}",
                ninja.stderr()
            );
        }
        Some("kernel-keyring") => {
            assert!(
                ninja.stderr().contains("kernel user keyring"),
                "{}",
                ninja.stderr()
            );
            assert!(
                ninja.stderr().contains("cleared on reboot"),
                "{}",
                ninja.stderr()
            );
        }
        _ => {}
    }
    if expected_backend().is_some() {
        assert_eq!(
            read_from_store(&env.service, &env.keyring_user("ninja/client_secret"))
                .as_deref()
                .map(str::trim_end),
            Some(ninjaone::DEMO_CLIENT_SECRET)
        );
        assert_eq!(
            read_from_store(&env.service, &env.keyring_user("cw/private_key"))
                .as_deref()
                .map(str::trim_end),
            Some(connectwise::DEMO_PRIVATE_KEY)
        );
    }
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        config.contains("[connections.ninja]") && config.contains("[connections.cw]"),
        "{config}"
    );
    assert!(
        !config.contains(ninjaone::DEMO_CLIENT_SECRET)
            && !config.contains(connectwise::DEMO_PRIVATE_KEY),
        "{config}"
    );

    // status before any sync.
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(
        status.contains("ninja,ninjaone,client_secret: "),
        "{status}"
    );
    assert!(status.contains("never"), "{status}");

    // sync, in a new process that must find the stored secrets.
    let sync = env.run(&["sync"], "").expect(0);
    let planted = &s.sample.planted;
    let devices = s.sample.ninjaone.devices.len();
    assert!(devices >= 1000, "the sample has {devices} devices");
    assert!(
        sync.stderr().contains(&format!("{devices} items")),
        "{}",
        sync.stderr()
    );
    assert!(
        sync.stdout().is_empty(),
        "sync prints data on stdout: {}",
        sync.stdout()
    );
    let db = std::fs::read(env.db_path()).unwrap();
    for secret in [ninjaone::DEMO_CLIENT_SECRET, connectwise::DEMO_PRIVATE_KEY] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret reached the database"
        );
    }
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(status.contains(&format!("{devices} items")), "{status}");
    assert!(status.contains(",ok,"), "{status}");

    // map: exact names map on their own; the fuzzy one is only suggested.
    let map = env.run(&["map", "--format", "csv"], "").expect(0);
    let unmapped = map.stdout();
    let fuzzy = &planted.fuzzy_org;
    let fuzzy_line = unmapped
        .lines()
        .find(|l| l.contains(&fuzzy.ninjaone))
        .unwrap_or_else(|| panic!("the fuzzy org is not listed as unmapped:\n{unmapped}"));
    assert!(
        fuzzy_line.contains(&fuzzy.connectwise),
        "no suggestion: {fuzzy_line}"
    );
    assert!(fuzzy_line.contains('%'), "no score: {fuzzy_line}");
    assert!(unmapped.contains(&planted.unmatched_org), "{unmapped}");
    let auto: usize = map
        .stderr()
        .split("mapped ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", map.stderr()));
    assert!(auto >= 18, "only {auto} organizations mapped automatically");
    map_demo(&env, s);
    let list = env
        .run(&["map", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(
        list.contains("account,ninja,") && list.contains(",manual"),
        "{list}"
    );

    // reconcile + report in every format.
    env.run(&["reconcile"], "").expect(0);
    let csv_text = env
        .run(&["report", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(
        csv_text.starts_with("finding_id,type,company,company_id,product,billed_qty,less_included,actual_qty,difference,unit_price,monthly_impact,currency,vendor_connection,vendor_accounts,services,psa_connection,agreements,note,decision,decided_by,decided_at,decision_note,pending_qty,inactive_qty,excluded_qty,exclusions,contract_qty,basis,snapshots,revenue_monthly,cost_monthly,margin_monthly,margin_pct,vendor_unit_cost,psa_unit_cost,cost_source,low_margin\n"),
        "{csv_text}"
    );
    let rows = parse_csv(&csv_text);
    assert_planted(&rows, &csv_text, planted, "cw");
    assert!(
        rows.iter().any(|r| r.kind == FindingKind::UnmappedAccount
            && r.vendor_accounts.contains(&planted.unmatched_org)),
        "{csv_text}"
    );
    assert!(
        rows.iter().all(|r| r.finding_id.starts_with('F')),
        "{csv_text}"
    );

    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["report", "--format", "json"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), rows.len());
    let under: Decimal = json["totals"]["under_billed_monthly"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let sum: Decimal = rows
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                FindingKind::UnderBilled | FindingKind::UsageNoBilling
            )
        })
        .filter_map(|r| r.monthly_impact.parse::<Decimal>().ok())
        .sum();
    assert_eq!(under, sum, "the total is not the sum of the rows");
    let by_company = json["totals_by_company"].as_array().unwrap();
    let company_under: Decimal = by_company
        .iter()
        .map(|c| {
            c["under_billed_monthly"]
                .as_str()
                .unwrap()
                .parse::<Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(company_under, under, "per-company totals do not add up");
    for name in &planted.under_billed {
        assert!(
            by_company.iter().any(|c| c["company"] == name.as_str()),
            "{name} is missing from the per-company totals"
        );
    }

    let table = env
        .run(&["report", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(table.contains(&planted.under_billed[0]), "{table}");
    assert!(table.to_lowercase().contains("under-billed"), "{table}");

    // exit codes and filters.
    env.run(&["report", "--format", "csv", "--exit-code"], "")
        .expect(1);
    let only = parse_csv(
        &env.run(&["report", "--format", "csv", "--only-discrepancies"], "")
            .expect(0)
            .stdout(),
    );
    assert!(!only.is_empty() && only.iter().all(|r| r.kind != FindingKind::Match));
    assert!(only.len() < rows.len());
    let out = env.dir.path().join("report.csv");
    let r = env
        .run(&["report", "--output", out.to_str().unwrap()], "")
        .expect(0);
    assert!(r.stdout().is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), csv_text);

    // export / import round trip keeps the mappings.
    let exported = env.run(&["map", "export"], "").expect(0).stdout();
    env.run(&["map", "remove", "account", "ninja", &fuzzy.ninjaone], "")
        .expect(0);
    let after_remove = env
        .run(&["map", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(!after_remove.contains(&fuzzy.ninjaone), "{after_remove}");
    let file = env.dir.path().join("maps.csv");
    std::fs::write(&file, &exported).unwrap();
    env.run(&["map", "import", file.to_str().unwrap()], "")
        .expect(0);
    let reimported = env
        .run(&["map", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(reimported.contains(&fuzzy.ninjaone), "{reimported}");

    // disconnect removes the secret, the config entry and the mappings; history stays.
    env.run(&["disconnect", "ninja"], "").expect(0);
    if expected_backend().is_some() {
        assert_eq!(
            read_from_store(&env.service, &env.keyring_user("ninja/client_secret")),
            None
        );
    }
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        !config.contains("[connections.ninja]") && config.contains("[connections.cw]"),
        "{config}"
    );
    let list = env
        .run(&["map", "list", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(!list.contains(",ninja,"), "{list}");
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(status.contains("ninja,(not configured)"), "{status}");

    // --purge also drops the synced history.
    env.run(&["disconnect", "cw", "--purge"], "").expect(0);
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(!status.contains("\ncw,"), "{status}");
    assert!(status.contains("ninja,(not configured)"), "{status}");
}

#[test]
fn a_failed_sync_keeps_the_last_good_snapshot() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    let before = synced_and_mapped(&env, s);

    // Wrong secret from the environment (it wins over the keyring): the sync fails cleanly.
    let r = env
        .run_env(
            &["sync", "ninja"],
            &[("RECONCILE_NINJA_CLIENT_SECRET", "wrong-secret")],
        )
        .expect(2);
    let err = r.stderr();
    assert!(err.contains("sync of `ninja` failed"), "{err}");
    assert!(err.contains("rejected the credentials"), "{err}");
    assert!(!err.contains("wrong-secret"), "the secret leaked: {err}");
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let line = status.lines().find(|l| l.starts_with("ninja,")).unwrap();
    assert!(line.contains(",failed,"), "{line}");
    assert!(
        line.contains("items"),
        "the current snapshot is gone: {line}"
    );

    // The report still comes from the last good snapshot, but nothing that depends on `ninja`
    // is trusted: every such finding is stale_source with the failure in its note, no money.
    let r = env.run(&["report", "--format", "csv"], "").expect(0);
    let stderr = r.stderr();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("is not healthy"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr());
    assert!(
        warnings[0].contains("`ninja` is not healthy, so its findings are reported as stale_source: its last sync failed (")
            && warnings[0].contains("rejected the credentials"),
        "{}",
        r.stderr()
    );
    let after = crate::health::rows(&r.stdout());
    let before = crate::health::rows(&before);
    assert_eq!(after.len(), before.len());
    for row in &after {
        let involves_ninja = row["vendor_connection"].split(',').any(|c| c == "ninja")
            || row["services"].starts_with("ninja/")
            || row["psa_connection"] == "cw";
        assert!(involves_ninja, "{row:?}");
        assert_eq!(row["type"], "stale_source", "{row:?}");
        assert!(
            row["note"].starts_with("`ninja` is not healthy: its last sync failed (")
                && row["note"].contains("rejected the credentials"),
            "{row:?}"
        );
        assert_eq!(row["monthly_impact"], "", "{row:?}");
        // Same numbers as before the failure: the previous snapshot is still the current one.
        let was = before
            .iter()
            .find(|b| b["finding_id"] == row["finding_id"])
            .unwrap_or_else(|| panic!("new finding {row:?}"));
        assert_eq!(was["actual_qty"], row["actual_qty"], "{row:?}");
        assert_eq!(was["billed_qty"], row["billed_qty"], "{row:?}");
        assert!(
            row["note"].contains(&format!("from this data it would be {}", was["type"])),
            "{row:?}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(
        &env.run(&["report", "--format", "json"], "")
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(json["totals"]["under_billed_monthly"], "0.00");
    assert_eq!(json["totals"]["over_billed_monthly"], "0.00");
    env.run(&["report", "--format", "csv", "--exit-code"], "")
        .expect(3);
    let r = env.run(&["reconcile"], "").expect(0);
    assert!(
        r.stderr().contains("`ninja` is not healthy"),
        "{}",
        r.stderr()
    );
}

#[test]
fn wrong_credentials_at_connect_save_nothing() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    let r = env
        .run(
            &[
                "connect",
                "ninjaone",
                "--url",
                s.url(ConnectorKind::NinjaOne),
                "--client-id",
                ninjaone::DEMO_CLIENT_ID,
            ],
            "not-the-secret",
        )
        .expect(2);
    let err = r.stderr();
    assert!(err.contains("connection `ninjaone`"), "{err}");
    assert!(err.contains("/ws/oauth/token"), "{err}");
    assert!(err.contains("rejected the credentials"), "{err}");
    assert!(!err.contains("not-the-secret"), "{err}");
    assert!(!env.config_path().exists());
    if expected_backend().is_some() {
        assert_eq!(
            read_from_store(&env.service, &env.keyring_user("ninjaone/client_secret")),
            None
        );
    }
}

#[test]
fn the_demo_runs_without_any_account_and_touches_nothing() {
    let env = Env::new();
    let r = env.run(&["demo", "--format", "csv"], "").expect(0);
    let rows = parse_csv(&r.stdout());
    assert!(
        rows.iter().any(|r| r.kind == FindingKind::UnderBilled),
        "{}",
        r.stdout()
    );
    assert!(rows.iter().any(|r| r.kind == FindingKind::OverBilled));
    assert!(rows.iter().any(|r| r.kind == FindingKind::UnmappedAccount));
    assert!(rows.iter().any(|r| r.kind == FindingKind::Match));
    assert!(r.stderr().contains("demo: done"), "{}", r.stderr());
    // Every vendor beside NinjaOne shows its planted lines, with the quantities its sandbox
    // serves.
    let sample = sample();
    assert!(!sample.vendors.is_empty());
    for v in &sample.vendors {
        assert!(
            v.expected
                .iter()
                .any(|e| e.kind == FindingKind::UnderBilled)
                && v.expected.iter().any(|e| e.kind == FindingKind::OverBilled),
            "{} plants an under- and an over-billed line",
            v.connection
        );
        for e in &v.expected {
            assert_expected(&rows, &r.stdout(), e, e.billed);
        }
        assert_margins_planted(&rows, &r.stdout(), v);
        assert!(
            r.stderr()
                .contains(&format!("reconcile connect {}", v.kind)),
            "{}",
            r.stderr()
        );
    }
    assert!(
        !env.config_path().exists(),
        "the demo wrote the user's config"
    );
    assert!(
        !env.db_path().exists(),
        "the demo wrote the user's database"
    );
}

/// A vendor that reports costs shows its planted cost mismatch (the PSA line records 80 % of
/// the vendor's cost) and its line sold below cost (a match that loses money).
fn assert_margins_planted(rows: &[Finding], text: &str, v: &reconcile::demo::vendors::DemoVendor) {
    if let Some((company, product)) = &v.cost_mismatch {
        let m = rows
            .iter()
            .find(|r| {
                r.kind == FindingKind::CostMismatch
                    && &r.company == company
                    && &r.product == product
            })
            .unwrap_or_else(|| panic!("no cost_mismatch for {company} / {product}:\n{text}"));
        let (psa, vendor) = (dec(&m.psa_unit_cost), dec(&m.vendor_unit_cost));
        assert_eq!(psa, (vendor * Decimal::new(8, 1)).round_dp(2), "{m:?}");
        assert!(m.monthly_impact.is_empty(), "{m:?}");
        assert!(m.cost_source.starts_with("vendor ("), "{m:?}");
        assert!(
            m.note.contains("the PSA's margin on this line is off by"),
            "{m:?}"
        );
        // The line itself still bills what is used.
        assert_eq!(
            finding(rows, company, product, text).kind,
            FindingKind::Match
        );
    }
    if let Some((company, product)) = &v.loss_making {
        let l = finding(rows, company, product, text);
        assert_eq!(l.kind, FindingKind::Match, "{l:?}");
        assert_eq!(l.low_margin, "true", "{l:?}");
        assert!(dec(&l.margin_monthly) < Decimal::ZERO, "{l:?}");
        assert_eq!(
            dec(&l.revenue_monthly) - dec(&l.cost_monthly),
            dec(&l.margin_monthly),
            "{l:?}"
        );
        assert!(l.note.contains("low_margin: loses"), "{l:?}");
    }
}

#[test]
fn the_demo_by_service_lists_where_each_product_loses_money() {
    let env = Env::new();
    let sample = sample();
    let sherweb = sample
        .vendors
        .iter()
        .find(|v| v.loss_making.is_some())
        .expect("a vendor plants a loss-making line");
    let (company, product) = sherweb.loss_making.clone().unwrap();
    let out = env
        .run(&["demo", "--by", "service", "--format", "csv"], "")
        .expect(0)
        .stdout();
    #[derive(serde::Deserialize, Debug)]
    struct Row {
        product: String,
        clients: usize,
        revenue_monthly: String,
        cost_monthly: String,
        margin_monthly: String,
        clients_losing_money: usize,
        losses: String,
    }
    let rows: Vec<Row> = csv_rows(&out);
    let row = rows
        .iter()
        .find(|r| r.product == product)
        .unwrap_or_else(|| panic!("no {product} row:\n{out}"));
    assert!(row.clients >= 2, "{row:?}");
    assert!(row.clients_losing_money >= 1, "{row:?}");
    assert!(row.losses.contains(&company), "{row:?}");
    assert_eq!(
        dec(&row.revenue_monthly) - dec(&row.cost_monthly),
        dec(&row.margin_monthly),
        "{row:?}"
    );
    // Worst margin first: products with a known margin are sorted by it, unknown ones last.
    let margins: Vec<Decimal> = rows
        .iter()
        .take_while(|r| !r.margin_monthly.is_empty())
        .map(|r| dec(&r.margin_monthly))
        .collect();
    assert!(margins.len() >= 4, "{out}");
    assert!(margins.windows(2).all(|w| w[0] <= w[1]), "{out}");
    assert!(
        rows[margins.len()..]
            .iter()
            .all(|r| r.margin_monthly.is_empty()),
        "{out}"
    );
}

#[test]
fn ctrl_c_during_a_sync_records_it_and_keeps_the_last_good_snapshot() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    env.run(&["sync", "ninja"], "").expect(0);

    // A host that accepts connections and never answers: the sync hangs until interrupted.
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", hang.local_addr().unwrap());
    env.run(
        &[
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--url",
            &url,
            "--client-id",
            "x",
            "--no-verify",
        ],
        "whatever",
    )
    .expect(0);
    let child = env
        .std_cmd()
        .args(["sync"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // ConnectWise (answering) finishes meanwhile; NinjaOne (hanging) cannot.
    std::thread::sleep(std::time::Duration::from_millis(3000));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    // Which connections saved a new snapshot and which did not, not "every connection".
    assert!(
        err.contains("`cw` saved a new snapshot before it; `ninja` did not"),
        "{err}"
    );
    drop(hang);

    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let line = status.lines().find(|l| l.starts_with("ninja,")).unwrap();
    assert!(
        line.contains(",failed,") && line.contains("Ctrl-C"),
        "{line}"
    );
    let devices = s.sample.ninjaone.devices.len();
    assert!(
        line.contains(&format!("{devices} items")),
        "the last good snapshot is gone: {line}"
    );
}

#[test]
fn quiet_sync_prints_nothing_but_errors() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    let r = env.run(&["sync", "--quiet"], "").expect(0);
    assert_eq!(r.stderr(), "");
    assert_eq!(r.stdout(), "");
    let r = env
        .run(&["report", "--quiet", "--format", "csv"], "")
        .expect(0);
    assert_eq!(r.stderr(), "");
    assert!(r.stdout().starts_with("finding_id,"), "{}", r.stdout());
}

#[test]
fn two_syncs_at_once_both_land_and_nothing_is_corrupted() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    let spawn = || {
        env.std_cmd()
            .args(["sync", "--quiet"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let devices = s.sample.ninjaone.devices.len();
    let ninja = status.lines().find(|l| l.starts_with("ninja,")).unwrap();
    assert!(
        ninja.contains(",ok,") && ninja.contains(&format!("{devices} items")),
        "{ninja}"
    );
    env.run(&["map"], "").expect(0);
    map_demo(&env, s);
    let rows = parse_csv(
        &env.run(&["report", "--format", "csv"], "")
            .expect(0)
            .stdout(),
    );
    let matched = rows.iter().filter(|r| r.kind == FindingKind::Match).count();
    let expected = s
        .sample
        .planted
        .expected
        .iter()
        .filter(|e| e.kind == FindingKind::Match)
        .count();
    assert_eq!(matched, expected);
}

#[test]
fn the_demo_shows_the_same_findings_on_every_psa() {
    let sample = sample();
    let expected: Vec<_> = sample
        .planted
        .expected
        .iter()
        .chain(sample.vendors.iter().flat_map(|v| &v.expected))
        .collect();
    for psa in [
        "autotask",
        "halopsa",
        "syncro",
        "csv-billing",
        "kaseya-bms",
        "pulseway",
        "cloudblue",
        "accelo",
        "tigerpaw",
    ] {
        let env = Env::new();
        let r = env
            .run(&["demo", "--psa", psa, "--format", "csv"], "")
            .expect(0);
        assert!(
            r.stderr().contains(&format!("reconcile connect {psa}")),
            "{}",
            r.stderr()
        );
        let text = r.stdout();
        let rows = parse_csv(&text);
        for e in &expected {
            // Autotask and Tigerpaw take whole units only: their lines bill a fraction rounded
            // up.
            let billed = if psa == "autotask" || psa == "tigerpaw" {
                e.billed.ceil()
            } else {
                e.billed
            };
            assert_expected(&rows, &text, e, billed);
        }
        // What each line earns reads the vendor's cost, the same on every PSA; a cost
        // mismatch needs a cost the PSA records on the line: not Tigerpaw's (none), not the
        // BMS family's (the catalogue's, which is right).
        for v in &sample.vendors {
            if let Some((company, product)) = &v.loss_making {
                let l = finding(&rows, company, product, &text);
                assert_eq!(l.low_margin, "true", "{psa}: {l:?}");
            }
            if let Some((company, product)) = &v.cost_mismatch {
                let found = rows.iter().any(|r| {
                    r.kind == FindingKind::CostMismatch
                        && &r.company == company
                        && &r.product == product
                });
                let records_line_cost =
                    !matches!(psa, "tigerpaw" | "kaseya-bms" | "pulseway" | "cloudblue");
                assert_eq!(
                    found, records_line_cost,
                    "{psa}: {company} / {product}\n{text}"
                );
            }
        }
    }
}

/// `demo --push` against a report-only PSA stops before starting anything, says why, and
/// names the PSAs it can write to (it used to run and print "0 written" as if that were a
/// result).
#[test]
fn demo_push_refuses_a_report_only_psa() {
    for (psa, name) in [("tigerpaw", "Tigerpaw"), ("kaseya-bms", "Kaseya BMS")] {
        let env = Env::new();
        let r = env.run(&["demo", "--push", "--psa", psa], "").expect(2);
        let err = r.stderr();
        assert!(
            err.contains(&format!("{name} is report-only")),
            "{psa}: {err}"
        );
        assert!(err.contains("--psa connectwise, autotask"), "{psa}: {err}");
        assert!(!err.contains("--psa accelo"), "{psa}: {err}");
        assert!(r.stdout().is_empty(), "{psa}: {}", r.stdout());
        assert!(!err.contains("demo: reconcile sync"), "{psa}: {err}");
    }
}
