//! Times `reconcile sync` against the NinjaOne, ConnectWise and Microsoft 365 sandboxes at MSP
//! scale, each request answered after a WAN-like latency, and compares every run with what the
//! request plan allows: the fewest requests, the ideal wall time (the critical path of sequential
//! requests given the concurrency limits) and a one-request-at-a-time client.
//!
//! ```sh
//! cargo build --release && cargo run --release --example bench_sync    # 50 ms, full scale
//! cargo run --release --example bench_sync -- --latency-ms 20 --devices 20000 --no-alone
//! ```
//!
//! Flags (defaults in brackets): `--latency-ms` [50], `--orgs` [1000], `--devices` [100000],
//! `--companies` [1000], `--agreements` [2000], `--additions` [20000], `--tenants` [300],
//! `--concurrency N` (every connection's `concurrency`; default each kind's
//! `ConnectorKind::default_concurrency()`), `--device-listing auto|by-organization|single-list`
//! [auto], `--no-alone` (skip the per-connection runs), `--bin PATH` (the `reconcile` to run;
//! default the release binary in this example's target directory).
//!
//! The sandboxes run in this process; `reconcile` runs as a child (a temporary config, database
//! and HOME; secrets from `RECONCILE_<CONNECTION>_<FIELD>`), so its peak RSS is its own. Runs:
//! all three connections together, first sync (empty database) then second sync (with history:
//! NinjaOne's `device_listing = "auto"` may switch to per-organization listing); then each
//! connection alone, first and second sync, for its own wall time and peak RSS. After every run
//! `reconcile status --format json` must show exactly the generated record counts.
//!
//! Here: the flags, the sandboxes, the config and the runs; `plan.rs` holds the request plan and
//! the ideal-time model, `measure.rs` the child-process launcher and the RSS and CPU figures,
//! `records.rs` the check of the stored record counts, and `report.rs` the table and the
//! targets.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark prints its report"
)]

mod measure;
mod plan;
mod records;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::{connectwise, m365, ninjaone};
use reconcile::demo::scale::{Scale, expected, scaled};
use reconcile::demo::{self, RequestStats, Sandbox};

use measure::{launch, measure, own_cpu, synced_in};
use plan::{PAGE, Plan, cw_plan, m365_plan, ninja_plan};
use records::{check_counts, status_counts};
use report::{Line, Summary};

const CONNECTIONS: [&str; 3] = ["ninjaone", "connectwise", "m365"];

struct Args {
    latency: Duration,
    scale: Scale,
    alone: bool,
    bin: Option<PathBuf>,
    concurrency: Option<usize>,
    device_listing: String,
}

fn args() -> Result<Args> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        latency: Duration::from_millis(50),
        scale: Scale::default(),
        alone: true,
        bin: None,
        concurrency: None,
        device_listing: "auto".into(),
    };
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut num = || -> Result<usize> {
            it.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .with_context(|| format!("{flag} needs a number"))
        };
        match flag.as_str() {
            "--latency-ms" => a.latency = Duration::from_millis(num()? as u64),
            "--orgs" => a.scale.orgs = num()?,
            "--devices" => a.scale.devices = num()?,
            "--companies" => a.scale.companies = num()?,
            "--agreements" => a.scale.agreements = num()?,
            "--additions" => a.scale.additions = num()?,
            "--tenants" => a.scale.tenants = num()?,
            "--no-alone" => a.alone = false,
            "--concurrency" => a.concurrency = Some(num()?),
            "--device-listing" => {
                a.device_listing = it.next().context("--device-listing needs a mode")?.clone()
            }
            "--bin" => a.bin = Some(it.next().context("--bin needs a path")?.into()),
            other => bail!("unknown flag {other}; see the header of examples/bench_sync/main.rs"),
        }
    }
    Ok(a)
}

/// The kind of each benchmarked connection.
fn kind(connection: &str) -> ConnectorKind {
    match connection {
        "ninjaone" => ConnectorKind::NinjaOne,
        "connectwise" => ConnectorKind::ConnectWise,
        _ => ConnectorKind::M365,
    }
}

struct Sandboxes {
    sandbox: Sandbox,
}

impl Sandboxes {
    fn stats(&self, connection: &str) -> &Arc<RequestStats> {
        self.sandbox.stats(kind(connection))
    }

    fn snapshot(&self) -> Requests {
        CONNECTIONS
            .iter()
            .map(|c| (*c, self.stats(c).by_endpoint()))
            .collect()
    }
}

/// Requests per connection and endpoint.
type Requests = BTreeMap<&'static str, BTreeMap<String, usize>>;

/// Requests per connection and endpoint between two snapshots.
fn diff(before: &Requests, after: &Requests) -> Requests {
    after
        .iter()
        .map(|(c, eps)| {
            let was = &before[c];
            let d = eps
                .iter()
                .map(|(e, n)| (e.clone(), n - was.get(e).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect();
            (*c, d)
        })
        .collect()
}

fn write_config(
    path: &Path,
    sb: &Sandbox,
    concurrency: &BTreeMap<&str, usize>,
    device_listing: &str,
) -> Result<()> {
    let config = format!(
        r#"[connections.ninjaone]
kind = "ninjaone"
url = "{ninja}"
client_id = "{ninja_id}"
page_size = {PAGE}
concurrency = {ninja_c}
device_listing = "{device_listing}"

[connections.connectwise]
kind = "connectwise"
site = "{cw}"
company_id = "{cw_company}"
public_key = "{cw_public}"
client_id = "{cw_client}"
billable_company_types = ["{billable}"]
page_size = {PAGE}
concurrency = {cw_c}

[connections.m365]
kind = "m365"
partner_tenant_id = "{partner}"
client_id = "{m365_client}"
token_host = "{m365}"
graph_host = "{m365}"
concurrency = {m365_c}
"#,
        ninja = sb.url(ConnectorKind::NinjaOne),
        ninja_id = ninjaone::DEMO_CLIENT_ID,
        cw = sb.url(ConnectorKind::ConnectWise),
        cw_company = connectwise::DEMO_COMPANY_ID,
        cw_public = connectwise::DEMO_PUBLIC_KEY,
        cw_client = connectwise::DEMO_CLIENT_ID,
        billable = demo::DEMO_BILLABLE_TYPE,
        partner = m365::DEMO_PARTNER_TENANT,
        m365_client = m365::DEMO_CLIENT_ID,
        m365 = sb.url(ConnectorKind::M365),
        ninja_c = concurrency["ninjaone"],
        cw_c = concurrency["connectwise"],
        m365_c = concurrency["m365"],
    );
    std::fs::write(path, config)?;
    Ok(())
}

/// `reconcile` with the bench's config, database, HOME and secrets, and nothing else of ours.
fn reconcile(bin: &Path, home: &Path, config: &Path, db: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env(
            "RECONCILE_NINJAONE_CLIENT_SECRET",
            ninjaone::DEMO_CLIENT_SECRET,
        )
        .env(
            "RECONCILE_CONNECTWISE_PRIVATE_KEY",
            connectwise::DEMO_PRIVATE_KEY,
        )
        .env("RECONCILE_M365_CLIENT_SECRET", m365::DEMO_CLIENT_SECRET)
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db);
    cmd
}

fn main() -> Result<()> {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if raw.first().is_some_and(|a| a == "--launch") {
        return launch(&raw[1..]);
    }
    let args = args()?;
    let bin = match &args.bin {
        Some(b) => b.clone(),
        None => {
            // This example runs from <target>/<profile>/examples/.
            let exe = std::env::current_exe()?;
            let target = exe
                .parent()
                .and_then(Path::parent)
                .and_then(Path::parent)
                .context("cannot tell the target directory")?;
            target.join("release").join("reconcile")
        }
    };
    if !bin.exists() {
        bail!(
            "no release binary at {}: build it first with `cargo build --release` (same CARGO_TARGET_DIR), or pass --bin PATH",
            bin.display()
        );
    }
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(b), Some(me)) = (modified(&bin), modified(&std::env::current_exe()?))
        && b < me
    {
        eprintln!(
            "note: {} is older than this example; `cargo build --release` if the library changed",
            bin.display()
        );
    }
    if cfg!(debug_assertions) {
        eprintln!("note: this harness is a debug build; run it with --release for the figures");
    }
    let latency = args.latency;
    let scale = args.scale;

    let started = Instant::now();
    let msp = scaled(&scale);
    let want = expected(&msp);
    eprintln!(
        "generated {} organizations / {} devices, {} companies / {} agreements / {} additions, {} tenants / {} SKUs in {:.1}s",
        want.ninja_accounts,
        want.ninja_items,
        want.cw_companies,
        want.cw_agreements,
        want.cw_lines,
        want.m365_accounts,
        want.m365_items,
        started.elapsed().as_secs_f64()
    );
    let conc: BTreeMap<&str, usize> = CONNECTIONS
        .iter()
        .map(|c| {
            (
                *c,
                args.concurrency.unwrap_or(kind(c).default_concurrency()),
            )
        })
        .collect();
    let plans_single = ninja_plan(&msp, false, conc["ninjaone"]);
    let plans_by_org = ninja_plan(&msp, true, conc["ninjaone"]);
    let cw = cw_plan(&msp, conc["connectwise"]);
    let m365 = m365_plan(&msp, conc["m365"]);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let sandbox = rt.block_on(Sandbox::start(msp))?;
    sandbox.latency.set(latency);
    let sb = Sandboxes { sandbox };

    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home)?;
    let config = dir.path().join("config.toml");
    write_config(&config, &sb.sandbox, &conc, &args.device_listing)?;

    let mut lines: Vec<Line> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    // Requests per endpoint of the runs of all connections.
    let mut breakdown: Vec<(String, Requests)> = Vec::new();
    // The plan a connection's run followed (NinjaOne: by the endpoints it called).
    let plan_of = |connection: &str, endpoints: &BTreeMap<String, usize>| -> (Plan, String) {
        match connection {
            "ninjaone" => {
                if endpoints.contains_key("GET /v2/organization/{id}/devices") {
                    (plans_by_org, "by organization".into())
                } else {
                    (plans_single, "single list".into())
                }
            }
            "connectwise" => (cw, String::new()),
            _ => (m365, String::new()),
        }
    };

    let mut run = |names: &[&str], db: &Path, label: &str| -> Result<()> {
        let before = sb.snapshot();
        let mut cmd = reconcile(&bin, &home, &config, db);
        cmd.arg("sync").args(names);
        let cpu_before = own_cpu();
        let m = measure(cmd)?;
        let sandbox_cpu = own_cpu().zip(cpu_before).map(|(a, b)| a - b);
        let requests = diff(&before, &sb.snapshot());
        let stderr = &m.stderr;
        let counts = status_counts(reconcile(&bin, &home, &config, db))?;
        let mut total = Line {
            what: format!("all, {label}"),
            requests: 0,
            plan: Plan {
                min_requests: 0,
                rounds: 0,
            },
            wall: m.wall,
            rss_mb: m.rss_mb,
            cpu: m.cpu,
            sandbox_cpu,
        };
        let mut per = Vec::new();
        for c in names {
            if let Err(e) = check_counts(&counts, c, &want) {
                problems.push(format!("{label}: wrong records: {e}"));
            }
            let eps = &requests[c];
            let n: usize = eps.values().sum();
            let (plan, mode) = plan_of(c, eps);
            total.requests += n;
            total.plan.min_requests += plan.min_requests;
            total.plan.rounds = total.plan.rounds.max(plan.rounds);
            let what = if mode.is_empty() {
                format!("{c}, {label}")
            } else {
                format!("{c} ({mode}), {label}")
            };
            if names.len() == 1 {
                total.what = what;
            } else {
                per.push(Line {
                    what: format!("  {what}"),
                    requests: n,
                    plan,
                    wall: synced_in(stderr, c).unwrap_or(f64::NAN),
                    rss_mb: None,
                    cpu: None,
                    sandbox_cpu: None,
                });
            }
        }
        if names.len() == 1 {
            let eps = &requests[names[0]];
            total.plan = plan_of(names[0], eps).0;
        } else {
            breakdown.push((total.what.clone(), requests));
        }
        lines.push(total);
        lines.extend(per);
        Ok(())
    };

    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let db = dir.path().join("all.db");
    run(&CONNECTIONS, &db, "first sync")?;
    run(&CONNECTIONS, &db, "second sync")?;
    if args.alone {
        for c in CONNECTIONS {
            let db = dir.path().join(format!("{c}.db"));
            run(&[c], &db, "first sync")?;
            run(&[c], &db, "second sync")?;
        }
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    report::print(&Summary {
        latency,
        scale,
        conc: &conc,
        device_listing: &args.device_listing,
        bin: &bin,
        plans_single,
        plans_by_org,
        cw,
        m365,
        load_before: &load_before,
        load: &load,
        lines: &lines,
        breakdown: &breakdown,
        problems: &problems,
        want,
    });
    drop(sb);
    drop(rt);
    if !problems.is_empty() {
        bail!("a sync stored the wrong records");
    }
    Ok(())
}
