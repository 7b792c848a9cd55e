//! `reconcile demo`: the whole pipeline against sandbox APIs, in a throwaway workspace.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::app::App;
use crate::cli::Exit;
use crate::cli::connect;
use crate::cli::sync::SyncConsole;
use crate::config::Config;
use crate::config::Paths;
use crate::connectors::ConnectionSettings;
use crate::connectors::{ConnectorKind, Role, SecretStore};
use crate::demo::{self, DEMO_SERVICE_MAP, DEMO_UNBILLED_SERVICES, Sandbox, apis};
use crate::model::{AccountMapping, CompanyTarget, MapSource, ProductTarget, ServiceMapping};
use crate::output::{Format, report};
use crate::pipeline;
use crate::pipeline::push::{Decision, PlanLine, PushCx};
use crate::pipeline::snapshots::Scope;
use crate::secrets::Secrets;
use crate::store::{PushOptIn, Store};
use std::path::Path;

/// Run the whole pipeline on built-in sample data; no account needed.
///
/// Starts sandbox APIs on 127.0.0.1 (random free ports) that speak the same HTTP APIs as the
/// real services (NinjaOne, ConnectWise PSA, SentinelOne, Microsoft 365, JumpCloud, Sherweb, Pax8,
/// Datto RMM, Datto SaaS Protection and BCDR, Acronis, Cove, N-central, N-sight, GravityZone, Webroot, Keeper Commander Service Mode) and
/// writes a backup vendor's CSV export, serving a sample MSP with more than 20 clients and 1,000
/// devices. Then connects, syncs, maps, reconciles and reports through the real connectors, in a
/// temporary directory: your config, database and keyring are not touched. With --psa, the same
/// sample is billed from another PSA's sandbox (Autotask, HaloPSA, Syncro, Kaseya BMS, Pulseway
/// PSA, CloudBlue PSA, Accelo, Tigerpaw) or from a CSV billing export, instead of ConnectWise
/// PSA.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report format [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// List matches in the report's table too (it counts them in one line otherwise)
    #[arg(long, conflicts_with = "only_discrepancies")]
    pub matches: bool,
    /// Leave out matches in the report
    #[arg(long)]
    pub only_discrepancies: bool,
    /// One row per finding (default), or per service offering: revenue, cost and margin per
    /// PSA product across every client, and where it loses money (as `report --by service`)
    #[arg(long, value_enum, default_value_t = report::By::Finding, value_name = "ROW")]
    pub by: report::By,
    /// The PSA the demo bills from: the same sample clients, agreements and lines, served by
    /// that PSA's sandbox API
    #[arg(long, default_value = demo::DEFAULT_PSA.as_str(), value_parser = psa_kinds())]
    pub psa: ConnectorKind,
    /// Then write the counts back into the PSA sandbox (`reconcile push`): connect it with
    /// --allow-write, opt the NinjaOne services in, plan, apply, sync the PSA again and show
    /// that the written lines now match
    #[arg(long)]
    pub push: bool,
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
        if self.push
            && let Some(why) = self.psa.report_only()
        {
            let writable: Vec<&str> = ConnectorKind::ALL
                .iter()
                .filter(|k| k.role() == Role::Psa && k.report_only().is_none())
                .map(|k| k.as_str())
                .collect();
            anyhow::bail!(
                "`reconcile demo --push --psa {}`: {} is report-only ({why}), so there is nothing to write back. Run `reconcile demo --psa {}` for its findings, or --push with --psa {}",
                self.psa.as_str(),
                self.psa.display_name(),
                self.psa.as_str(),
                writable.join(", ")
            );
        }
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
            color: app.color,
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
            let mut command = c.command();
            let mut settings = c.settings;
            if self.push
                && kind == self.psa
                && let Some(w) = allow_write(&settings)
            {
                settings = w;
                command.push_str(" --allow-write");
            }
            app.info(format!("demo: {command}"));
            connect::save(d, c.name, settings, c.secrets, true, SecretStore::Auto).await?;
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
        let state = pipeline::map::auto_map(&config, &mut store, None)?;
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
        let opts = report::Options {
            format,
            only_discrepancies: self.only_discrepancies,
            matches: self.matches,
            table: app.table_style(),
            by: self.by,
            ..Default::default()
        };
        let view = report::View::new(r, &opts.review, &opts.filter);
        report::render(&mut out, &view, &opts)?;
        std::io::Write::flush(&mut out)?;
        drop(out);
        if self.push {
            return push(app, d, &config, &mut store, ninja, psa).await;
        }
        Ok(Exit::Ok)
    }
}

/// `settings` with `allow_write = true`, for a kind that has the key.
fn allow_write(settings: &ConnectionSettings) -> Option<ConnectionSettings> {
    let mut table = settings.to_table().ok()?;
    table.insert("allow_write".into(), toml::Value::Boolean(true));
    ConnectionSettings::from_table(settings.kind(), table).ok()
}

/// The demo's write-back: opt in, plan, apply, sync the PSA again, show the written lines.
async fn push(
    app: &App,
    d: &App,
    config: &Config,
    store: &mut Store,
    ninja: &str,
    psa: &str,
) -> Result<Exit> {
    app.info("demo: reconcile push");
    for (key, product) in DEMO_SERVICE_MAP {
        app.info(format!(
            "demo:   reconcile map service {ninja} {key} --to {product} --push"
        ));
        store.set_push_opt_in(&PushOptIn {
            vendor_connection: ninja.into(),
            service_key: key.to_string(),
            push: true,
            push_cost: false,
        })?;
    }
    // Dated today, so the sandboxes that keep dated rows (Autotask) bill the change in the
    // period the demo syncs; the default is the next period's start.
    let mut config = config.clone();
    config.push.effective = Some("today".into());
    app.info("demo:   [push] effective = \"today\"   # default: next-period-start");
    let cx = PushCx {
        config: &config,
        secrets: &d.secrets,
        retry: &d.retry,
        operator: "demo".into(),
    };
    let mut plan = pipeline::push::make_plan(&cx, store, Some(psa)).await?;
    pipeline::push::save(store, &mut plan, &cx.operator)?;
    app.info(format!("demo: reconcile push plan   # plan {}", plan.id));
    show_plan(app, &plan);
    // What a billing manager does with a large increase they checked: approve its finding, so
    // the next plan lets it through the size guard. Decreases and zeros stay for review.
    let findings = pipeline::findings::compute(&config, store, Scope::Current)?;
    let period = crate::review::period_of(&findings.record.as_of, config.period.anchor_day)?;
    let mut approved = 0;
    for l in &plan.lines {
        let failed = l.failed_guards();
        let only_size = failed.len() == 1 && failed[0].starts_with("large_change");
        if !only_size || l.change().is_none_or(|c| c < rust_decimal::Decimal::ZERO) {
            continue;
        }
        if let Some(f) = findings
            .record
            .findings
            .iter()
            .find(|f| f.id == l.finding_id)
        {
            app.info(format!(
                "demo:   reconcile review approve {} --note \"checked: {} really has {} {}\"",
                f.id,
                l.company,
                l.quantity.normalize(),
                l.product
            ));
            store.set_decision(&crate::review::Decision::new(
                f,
                crate::review::Verdict::Approve,
                Some("checked with the client".into()),
                "demo".into(),
                jiff::Timestamp::now().to_string(),
                period.clone(),
            ))?;
            approved += 1;
        }
    }
    if approved > 0 {
        plan = pipeline::push::make_plan(&cx, store, Some(psa)).await?;
        pipeline::push::save(store, &mut plan, &cx.operator)?;
        app.info(format!("demo: reconcile push plan   # plan {}", plan.id));
        show_plan(app, &plan);
    }
    app.info(format!("demo: reconcile push apply {} --yes", plan.id));
    let dir = d
        .paths
        .db
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut each = |l: &PlanLine, what: &str| {
        app.info(format!("demo:   {} {}: {what}", l.company, l.product));
    };
    let done = pipeline::push::apply(&cx, store, &plan, &dir, &mut each).await?;
    app.info(format!(
        "demo:   {} written, {} exported to a file, {} failed, {} left for review",
        done.written, done.exported, done.failed, done.review
    ));
    app.info(format!("demo: reconcile sync {psa}"));
    let names = vec![psa.to_string()];
    let request = pipeline::sync::SyncRequest {
        secrets: &d.secrets,
        retry: &d.retry,
        config: &config,
        names: &names,
        file: None,
        allow_empty: false,
        events: std::sync::Arc::new(SyncConsole::new(app)),
    };
    for o in pipeline::sync::run(store, request).await? {
        if let Err(e) = &o.result {
            anyhow::bail!("demo sync of `{}` failed: {e}", o.connection);
        }
    }
    let after = pipeline::findings::compute_and_store(&config, store, Scope::Current)?;
    let mut still_wrong = 0;
    for l in plan.lines.iter().filter(|l| l.decision == Decision::Write) {
        let f = after.record.findings.iter().find(|f| {
            f.psa_connection.as_deref() == Some(psa)
                && f.company_id.as_deref() == Some(l.company_id.as_str())
                && f.product.as_deref() == Some(l.product.as_str())
        });
        let kind = f.map(|f| f.kind.as_str()).unwrap_or("no finding");
        if kind != "match" {
            still_wrong += 1;
        }
        app.info(format!(
            "demo:   {} {}: billed {} now, finding: {kind}",
            l.company,
            l.product,
            f.and_then(|f| f.billed)
                .map(|b| b.normalize().to_string())
                .unwrap_or_default()
        ));
    }
    if still_wrong > 0 || done.failed > 0 {
        anyhow::bail!(
            "demo: {still_wrong} written line(s) do not match after the push, {} write(s) failed",
            done.failed
        );
    }
    Ok(Exit::Ok)
}

/// The plan's lines, one each on stderr.
fn show_plan(app: &App, plan: &pipeline::push::Plan) {
    for l in &plan.lines {
        app.info(format!(
            "demo:   {:<12} {} {}: {} -> {}{}",
            l.decision.as_str(),
            l.company,
            l.product,
            l.before
                .as_ref()
                .map(|b| b.quantity.normalize().to_string())
                .unwrap_or("?".into()),
            l.quantity.normalize(),
            match l.failed_guards().first() {
                Some(g) => format!("   # {}", g.split(':').next().unwrap_or(g)),
                None => String::new(),
            }
        ));
    }
}
