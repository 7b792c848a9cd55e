//! `reconcile map`: automatic account mapping, the manual mapping commands, and CSV export and
//! import, one file per verb. Mappings are user data: they survive syncs, upgrades and
//! `reconcile` runs.

mod account;
mod auto;
mod export;
mod import;
mod list;
mod products;
mod remove;
mod service;

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::connectors::{ConnectorKind, Role};
use crate::output::Format;

/// Map vendor accounts to PSA companies and vendor services to PSA products.
///
/// Without a subcommand: maps every unmapped account whose name equals exactly one billable
/// company's name (after folding case and whitespace), then lists what is still unmapped, with
/// suggestions and their scores: companies with a similar name for an account, products whose
/// identifier or name shares the service's words for a service (`map products` lists them all).
/// Suggestions are never applied on their own: confirm one with `reconcile map account` or
/// `reconcile map service`.
///
/// With several PSA connections, an account named as a company in more than one of them is
/// not mapped (only you know which PSA bills it): `map` says how many, and `map --psa NAME`
/// maps them to that PSA's companies.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Map to the companies of this PSA connection only (with several PSAs, an account named as
    /// a company in more than one is otherwise left for you)
    #[arg(long, value_name = "PSA", add = crate::cli::complete::psas())]
    pub psa: Option<String>,
    /// Output format of the unmapped list
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub csv: crate::output::CsvStyle,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    Account(account::Args),
    Service(service::Args),
    List(list::Args),
    Products(products::Args),
    Remove(remove::Args),
    Export(export::Args),
    Import(import::Args),
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        // Listing and exporting only read: they work from a database this user cannot write.
        let mut store = match &self.action {
            Some(Action::List(_) | Action::Export(_) | Action::Products(_)) => app.store_read()?,
            _ => app.store()?,
        };
        match self.action {
            None => {
                let psa = match &self.psa {
                    Some(p) => Some(psa_connection(&config, Some(p))?),
                    None => None,
                };
                auto::run(
                    app,
                    &config,
                    &mut store,
                    psa.as_deref(),
                    self.format,
                    self.csv,
                )
            }
            Some(Action::Account(a)) => a.run(app, &config, &mut store),
            Some(Action::Service(a)) => a.run(app, &config, &mut store),
            Some(Action::List(a)) => a.run(&config, &store),
            Some(Action::Products(a)) => a.run(&config, &store),
            Some(Action::Remove(a)) => a.run(app, &config, &mut store),
            Some(Action::Export(a)) => a.run(app, &config, &store),
            Some(Action::Import(a)) => a.run(app, &config, &mut store),
        }
    }
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

/// For services of a vendor that bills the MSP on the month's high watermark and are not on
/// the `peak` basis yet, a line saying so and how to set it.
fn peak_hint(
    config: &Config,
    kind: ConnectorKind,
    connection: &str,
    keys: &[&str],
) -> Option<String> {
    let what = kind.high_watermark()?;
    let bases = config.bases();
    let off: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| {
            let key = format!("{connection}/{k}");
            bases.services.get(&key).copied().unwrap_or(bases.default) != crate::engine::Basis::Peak
        })
        .collect();
    let first = off.first()?;
    Some(format!(
        "{} bills on {what}: compare on the period's peak count, as it does, with `[basis.services] \"{connection}/{first}\" = \"peak\"` in the config (one line per service{}), or `[basis] default = \"peak\"`",
        kind.info().name,
        if off.len() > 1 {
            format!("; {} services here", off.len())
        } else {
            String::new()
        }
    ))
}
