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

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reconcile::connectors::ConnectorKind;
use reconcile::demo::apis::{connectwise, m365, ninjaone};
use reconcile::demo::sample::SampleMsp;
use reconcile::demo::scale::{Expected, Scale, expected, scaled};
use reconcile::demo::{self, RequestStats, Sandbox};

/// NinjaOne and ConnectWise page size the config asks for (both APIs' maximum).
const PAGE: usize = 1000;
/// Microsoft 365: `delegatedAdminCustomers` is read with `$top=300`; `subscribedSkus` in one page.
const M365_PAGE: usize = 300;
/// The targets of the issue.
const MAX_WALL_OVER_IDEAL: f64 = 1.5;
const MIN_SPEEDUP: f64 = 10.0;
const MAX_REQUESTS_OVER_MIN: f64 = 1.05;
const MAX_RSS_MB: f64 = 250.0;

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
            other => bail!("unknown flag {other}; see the header of examples/bench_sync.rs"),
        }
    }
    Ok(a)
}

/// Requests per connection's plan: the fewest requests and the critical path in rounds.
#[derive(Debug, Clone, Copy)]
struct Plan {
    min_requests: usize,
    rounds: usize,
}

/// Keyset paging that stops at a short page (NinjaOne): a full last page costs one more request.
fn keyset_pages(n: usize) -> usize {
    n / PAGE + 1
}

/// Paging that follows a `Link: rel="next"` (ConnectWise) or `@odata.nextLink` (Graph).
fn linked_pages(n: usize, page: usize) -> usize {
    n.div_ceil(page).max(1)
}

/// Independent chains of sequential requests, `c` in flight at once: a lower bound on rounds
/// (no schedule beats the longest chain, nor total / c).
fn parallel_rounds(chains: &[usize], c: usize) -> usize {
    let longest = chains.iter().copied().max().unwrap_or(0);
    let total: usize = chains.iter().sum();
    longest.max(total.div_ceil(c.max(1)))
}

/// The kind of each benchmarked connection.
fn kind(connection: &str) -> ConnectorKind {
    match connection {
        "ninjaone" => ConnectorKind::NinjaOne,
        "connectwise" => ConnectorKind::ConnectWise,
        _ => ConnectorKind::M365,
    }
}

/// NinjaOne: a token; the organizations and the roles side by side; then the devices (the
/// connector lists them once it has the organizations), from the single `/v2/devices` keyset
/// chain or, by organization, one chain per organization, `c` organizations at once.
fn ninja_plan(msp: &SampleMsp, by_org: bool, c: usize) -> Plan {
    let n = &msp.ninjaone;
    let org_pages = keyset_pages(n.organizations.len());
    let prefix = 1 + org_pages.max(1);
    if by_org {
        let mut per_org: BTreeMap<i64, usize> = n.organizations.iter().map(|o| (o.id, 0)).collect();
        for d in &n.devices {
            *per_org.entry(d.organization_id).or_default() += 1;
        }
        let chains: Vec<usize> = per_org.values().map(|&k| keyset_pages(k)).collect();
        Plan {
            min_requests: 1 + org_pages + 1 + chains.iter().sum::<usize>(),
            rounds: prefix + parallel_rounds(&chains, c),
        }
    } else {
        let device_pages = keyset_pages(n.devices.len());
        Plan {
            min_requests: 1 + org_pages + 1 + device_pages,
            rounds: prefix + device_pages,
        }
    }
}

/// ConnectWise: companyinfo; then statuses, companies, agreements and the catalog side by side;
/// then every active agreement's additions, `c` agreements at once.
fn cw_plan(msp: &SampleMsp, c: usize) -> Plan {
    let cw = &msp.connectwise;
    let lists = [
        linked_pages(cw.company_statuses.len(), PAGE),
        linked_pages(cw.companies.iter().filter(|c| !c.deleted).count(), PAGE),
        linked_pages(cw.agreements.iter().filter(|a| !a.cancelled).count(), PAGE),
        linked_pages(cw.catalog.iter().filter(|p| !p.inactive).count(), PAGE),
    ];
    let mut per_agreement: BTreeMap<i64, usize> = cw
        .agreements
        .iter()
        .filter(|a| !a.cancelled && a.status.eq_ignore_ascii_case("active"))
        .map(|a| (a.id, 0))
        .collect();
    for add in &cw.additions {
        if let Some(k) = per_agreement.get_mut(&add.agreement_id) {
            *k += 1;
        }
    }
    let chains: Vec<usize> = per_agreement
        .values()
        .map(|&k| linked_pages(k, PAGE))
        .collect();
    Plan {
        min_requests: 1 + lists.iter().sum::<usize>() + chains.iter().sum::<usize>(),
        rounds: 1 + lists.iter().copied().max().unwrap_or(0) + parallel_rounds(&chains, c),
    }
}

/// Microsoft 365 (GDAP): the partner token, the customers, then per tenant a token and its
/// `subscribedSkus`, `c` tenants at once.
fn m365_plan(msp: &SampleMsp, c: usize) -> Plan {
    let tenants = &msp.vendor_records.m365.tenants;
    let chains: Vec<usize> = tenants
        .iter()
        .map(|t| 1 + linked_pages(t.skus.len(), M365_PAGE))
        .collect();
    let customers = linked_pages(tenants.len(), M365_PAGE);
    Plan {
        min_requests: 1 + customers + chains.iter().sum::<usize>(),
        rounds: 1 + customers + parallel_rounds(&chains, c),
    }
}

/// One measured line of the table.
struct Line {
    what: String,
    requests: usize,
    plan: Plan,
    wall: f64,
    rss_mb: Option<f64>,
    /// CPU time of `reconcile`, s.
    cpu: Option<f64>,
    /// CPU time of the sandboxes (this process) during the run, s.
    sandbox_cpu: Option<f64>,
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

/// What one run of `reconcile` took.
struct Measured {
    wall: f64,
    /// Peak resident set, MB (Unix only).
    rss_mb: Option<f64>,
    /// User + system CPU time, s (Unix only).
    cpu: Option<f64>,
    stderr: String,
}

/// User + system CPU time this process (the sandboxes' threads) has used, s (Unix only).
fn own_cpu() -> Option<f64> {
    #[cfg(unix)]
    {
        // SAFETY: a zeroed rusage is a valid value for getrusage to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: RUSAGE_SELF with a valid pointer.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return None;
        }
        Some(cpu_secs(&usage))
    }
    #[cfg(not(unix))]
    None
}

#[cfg(unix)]
fn cpu_secs(u: &libc::rusage) -> f64 {
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Runs `cmd` to completion and measures it.
///
/// Through this example re-run as a launcher (`--launch`): a child's `ru_maxrss` counts the
/// resident set of the process it was forked from at `exec` time, and this process holds the
/// scaled sample (well over 100 MB), which would hide the figure of a smaller `reconcile`. The
/// launcher is small when it forks, so the `reconcile` it waits for reports its own peak.
fn measure(cmd: Command) -> Result<Measured> {
    let mut launcher = Command::new(std::env::current_exe()?);
    launcher
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .arg("--launch")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = launcher
        .spawn()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let mut report = String::new();
    child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_string(&mut report)?;
    child.wait()?;
    let stderr = reader.join().unwrap_or_default();
    // `<exit code> <wall seconds> <peak RSS in KiB or -1> <CPU seconds or -1>`
    let fields: Vec<&str> = report.split_whitespace().collect();
    let [code, secs, kib, cpu] = fields.as_slice() else {
        bail!("{cmd:?}: no report from the launcher:\n{stderr}");
    };
    if *code != "0" {
        bail!("{cmd:?} failed (exit {code}):\n{stderr}");
    }
    let kib: i64 = kib.parse()?;
    let cpu: f64 = cpu.parse()?;
    Ok(Measured {
        wall: secs.parse()?,
        rss_mb: (kib >= 0).then_some(kib as f64 / 1024.0),
        cpu: (cpu >= 0.0).then_some(cpu),
        stderr,
    })
}

/// The launcher side of [`measure`]: runs `args` (program first) with this process's stdin and
/// stderr, its stdout discarded, and prints `<exit code> <wall seconds> <peak RSS KiB or -1>
/// <CPU seconds or -1>`.
fn launch(args: &[std::ffi::OsString]) -> Result<()> {
    let (program, rest) = args.split_first().context("--launch needs a program")?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(rest)
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {}", Path::new(program).display()))?;
    #[cfg(unix)]
    let (code, kib, cpu) = {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: the pid is our own child, not yet waited for; both pointers are valid.
        let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
        let code = if pid >= 0 && libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        };
        // Linux reports kilobytes.
        (code, usage.ru_maxrss as i64, cpu_secs(&usage))
    };
    #[cfg(not(unix))]
    let (code, kib, cpu) = {
        let mut child = child;
        (child.wait()?.code().unwrap_or(-1), -1i64, -1.0)
    };
    println!(
        "{code} {:.3} {kib} {cpu:.3}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn secs(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.1}")).unwrap_or_else(|| "-".into())
}

/// `name: synced in 1.2s: ...` from a sync's stderr.
fn synced_in(stderr: &str, name: &str) -> Option<f64> {
    let prefix = format!("{name}: synced in ");
    stderr.lines().find_map(|l| {
        let rest = &l[l.find(&prefix)? + prefix.len()..];
        rest.split('s').next()?.parse().ok()
    })
}

/// Record counts per connection from `reconcile status --format json`.
fn status_counts(mut cmd: Command) -> Result<BTreeMap<String, BTreeMap<String, usize>>> {
    let out = cmd.args(["status", "--format", "json"]).output()?;
    if !out.status.success() {
        bail!(
            "reconcile status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).context("reconcile status --format json")?;
    Ok(rows
        .iter()
        .map(|r| {
            let counts = r["records"]
                .as_str()
                .unwrap_or_default()
                .split(", ")
                .filter_map(|kv| {
                    // `1000 accounts` (pipeline::describe_counts).
                    let (n, k) = kv.split_once(' ')?;
                    Some((k.to_string(), n.parse().ok()?))
                })
                .collect();
            (
                r["connection"].as_str().unwrap_or_default().to_string(),
                counts,
            )
        })
        .collect())
}

/// The counts `connection` must show, or a description of the difference.
fn check_counts(
    got: &BTreeMap<String, BTreeMap<String, usize>>,
    connection: &str,
    e: &Expected,
) -> std::result::Result<(), String> {
    let want: Vec<(&str, usize)> = match connection {
        "ninjaone" => vec![("accounts", e.ninja_accounts), ("items", e.ninja_items)],
        "connectwise" => vec![
            ("companies", e.cw_companies),
            ("agreements", e.cw_agreements),
            ("lines", e.cw_lines),
            ("products", e.cw_products),
        ],
        _ => vec![("accounts", e.m365_accounts), ("items", e.m365_items)],
    };
    let have = got.get(connection).cloned().unwrap_or_default();
    let wrong: Vec<String> = want
        .iter()
        .filter(|(k, n)| have.get(*k) != Some(n))
        .map(|(k, n)| format!("{k} {} (want {n})", have.get(*k).copied().unwrap_or(0)))
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("{connection}: {}", wrong.join(", ")))
    }
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
    let lat = latency.as_secs_f64();
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
    println!(
        "bench_sync: latency {} ms; NinjaOne {} organizations / {} devices, ConnectWise {} companies / {} agreements / {} additions, Microsoft 365 {} tenants",
        latency.as_millis(),
        scale.orgs,
        scale.devices,
        scale.companies,
        scale.agreements,
        scale.additions,
        scale.tenants
    );
    println!(
        "concurrency: ninjaone {}, connectwise {}, m365 {}; ninjaone device_listing {}; page size {PAGE} (Graph {M365_PAGE}); binary {}",
        conc["ninjaone"],
        conc["connectwise"],
        conc["m365"],
        args.device_listing,
        bin.display()
    );
    println!(
        "plan: ninjaone single list {} requests / {} rounds, by organization {} / {}; connectwise {} / {}; m365 {} / {}",
        plans_single.min_requests,
        plans_single.rounds,
        plans_by_org.min_requests,
        plans_by_org.rounds,
        cw.min_requests,
        cw.rounds,
        m365.min_requests,
        m365.rounds
    );
    let three = |l: &str| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    println!(
        "load average (1/5/15 min): {} before the runs, {} after (2 cores)",
        three(&load_before),
        three(&load)
    );
    println!();
    println!(
        "{:<42} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7} {:>10} {:>8} {:>9} {:>6} {:>6}",
        "run",
        "requests",
        "minimum",
        "req/min",
        "wall s",
        "ideal s",
        "/ideal",
        "1-by-1 s",
        "speed-up",
        "peak RSS",
        "cpu s",
        "sbx s"
    );
    let mut verdicts: Vec<(String, bool)> = Vec::new();
    for l in &lines {
        let ideal = l.plan.rounds as f64 * lat;
        let serial = l.requests as f64 * lat;
        let over_min = l.requests as f64 / l.plan.min_requests.max(1) as f64;
        let over_ideal = l.wall / ideal;
        let speedup = serial / l.wall;
        println!(
            "{:<42} {:>8} {:>8} {:>7.3} {:>8.2} {:>8.2} {:>7.2} {:>10.2} {:>7.1}x {:>9} {:>6} {:>6}",
            l.what,
            l.requests,
            l.plan.min_requests,
            over_min,
            l.wall,
            ideal,
            over_ideal,
            serial,
            speedup,
            l.rss_mb
                .map(|m| format!("{m:.0} MB"))
                .unwrap_or_else(|| "-".into()),
            secs(l.cpu),
            secs(l.sandbox_cpu)
        );
        if l.what.starts_with("all,") {
            verdicts.push((
                format!(
                    "{}: wall within {MAX_WALL_OVER_IDEAL}x of ideal ({over_ideal:.2}x)",
                    l.what
                ),
                over_ideal <= MAX_WALL_OVER_IDEAL,
            ));
            verdicts.push((
                format!(
                    "{}: at least {MIN_SPEEDUP}x faster than one at a time ({speedup:.1}x)",
                    l.what
                ),
                speedup >= MIN_SPEEDUP,
            ));
            verdicts.push((
                format!(
                    "{}: requests within {MAX_REQUESTS_OVER_MIN}x of the minimum ({over_min:.3}x)",
                    l.what
                ),
                over_min <= MAX_REQUESTS_OVER_MIN,
            ));
        }
        if let Some(rss) = l.rss_mb
            && (l.what.starts_with("all,") || l.what.starts_with("ninjaone"))
        {
            verdicts.push((
                format!(
                    "{}: peak RSS under {MAX_RSS_MB} MB during the {}-device sync ({rss:.0} MB)",
                    l.what, scale.devices
                ),
                rss < MAX_RSS_MB,
            ));
        }
    }
    println!();
    println!(
        "ideal = latency x critical path of rounds; 1-by-1 = one request at a time = requests x latency; speed-up = 1-by-1 / wall"
    );
    println!(
        "per-connection wall in an `all` run: its `synced in` line (0.1 s); peak RSS: the whole reconcile process"
    );
    println!(
        "cpu s: reconcile's user + system CPU; sbx s: the in-process sandboxes' CPU during the run (both share the 2 cores)"
    );
    for (what, requests) in &breakdown {
        println!();
        println!("requests per endpoint, {what}:");
        for (c, eps) in requests {
            // Tenant GUIDs as `{tenant}`, as the counter writes numeric ids as `{id}`.
            let mut grouped: BTreeMap<String, usize> = BTreeMap::new();
            for (e, n) in eps {
                let e: Vec<&str> = e
                    .split('/')
                    .map(|seg| {
                        let guid =
                            seg.len() == 36 && seg.bytes().filter(|&b| b == b'-').count() == 4;
                        if guid { "{tenant}" } else { seg }
                    })
                    .collect();
                *grouped.entry(e.join("/")).or_default() += n;
            }
            let list: Vec<String> = grouped.iter().map(|(e, n)| format!("{e} {n}")).collect();
            println!("  {c}: {}", list.join(", "));
        }
    }
    println!();
    let mut met = 0;
    for (what, ok) in &verdicts {
        println!("{} {what}", if *ok { "MET    " } else { "MISSED " });
        met += usize::from(*ok);
    }
    if problems.is_empty() {
        println!(
            "CORRECT every run stored exactly the generated records ({} devices, {} additions, {} tenants)",
            want.ninja_items, want.cw_lines, want.m365_accounts
        );
    } else {
        for p in &problems {
            println!("WRONG   {p}");
        }
    }
    println!("{met} of {} targets met", verdicts.len());
    drop(sb);
    drop(rt);
    if !problems.is_empty() {
        bail!("a sync stored the wrong records");
    }
    Ok(())
}
