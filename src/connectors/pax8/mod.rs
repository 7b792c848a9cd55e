//! Pax8 Partner API: companies are accounts, subscriptions are usage items; the distributor
//! side of what an MSP resells (Microsoft 365 and every other product bought through Pax8),
//! with what each unit costs the MSP.
//!
//! Auth is OAuth2 client credentials sent as a JSON body with an `audience`
//! (`POST https://api.pax8.com/v1/token`, audience `https://api.pax8.com` as Pax8's current
//! docs give them; both are settings, since older docs and public clients use
//! `https://login.pax8.com/oauth/token` with `api://p8p.client`). Tokens live 24 hours and are
//! cached by the shared [`OAuth2`].
//!
//! **The key is privileged.** Pax8 has no read-only scope: the same key places orders,
//! changes quantities (`PUT /subscriptions/{id}` places a real order with the vendor) and
//! cancels subscriptions. This connector only ever sends `GET` (and the token `POST`); the
//! connector tests assert that every request it makes is one of those.
//!
//! Reads: `GET /companies` and `GET /subscriptions`, each paged with `page` counted from 0 and
//! `size=200` (the maximum) until `page.totalPages`. All subscriptions come in one list (each
//! names its `companyId`), which costs far fewer calls than one list per company.
//!
//! Each subscription is one item: its class is its `status`, its units its `quantity`. The
//! services count the statuses Pax8 bills for ([`COUNTED_STATUSES`]: active, activated,
//! pending cancel, and ordered but still being provisioned); cancelled, trial, converted and
//! waiting subscriptions stay visible in `explain` and count nowhere. One service per SKU
//! (the vendor's SKU id, which for Microsoft NCE is the same `<product>:<sku>` code Sherweb
//! uses; else Pax8's product id), named after the product. `partnerCost` becomes the item's
//! unit cost per month for the recurring billing terms (the engine's cost and margin), and
//! `price` is kept beside it.
//!
//! Read tolerantly (see `wire.rs`): a field with an odd value is unknown for its record
//! (`odd_fields`); a record without an id is set aside and counted in the sync's warnings. A
//! subscription whose quantity, status or SKU is unknown makes its company unreadable (its
//! findings turn `stale_source`), never a 0.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::Settings;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, End, HttpClient, OAuth2, Paging, Param, Request, RetryPolicy, Tolerant,
    check_url,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, VendorAccount, VendorSnapshot};

use convert::{company_name, subscription_item};

/// The Partner API base.
pub const DEFAULT_API_URL: &str = "https://api.pax8.com/v1";
/// The token endpoint, as Pax8's current authentication docs give it.
pub const DEFAULT_TOKEN_URL: &str = "https://api.pax8.com/v1/token";
/// The audience the partner endpoints take, per the same docs.
pub const DEFAULT_AUDIENCE: &str = "https://api.pax8.com";
/// The largest page the API serves.
pub const PAGE_SIZE: usize = 200;

/// Every path this connector requests, relative to the API base: reads only. Pax8's
/// subscription, order and company writes place real orders; they are never called.
pub const READ_PATHS: &[&str] = &[COMPANIES, SUBSCRIPTIONS];
const COMPANIES: &str = "companies";
const SUBSCRIPTIONS: &str = "subscriptions";

/// The statuses Pax8 bills the partner for, so the services count them: provisioned, pending
/// cancellation (billed to its end), and ordered but still being provisioned (billed from
/// `billingStart`).
pub const COUNTED_STATUSES: &[&str] = &[
    "Active",
    "Activated",
    "PendingCancel",
    "PendingManual",
    "PendingAutomated",
];

/// Built-in services: subscriptions, and seats over all of them, of the counted statuses.
pub fn services() -> Vec<ServiceDef> {
    let counted = || Some(COUNTED_STATUSES.iter().map(|s| s.to_string()).collect());
    vec![
        ServiceDef {
            key: "subscriptions".into(),
            name: "Subscriptions (billed statuses)".into(),
            classes: counted(),
            ..ServiceDef::default()
        },
        ServiceDef {
            key: "seats".into(),
            name: "Seats (all products, billed statuses)".into(),
            classes: counted(),
            quantity: Some("quantity".into()),
            ..ServiceDef::default()
        },
    ]
}

/// One service per SKU (`CFQ7TTC0LDPB:0001` → key `cfq7ttc0ldpb-0001`), named after the
/// product, counting the quantities of the billed statuses.
pub fn families() -> Vec<ServiceFamily> {
    vec![ServiceFamily {
        attr: "sku",
        name_attr: Some("product_name"),
        key_suffix: "",
        name_suffix: "",
        quantity: Some("quantity"),
        classes: Some(COUNTED_STATUSES),
    }]
}

pub struct Pax8 {
    name: String,
    client: HttpClient,
}

impl std::fmt::Debug for Pax8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pax8")
            .field("name", &self.name)
            .field("client", &self.client)
            .finish()
    }
}

impl Pax8 {
    /// `secret` is asked for `client_secret`.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Pax8> {
        let base = check_url(name, settings.api_url().trim_end_matches('/'))?;
        let token_url = check_url(name, settings.token_url())?;
        let client_id = settings.client_id.trim();
        let again = format!(
            "then run `reconcile connect pax8 --name {name} --client-id {client_id}` again"
        );
        let token_hint = format!(
            "Pax8 refused the client id or secret (`access_denied`), or the audience `{}`: they may be mistyped, or the credentials were deleted. In the Pax8 app open Integrations > Credentials (a Partner Admin or Primary Partner Admin creates them; the secret is shown once), {again}. If your credentials come from Pax8's older docs, set token_url = \"https://login.pax8.com/oauth/token\" and audience = \"api://p8p.client\"",
            settings.audience()
        );
        let forbidden = format!(
            "Pax8 refused the request though the token is valid: a company id it does not know is answered 403 too. Check that the credentials belong to the partner account whose companies you reconcile, {again}"
        );
        let auth = OAuth2::client_credentials(
            name,
            token_url,
            client_id,
            secret("client_secret")?,
            "",
            retry.clone(),
            token_hint,
        )
        .json_body_with_audience(settings.audience())
        .forbidden_hint(forbidden);
        Ok(Pax8 {
            name: name.to_string(),
            client: HttpClient::new(name, base, Arc::new(auth), retry),
        })
    }

    /// `page=0, 1, …` of `size=200` until `page.totalPages`, each element read tolerantly with
    /// its raw JSON kept; records set aside are named with the endpoint.
    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        cx: Option<(&SyncCx, &str)>,
    ) -> Result<Tolerant<T>, ConnectorError> {
        let paging = Paging::Numbered {
            page: "page",
            first: 0,
            size: Some(Param::new("size", PAGE_SIZE)),
            end: End::TotalPages("/page/totalPages"),
        };
        let progress = |n| {
            if let Some((cx, what)) = cx {
                cx.report(what, n);
            }
        };
        self.client
            .pages(Request::get(path), paging, "/content")
            .none_when_absent()
            .all_tolerant_named(&progress)
            .await
    }
}

#[async_trait]
impl Connector for Pax8 {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Pax8
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let companies = self.list::<wire::Company>(COMPANIES, None).await?.records;
        let n = companies.len();
        Ok(format!(
            "signed in to {}; {n} compan{} readable (the key can also place orders: reconcile only reads)",
            self.client.base().origin().ascii_serialization(),
            if n == 1 { "y is" } else { "ies are" },
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let Tolerant {
            records: companies,
            mut set_aside,
        } = self
            .list::<wire::Company>(COMPANIES, Some((cx, "companies")))
            .await?;
        let subs = self
            .list::<wire::Subscription>(SUBSCRIPTIONS, Some((cx, "subscriptions")))
            .await?;
        set_aside.extend(subs.set_aside);
        // What the company says of its subscriptions: its status, and whether Pax8 invoices
        // the customer itself (then the MSP may rightly bill nothing: a custom service with
        // `attrs = { bill_on_behalf_of = "false" }` counts only what the MSP bills).
        let company_attrs: BTreeMap<String, Vec<(&str, String)>> = companies
            .iter()
            .map(|c| {
                let mut a = Vec::new();
                if let Some(s) = &c.value.status {
                    a.push(("company_status", s.clone()));
                }
                if let Some(b) = c.value.bill_on_behalf_of_enabled {
                    a.push(("bill_on_behalf_of", b.to_string()));
                }
                (c.value.id.clone(), a)
            })
            .collect();
        let mut accounts: Vec<VendorAccount> = companies
            .into_iter()
            .map(|c| VendorAccount {
                name: company_name(&c.value),
                id: c.value.id,
                raw: Some(c.raw),
            })
            .collect();
        let known: BTreeSet<String> = accounts.iter().map(|a| a.id.clone()).collect();
        let mut unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut items = Vec::new();
        let mut strangers = BTreeSet::new();
        for r in subs.records {
            let mut c = subscription_item(r.value, r.raw, &r.odd);
            for (k, v) in company_attrs.get(&c.item.account_id).into_iter().flatten() {
                c.item.attrs.insert(k.to_string(), v.clone());
            }
            if let Some(why) = c.unknown {
                unknown
                    .entry(c.item.account_id.clone())
                    .or_default()
                    .push(why);
            }
            // A subscription of a company the list did not return (one created between the
            // two reads): its usage still counts, under the id until the next sync names it.
            if !known.contains(&c.item.account_id) {
                strangers.insert(c.item.account_id.clone());
            }
            items.push(c.item);
        }
        for id in strangers {
            accounts.push(VendorAccount {
                name: format!("company {id}"),
                id,
                raw: None,
            });
        }
        let unreadable = unknown
            .into_iter()
            .map(|(id, why)| (id, format!("its counts are unknown: {}", why.join("; "))))
            .collect();
        tracing::debug!(connection = %self.name, companies = accounts.len(), subscriptions = items.len(), "read Pax8");
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts,
            items,
            unreadable,
            set_aside,
        }))
    }
}
