//! Times `reconcile reconcile` and `reconcile report --format csv` on a large database, the way a
//! user runs them (the release binary, as separate processes), and prints wall time and peak RSS.
//!
//! ```sh
//! cargo build --release && cargo run --release --example bench_engine            # 1,000,000 / 50,000
//! cargo run --release --example bench_engine -- --records 200000 --lines 10000   # smaller
//! ```
//!
//! The database is written straight through the store (no HTTP): one NinjaOne connection with
//! `--records` devices over 2,000 organizations, one ConnectWise connection with `--lines`
//! agreement additions over 2,000 companies, every organization and service mapped.
#![allow(
    unsafe_code,
    reason = "getrusage and wait4 fill a plain C struct the kernel writes: the peak RSS figure"
)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark prints its report"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use reconcile::model::{
    AccountMapping, BillCustomer, CompanyTarget, MapSource, ProductTarget, PsaAgreement,
    PsaCompany, PsaLine, PsaProduct, PsaSnapshot, ServiceMapping, Snapshot, UsageItem,
    VendorAccount, VendorSnapshot,
};
use reconcile::store::Store;

#[path = "common/child.rs"]
mod child;
use child::measure;
use rust_decimal::Decimal;

const ORGS: usize = 2_000;
const CLASSES: &[(&str, &str)] = &[
    ("WINDOWS_WORKSTATION", "NINJA-WS"),
    ("MAC", "NINJA-WS"),
    ("WINDOWS_SERVER", "NINJA-SRV"),
    ("NMS_SWITCH", "NINJA-NET"),
    ("ANDROID", "NINJA-MDM"),
];
const SERVICES: &[(&str, &str)] = &[
    ("total-workstations", "NINJA-WS"),
    ("total-servers", "NINJA-SRV"),
    ("total-network-devices", "NINJA-NET"),
    ("total-mobile-devices", "NINJA-MDM"),
];

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

fn main() -> Result<()> {
    let records = arg("--records", 1_000_000)?;
    let lines = arg("--lines", 50_000)?;
    // The example runs from `<target dir>/release/examples/`, the binary is one level up: this
    // finds it whatever CARGO_TARGET_DIR says.
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
    // The database is written by a child process: a parent that held a million items would
    // pass its high-water mark on to every process it spawns (posix_spawn shares its memory
    // until exec, and Linux carries that peak into the child's ru_maxrss).
    if let Some(i) = std::env::args().position(|a| a == "--write-db") {
        let path = std::env::args()
            .nth(i + 1)
            .context("--write-db needs a path")?;
        return write_db(Path::new(&path), records, lines);
    }
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    let db = dir.path().join("reconcile.db");
    std::fs::write(
        &config,
        "[connections.ninja]\nkind = \"ninjaone\"\nregion = \"us\"\nclient_id = \"x\"\n\n\
         [connections.cw]\nkind = \"connectwise\"\nsite = \"na.myconnectwise.net\"\n\
         company_id = \"x\"\npublic_key = \"x\"\nclient_id = \"x\"\n",
    )?;

    let started = Instant::now();
    let status = Command::new(std::env::current_exe()?)
        .args(["--write-db", db.to_str().expect("a UTF-8 temp path")])
        .args([
            "--records",
            &records.to_string(),
            "--lines",
            &lines.to_string(),
        ])
        .status()?;
    if !status.success() {
        bail!("writing the database failed: {status}");
    }
    eprintln!(
        "database of {records} usage records and {lines} billing lines written in {:.1}s ({} MB)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&db)?.len() / 1_000_000
    );

    let out = dir.path().join("report.csv");
    let report = vec![
        "report",
        "--format",
        "csv",
        "--all",
        "--output",
        out.to_str().expect("a UTF-8 temp path"),
    ];
    for (what, args, forget_inputs) in [
        ("reconcile reconcile", vec!["reconcile", "--quiet"], false),
        ("reconcile report --format csv", report.clone(), false),
        // What a report after a sync or a mapping change costs: the stored findings cannot be
        // reused, so it recomputes them.
        ("reconcile report --format csv (recomputing)", report, true),
    ] {
        if forget_inputs {
            let conn = rusqlite::Connection::open(&db)?;
            conn.execute("UPDATE reconcile_run SET inputs = NULL", [])?;
        }
        let mut cmd = Command::new(&bin);
        cmd.args(&args)
            .env("RECONCILE_CONFIG", &config)
            .env("RECONCILE_DB", &db);
        let (secs, rss_mb) = measure(cmd)?;
        println!("{what}: {secs:.2} s wall, peak RSS {rss_mb} MB");
    }
    println!(
        "report: {} rows",
        std::fs::read_to_string(&out)?
            .lines()
            .count()
            .saturating_sub(1)
    );
    Ok(())
}

/// Writes the benchmark database at `db` through the store.
fn write_db(db: &Path, records: usize, lines: usize) -> Result<()> {
    let mut store = Store::open(db)?;
    let accounts: Vec<VendorAccount> = (0..ORGS)
        .map(|i| VendorAccount {
            id: (1000 + i).to_string(),
            name: format!("Client {i:04}"),
            raw: None,
        })
        .collect();
    let items: Vec<UsageItem> = (0..records)
        .map(|i| {
            let (class, _) = CLASSES[i % CLASSES.len()];
            UsageItem {
                id: (100_000 + i).to_string(),
                account_id: (1000 + (i / CLASSES.len()) % ORGS).to_string(),
                name: format!("DEV-{i:07}"),
                class: class.into(),
                raw_class: class.into(),
                online: Some(i % 17 != 0),
                last_contact: Some(jiff::Timestamp::now()),
                pending_approval: i % 101 == 0,
                attrs: BTreeMap::from([("os".to_string(), "windows".to_string())]),
                raw: None,
            }
        })
        .collect();
    let run = store.begin_run("ninja", "ninjaone")?;
    store.finish_run_ok(
        run,
        "ninja",
        &Snapshot::Vendor(VendorSnapshot {
            accounts: accounts.clone(),
            items,
            ..VendorSnapshot::default()
        }),
    )?;
    let companies: Vec<PsaCompany> = (0..ORGS)
        .map(|i| PsaCompany {
            id: (5000 + i).to_string(),
            identifier: format!("C{i:04}"),
            name: format!("Client {i:04}"),
            status: "Active".into(),
            types: vec!["Client".into()],
            billable: true,
            not_billable_reason: None,
            raw: None,
        })
        .collect();
    let agreements: Vec<PsaAgreement> = (0..ORGS)
        .map(|i| PsaAgreement {
            id: (9000 + i).to_string(),
            company_id: (5000 + i).to_string(),
            name: format!("Client {i:04} - Managed Services"),
            agreement_type: Some("Managed Services".into()),
            status: "Active".into(),
            start: Some("2024-01-01T00:00:00Z".parse().expect("a date")),
            end: None,
            cancelled: false,
            billing_cycle: Some("Monthly".into()),
            raw: None,
        })
        .collect();
    let products: Vec<PsaProduct> = SERVICES
        .iter()
        .enumerate()
        .map(|(i, (_, p))| PsaProduct {
            id: (300 + i).to_string(),
            identifier: p.to_string(),
            description: None,
            price: Some(Decimal::new(4500, 2)),
            cost: None,
            inactive: false,
            raw: None,
        })
        .collect();
    let per_company = records / ORGS / CLASSES.len();
    let psa_lines: Vec<PsaLine> = (0..lines)
        .map(|i| {
            let company = i % ORGS;
            let (_, product) = SERVICES[(i / ORGS) % SERVICES.len()];
            PsaLine {
                id: (700_000 + i).to_string(),
                agreement_id: (9000 + company).to_string(),
                company_id: (5000 + company).to_string(),
                product_id: None,
                product_identifier: product.into(),
                description: None,
                // Off by one now and then, so there are findings of every kind.
                quantity: Decimal::from(per_company + usize::from(i % 7 == 0)),
                less_included: Decimal::ZERO,
                unit_price: Decimal::new(4500, 2),
                unit_cost: Decimal::new(1250, 2),
                effective: Some("2024-01-01T00:00:00Z".parse().expect("a date")),
                cancelled: None,
                bill_customer: BillCustomer::Billable,
                invoiced: None,
                raw: None,
            }
        })
        .collect();
    let run = store.begin_run("cw", "connectwise")?;
    store.finish_run_ok(
        run,
        "cw",
        &Snapshot::Psa(PsaSnapshot {
            companies: companies.clone(),
            agreements,
            lines: psa_lines,
            products,
            ..PsaSnapshot::default()
        }),
    )?;
    let account_maps: Vec<AccountMapping> = accounts
        .iter()
        .zip(&companies)
        .map(|(a, c)| AccountMapping {
            vendor_connection: "ninja".into(),
            account_id: a.id.clone(),
            account_name: a.name.clone(),
            target: Some(CompanyTarget {
                connection: "cw".into(),
                company_id: c.id.clone(),
                company_name: c.name.clone(),
            }),
            source: MapSource::Manual,
        })
        .collect();
    let service_maps: Vec<ServiceMapping> = SERVICES
        .iter()
        .map(|(s, p)| ServiceMapping {
            vendor_connection: "ninja".into(),
            service_key: s.to_string(),
            target: Some(ProductTarget {
                connection: "cw".into(),
                product_identifier: p.to_string(),
            }),
            source: MapSource::Manual,
        })
        .collect();
    store.set_mappings(&account_maps, &service_maps)?;
    drop(store);
    Ok(())
}
