//! Syncro (SyncroMSP) API v1: customers, recurring invoices ("schedules") with their line items
//! (the recurring billing lines), and the products those lines refer to.
//!
//! Auth: a per-user API token in `Authorization: Bearer <token>` (the spec's apiKey scheme; Syncro
//! accepts the token with or without `Bearer`). The API lives at
//! `https://{subdomain}.syncromsp.com/api/v1`. Lists page with `page` (25 or 100 a page, the
//! account decides) and say how many pages there are in `meta.total_pages`. Syncro publishes a
//! limit of 180 requests a minute per IP address: every request of a connection goes through one
//! [`RateLimit`] so a large account waits here instead of being refused.
//!
//! Money: line prices are written as integer cents but read back as dollars (`price_retail`,
//! `price_cost`, JSON numbers); they become exact decimals from the number's text
//! ([`crate::connectors::de::decimal_opt`]), never through arithmetic on floats. Quantities
//! arrive as strings (`"9.99"`).

mod args;
mod settings;
mod wire;

pub use args::Args;
pub use settings::{Settings, clean_subdomain};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::connectors::{Connector, ConnectorKind, KindSettings, SyncCx};
use crate::http::{
    ConnectorError, End, HttpClient, Pages, Paging, RateLimit, Request, RetryPolicy, StaticHeaders,
    check_url, decode_one, decode_value,
};
use crate::model::{
    BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct, PsaSnapshot, Snapshot,
};

/// Syncro's published limit: 180 requests a minute per IP address.
pub const MAX_REQUESTS_PER_MINUTE: usize = 180;

/// Which customers bill, from the settings.
#[derive(Debug, Clone, Default)]
struct BillableRules {
    business_only: bool,
    property: Option<String>,
    values: Vec<String>,
}

pub struct Syncro {
    name: String,
    client: HttpClient,
    rules: BillableRules,
    per_minute: usize,
}

impl Syncro {
    /// `secret` is asked for each secret field this connection needs (`api_token`).
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Syncro> {
        settings.validate(name)?;
        let token = secret("api_token")?;
        Syncro::with_token(name, settings, token, retry)
    }

    /// [`Syncro::new`] with the token already read.
    pub fn with_token(
        name: &str,
        settings: &Settings,
        token: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<Syncro> {
        let base = check_url(name, &format!("{}/", settings.base_url()))?;
        let hint = format!(
            "Syncro refused the API token: check it was copied whole and is not revoked (Admin > API Tokens), then run `reconcile connect syncro --name {name} ...` again"
        );
        let auth = StaticHeaders::token("Bearer", &token, hint, FORBIDDEN_HINT.into())
            .map_err(|e| anyhow::anyhow!("connection `{name}`: {e}"))?;
        let per_minute = settings
            .requests_per_minute
            .unwrap_or(MAX_REQUESTS_PER_MINUTE)
            .clamp(1, MAX_REQUESTS_PER_MINUTE);
        let limit = Arc::new(
            RateLimit::per(per_minute, Duration::from_secs(60))
                .with_concurrency(retry.concurrency_or(
                    crate::connectors::ConnectorKind::Syncro.default_concurrency(),
                )),
        );
        let client = HttpClient::new(name, base, Arc::new(auth), retry).with_rate_limit(limit);
        Ok(Syncro {
            name: name.into(),
            client,
            rules: BillableRules {
                business_only: settings.business_only,
                property: settings.billable_property.clone(),
                values: settings.billable_property_values.clone(),
            },
            per_minute,
        })
    }

    /// The pages of the list at `path`, its records in the array `items_at`: `page=1` up to
    /// `meta.total_pages` (or up to the first empty page when an answer carries no `meta`).
    fn pages<T: DeserializeOwned>(
        &self,
        path: &str,
        items_at: &'static str,
        query: &[(&str, String)],
    ) -> Pages<'_, T> {
        let paging = Paging::Numbered {
            page: "page",
            size: None,
            end: End::TotalPages("/meta/total_pages"),
        };
        self.client
            .pages(Request::get(path).queries(query), paging, items_at)
    }

    /// Every record of a list; `requests` counts the pages asked for.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        items_at: &'static str,
        query: &[(&str, String)],
        requests: &AtomicUsize,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        // The pager reports once a page, so counting its reports counts the requests.
        let page_read = |n| {
            requests.fetch_add(1, Ordering::Relaxed);
            progress(n)
        };
        self.pages(path, items_at, query)
            .all(&page_read)
            .await
            .map_err(|e| name_permission(e, path))
    }

    /// The `meta` of a list's first page, which proves the list readable.
    async fn first_meta<T: DeserializeOwned>(
        &self,
        path: &str,
        items_at: &'static str,
    ) -> Result<wire::Meta, ConnectorError> {
        let page = self
            .pages::<T>(path, items_at, &[])
            .next()
            .await
            .map_err(|e| name_permission(e, path))?;
        let Some(mut page) = page else {
            return Ok(wire::Meta::default());
        };
        match page.body.get_mut("meta").map(Value::take) {
            None | Some(Value::Null) => Ok(wire::Meta::default()),
            Some(meta) => decode_value(&self.name, &page.endpoint, "meta", meta),
        }
    }
}

const FORBIDDEN_HINT: &str = "The API token lacks a permission. Give the token Customers - List/Search, Recurring Invoices - List and Products - List/Search (Admin > API Tokens > the token > Permissions), then run the command again";

/// A 403 names the Syncro permission the endpoint needs.
fn name_permission(e: ConnectorError, path: &str) -> ConnectorError {
    match e {
        ConnectorError::Auth {
            connection,
            endpoint,
            status: 403,
            detail,
            ..
        } => {
            let permission = if path.starts_with("customers") {
                "Customers - List/Search"
            } else if path.starts_with("schedules") {
                "Recurring Invoices - List"
            } else if path.starts_with("products") {
                "Products - List/Search"
            } else {
                "the permission this endpoint needs"
            };
            ConnectorError::Auth {
                connection,
                endpoint,
                status: 403,
                detail,
                hint: format!(
                    "The API token lacks the `{permission}` permission: add it to the token (Admin > API Tokens > the token > Permissions; the connector needs Customers - List/Search, Recurring Invoices - List and Products - List/Search), then run the command again"
                ),
            }
        }
        other => other,
    }
}

#[async_trait]
impl Connector for Syncro {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Syncro
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let customers = self
            .first_meta::<wire::Customer>("customers", "/customers")
            .await?;
        let schedules = self
            .first_meta::<wire::Schedule>("schedules", "/schedules")
            .await?;
        // Sync needs products too; a token without that permission should fail here, not later.
        self.first_meta::<wire::Product>("products", "/products")
            .await?;
        let count = |m: &wire::Meta| {
            m.total_entries
                .map(|n| n.to_string())
                .unwrap_or_else(|| "some".into())
        };
        Ok(format!(
            "signed in to {}; {} customers, {} recurring invoices and the products are readable",
            self.client.base().origin().ascii_serialization(),
            count(&customers),
            count(&schedules)
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let requests = AtomicUsize::new(0);
        let customer_query = [("include_disabled", "true".into())];
        let customers_read = |n| cx.report("customers", n);
        let schedules_read = |n| cx.report("recurring invoices", n);
        // Independent lists, read side by side (the rate limit still paces them).
        let (customers, schedules) = tokio::try_join!(
            self.all_pages::<wire::Customer>(
                "customers",
                "/customers",
                &customer_query,
                &requests,
                &customers_read,
            ),
            self.all_pages::<wire::Schedule>(
                "schedules",
                "/schedules",
                &[],
                &requests,
                &schedules_read
            ),
        )?;
        // Lines come with each schedule; a list answer without them is read schedule by
        // schedule (the rate limit paces these).
        let mut with_lines: Vec<(wire::Schedule, String, Vec<(wire::LineItem, String)>)> =
            Vec::new();
        let mut lines_read = 0;
        let list_endpoint = format!(
            "GET {}",
            self.client
                .base()
                .join("schedules")
                .map(|u| u.path().to_string())
                .unwrap_or_default()
        );
        for (s, raw) in schedules {
            let id = s.id;
            let (mut s, raw, endpoint, at) = match s.lines {
                Some(_) => (
                    s,
                    raw,
                    list_endpoint.clone(),
                    // Named by id: an index would restart on every page.
                    format!("schedules[id={id}].lines"),
                ),
                None => {
                    let path = format!("schedules/{}", s.id);
                    requests.fetch_add(1, Ordering::Relaxed);
                    let resp = self
                        .client
                        .get(&path, &[])
                        .await
                        .map_err(|e| name_permission(e, &path))?;
                    let one: wire::OneSchedule =
                        decode_one(&self.name, &resp.endpoint, &resp.body)?;
                    let raw = one.schedule.to_string();
                    let s: wire::Schedule =
                        decode_value(&self.name, &resp.endpoint, "schedule", one.schedule)?;
                    (s, raw, resp.endpoint, "schedule.lines".to_string())
                }
            };
            let items = s.lines.take().unwrap_or_default();
            let items = crate::http::decode_elements(&self.name, &endpoint, &at, items)?;
            lines_read += items.len();
            cx.report("recurring invoice lines", lines_read);
            with_lines.push((s, raw, items));
        }
        let products = if with_lines
            .iter()
            .any(|(_, _, l)| l.iter().any(|(li, _)| li.product_id.is_some()))
        {
            self.all_pages::<wire::Product>("products", "/products", &[], &requests, &|n| {
                cx.report("products", n)
            })
            .await?
        } else {
            Vec::new()
        };

        let companies = customers
            .into_iter()
            .map(|(c, raw)| company(c, raw, &self.rules))
            .collect();
        let products: Vec<PsaProduct> = products
            .into_iter()
            .map(|(p, raw)| product(p, raw))
            .collect();
        let by_id: HashMap<&str, &PsaProduct> =
            products.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut agreements = Vec::new();
        let mut lines = Vec::new();
        for (s, raw, items) in with_lines {
            let a = agreement(&s, raw);
            for (item, raw) in items {
                lines.push(line(item, raw, &a, &by_id));
            }
            agreements.push(a);
        }
        lines.sort_by(|a, b| a.agreement_id.cmp(&b.agreement_id).then(a.id.cmp(&b.id)));
        let mut meta = BTreeMap::new();
        meta.insert(
            "api requests this sync".to_string(),
            format!(
                "{} (at most {} a minute)",
                requests.load(Ordering::Relaxed),
                self.per_minute
            ),
        );
        // A frequency the engine cannot turn into months is kept as sent (findings on it say
        // so); say which here too, so it is not silent.
        let unknown: std::collections::BTreeSet<&str> = agreements
            .iter()
            .filter_map(|a| a.billing_cycle.as_deref())
            .filter(|c| crate::model::months_per_cycle(Some(c)).is_none())
            .collect();
        if !unknown.is_empty() {
            let list = unknown.into_iter().collect::<Vec<_>>().join(", ");
            tracing::warn!(connection = %self.name, frequencies = %list, "Syncro sent schedule frequencies this version does not convert to months; kept as sent");
            meta.insert("frequencies kept as sent".to_string(), list);
        }
        Ok(Snapshot::Psa(PsaSnapshot {
            companies,
            agreements,
            lines,
            products,
            whole_units: false,
            meta,
        }))
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A property value as text (`"Client"`, `true`, `3`).
fn property_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn company(c: wire::Customer, raw: String, rules: &BillableRules) -> PsaCompany {
    let business = non_empty(c.business_name.as_deref()).map(str::to_string);
    let person = non_empty(c.fullname.as_deref())
        .map(str::to_string)
        .or_else(|| {
            let parts: Vec<&str> = [c.firstname.as_deref(), c.lastname.as_deref()]
                .into_iter()
                .filter_map(non_empty)
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
    let name = business
        .clone()
        .or(person)
        .unwrap_or_else(|| format!("Customer #{}", c.id));
    let disabled = c.disabled.unwrap_or(false);
    let kind = if business.is_some() {
        "Business"
    } else {
        "Individual"
    };
    let property = rules.property.as_deref().map(|p| {
        let value = c
            .properties
            .as_ref()
            .and_then(|props| {
                props
                    .iter()
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(p.trim()))
                    .map(|(_, v)| property_text(v))
            })
            .unwrap_or_default();
        (p, value)
    });
    let mut types = vec![kind.to_string()];
    if let Some((p, v)) = &property
        && !v.is_empty()
    {
        types.push(format!("{p}: {v}"));
    }
    let reason = if disabled {
        Some("disabled in Syncro".to_string())
    } else if rules.business_only && business.is_none() {
        Some("an individual (no business name) and business_only is set".to_string())
    } else if let Some((p, v)) = &property {
        let ok = if rules.values.is_empty() {
            !v.is_empty() && !["false", "no", "0"].contains(&v.to_ascii_lowercase().as_str())
        } else {
            rules
                .values
                .iter()
                .any(|b| b.trim().eq_ignore_ascii_case(v))
        };
        (!ok).then(|| {
            if v.is_empty() {
                format!("property `{p}` is not set")
            } else {
                format!("property `{p}` is `{v}`, not in billable_property_values")
            }
        })
    } else {
        None
    };
    PsaCompany {
        id: c.id.to_string(),
        identifier: c.id.to_string(),
        name,
        status: if disabled { "Disabled" } else { "Active" }.to_string(),
        types,
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

/// One agreement per schedule: paused schedules are not active (their lines do not count),
/// the frequency is the billing cycle, kept as Syncro names it.
fn agreement(s: &wire::Schedule, raw: String) -> PsaAgreement {
    let paused = s.paused.unwrap_or(false);
    PsaAgreement {
        id: s.id.to_string(),
        company_id: s.customer_id.to_string(),
        name: non_empty(s.name.as_deref())
            .map(str::to_string)
            .unwrap_or_else(|| format!("Recurring invoice #{}", s.id)),
        agreement_type: Some("Recurring invoice".into()),
        status: if paused { "Paused" } else { "Active" }.into(),
        start: s.created_at,
        end: None,
        cancelled: false,
        billing_cycle: non_empty(s.frequency.as_deref()).map(str::to_string),
        raw: Some(raw),
    }
}

/// Cents as an exact dollar amount (`1999` → `19.99`).
fn from_cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

fn line(
    l: wire::LineItem,
    raw: String,
    a: &PsaAgreement,
    products: &HashMap<&str, &PsaProduct>,
) -> PsaLine {
    let product_id = l.product_id.map(|p| p.to_string());
    let known = product_id.as_deref().and_then(|p| products.get(p));
    // The product's identifier (UPC code, else name); a line without a product is known by its
    // own name.
    let identifier = known
        .map(|p| p.identifier.clone())
        .or_else(|| non_empty(l.name.as_deref()).map(str::to_string))
        .or_else(|| product_id.as_ref().map(|p| format!("#{p}")))
        .unwrap_or_else(|| format!("line #{}", l.id));
    let description = non_empty(l.description.as_deref())
        .or(non_empty(l.name.as_deref()))
        .map(str::to_string);
    PsaLine {
        id: l.id.to_string(),
        agreement_id: a.id.clone(),
        company_id: a.company_id.clone(),
        product_id,
        product_identifier: identifier,
        description,
        quantity: l.quantity.unwrap_or(Decimal::ZERO),
        less_included: Decimal::ZERO,
        unit_price: l
            .price_retail
            .or(l.retail_cents.map(from_cents))
            .unwrap_or(Decimal::ZERO),
        unit_cost: l
            .price_cost
            .or(l.cost_cents.map(from_cents))
            .unwrap_or(Decimal::ZERO),
        effective: a.start,
        cancelled: None,
        bill_customer: if l.one_time_charge.unwrap_or(false) {
            // Billed once on the next run, then gone: not a recurring charge to reconcile.
            BillCustomer::Other("OneTimeCharge".into())
        } else {
            BillCustomer::Billable
        },
        raw: Some(raw),
    }
}

fn product(p: wire::Product, raw: String) -> PsaProduct {
    let identifier = non_empty(p.upc_code.as_deref())
        .or(non_empty(p.name.as_deref()))
        .map(str::to_string)
        .unwrap_or_else(|| format!("#{}", p.id));
    PsaProduct {
        id: p.id.to_string(),
        identifier,
        description: non_empty(p.name.as_deref())
            .or(non_empty(p.description.as_deref()))
            .map(str::to_string),
        price: p.price_retail,
        cost: p.price_cost,
        inactive: p.disabled.unwrap_or(false),
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::KindSettings;

    fn settings() -> Settings {
        Settings {
            subdomain: Some("acme".into()),
            url: None,
            business_only: false,
            billable_property: None,
            billable_property_values: vec![],
            requests_per_minute: None,
        }
    }

    #[test]
    fn subdomains_and_urls() {
        assert_eq!(settings().base_url(), "https://acme.syncromsp.com/api/v1");
        let mut s = settings();
        s.subdomain = Some("https://Acme.syncromsp.com/".into());
        assert_eq!(s.base_url(), "https://acme.syncromsp.com/api/v1");
        assert!(s.validate("x").is_ok());
        s.subdomain = Some("acme corp".into());
        assert!(
            s.validate("x")
                .unwrap_err()
                .to_string()
                .contains("subdomain")
        );
        s.subdomain = None;
        assert!(s.validate("x").is_err());
        s.url = Some("http://example.com/api/v1".into());
        assert!(s.validate("x").is_err());
        s.url = Some("http://127.0.0.1:9/api/v1/".into());
        assert_eq!(s.base_url(), "http://127.0.0.1:9/api/v1");
        s.requests_per_minute = Some(181);
        assert!(s.validate("x").unwrap_err().to_string().contains("180"));
        s.requests_per_minute = Some(60);
        assert!(s.validate("x").is_ok());
    }

    #[test]
    fn prices_are_exact_dollars() {
        let l: wire::LineItem = serde_json::from_str(
            r#"{"id":1,"quantity":"9.99","price_retail":19.99,"price_cost":0.30000000000000004,"retail_cents":1999}"#,
        )
        .unwrap();
        assert_eq!(l.price_retail.unwrap().to_string(), "19.99");
        assert_eq!(l.price_cost.unwrap().to_string(), "0.30000000000000004");
        assert_eq!(l.quantity.unwrap().to_string(), "9.99");
        let l: wire::LineItem =
            serde_json::from_str(r#"{"id":1,"retail_cents":1999,"cost_cents":30}"#).unwrap();
        let a = agreement(
            &serde_json::from_str(r#"{"id":5,"customer_id":7}"#).unwrap(),
            String::new(),
        );
        let line = line(l, String::new(), &a, &HashMap::new());
        assert_eq!(line.unit_price.to_string(), "19.99");
        assert_eq!(line.unit_cost.to_string(), "0.30");
        assert_eq!(line.quantity, Decimal::ZERO);
        assert_eq!(line.product_identifier, "line #1");
    }

    #[test]
    fn billable_rules() {
        let c = |json: &str| serde_json::from_str::<wire::Customer>(json).unwrap();
        let none = BillableRules::default();
        let person = company(
            c(r#"{"id":1,"firstname":"Jo","lastname":"Doe","business_name":null}"#),
            String::new(),
            &none,
        );
        assert!(person.billable);
        assert_eq!(person.name, "Jo Doe");
        let business_only = BillableRules {
            business_only: true,
            ..BillableRules::default()
        };
        let person = company(
            c(r#"{"id":1,"fullname":"Jo Doe","business_name":""}"#),
            String::new(),
            &business_only,
        );
        assert!(!person.billable);
        assert!(person.not_billable_reason.unwrap().contains("individual"));
        let disabled = company(
            c(r#"{"id":2,"business_name":"Acme","disabled":true}"#),
            String::new(),
            &none,
        );
        assert!(!disabled.billable);
        assert_eq!(disabled.status, "Disabled");
        let by_type = BillableRules {
            property: Some("Type".into()),
            values: vec!["client".into()],
            ..BillableRules::default()
        };
        let client = company(
            c(r#"{"id":3,"business_name":"Acme","properties":{"Type":"Client"}}"#),
            String::new(),
            &by_type,
        );
        assert!(client.billable, "{:?}", client.not_billable_reason);
        assert_eq!(client.types, vec!["Business", "Type: Client"]);
        let prospect = company(
            c(r#"{"id":4,"business_name":"Beta","properties":{"Type":"Prospect"}}"#),
            String::new(),
            &by_type,
        );
        assert!(prospect.not_billable_reason.unwrap().contains("Prospect"));
        let flag = BillableRules {
            property: Some("Managed".into()),
            ..BillableRules::default()
        };
        let yes = company(
            c(r#"{"id":5,"business_name":"C","properties":{"Managed":true}}"#),
            String::new(),
            &flag,
        );
        assert!(yes.billable);
        let no = company(
            c(r#"{"id":6,"business_name":"D","properties":{"Managed":false}}"#),
            String::new(),
            &flag,
        );
        assert!(!no.billable);
    }
}
