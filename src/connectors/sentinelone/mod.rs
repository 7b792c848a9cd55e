//! SentinelOne Management API v2.1: sites are accounts, agents are usage items.
//!
//! Auth is a service-user API token sent as `Authorization: ApiToken <token>` to the tenant's
//! console (`https://<tenant>.sentinelone.net`); a Viewer role on the account or site scope is
//! enough. Lists page with `limit` + `cursor=<pagination.nextCursor>` until the cursor is null.
//!
//! Classes: each agent's `machineType` becomes `DESKTOP`, `LAPTOP`, `SERVER`,
//! `KUBERNETES_NODE` or `STORAGE`; any other value becomes `OTHER` (the value as sent stays in
//! `raw_class`, so nothing unknown breaks a sync or drops out of the Agents count).
//! Decommissioned agents get the class `DECOMMISSIONED`, which no built-in service counts.
//! Every agent carries its site's SKU as the `sku` attribute, which the per-SKU services filter on.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::Settings;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, Paging, Param, Request, RetryPolicy, StaticHeaders, check_url,
};
use crate::model::{ServiceDef, ServiceFilters, Snapshot, VendorSnapshot};

pub use convert::class_of;
use convert::{accounts, agent_item, unreadable_agent, unreadable_site};

pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// The API's largest `limit`.
pub const MAX_PAGE_SIZE: usize = 1000;

const SITES: &str = "web/api/v2.1/sites";
const AGENTS: &str = "web/api/v2.1/agents";

/// The class of a decommissioned agent: not billable, counted by no built-in service.
pub const DECOMMISSIONED: &str = "DECOMMISSIONED";
/// The class of an agent whose `machineType` this build does not know.
pub const OTHER: &str = "OTHER";

const WORKSTATIONS: &[&str] = &["DESKTOP", "LAPTOP"];
const SERVERS: &[&str] = &["SERVER"];
const OTHERS: &[&str] = &["KUBERNETES_NODE", "STORAGE", OTHER];
/// Every class of a live (not decommissioned) agent.
const LIVE: &[&str] = &[
    "DESKTOP",
    "LAPTOP",
    "SERVER",
    "KUBERNETES_NODE",
    "STORAGE",
    OTHER,
];

/// The SKUs with a service of their own: (service key suffix, SKU name as SentinelOne sends it).
pub const SKUS: &[(&str, &str)] = &[
    ("complete", "Complete"),
    ("control", "Control"),
    ("core", "Core"),
];

/// The SentinelOne services: agents, by machine type, and by site SKU.
pub fn services() -> Vec<ServiceDef> {
    let def = |key: &str, name: &str, classes: &[&str], sku: Option<&str>| ServiceDef {
        key: key.into(),
        name: name.into(),
        classes: Some(classes.iter().map(|s| s.to_string()).collect()),
        filters: ServiceFilters {
            attrs: sku
                .map(|s| BTreeMap::from([("sku".to_string(), s.to_string())]))
                .unwrap_or_default(),
            ..ServiceFilters::default()
        },
        ..ServiceDef::default()
    };
    let mut defs = vec![
        def("agents", "Agents", LIVE, None),
        def("workstations", "Workstations", WORKSTATIONS, None),
        def("servers", "Servers", SERVERS, None),
        def("other", "Other Agents", OTHERS, None),
    ];
    for (suffix, sku) in SKUS {
        defs.push(def(
            &format!("agents-{suffix}"),
            &format!("Agents ({sku})"),
            LIVE,
            Some(sku),
        ));
    }
    defs
}

pub struct SentinelOne {
    name: String,
    client: HttpClient,
    page_size: usize,
}

impl SentinelOne {
    pub fn new(
        name: &str,
        settings: &Settings,
        token: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<SentinelOne> {
        let base = check_url(name, settings.url.trim_end_matches('/'))?;
        let again = format!(
            "then run `reconcile connect sentinelone --name {name} --url {}` again",
            base.as_str().trim_end_matches('/')
        );
        let hint = format!(
            "The API token was refused: it may be mistyped, revoked or expired (service-user tokens expire). Create a new one in the SentinelOne console (Settings > Users > Service Users, with a Viewer role on the account or site scope), {again}"
        );
        let forbidden = format!(
            "The API token is valid but lacks a permission: its service user needs a Viewer role (or higher) on the account or site scope, to read sites and agents. Change the role in Settings > Users > Service Users, {again}"
        );
        let auth = StaticHeaders::token("ApiToken", &token, hint, forbidden).map_err(|m| {
            ConnectorError::Invalid {
                connection: name.into(),
                message: m,
            }
        })?;
        Ok(SentinelOne {
            name: name.to_string(),
            client: HttpClient::new(name, base, Arc::new(auth), retry),
            page_size: settings.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
        })
    }
}

#[async_trait]
impl Connector for SentinelOne {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::SentinelOne
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let page = self
            .client
            .pages::<wire::Site>(Request::get(SITES), paging(1), "/data/sites")
            .next()
            .await?
            .expect("the first page is always read");
        let total = page
            .body
            .pointer("/pagination/totalItems")
            .and_then(|v| v.as_u64())
            .unwrap_or(page.items.len() as u64);
        let licenses = page
            .body
            .pointer("/data/allSites")
            .and_then(|v| serde_json::from_value::<wire::AllSites>(v.clone()).ok())
            .and_then(|a| Some((a.active_licenses?, a.total_licenses?)))
            .map(|(active, total)| format!(" ({active} of {total} licenses in use)"))
            .unwrap_or_default();
        Ok(format!(
            "signed in to {} with an API token; {total} site{} readable{licenses}",
            self.client.base().origin().ascii_serialization(),
            if total == 1 { " is" } else { "s are" }
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let sites = self
            .client
            .pages::<wire::Site>(Request::get(SITES), paging(self.page_size), "/data/sites")
            .all_tolerant(&|n| cx.report("sites", n))
            .await?;
        let mut snap = VendorSnapshot {
            set_aside: (sites.set_aside.iter())
                .map(|s| format!("GET /{SITES} {s}"))
                .collect(),
            ..VendorSnapshot::default()
        };
        for site in &sites.records {
            if let Some(why) = unreadable_site(site) {
                snap.unreadable.insert(site.value.id.clone(), why);
            }
        }
        // A site's odd fields are named on each of its agents, which carry its SKU and licenses.
        let by_id: HashMap<String, (&wire::Site, Option<String>)> = (sites.records.iter())
            .map(|s| (s.value.id.clone(), (&s.value, s.odd_fields())))
            .collect();
        // Agents go to the store page by page (a large console has hundreds of thousands).
        let mut kept = Vec::new();
        let mut read = 0;
        let mut pages = self
            .client
            .pages::<wire::Agent>(Request::get(AGENTS), paging(self.page_size), "/data")
            .tolerant();
        let mut page = pages.next().await?;
        while let Some(current) = page {
            read += current.items.len();
            cx.report("agents", read);
            let endpoint = &current.endpoint;
            (snap.set_aside).extend(current.set_aside.iter().map(|s| format!("{endpoint} {s}")));
            let mut items = Vec::with_capacity(current.items.len());
            for ((a, raw), odd) in current.items.into_iter().zip(current.odd) {
                if let Some(why) = unreadable_agent(&a) {
                    // The first such agent names why; the site's count is unknown either way.
                    snap.unreadable.entry(a.site_id.clone()).or_insert(why);
                }
                let site = by_id.get(&a.site_id);
                let mut item = agent_item(a, raw, site.map(|(s, _)| *s));
                if !odd.is_empty() {
                    item.attrs.insert("odd_fields".into(), odd.join(","));
                }
                if let Some(site_odd) = site.and_then(|(_, odd)| odd.clone()) {
                    item.attrs.insert("site_odd_fields".into(), site_odd);
                }
                items.push(item);
            }
            // The next page is asked for while this one is stored.
            let (next, stored) = tokio::join!(pages.next(), cx.emit(&self.name, items, &mut kept));
            stored?;
            page = next?;
        }
        tracing::debug!(connection = %self.name, sites = sites.records.len(), agents = read, "read SentinelOne");
        snap.accounts = accounts(sites.records);
        snap.items = kept;
        Ok(Snapshot::Vendor(snap))
    }
}

/// SentinelOne lists: `limit` and `cursor=<pagination.nextCursor>`, until the cursor is null.
fn paging(page_size: usize) -> Paging {
    Paging::Cursor {
        size: Some(Param::new("limit", page_size)),
        param: "cursor",
        next: "/pagination/nextCursor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_cover_types_and_skus() {
        let keys: Vec<String> = services().into_iter().map(|s| s.key).collect();
        assert_eq!(
            keys,
            [
                "agents",
                "workstations",
                "servers",
                "other",
                "agents-complete",
                "agents-control",
                "agents-core"
            ]
        );
        for s in services() {
            assert!(!s.classes.unwrap().contains(&DECOMMISSIONED.to_string()));
        }
    }
}
