//! Acronis Cyber Protect Cloud, through the Account Management API v2: customer tenants are
//! accounts; each usage row (workstations, servers, virtual machines, Microsoft 365 mailboxes,
//! storage, per edition) is a usage item whose units are its value.
//!
//! Auth is OAuth2 client credentials at `<data center>/api/2/idp/token`, the client in HTTP
//! Basic, no scope; tokens are cached by the shared [`OAuth2`]. The data-center URL is shown
//! when the API client is created (`https://eu2-cloud.acronis.com`, ...): it is required, never
//! guessed. **The secret is an admin credential**: the portal offers no read-only API client
//! that could be confirmed, and the same API changes offering items, pricing and tenants. This
//! connector only sends `GET` (and the token `POST`).
//!
//! Reads: `GET /clients/{client_id}` for the tenant the client acts for; `GET
//! /tenants?subtree_root_id=<it>` for the whole hierarchy in one cursor-paged listing (the next
//! page is `after=<paging.cursors.after>` alone, since the cursor carries the filters); then
//! `GET /tenants/usages?tenants=<ids>` in batches of at most 100 customer tenants, a few at a
//! time. Customers are the tenants of kind `customer` that are enabled and not deleted; the
//! partner and folder levels above them are walked through, not counted.
//!
//! A usage row's class is its tenant's pricing mode: `PRODUCTION` (counted), `TRIAL` or
//! `SUSPENDED` (visible in `explain`, counted nowhere); an unknown mode is counted as production
//! and flagged. Storage rows (bytes) count GB (÷ 1024³, 2 places: inferred from the console),
//! kept apart per storage location (`infra_id`). A row whose value cannot be read makes its
//! tenant unreadable (`stale_source`), never a 0.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use convert::{PRODUCTION, SUSPENDED, TRIAL};
pub use settings::Settings;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use secrecy::SecretString;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, NextLink, OAuth2, Paging, Read, Request, RetryPolicy, Tolerant,
    check_url, decode_one,
};
use crate::model::{
    ServiceDef, ServiceFamily, ServiceFilters, Snapshot, VendorAccount, VendorSnapshot,
};

use convert::{class_of, usage_item};

/// Customer tenants per usage request: the API's limit for its other lists of ids.
pub const BATCH: usize = 100;
/// Tenants per page of the hierarchy.
pub const PAGE_SIZE: usize = 1000;

/// Every path this connector requests under `/api/2` (`{}` an id): reads only.
pub const READ_PATHS: &[&str] = &["clients/{}", "tenants", "tenants/usages"];

/// Built-in services: the usage names MSPs resell, over every edition, of tenants in
/// production.
pub fn services() -> Vec<ServiceDef> {
    let def = |key: &str, name: &str, usage: &str| {
        let mut filters = ServiceFilters::default();
        filters.attrs.insert("usage_name".into(), usage.into());
        ServiceDef {
            key: key.into(),
            name: name.into(),
            classes: Some(vec![PRODUCTION.to_string()]),
            filters,
            quantity: Some("units".into()),
            ..ServiceDef::default()
        }
    };
    vec![
        def(
            "workstations",
            "Protected workstations (all editions)",
            "workstations",
        ),
        def("servers", "Protected servers (all editions)", "servers"),
        def("vms", "Protected virtual machines (all editions)", "vms"),
        def(
            "mailboxes",
            "Protected Microsoft 365 mailboxes (all editions)",
            "mailboxes",
        ),
        def(
            "storage-gb",
            "Backup storage in GB (all editions and locations)",
            "storage",
        ),
    ]
}

/// One service per usage and edition (`workstations/advanced` → `workstations-advanced:edition`).
pub fn families() -> Vec<ServiceFamily> {
    vec![ServiceFamily {
        attr: "usage_key",
        name_attr: None,
        key_suffix: ":edition",
        name_suffix: "",
        quantity: Some("units"),
        classes: Some(&[PRODUCTION]),
    }]
}

pub struct Acronis {
    name: String,
    client_id: String,
    client: HttpClient,
    concurrency: usize,
}

impl std::fmt::Debug for Acronis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acronis")
            .field("name", &self.name)
            .field("client", &self.client)
            .finish()
    }
}

impl Acronis {
    /// `secret` is asked for `client_secret`.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Acronis> {
        let root = settings.url.trim().trim_end_matches('/');
        let base = check_url(name, &format!("{root}/api/2"))?;
        let token_url = check_url(name, &format!("{root}/api/2/idp/token"))?;
        let client_id = settings.client_id.trim();
        let again = format!(
            "then run `reconcile connect acronis --name {name} --url {root} --client-id {client_id}` again"
        );
        let hint = format!(
            "Acronis refused the API client: check the client ID and secret (Management portal > Settings > API clients; the secret is shown once, so create a new client if it is lost) and that --url is the data center URL shown with it, {again}"
        );
        let forbidden = format!(
            "Acronis refused the request though the token is valid: the API client's tenant may not read this part of the hierarchy, or the client was disabled. Check it under Settings > API clients of the partner tenant whose customers you bill, {again}"
        );
        let auth = OAuth2::client_credentials(
            name,
            token_url,
            client_id,
            secret("client_secret")?,
            "",
            retry.clone(),
            hint,
        )
        .client_in_basic()
        .forbidden_hint(forbidden);
        Ok(Acronis {
            name: name.to_string(),
            client_id: client_id.to_string(),
            concurrency: retry.concurrency_or(ConnectorKind::Acronis.default_concurrency()),
            client: HttpClient::new(name, base, Arc::new(auth), retry),
        })
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

    /// The tenant the API client acts for.
    async fn home(&self) -> Result<String, ConnectorError> {
        let path = format!("clients/{}", self.client_id);
        let resp = self.client.get(&path, &[]).await?;
        let c: wire::Client = decode_one(&self.name, &resp.endpoint, &resp.body)?;
        if c.status.as_deref() == Some("disabled") {
            return Err(ConnectorError::Invalid {
                connection: self.name.clone(),
                message: format!(
                    "the API client {} is disabled in Acronis: enable it under Settings > API clients, or create a new one and run `reconcile connect acronis` again",
                    self.client_id
                ),
            });
        }
        Ok(c.tenant_id)
    }

    /// Every tenant under `root`, page after page (`after` alone on the next request).
    async fn tenants(&self, root: &str) -> Result<Tolerant<wire::Tenant>, ConnectorError> {
        let next = Paging::NextUrl(Arc::new(|body: &serde_json::Value| {
            body.pointer("/paging/cursors/after")
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| NextLink {
                    url: format!(
                        "tenants?after={}",
                        url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
                    ),
                    headers: Vec::new(),
                })
        }));
        let req = Request::get("tenants")
            .query("subtree_root_id", root)
            .query("limit", PAGE_SIZE);
        self.collect(req, next, "/items").await
    }

    /// The customer tenants (enabled, not deleted) of the hierarchy.
    async fn customers(&self) -> Result<(Vec<Read<wire::Tenant>>, Vec<String>), ConnectorError> {
        let root = self.home().await?;
        let Tolerant { records, set_aside } = self.tenants(&root).await?;
        let customers = records
            .into_iter()
            .filter(|t| {
                t.value.kind.as_deref() == Some("customer")
                    && t.value.enabled != Some(false)
                    && t.value.deleted_at.is_none()
            })
            .collect();
        Ok((customers, set_aside))
    }
}

#[async_trait]
impl Connector for Acronis {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Acronis
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let (customers, _) = self.customers().await?;
        let n = customers.len();
        Ok(format!(
            "signed in to {}; {n} customer tenant{} readable (the API client can also change tenants and offering items: reconcile only reads)",
            self.client.base().origin().ascii_serialization(),
            if n == 1 { " is" } else { "s are" },
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let (customers, mut set_aside) = self.customers().await?;
        cx.report("customer tenants", customers.len());
        let modes: BTreeMap<String, Option<String>> = customers
            .iter()
            .map(|t| (t.value.id.clone(), t.value.pricing_mode.clone()))
            .collect();
        let batches: Vec<String> = customers
            .chunks(BATCH)
            .map(|b| {
                b.iter()
                    .map(|t| t.value.id.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        let mut answers = stream::iter(batches)
            .map(|ids| async move {
                let req = Request::get("tenants/usages").query("tenants", ids);
                self.collect::<wire::TenantUsages>(req, Paging::Single, "/items")
                    .await
            })
            .buffered(self.concurrency);
        let mut items = Vec::new();
        let mut unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
        while let Some(batch) = answers.next().await {
            let batch = batch?;
            set_aside.extend(batch.set_aside);
            for t in batch.records {
                let tenant = t.value.tenant.clone();
                let Some(mode) = modes.get(&tenant) else {
                    continue;
                };
                let (class, odd_mode) = class_of(mode.as_deref());
                for (i, row) in t.value.usages.into_iter().enumerate() {
                    let (item, why) = usage_item(&tenant, class, row, i);
                    if let Some(why) = why {
                        unknown.entry(tenant.clone()).or_default().push(why);
                    }
                    if let Some(mut item) = item {
                        if odd_mode {
                            item.attrs.insert(
                                "unknown_pricing_mode".into(),
                                mode.clone().unwrap_or_default(),
                            );
                        }
                        if let Some(m) = mode {
                            item.attrs.insert("pricing_mode".into(), m.clone());
                        }
                        items.push(item);
                    }
                }
            }
            cx.report("usage rows", items.len());
        }
        drop(answers);
        let unreadable = unknown
            .into_iter()
            .map(|(id, why)| (id, format!("its counts are unknown: {}", why.join("; "))))
            .collect();
        let accounts = customers
            .into_iter()
            .map(|t| VendorAccount {
                name: t
                    .value
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| format!("tenant {}", t.value.id)),
                id: t.value.id,
                raw: Some(t.raw),
            })
            .collect();
        tracing::debug!(connection = %self.name, items = items.len(), "read Acronis");
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts,
            items,
            unreadable,
            set_aside,
        }))
    }
}
