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
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::{Settings, clean_subdomain};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::connectors::{Connector, ConnectorKind, KindSettings, SyncCx};
use crate::http::{
    ConnectorError, End, HttpClient, Pages, Paging, RateLimit, Request, RetryPolicy, StaticHeaders,
    check_url, decode_one, decode_value,
};
use crate::model::{PsaProduct, PsaSnapshot, Snapshot};

use convert::{agreement, company, line, product};

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
    e.name_permission(|_| {
        let permission = if path.starts_with("customers") {
            "Customers - List/Search"
        } else if path.starts_with("schedules") {
            "Recurring Invoices - List"
        } else if path.starts_with("products") {
            "Products - List/Search"
        } else {
            "the permission this endpoint needs"
        };
        format!(
            "The API token lacks the `{permission}` permission: add it to the token (Admin > API Tokens > the token > Permissions; the connector needs Customers - List/Search, Recurring Invoices - List and Products - List/Search), then run the command again"
        )
    })
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
            ..Default::default()
        }))
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
}
