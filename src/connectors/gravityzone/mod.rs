//! Bitdefender GravityZone Cloud (JSON-RPC 2.0 API): companies under the MSP's partner company
//! are accounts; their managed endpoints, and each figure of their monthly licence usage, are
//! usage items. Read only.
//!
//! Auth: HTTP Basic with the API key as the user name and an empty password. The key is made in
//! the partner company (Control Center > My Account > API keys) with the Companies, Network and
//! Licensing APIs enabled; a call to an API the key lacks answers 403. A key is scoped by API,
//! not by read or write (those APIs hold write methods too): this connector calls only the four
//! read methods below. Each API is its own path,
//! `{Access URL}/v1.0/jsonrpc/{companies|network|licensing}`; the Access URL is the one the
//! console shows next to the key (hosts differ by region, so it is never guessed).
//!
//! Reads: `companies.getCompanyDetails` (the key's own company, left out of the accounts),
//! `companies.findCompaniesByName` with `*` (every company below it, customers and
//! sub-partners), then per company `network.getEndpointsList` (managed endpoints, paged with
//! `page`/`perPage` to `pagesCount`; an endpoint that names another company, as a partner's
//! recursive list does, is left to that company) and `licensing.getMonthlyUsagePerProductType`
//! for the billed month (`mm/yyyy`; by default the last closed month, since the current
//! month's figure is month-to-date). A company whose read answers a JSON-RPC error is
//! unreadable, with the error; the others are counted.
//!
//! Monthly usage is what Bitdefender bills the MSP on: per protection model or add-on, the
//! month's figure as Bitdefender counts it (a high watermark of protected endpoints). Each
//! member (`endpointMonthlyUsage`, `edrMonthlyUsage`, ... and members this build does not
//! know) is a service `<usage>:monthly-usage` counting its figure. The endpoint services
//! count what is installed now; billed per endpoint, their suggested basis is `peak`.
//!
//! Limits: 10 requests a second per key, 5 for the Licensing methods; past them 429. One
//! [`RateLimit`] of 5 a second covers both.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use convert::{class_of, usage_member};
pub use settings::{Settings, UsageMonth};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::civil::Date;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, JsonRpc, RateLimit, RetryPolicy, StaticHeaders, check_url,
    decode_value,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, VendorSnapshot};

/// The class of a monthly usage figure.
pub const MONTHLY_USAGE: &str = "MONTHLY_USAGE";
/// The class of an endpoint that is neither a computer, a VM nor an EC2 instance.
pub const OTHER: &str = "OTHER";
/// The most endpoints a page holds (the cloud API allows more in v1.1; 100 is every version's).
pub const MAX_PAGE: usize = 100;
/// Requests a second: the Licensing methods' limit per key (the others allow 10).
pub const REQUESTS_PER_SECOND: usize = 5;

const COMPANIES: &str = "v1.0/jsonrpc/companies";
const NETWORK: &str = "v1.0/jsonrpc/network";
const LICENSING: &str = "v1.0/jsonrpc/licensing";

/// Endpoint services (by class) in NinjaOne's shape; usage figures count in none of them.
pub fn services() -> Vec<ServiceDef> {
    let def = ServiceDef::of_classes;
    vec![
        def(
            "total-endpoints",
            "Total Endpoints",
            &["WORKSTATION", "SERVER", OTHER],
        ),
        def("total-servers", "Total Servers", &["SERVER"]),
        def("total-workstations", "Total Workstations", &["WORKSTATION"]),
        def("total-other-endpoints", "Total Other Endpoints", &[OTHER]),
    ]
}

/// One service per monthly usage member (`endpoint:monthly-usage`, counting its figure) and
/// per machine type (`virtual-machine:machine-type`).
pub fn families() -> Vec<ServiceFamily> {
    vec![
        ServiceFamily {
            attr: "usage",
            name_attr: Some("usage_name"),
            key_suffix: ":monthly-usage",
            name_suffix: " (monthly usage)",
            quantity: Some("quantity"),
            classes: Some(&[MONTHLY_USAGE]),
        },
        ServiceFamily {
            attr: "machine_type",
            name_attr: None,
            key_suffix: ":machine-type",
            name_suffix: " (machine type)",
            quantity: None,
            classes: Some(&["WORKSTATION", "SERVER", OTHER]),
        },
    ]
}

/// The billed month as the Licensing API takes it (`mm/yyyy`): `today`'s month, or the one
/// before.
pub fn target_month(which: UsageMonth, today: Date) -> String {
    let d = match which {
        UsageMonth::Current => today,
        UsageMonth::Previous => today
            .first_of_month()
            .yesterday()
            .expect("the day before a month's first exists"),
    };
    format!("{:02}/{}", d.month(), d.year())
}

pub struct GravityZone {
    name: String,
    rpc: JsonRpc,
    page_size: usize,
    month: String,
}

impl GravityZone {
    pub fn new(
        name: &str,
        settings: &Settings,
        key: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<GravityZone> {
        let base = check_url(name, &format!("{}/", settings.access_url()))?;
        let again = format!(
            "reconcile connect gravityzone --name {name} --url {}",
            settings.access_url()
        );
        let hint = format!(
            "GravityZone refused the API key: check it was copied whole from Control Center > My Account > API keys and still exists, and that the URL is the Access URL shown there, then run `{again}`"
        );
        let auth = StaticHeaders::basic(
            key.expose_secret().trim(),
            &SecretString::from(""),
            &[],
            hint,
        )
        .map_err(|e| anyhow::anyhow!("connection `{name}`: the API key {e}"))?;
        let concurrency = retry.concurrency_or(ConnectorKind::GravityZone.default_concurrency());
        let limit = RateLimit::per(REQUESTS_PER_SECOND, Duration::from_secs(1))
            .with_concurrency(concurrency);
        let client =
            HttpClient::new(name, base, Arc::new(auth), retry).with_rate_limit(Arc::new(limit));
        let today = jiff::Zoned::now()
            .with_time_zone(jiff::tz::TimeZone::UTC)
            .date();
        Ok(GravityZone {
            name: name.to_string(),
            rpc: JsonRpc::new(client),
            page_size: settings.page_size.unwrap_or(MAX_PAGE),
            month: target_month(settings.usage_month.unwrap_or_default(), today),
        })
    }

    /// `POST /api/v1.0/jsonrpc/network (getEndpointsList)`: a call as messages name it.
    fn at(&self, path: &str, method: &str) -> String {
        format!("POST {}{path} ({method})", self.rpc.client().base().path())
    }

    async fn own_company(&self) -> Result<wire::CompanyDetails, ConnectorError> {
        let result = self
            .rpc
            .call(COMPANIES, "getCompanyDetails", json!({}))
            .await
            .map_err(|e| name_the_api(e, COMPANIES))?;
        let endpoint = self.at(COMPANIES, "getCompanyDetails");
        decode_value(&self.name, &endpoint, "result", result)
    }

    async fn usage(&self, company: &str) -> Result<Value, ConnectorError> {
        let params = json!({"companyId": company, "targetMonth": self.month});
        self.rpc
            .call(LICENSING, "getMonthlyUsagePerProductType", params)
            .await
            .map_err(|e| name_the_api(e, LICENSING))
    }
}

/// A 403 names the API the key lacks.
fn name_the_api(e: ConnectorError, path: &str) -> ConnectorError {
    let api = match path {
        COMPANIES => "Companies",
        NETWORK => "Network",
        _ => "Licensing",
    };
    e.name_permission(|_| {
        format!(
            "GravityZone answers 403 when the key lacks an API: enable the {api} API for the key (Control Center > My Account > API keys; reconcile needs Companies, Network and Licensing, nothing else), then run `reconcile connect gravityzone` again"
        )
    })
}

/// The usages list of a monthly usage result.
fn usages(result: &Value) -> Option<&Vec<Value>> {
    result.get("usages").and_then(Value::as_array)
}

#[async_trait]
impl Connector for GravityZone {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::GravityZone
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let own = self.own_company().await?;
        // Sync needs the Network and Licensing APIs too: one call each (one page of one).
        let params = json!({"parentId": own.id, "isManaged": true, "page": 1, "perPage": 1});
        self.rpc
            .call(NETWORK, "getEndpointsList", params)
            .await
            .map_err(|e| name_the_api(e, NETWORK))?;
        self.usage(&own.id).await?;
        Ok(format!(
            "signed in to {} (partner company `{}`); the Companies, Network and Licensing APIs answer; monthly usage is read for {}",
            self.rpc.client().base().origin().ascii_serialization(),
            own.name.unwrap_or(own.id),
            self.month
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let own = self.own_company().await?;
        let result = self
            .rpc
            .call(COMPANIES, "findCompaniesByName", json!({"nameFilter": "*"}))
            .await
            .map_err(|e| name_the_api(e, COMPANIES))?;
        let endpoint = self.at(COMPANIES, "findCompaniesByName");
        let list = match result {
            Value::Array(a) => a,
            other => {
                return Err(ConnectorError::Decode {
                    connection: self.name.clone(),
                    endpoint,
                    path: "result".into(),
                    detail: format!(
                        "expected a JSON array, got {}",
                        crate::http::kind_of(&other)
                    ),
                });
            }
        };
        let companies = crate::http::decode_tolerant::<wire::Company>("result", 0, list);
        let mut set_aside: Vec<String> = (companies.set_aside.iter())
            .map(|s| format!("{endpoint} {s}"))
            .collect();
        let accounts: Vec<_> = (companies.records.into_iter())
            .filter(|c| c.value.id != own.id)
            .map(|c| convert::company(c.value, c.raw))
            .collect();
        cx.report("companies", accounts.len());

        let mut kept = Vec::new();
        let mut unreadable = BTreeMap::new();
        let mut endpoints = 0;
        for account in &accounts {
            let id = &account.id;
            let params = json!({"parentId": id, "isManaged": true});
            let listed = self
                .rpc
                .all::<wire::Endpoint>(NETWORK, "getEndpointsList", params, self.page_size, &|_| {})
                .await;
            let listed = match listed {
                Ok(l) => l,
                Err(ConnectorError::Rpc { message, code, .. }) => {
                    unreadable.insert(
                        id.clone(),
                        format!("getEndpointsList answered {code}: {message}"),
                    );
                    continue;
                }
                Err(e) => return Err(name_the_api(e, NETWORK)),
            };
            let at = format!("{} company {id}", self.at(NETWORK, "getEndpointsList"));
            set_aside.extend(listed.set_aside.iter().map(|s| format!("{at} {s}")));
            let mut items = Vec::new();
            let mut why = None;
            for r in listed.records {
                // Another company's (a partner's list is recursive), or not managed although
                // only managed endpoints were asked for.
                if r.value.company_id.as_ref().is_some_and(|c| c != id)
                    || r.value.is_managed == Some(false)
                {
                    continue;
                }
                match convert::endpoint(r.value, r.raw, &r.odd, id) {
                    Ok(item) => items.push(item),
                    Err(w) => why = why.or(Some(w)),
                }
            }
            let usage = match self.usage(id).await {
                Ok(u) => u,
                Err(ConnectorError::Rpc { message, code, .. }) => {
                    unreadable.insert(
                        id.clone(),
                        format!("getMonthlyUsagePerProductType answered {code}: {message}"),
                    );
                    continue;
                }
                Err(e) => return Err(e),
            };
            let figures = match usages(&usage) {
                Some(u) => convert::monthly_usage(u, id, &self.month),
                None => Err(format!(
                    "monthly usage for {} has no `usages` list",
                    self.month
                )),
            };
            match (why, figures) {
                (None, Ok(figures)) => {
                    endpoints += items.len();
                    items.extend(figures);
                    cx.report("endpoints", endpoints);
                    cx.emit(&self.name, items, &mut kept).await?;
                }
                (Some(w), _) | (None, Err(w)) => {
                    unreadable.insert(id.clone(), w);
                }
            }
        }
        tracing::debug!(connection = %self.name, companies = accounts.len(), endpoints, month = %self.month, "read GravityZone");
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts,
            items: kept,
            unreadable,
            set_aside,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_billed_month_is_the_last_closed_one_unless_asked() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(
            target_month(UsageMonth::Previous, d("2026-12-04")),
            "11/2026"
        );
        assert_eq!(
            target_month(UsageMonth::Previous, d("2027-01-01")),
            "12/2026"
        );
        assert_eq!(
            target_month(UsageMonth::Current, d("2026-03-31")),
            "03/2026"
        );
    }
}
