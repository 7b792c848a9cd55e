//! Datto SaaS Protection and Datto BCDR, through the Datto Partner Portal REST API: one key
//! pair reads both. SaaS customers and the clients named on BCDR appliances are accounts;
//! protected seats, appliances and protected machines are usage items.
//!
//! Auth is HTTP Basic with the API key pair (public key : secret key) from the Datto Partner
//! Portal (Admin > Integrations > API keys) on `https://api.datto.com`. **The key is
//! privileged**: it is partner-wide with no narrower scope, and the same API changes SaaS
//! Protection seats (a bulk seat change is billed). This connector only sends `GET`.
//!
//! Reads, SaaS Protection: `GET /v1/saas/domains` (a bare array, no paging: one element per
//! customer domain), then `GET /v1/saas/{saasCustomerId}/seats` once per customer, a few at a
//! time. Each seat is an item of class `SAAS_<TYPE>` with its `billable` flag (`"1"`/`"0"`),
//! state, and the customer's product type (`Office365`, `GoogleApps`) and retention. Datto
//! bills the seats flagged billable, so the seat services count those.
//!
//! Reads, BCDR: `GET /v1/bcdr/device?_page=1&_perPage=100&showHiddenDevices=0` (paged until
//! `pagination.totalPages`; hidden appliances are decommissioned ones and left out), then
//! `GET /v1/bcdr/device/{serialNumber}/asset/agent` per appliance. An appliance is an item
//! (`BCDR_APPLIANCE`) with its service plan and offsite storage in GB; each protected machine is
//! an item of class `SERVER`, `WORKSTATION`, `VIRTUAL` or `ARCHIVED` (how the kind is told:
//! `convert.rs`). An appliance's account is the SaaS customer of the same name (case folded)
//! when there is one, so a client seen by both products is one account; else the client name
//! typed on the appliance (`clientCompanyName`, free text), mapped by name as usual.
//!
//! Read tolerantly: a record without its id is set aside and named; an odd field is unknown
//! for its record. A customer or appliance whose seats or machines the API will not list
//! (400, 404) is unreadable (its findings turn `stale_source`), the rest still count; when
//! every one is refused the sync fails.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use convert::{APPLIANCE, ARCHIVED, SEAT_CLASSES, SERVER, VIRTUAL, WORKSTATION};
pub use settings::Settings;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use rust_decimal::Decimal;
use secrecy::SecretString;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, End, HttpClient, Paging, Param, Read, Request, RetryPolicy, StaticHeaders,
    Tolerant, check_url,
};
use crate::model::{
    ServiceDef, ServiceFamily, ServiceFilters, Snapshot, VendorAccount, VendorSnapshot,
};

use convert::{agent_item, appliance_item, bcdr_account, saas_account, seat_item};

/// The Partner Portal REST API host (one, global).
pub const DEFAULT_URL: &str = "https://api.datto.com";
/// Appliances per page of the device list.
pub const PAGE_SIZE: usize = 100;

/// Every path this connector requests (relative to the host; `{}` an id): reads only.
pub const READ_PATHS: &[&str] = &[
    "v1/saas/domains",
    "v1/saas/{}/seats",
    "v1/bcdr/device",
    "v1/bcdr/device/{}/asset/agent",
];

fn billable(mut f: ServiceFilters, product: Option<&str>) -> ServiceFilters {
    f.attrs.insert("billable".into(), "1".into());
    if let Some(p) = product {
        f.attrs.insert("product_type".into(), p.into());
    }
    f
}

fn classes(c: &[&str]) -> Option<Vec<String>> {
    Some(c.iter().map(|s| s.to_string()).collect())
}

/// Built-in services: SaaS seats Datto bills (all, per product, users only), appliances, the
/// protected machines by kind, and offsite storage in GB.
pub fn services() -> Vec<ServiceDef> {
    let def =
        |key: &str, name: &str, classes: Option<Vec<String>>, filters: ServiceFilters| ServiceDef {
            key: key.into(),
            name: name.into(),
            classes,
            filters,
            ..ServiceDef::default()
        };
    let none = ServiceFilters::default;
    let mut v = vec![
        def(
            "saas-seats",
            "SaaS Protection billable seats",
            classes(SEAT_CLASSES),
            billable(none(), None),
        ),
        def(
            "m365-seats",
            "SaaS Protection billable seats, Microsoft 365",
            classes(SEAT_CLASSES),
            billable(none(), Some("Office365")),
        ),
        def(
            "google-seats",
            "SaaS Protection billable seats, Google Workspace",
            classes(SEAT_CLASSES),
            billable(none(), Some("GoogleApps")),
        ),
        def(
            "saas-user-seats",
            "SaaS Protection billable user seats",
            classes(&["SAAS_USER"]),
            billable(none(), None),
        ),
        def(
            "bcdr-appliances",
            "BCDR appliances",
            classes(&[APPLIANCE]),
            none(),
        ),
        def(
            "bcdr-servers",
            "BCDR protected servers",
            classes(&[SERVER]),
            none(),
        ),
        def(
            "bcdr-workstations",
            "BCDR protected workstations",
            classes(&[WORKSTATION]),
            none(),
        ),
        def(
            "bcdr-virtual",
            "BCDR protected virtual machines (agentless)",
            classes(&[VIRTUAL]),
            none(),
        ),
        def(
            "bcdr-agents",
            "BCDR protected machines (all kinds)",
            classes(&[SERVER, WORKSTATION, VIRTUAL]),
            none(),
        ),
    ];
    v.push(ServiceDef {
        key: "bcdr-offsite-gb".into(),
        name: "BCDR offsite storage (GB)".into(),
        classes: classes(&[APPLIANCE]),
        quantity: Some("offsite_gb".into()),
        ..ServiceDef::default()
    });
    v
}

/// One service per BCDR service plan (`Infinite Cloud Retention` → `infinite-cloud-retention:plan`),
/// counting appliances.
pub fn families() -> Vec<ServiceFamily> {
    vec![ServiceFamily {
        attr: "service_plan",
        name_attr: None,
        key_suffix: ":plan",
        name_suffix: " (appliances on the plan)",
        quantity: None,
        classes: Some(&[APPLIANCE]),
    }]
}

pub struct DattoBackup {
    name: String,
    client: HttpClient,
    concurrency: usize,
}

impl std::fmt::Debug for DattoBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DattoBackup")
            .field("name", &self.name)
            .field("client", &self.client)
            .finish()
    }
}

/// A refusal that concerns one customer or appliance only (400, 404).
fn one_refused(e: &ConnectorError) -> Option<(u16, String)> {
    match e {
        ConnectorError::Http {
            status: status @ (400 | 404),
            snippet,
            ..
        } => Some((*status, snippet.clone())),
        _ => None,
    }
}

impl DattoBackup {
    /// `secret` is asked for `secret_key`.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<DattoBackup> {
        let base = check_url(name, settings.url().trim_end_matches('/'))?;
        let again = format!(
            "then run `reconcile connect datto-backup --name {name} --public-key {}` again",
            settings.public_key.trim()
        );
        let hint = format!(
            "Datto refused the API key pair: check the public and secret keys in the Datto Partner Portal (Admin > Integrations > API keys; the secret key is shown once, so create a new pair if it is lost), {again}"
        );
        let forbidden = format!(
            "Datto refused the request though the key pair is valid: the partner account may not have SaaS Protection or BCDR, or the key pair was made for another partner; check Admin > Integrations in the Datto Partner Portal, {again}"
        );
        let auth = StaticHeaders::basic(
            settings.public_key.trim(),
            &secret("secret_key")?,
            &[],
            hint,
        )
        .map_err(|e| anyhow::anyhow!("connection `{name}`: the API key {e}"))?
        .forbidden_hint(forbidden);
        Ok(DattoBackup {
            name: name.to_string(),
            concurrency: retry.concurrency_or(ConnectorKind::DattoBackup.default_concurrency()),
            client: HttpClient::new(name, base, Arc::new(auth), retry),
        })
    }

    /// One request answered with a bare array, read tolerantly; set-aside records named with
    /// the endpoint.
    async fn array<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Tolerant<T>, ConnectorError> {
        self.collect(Request::get(path), Paging::Single, "").await
    }

    /// Every page of a list, read tolerantly; records set aside are named with the endpoint.
    async fn collect<T: serde::de::DeserializeOwned>(
        &self,
        req: Request,
        paging: Paging,
        items_at: &'static str,
    ) -> Result<Tolerant<T>, ConnectorError> {
        self.client
            .pages(req, paging, items_at)
            .none_when_absent()
            .all_tolerant_named(&|_| {})
            .await
    }

    async fn domains(&self) -> Result<Tolerant<wire::Domain>, ConnectorError> {
        self.array("v1/saas/domains").await
    }

    async fn devices(&self) -> Result<Tolerant<wire::Device>, ConnectorError> {
        let paging = Paging::Numbered {
            page: "_page",
            first: 1,
            size: Some(Param::new("_perPage", PAGE_SIZE)),
            end: End::TotalPages("/pagination/totalPages"),
        };
        let req = Request::get("v1/bcdr/device").query("showHiddenDevices", "0");
        self.collect(req, paging, "/items").await
    }
}

/// What a sync gathers besides the items.
#[derive(Default)]
struct Gathered {
    accounts: BTreeMap<String, VendorAccount>,
    items: Vec<crate::model::UsageItem>,
    unreadable: BTreeMap<String, String>,
    set_aside: Vec<String>,
    refused: usize,
    asked: usize,
    first_refusal: Option<ConnectorError>,
}

impl Gathered {
    /// Records a list that concerns one account; `Ok(None)` when it was refused alone.
    fn take<T>(
        &mut self,
        account: &str,
        what: &str,
        r: Result<Tolerant<T>, ConnectorError>,
    ) -> Result<Option<Vec<Read<T>>>, ConnectorError> {
        self.asked += 1;
        match r {
            Ok(t) => {
                self.set_aside.extend(t.set_aside);
                Ok(Some(t.records))
            }
            Err(e) => {
                let Some((status, snippet)) = one_refused(&e) else {
                    return Err(e);
                };
                self.unreadable.insert(
                    account.to_string(),
                    format!("its {what} could not be listed (HTTP {status}: {snippet})"),
                );
                self.refused += 1;
                self.first_refusal.get_or_insert(e);
                Ok(None)
            }
        }
    }
}

#[async_trait]
impl Connector for DattoBackup {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::DattoBackup
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let domains = self.domains().await?.records;
        let devices = self.devices().await?.records;
        let customers: BTreeSet<&str> = domains
            .iter()
            .map(|d| d.value.saas_customer_id.as_str())
            .collect();
        Ok(format!(
            "signed in to {}; {} SaaS Protection customer(s) and {} BCDR appliance(s) readable (the key pair is partner-wide and can change seats: reconcile only reads)",
            self.client.base().origin().ascii_serialization(),
            customers.len(),
            devices.len()
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let mut g = Gathered::default();
        let Tolerant { records, set_aside } = self.domains().await?;
        g.set_aside.extend(set_aside);
        // One customer may have several domains; its seats are listed once.
        let mut customers: Vec<wire::Domain> = Vec::new();
        for d in records {
            if !customers
                .iter()
                .any(|c| c.saas_customer_id == d.value.saas_customer_id)
            {
                customers.push(d.value);
            }
        }
        cx.report("SaaS customers", customers.len());
        let paths: Vec<(usize, String)> = customers
            .iter()
            .enumerate()
            .map(|(i, d)| (i, format!("v1/saas/{}/seats", d.saas_customer_id)))
            .collect();
        let mut answers = stream::iter(paths)
            .map(|(i, path)| async move { (i, self.array::<wire::Seat>(&path).await) })
            .buffered(self.concurrency);
        while let Some((i, seats)) = answers.next().await {
            let d = &customers[i];
            let id = saas_account(&d.saas_customer_id);
            g.accounts
                .entry(id.clone())
                .or_insert_with(|| VendorAccount {
                    id: id.clone(),
                    name: d
                        .saas_customer_name
                        .clone()
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| format!("SaaS customer {}", d.saas_customer_id)),
                    raw: None,
                });
            if let Some(seats) = g.take(&id, "seats", seats)? {
                let before = g.items.len();
                for s in seats {
                    g.items.push(seat_item(s.value, s.raw, &s.odd, d));
                }
                // Datto's own count beside the seats listed: a difference is worth a log line
                // (the listed seats are what counts, each one explainable).
                let listed = g.items[before..]
                    .iter()
                    .filter(|i| i.attrs.get("billable").map(String::as_str) == Some("1"))
                    .count();
                if let Some(used) = d.seats_used
                    && used != Decimal::from(listed)
                {
                    tracing::warn!(connection = %self.name, customer = %id, seats_used = %used, billable_listed = listed, "Datto's seatsUsed differs from the billable seats it lists");
                }
                cx.report("seats", g.items.len());
            }
        }
        drop(answers);
        let Tolerant { records, set_aside } = self.devices().await?;
        g.set_aside.extend(set_aside);
        cx.report("BCDR appliances", records.len());
        // Hidden appliances are decommissioned; the request asks for none, and any still sent
        // are left out.
        let devices: Vec<Read<wire::Device>> = records
            .into_iter()
            .filter(|d| d.value.hidden != Some(true))
            .collect();
        let paths: Vec<(usize, String)> = devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let serial = &d.value.serial_number;
                (i, format!("v1/bcdr/device/{serial}/asset/agent"))
            })
            .collect();
        let mut answers = stream::iter(paths)
            .map(|(i, path)| async move { (i, self.array::<wire::Agent>(&path).await) })
            .buffered(self.concurrency);
        // One client seen by both products is one account: an appliance whose client name is a
        // SaaS customer's (case folded) joins that customer's account.
        let saas_by_name: BTreeMap<String, String> = g
            .accounts
            .values()
            .map(|a| (a.name.trim().to_lowercase(), a.id.clone()))
            .collect();
        while let Some((i, agents)) = answers.next().await {
            let d = &devices[i];
            let (own, name) = bcdr_account(&d.value);
            let id = saas_by_name
                .get(&name.trim().to_lowercase())
                .cloned()
                .unwrap_or(own);
            g.accounts
                .entry(id.clone())
                .or_insert_with(|| VendorAccount {
                    id: id.clone(),
                    name,
                    raw: None,
                });
            let (item, unknown) = appliance_item(&d.value, &id, d.raw.clone(), &d.odd);
            if let Some(why) = unknown {
                g.unreadable
                    .entry(id.clone())
                    .or_insert_with(|| format!("its counts are unknown: {why}"));
            }
            g.items.push(item);
            if let Some(agents) = g.take(&id, "protected machines", agents)? {
                for a in agents {
                    g.items
                        .push(agent_item(a.value, a.raw, &a.odd, &d.value, &id));
                }
            }
            cx.report("protected machines", g.items.len());
        }
        drop(answers);
        if g.asked > 0
            && g.refused == g.asked
            && let Some(e) = g.first_refusal.take()
        {
            return Err(e);
        }
        tracing::debug!(connection = %self.name, accounts = g.accounts.len(), items = g.items.len(), "read Datto backup");
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts: g.accounts.into_values().collect(),
            items: g.items,
            unreadable: g.unreadable,
            set_aside: g.set_aside,
        }))
    }
}
