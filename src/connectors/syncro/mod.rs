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
mod write;

pub use args::Args;
pub use settings::{Settings, clean_subdomain};
pub use write::Writer;

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
    ConnectorError, End, HttpClient, Oddities, Pages, Paging, RateLimit, Read, Request,
    RetryPolicy, StaticHeaders, Tolerant, check_url, decode_one, decode_tolerant, decode_value,
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
            first: 1,
            size: None,
            end: End::TotalPages("/meta/total_pages"),
        };
        self.client
            .pages(Request::get(path).queries(query), paging, items_at)
    }

    /// Every record of a list, read tolerantly (an odd field is unknown for its record, a record
    /// without its id or customer is set aside); `requests` counts the pages asked for.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        items_at: &'static str,
        query: &[(&str, String)],
        requests: &AtomicUsize,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<Tolerant<T>, ConnectorError> {
        // The pager reports once a page, so counting its reports counts the requests.
        let page_read = |n| {
            requests.fetch_add(1, Ordering::Relaxed);
            progress(n)
        };
        self.pages(path, items_at, query)
            .all_tolerant(&page_read)
            .await
            .map_err(|e| name_permission(e, path))
    }

    /// `GET /api/v1/{path}`, as set-aside lines and odd fields name the list.
    fn endpoint(&self, path: &str) -> String {
        let base = self.client.base().path().trim_end_matches('/');
        format!("GET {base}/{path}")
    }

    /// The schedule of `GET /schedules/{id}` (a list answer without lines), read tolerantly
    /// with its lines; `None` when it cannot be attributed (set aside in `odd`).
    async fn one_schedule(
        &self,
        id: i64,
        requests: &AtomicUsize,
        odd: &mut Oddities,
    ) -> Result<Option<Read<wire::Schedule>>, ConnectorError> {
        let path = format!("schedules/{id}");
        requests.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .client
            .get(&path, &[])
            .await
            .map_err(|e| name_permission(e, &path))?;
        // Only an answer without its `schedule` object is the wrong shape.
        let one: wire::OneSchedule = decode_one(&self.name, &resp.endpoint, &resp.body)?;
        let got = decode_tolerant("schedule", 0, vec![Value::Object(one.schedule)]);
        Ok(odd.take(&self.endpoint(&path), got).pop())
    }
    /// The `meta` of a list's first page, which proves the list readable.
    async fn first_meta<T: DeserializeOwned>(
        &self,
        path: &str,
        items_at: &'static str,
    ) -> Result<wire::Meta, ConnectorError> {
        let page = self
            .pages::<T>(path, items_at, &[])
            .tolerant()
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
        let mut odd = Oddities::default();
        let customers = odd.take(&self.endpoint("customers"), customers);
        let list_endpoint = self.endpoint("schedules");
        let schedules = odd.take(&list_endpoint, schedules);
        // Lines come with each schedule; a list answer without them is read schedule by
        // schedule (the rate limit paces these).
        let mut with_lines = Vec::new();
        let mut lines_read = 0;
        for s in schedules {
            let id = s.value.id;
            let (mut s, endpoint, at) = match s.value.lines {
                Some(_) => (
                    s,
                    list_endpoint.clone(),
                    // Named by id: an index would restart on every page.
                    format!("schedules[id={id}].lines"),
                ),
                None => match self.one_schedule(id, &requests, &mut odd).await? {
                    Some(one) => (
                        one,
                        self.endpoint(&format!("schedules/{id}")),
                        "schedule.lines".to_string(),
                    ),
                    None => continue,
                },
            };
            let items = s.value.lines.take().unwrap_or_default();
            let items = odd.take(&endpoint, decode_tolerant(&at, 0, items));
            lines_read += items.len();
            cx.report("recurring invoice lines", lines_read);
            with_lines.push((s, items));
        }
        let products = if with_lines.iter().any(|(_, l)| {
            l.iter()
                .any(|li: &Read<wire::LineItem>| li.value.product_id.is_some())
        }) {
            let got = self
                .all_pages::<wire::Product>("products", "/products", &[], &requests, &|n| {
                    cx.report("products", n)
                })
                .await?;
            odd.take(&self.endpoint("products"), got)
        } else {
            Vec::new()
        };

        let mut unreadable = BTreeMap::new();
        let companies = customers
            .into_iter()
            .map(|c| {
                if let Some(why) = unread_billable(&c, &self.rules) {
                    unreadable.insert(c.value.id.to_string(), why);
                }
                company(c.value, c.raw, &self.rules)
            })
            .collect();
        let products: Vec<PsaProduct> = products
            .into_iter()
            .map(|p| product(p.value, p.raw))
            .collect();
        let by_id: HashMap<&str, &PsaProduct> =
            products.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut agreements = Vec::new();
        let mut lines = Vec::new();
        for (s, items) in with_lines {
            let a = agreement(&s.value, s.raw);
            let mut unread = |why: String| {
                unreadable.entry(a.company_id.clone()).or_insert(why);
            };
            // Whether the schedule bills, and which lines it has, decide the count.
            for field in ["paused", "lines"] {
                if s.odd.iter().any(|f| f == field) {
                    unread(format!(
                        "recurring invoice {} has no readable `{field}`",
                        a.id
                    ));
                }
            }
            for item in items {
                let l = &item.value;
                let unknown = |f: &str| item.odd.iter().any(|o| o == f);
                // What decides whether and how much the line counts is never guessed.
                let why = if unknown("one_time_charge") {
                    "`one_time_charge` (whether it recurs)"
                } else if unknown("product_id") {
                    "`product_id` (which product it bills)"
                } else if let Some(q) = l.quantity {
                    lines.push(line(item.value, item.raw, q, &a, &by_id));
                    continue;
                } else {
                    "quantity (`quantity`)"
                };
                // A paused schedule's lines count for nothing, known or not.
                if a.status == "Active" {
                    unread(format!(
                        "line {} of recurring invoice {} has no readable {why}",
                        l.id, a.id
                    ));
                }
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
        crate::connectors::note_cycles_kept_as_sent(
            &self.name,
            &agreements,
            "frequencies kept as sent",
            &mut meta,
        );
        meta.extend(odd.note());
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

/// Why a customer's billability is unknown, if it is: `disabled`, or what a billable rule
/// reads, had a value that could not be read. Never guessed: its billing is unknown.
fn unread_billable(c: &Read<wire::Customer>, rules: &BillableRules) -> Option<String> {
    let decides = [
        ("disabled", true),
        ("business_name", rules.business_only),
        ("properties", rules.property.is_some()),
    ];
    let (field, _) = decides
        .into_iter()
        .find(|(f, used)| *used && c.odd.iter().any(|o| o == f))?;
    Some(format!(
        "customer {} has no readable `{field}`, which decides whether it bills",
        c.value.id
    ))
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
            allow_write: false,
            write_token: false,
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
