//! Helpers the CLI tests share: a runtime that keeps sandbox APIs serving while the binary runs,
//! the rows of `report --format csv`, and the demo's planted findings checked against them.

use std::future::Future;

use reconcile::demo::sample::{ExpectedLine, Planted, SampleMsp};
use reconcile::engine::FindingKind;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use crate::harness::Env;

/// A file of `fixtures/`, read relative to this crate.
pub fn fixture(rel: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn dec(s: &str) -> Decimal {
    s.parse()
        .unwrap_or_else(|_| panic!("`{s}` is not a decimal"))
}

/// Two worker threads: sandboxes keep answering while the test waits on a process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A sandbox API served by its own runtime for as long as this lives.
pub struct Running<S> {
    pub server: S,
    _rt: tokio::runtime::Runtime,
}

/// Starts a sandbox (`reconcile::demo::<kind>::start(sample)`) on a runtime of its own.
pub fn running<S>(start: impl Future<Output = anyhow::Result<S>>) -> Running<S> {
    let rt = runtime();
    let server = rt.block_on(start).unwrap();
    Running { server, _rt: rt }
}

/// One row of `report --format csv`: the columns the tests read.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Finding {
    pub finding_id: String,
    #[serde(rename = "type")]
    pub kind: FindingKind,
    pub company: String,
    pub company_id: String,
    pub product: String,
    pub billed_qty: String,
    pub actual_qty: String,
    pub unit_price: String,
    pub monthly_impact: String,
    pub vendor_connection: String,
    pub vendor_accounts: String,
    pub psa_connection: String,
    pub note: String,
    pub decision: String,
    pub decided_by: String,
    pub decided_at: String,
    pub decision_note: String,
    pub pending_qty: String,
    pub inactive_qty: String,
    pub excluded_qty: String,
    pub exclusions: String,
    pub revenue_monthly: String,
    pub cost_monthly: String,
    pub margin_monthly: String,
    pub vendor_unit_cost: String,
    pub psa_unit_cost: String,
    pub cost_source: String,
    pub low_margin: String,
}

/// The records of a CSV text, with the text in the message if one does not parse.
pub fn csv_rows<T: DeserializeOwned>(text: &str) -> Vec<T> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

/// `reconcile report --format csv [extra]`: its findings and its text.
pub fn report(env: &Env, extra: &[&str]) -> (Vec<Finding>, String) {
    let mut args = vec!["report", "--format", "csv"];
    args.extend_from_slice(extra);
    let text = env.run(&args, "").expect(0).stdout();
    (csv_rows(&text), text)
}

/// The line finding for `company` and `product` (not the `cost_mismatch` beside it); the
/// report's text in the message if there is none.
pub fn finding<'a>(rows: &'a [Finding], company: &str, product: &str, text: &str) -> &'a Finding {
    rows.iter()
        .find(|r| {
            r.company == company && r.product == product && r.kind != FindingKind::CostMismatch
        })
        .unwrap_or_else(|| panic!("no {product} finding for {company}:\n{text}"))
}

/// `reconcile reconcile`, then the finding for `company` / `product`: read from
/// `vendor_connection`, with `actual` units.
pub fn reconciled(
    env: &Env,
    company: &str,
    product: &str,
    vendor_connection: &str,
    actual: &str,
) -> Finding {
    env.run(&["reconcile"], "").expect(0);
    let (rows, text) = report(env, &[]);
    let row = finding(&rows, company, product, &text).clone();
    assert_eq!(row.actual_qty, actual, "{row:?}\n{text}");
    assert_eq!(row.vendor_connection, vendor_connection, "{row:?}");
    row
}

/// A ConnectWise company of the demo billed for `product`.
pub fn billed_for(sample: &SampleMsp, product: &str) -> String {
    sample
        .planted
        .expected
        .iter()
        .find(|e| e.product == product)
        .map(|e| e.company.clone())
        .unwrap_or_else(|| panic!("the sample bills {product} somewhere"))
}

/// The finding of a planted line: its type, `billed` and the actual quantity planted.
pub fn assert_expected<'a>(
    rows: &'a [Finding],
    text: &str,
    e: &ExpectedLine,
    billed: Decimal,
) -> &'a Finding {
    let row = finding(rows, &e.company, &e.product, text);
    let what = format!("{} / {}: {row:?}", e.company, e.product);
    assert_eq!(row.kind, e.kind, "{what}");
    assert_eq!(dec(&row.billed_qty), billed, "billed {what}");
    assert_eq!(dec(&row.actual_qty), e.actual, "actual {what}");
    row
}

/// Every finding the demo planted, read back through `psa_connection`: its type, billed and
/// actual quantity; the under-billed clients cost money each
/// month, the over-billed ones give it back.
pub fn assert_planted(rows: &[Finding], text: &str, planted: &Planted, psa_connection: &str) {
    assert!(planted.expected.len() >= 20, "{:?}", planted.expected);
    for e in &planted.expected {
        let row = assert_expected(rows, text, e, e.billed);
        assert_eq!(row.psa_connection, psa_connection, "{row:?}");
    }
    for (names, kind) in [
        (&planted.under_billed, FindingKind::UnderBilled),
        (&planted.over_billed, FindingKind::OverBilled),
    ] {
        assert!(!names.is_empty());
        for name in names {
            let r = rows
                .iter()
                .find(|r| &r.company == name && r.kind == kind)
                .unwrap_or_else(|| panic!("{name} is not {kind:?}:\n{text}"));
            let impact = dec(&r.monthly_impact);
            match kind {
                FindingKind::UnderBilled => assert!(impact > Decimal::ZERO, "{r:?}"),
                _ => assert!(impact < Decimal::ZERO, "{r:?}"),
            }
        }
    }
}

/// A vendor CSV export (`usage`, `Customer,Plan,Seats`) and a billing CSV export (`psa`,
/// `Customer,Product,Qty,Price`) with these bodies: connected, synced, accounts mapped by exact
/// name, service `bk` mapped to `BK-PSA` and `all` not billed.
pub fn csv_pair_env(usage: &str, billing: &str) -> Env {
    let env = Env::new();
    let usage_path = env.dir.path().join("usage.csv");
    std::fs::write(&usage_path, usage).unwrap();
    let billing_path = env.dir.path().join("billing.csv");
    std::fs::write(&billing_path, billing).unwrap();
    for args in [
        vec![
            "connect",
            "csv",
            "--name",
            "usage",
            "--path",
            usage_path.to_str().unwrap(),
        ],
        vec![
            "connect",
            "csv-billing",
            "--name",
            "psa",
            "--path",
            billing_path.to_str().unwrap(),
        ],
        vec!["sync"],
        vec!["map"],
        vec!["map", "service", "usage", "bk", "--to", "BK-PSA"],
        vec!["map", "service", "usage", "all", "--not-billed"],
    ] {
        env.run(&args, "").expect(0);
    }
    env
}
