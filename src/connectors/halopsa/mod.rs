//! HaloPSA: clients, recurring invoices and their lines (the recurring billing), the client
//! contracts lines point at, and the item catalog, into a [`PsaSnapshot`].
//!
//! Auth: OAuth2 client credentials against the instance's auth server, which
//! `GET {url}/api/authinfo` names (`auth_url`; `{url}/auth` when it names none, or pinned by
//! `auth_url` in the config). Token: `POST {auth_url}/token` (`?tenant=` for hosted instances)
//! with `grant_type=client_credentials`, `client_id`, `client_secret`, `scope`. The API lives at
//! `{url}/api/`. Lists page with `pageinate=true&page_size&page_no` (1-based) and say the total
//! in `record_count`. Ids are signed integers (recurring-invoice templates are negative) and are
//! kept as their decimal text.

mod args;
mod convert;
mod settings;
mod wire;
mod write;

pub use args::Args;
pub use settings::Settings;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use jiff::Timestamp;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use crate::connectors::{Connector, ConnectorKind, KindSettings, SyncCx};
use crate::http::{
    ConnectorError, End, HttpClient, OAuth2, Oddities, Pages, Paging, Param, Read, Request,
    RetryPolicy, check_url, decode_one, decode_tolerant, get_discovery, parse_json, take_list,
};
use crate::model::{PsaAgreement, PsaCompany, PsaProduct, PsaSnapshot, Snapshot};

use convert::{company, contract, invoice, line, product};

/// Halo publishes no maximum; 100 is what its own PowerShell module pages with.
pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 1000;
/// Agreement ids of contracts are prefixed so they never collide with recurring-invoice ids.
pub const CONTRACT_PREFIX: &str = "contract:";

pub struct HaloPsa {
    name: String,
    instance: Url,
    settings: Settings,
    client_secret: SecretString,
    scope: String,
    page_size: usize,
    retry: RetryPolicy,
    api: OnceCell<(HttpClient, Url)>,
}

/// What to check when the auth server or the API refuses the credentials.
fn auth_hint(name: &str) -> String {
    format!(
        "Check the client id and secret of the HaloPSA API application (Configuration > Integrations > HaloPSA API > View Applications; authentication method Client ID and Secret), and the tenant for hosted instances; then run `reconcile connect halopsa --name {name}` again"
    )
}

/// What a 403 on `endpoint` means in Halo terms: the application's scope or its agent's role.
fn permission_hint(name: &str, endpoint: &str) -> String {
    let e = endpoint.to_ascii_lowercase();
    let what = if e.contains("/recurringinvoice") {
        "`read:invoices` (recurring invoices), and an agent role that may view Billing > Recurring Invoices"
    } else if e.contains("/clientcontract") {
        "`read:contracts`, and an agent role that may view Contracts"
    } else if e.contains("/item") {
        "`read:items`, and an agent role that may view Items"
    } else if e.contains("/client") {
        "`read:customers`, and an agent role that may view Customers"
    } else {
        "`read:customers`, `read:invoices`, `read:contracts` and `read:items`"
    };
    format!(
        "The HaloPSA API application is missing a permission: it needs {what}. In Configuration > Integrations > HaloPSA API > the application, grant it on the Permissions tab (or use scope `all`) and check the agent it logs in as; then run `reconcile sync {name}` again"
    )
}

impl HaloPsa {
    /// `secret` is asked for each secret field this connection needs (`client_secret`).
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<HaloPsa> {
        settings.validate(name)?;
        let instance = check_url(name, settings.url.trim_end_matches('/'))?;
        Ok(HaloPsa {
            name: name.into(),
            instance,
            settings: settings.clone(),
            client_secret: secret("client_secret")?,
            scope: settings.scope.clone().unwrap_or_else(|| "all".into()),
            page_size: settings
                .page_size
                .unwrap_or(DEFAULT_PAGE_SIZE)
                .clamp(1, MAX_PAGE_SIZE),
            retry,
            api: OnceCell::new(),
        })
    }

    fn under_instance(&self, path: &str) -> Url {
        let mut s = self.instance.as_str().trim_end_matches('/').to_string();
        s.push('/');
        s.push_str(path);
        Url::parse(&s).expect("the instance URL joined with a path is a URL")
    }

    /// The auth server: pinned, else `auth_url` from `/api/authinfo`, else `{url}/auth`.
    pub async fn discover_auth_url(&self) -> Result<Url, ConnectorError> {
        if let Some(a) = &self.settings.auth_url {
            return check_url(&self.name, a.trim_end_matches('/'));
        }
        let url = self.under_instance("api/authinfo");
        let resp = match get_discovery(
            &self.name,
            &url,
            &self.retry,
            "This endpoint needs no credentials; check the instance url, or pin the auth server with auth_url",
        )
        .await
        {
            Ok(r) => Some(r),
            // Older or self-hosted instances without authinfo: Halo's default auth path.
            Err(ConnectorError::Http { status: 404, .. }) => None,
            Err(e) => return Err(e),
        };
        let info: wire::AuthInfo = match resp {
            Some(r) => decode_one(&self.name, &r.endpoint, &r.body)?,
            None => wire::AuthInfo::default(),
        };
        match info.auth_url.filter(|a| !a.trim().is_empty()) {
            Some(a) => check_url(&self.name, a.trim().trim_end_matches('/')),
            None => Ok(self.under_instance("auth")),
        }
    }

    async fn api(&self) -> Result<&(HttpClient, Url), ConnectorError> {
        self.api
            .get_or_try_init(|| async {
                let auth_url = self.discover_auth_url().await?;
                let mut token_url = Url::parse(&format!(
                    "{}/token",
                    auth_url.as_str().trim_end_matches('/')
                ))
                .expect("the auth URL joined with /token is a URL");
                if let Some(t) = &self.settings.tenant {
                    token_url.query_pairs_mut().append_pair("tenant", t.trim());
                }
                let auth = OAuth2::client_credentials(
                    &self.name,
                    token_url,
                    &self.settings.client_id,
                    self.client_secret.clone(),
                    &self.scope,
                    self.retry.clone(),
                    auth_hint(&self.name),
                )
                .forbidden_hint(permission_hint(&self.name, ""));
                let base = self.under_instance("api/");
                let client = HttpClient::new(&self.name, base, Arc::new(auth), self.retry.clone());
                Ok((client, auth_url))
            })
            .await
    }

    /// The pages of the list at `path` (its records in the array `items_at`), `page_size`
    /// records a page until `record_count` records have been read.
    fn pages<'a, T: DeserializeOwned>(
        api: &'a HttpClient,
        path: &str,
        items_at: &'static str,
        query: &[(&str, String)],
        page_size: usize,
    ) -> Pages<'a, T> {
        let paging = Paging::Numbered {
            page: "page_no",
            first: 1,
            size: Some(Param::new("page_size", page_size)),
            end: End::TotalRecords("/record_count"),
        };
        api.pages(
            Request::get(path).queries(query).query("pageinate", true),
            paging,
            items_at,
        )
    }

    /// Every record of a list, read tolerantly: records set aside and odd fields go to `odd`.
    async fn all<T: DeserializeOwned>(
        &self,
        path: &str,
        items_at: &'static str,
        query: &[(&str, String)],
        progress: &(dyn Fn(usize) + Sync),
        odd: &mut Oddities,
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        let (api, _) = self.api().await?;
        let got = Self::pages(api, path, items_at, query, self.page_size)
            .all_tolerant(progress)
            .await
            .map_err(|e| self.name_permission(e))?;
        let read = odd.take(&format!("GET /api/{path}"), got);
        Ok(read.into_iter().map(|r| (r.value, r.raw)).collect())
    }

    /// The first record of a list, to prove it readable.
    async fn first<T: DeserializeOwned>(
        &self,
        path: &str,
        items_at: &'static str,
        query: &[(&str, String)],
    ) -> Result<(), ConnectorError> {
        let (api, _) = self.api().await?;
        // Read as sync reads it: a first record the spec allows (a template invoice without a
        // client) must not fail `connect`.
        Self::pages::<T>(api, path, items_at, query, 1)
            .tolerant()
            .next()
            .await
            .map_err(|e| self.name_permission(e))?;
        Ok(())
    }

    /// A 403 names the Halo permission the endpoint needs.
    fn name_permission(&self, e: ConnectorError) -> ConnectorError {
        e.name_permission(|endpoint| permission_hint(&self.name, endpoint))
    }

    /// The lines of one recurring invoice from its single record (when the list had none).
    async fn invoice_lines(&self, id: &str) -> Result<Vec<Value>, ConnectorError> {
        let (api, _) = self.api().await?;
        let resp = api
            .get(
                &format!("RecurringInvoice/{id}"),
                &[("includedetails", "true".into())],
            )
            .await
            .map_err(|e| self.name_permission(e))?;
        // Only the lines are taken: the header was read from the list, and an odd value in
        // it here must not fail what the list read tolerantly.
        let mut body = parse_json(&self.name, &resp.endpoint, &resp.body)?;
        take_list(&self.name, &resp.endpoint, &mut body, "/lines", true)
    }
}

#[async_trait]
impl Connector for HaloPsa {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::HaloPsa
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let (_, auth_url) = self.api().await?;
        self.first::<wire::Client>("Client", "/clients", &[])
            .await?;
        self.first::<wire::InvoiceHeader>(
            "RecurringInvoice",
            "/invoices",
            &[("includelines", "true".into())],
        )
        .await?;
        Ok(format!(
            "signed in to {} (auth server {}); clients and recurring invoices are readable",
            self.instance.origin().ascii_serialization(),
            auth_url
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let mut odd = Oddities::default();
        let clients = self
            .all::<wire::Client>(
                "Client",
                "/clients",
                &[("includeinactive", "true".into())],
                &|n| cx.report("clients", n),
                &mut odd,
            )
            .await?;
        let invoices = self
            .all::<wire::InvoiceHeader>(
                "RecurringInvoice",
                "/invoices",
                &[("includelines", "true".into())],
                &|n| cx.report("recurring invoices", n),
                &mut odd,
            )
            .await?;
        let contracts = self
            .all::<wire::ContractHeader>(
                "ClientContract",
                "/contracts",
                &[("includeinactive", "true".into())],
                &|n| cx.report("contracts", n),
                &mut odd,
            )
            .await?;
        let items = self
            .all::<wire::Item>("Item", "/items", &[], &|n| cx.report("items", n), &mut odd)
            .await?;

        // Lists that came without lines: read those invoices one by one.
        let missing: Vec<(usize, String)> = invoices
            .iter()
            .enumerate()
            .filter(|(_, (h, _))| h.lines.is_none())
            .map(|(i, (h, _))| (i, h.id.clone()))
            .collect();
        let fetched: Vec<(usize, Vec<Value>)> =
            stream::iter(missing)
                .map(|(i, id)| async move {
                    Ok::<_, ConnectorError>((i, self.invoice_lines(&id).await?))
                })
                .buffer_unordered(
                    self.retry
                        .concurrency_or(ConnectorKind::HaloPsa.default_concurrency()),
                )
                .try_collect()
                .await?;
        let mut invoices = invoices;
        for (i, lines) in fetched {
            invoices[i].0.lines = Some(lines);
        }

        let now = Timestamp::now();
        let companies: Vec<PsaCompany> = clients
            .into_iter()
            .map(|(c, raw)| {
                company(
                    c,
                    raw,
                    &self.settings.billable_client_types,
                    &self.settings.billable_top_levels,
                )
            })
            .collect();
        let items: HashMap<String, (wire::Item, String)> = items
            .into_iter()
            .map(|(i, raw)| (i.id.clone(), (i, raw)))
            .collect();
        let mut agreements: Vec<PsaAgreement> = contracts
            .into_iter()
            .map(|(c, raw)| contract(c, raw, now))
            .collect();
        let contract_ids: HashMap<String, usize> = agreements
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        let mut lines = Vec::new();
        let mut meta = BTreeMap::new();
        let mut unreadable = BTreeMap::new();
        let (mut skipped_inactive, mut computed_qty) = (0usize, 0usize);
        for (h, raw) in invoices {
            let mut h = h;
            let raw_lines = h.lines.take().unwrap_or_default();
            let a = invoice(&h, raw, now);
            let in_force = a.status == "Active";
            let endpoint = format!("GET /api/RecurringInvoice (invoice {})", h.id);
            let details = odd.take(
                &endpoint,
                decode_tolerant::<wire::InvoiceDetail>("lines", 0, raw_lines),
            );
            for Read {
                value: d,
                raw: raw_line,
                ..
            } in details
            {
                if !in_force {
                    continue;
                }
                if d.isinactive.unwrap_or(false) {
                    skipped_inactive += 1;
                    continue;
                }
                if d.recurring_invoice_quantity_type
                    .as_ref()
                    .is_some_and(|q| q.as_i64() != Some(0) && !q.is_null())
                {
                    computed_qty += 1;
                }
                // What the company is billed depends on this quantity: never read it as 0.
                if d.qty_order.is_none() {
                    unreadable
                        .entry(a.company_id.clone())
                        .or_insert_with(|| {
                            format!(
                                "line {} of recurring invoice {} has no readable quantity (`qty_order`)",
                                d.id, h.id
                            )
                        });
                    continue;
                }
                lines.push(line(d, raw_line, &h, &a, &items, &contract_ids));
            }
            agreements.push(a);
        }
        lines.sort_by(|a, b| a.agreement_id.cmp(&b.agreement_id).then(a.id.cmp(&b.id)));
        if skipped_inactive > 0 {
            meta.insert(
                "inactive recurring lines skipped".into(),
                skipped_inactive.to_string(),
            );
        }
        if computed_qty > 0 {
            meta.insert(
                "lines with a computed quantity (qty_order as last set)".into(),
                computed_qty.to_string(),
            );
        }
        meta.extend(odd.note());
        let mut products: Vec<PsaProduct> = items
            .into_values()
            .map(|(i, raw)| product(i, raw))
            .collect();
        products.sort_by(|a, b| a.identifier.cmp(&b.identifier).then(a.id.cmp(&b.id)));
        Ok(Snapshot::Psa(PsaSnapshot {
            companies,
            agreements,
            lines,
            products,
            whole_units: false,
            meta,
            unreadable,
            set_aside: odd.set_aside,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_hints_name_the_scope() {
        assert!(permission_hint("h", "GET /api/RecurringInvoice").contains("read:invoices"));
        assert!(permission_hint("h", "GET /api/Client").contains("read:customers"));
        assert!(permission_hint("h", "GET /api/ClientContract").contains("read:contracts"));
        assert!(permission_hint("h", "GET /api/Item").contains("read:items"));
    }
}
