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

mod args;
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
use crate::http::{ConnectorError, HttpClient, OAuth2, Paging, Request, RetryPolicy, check_url};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, UsageItem, VendorAccount, VendorSnapshot};

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

/// Values the spec lists; anything else is kept and noted in `unknown_values`.
const BILLING_CYCLES: &[&str] = &["none", "daily", "weekly", "monthly", "yearly", "unknown"];
const TERM_TYPES: &[&str] = &["Monthly", "Annual", "Biennial", "Triennial"];
const CURRENCIES: &[&str] = &["Undefined", "Cad", "Usd", "Eur", "Gbp"];

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

    /// GET a `{"items": [...]}` list, answered whole (`items` may be null: none), each element
    /// decoded with its raw JSON kept.
    async fn get_items<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        self.client
            .pages(Request::get(path).queries(query), Paging::Single, "/items")
            .none_when_absent()
            .all(&|_| {})
            .await
    }

    async fn customers(&self) -> Result<Vec<(wire::Customer, String)>, ConnectorError> {
        self.get_items(CUSTOMERS, &[]).await
    }
}

#[async_trait]
impl Connector for Sherweb {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Sherweb
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let customers = self.customers().await?;
        let suspended = customers
            .iter()
            .filter(|(c, _)| c.suspended_on.is_some())
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
        let customers = self.customers().await?;
        cx.report("customers", customers.len());
        let mut items = Vec::new();
        let mut unreadable = BTreeMap::new();
        let mut first_refusal = None;
        // A few customers at a time, answers taken in customer order, so a partner with
        // hundreds of customers does not wait for each round trip in turn.
        let ids: Vec<(usize, String)> = customers
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (i, c.id.clone()))
            .collect();
        let mut answers = stream::iter(ids)
            .map(|(i, id)| async move {
                let query = [("customerId", id)];
                let subs = self
                    .get_items::<wire::Subscription>(SUBSCRIPTIONS, &query)
                    .await;
                (i, subs)
            })
            .buffered(self.concurrency);
        while let Some((i, subs)) = answers.next().await {
            let customer = &customers[i].0;
            match subs {
                Ok(subs) => {
                    items.extend(
                        subs.into_iter()
                            .map(|(s, raw)| subscription_item(s, raw, customer)),
                    );
                    cx.report("subscriptions", items.len());
                }
                // One customer the API will not list (gone between the two calls, or refused
                // as a bad request): its usage is unknown, not zero, and the rest still counts.
                Err(e) => {
                    let Some((status, snippet)) = customer_refusal(&e) else {
                        return Err(e);
                    };
                    tracing::warn!(connection = %self.name, customer = %customer.display_name, status, "subscriptions not read");
                    unreadable.insert(
                        customer.id.clone(),
                        format!("its subscriptions could not be listed (HTTP {status}: {snippet})"),
                    );
                    first_refusal.get_or_insert(e);
                }
            }
        }
        // Every customer refused is no longer one odd customer but a request the API rejects:
        // fail rather than store a snapshot that knows nothing.
        if unreadable.len() == customers.len()
            && let Some(e) = first_refusal
        {
            return Err(e);
        }
        tracing::debug!(connection = %self.name, customers = customers.len(), subscriptions = items.len(), "read Sherweb");
        let accounts = customers
            .into_iter()
            .map(|(c, raw)| VendorAccount {
                id: c.id,
                name: c.display_name,
                raw: Some(raw),
            })
            .collect();
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts,
            items,
            unreadable,
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

fn known(values: &[&str], v: &str) -> bool {
    values.iter().any(|k| k.eq_ignore_ascii_case(v.trim()))
}

fn subscription_item(s: wire::Subscription, raw: String, customer: &wire::Customer) -> UsageItem {
    let suspended = customer.suspended_on.is_some();
    let class = if suspended { SUSPENDED } else { SUBSCRIPTION };
    let mut attrs = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            attrs.insert(k.to_string(), v);
        }
    };
    put("sku", Some(s.sku.clone()));
    put("product_name", Some(s.product_name.clone()));
    put("description", s.description.clone());
    put("quantity", Some(s.quantity.to_string()));
    put("billing_cycle", s.billing_cycle.clone());
    if let Some(c) = s.billing_cycle.as_deref()
        && !known(BILLING_CYCLES, c)
    {
        unknown.push(format!("billing_cycle={c}"));
    }
    put("purchase_date", s.purchase_date.clone());
    if let Some(f) = &s.fees {
        put(
            "recurring_fee",
            f.recurring_fee.map(|d| d.normalize().to_string()),
        );
        put("setup_fee", f.setup_fee.map(|d| d.normalize().to_string()));
        put("currency", f.currency.clone());
        if let Some(c) = f.currency.as_deref()
            && !known(CURRENCIES, c)
        {
            unknown.push(format!("currency={c}"));
        }
    }
    if let Some(t) = &s.commitment_term {
        put("commitment_term", t.term_type.clone());
        if let Some(v) = t.term_type.as_deref()
            && !known(TERM_TYPES, v)
        {
            unknown.push(format!("commitment_term={v}"));
        }
        put("term_end_date", t.term_end_date.clone());
        if let Some(r) = &t.renewal_configuration {
            put("renewal_date", r.renewal_date.clone());
            put(
                "renewal_quantity",
                r.scheduled_quantity.map(|q| q.to_string()),
            );
        }
        // The lowest quantity the subscription may be cut to until each date.
        if let Some(mins) = t
            .committed_minimal_quantities
            .as_ref()
            .filter(|m| !m.is_empty())
        {
            put(
                "committed_minimums",
                Some(
                    mins.iter()
                        .map(|m| format!("{} until {}", m.quantity, m.committed_until))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            );
        }
    }
    put("customer", Some(customer.display_name.clone()));
    put(
        "customer_path",
        customer.path.as_ref().map(|p| p.join(" > ")),
    );
    put("customer_suspended", Some(suspended.to_string()));
    put("customer_suspended_on", customer.suspended_on.clone());
    if !unknown.is_empty() {
        tracing::warn!(subscription = %s.id, values = %unknown.join(", "), "Sherweb sent values this version does not know; kept as sent");
        put("unknown_values", Some(unknown.join(", ")));
    }
    let name = if s.product_name.trim().is_empty() {
        format!("subscription {}", s.id)
    } else {
        s.product_name.clone()
    };
    UsageItem {
        id: s.id,
        account_id: customer.id.clone(),
        name,
        class: class.to_string(),
        raw_class: class.to_ascii_lowercase(),
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
    use crate::connectors::KindSettings;
    use crate::model::slug;
    use serde_json::Value;

    fn customer(suspended: bool) -> wire::Customer {
        serde_json::from_value(serde_json::json!({
            "id": "2f1d6a59-7a3e-4c39-9d3c-0a4a1f0f3b11",
            "displayName": "Acme Dental",
            "path": ["Bluewave MSP", "Acme Dental"],
            "suspendedOn": if suspended { Value::from("2024-03-02T14:05:11.1234567") } else { Value::Null },
        }))
        .unwrap()
    }

    fn sub(json: Value) -> wire::Subscription {
        serde_json::from_value(json).unwrap()
    }

    fn weight(key: &str, item: &UsageItem) -> rust_decimal::Decimal {
        services()
            .into_iter()
            .chain(families()[0].expand([item]))
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("no service {key}"))
            .weight(item)
    }

    #[test]
    fn a_subscription_keeps_quantity_terms_and_exact_fees() {
        let s = sub(serde_json::json!({
            "id": "a4c1340d-6911-4758-bba3-0c4c6007d161",
            "productName": "Microsoft 365 Business Basic",
            "description": "Microsoft 365 Business Basic - Annual",
            "sku": "CFQ7TTC0LH18:0001",
            "quantity": 12,
            "billingCycle": "Monthly",
            "purchaseDate": "2023-11-21T20:27:05.7613888",
            "fees": {"recurringFee": 7.2, "setupFee": 0.0, "currency": "Usd"},
            "commitmentTerm": {
                "type": "Annual",
                "termEndDate": "2026-01-13",
                "renewalConfiguration": {"renewalDate": "2026-01-14", "scheduledQuantity": 10},
                "committedMinimalQuantities": [{"quantity": 12, "committedUntil": "2026-01-13"}]
            }
        }));
        let item = subscription_item(s, String::new(), &customer(false));
        assert_eq!(item.class, SUBSCRIPTION);
        assert_eq!(item.name, "Microsoft 365 Business Basic");
        assert_eq!(item.attrs["quantity"], "12");
        assert_eq!(item.attrs["recurring_fee"], "7.2");
        assert_eq!(item.attrs["setup_fee"], "0");
        assert_eq!(item.attrs["commitment_term"], "Annual");
        assert_eq!(item.attrs["term_end_date"], "2026-01-13");
        assert_eq!(item.attrs["renewal_quantity"], "10");
        assert_eq!(item.attrs["committed_minimums"], "12 until 2026-01-13");
        assert_eq!(item.attrs["customer_path"], "Bluewave MSP > Acme Dental");
        assert!(!item.attrs.contains_key("unknown_values"));
        assert_eq!(slug(&item.attrs["sku"]), "cfq7ttc0lh18-0001");
        assert_eq!(weight("cfq7ttc0lh18-0001", &item), 12.into());
        assert_eq!(weight("seats", &item), 12.into());
        assert_eq!(weight("subscriptions", &item), 1.into());
        assert_eq!(weight("suspended-seats", &item), 0.into());
        let fam = families()[0].expand([&item]);
        assert_eq!(fam[0].name, "Microsoft 365 Business Basic");
    }

    #[test]
    fn unknown_values_are_kept_and_suspended_customers_flagged() {
        let s = sub(serde_json::json!({
            "id": "b", "productName": "Thing", "description": "d", "sku": "X-1",
            "quantity": 3, "billingCycle": "Quarterly", "purchaseDate": "2024-01-01T00:00:00",
            "fees": {"recurringFee": 1, "setupFee": 0, "currency": "Jpy"},
            "commitmentTerm": {"type": "Quinquennial", "termEndDate": "2029-01-01"}
        }));
        let item = subscription_item(s, String::new(), &customer(true));
        assert_eq!(item.class, SUSPENDED);
        assert_eq!(item.attrs["customer_suspended"], "true");
        assert_eq!(
            item.attrs["unknown_values"],
            "billing_cycle=Quarterly, currency=Jpy, commitment_term=Quinquennial"
        );
        assert_eq!(item.attrs["billing_cycle"], "Quarterly");
        assert_eq!(weight("seats", &item), 3.into());
        assert_eq!(weight("suspended-seats", &item), 3.into());
        assert_eq!(weight("x-1", &item), 3.into());
    }

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
