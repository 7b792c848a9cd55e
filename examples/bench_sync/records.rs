//! What `reconcile status --format json` says each connection stored, against the record counts
//! the generated MSP must give.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context, Result, bail};
use reconcile::demo::scale::Expected;

/// Record counts per connection from `reconcile status --format json`.
pub fn status_counts(mut cmd: Command) -> Result<BTreeMap<String, BTreeMap<String, usize>>> {
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
                    // `1000 accounts` (cli::sync::describe_counts).
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
pub fn check_counts(
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
