//! `reconcile demo`: the whole pipeline against sandbox APIs, in a throwaway workspace.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::app::App;
use crate::cli::Exit;
use crate::cli::connect;
use crate::cli::sync::SyncConsole;
use crate::config::Paths;
use crate::connectors::{ConnectorKind, Role, SecretStore};
use crate::demo::{self, DEMO_SERVICE_MAP, DEMO_UNBILLED_SERVICES, Sandbox, apis};
use crate::model::{AccountMapping, CompanyTarget, MapSource, ProductTarget, ServiceMapping};
use crate::output::{Format, report};
use crate::pipeline;
use crate::pipeline::snapshots::Scope;
use crate::secrets::Secrets;

/// Run the whole pipeline on built-in sample data; no account needed.
///
/// Starts sandbox APIs on 127.0.0.1 (random free ports) that speak the same HTTP APIs as the
/// real services (NinjaOne, ConnectWise PSA, SentinelOne, Microsoft 365, JumpCloud, Sherweb,
/// Keeper Commander Service Mode) and writes a backup vendor's CSV export, serving a sample MSP
/// with more than 20 clients and 1,000 devices. Then connects, syncs, maps, reconciles and
/// reports through the real connectors, in a temporary directory: your config, database and
/// keyring are not touched. With --psa, the same sample is billed from the Autotask, HaloPSA or
/// Syncro sandbox, or from a CSV billing export, instead of ConnectWise PSA.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report format [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Leave out matches in the report
    #[arg(long)]
    pub only_discrepancies: bool,
    /// The PSA the demo bills from: the same sample clients, agreements and lines, served by
    /// that PSA's sandbox API
    #[arg(long, default_value = demo::DEFAULT_PSA.as_str(), value_parser = psa_kinds())]
    pub psa: ConnectorKind,
}

/// The PSAs `reconcile demo --psa` can run against: every PSA kind, by its key.
fn psa_kinds() -> impl TypedValueParser<Value = ConnectorKind> {
    let keys = ConnectorKind::ALL
        .iter()
        .filter(|k| k.role() == Role::Psa)
        .map(|k| k.as_str());
    PossibleValuesParser::new(keys).map(|key| ConnectorKind::parse(&key).expect("a PSA's key"))
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let started = Instant::now();
        let mut sandbox = Sandbox::start(demo::sample())
            .await
            .context("cannot start the demo's sandbox APIs on 127.0.0.1")?;
        let workspace = tempfile::tempdir().context("cannot create a temporary directory")?;
        let demo_app = App {
            paths: Paths {
                config: workspace.path().join("config.toml"),
                db: workspace.path().join("reconcile.db"),
                config_given: false,
            },
            quiet: app.quiet,
            verbose: app.verbose,
            secrets: Secrets::memory(),
            retry: app.retry.clone(),
        };
        let result = self.pipeline(app, &demo_app, &mut sandbox).await;
        let served = sandbox.requests_served();
        sandbox.shutdown().await;
        let exit = result?;
        app.info(format!(
            "demo: done in {:.1}s; the sandboxes served {served} HTTP requests; the temporary workspace is deleted",
            started.elapsed().as_secs_f64()
        ));
        Ok(exit)
    }

    async fn pipeline(&self, app: &App, d: &App, sandbox: &mut Sandbox) -> Result<Exit> {
        app.info(format!(
            "demo: sandbox NinjaOne at {}, sandbox ConnectWise PSA at {}; workspace {}",
            sandbox.url(ConnectorKind::NinjaOne),
            sandbox.url(ConnectorKind::ConnectWise),
            d.paths.config.parent().unwrap_or(&d.paths.config).display()
        ));

        // Every vendor, and the PSA the demo bills from, in the sandboxes' connect order.
        sandbox.add(self.psa).await?;
        let mut kinds: Vec<ConnectorKind> = sandbox
            .kinds()
            .filter(|k| k.role() == Role::Vendor || *k == self.psa)
            .collect();
        kinds.sort_by_key(|k| apis::of(*k).connect_order());
        for kind in kinds {
            let c = sandbox.connection(kind);
            app.info(format!("demo: {}", c.command()));
            connect::save(d, c.name, c.settings, c.secrets, true, SecretStore::Auto).await?;
        }
        let ninja = sandbox.connection(ConnectorKind::NinjaOne).name;
        let psa = sandbox.connection(self.psa).name;

        app.info("demo: reconcile sync");
        let config = d.config()?;
        let mut store = d.store()?;
        let names = pipeline::sync::select_connections(&config, &[])?;
        let request = pipeline::sync::SyncRequest {
            secrets: &d.secrets,
            retry: &d.retry,
            config: &config,
            names: &names,
            file: None,
            allow_empty: false,
            events: std::sync::Arc::new(SyncConsole::new(app)),
        };
        let outcomes = pipeline::sync::run(&mut store, request).await?;
        for o in &outcomes {
            if let Err(e) = &o.result {
                anyhow::bail!("demo sync of `{}` failed: {e}", o.connection);
            }
        }

        app.info("demo: reconcile map");
        let state = pipeline::map::auto_map(&config, &mut store)?;
        app.info(format!(
            "demo:   {} organizations mapped automatically by exact name; {} left for a person",
            state.added.len(),
            state.unmapped_accounts.len()
        ));
        // What a person does next: confirm the near matches `map` suggested, map the services
        // to catalog products, mark the overlapping rollups as not billed. An organization with
        // no suggestion stays unmapped and shows up in the report.
        let mut accounts = Vec::new();
        for u in &state.unmapped_accounts {
            match u.suggestions.first() {
                Some((conn, id, name, score)) => {
                    app.info(format!(
                        "demo:   reconcile map account {} \"{}\" --to {id}   # suggested: {name}, {:.0}% similar",
                        u.vendor_connection,
                        u.account.name,
                        score * 100.0
                    ));
                    accounts.push(AccountMapping {
                        vendor_connection: u.vendor_connection.clone(),
                        account_id: u.account.id.clone(),
                        account_name: u.account.name.clone(),
                        target: Some(CompanyTarget {
                            connection: conn.clone(),
                            company_id: id.clone(),
                            company_name: name.clone(),
                        }),
                        source: MapSource::Manual,
                    });
                }
                None => app.info(format!(
                    "demo:   \"{}\" has no similar company: left unmapped",
                    u.account.name
                )),
            }
        }
        let mut services = Vec::new();
        for (key, product) in DEMO_SERVICE_MAP {
            app.info(format!(
                "demo:   reconcile map service {ninja} {key} --to {product}"
            ));
            services.push(ServiceMapping {
                vendor_connection: ninja.into(),
                service_key: key.to_string(),
                target: Some(ProductTarget {
                    connection: psa.into(),
                    product_identifier: product.to_string(),
                }),
                source: MapSource::Manual,
            });
        }
        for key in DEMO_UNBILLED_SERVICES {
            services.push(ServiceMapping {
                vendor_connection: ninja.into(),
                service_key: key.to_string(),
                target: None,
                source: MapSource::Manual,
            });
        }
        app.info(format!(
            "demo:   reconcile map service {ninja} <key> --not-billed   # for {}",
            DEMO_UNBILLED_SERVICES.join(", ")
        ));
        for v in &sandbox.sample.vendors {
            for (key, product) in &v.billed {
                app.info(format!(
                    "demo:   reconcile map service {} {key} --to {product}",
                    v.connection
                ));
                services.push(ServiceMapping {
                    vendor_connection: v.connection.into(),
                    service_key: key.clone(),
                    target: Some(ProductTarget {
                        connection: psa.into(),
                        product_identifier: product.clone(),
                    }),
                    source: MapSource::Manual,
                });
            }
            let rest: Vec<String> = state
                .unmapped_services
                .iter()
                .filter(|u| u.vendor_connection == v.connection)
                .map(|u| u.service.key.clone())
                .filter(|k| !v.billed.iter().any(|(b, _)| b == k))
                .collect();
            if !rest.is_empty() {
                app.info(format!(
                    "demo:   reconcile map service {} <key> --not-billed   # for {}",
                    v.connection,
                    rest.join(", ")
                ));
            }
            for key in rest {
                services.push(ServiceMapping {
                    vendor_connection: v.connection.into(),
                    service_key: key,
                    target: None,
                    source: MapSource::Manual,
                });
            }
        }
        store.set_mappings(&accounts, &services)?;

        app.info("demo: reconcile reconcile");
        let done = pipeline::findings::compute_and_store(&config, &mut store, Scope::Current)?;
        let r = &done.record;
        app.info(format!(
            "demo:   {} findings, {} discrepancies",
            r.findings.len(),
            r.findings
                .iter()
                .filter(|f| f.kind.is_discrepancy())
                .count()
        ));
        app.info("demo: reconcile report");
        let format = self.format.unwrap_or_else(Format::default_for_stdout);
        let mut out = std::io::stdout().lock();
        report::render(
            &mut out,
            r,
            format,
            self.only_discrepancies,
            report::ReviewView::default(),
        )?;
        std::io::Write::flush(&mut out)?;
        Ok(Exit::Ok)
    }
}
