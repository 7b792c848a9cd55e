//! `reconcile demo`: the whole pipeline against sandbox APIs, in a throwaway workspace.

use std::time::Instant;

use anyhow::{Context, Result};
use secrecy::SecretString;

use crate::app::App;
use crate::cli::Exit;
use crate::cli::connect;
use crate::cli::sync::SyncConsole;
use crate::config::Paths;
use crate::connectors::{csv, keeper, sherweb};
use crate::demo::sample::{
    DEMO_BACKUP_CSV, DEMO_JUMPCLOUD, DEMO_KEEPER, DEMO_M365, DEMO_SENTINELONE, DEMO_SHERWEB,
};
use crate::demo::{self, DEMO_BILLABLE_TYPE, DEMO_SERVICE_MAP, DEMO_UNBILLED_SERVICES, Sandbox};
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
    #[arg(long, value_enum, default_value = "connectwise")]
    pub psa: DemoPsa,
}

/// A PSA sandbox besides the ConnectWise one, kept serving until the demo ends, and its
/// request count.
struct PsaServer(
    #[allow(dead_code)] Box<dyn std::any::Any + Send>,
    std::sync::Arc<demo::RequestStats>,
);

/// The PSAs `reconcile demo --psa` can run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoPsa {
    Connectwise,
    Autotask,
    Halopsa,
    Syncro,
    CsvBilling,
}

const NINJA: &str = "demo-ninjaone";
const CW: &str = "demo-connectwise";

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let started = Instant::now();
        let sandbox = Sandbox::start(demo::sample())
            .await
            .context("cannot start the demo's sandbox APIs on 127.0.0.1")?;
        let workspace = tempfile::tempdir().context("cannot create a temporary directory")?;
        let demo_app = App {
            paths: Paths {
                config: workspace.path().join("config.toml"),
                db: workspace.path().join("reconcile.db"),
            },
            quiet: app.quiet,
            verbose: app.verbose,
            secrets: Secrets::memory(),
            retry: app.retry.clone(),
        };
        let result = self.pipeline(app, &demo_app, &sandbox).await;
        let served =
            sandbox.requests_served() + result.as_ref().map(|(_, extra)| *extra).unwrap_or(0);
        let result = result.map(|(exit, _)| exit);
        sandbox.shutdown().await;
        let exit = result?;
        app.info(format!(
            "demo: done in {:.1}s; the sandboxes served {served} HTTP requests; the temporary workspace is deleted",
            started.elapsed().as_secs_f64()
        ));
        Ok(exit)
    }

    /// Connects the chosen PSA; returns its connection name, the sandbox serving it (when not
    /// the ConnectWise one every demo starts), held until the demo ends, and its request count.
    async fn connect_psa(
        &self,
        app: &App,
        d: &App,
        sandbox: &Sandbox,
    ) -> Result<(&'static str, Option<PsaServer>)> {
        let c = &sandbox.credentials;
        match self.psa {
            DemoPsa::Connectwise => {
                app.info(format!(
                    "demo: reconcile connect connectwise --name {CW} --site {} --company-id {} --public-key {} --client-id {} --billable-type {DEMO_BILLABLE_TYPE}",
                    sandbox.connectwise_site, c.cw_company_id, c.cw_public_key, c.cw_client_id
                ));
                let secret = SecretString::from(c.cw_private_key.clone());
                let settings = sandbox.connectwise_settings(None);
                connect::save(d, CW, settings.into(), vec![("private_key", secret)], true).await?;
                Ok((CW, None))
            }
            DemoPsa::Autotask => {
                const NAME: &str = "demo-autotask";
                let server = demo::autotask::start(sandbox.sample.clone()).await?;
                let settings = server.settings();
                app.info(format!(
                    "demo: reconcile connect autotask --name {NAME} --username {} --integration-code {} --zone-lookup-url {}",
                    settings.username,
                    settings.integration_code,
                    settings.zone_lookup_url.as_deref().unwrap_or_default()
                ));
                let secret = SecretString::from(demo::autotask::DEMO_SECRET);
                connect::save(d, NAME, settings.into(), vec![("secret", secret)], true).await?;
                let stats = server.stats.clone();
                Ok((NAME, Some(PsaServer(Box::new(server), stats))))
            }
            DemoPsa::Syncro => {
                const NAME: &str = "demo-syncro";
                let server = demo::syncro::start(sandbox.sample.clone()).await?;
                let settings = server.settings();
                app.info(format!(
                    "demo: reconcile connect syncro --name {NAME} --url {} --billable-property {} --billable-value {DEMO_BILLABLE_TYPE}",
                    settings.url.as_deref().unwrap_or_default(),
                    demo::syncro::DEMO_TYPE_PROPERTY,
                ));
                let token = SecretString::from(demo::syncro::DEMO_API_TOKEN);
                connect::save(d, NAME, settings.into(), vec![("api_token", token)], true).await?;
                let stats = server.stats.clone();
                Ok((NAME, Some(PsaServer(Box::new(server), stats))))
            }
            DemoPsa::CsvBilling => {
                const NAME: &str = demo::csv_billing::DEMO_CONNECTION;
                let server = demo::csv_billing::start(sandbox.sample.clone()).await?;
                app.info(format!(
                    "demo: reconcile connect csv-billing --name {NAME} --path {}   # the PSA's billing export",
                    server.path().display()
                ));
                connect::save(d, NAME, server.settings().into(), Vec::new(), true).await?;
                // A file, not a server: nothing to count.
                let stats = std::sync::Arc::new(demo::RequestStats::default());
                Ok((NAME, Some(PsaServer(Box::new(server), stats))))
            }
            DemoPsa::Halopsa => {
                const NAME: &str = "demo-halopsa";
                let server = demo::halopsa::start(sandbox.sample.clone()).await?;
                let settings = server.settings();
                app.info(format!(
                    "demo: reconcile connect halopsa --name {NAME} --url {} --client-id {} --tenant {} --billable-client-type {DEMO_BILLABLE_TYPE}",
                    server.url,
                    demo::halopsa::DEMO_CLIENT_ID,
                    demo::halopsa::DEMO_TENANT
                ));
                let secret = SecretString::from(demo::halopsa::DEMO_CLIENT_SECRET);
                connect::save(
                    d,
                    NAME,
                    settings.into(),
                    vec![("client_secret", secret)],
                    true,
                )
                .await?;
                let stats = server.stats.clone();
                Ok((NAME, Some(PsaServer(Box::new(server), stats))))
            }
        }
    }

    async fn pipeline(&self, app: &App, d: &App, sandbox: &Sandbox) -> Result<(Exit, usize)> {
        let c = &sandbox.credentials;
        app.info(format!(
            "demo: sandbox NinjaOne at {}, sandbox ConnectWise PSA at {}; workspace {}",
            sandbox.ninjaone_url,
            sandbox.connectwise_site,
            d.paths.config.parent().unwrap_or(&d.paths.config).display()
        ));

        app.info(format!(
            "demo: reconcile connect ninjaone --name {NINJA} --url {} --client-id {}",
            sandbox.ninjaone_url, c.ninja_client_id
        ));
        let secret = SecretString::from(c.ninja_client_secret.clone());
        let settings = sandbox.ninjaone_settings(None);
        connect::save(
            d,
            NINJA,
            settings.into(),
            vec![("client_secret", secret)],
            true,
        )
        .await?;
        let (psa, psa_server) = self.connect_psa(app, d, sandbox).await?;
        app.info(format!(
            "demo: reconcile connect sentinelone --name {DEMO_SENTINELONE} --url {}",
            sandbox.sentinelone.url
        ));
        let token = SecretString::from(demo::sentinelone::DEMO_API_TOKEN);
        let settings = sandbox.sentinelone.settings();
        connect::save(
            d,
            DEMO_SENTINELONE,
            settings.into(),
            vec![("api_token", token)],
            true,
        )
        .await?;
        app.info(format!(
            "demo: reconcile connect jumpcloud --name {DEMO_JUMPCLOUD} --provider-id {} --url {}",
            demo::jumpcloud::DEMO_PROVIDER_ID,
            sandbox.jumpcloud.url
        ));
        let key = SecretString::from(demo::jumpcloud::DEMO_API_KEY);
        let settings = sandbox.jumpcloud.settings();
        connect::save(
            d,
            DEMO_JUMPCLOUD,
            settings.into(),
            vec![("api_key", key)],
            true,
        )
        .await?;
        app.info(format!(
            "demo: reconcile connect sherweb --name {DEMO_SHERWEB} --client-id {} --api-url {} --token-url {}",
            demo::sherweb::DEMO_CLIENT_ID,
            sandbox.sherweb.api_url(),
            sandbox.sherweb.token_url()
        ));
        let settings = sherweb::Settings {
            client_id: demo::sherweb::DEMO_CLIENT_ID.into(),
            api_url: Some(sandbox.sherweb.api_url()),
            token_url: Some(sandbox.sherweb.token_url()),
        };
        let secrets = vec![
            (
                "client_secret",
                SecretString::from(demo::sherweb::DEMO_CLIENT_SECRET),
            ),
            (
                "subscription_key",
                SecretString::from(demo::sherweb::DEMO_SUBSCRIPTION_KEY),
            ),
        ];
        connect::save(d, DEMO_SHERWEB, settings.into(), secrets, true).await?;
        app.info(format!(
            "demo: reconcile connect keeper --name {DEMO_KEEPER} --url {}   # Commander Service Mode",
            sandbox.keeper.url
        ));
        let settings = keeper::Settings {
            mode: keeper::Mode::Service,
            url: Some(sandbox.keeper.url.clone()),
            executable: None,
            args: Vec::new(),
            timeout_secs: None,
        };
        let key = SecretString::from(demo::keeper::DEMO_API_KEY);
        connect::save(
            d,
            DEMO_KEEPER,
            settings.into(),
            vec![("api_key", key)],
            true,
        )
        .await?;
        let settings = sandbox.m365.settings();
        app.info(format!(
            "demo: reconcile connect m365 --name {DEMO_M365} --partner-tenant {} --client-id {} --token-host {} --graph-host {}",
            settings.partner_tenant_id,
            settings.client_id,
            settings.token_host(),
            settings.graph_host()
        ));
        let secret = SecretString::from(demo::m365::DEMO_CLIENT_SECRET);
        connect::save(
            d,
            DEMO_M365,
            settings.into(),
            vec![("client_secret", secret)],
            true,
        )
        .await?;
        let path = sandbox.backup.path().to_path_buf();
        app.info(format!(
            "demo: reconcile connect csv --name {DEMO_BACKUP_CSV} --path {} --account-column Client --sku-column \"Billing Code\" --sku-name-column Description --quantity-column Quantity   # a backup vendor's billing export",
            path.display()
        ));
        let one = |s: &str| Some(csv::Aliases::Many(vec![s.to_string()]));
        let settings = csv::Settings {
            path: Some(path.to_string_lossy().into_owned()),
            format: None,
            delimiter: None,
            columns: csv::Columns {
                account: one("Client"),
                sku: one("Billing Code"),
                sku_name: one("Description"),
                quantity: one("Quantity"),
                ..csv::Columns::default()
            },
        };
        connect::save(d, DEMO_BACKUP_CSV, settings.into(), Vec::new(), true).await?;

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
                "demo:   reconcile map service {NINJA} {key} --to {product}"
            ));
            services.push(ServiceMapping {
                vendor_connection: NINJA.into(),
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
                vendor_connection: NINJA.into(),
                service_key: key.to_string(),
                target: None,
                source: MapSource::Manual,
            });
        }
        app.info(format!(
            "demo:   reconcile map service {NINJA} <key> --not-billed   # for {}",
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
        let extra = psa_server.map(|s| s.1.total()).unwrap_or(0);
        Ok((Exit::Ok, extra))
    }
}
