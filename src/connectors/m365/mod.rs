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

mod args;
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
    Auth, ConnectorError, HttpClient, NextLink, OAuth2, Paging, RefreshToken, Request, RetryPolicy,
    check_url,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, UsageItem, VendorAccount, VendorSnapshot};

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

const CAPABILITY_STATUSES: &[&str] = &["Enabled", "Warning", "Suspended", "Deleted", "LockedOut"];
const APPLIES_TO: &[&str] = &["User", "Company"];
const SUBSCRIPTION_STATUSES: &[&str] = &[
    "active",
    "suspended",
    "deleted",
    "expired",
    "pending",
    "disabled",
];

/// Token errors that concern one customer tenant (consent, GDAP access, the tenant itself):
/// (AADSTS code, what it means, what to do). `{consent}` stands for the way to grant consent.
/// Any other token error fails the whole sync.
const CONSENT_CODES: &[(i64, &str, &str)] = &[
    (
        65001,
        "app {app} has no admin consent in this tenant",
        "{consent}",
    ),
    (
        65004,
        "an admin of this tenant declined consent for app {app}",
        "{consent}",
    ),
    (
        700016,
        "app {app} is not present in this tenant (never consented there)",
        "{consent}",
    ),
    (
        7000229,
        "app {app} has no service principal in this tenant (never consented there)",
        "{consent}",
    ),
    (
        500011,
        "Microsoft Graph is not enabled for app {app} in this tenant",
        "{consent}",
    ),
    (
        50020,
        "the partner user has no access to this tenant",
        "check that the GDAP relationship with this tenant is active",
    ),
    (
        90072,
        "the partner user has no access to this tenant",
        "check that the GDAP relationship with this tenant is active",
    ),
    (
        90002,
        "the tenant was not found (deleted, or a wrong id)",
        "remove it from `tenants`, or end its GDAP relationship",
    ),
    (
        53003,
        "a Conditional Access policy of this tenant blocked the sign-in",
        "exclude the app or the partner user from that policy",
    ),
];

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

/// The first `AADSTS<digits>` code in a token error text.
fn aadsts_code(text: &str) -> Option<i64> {
    let at = text.find("AADSTS")?;
    let digits: String = text[at + 6..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Why a tenant could not be read, when the failure is that tenant's consent or access rather
/// than something that concerns the whole sync.
fn consent_problem(
    err: &ConnectorError,
    client_id: &str,
    mode: AuthMode,
    consent_url: &str,
) -> Option<String> {
    let ConnectorError::Auth {
        endpoint,
        status,
        detail,
        ..
    } = err
    else {
        return None;
    };
    if endpoint.starts_with("POST") {
        let code = aadsts_code(detail)?;
        let (_, what, todo) = CONSENT_CODES.iter().find(|(c, _, _)| *c == code)?;
        let consent = format!(
            "grant admin consent: an admin of the tenant opens {consent_url}, or push the consent through Partner Center / GDAP"
        );
        return Some(format!(
            "sign-in refused (AADSTS{code}): {}. To read it, {}, then sync again",
            what.replace("{app}", client_id),
            todo.replace("{consent}", &consent)
        ));
    }
    (*status == 403).then(|| licenses_forbidden(client_id, mode))
}

/// What to do when Graph answers 403 to a tenant's `subscribedSkus`.
fn licenses_forbidden(client_id: &str, mode: AuthMode) -> String {
    let need = match mode {
        AuthMode::ClientCredentials => format!(
            "grant app {client_id} the Microsoft Graph application permission LicenseAssignment.Read.All (or Organization.Read.All) with admin consent in this tenant"
        ),
        AuthMode::RefreshToken => "give the partner user's GDAP relationship with this tenant a role that can read licenses (Global Reader, Directory Readers or License Administrator), and the app the delegated permission LicenseAssignment.Read.All".to_string(),
    };
    format!(
        "Microsoft Graph refused to list the tenant's licenses (HTTP 403 on subscribedSkus): {need}, then sync again"
    )
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

    /// The customer tenants, from the config or else from GDAP, each with its GDAP record's JSON when it came from GDAP.
    async fn tenants(&self, cx: &SyncCx) -> Result<Vec<(Tenant, Option<String>)>, ConnectorError> {
        if !self.settings.tenants.is_empty() {
            return Ok(self
                .settings
                .tenants
                .iter()
                .map(|t| (t.clone(), None))
                .collect());
        }
        let client = self.partner_graph();
        let customers: Vec<(wire::DelegatedAdminCustomer, String)> =
            graph_all(&client, GDAP_CUSTOMERS, GDAP_QUERY, &|n| {
                cx.report("tenants", n)
            })
            .await?;
        let mut seen = HashSet::new();
        Ok(customers
            .into_iter()
            .filter_map(|(c, raw)| {
                let id = c.tenant_id.trim().to_string();
                seen.insert(id.to_ascii_lowercase()).then(|| {
                    let name = c.display_name.filter(|n| !n.trim().is_empty());
                    (Tenant { id, name }, Some(raw))
                })
            })
            .collect())
    }

    async fn read_skus(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<(wire::SubscribedSku, String)>, ConnectorError> {
        let forbidden = licenses_forbidden(&self.grant.client_id, self.grant.mode);
        let client = self.client(&tenant.id, &self.graph_base, false, forbidden);
        graph_all(&client, SUBSCRIBED_SKUS, &[], &|_| {}).await
    }

    async fn read_subscriptions(
        &self,
        pc: &HttpClient,
        tenant: &Tenant,
    ) -> Result<Vec<(wire::Subscription, String)>, ConnectorError> {
        let mut pages = pc.pages(
            Request::get(format!("v1/customers/{}/subscriptions", tenant.id)),
            Paging::next_link(partner_center_next),
            "/items",
        );
        let first = match pages.next().await {
            // Not a CSP customer of this partner (GDAP only, or bought elsewhere).
            Err(ConnectorError::Http { status: 404, .. }) => {
                tracing::debug!(tenant = %tenant.id, "not a Partner Center customer");
                return Ok(Vec::new());
            }
            first => first?,
        };
        let mut all = first.map(|p| p.items).unwrap_or_default();
        all.extend(pages.all(&|_| {}).await?);
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

/// Every record of a Graph collection (`value`), following `@odata.nextLink` until it is absent.
async fn graph_all<T: serde::de::DeserializeOwned>(
    client: &HttpClient,
    path: &str,
    first_query: &[(&str, &str)],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<(T, String)>, ConnectorError> {
    let first = first_query
        .iter()
        .fold(Request::get(path), |req, (k, v)| req.query(k, v));
    client
        .pages(first, Paging::next_url_at("/@odata.nextLink"), "/value")
        .all(progress)
        .await
}

/// What one tenant gave: its SKUs, or why it could not be read.
enum TenantRead {
    Read(Vec<(wire::SubscribedSku, String)>),
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
            let customers: Vec<(wire::DelegatedAdminCustomer, String)> =
                graph_all(&client, GDAP_CUSTOMERS, GDAP_QUERY, &|_| {}).await?;
            let n = customers.len();
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
        let tenants = self.tenants(cx).await?;
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
        let mut snap = VendorSnapshot::default();
        let mut readable = Vec::new();
        for (t, raw, r) in reads {
            snap.accounts.push(VendorAccount {
                id: t.id.clone(),
                name: t.name.clone().unwrap_or_else(|| t.id.clone()),
                raw,
            });
            match r? {
                TenantRead::Read(skus) => {
                    snap.items
                        .extend(skus.into_iter().map(|(s, raw)| sku_item(&t.id, s, raw)));
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
            let subs: Vec<Vec<UsageItem>> = futures_util::stream::iter(0..readable.len())
                .map(|i| {
                    // An index, not a borrowed tenant: async_trait futures must be `Send` for
                    // every lifetime, which a borrowed closure argument cannot promise.
                    let (pc, n, t) = (&pc, &n, &readable[i]);
                    async move {
                        let subs = self.read_subscriptions(pc, t).await?;
                        let total = n.fetch_add(subs.len(), std::sync::atomic::Ordering::Relaxed)
                            + subs.len();
                        cx.report("subscriptions", total);
                        Ok::<_, ConnectorError>(
                            subs.into_iter()
                                .map(|(s, raw)| subscription_item(&t.id, s, raw))
                                .collect(),
                        )
                    }
                })
                .buffer_unordered(self.concurrency())
                .try_collect()
                .await?;
            snap.items.extend(subs.into_iter().flatten());
        }
        snap.accounts
            .sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        snap.items
            .sort_by(|a, b| a.account_id.cmp(&b.account_id).then(a.id.cmp(&b.id)));
        tracing::debug!(connection = %self.name, tenants = snap.accounts.len(), items = snap.items.len(), unreadable = snap.unreadable.len(), "read Microsoft 365");
        Ok(Snapshot::Vendor(snap))
    }
}

fn known(list: &[&str], v: &str) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(v))
}

/// One tenant's subscribed SKU as a usage item carrying its purchased and assigned seats.
fn sku_item(tenant: &str, s: wire::SubscribedSku, raw: String) -> UsageItem {
    let part = s
        .sku_part_number
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| s.sku_id.clone());
    let name = skus::name_of(&part)
        .map(str::to_string)
        .unwrap_or_else(|| part.clone());
    let units = s.prepaid_units.unwrap_or_default();
    let purchased = units.enabled.unwrap_or(0) + units.warning.unwrap_or(0);
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("sku", Some(part.clone()));
    put("sku_id", Some(s.sku_id.clone()));
    put("sku_name", Some(name.clone()));
    put("purchased", Some(purchased.to_string()));
    put("assigned", Some(s.consumed_units.unwrap_or(0).to_string()));
    put("enabled", units.enabled.map(|v| v.to_string()));
    put("warning", units.warning.map(|v| v.to_string()));
    put("suspended", units.suspended.map(|v| v.to_string()));
    put("locked_out", units.locked_out.map(|v| v.to_string()));
    put("capability_status", s.capability_status.clone());
    put("applies_to", s.applies_to.clone());
    put("account_name", s.account_name.clone());
    put("subscription_ids", s.subscription_ids.map(|v| v.join(",")));
    if let Some(c) = &s.capability_status
        && !known(CAPABILITY_STATUSES, c)
    {
        put("unknown_capability_status", Some("true".into()));
    }
    if let Some(a) = &s.applies_to
        && !known(APPLIES_TO, a)
    {
        put("unknown_applies_to", Some("true".into()));
    }
    if skus::is_trial(&part) {
        put("trial", Some("true".into()));
    }
    if skus::is_free(&part) {
        put("free", Some("true".into()));
    }
    if s.applies_to
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("Company"))
    {
        put("company_level", Some("true".into()));
    }
    UsageItem {
        id: s
            .id
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| format!("{tenant}_{}", s.sku_id)),
        account_id: tenant.to_string(),
        name,
        class: LICENSE.to_string(),
        raw_class: s.applies_to.unwrap_or_default(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    }
}

/// One Partner Center subscription; only active ones get the class a service counts.
fn subscription_item(tenant: &str, s: wire::Subscription, raw: String) -> UsageItem {
    let status = s.status.clone().unwrap_or_default();
    let active = status.eq_ignore_ascii_case("active");
    let offer = s.offer_id.clone().unwrap_or_else(|| s.id.clone());
    let name = s
        .friendly_name
        .clone()
        .or(s.offer_name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| offer.clone());
    let mut attrs = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("offer_id", Some(offer.clone()));
    put(
        "offer_name",
        s.offer_name.clone().or(s.friendly_name.clone()),
    );
    put("quantity", Some(s.quantity.unwrap_or(0).to_string()));
    put("unit_type", s.unit_type.clone());
    put("status", s.status.clone());
    put("billing_cycle", s.billing_cycle.clone());
    put("term", s.term_duration.clone());
    put("commitment_end_date", s.commitment_end_date.clone());
    put("auto_renew", s.auto_renew_enabled.map(|v| v.to_string()));
    if s.is_trial == Some(true) {
        put("trial", Some("true".into()));
    }
    if !status.is_empty() && !known(SUBSCRIPTION_STATUSES, &status) {
        put("unknown_status", Some("true".into()));
    }
    UsageItem {
        id: s.id,
        account_id: tenant.to_string(),
        name,
        class: if active {
            SUBSCRIPTION
        } else {
            SUBSCRIPTION_INACTIVE
        }
        .to_string(),
        raw_class: status,
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs,
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(json: &str) -> wire::SubscribedSku {
        serde_json::from_str(json).unwrap()
    }

    fn family(suffix: &str) -> ServiceFamily {
        families()
            .into_iter()
            .find(|f| f.key_suffix == suffix)
            .unwrap()
    }

    #[test]
    fn sku_items_carry_purchased_and_assigned() {
        let item = sku_item(
            "t1",
            sku(
                r#"{"id":"t1_abc","skuId":"abc","skuPartNumber":"SPE_E3","appliesTo":"User","capabilityStatus":"Warning","consumedUnits":14,"prepaidUnits":{"enabled":15,"suspended":2,"warning":3,"lockedOut":0}}"#,
            ),
            String::new(),
        );
        assert_eq!(item.attrs["purchased"], "18");
        assert_eq!(item.attrs["assigned"], "14");
        assert_eq!(item.attrs["sku_name"], "Microsoft 365 E3");
        assert_eq!(item.class, LICENSE);
        let purchased = family(":purchased").expand([&item]);
        assert_eq!(purchased[0].key, "spe_e3:purchased");
        assert_eq!(purchased[0].name, "Microsoft 365 E3 (purchased)");
        assert_eq!(purchased[0].weight(&item), rust_decimal::Decimal::from(18));
        let assigned = family(":assigned")
            .service_for_key("spe_e3:assigned")
            .unwrap();
        assert_eq!(assigned.weight(&item), rust_decimal::Decimal::from(14));
    }

    #[test]
    fn unknown_enums_are_kept_and_flags_set() {
        let item = sku_item(
            "t1",
            sku(
                r#"{"skuId":"x","skuPartNumber":"POWER_BI_PRO_TRIAL","appliesTo":"Tenant","capabilityStatus":"Frozen","consumedUnits":1}"#,
            ),
            String::new(),
        );
        assert_eq!(item.id, "t1_x");
        assert_eq!(item.attrs["capability_status"], "Frozen");
        assert_eq!(item.attrs["unknown_capability_status"], "true");
        assert_eq!(item.attrs["unknown_applies_to"], "true");
        assert_eq!(item.attrs["trial"], "true");
        assert_eq!(item.attrs["purchased"], "0");
        assert_eq!(item.name, "POWER_BI_PRO_TRIAL");
        let item = sku_item(
            "t1",
            sku(
                r#"{"skuId":"y","skuPartNumber":"MCOPSTNC","appliesTo":"Company","capabilityStatus":"Enabled","consumedUnits":0,"prepaidUnits":{"enabled":1}}"#,
            ),
            String::new(),
        );
        assert_eq!(item.attrs["company_level"], "true");
    }

    #[test]
    fn only_active_subscriptions_count() {
        let sub = |status: &str| -> wire::Subscription {
            serde_json::from_str(&format!(
                r#"{{"id":"s1","offerId":"CFQ7TTC0LH18:0001:CFQ7TTC0K971","offerName":"Microsoft 365 Business Basic","quantity":12,"status":"{status}","termDuration":"P1Y","commitmentEndDate":"2025-06-30T00:00:00Z","billingCycle":"monthly"}}"#
            ))
            .unwrap()
        };
        let active = subscription_item("t", sub("active"), String::new());
        let gone = subscription_item("t", sub("suspended"), String::new());
        let odd = subscription_item("t", sub("hibernating"), String::new());
        let f = family(":subscribed");
        let defs = f.expand([&active]);
        assert_eq!(defs[0].key, "cfq7ttc0lh18-0001-cfq7ttc0k971:subscribed");
        assert!(defs[0].counts(&active));
        assert_eq!(defs[0].weight(&active), rust_decimal::Decimal::from(12));
        assert!(!defs[0].counts(&gone) && !defs[0].counts(&odd));
        assert_eq!(odd.attrs["unknown_status"], "true");
        assert_eq!(odd.raw_class, "hibernating");
    }

    #[test]
    fn consent_codes_are_classified() {
        let token_err = |detail: &str| ConnectorError::Auth {
            connection: "m".into(),
            endpoint: "POST /t/oauth2/v2.0/token".into(),
            status: 400,
            detail: detail.into(),
            hint: String::new(),
        };
        let why = consent_problem(
            &token_err(r#": {"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented"#),
            "app",
            AuthMode::ClientCredentials,
            "https://login/t/adminconsent?client_id=app",
        )
        .unwrap();
        assert!(
            why.contains("AADSTS65001") && why.contains("consent"),
            "{why}"
        );
        assert!(
            consent_problem(
                &token_err(": AADSTS7000215: Invalid client secret provided."),
                "app",
                AuthMode::ClientCredentials,
                ""
            )
            .is_none()
        );
        let graph403 = ConnectorError::Auth {
            connection: "m".into(),
            endpoint: "GET /v1.0/subscribedSkus".into(),
            status: 403,
            detail: String::new(),
            hint: String::new(),
        };
        let why = consent_problem(&graph403, "app", AuthMode::ClientCredentials, "").unwrap();
        assert!(why.contains("LicenseAssignment.Read.All"), "{why}");
        let why = consent_problem(&graph403, "app", AuthMode::RefreshToken, "").unwrap();
        assert!(why.contains("GDAP"), "{why}");
    }

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
