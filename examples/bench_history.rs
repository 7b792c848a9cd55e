//! Measures what a year of daily history costs: the database's growth per sync, its size after
//! all the syncs, and `report --period` on the peak basis over a month of daily snapshots against
//! a plain `reconcile reconcile`, the way a user runs them (the release binary, as separate
//! processes).
//!
//! ```sh
//! cargo build --release && cargo run --release --example bench_history                # 100,000 devices, 365 days
//! cargo run --release --example bench_history -- --devices 20000 --days 40            # smaller
//! cargo run --release --example bench_history -- --days 31 --keep /tmp/bh              # keep the database
//! ```
//!
//! A CSV device export (`--devices` devices over 1,000 customers, four plans) is synced once a
//! day by `reconcile sync`: each day 1 % of the devices change (a third added, a third removed,
//! a third moved to another plan) and every device's last contact moves. The days end on
//! 2026-10-31, so the period 2026-10 holds 31 daily snapshots; the benchmark rewrites each run's
//! times to its day (the syncs themselves run back to back). After each sync it checkpoints the
//! write-ahead log and reads the file's size.
#![allow(
    unsafe_code,
    reason = "getrusage and wait4 fill a plain C struct the kernel writes: the peak RSS figure"
)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark prints its report"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

#[path = "common/child.rs"]
mod child;
use child::measure;

const CUSTOMERS: usize = 1_000;
const PLANS: &[&str] = &["WS", "SRV", "NET", "MDM"];

fn arg(name: &str, default: usize) -> Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .with_context(|| format!("{name} needs a number")),
    }
}

/// A small deterministic generator: the same devices and changes every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Device {
    id: u64,
    customer: usize,
    plan: usize,
    /// Seconds before the sync's moment of its last contact.
    lag: i64,
}

fn customer_of(rng: &mut Rng) -> usize {
    // Uneven: a few big customers, many small ones.
    let a = rng.below(CUSTOMERS);
    let b = rng.below(CUSTOMERS);
    a.min(b)
}

fn write_csv(path: &Path, devices: &[Device], day: jiff::Timestamp) -> Result<()> {
    let mut out = String::with_capacity(devices.len() * 48);
    out.push_str("Customer,Device ID,Plan,Last Seen\n");
    for d in devices {
        let seen = day - jiff::SignedDuration::from_secs(d.lag);
        writeln!(
            out,
            "Client {:04},dev-{:07},{},{}",
            d.customer, d.id, PLANS[d.plan], seen
        )?;
    }
    std::fs::write(path, out)?;
    Ok(())
}

fn db_bytes(db: &Path) -> Result<(u64, u64)> {
    let conn = rusqlite::Connection::open(db)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let used: i64 = conn.query_row(
        "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())",
        [],
        |r| r.get(0),
    )?;
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok((std::fs::metadata(db)?.len(), (used * page) as u64))
}

fn mb(b: u64) -> f64 {
    b as f64 / 1_000_000.0
}

fn main() -> Result<()> {
    let n = arg("--devices", 100_000)?;
    let days = arg("--days", 365)?.max(2);
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join(format!("reconcile{}", std::env::consts::EXE_SUFFIX)))
        .context("cannot locate the target directory")?;
    if !bin.exists() {
        bail!(
            "build the release binary first: cargo build --release (looked for {})",
            bin.display()
        );
    }
    // `--keep DIR`: work in DIR (created) and leave the database there, to look at after.
    let args: Vec<String> = std::env::args().collect();
    let kept = args
        .iter()
        .position(|a| a == "--keep")
        .map(|i| args.get(i + 1).cloned().context("--keep needs a directory"))
        .transpose()?;
    let temp = tempfile::tempdir()?;
    let dir_path = match &kept {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            std::path::PathBuf::from(d)
        }
        None => temp.path().to_path_buf(),
    };
    let dir = &dir_path;
    let usage = dir.as_path().join("usage.csv");
    let billing = dir.as_path().join("billing.csv");
    let config = dir.as_path().join("config.toml");
    let db = dir.as_path().join("reconcile.db");
    let run = |args: &[&str]| -> Result<f64> {
        let started = Instant::now();
        let out = Command::new(&bin)
            .args(args)
            .env("RECONCILE_CONFIG", &config)
            .env("RECONCILE_DB", &db)
            .env("HOME", dir.as_path())
            .output()?;
        if !out.status.success() {
            bail!(
                "reconcile {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(started.elapsed().as_secs_f64())
    };

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut next_id = 0u64;
    let mut devices: Vec<Device> = (0..n)
        .map(|_| {
            next_id += 1;
            Device {
                id: next_id,
                customer: customer_of(&mut rng),
                plan: [0, 0, 0, 0, 0, 0, 1, 2, 3, 0][rng.below(10)],
                lag: rng.below(86_400) as i64,
            }
        })
        .collect();
    devices.sort_by_key(|d| d.id);
    // Billed: each customer's first-day count per plan, so most lines match and the changes
    // make findings.
    let mut billed = vec![[0usize; 4]; CUSTOMERS];
    for d in &devices {
        billed[d.customer][d.plan] += 1;
    }
    let mut lines = String::from("Customer,Product,Qty,Price\n");
    for (c, plans) in billed.iter().enumerate() {
        for (p, q) in plans.iter().enumerate() {
            if *q > 0 {
                writeln!(lines, "Client {c:04},{}-PSA,{q},{}", PLANS[p], 10 + p * 5)?;
            }
        }
    }
    std::fs::write(&billing, lines)?;
    let last_day: jiff::Timestamp = "2026-10-31T12:00:00Z".parse()?;
    let day_of = |d: usize| last_day - jiff::SignedDuration::from_hours(24 * (days - 1 - d) as i64);

    write_csv(&usage, &devices, day_of(0))?;
    let (u, b) = (usage.to_str().unwrap(), billing.to_str().unwrap());
    run(&["connect", "csv", "--name", "usage", "--path", u, "--quiet"])?;
    run(&[
        "connect",
        "csv-billing",
        "--name",
        "psa",
        "--path",
        b,
        "--quiet",
    ])?;
    let mut cfg = std::fs::read_to_string(&config)?;
    cfg.push_str("\n[health]\nmax_age_hours = 1000000\n\n[basis]\ndefault = \"peak\"\n");
    std::fs::write(&config, cfg)?;
    eprintln!("{n} devices over {CUSTOMERS} customers, {days} daily syncs ending {last_day}");

    let mut sizes = Vec::with_capacity(days);
    let mut sync_secs = Vec::with_capacity(days);
    for d in 0..days {
        if d > 0 {
            // 1 % of the devices change: a third go, a third come, a third change plan.
            let changes = n / 100;
            for _ in 0..changes / 3 {
                let i = rng.below(devices.len());
                devices.remove(i);
            }
            for _ in 0..changes / 3 {
                next_id += 1;
                devices.push(Device {
                    id: next_id,
                    customer: customer_of(&mut rng),
                    plan: rng.below(4),
                    lag: rng.below(86_400) as i64,
                });
            }
            for _ in 0..changes - 2 * (changes / 3) {
                let i = rng.below(devices.len());
                devices[i].plan = (devices[i].plan + 1) % 4;
            }
            // Every last contact moves: a new lag before the new day.
            for dev in &mut devices {
                dev.lag = rng.below(86_400) as i64;
            }
            write_csv(&usage, &devices, day_of(d))?;
        }
        // The first day syncs both connections, then only the devices.
        let secs = if d == 0 {
            run(&["sync", "--quiet"])?
        } else {
            run(&["sync", "--quiet", "usage"])?
        };
        sync_secs.push(secs);
        if d == 0 {
            run(&["map", "--quiet"])?;
            for p in PLANS {
                let key = p.to_lowercase();
                let to = format!("{p}-PSA");
                run(&["map", "service", "usage", &key, "--to", &to, "--quiet"])?;
            }
            run(&["map", "service", "usage", "all", "--not-billed", "--quiet"])?;
        }
        // The run happened on its day.
        let conn = rusqlite::Connection::open(&db)?;
        let t = day_of(d).to_string();
        conn.execute(
            "UPDATE sync_run SET started_at = ?1, finished_at = ?1 WHERE id IN (SELECT max(id) FROM sync_run GROUP BY connection) AND (?2 OR connection = 'usage')",
            rusqlite::params![t, d == 0],
        )?;
        drop(conn);
        sizes.push(db_bytes(&db)?);
        if d < 3 || (d + 1) % 30 == 0 || d + 1 == days {
            eprintln!(
                "day {:>3}: sync {:.2} s, database {:.1} MB ({:.1} MB in use)",
                d + 1,
                secs,
                mb(sizes[d].0),
                mb(sizes[d].1)
            );
        }
    }

    // Growth per sync, from the second day on (the first holds the devices once).
    let growth: Vec<i64> = sizes
        .windows(2)
        .map(|w| w[1].0 as i64 - w[0].0 as i64)
        .collect();
    let used_growth: Vec<i64> = sizes
        .windows(2)
        .map(|w| w[1].1 as i64 - w[0].1 as i64)
        .collect();
    let avg = |v: &[i64]| v.iter().sum::<i64>() as f64 / v.len() as f64 / 1e6;
    let steady = &growth[growth.len().min(5)..];
    let steady_used = &used_growth[used_growth.len().min(5)..];
    println!("## bench_history: {n} devices, {days} daily syncs, 1 % changed a day");
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| database after the first sync | {:.1} MB |",
        mb(sizes[0].0)
    );
    println!(
        "| growth per daily sync, mean over days 2-{days} (file / pages in use) | {:.2} MB / {:.2} MB |",
        avg(&growth),
        avg(&used_growth)
    );
    if !steady.is_empty() {
        println!(
            "| growth per daily sync, mean from day 7 (file / pages in use) | {:.2} MB / {:.2} MB |",
            avg(steady),
            avg(steady_used)
        );
        println!(
            "| largest growth of one sync from day 7 (file) | {:.2} MB |",
            *steady.iter().max().unwrap_or(&0) as f64 / 1e6
        );
    }
    println!(
        "| database after {days} syncs | {:.1} MB |",
        mb(sizes[days - 1].0)
    );
    let mean_sync = sync_secs[1..].iter().sum::<f64>() / (days - 1) as f64;
    println!(
        "| sync wall time, first / mean of the rest | {:.2} s / {mean_sync:.2} s |",
        sync_secs[0]
    );

    let out = dir.as_path().join("report.csv");
    let mut figures = Vec::new();
    for (what, args) in [
        (
            "reconcile reconcile (latest snapshot)",
            vec!["reconcile", "--quiet"],
        ),
        (
            "reconcile report --period 2026-10 (peak basis)",
            vec![
                "report",
                "--period",
                "2026-10",
                "--format",
                "csv",
                "--all",
                "--output",
                out.to_str().unwrap(),
                "--quiet",
            ],
        ),
    ] {
        let mut cmd = Command::new(&bin);
        cmd.args(&args)
            .env("RECONCILE_CONFIG", &config)
            .env("RECONCILE_DB", &db)
            .env("HOME", dir.as_path());
        let (secs, rss) = measure(cmd)?;
        println!("| {what}: wall / peak RSS | {secs:.2} s / {rss} MB |");
        figures.push(secs);
    }
    let report = std::fs::read_to_string(&out)?;
    let peak_rows = report.lines().filter(|l| l.contains(",peak,")).count();
    println!(
        "| report --period / reconcile | {:.1}x ({} rows, {peak_rows} on the peak basis) |",
        figures[1] / figures[0],
        report.lines().count().saturating_sub(1)
    );
    Ok(())
}
