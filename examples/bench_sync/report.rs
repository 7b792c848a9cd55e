//! The report: the scale, the concurrency and the plan; one table line per run (requests against
//! the minimum, wall time against the ideal and against one request at a time, peak RSS, CPU);
//! the requests per endpoint of the runs of all connections; and the targets, met or missed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use reconcile::demo::scale::{Expected, Scale};

use crate::Requests;
use crate::plan::{M365_PAGE, PAGE, Plan};

/// The targets of the issue.
pub const MAX_WALL_OVER_IDEAL: f64 = 1.5;
pub const MIN_SPEEDUP: f64 = 10.0;
pub const MAX_REQUESTS_OVER_MIN: f64 = 1.05;
pub const MAX_RSS_MB: f64 = 250.0;

/// One measured line of the table.
pub struct Line {
    pub what: String,
    pub requests: usize,
    pub plan: Plan,
    pub wall: f64,
    pub rss_mb: Option<f64>,
    /// CPU time of `reconcile`, s.
    pub cpu: Option<f64>,
    /// CPU time of the sandboxes (this process) during the run, s.
    pub sandbox_cpu: Option<f64>,
}

/// Everything the report prints, gathered after the runs.
pub struct Summary<'a> {
    pub latency: Duration,
    pub scale: Scale,
    pub conc: &'a BTreeMap<&'a str, usize>,
    pub device_listing: &'a str,
    pub bin: &'a Path,
    pub plans_single: Plan,
    pub plans_by_org: Plan,
    pub cw: Plan,
    pub m365: Plan,
    /// `/proc/loadavg` before and after the runs.
    pub load_before: &'a str,
    pub load: &'a str,
    pub lines: &'a [Line],
    pub breakdown: &'a [(String, Requests)],
    pub problems: &'a [String],
    pub want: Expected,
}

/// Prints the report to stdout.
pub fn print(summary: &Summary) {
    let &Summary {
        latency,
        scale,
        conc,
        device_listing,
        bin,
        plans_single,
        plans_by_org,
        cw,
        m365,
        load_before,
        load,
        lines,
        breakdown,
        problems,
        want,
    } = summary;
    let lat = latency.as_secs_f64();
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
        device_listing,
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
        three(load_before),
        three(load)
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
    for l in lines {
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
    for (what, requests) in breakdown {
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
        for p in problems {
            println!("WRONG   {p}");
        }
    }
    println!("{met} of {} targets met", verdicts.len());
}

fn secs(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.1}")).unwrap_or_else(|| "-".into())
}
