//! `reconcile map account`: map one vendor account to a PSA company, or mark it not billed.

use anyhow::{Result, anyhow, bail};

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::mapping::{self, normalize};
use crate::model::{AccountMapping, CompanyTarget, MapSource, VendorAccount};
use crate::pipeline::snapshots::Current;
use crate::store::Store;

use super::{psa_connection, vendor_connection};

/// Map a vendor account (by id or exact name) to a PSA company, or mark it not billed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Vendor connection (e.g. ninjaone)
    #[arg(add = crate::cli::complete::vendors())]
    vendor: String,
    /// Account id or name (a NinjaOne organization, SentinelOne site, Microsoft 365 tenant, ...)
    account: String,
    /// PSA company: id, identifier or exact name
    #[arg(
        long,
        required_unless_present = "not_billed",
        conflicts_with = "not_billed",
        add = crate::cli::complete::companies()
    )]
    to: Option<String>,
    /// The account is deliberately not billed (internal, free, a prospect)
    #[arg(long)]
    not_billed: bool,
    /// PSA connection [default: the only one configured]
    #[arg(long, add = crate::cli::complete::psas())]
    psa: Option<String>,
}

impl Args {
    pub fn run(self, app: &App, config: &Config, store: &mut Store) -> Result<Exit> {
        let m = resolve_account(
            config,
            store,
            &self.vendor,
            &self.account,
            self.to.as_deref(),
            self.psa.as_deref(),
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
}

/// The id of `vendor`'s account named `key`, when `key` is no account's id and exactly one
/// account has that name (`map remove account` accepts names as `map account` does).
pub(super) fn account_id_for(
    config: &Config,
    store: &Store,
    vendor: &str,
    key: &str,
) -> Option<String> {
    let cur = Current::load(config, store).ok()?;
    let (_, _, _, snap) = cur.vendors.iter().find(|(n, ..)| n == vendor)?;
    if snap.accounts.iter().any(|a| a.id == key) {
        return None;
    }
    match named(&snap.accounts, key).as_slice() {
        [one] => Some(one.id.clone()),
        _ => None,
    }
}

/// The accounts named `name`, after folding case and whitespace.
fn named<'a>(accounts: &'a [VendorAccount], name: &str) -> Vec<&'a VendorAccount> {
    let norm = normalize(name);
    accounts
        .iter()
        .filter(|a| normalize(&a.name) == norm)
        .collect()
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
    let acc = match snap.accounts.iter().find(|a| a.id == account) {
        Some(a) => a,
        None => match named(&snap.accounts, account).as_slice() {
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
        },
    };
    let target = match to {
        None => None,
        Some(to) => {
            let psa = psa_connection(config, psa)?;
            let (_, _, psnap) = cur.psas.iter().find(|(n, ..)| *n == psa).ok_or_else(|| {
                anyhow!("`{psa}` has no synced data; run `reconcile sync {psa}` first")
            })?;
            let tnorm = normalize(to);
            let by_name: Vec<_> = psnap
                .companies
                .iter()
                .filter(|c| c.identifier.eq_ignore_ascii_case(to) || normalize(&c.name) == tnorm)
                .collect();
            let company = match psnap.companies.iter().find(|c| c.id == to) {
                Some(c) => c,
                None => match by_name.as_slice() {
                    [one] => *one,
                    [] => {
                        let names = psnap.companies.iter().map(|c| c.name.as_str());
                        let near: Vec<String> = mapping::nearest(to, names, 5)
                            .into_iter()
                            .filter_map(|n| psnap.companies.iter().find(|c| c.name == n))
                            .map(|c| format!("{} (id {})", c.name, c.id))
                            .collect();
                        bail!(
                            "`{psa}` has no company with id, identifier or name `{to}`{}",
                            if near.is_empty() {
                                format!("; it has no companies: run `reconcile sync {psa}`")
                            } else {
                                format!("; nearest names: {}", near.join("; "))
                            }
                        );
                    }
                    many => bail!(
                        "several `{psa}` companies are named `{to}` ({}); give the id instead",
                        many.iter()
                            .map(|c| format!("{} (id {})", c.name, c.id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
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
