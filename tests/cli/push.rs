//! `reconcile push` end to end: NinjaOne from the demo sandbox against each PSA sandbox, which
//! accepts and validates writes as the real API documents them. The whole loop: map with
//! `--push`, plan (only reads reach the PSA), apply, sync again, the pushed lines now match; a
//! second apply writes nothing; revert restores; the guards (zero, stale source, decreases) plan
//! no write. For the CSV billing import, apply writes a file of the changes instead.

use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::csv_billing::csv_text;
use reconcile::engine::FindingKind;
use serde::Deserialize;

use crate::flow::{connect_halopsa, connect_ninjaone_at, map_demo, serve};
use crate::harness::Env;
use crate::support::{csv_rows, dec, report};

/// One row of `push plan --format csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanRow {
    pub plan_id: i64,
    pub decision: String,
    pub psa_connection: String,
    pub company: String,
    pub line_id: String,
    pub product: String,
    pub before_qty: String,
    pub after_qty: String,
    pub change: String,
    pub guards_failed: String,
    pub finding_id: String,
}

/// One row of `push log --format csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogRow {
    pub plan_id: i64,
    pub operator: String,
    pub company: String,
    pub product: String,
    pub before_qty: String,
    pub after_qty: String,
    pub outcome: String,
    pub http_status: String,
    pub read_back_qty: String,
    pub guards: String,
    pub source: String,
}

pub fn plan(env: &Env, args: &[&str]) -> Vec<PlanRow> {
    let mut all = vec!["push", "plan", "--format", "csv"];
    all.extend_from_slice(args);
    csv_rows(&env.run(&all, "").expect(0).stdout())
}

pub fn log(env: &Env, plan: i64) -> Vec<LogRow> {
    let id = plan.to_string();
    csv_rows(
        &env.run(&["push", "log", "--plan", &id, "--format", "csv"], "")
            .expect(0)
            .stdout(),
    )
}

/// Opts the demo's billed NinjaOne services into write-back.
pub fn opt_in(env: &Env) {
    for (service, product) in reconcile::demo::sample::DEMO_SERVICE_MAP {
        env.run(
            &[
                "map", "service", "ninja", service, "--to", product, "--push",
            ],
            "",
        )
        .expect(0);
    }
}

#[test]
fn a_csv_billing_import_gets_a_file_of_changes_to_import_by_hand() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    let billing = env.dir.path().join("psa-billing.csv");
    std::fs::write(&billing, csv_text(&s.sample)).unwrap();
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);
    env.run(
        &[
            "connect",
            "csv-billing",
            "--name",
            "psa",
            "--path",
            billing.to_str().unwrap(),
            "--company-id-column",
            "Client ID",
            "--product-column",
            "Product ID",
            "--billable-type",
            "Client",
        ],
        "",
    )
    .expect(0);
    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(&env, s);

    // Nothing opted in: nothing planned, and the plan says how to opt in.
    let none = env.run(&["push", "plan", "--format", "csv"], "").expect(0);
    assert_eq!(csv_rows::<PlanRow>(&none.stdout()).len(), 0);
    assert!(none.stderr().contains("--push"), "{}", none.stderr());

    opt_in(&env);
    let rows = plan(&env, &[]);
    let (findings, text) = report(&env, &[]);
    let planted = &s.sample.planted;
    // Every planted under-billed client is planned to the count, as an export.
    for name in &planted.under_billed {
        let f = findings
            .iter()
            .find(|f| &f.company == name && f.kind == FindingKind::UnderBilled)
            .unwrap_or_else(|| panic!("{name}\n{text}"));
        let r = rows
            .iter()
            .find(|r| &r.company == name && r.product == f.product)
            .unwrap_or_else(|| panic!("{name} not planned: {rows:?}"));
        assert_eq!(dec(&r.before_qty), dec(&f.billed_qty), "{r:?}");
        assert_eq!(dec(&r.after_qty), dec(&f.actual_qty), "{r:?}");
        assert!(
            r.decision == "export" || r.guards_failed.contains("large_change"),
            "{r:?}"
        );
    }
    // Over-billed: a decrease, held for review by default.
    for name in &planted.over_billed {
        let r = rows.iter().find(|r| &r.company == name).unwrap();
        assert_eq!(r.decision, "needs review", "{r:?}");
        assert!(r.guards_failed.contains("decrease"), "{r:?}");
    }
    // Billing with no usage: a target of 0 is never planned as a write.
    for name in &planted.billing_no_usage {
        let r = rows.iter().find(|r| &r.company == name).unwrap();
        assert!(r.guards_failed.contains("zero:"), "{r:?}");
    }

    let id = rows[0].plan_id.to_string();
    // Without a terminal to confirm on, apply needs --yes, and writes nothing without it.
    env.run(&["push", "apply", &id], "")
        .expect(2)
        .says(&["without a terminal", "--yes"], &[]);
    let dir = env.dir.path().to_str().unwrap();
    let apply = env.run(&["push", "apply", &id, "--yes", "--changes-dir", dir], "");
    // Lines need review, so 1.
    assert_eq!(apply.code(), 1, "{}", apply.stderr());
    let changes_file = env.dir.path().join(format!("reconcile-push-{id}-psa.csv"));
    assert!(
        apply
            .stderr()
            .contains("wrote the changes to import by hand"),
        "{}",
        apply.stderr()
    );
    let text = std::fs::read_to_string(&changes_file).unwrap();
    let exported: Vec<&PlanRow> = rows.iter().filter(|r| r.decision == "export").collect();
    assert_eq!(text.lines().count(), exported.len() + 1, "{text}");
    assert!(
        text.starts_with(
            "plan_id,company,company_id,agreement,product,line,current_quantity,new_quantity,change"
        ),
        "{text}"
    );
    for r in &exported {
        assert!(
            text.contains(&format!("{},{}", r.before_qty, r.after_qty)),
            "{r:?}\n{text}"
        );
    }
    for r in &rows {
        assert_eq!(r.psa_connection, "psa");
        assert!(r.line_id.starts_with("line-"), "{r:?}");
        assert_eq!(
            dec(&r.change),
            dec(&r.after_qty) - dec(&r.before_qty),
            "{r:?}"
        );
        assert!(
            findings.iter().any(|f| f.finding_id == r.finding_id),
            "{r:?}"
        );
    }
    // The audit: one row per exported line, with the plan, who, the numbers and the source.
    let audit = log(&env, rows[0].plan_id);
    assert_eq!(audit.len(), exported.len());
    for (a, r) in audit.iter().zip(&exported) {
        assert_eq!(a.outcome, "exported", "{a:?}");
        assert_eq!(a.plan_id, r.plan_id);
        assert!(!a.operator.is_empty());
        assert_eq!((&a.company, &a.product), (&r.company, &r.product));
        assert_eq!((&a.before_qty, &a.after_qty), (&r.before_qty, &r.after_qty));
        assert_eq!((a.http_status.as_str(), a.read_back_qty.as_str()), ("", ""));
        assert!(a.guards.contains("zero=ok"), "{a:?}");
        assert!(a.source.contains("ninja [ninja/"), "{a:?}");
    }

    // A plan older than `max_plan_age_hours` is refused.
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str("\n[push]\nmax_plan_age_hours = 0\n");
    std::fs::write(env.config_path(), config).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    env.run(&["push", "apply", &id, "--yes", "--changes-dir", dir], "")
        .expect(2)
        .says(&["more than 0 hours ago", "reconcile push plan"], &[]);

    // A stale source plans no write: NinjaOne's next sync fails (its API is gone), so every
    // line counting its devices needs review, naming why.
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    let gone = config.replace(s.url(ConnectorKind::NinjaOne), "http://127.0.0.1:9");
    assert_ne!(gone, config);
    std::fs::write(env.config_path(), gone).unwrap();
    let failed = env.run(&["sync", "ninja"], "");
    assert_ne!(failed.code(), 0);
    let stale = plan(&env, &[]);
    assert!(!stale.is_empty());
    for r in &stale {
        assert_eq!(r.decision, "needs review", "{r:?}");
        assert!(r.guards_failed.contains("source_health: `ninja`"), "{r:?}");
    }
}

/// The PSA sandbox a loop runs against.
pub struct Psa<'a> {
    /// The connection name it was connected as (with --allow-write).
    pub name: &'a str,
    pub stats: &'a reconcile::demo::kit::RequestStats,
    /// The sample it serves (its write ledger).
    pub sample: &'a reconcile::demo::sample::SampleMsp,
}

/// Whether an endpoint (`POST /V1.0/Companies/query`) only reads: a GET, a token request, or
/// a query POST (Autotask's way to read with filters).
fn reads_only(endpoint: &str) -> bool {
    endpoint.starts_with("GET ")
        || endpoint.ends_with("/query")
        || endpoint.ends_with("/query/next")
        || endpoint.ends_with("/token")
}

/// The whole loop on one PSA sandbox: plan (only reads), apply, sync again (the written lines
/// match), apply again (nothing written), revert (the quantities are back), and the zero guard.
pub fn push_loop(env: &Env, s: &reconcile::demo::Sandbox, psa: Psa) {
    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(env, s);
    opt_in(env);
    // Decreases allowed and no size limit, so every planted line but the zero is a write.
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str(
        "\n[push]\neffective = \"today\"\ndecreases = \"auto\"\nmax_change_abs = 1000\nmax_change_pct = 100000\n",
    );
    std::fs::write(env.config_path(), config).unwrap();
    let (found, text) = report(env, &[]);
    let kind_of = |rows: &[crate::support::Finding], company: &str, product: &str| {
        rows.iter()
            .find(|f| f.company == company && f.product == product)
            .map(|f| f.kind)
    };

    let rows = plan(env, &[]);
    for (endpoint, _) in psa.stats.by_endpoint() {
        assert!(reads_only(&endpoint), "planning sent {endpoint}");
    }
    assert_eq!(psa.sample.writes.count(), 0);
    let planted = &s.sample.planted;
    let writes: Vec<&PlanRow> = rows.iter().filter(|r| r.decision == "write").collect();
    for name in planted.under_billed.iter().chain(&planted.over_billed) {
        let r = writes
            .iter()
            .find(|r| &r.company == name)
            .unwrap_or_else(|| panic!("{name} is not planned as a write: {rows:?}\n{text}"));
        assert_eq!(r.psa_connection, psa.name);
        let f = found
            .iter()
            .find(|f| &f.company == name && f.product == r.product)
            .unwrap();
        assert_eq!(dec(&r.before_qty), dec(&f.billed_qty), "{r:?}");
    }
    // The zero guard: a client with no devices left is never written to 0.
    for name in &planted.billing_no_usage {
        for r in rows.iter().filter(|r| &r.company == name) {
            assert_eq!(r.decision, "needs review", "{r:?}");
            assert!(r.guards_failed.contains("zero:"), "{r:?}");
        }
    }

    let id = rows[0].plan_id.to_string();
    let apply = env.run(&["push", "apply", &id, "--yes"], "");
    assert_eq!(apply.code(), 1, "lines need review: {}", apply.stderr());
    assert_eq!(psa.sample.writes.count() as usize, writes.len());
    let audit = log(env, rows[0].plan_id);
    assert_eq!(audit.len(), writes.len(), "{audit:?}");
    for a in &audit {
        assert_eq!(a.outcome, "written", "{a:?}");
        assert!(a.http_status.starts_with('2'), "{a:?}");
        assert_eq!(dec(&a.read_back_qty), dec(&a.after_qty), "{a:?}");
    }

    // Synced again, the written lines match.
    env.run(&["sync", psa.name], "").expect(0);
    let (after, text) = report(env, &[]);
    for w in &writes {
        assert_eq!(
            kind_of(&after, &w.company, &w.product),
            Some(FindingKind::Match),
            "{w:?}\n{text}"
        );
    }

    // A second apply of the same plan writes nothing: every line is already at its target.
    let again = env.run(&["push", "apply", &id, "--yes"], "");
    assert_eq!(again.code(), 1, "{}", again.stderr());
    assert_eq!(psa.sample.writes.count() as usize, writes.len());
    let audit = log(env, rows[0].plan_id);
    assert_eq!(
        audit.iter().filter(|a| a.outcome == "at_target").count(),
        writes.len(),
        "{audit:?}"
    );

    // Revert: the quantities before come back.
    let revert = env
        .run(&["push", "revert", &id, "--format", "csv"], "")
        .expect(0);
    let back: Vec<PlanRow> = csv_rows(&revert.stdout());
    assert_eq!(back.len(), writes.len());
    for (b, w) in back.iter().zip(&writes) {
        assert_eq!(b.decision, "write", "{b:?}");
        assert_eq!((&b.before_qty, &b.after_qty), (&w.after_qty, &w.before_qty));
    }
    let rid = back[0].plan_id.to_string();
    env.run(&["push", "apply", &rid, "--yes"], "").expect(0);
    env.run(&["sync", psa.name], "").expect(0);
    let (reverted, text) = report(env, &[]);
    for w in &writes {
        assert_eq!(
            kind_of(&reverted, &w.company, &w.product),
            kind_of(&found, &w.company, &w.product),
            "{w:?}\n{text}"
        );
    }
}

#[test]
fn connectwise_plan_apply_resync_reapply_revert() {
    use reconcile::demo::apis::connectwise;
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);
    env.cleanup.borrow_mut().push("cw".to_string());
    let connect = |extra: &[&str]| {
        let mut args = vec![
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
        ];
        args.extend_from_slice(extra);
        env.run(&args, &format!("{}\n", connectwise::DEMO_PRIVATE_KEY))
    };
    // Read-only first: the plan works, apply refuses and says how to allow writes.
    connect(&[]).expect(0);
    env.run(&["sync"], "").expect(0);
    env.run(&["map"], "").expect(0);
    map_demo(&env, s);
    opt_in(&env);
    let rows = plan(&env, &[]);
    assert!(!rows.is_empty());
    let id = rows[0].plan_id.to_string();
    env.run(&["push", "apply", &id, "--yes"], "")
        .expect(2)
        .says(&["`cw` is read-only", "--allow-write"], &[]);
    assert_eq!(s.sample.writes.count(), 0);

    connect(&["--allow-write"]).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("allow_write = true"), "{config}");
    // The plan was made with the same tenant, so it applies now; but the loop starts afresh.
    push_loop(
        &env,
        s,
        Psa {
            name: "cw",
            stats: s.stats(ConnectorKind::ConnectWise),
            sample: &s.sample,
        },
    );

    // A plan made against another tenant is refused: the company id changed since.
    let rows = plan(&env, &[]);
    let id = rows[0].plan_id.to_string();
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    std::fs::write(
        env.config_path(),
        config.replace(
            &format!("company_id = \"{}\"", connectwise::DEMO_COMPANY_ID),
            "company_id = \"othermsp\"",
        ),
    )
    .unwrap();
    env.run(&["push", "apply", &id, "--yes"], "")
        .expect(2)
        .says(&["was made against", "othermsp"], &[]);
}

#[test]
fn syncro_plan_apply_resync_reapply_revert() {
    use crate::support::running;
    use reconcile::demo::apis::syncro::{self as sy, DEMO_API_TOKEN};
    use reconcile::demo::kit;
    let served = serve();
    let s = &served.sandbox;
    let sy = running(kit::serve::<sy::Api>(s.sample.clone()));
    let api = format!("{}/api/v1", sy.server.url());
    let env = Env::new();
    env.cleanup.borrow_mut().push("syncro".to_string());
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);
    env.run(
        &[
            "connect",
            "syncro",
            "--name",
            "syncro",
            "--url",
            &api,
            "--billable-property",
            "Type",
            "--billable-value",
            "Client",
            "--allow-write",
            "--api-token-stdin",
        ],
        &format!("{DEMO_API_TOKEN}\n"),
    )
    .expect(0);
    push_loop(
        &env,
        s,
        Psa {
            name: "syncro",
            stats: &sy.server.stats,
            sample: &s.sample,
        },
    );
}

#[test]
fn halopsa_plan_apply_resync_reapply_revert() {
    use crate::support::running;
    use reconcile::demo::apis::halopsa::{self as halo, DEMO_CLIENT_SECRET};
    use reconcile::demo::kit;
    let served = serve();
    let s = &served.sandbox;
    let h = running(kit::serve::<halo::Api>(s.sample.clone()));
    let env = Env::new();
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);
    connect_halopsa(&env, h.server.url(), DEMO_CLIENT_SECRET, &["--allow-write"]).expect(0);
    push_loop(
        &env,
        s,
        Psa {
            name: "halo",
            stats: &h.server.stats,
            sample: &s.sample,
        },
    );
}

#[test]
fn autotask_plan_apply_resync_reapply_revert() {
    use crate::support::running;
    use reconcile::demo::apis::autotask::{
        self as at, DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME,
    };
    use reconcile::demo::kit;
    let served = serve();
    let s = &served.sandbox;
    let a = running(kit::serve::<at::Api>(s.sample.clone()));
    let lookup = format!("{}/atservicesrest/", a.server.url());
    let env = Env::new();
    env.cleanup.borrow_mut().push("at".to_string());
    connect_ninjaone_at(&env, s.url(ConnectorKind::NinjaOne), &[]).expect(0);
    env.run(
        &[
            "connect",
            "autotask",
            "--name",
            "at",
            "--username",
            DEMO_USERNAME,
            "--integration-code",
            DEMO_INTEGRATION_CODE,
            "--zone-lookup-url",
            &lookup,
            "--allow-write",
            "--secret-stdin",
        ],
        &format!("{DEMO_SECRET}\n"),
    )
    .expect(0);
    push_loop(
        &env,
        s,
        Psa {
            name: "at",
            stats: &a.server.stats,
            sample: &s.sample,
        },
    );
    // Every adjustment went with a contract note naming the plan.
    let stats = a.server.stats.by_endpoint();
    let adjustments = stats
        .get("POST /ATServicesRest/V1.0/ContractServiceAdjustments")
        .copied()
        .unwrap_or(0);
    assert!(adjustments > 0, "{stats:?}");
    assert_eq!(
        stats
            .get("POST /ATServicesRest/V1.0/Contracts/{id}/Notes")
            .copied(),
        Some(adjustments),
        "{stats:?}"
    );
}

/// Each PSA sandbox refuses a write the real API would refuse, and records nothing: a wrong
/// field, a wrong type, a line that is not there.
#[test]
fn the_sandboxes_refuse_writes_the_apis_refuse() {
    use crate::support::{running, runtime};
    use reconcile::demo::apis::{autotask as at, connectwise as cw, halopsa as halo, syncro as sy};
    use reconcile::demo::kit;
    use serde_json::{Value, json};
    let served = serve();
    let s = &served.sandbox;
    let syncro = running(kit::serve::<sy::Api>(s.sample.clone()));
    let autotask = running(kit::serve::<at::Api>(s.sample.clone()));
    let h = running(kit::serve::<halo::Api>(s.sample.clone()));
    let add = s
        .sample
        .connectwise
        .additions
        .iter()
        .find(|a| {
            a.cancelled.is_none()
                && a.effective <= jiff::Timestamp::now()
                && s.sample
                    .connectwise
                    .agreements
                    .iter()
                    .any(|g| g.id == a.agreement_id && !g.cancelled && g.status == "Active")
        })
        .unwrap()
        .clone();
    let (agreement, line) = (add.agreement_id, add.id);
    let rt = runtime();
    let http = reconcile::http::build_reqwest(std::time::Duration::from_secs(30));
    let status = |r: reqwest::RequestBuilder| {
        rt.block_on(async { r.send().await.unwrap().status().as_u16() })
    };

    // ConnectWise: a JSON patch of `replace` ops on quantity/unitCost only, numbers only.
    let cw_url = format!(
        "{}/v4_6_release/apis/3.0/finance/agreements/{agreement}/additions/{line}",
        s.url(ConnectorKind::ConnectWise)
    );
    let cw_req = |body: Value| {
        http.patch(&cw_url)
            .basic_auth(
                format!("{}+{}", cw::DEMO_COMPANY_ID, cw::DEMO_PUBLIC_KEY),
                Some(cw::DEMO_PRIVATE_KEY),
            )
            .header("clientId", cw::DEMO_CLIENT_ID)
            .json(&body)
    };
    for bad in [
        json!({"quantity": 3}),
        json!([{"op": "add", "path": "quantity", "value": 3}]),
        json!([{"op": "replace", "path": "quantity", "value": "3"}]),
        json!([{"op": "replace", "path": "unitPrice", "value": 3}]),
    ] {
        assert_eq!(status(cw_req(bad.clone())), 400, "{bad}");
    }

    // Syncro: a ScheduleLineItem object; cost_cents an integer; the line on that schedule.
    let sy_url = |l: i64| {
        format!(
            "{}/api/v1/schedules/{agreement}/line_items/{l}",
            syncro.server.url()
        )
    };
    let sy_req = |l: i64, body: Value| {
        http.put(sy_url(l))
            .bearer_auth(sy::DEMO_API_TOKEN)
            .json(&body)
    };
    assert_eq!(status(sy_req(line, json!({"cost_cents": 4.5}))), 422);
    assert_eq!(status(sy_req(line, json!({"retail_cents": 100}))), 422);
    assert_eq!(status(sy_req(line, json!([{"quantity": 1}]))), 422);
    assert_eq!(status(sy_req(999_999_999, json!({"quantity": 1}))), 404);

    // Autotask: unitChange an integer, the contract service on the contract.
    let at_url = format!(
        "{}/ATServicesRest/V1.0/ContractServiceAdjustments",
        autotask.server.url()
    );
    let at_req = |body: Value| {
        http.post(&at_url)
            .header("UserName", at::DEMO_USERNAME)
            .header("Secret", at::DEMO_SECRET)
            .header("ApiIntegrationCode", at::DEMO_INTEGRATION_CODE)
            .json(&body)
    };
    let adj = |change: Value, service: i64| {
        json!({"contractID": agreement, "contractServiceID": 1, "serviceID": service,
               "effectiveDate": "2026-12-04T00:00:00", "unitChange": change})
    };
    assert_eq!(status(at_req(adj(json!(1.5), add.product_id))), 500);
    assert_eq!(
        status(at_req(adj(json!(1), add.product_id))),
        500,
        "contract service 1 is not on the contract"
    );
    assert_eq!(status(at_req(json!({"unitChange": 1}))), 500);

    // HaloPSA: an array of details, each with its id and the ihid of its invoice.
    let token: Value = rt.block_on(async {
        http.post(format!(
            "{}/auth/token?tenant={}",
            h.server.url(),
            halo::DEMO_TENANT
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", halo::DEMO_CLIENT_ID),
            ("client_secret", halo::DEMO_CLIENT_SECRET),
            ("scope", "all"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
    });
    let bearer = token["access_token"].as_str().unwrap().to_string();
    let halo_req = |body: Value| {
        http.post(format!(
            "{}/api/RecurringInvoice/updatelines",
            h.server.url()
        ))
        .bearer_auth(&bearer)
        .json(&body)
    };
    for bad in [
        json!({"id": line, "ihid": -agreement, "qty_order": 3}),
        json!([{"id": line, "qty_order": 3}]),
        json!([{"id": line, "ihid": -agreement - 1, "qty_order": 3}]),
        json!([{"id": line, "ihid": -agreement, "qty_order": -1}]),
        json!([{"id": line, "ihid": -agreement, "unit_price": 3}]),
    ] {
        assert_eq!(status(halo_req(bad.clone())), 400, "{bad}");
    }
    assert_eq!(
        s.sample.writes.count(),
        0,
        "a refused write is never recorded"
    );
    // And a valid one is: the same Arc serves every sandbox.
    assert_eq!(
        status(halo_req(
            json!([{"id": line, "ihid": -agreement, "qty_order": 7}])
        )),
        200
    );
    assert_eq!(
        s.sample.writes.get(line).unwrap().quantity,
        rust_decimal::Decimal::from(7)
    );
}
