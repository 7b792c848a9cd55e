//! `reconcile map`: automatic account mapping, the manual mapping commands, and CSV export and
//! import. Mappings are user data: they survive syncs, upgrades and `reconcile` runs.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::connectors::{ConnectorKind, Role};
use crate::mapping::{self, normalize};
use crate::model::{AccountMapping, CompanyTarget, MapSource, ProductTarget, ServiceMapping};
use crate::output::{Format, new_table, write_atomically, write_csv, write_json};
use crate::pipeline;
use crate::pipeline::snapshots::Current;
use crate::store::Store;

/// Map vendor accounts to PSA companies and vendor services to PSA products.
///
/// Without a subcommand: maps every unmapped account whose name equals exactly one billable
/// company's name (after folding case and whitespace), then lists what is still unmapped, with
/// near-match suggestions and their similarity scores. Suggestions are never applied on their
/// own: confirm one with `reconcile map account`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Output format of the unmapped list
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Map a vendor account (by id or exact name) to a PSA company, or mark it not billed.
    Account {
        /// Vendor connection (e.g. ninjaone)
        vendor: String,
        /// Account id or name (a NinjaOne organization, SentinelOne site, Microsoft 365 tenant, ...)
        account: String,
        /// PSA company: id, identifier or exact name
        #[arg(
            long,
            required_unless_present = "not_billed",
            conflicts_with = "not_billed"
        )]
        to: Option<String>,
        /// The account is deliberately not billed (internal, free, a prospect)
        #[arg(long)]
        not_billed: bool,
        /// PSA connection [default: the only one configured]
        #[arg(long)]
        psa: Option<String>,
    },
    /// Map a vendor service (e.g. total-workstations) to a PSA product identifier, or mark it not
    /// billed.
    Service {
        /// Vendor connection (e.g. ninjaone)
        vendor: String,
        /// Service key; `reconcile map` lists them
        service: String,
        /// PSA product identifier (the ConnectWise catalog identifier, or what the PSA names it)
        #[arg(
            long,
            required_unless_present = "not_billed",
            conflicts_with = "not_billed"
        )]
        to: Option<String>,
        /// Usage of this service is deliberately not billed
        #[arg(long)]
        not_billed: bool,
        /// PSA connection [default: the only one configured]
        #[arg(long)]
        psa: Option<String>,
    },
    /// List every mapping.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove one mapping.
    Remove {
        #[arg(value_enum)]
        what: What,
        /// Vendor connection
        vendor: String,
        /// Account id or service key
        key: String,
    },
    /// Write every mapping as CSV (columns: kind, vendor_connection, vendor_key, vendor_name,
    /// psa_connection, psa_key, psa_name, source); empty psa columns mean "not billed".
    Export {
        /// Write to FILE instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Read mappings from a CSV in the `map export` format: all rows or none.
    Import {
        /// CSV file (`-` for stdin)
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum What {
    Account,
    Service,
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

#[derive(Debug, Serialize)]
struct UnmappedRow {
    kind: &'static str,
    vendor_connection: String,
    vendor_key: String,
    vendor_name: String,
    usage: rust_decimal::Decimal,
    suggestions: String,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let mut store = app.store()?;
        match self.action {
            None => auto(app, &config, &mut store, self.format),
            Some(Action::Account {
                vendor,
                account,
                to,
                not_billed: _,
                psa,
            }) => {
                let m = resolve_account(
                    &config,
                    &store,
                    &vendor,
                    &account,
                    to.as_deref(),
                    psa.as_deref(),
                )?;
                store.set_account_mapping(&m)?;
                match &m.target {
                    Some(t) => app.info(format!(
                        "mapped {} account `{}` ({}) to {} company `{}` ({})",
                        m.vendor_connection,
                        m.account_name,
                        m.account_id,
                        t.connection,
                        t.company_name,
                        t.company_id
                    )),
                    None => app.info(format!(
                        "marked {} account `{}` ({}) as not billed",
                        m.vendor_connection, m.account_name, m.account_id
                    )),
                }
                Ok(Exit::Ok)
            }
            Some(Action::Service {
                vendor,
                service,
                to,
                not_billed: _,
                psa,
            }) => {
                let m = resolve_service(
                    app,
                    &config,
                    &store,
                    &vendor,
                    &service,
                    to.as_deref(),
                    psa.as_deref(),
                )?;
                store.set_service_mapping(&m)?;
                match &m.target {
                    Some(t) => app.info(format!(
                        "mapped {} service `{}` to {} product `{}`",
                        m.vendor_connection, m.service_key, t.connection, t.product_identifier
                    )),
                    None => app.info(format!(
                        "marked {} service `{}` as not billed",
                        m.vendor_connection, m.service_key
                    )),
                }
                Ok(Exit::Ok)
            }
            Some(Action::List { format }) => {
                let rows = rows(&config, &store)?;
                let mut out = std::io::stdout().lock();
                match format {
                    Format::Csv => write_csv(&mut out, &rows)?,
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
            Some(Action::Remove { what, vendor, key }) => {
                let removed = match what {
                    What::Account => {
                        // Accept the name too, as `map account` does.
                        let id =
                            account_id_for(&config, &store, &vendor, &key).unwrap_or(key.clone());
                        store.remove_account_mapping(&vendor, &id)?
                    }
                    What::Service => store.remove_service_mapping(&vendor, &key)?,
                };
                if !removed {
                    bail!(
                        "no {} mapping for `{key}` of `{vendor}`; `reconcile map list` shows them",
                        match what {
                            What::Account => "account",
                            What::Service => "service",
                        }
                    );
                }
                app.info(format!("removed the mapping of `{key}` ({vendor})"));
                Ok(Exit::Ok)
            }
            Some(Action::Export { output }) => {
                let rows = rows(&config, &store)?;
                match output {
                    None => {
                        let mut out = std::io::stdout().lock();
                        write_export(&mut out, &rows)?;
                    }
                    Some(p) => {
                        write_atomically(&p, |out| write_export(out, &rows))?;
                        app.info(format!(
                            "wrote {} mapping(s) to {}",
                            rows.len(),
                            p.display()
                        ));
                    }
                }
                Ok(Exit::Ok)
            }
            Some(Action::Import { file }) => {
                let (accounts, services) = import(&config, &file)?;
                store.set_mappings(&accounts, &services)?;
                app.info(format!(
                    "imported {} account and {} service mapping(s) from {}",
                    accounts.len(),
                    services.len(),
                    file.display()
                ));
                Ok(Exit::Ok)
            }
        }
    }
}

fn auto(app: &App, config: &Config, store: &mut Store, format: Format) -> Result<Exit> {
    let state = pipeline::map::auto_map(config, store)?;
    for m in &state.missing {
        app.warn(format!(
            "`{m}` has no synced data yet; run `reconcile sync {m}` to map it"
        ));
    }
    app.info(format!(
        "mapped {} account(s) automatically (exact, unique name matches); {} account(s) and {} service(s) still unmapped",
        state.added.len(),
        state.unmapped_accounts.len(),
        state.unmapped_services.len()
    ));
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
            suggestions: String::new(),
        });
    }
    let mut out = std::io::stdout().lock();
    match format {
        Format::Csv => write_csv(&mut out, &rows)?,
        Format::Json => write_json(&mut out, &rows)?,
        Format::Table if rows.is_empty() => {}
        Format::Table => {
            let mut t = new_table(&[
                "kind",
                "vendor",
                "id / key",
                "name",
                "usage",
                "suggestions (confirm with `map account`)",
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
    if !rows.is_empty() {
        app.info(
            "next: `reconcile map account <vendor> <account> --to <company>` (or --not-billed), `reconcile map service <vendor> <service> --to <product identifier>` (or --not-billed)",
        );
    }
    Ok(Exit::Ok)
}

fn vendor_connection(config: &Config, vendor: &str) -> Result<ConnectorKind> {
    let kind = config.connection(vendor)?.kind();
    if kind.role() != Role::Vendor {
        bail!(
            "`{vendor}` is a PSA connection ({}); name the vendor connection (e.g. ninjaone) first",
            kind.display_name()
        );
    }
    Ok(kind)
}

fn psa_connection(config: &Config, psa: Option<&str>) -> Result<String> {
    match psa {
        Some(p) => {
            let kind = config.connection(p)?.kind();
            if kind.role() != Role::Psa {
                bail!(
                    "`{p}` is not a PSA connection; --psa takes a PSA connection name (such as a ConnectWise connection)"
                );
            }
            Ok(p.to_string())
        }
        None => {
            let psas: Vec<&String> = config
                .connections
                .iter()
                .filter(|(_, s)| s.kind().role() == Role::Psa)
                .map(|(n, _)| n)
                .collect();
            match psas.as_slice() {
                [one] => Ok((*one).clone()),
                [] => bail!(
                    "no PSA connection is configured; add one with `reconcile connect connectwise ...`"
                ),
                many => bail!(
                    "several PSA connections are configured ({}); choose one with --psa",
                    many.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    }
}

fn account_id_for(config: &Config, store: &Store, vendor: &str, key: &str) -> Option<String> {
    let cur = Current::load(config, store).ok()?;
    let (_, _, _, snap) = cur.vendors.iter().find(|(n, ..)| n == vendor)?;
    let norm = normalize(key);
    let by_name: Vec<_> = snap
        .accounts
        .iter()
        .filter(|a| normalize(&a.name) == norm)
        .collect();
    match by_name.as_slice() {
        [one] if !snap.accounts.iter().any(|a| a.id == key) => Some(one.id.clone()),
        _ => None,
    }
}

fn resolve_account(
    config: &Config,
    store: &Store,
    vendor: &str,
    account: &str,
    to: Option<&str>,
    psa: Option<&str>,
) -> Result<AccountMapping> {
    vendor_connection(config, vendor)?;
    let cur = Current::load(config, store)?;
    let (_, _, _, snap) = cur
        .vendors
        .iter()
        .find(|(n, ..)| n == vendor)
        .ok_or_else(|| {
            anyhow!("`{vendor}` has no synced data; run `reconcile sync {vendor}` first")
        })?;
    let norm = normalize(account);
    let acc = match snap.accounts.iter().find(|a| a.id == account) {
        Some(a) => a,
        None => {
            let by_name: Vec<_> = snap
                .accounts
                .iter()
                .filter(|a| normalize(&a.name) == norm)
                .collect();
            match by_name.as_slice() {
                [one] => *one,
                [] => bail!(
                    "`{vendor}` has no account with id or name `{account}`; `reconcile map` lists the unmapped ones"
                ),
                many => bail!(
                    "several `{vendor}` accounts are named `{account}` (ids {}); give the id instead",
                    many.iter()
                        .map(|a| a.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };
    let target = match to {
        None => None,
        Some(to) => {
            let psa = psa_connection(config, psa)?;
            let (_, _, psnap) = cur.psas.iter().find(|(n, ..)| *n == psa).ok_or_else(|| {
                anyhow!("`{psa}` has no synced data; run `reconcile sync {psa}` first")
            })?;
            let tnorm = normalize(to);
            let company = psnap.companies.iter().find(|c| c.id == to).or_else(|| {
                let hits: Vec<_> = psnap
                    .companies
                    .iter()
                    .filter(|c| {
                        c.identifier.eq_ignore_ascii_case(to) || normalize(&c.name) == tnorm
                    })
                    .collect();
                (hits.len() == 1).then(|| hits[0])
            });
            let Some(company) = company else {
                let psas = cur.psa_companies();
                let near = mapping::suggest(to, &psas, 3)
                    .into_iter()
                    .map(|s| format!("{} (id {})", s.company.name, s.company.id))
                    .collect::<Vec<_>>();
                bail!(
                    "`{psa}` has no single company with id, identifier or name `{to}`{}",
                    if near.is_empty() {
                        String::new()
                    } else {
                        format!("; did you mean {}?", near.join(", "))
                    }
                );
            };
            if !company.billable {
                eprintln!(
                    "warning: `{}` is not counted as a billable client ({}); mapped anyway",
                    company.name,
                    company
                        .not_billable_reason
                        .as_deref()
                        .unwrap_or("company rules")
                );
            }
            Some(CompanyTarget {
                connection: psa,
                company_id: company.id.clone(),
                company_name: company.name.clone(),
            })
        }
    };
    Ok(AccountMapping {
        vendor_connection: vendor.to_string(),
        account_id: acc.id.clone(),
        account_name: acc.name.clone(),
        target,
        source: MapSource::Manual,
    })
}

fn resolve_service(
    app: &App,
    config: &Config,
    store: &Store,
    vendor: &str,
    service: &str,
    to: Option<&str>,
    psa: Option<&str>,
) -> Result<ServiceMapping> {
    let kind = vendor_connection(config, vendor)?;
    if config.service_named(vendor, kind, service).is_none() {
        let cur = Current::load(config, store)?;
        let snaps = cur
            .vendors
            .iter()
            .filter(|(n, ..)| n == vendor)
            .map(|(.., s)| s);
        let services = config.services_seen(vendor, kind, snaps);
        bail!(
            "{} has no service `{service}`; its services are: {}",
            kind.display_name(),
            services
                .iter()
                .map(|s| s.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let target = match to {
        None => None,
        Some(to) => {
            let psa = psa_connection(config, psa)?;
            let cur = Current::load(config, store)?;
            match cur.psas.iter().find(|(n, ..)| *n == psa) {
                Some((_, _, snap)) => {
                    let known = snap.products.iter().any(|p| p.identifier == to)
                        || snap.lines.iter().any(|l| l.product_identifier == to);
                    if !known {
                        let mut near: Vec<(f64, &str)> = snap
                            .products
                            .iter()
                            .map(|p| (strsim::jaro_winkler(&p.identifier.to_lowercase(), &to.to_lowercase()), p.identifier.as_str()))
                            .filter(|(s, _)| *s > 0.8)
                            .collect();
                        near.sort_by(|a, b| b.0.total_cmp(&a.0));
                        bail!(
                            "`{psa}` has no catalog product or agreement line with identifier `{to}` (identifiers are case-sensitive){}",
                            if near.is_empty() {
                                String::new()
                            } else {
                                format!("; did you mean {}?", near.iter().take(3).map(|(_, i)| format!("`{i}`")).collect::<Vec<_>>().join(", "))
                            }
                        );
                    }
                }
                None => app.warn(format!(
                    "`{psa}` has no synced data, so product `{to}` could not be checked; run `reconcile sync {psa}`"
                )),
            }
            Some(ProductTarget {
                connection: psa,
                product_identifier: to.to_string(),
            })
        }
    };
    Ok(ServiceMapping {
        vendor_connection: vendor.to_string(),
        service_key: service.to_string(),
        target,
        source: MapSource::Manual,
    })
}

fn rows(config: &Config, store: &Store) -> Result<Vec<MappingRow>> {
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

fn write_export(out: &mut dyn Write, rows: &[MappingRow]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "kind",
        "vendor_connection",
        "vendor_key",
        "vendor_name",
        "psa_connection",
        "psa_key",
        "psa_name",
        "source",
    ])?;
    for r in rows {
        w.write_record([
            &r.kind,
            &r.vendor_connection,
            &r.vendor_key,
            &r.vendor_name,
            &r.psa_connection,
            &r.psa_key,
            &r.psa_name,
            &r.source,
        ])?;
    }
    w.flush()?;
    Ok(())
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
