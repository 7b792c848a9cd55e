//! `reconcile map list`: every mapping as a table, CSV or JSON; and the row shape `map export`
//! writes and `map import` reads.

use std::io::Write;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::cli::Exit;
use crate::config::Config;
use crate::output::{Format, new_table, write_json};
use crate::pipeline::snapshots::Current;
use crate::store::Store;

/// List every mapping.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    csv: crate::output::CsvStyle,
}

/// One row of `map export` / `map import` and `map list`.
#[derive(Debug, Serialize, Deserialize)]
pub struct MappingRow {
    pub kind: String,
    pub vendor_connection: String,
    pub vendor_key: String,
    pub vendor_name: String,
    pub psa_connection: String,
    pub psa_key: String,
    pub psa_name: String,
    pub source: String,
}

impl Args {
    pub fn run(self, config: &Config, store: &Store) -> Result<Exit> {
        let rows = rows(config, store)?;
        let mut out = std::io::stdout().lock();
        match self.format {
            Format::Csv => crate::output::write_csv_styled(&mut out, &rows, &[], self.csv)?,
            Format::Json => write_json(&mut out, &rows)?,
            Format::Table => {
                let mut t = new_table(&[
                    "kind",
                    "vendor",
                    "account / service",
                    "psa",
                    "company / product",
                    "source",
                ]);
                for r in &rows {
                    let psa_side = if r.psa_key.is_empty() {
                        "(not billed)".to_string()
                    } else if r.psa_name.is_empty() || r.psa_name == r.psa_key {
                        r.psa_key.clone()
                    } else {
                        format!("{} ({})", r.psa_name, r.psa_key)
                    };
                    t.add_row(vec![
                        r.kind.clone(),
                        r.vendor_connection.clone(),
                        format!("{} ({})", r.vendor_name, r.vendor_key),
                        r.psa_connection.clone(),
                        psa_side,
                        r.source.clone(),
                    ]);
                }
                writeln!(out, "{t}")?;
            }
        }
        Ok(Exit::Ok)
    }
}

/// Every mapping, accounts first, as rows.
pub(super) fn rows(config: &Config, store: &Store) -> Result<Vec<MappingRow>> {
    let mut rows = Vec::new();
    for m in store.account_mappings()? {
        let (pc, pk, pn) = match m.target {
            Some(t) => (t.connection, t.company_id, t.company_name),
            None => Default::default(),
        };
        rows.push(MappingRow {
            kind: "account".into(),
            vendor_connection: m.vendor_connection,
            vendor_key: m.account_id,
            vendor_name: m.account_name,
            psa_connection: pc,
            psa_key: pk,
            psa_name: pn,
            source: m.source.as_str().into(),
        });
    }
    // Family services (one per SKU) get their readable names from the current snapshot.
    let current = Current::load(config, store).ok();
    let seen = |connection: &str, key: &str| -> Option<String> {
        let (_, kind, _, snap) = current
            .as_ref()?
            .vendors
            .iter()
            .find(|(n, ..)| n == connection)?;
        config
            .services_seen(connection, *kind, [snap])
            .into_iter()
            .find(|d| d.key == key)
            .map(|d| d.name)
    };
    for m in store.service_mappings()? {
        let name = seen(&m.vendor_connection, &m.service_key)
            .or_else(|| {
                config
                    .connections
                    .get(&m.vendor_connection)
                    .and_then(|s| {
                        config.service_named(&m.vendor_connection, s.kind(), &m.service_key)
                    })
                    .map(|d| d.name)
            })
            .unwrap_or_default();
        let (pc, pk) = match m.target {
            Some(t) => (t.connection, t.product_identifier),
            None => Default::default(),
        };
        rows.push(MappingRow {
            kind: "service".into(),
            vendor_connection: m.vendor_connection,
            vendor_key: m.service_key,
            vendor_name: name,
            psa_connection: pc,
            psa_key: pk.clone(),
            psa_name: String::new(),
            source: m.source.as_str().into(),
        });
    }
    Ok(rows)
}
