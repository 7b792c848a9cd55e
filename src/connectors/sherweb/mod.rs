//! Sherweb Service Provider API: customers are accounts, subscriptions are usage items.
//!
//! Auth is OAuth2 client credentials at `https://api.sherweb.com/auth/oidc/connect/token` with
//! scope `service-provider`, plus the Azure API Management key of the API key
//! (`Ocp-Apim-Subscription-Key`) on every API call. The token request goes without that key, as
//! the production clients we know of send it (CIPP's `Get-SherwebAuthentication`, the
//! `Connect-Sherweb` PowerShell module): the token endpoint does not ask for it. The shared
//! [`OAuth2`] client-credentials cache adds the header to API calls (`with_header`), so the
//! token cache and refresh-on-401 stay the shared ones.
//!
//! Reads: `GET /customers` (all of them in one `items` array: the API has no paging), then
//! `GET /billing/subscriptions?customerId=<id>` once per customer, four at a time (the
//! `concurrency` setting). Both are single-request lists of the shared pager, where
//! `items: null` (the spec allows it) means none. Nothing is ever written (the amendment
//! endpoints are never called).
//!
//! Each subscription is one item whose units are its `quantity` attribute. Its class is
//! `SUBSCRIPTION`, or `SUSPENDED` when its customer is suspended (`suspendedOn` set): still
//! counted, since Sherweb keeps the subscription, but flagged so it shows in `explain` and in
//! the `suspended-seats` service. Billing cycle, commitment term, end and renewal dates, and
//! fees (exact decimals) are kept as attributes. Values of enum-like fields this build does not
//! know are kept as sent and listed in the `unknown_values` attribute.
//!
//! Both lists are read tolerantly (see `wire.rs`): a field with an odd value is unknown for its
//! record (the `odd_fields` attribute); a customer or subscription without an `id` is set aside
//! and counted in the sync's warnings. What the counts depend on is never guessed: a
//! subscription whose `quantity` or `sku` cannot be read, or a customer whose `suspendedOn` is
//! not a date or null, makes that customer unreadable, naming the record and field.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::Settings;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, OAuth2, Paging, Read, Request, RetryPolicy, Tolerant, check_url,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, VendorAccount, VendorSnapshot};

use convert::{customer_name, subscription_item};

/// The Service Provider API base.
pub const DEFAULT_API_URL: &str = "https://api.sherweb.com/service-provider/v1";
/// The OAuth2 token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://api.sherweb.com/auth/oidc/connect/token";
/// The scope the service-provider endpoints need (read and write are not separate scopes).
pub const SCOPE: &str = "service-provider";
/// The Azure API Management gateway key header.
pub const SUBSCRIPTION_KEY_HEADER: &str = "ocp-apim-subscription-key";

const CUSTOMERS: &str = "customers";
const SUBSCRIPTIONS: &str = "billing/subscriptions";

/// The class of a subscription of an active customer.
pub const SUBSCRIPTION: &str = "SUBSCRIPTION";
/// The class of a subscription of a suspended customer (still counted, flagged).
pub const SUSPENDED: &str = "SUSPENDED";

/// Built-in services: subscriptions, seats over all of them, and seats of suspended customers.
pub fn services() -> Vec<ServiceDef> {
    vec![
        ServiceDef {
            key: "subscriptions".into(),
            name: "Subscriptions".into(),
            ..ServiceDef::default()
        },
        ServiceDef {
            key: "seats".into(),
            name: "Seats (all subscriptions)".into(),
            quantity: Some("quantity".into()),
            ..ServiceDef::default()
        },
        ServiceDef {
            key: "suspended-seats".into(),
            name: "Seats of suspended customers".into(),
            classes: Some(vec![SUSPENDED.to_string()]),
            quantity: Some("quantity".into()),
            ..ServiceDef::default()
        },
    ]
}

/// One service per SKU (`CFQ7TTC0LH18:0001` → key `cfq7ttc0lh18-0001`), named after the
/// product, counting the subscriptions' quantities.
pub fn families() -> Vec<ServiceFamily> {
    vec![ServiceFamily {
        attr: "sku",
        name_attr: Some("product_name"),
        key_suffix: "",
        name_suffix: "",
        quantity: Some("quantity"),
        classes: None,
    }]
}

pub struct Sherweb {
    name: String,
    client: HttpClient,
    /// Customers read at once: the `concurrency` setting, else the kind's default.
    concurrency: usize,
}

impl std::fmt::Debug for Sherweb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sherweb")
            .field("name", &self.name)
            .field("client", &self.client)
            .finish()
    }
}

impl Sherweb {
    /// `secret` is asked for `client_secret` and `subscription_key`.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Sherweb> {
        let base = check_url(name, settings.api_url().trim_end_matches('/'))?;
        let token_url = check_url(name, settings.token_url())?;
        let client_id = settings.client_id.trim();
        let client_secret = secret("client_secret")?;
        let subscription_key = secret("subscription_key")?;
        let mut key = HeaderValue::from_str(subscription_key.expose_secret().trim()).map_err(
            |_| ConnectorError::Invalid {
                connection: name.into(),
                message: "the subscription key contains characters a header cannot carry; copy it again from Security > APIs in the Sherweb Partner Portal".into(),
            },
        )?;
        key.set_sensitive(true);

        let again = format!(
            "then run `reconcile connect sherweb --name {name} --client-id {client_id}` again"
        );
        let token_hint = format!(
            "Sherweb refused the Client ID or Client Secret (`invalid_client`), or the `{SCOPE}` scope (`invalid_scope`): they may be mistyped, or the API key was deleted. In the Sherweb Partner Portal (cumulus.sherweb.com) open Security > APIs; the Client Secret is shown only once, so create a new API key if it is lost, {again}"
        );
        let unauthorized = format!(
            "The access token or the subscription key was refused. A detail about an invalid subscription key means the Ocp-Apim-Subscription-Key is wrong or its API key is no longer active: copy the Subscription Key shown beside the Client ID in Security > APIs of the Sherweb Partner Portal, {again}"
        );
        let forbidden = format!(
            "The API key is valid but may not read the Service Provider API: the token needs the `{SCOPE}` scope and the subscription key access to the Service Provider API (a key that only reaches the Distributor API is refused). Check the API key in Security > APIs of the Sherweb Partner Portal (a user allowed to manage API keys creates them; ask Sherweb to enable the Service Provider API for your account if it is missing), {again}"
        );
        let auth = OAuth2::client_credentials(
            name,
            token_url,
            client_id,
            client_secret,
            SCOPE,
            retry.clone(),
            token_hint,
        )
        .unauthorized_hint(unauthorized)
        .forbidden_hint(forbidden)
        .with_header(HeaderName::from_static(SUBSCRIPTION_KEY_HEADER), key);
        Ok(Sherweb {
            name: name.to_string(),
            concurrency: retry.concurrency_or(ConnectorKind::Sherweb.default_concurrency()),
            client: HttpClient::new(name, base, Arc::new(auth), retry),
        })
    }

    /// GET a `{"items": [...]}` list, answered whole (`items` may be null: none), read
    /// tolerantly, each element with its raw JSON kept; records set aside are named with the
    /// endpoint and `what` (`GET /customers items[2]: ...`).
    async fn get_items<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Tolerant<T>, ConnectorError> {
        let mut pages = self
            .client
            .pages(Request::get(path).queries(query), Paging::Single, "/items")
            .none_when_absent()
            .tolerant();
        let mut all = Tolerant {
            records: Vec::new(),
            set_aside: Vec::new(),
        };
        while let Some(page) = pages.next().await? {
            let endpoint = format!("{}{what}", page.endpoint);
            (all.set_aside).extend(page.set_aside.iter().map(|s| format!("{endpoint} {s}")));
            let read = page.items.into_iter().zip(page.odd);
            (all.records).extend(read.map(|((value, raw), odd)| Read { value, raw, odd }));
        }
        Ok(all)
    }

    async fn customers(&self) -> Result<Tolerant<wire::Customer>, ConnectorError> {
        self.get_items(CUSTOMERS, &[], "").await
    }
}

#[async_trait]
impl Connector for Sherweb {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Sherweb
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let customers = self.customers().await?.records;
        let suspended = customers
            .iter()
            .filter(|c| c.value.suspended_on.is_some())
            .count();
        let n = customers.len();
        Ok(format!(
            "signed in to {} with scope `{SCOPE}`; {n} customer{} readable{}",
            self.client.base().origin().ascii_serialization(),
            if n == 1 { " is" } else { "s are" },
            if suspended > 0 {
                format!(" ({suspended} suspended)")
            } else {
                String::new()
            }
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let Tolerant {
            records: customers,
            mut set_aside,
        } = self.customers().await?;
        cx.report("customers", customers.len());
        let mut items = Vec::new();
        let mut unreadable = BTreeMap::new();
        // Per customer, why its counts are unknown though its subscriptions were listed.
        let mut unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut refused = 0;
        let mut first_refusal = None;
        // A few customers at a time, answers taken in customer order, so a partner with
        // hundreds of customers does not wait for each round trip in turn.
        let ids: Vec<(usize, String)> = customers
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.value.id.clone()))
            .collect();
        let mut answers = stream::iter(ids)
            .map(|(i, id)| async move {
                let what = format!("?customerId={id}");
                let query = [("customerId", id)];
                let subs = self
                    .get_items::<wire::Subscription>(SUBSCRIPTIONS, &query, &what)
                    .await;
                (i, subs)
            })
            .buffered(self.concurrency);
        while let Some((i, subs)) = answers.next().await {
            let customer = &customers[i].value;
            match subs {
                Ok(subs) => {
                    set_aside.extend(subs.set_aside);
                    for r in subs.records {
                        let c = subscription_item(r.value, r.raw, customer, &r.odd);
                        if let Some(why) = c.unknown {
                            unknown.entry(customer.id.clone()).or_default().push(why);
                        }
                        items.push(c.item);
                    }
                    cx.report("subscriptions", items.len());
                }
                // One customer the API will not list (gone between the two calls, or refused
                // as a bad request): its usage is unknown, not zero, and the rest still counts.
                Err(e) => {
                    let Some((status, snippet)) = customer_refusal(&e) else {
                        return Err(e);
                    };
                    tracing::warn!(connection = %self.name, customer = %customer_name(customer), status, "subscriptions not read");
                    unreadable.insert(
                        customer.id.clone(),
                        format!("its subscriptions could not be listed (HTTP {status}: {snippet})"),
                    );
                    refused += 1;
                    first_refusal.get_or_insert(e);
                }
            }
        }
        // Every customer refused is no longer one odd customer but a request the API rejects:
        // fail rather than store a snapshot that knows nothing.
        if refused == customers.len()
            && let Some(e) = first_refusal
        {
            return Err(e);
        }
        // Whether a customer is suspended decides its subscriptions' class (`suspended-seats`).
        for c in customers
            .iter()
            .filter(|c| c.odd.iter().any(|f| f == "suspendedOn"))
        {
            let why = format!(
                "customer {} has no readable suspension state (`suspendedOn`)",
                c.value.id
            );
            unknown
                .entry(c.value.id.clone())
                .or_default()
                .insert(0, why);
        }
        for (id, why) in unknown {
            unreadable
                .entry(id)
                .or_insert_with(|| format!("its counts are unknown: {}", why.join("; ")));
        }
        tracing::debug!(connection = %self.name, customers = customers.len(), subscriptions = items.len(), "read Sherweb");
        let accounts = customers
            .into_iter()
            .map(|c| VendorAccount {
                name: customer_name(&c.value),
                id: c.value.id,
                raw: Some(c.raw),
            })
            .collect();
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts,
            items,
            unreadable,
            set_aside,
        }))
    }
}

/// A refusal that concerns one customer only (400, 404), with its status and body excerpt.
fn customer_refusal(e: &ConnectorError) -> Option<(u16, String)> {
    match e {
        ConnectorError::Http {
            status: status @ (400 | 404),
            snippet,
            ..
        } => Some((*status, snippet.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::KindSettings;

    #[test]
    fn settings_refuse_plain_http_off_loopback() {
        let mut s = Settings {
            client_id: "id".into(),
            api_url: None,
            token_url: None,
        };
        s.validate("sw").unwrap();
        s.token_url = Some("http://api.sherweb.com/auth/oidc/connect/token".into());
        let err = s.validate("sw").unwrap_err().to_string();
        assert!(
            err.contains("token_url") && err.contains("only https"),
            "{err}"
        );
        s.token_url = Some("http://127.0.0.1:9/t".into());
        s.validate("sw").unwrap();
        s.client_id = " ".into();
        assert!(
            s.validate("sw")
                .unwrap_err()
                .to_string()
                .contains("client_id")
        );
    }
}
