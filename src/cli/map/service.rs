//! `reconcile map service`: map one vendor service to a PSA product identifier, or mark it not
//! billed.

use anyhow::{Result, bail};

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::model::{MapSource, ProductTarget, ServiceMapping};
use crate::pipeline::snapshots::Current;
use crate::store::Store;

use super::{psa_connection, vendor_connection};

/// Map a vendor service (e.g. total-workstations) to a PSA product identifier, or mark it not
/// billed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Vendor connection (e.g. ninjaone)
    #[arg(add = crate::cli::complete::vendors())]
    vendor: String,
    /// Service key; `reconcile map` lists them
    #[arg(add = crate::cli::complete::services())]
    service: String,
    /// PSA product identifier (the ConnectWise catalog identifier, or what the PSA names it)
    #[arg(
        long,
        required_unless_present = "not_billed",
        conflicts_with = "not_billed",
        add = crate::cli::complete::products()
    )]
    to: Option<String>,
    /// Usage of this service is deliberately not billed
    #[arg(long)]
    not_billed: bool,
    /// PSA connection [default: the only one configured]
    #[arg(long, add = crate::cli::complete::psas())]
    psa: Option<String>,
    /// Let `reconcile push` write this service's count into the product's existing lines (off
    /// unless given; mapping the service again without it turns it off)
    #[arg(long, conflicts_with = "not_billed")]
    push: bool,
    /// With --push: write the unit cost too (`[push.services."<vendor>/<service>"] unit_cost`)
    #[arg(long, requires = "push")]
    push_cost: bool,
}

impl Args {
    pub fn run(self, app: &App, config: &Config, store: &mut Store) -> Result<Exit> {
        let m = resolve_service(
            app,
            config,
            store,
            &self.vendor,
            &self.service,
            self.to.as_deref(),
            self.psa.as_deref(),
        )?;
        store.set_service_mapping(&m)?;
        store.set_push_opt_in(&crate::store::PushOptIn {
            vendor_connection: m.vendor_connection.clone(),
            service_key: m.service_key.clone(),
            push: self.push,
            push_cost: self.push_cost,
        })?;
        if self.push {
            app.info(format!(
                "`reconcile push` may write its count{} into the product's existing lines",
                if self.push_cost { " and unit cost" } else { "" }
            ));
        }
        match &m.target {
            Some(t) => {
                app.info(format!(
                    "mapped {} service `{}` to {} product `{}`",
                    m.vendor_connection, m.service_key, t.connection, t.product_identifier
                ));
                let kind = vendor_connection(config, &m.vendor_connection)?;
                if let Some(hint) =
                    super::peak_hint(config, kind, &m.vendor_connection, &[&m.service_key])
                {
                    app.info(hint);
                }
            }
            None => app.info(format!(
                "marked {} service `{}` as not billed",
                m.vendor_connection, m.service_key
            )),
        }
        Ok(Exit::Ok)
    }
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
