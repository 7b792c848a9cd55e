//! Microsoft 365 licenses per customer tenant: customer tenants are accounts, each tenant's
//! subscribed SKUs (Microsoft Graph `GET /v1.0/subscribedSkus`) are usage items, and, where
//! configured, each tenant's Partner Center subscriptions are a second source of purchased
//! quantities.
//!
//! Tenants come from the partner tenant's GDAP customers
//! (`GET /v1.0/tenantRelationships/delegatedAdminCustomers`) or from the `tenants` setting.
//! Every tenant gets its own token from its own token endpoint
//! (`{token_host}/{tenant}/oauth2/v2.0/token`): the partner's multi-tenant app with client
//! credentials (the app must be consented in each customer tenant), or a partner user's refresh
//! token (GDAP roles decide what it may read). Tokens are cached per tenant and refreshed once
//! on a 401.
//!
//! A tenant whose token or license read fails for a consent reason (AADSTS65001 and friends, or
//! Graph's 403 for a missing permission or GDAP role) is still listed, with no items, in
//! [`VendorSnapshot::unreadable`] naming what to do; the rest of the sync completes. Any other
//! failure (network, 5xx after retries, the partner's own credentials refused) fails the sync.
//!
//! Items: one `LICENSE` per (tenant, SKU) with `purchased` (`prepaidUnits.enabled + warning`,
//! since units in the warning grace period are still billed) and `assigned` (`consumedUnits`);
//! one `SUBSCRIPTION` per active Partner Center subscription with its `quantity` (inactive ones
//! get the class `SUBSCRIPTION_INACTIVE`, which nothing counts). The families
//! `<sku>:purchased`, `<sku>:assigned` and `<offer>:subscribed` let a mapping pick its basis.
//!
//! Every list is read tolerantly (see `wire.rs`): a record's odd field is unknown for it (its
//! `odd_fields` attribute); a record that cannot be attributed (a GDAP customer without a
//! `tenantId`, a SKU with neither `id` nor `skuId`, a subscription without `id`) is set aside
//! and counted in the sync's warnings. A seat count, a SKU or a subscription status that cannot
//! be read is never guessed: its tenant goes into [`VendorSnapshot::unreadable`] naming the
//! record and field, so its findings are stale rather than wrong.
//!
//! Here: the client (tenants, tokens, Graph and Partner Center reads) and the [`Connector`]; the
//! wire types are in `wire.rs`, their conversion into usage items and the consent
//! classification in `convert.rs`, the SKU names in `skus.rs`.

mod args;
mod convert;
mod settings;
mod skus;
mod wire;

pub use args::Args;
pub use settings::{AuthMode, Settings, Tenant};

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::connectors::{Connector, ConnectorKind, KindSettings, SyncCx};
use crate::http::{
    Auth, ConnectorError, HttpClient, NextLink, OAuth2, Page, Paging, Read, RefreshToken, Request,
    RetryPolicy, Tolerant, check_url,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, UsageItem, VendorAccount, VendorSnapshot};

use convert::{consent_problem, licenses_forbidden, sku_item, subscription_item};

pub use skus::{is_free, is_trial, name_of as sku_name};

pub const DEFAULT_TOKEN_HOST: &str = "https://login.microsoftonline.com";
pub const DEFAULT_GRAPH_HOST: &str = "https://graph.microsoft.com";
pub const DEFAULT_PARTNER_CENTER_HOST: &str = "https://api.partnercenter.microsoft.com";

/// The class of a tenant's subscribed SKU.
pub const LICENSE: &str = "LICENSE";
/// The class of an active Partner Center subscription.
pub const SUBSCRIPTION: &str = "SUBSCRIPTION";
/// The class of a Partner Center subscription that is not active: counted by nothing.
pub const SUBSCRIPTION_INACTIVE: &str = "SUBSCRIPTION_INACTIVE";

const SUBSCRIBED_SKUS: &str = "v1.0/subscribedSkus";
const GDAP_CUSTOMERS: &str = "v1.0/tenantRelationships/delegatedAdminCustomers";
/// The largest page the GDAP customer list serves.
const GDAP_QUERY: &[(&str, &str)] = &[("$top", "300")];

/// No fixed services: every service is per SKU or per offer (see [`families`]).
pub fn services() -> Vec<ServiceDef> {
    Vec::new()
}

/// Purchased and assigned seats per SKU, and subscribed quantity per Partner Center offer.
pub fn families() -> Vec<ServiceFamily> {
    const LICENSES: &[&str] = &[LICENSE];
    const SUBSCRIPTIONS: &[&str] = &[SUBSCRIPTION];
    vec![
        ServiceFamily {
            attr: "sku",
            name_attr: Some("sku_name"),
            key_suffix: ":purchased",
            name_suffix: " (purchased)",
            quantity: Some("purchased"),
            classes: Some(LICENSES),
        },
        ServiceFamily {
            attr: "sku",
            name_attr: Some("sku_name"),
            key_suffix: ":assigned",
            name_suffix: " (assigned)",
            quantity: Some("assigned"),
            classes: Some(LICENSES),
        },
        ServiceFamily {
            attr: "offer_id",
            name_attr: Some("offer_name"),
            key_suffix: ":subscribed",
            name_suffix: " (subscribed)",
            quantity: Some("quantity"),
            classes: Some(SUBSCRIPTIONS),
        },
    ]
}

/// The secrets a grant needs; shared by every tenant's token source.
struct Grant {
    mode: AuthMode,
    client_id: String,
    client_secret: SecretString,
    /// Refresh-token mode: Entra may hand back a new refresh token; later tenants use it.
    refresh_token: Option<RefreshToken>,
}

pub struct M365 {
    name: String,
    settings: Settings,
    grant: Arc<Grant>,
    retry: RetryPolicy,
    token_base: Url,
    graph_base: Url,
    pc_base: Option<Url>,
}

impl M365 {
    /// `secret` is asked for each secret field this connection needs.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<M365> {
        settings.validate(name)?;
        let token_base = check_url(name, settings.token_host().trim_end_matches('/'))?;
        let graph_base = check_url(name, settings.graph_host().trim_end_matches('/'))?;
        let pc_base = if settings.partner_center {
            Some(check_url(
                name,
                settings.partner_center_host().trim_end_matches('/'),
            )?)
        } else {
            None
        };
        let refresh_token = match settings.auth {
            AuthMode::RefreshToken => {
                Some(Arc::new(std::sync::Mutex::new(secret("refresh_token")?)))
            }
            AuthMode::ClientCredentials => None,
        };
        Ok(M365 {
            name: name.to_string(),
            settings: settings.clone(),
            grant: Arc::new(Grant {
                mode: settings.auth,
                client_id: settings.client_id.trim().to_string(),
                client_secret: secret("client_secret")?,
                refresh_token,
            }),
            retry,
            token_base,
            graph_base,
            pc_base,
        })
    }

    /// The `connect` command that stores new credentials for this connection.
    fn again(&self) -> String {
        let mut cmd = format!(
            "reconcile connect m365 --name {} --partner-tenant {} --client-id {}",
            self.name, self.settings.partner_tenant_id, self.grant.client_id
        );
        if self.grant.mode == AuthMode::RefreshToken {
            cmd.push_str(" --auth refresh-token");
        }
        for (flag, host) in [
            ("--token-host", &self.settings.token_host),
            ("--graph-host", &self.settings.graph_host),
        ] {
            if let Some(h) = host {
                cmd.push_str(&format!(" {flag} {h}"));
            }
        }
        format!("then run `{cmd}` (with your other options) again")
    }

    /// Where a customer's admin grants the app consent in their tenant.
    fn consent_url(&self, tenant: &str) -> String {
        format!(
            "{}/{tenant}/adminconsent?client_id={}",
            self.token_base.as_str().trim_end_matches('/'),
            self.grant.client_id
        )
    }

    fn scope_for(base: &Url) -> String {
        format!("{}/.default", base.origin().ascii_serialization())
    }

    /// A client for one tenant's API (`base`), with that tenant's tokens.
    /// Tenants read at once (each tenant's requests go one after another): the `concurrency`
    /// setting, else the kind's default. Graph throttles per tenant, so spreading the reads over
    /// tenants hides latency without pressing on any one tenant.
    fn concurrency(&self) -> usize {
        self.retry
            .concurrency_or(ConnectorKind::M365.default_concurrency())
    }

    fn client(&self, tenant: &str, base: &Url, partner: bool, forbidden: String) -> HttpClient {
        let hint = if partner {
            match self.grant.mode {
                AuthMode::ClientCredentials => format!(
                    "The partner tenant refused the app's credentials: check the client ID and that the client secret is current (Entra admin center > App registrations > {} > Certificates & secrets), {}",
                    self.grant.client_id,
                    self.again()
                ),
                AuthMode::RefreshToken => format!(
                    "The refresh token was refused: it may have expired or been revoked. Sign in again as the partner user to get a new one, {}",
                    self.again()
                ),
            }
        } else {
            format!(
                "Check that app {} is consented in tenant {tenant}, {}",
                self.grant.client_id,
                self.again()
            )
        };
        let auth = self.auth_for(tenant, base, hint, forbidden);
        HttpClient::new(&self.name, base.clone(), Arc::new(auth), self.retry.clone())
    }

    /// Tokens for `tenant` and the audience of `base`, by the connection's grant.
    fn auth_for(&self, tenant: &str, base: &Url, hint: String, forbidden: String) -> OAuth2 {
        let token_url = Url::parse(&format!(
            "{}/{tenant}/oauth2/v2.0/token",
            self.token_base.as_str().trim_end_matches('/')
        ))
        .expect("a checked base with a tenant path is a URL");
        let scope = Self::scope_for(base);
        let g = &self.grant;
        match &g.refresh_token {
            Some(rt) => OAuth2::refresh_token(
                &self.name,
                token_url,
                &g.client_id,
                g.client_secret.clone(),
                rt.clone(),
                &scope,
                self.retry.clone(),
                hint,
            ),
            None => OAuth2::client_credentials(
                &self.name,
                token_url,
                &g.client_id,
                g.client_secret.clone(),
                &scope,
                self.retry.clone(),
                hint,
            ),
        }
        .forbidden_hint(forbidden)
    }

    fn partner_graph(&self) -> HttpClient {
        let forbidden = format!(
            "Listing GDAP customers needs the Microsoft Graph permission DelegatedAdminRelationship.Read.All in the partner tenant (an application permission with admin consent; in refresh-token mode the delegated one), or list the customer tenants in the connection's `tenants` setting; {}",
            self.again()
        );
        self.client(
            &self.settings.partner_tenant_id,
            &self.graph_base,
            true,
            forbidden,
        )
    }

    /// The customer tenants, from the config or else from GDAP, each with its GDAP record's
    /// JSON when it came from GDAP; and the GDAP records set aside (no readable `tenantId`).
    async fn tenants(
        &self,
        cx: &SyncCx,
    ) -> Result<(Vec<(Tenant, Option<String>)>, Vec<String>), ConnectorError> {
        if !self.settings.tenants.is_empty() {
            let listed = self.settings.tenants.iter().map(|t| (t.clone(), None));
            return Ok((listed.collect(), Vec::new()));
        }
        let client = self.partner_graph();
        let customers =
            graph_all::<wire::DelegatedAdminCustomer>(&client, GDAP_CUSTOMERS, GDAP_QUERY, &|n| {
                cx.report("tenants", n)
            })
            .await?;
        let mut seen = HashSet::new();
        let tenants = customers
            .records
            .into_iter()
            .filter_map(|r| {
                let id = r.value.tenant_id.trim().to_string();
                seen.insert(id.to_ascii_lowercase()).then(|| {
                    let name = r.value.display_name.filter(|n| !n.trim().is_empty());
                    (Tenant { id, name }, Some(r.raw))
                })
            })
            .collect();
        Ok((tenants, customers.set_aside))
    }

    async fn read_skus(
        &self,
        tenant: &Tenant,
    ) -> Result<Tolerant<wire::SubscribedSku>, ConnectorError> {
        let forbidden = licenses_forbidden(&self.grant.client_id, self.grant.mode);
        let client = self.client(&tenant.id, &self.graph_base, false, forbidden);
        graph_all(&client, SUBSCRIBED_SKUS, &[], &|_| {}).await
    }

    async fn read_subscriptions(
        &self,
        pc: &HttpClient,
        tenant: &Tenant,
    ) -> Result<Tolerant<wire::Subscription>, ConnectorError> {
        let mut pages = pc
            .pages(
                Request::get(format!("v1/customers/{}/subscriptions", tenant.id)),
                Paging::next_link(partner_center_next),
                "/items",
            )
            .tolerant();
        let mut all = Tolerant {
            records: Vec::new(),
            set_aside: Vec::new(),
        };
        let mut page = match pages.next().await {
            // Not a CSP customer of this partner (GDAP only, or bought elsewhere).
            Err(ConnectorError::Http { status: 404, .. }) => {
                tracing::debug!(tenant = %tenant.id, "not a Partner Center customer");
                return Ok(all);
            }
            first => first?,
        };
        while let Some(p) = page {
            take_page(&mut all, p);
            page = pages.next().await?;
        }
        Ok(all)
    }
}

/// Partner Center's next page: `links.next.uri`, relative to the API root (`/customers/...`,
/// which lives under `v1/`) or absolute, sent with the continuation token as
/// `MS-ContinuationToken`: the one among `links.next.headers`, else the body's
/// `continuationToken`.
fn partner_center_next(body: &Value) -> Option<NextLink> {
    let next = wire::Links::deserialize(body.get("links")?).ok()?.next?;
    let token = next
        .headers
        .iter()
        .find(|h| h.key.eq_ignore_ascii_case("MS-ContinuationToken"))
        .map(|h| h.value.clone())
        .or_else(|| {
            body.get("continuationToken")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let uri = next.uri.trim_start_matches('/');
    let url = if uri.starts_with("v1/") || uri.contains("://") {
        uri.to_string()
    } else {
        format!("v1/{uri}")
    };
    Some(NextLink {
        url,
        headers: token
            .map(|t| ("MS-ContinuationToken".to_string(), t))
            .into_iter()
            .collect(),
    })
}

/// Every record of a Graph collection (`value`), following `@odata.nextLink` until it is
/// absent, read tolerantly: records set aside are named with their page's endpoint.
async fn graph_all<T: serde::de::DeserializeOwned>(
    client: &HttpClient,
    path: &str,
    first_query: &[(&str, &str)],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Tolerant<T>, ConnectorError> {
    let first = first_query
        .iter()
        .fold(Request::get(path), |req, (k, v)| req.query(k, v));
    let mut pages = client
        .pages(first, Paging::next_url_at("/@odata.nextLink"), "/value")
        .tolerant();
    let mut all = Tolerant {
        records: Vec::new(),
        set_aside: Vec::new(),
    };
    while let Some(page) = pages.next().await? {
        take_page(&mut all, page);
        progress(all.records.len());
    }
    Ok(all)
}

/// Adds a tolerantly read page to `all`, its records set aside prefixed with its endpoint
/// (`GET /v1.0/subscribedSkus value[3]: ...`).
fn take_page<T>(all: &mut Tolerant<T>, page: Page<T>) {
    let endpoint = &page.endpoint;
    (all.set_aside).extend(page.set_aside.iter().map(|s| format!("{endpoint} {s}")));
    let read = page.items.into_iter().zip(page.odd);
    (all.records).extend(read.map(|((value, raw), odd)| Read { value, raw, odd }));
}

/// What one tenant gave: its SKUs, or why it could not be read.
enum TenantRead {
    Read(Tolerant<wire::SubscribedSku>),
    Unreadable(String),
}

#[async_trait]
impl Connector for M365 {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::M365
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let mode = match self.grant.mode {
            AuthMode::ClientCredentials => "client credentials",
            AuthMode::RefreshToken => "a refresh token",
        };
        if self.settings.tenants.is_empty() {
            let client = self.partner_graph();
            let customers = graph_all::<wire::DelegatedAdminCustomer>(
                &client,
                GDAP_CUSTOMERS,
                GDAP_QUERY,
                &|_| {},
            )
            .await?;
            let n = customers.records.len();
            Ok(format!(
                "signed in to partner tenant {} with {mode}; {n} GDAP customer tenant{} listed",
                self.settings.partner_tenant_id,
                if n == 1 { " is" } else { "s are" }
            ))
        } else {
            // Proves the app's credentials against the partner tenant; customer tenants are
            // checked one by one at sync, where a missing consent skips only that tenant.
            let http = crate::http::build_reqwest(self.retry.timeout);
            let hint = format!(
                "The partner tenant refused the credentials: check the client ID and secret (or refresh token), {}",
                self.again()
            );
            let partner = &self.settings.partner_tenant_id;
            let auth = self.auth_for(partner, &self.graph_base, hint, String::new());
            auth.headers(&http, true).await?;
            let n = self.settings.tenants.len();
            Ok(format!(
                "signed in to partner tenant {} with {mode}; {n} customer tenant{} configured",
                self.settings.partner_tenant_id,
                if n == 1 { " is" } else { "s are" }
            ))
        }
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let (tenants, gdap_aside) = self.tenants(cx).await?;
        let done = std::sync::atomic::AtomicUsize::new(0);
        type Read = (Tenant, Option<String>, Result<TenantRead, ConnectorError>);
        let reads: Vec<Read> = futures_util::stream::iter(tenants)
            .map(|(t, raw)| {
                let done = &done;
                async move {
                    let r = match self.read_skus(&t).await {
                        Ok(skus) => Ok(TenantRead::Read(skus)),
                        Err(e) => match consent_problem(
                            &e,
                            &self.grant.client_id,
                            self.grant.mode,
                            &self.consent_url(&t.id),
                        ) {
                            Some(why) => {
                                tracing::debug!(tenant = %t.id, error = %e, "tenant not readable");
                                Ok(TenantRead::Unreadable(why))
                            }
                            None => Err(e),
                        },
                    };
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    cx.report("tenants read", n);
                    (t, raw, r)
                }
            })
            .buffer_unordered(self.concurrency())
            .collect()
            .await;
        let mut snap = VendorSnapshot {
            set_aside: gdap_aside,
            ..VendorSnapshot::default()
        };
        // Per tenant, why its counts are unknown (a seat count, SKU or status not readable).
        let mut unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut readable = Vec::new();
        for (t, raw, r) in reads {
            snap.accounts.push(VendorAccount {
                id: t.id.clone(),
                name: t.name.clone().unwrap_or_else(|| t.id.clone()),
                raw,
            });
            match r? {
                TenantRead::Read(skus) => {
                    // The endpoint is the same for every tenant: name the tenant too.
                    let aside = skus.set_aside.iter();
                    (snap.set_aside).extend(aside.map(|s| format!("tenant {}: {s}", t.id)));
                    for r in skus.records {
                        let c = sku_item(&t.id, r.value, r.raw, &r.odd);
                        if let Some(why) = c.unknown {
                            unknown.entry(t.id.clone()).or_default().push(why);
                        }
                        snap.items.push(c.item);
                    }
                    readable.push(t);
                }
                TenantRead::Unreadable(why) => {
                    snap.unreadable.insert(t.id.clone(), why);
                }
            }
        }
        if let Some(pc_base) = &self.pc_base {
            let forbidden = format!(
                "Partner Center refused the app: register it in Partner Center (Account settings > App management) so app-only calls are allowed, and give the partner user the Admin agent role in refresh-token mode; {}",
                self.again()
            );
            let pc = self.client(&self.settings.partner_tenant_id, pc_base, true, forbidden);
            let n = std::sync::atomic::AtomicUsize::new(0);
            // A tenant's items, why its counts are unknown, its records set aside.
            type Subs = (usize, Vec<UsageItem>, Vec<String>, Vec<String>);
            let subs: Vec<Subs> = futures_util::stream::iter(0..readable.len())
                .map(|i| {
                    // An index, not a borrowed tenant: async_trait futures must be `Send` for
                    // every lifetime, which a borrowed closure argument cannot promise.
                    let (pc, n, t) = (&pc, &n, &readable[i]);
                    async move {
                        let subs = self.read_subscriptions(pc, t).await?;
                        let len = subs.records.len();
                        let total = n.fetch_add(len, std::sync::atomic::Ordering::Relaxed) + len;
                        cx.report("subscriptions", total);
                        let (mut items, mut why) = (Vec::new(), Vec::new());
                        for r in subs.records {
                            let c = subscription_item(&t.id, r.value, r.raw, &r.odd);
                            why.extend(c.unknown);
                            items.push(c.item);
                        }
                        Ok::<_, ConnectorError>((i, items, why, subs.set_aside))
                    }
                })
                .buffer_unordered(self.concurrency())
                .try_collect()
                .await?;
            // Answers come in any order (`buffer_unordered`): each names its tenant.
            for (i, items, why, aside) in subs {
                snap.items.extend(items);
                snap.set_aside.extend(aside);
                if !why.is_empty() {
                    unknown
                        .entry(readable[i].id.clone())
                        .or_default()
                        .extend(why);
                }
            }
        }
        for (tenant, why) in unknown {
            snap.unreadable.insert(
                tenant,
                format!("its counts are unknown: {}", why.join("; ")),
            );
        }
        // Tenants are read in any order: sorted, the same answers give the same snapshot.
        snap.set_aside.sort();
        snap.accounts
            .sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        snap.items
            .sort_by(|a, b| a.account_id.cmp(&b.account_id).then(a.id.cmp(&b.id)));
        tracing::debug!(connection = %self.name, tenants = snap.accounts.len(), items = snap.items.len(), unreadable = snap.unreadable.len(), "read Microsoft 365");
        Ok(Snapshot::Vendor(snap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_validate_hosts_and_tenants() {
        let s: Settings = toml::from_str(
            r#"partner_tenant_id = "partner.onmicrosoft.com"
client_id = "app"
tenants = ["11111111-1111-1111-1111-111111111111", { id = "contoso.onmicrosoft.com", name = "Contoso" }]"#,
        )
        .unwrap();
        assert_eq!(s.tenants[1].name.as_deref(), Some("Contoso"));
        assert_eq!(s.auth, AuthMode::ClientCredentials);
        s.validate("m").unwrap();
        let mut bad = s.clone();
        bad.graph_host = Some("http://graph.example.com".into());
        assert!(
            bad.validate("m")
                .unwrap_err()
                .to_string()
                .contains("graph_host")
        );
        let mut bad = s.clone();
        bad.tenants.push(bad.tenants[0].clone());
        assert!(bad.validate("m").unwrap_err().to_string().contains("twice"));
        let mut bad = s;
        bad.partner_tenant_id = "a/b".into();
        assert!(bad.validate("m").is_err());
    }
}
