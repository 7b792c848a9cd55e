//! `reconcile map import`: read mappings from a CSV in the `map export` format, all rows or
//! none.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::connectors::Role;
use crate::model::{AccountMapping, CompanyTarget, MapSource, ProductTarget, ServiceMapping};
use crate::store::Store;

use super::list::MappingRow;

/// Read mappings from a CSV in the `map export` format: all rows or none.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV file (`-` for stdin)
    file: PathBuf,
}

impl Args {
    pub fn run(self, app: &App, config: &Config, store: &mut Store) -> Result<Exit> {
        let (accounts, services) = import(config, &self.file)?;
        store.set_mappings(&accounts, &services)?;
        app.info(format!(
            "imported {} account and {} service mapping(s) from {}",
            accounts.len(),
            services.len(),
            self.file.display()
        ));
        Ok(Exit::Ok)
    }
}

/// Parses and checks every row before anything is written.
fn import(config: &Config, file: &PathBuf) -> Result<(Vec<AccountMapping>, Vec<ServiceMapping>)> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read the mappings from stdin")?;
        s
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut accounts = Vec::new();
    let mut services = Vec::new();
    for (i, row) in reader.deserialize::<MappingRow>().enumerate() {
        let line = i + 2;
        let r = row.map_err(|e| {
            anyhow!(
                "{} line {line}: {e}; expected the columns of `reconcile map export`",
                file.display()
            )
        })?;
        let at = |msg: String| {
            anyhow!(
                "{} line {line}: {msg}; nothing was imported",
                file.display()
            )
        };
        let kind = config
            .connections
            .get(&r.vendor_connection)
            .map(|s| s.kind())
            .ok_or_else(|| {
                at(format!(
                    "vendor connection `{}` is not configured",
                    r.vendor_connection
                ))
            })?;
        if kind.role() != Role::Vendor {
            return Err(at(format!(
                "`{}` is not a vendor connection",
                r.vendor_connection
            )));
        }
        if r.vendor_key.trim().is_empty() {
            return Err(at("vendor_key is empty".into()));
        }
        let billed = !r.psa_key.trim().is_empty();
        if billed {
            match config
                .connections
                .get(&r.psa_connection)
                .map(|s| s.kind().role())
            {
                Some(Role::Psa) => {}
                _ => {
                    return Err(at(format!(
                        "psa_connection `{}` is not a configured PSA connection",
                        r.psa_connection
                    )));
                }
            }
        }
        match r.kind.as_str() {
            "account" => accounts.push(AccountMapping {
                vendor_connection: r.vendor_connection,
                account_id: r.vendor_key,
                account_name: r.vendor_name,
                target: billed.then_some(CompanyTarget {
                    connection: r.psa_connection,
                    company_id: r.psa_key,
                    company_name: r.psa_name,
                }),
                source: MapSource::Import,
            }),
            "service" => {
                if config
                    .service_named(&r.vendor_connection, kind, &r.vendor_key)
                    .is_none()
                {
                    return Err(at(format!(
                        "{} has no service `{}`",
                        kind.display_name(),
                        r.vendor_key
                    )));
                }
                services.push(ServiceMapping {
                    vendor_connection: r.vendor_connection,
                    service_key: r.vendor_key,
                    target: billed.then_some(ProductTarget {
                        connection: r.psa_connection,
                        product_identifier: r.psa_key,
                    }),
                    source: MapSource::Import,
                })
            }
            other => return Err(at(format!("kind is `{other}`; use `account` or `service`"))),
        }
    }
    Ok((accounts, services))
}
