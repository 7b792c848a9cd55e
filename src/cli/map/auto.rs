//! `reconcile map` without a verb: map exact, unique name matches, then list what is still
//! unmapped with suggestions.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::output::{CsvStyle, Format, new_table, write_csv_styled, write_json};
use crate::pipeline;
use crate::store::Store;

#[derive(Debug, Serialize)]
struct UnmappedRow {
    kind: &'static str,
    vendor_connection: String,
    vendor_key: String,
    vendor_name: String,
    usage: rust_decimal::Decimal,
    suggestions: String,
}

pub fn run(
    app: &App,
    config: &Config,
    store: &mut Store,
    psa: Option<&str>,
    format: Format,
    csv: CsvStyle,
) -> Result<Exit> {
    let state = pipeline::map::auto_map(config, store, psa)?;
    for m in &state.missing {
        app.warn(format!(
            "`{m}` has no synced data yet; run `reconcile sync {m}` to map it"
        ));
    }
    app.info(format!(
        "mapped {} account(s) automatically (exact, unique name matches{}); {} account(s) and {} service(s) still unmapped",
        state.added.len(),
        psa.map(|p| format!(" with `{p}`'s companies"))
            .unwrap_or_default(),
        state.unmapped_accounts.len(),
        state.unmapped_services.len()
    ));
    for (conns, n) in &state.ambiguous {
        app.warn(format!(
            "{n} account(s) not mapped: each is named exactly as a company in every one of {}, and only you know which PSA bills it. Choose the PSA with `reconcile map --psa <PSA>`, or map them one by one with `reconcile map account ... --psa <PSA>`",
            conns.join(", ")
        ));
    }
    let mut rows: Vec<UnmappedRow> = Vec::new();
    for u in &state.unmapped_accounts {
        rows.push(UnmappedRow {
            kind: "account",
            vendor_connection: u.vendor_connection.clone(),
            vendor_key: u.account.id.clone(),
            vendor_name: u.account.name.clone(),
            usage: rust_decimal::Decimal::from(u.items),
            suggestions: u
                .suggestions
                .iter()
                .map(|(conn, id, name, score)| {
                    format!("{name} ({conn} {id}, {:.0}%)", score * 100.0)
                })
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    for s in &state.unmapped_services {
        rows.push(UnmappedRow {
            kind: "service",
            vendor_connection: s.vendor_connection.clone(),
            vendor_key: s.service.key.clone(),
            vendor_name: s.service.name.clone(),
            usage: s.count,
            suggestions: s
                .suggestions
                .iter()
                .map(|(conn, id, name, score)| {
                    let name = if name.is_empty() {
                        String::new()
                    } else {
                        format!(" {name}")
                    };
                    format!("{id}{name} ({conn}, {:.0}%)", score * 100.0)
                })
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let mut out = std::io::stdout().lock();
    match format {
        Format::Csv => write_csv_styled(
            &mut out,
            &rows,
            &[
                "kind",
                "vendor_connection",
                "vendor_key",
                "vendor_name",
                "usage",
                "suggestions",
            ],
            csv,
        )?,
        Format::Json => write_json(&mut out, &rows)?,
        Format::Table if rows.is_empty() => {}
        Format::Table => {
            let mut t = new_table(&[
                "kind",
                "vendor",
                "id / key",
                "name",
                "usage",
                "suggestions (confirm with `map account` / `map service`)",
            ]);
            for r in &rows {
                t.add_row(vec![
                    r.kind.to_string(),
                    r.vendor_connection.clone(),
                    r.vendor_key.clone(),
                    r.vendor_name.clone(),
                    r.usage.to_string(),
                    r.suggestions.clone(),
                ]);
            }
            writeln!(out, "{t}")?;
        }
    }
    let mut by_connection: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for s in &state.unmapped_services {
        by_connection
            .entry(s.vendor_connection.as_str())
            .or_default()
            .push(s.service.key.as_str());
    }
    for (connection, keys) in by_connection {
        let Ok(c) = config.connection(connection) else {
            continue;
        };
        if let Some(hint) = super::peak_hint(config, c.kind(), connection, &keys) {
            app.info(hint);
        }
    }
    if !rows.is_empty() {
        app.info(
            "next: `reconcile map account <vendor> <account> --to <company>` (or --not-billed), `reconcile map service <vendor> <service> --to <product identifier>` (or --not-billed); `reconcile map products` lists the PSA's products",
        );
    }
    Ok(Exit::Ok)
}
