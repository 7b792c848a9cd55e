//! ConnectWise PSA (Manage) REST API 3.0: companies, agreements and their additions (the
//! recurring billing lines), and the product catalog the additions refer to.
//!
//! Auth: `Authorization: Basic base64("{companyId}+{publicKey}:{privateKey}")` plus the
//! integration's `clientId` header on every call. The API lives at
//! `https://{api host}/{codebase}apis/3.0/`; the codebase comes from the unauthenticated
//! `https://{site}/login/companyinfo/{companyId}` unless the config pins it, and is looked up at
//! every sync because hosted codebases move on upgrade. Lists page with `page`/`pageSize` (≤1000)
//! and a `Link` header. There is no cross-agreement additions collection, so additions are read
//! agreement by agreement, a few at a time.
//!
//! Every list is read tolerantly (`Pages::all_tolerant`): a record without its id (or an
//! agreement without its company) is set aside, any other odd field is unknown for its record
//! and counted in `meta`; an agreement or addition whose count-deciding field is unknown makes
//! its company unreadable (see `convert::line`).
//!
//! Write-back (`write.rs`) reads one addition and its agreement and PATCHes the addition through
//! the same client construction, as the read member or a separate write member.

mod args;
mod convert;
mod settings;
mod wire;
mod write;

pub use args::Args;
pub use settings::Settings;
pub use write::Writer;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use jiff::Timestamp;
use secrecy::SecretString;
use tokio::sync::OnceCell;
use url::Url;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, End, HttpClient, Oddities, Paging, Param, RateLimit, Request, RetryPolicy,
    StaticHeaders, Tolerant, check_url, decode_one, get_discovery,
};
use crate::model::{PsaAgreement, PsaLine, PsaSnapshot, Snapshot};

use convert::{agreement, agreement_unknown, company, line, product};

pub const MAX_PAGE_SIZE: usize = 1000;
/// Used when `companyinfo` does not name a codebase (on-premises servers).
const DEFAULT_CODEBASE: &str = "v4_6_release/";

pub struct ConnectWise {
    name: String,
    login: Url,
    api_origin: Url,
    company_id: String,
    pinned_codebase: Option<String>,
    billable_types: Vec<String>,
    page_size: usize,
    auth: Arc<StaticHeaders>,
    retry: RetryPolicy,
    api: OnceCell<(HttpClient, String)>,
}

/// Splits `--site` into the login host (codebase discovery) and the API host. ConnectWise cloud
/// serves the API from `api-<site>` (`na.myconnectwise.net` → `api-na.myconnectwise.net`);
/// on-premises servers serve both from one host.
pub fn hosts(name: &str, site: &str) -> Result<(Url, Url), ConnectorError> {
    let raw = if site.contains("://") {
        site.to_string()
    } else {
        format!("https://{site}")
    };
    let url = check_url(name, &raw)?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let cloud = |h: &str| h.ends_with(".myconnectwise.net") || h.ends_with(".connectwisedev.com");
    let (login_host, api_host) = if let Some(rest) = host.strip_prefix("api-").filter(|r| cloud(r))
    {
        (rest.to_string(), host.clone())
    } else if cloud(&host) {
        (host.clone(), format!("api-{host}"))
    } else {
        (host.clone(), host.clone())
    };
    let with_host = |h: &str| {
        let mut u = url.clone();
        u.set_path("/");
        u.set_query(None);
        u.set_host(Some(h)).map_err(|e| ConnectorError::Invalid {
            connection: name.into(),
            message: format!("site `{site}` gives an invalid host: {e}"),
        })?;
        Ok::<Url, ConnectorError>(u)
    };
    Ok((with_host(&login_host)?, with_host(&api_host)?))
}

fn normalize_codebase(c: &str) -> String {
    let c = c.trim().trim_matches('/');
    format!("{c}/")
}

impl ConnectWise {
    pub fn new(
        name: &str,
        settings: &Settings,
        private_key: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<ConnectWise> {
        ConnectWise::as_member(name, settings, &settings.public_key, private_key, retry)
    }

    /// The connector signed in as the API member with `public_key` (the read member, or the
    /// write member of `settings.write_public_key`).
    fn as_member(
        name: &str,
        settings: &Settings,
        public_key: &str,
        private_key: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<ConnectWise> {
        let (login, api_origin) = hosts(name, &settings.site)?;
        let hint = format!(
            "Check the company id, the API member's public and private keys, and that its security role may inquire on Companies, Finance > Agreements and Procurement > Product Catalog; then run `reconcile connect connectwise --name {name} ...` again"
        );
        let auth = StaticHeaders::basic(
            &format!("{}+{}", settings.company_id, public_key),
            &private_key,
            &[("clientid", settings.client_id.clone())],
            hint,
        )
        .map_err(|e| anyhow::anyhow!("connection `{name}`: {e}"))?;
        Ok(ConnectWise {
            name: name.into(),
            login,
            api_origin,
            company_id: settings.company_id.clone(),
            pinned_codebase: settings.codebase.as_deref().map(normalize_codebase),
            billable_types: settings.billable_company_types.clone(),
            page_size: settings
                .page_size
                .unwrap_or(MAX_PAGE_SIZE)
                .min(MAX_PAGE_SIZE),
            auth: Arc::new(auth),
            retry,
            api: OnceCell::new(),
        })
    }

    /// Looks the codebase up at `login/companyinfo/{companyId}`.
    pub async fn discover_codebase(&self) -> Result<String, ConnectorError> {
        let url = self
            .login
            .join(&format!(
                "login/companyinfo/{}",
                urlencode(&self.company_id)
            ))
            .expect("a path joins onto the site");
        let resp = get_discovery(
            &self.name,
            &url,
            &self.retry,
            "This endpoint needs no credentials; check --site",
        )
        .await?;
        let info: Option<wire::CompanyInfo> = decode_one(&self.name, &resp.endpoint, &resp.body)?;
        let Some(info) = info else {
            return Err(ConnectorError::Invalid {
                connection: self.name.clone(),
                message: format!(
                    "{} does not know the company id `{}`; give the company id you log in with (--company-id), or pin the codebase with --codebase",
                    self.login.origin().ascii_serialization(),
                    self.company_id
                ),
            });
        };
        tracing::debug!(connection = %self.name, codebase = ?info.codebase, version = ?info.version_code, company = ?info.company_name, "discovered codebase");
        Ok(info
            .codebase
            .as_deref()
            .map(normalize_codebase)
            .unwrap_or_else(|| DEFAULT_CODEBASE.to_string()))
    }

    /// Requests in flight at most: the `concurrency` setting, else the kind's default.
    fn concurrency(&self) -> usize {
        self.retry
            .concurrency_or(ConnectorKind::ConnectWise.default_concurrency())
    }

    async fn api(&self) -> Result<&(HttpClient, String), ConnectorError> {
        self.api
            .get_or_try_init(|| async {
                let codebase = match &self.pinned_codebase {
                    Some(c) => c.clone(),
                    None => self.discover_codebase().await?,
                };
                let base = self
                    .api_origin
                    .join(&format!("{codebase}apis/3.0/"))
                    .map_err(|e| ConnectorError::Invalid {
                        connection: self.name.clone(),
                        message: format!("codebase `{codebase}` does not form a URL: {e}"),
                    })?;
                let client =
                    HttpClient::new(&self.name, base, self.auth.clone(), self.retry.clone())
                        .with_rate_limit(Arc::new(RateLimit::in_flight(self.concurrency())));
                Ok((client, codebase))
            })
            .await
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// ConnectWise collections: `page` and `pageSize`, with navigable-mode `Link` headers when the
/// server sends them, else until a short page.
fn paging(page_size: usize) -> Paging {
    Paging::Numbered {
        page: "page",
        first: 1,
        size: Some(Param::new("pageSize", page_size)),
        end: End::LinkOrShortPage,
    }
}

#[async_trait]
impl Connector for ConnectWise {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::ConnectWise
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let (api, codebase) = self.api().await?;
        let info: wire::SystemInfo = api.get_one("system/info", &[]).await?;
        let one = [("pageSize", "1".to_string())];
        api.get_list::<wire::Company>("company/companies", &one)
            .await?;
        api.get_list::<wire::Agreement>("finance/agreements", &one)
            .await?;
        Ok(format!(
            "signed in to {} (codebase {codebase}, version {}); companies and agreements are readable",
            self.api_origin.origin().ascii_serialization(),
            info.version.as_deref().unwrap_or("unknown")
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let (api, _) = self.api().await?;
        let ps = self.page_size;
        // The four lists do not depend on each other: read them side by side.
        let company_query = [("conditions", "deletedFlag=false".to_string())];
        let agreement_query = [("conditions", "cancelledFlag=false".to_string())];
        let catalog_query = [("conditions", "inactiveFlag=false".to_string())];
        let companies_read = |n| cx.report("companies", n);
        let agreements_read = |n| cx.report("agreements", n);
        let catalog_read = |n| cx.report("catalog", n);
        let list = |path: &str, query: &[(&str, String)]| Request::get(path).queries(query);
        let (statuses, companies, agreements, products) = tokio::try_join!(
            api.pages::<wire::CompanyStatus>(
                list("company/companies/statuses", &[]),
                paging(ps),
                ""
            )
            .all_tolerant(&|_| {}),
            api.pages::<wire::Company>(list("company/companies", &company_query), paging(ps), "")
                .all_tolerant(&companies_read),
            api.pages::<wire::Agreement>(
                list("finance/agreements", &agreement_query),
                paging(ps),
                ""
            )
            .all_tolerant(&agreements_read),
            api.pages::<wire::CatalogItem>(
                list("procurement/catalog", &catalog_query),
                paging(ps),
                ""
            )
            .all_tolerant(&catalog_read),
        )?;
        let mut odd = Oddities::default();
        let statuses = odd.take("GET /company/companies/statuses", statuses);
        let companies = odd.take("GET /company/companies", companies);
        let agreements = odd.take("GET /finance/agreements", agreements);
        let products = odd.take("GET /procurement/catalog", products);
        let now = Timestamp::now();
        let mut unreadable = BTreeMap::new();
        let agreements: Vec<PsaAgreement> = agreements
            .into_iter()
            .map(|r| {
                // Its status decides whether its additions count: never guessed.
                if let Some(why) = agreement_unknown(&r.value, &r.odd) {
                    unreadable
                        .entry(r.value.company.id.to_string())
                        .or_insert(why);
                }
                agreement(r.value, r.raw, now)
            })
            .collect();

        let lines_read = AtomicUsize::new(0);
        // Owned indices, not references, into the stream: async_trait futures must be `Send` for
        // every lifetime, which borrowed closure arguments cannot promise.
        let wanted: Vec<(usize, String)> = agreements
            .iter()
            .enumerate()
            .filter(|(_, a)| a.status.eq_ignore_ascii_case("active"))
            .map(|(i, a)| (i, format!("finance/agreements/{}/additions", a.id)))
            .collect();
        let additions: Vec<(usize, String, Tolerant<wire::Addition>)> = stream::iter(wanted)
            .map(|(i, path)| {
                let lines_read = &lines_read;
                async move {
                    let before = lines_read.load(Ordering::Relaxed);
                    let got = api
                        .pages::<wire::Addition>(Request::get(&path), paging(ps), "")
                        .all_tolerant(&|n| cx.report("additions", before + n))
                        .await?;
                    let n = got.records.len();
                    let total = lines_read.fetch_add(n, Ordering::Relaxed) + n;
                    cx.report("additions", total);
                    Ok::<_, ConnectorError>((i, path, got))
                }
            })
            .buffer_unordered(self.concurrency())
            .try_collect()
            .await?;

        let statuses: HashMap<i64, wire::CompanyStatus> = statuses
            .into_iter()
            .map(|r| (r.value.id, r.value))
            .collect();
        let companies = companies
            .into_iter()
            .map(|r| company(r.value, r.raw, &statuses, &self.billable_types))
            .collect();
        let mut lines: Vec<PsaLine> = Vec::new();
        for (i, path, adds) in additions {
            let a = &agreements[i];
            for r in odd.take(&format!("GET /{path}"), adds) {
                match line(r.value, r.raw, &r.odd, a) {
                    Ok(l) => lines.push(l),
                    // What the company is billed depends on this line: never read it as 0.
                    Err(why) => {
                        unreadable.entry(a.company_id.clone()).or_insert(why);
                    }
                }
            }
        }
        lines.sort_by(|a, b| a.agreement_id.cmp(&b.agreement_id).then(a.id.cmp(&b.id)));
        let products = products
            .into_iter()
            .map(|r| product(r.value, r.raw))
            .collect();
        let mut meta = BTreeMap::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_sites_use_the_api_host() {
        let (login, api) = hosts("cw", "na.myconnectwise.net").unwrap();
        assert_eq!(login.as_str(), "https://na.myconnectwise.net/");
        assert_eq!(api.as_str(), "https://api-na.myconnectwise.net/");
        let (login, api) = hosts("cw", "api-eu.myconnectwise.net").unwrap();
        assert_eq!(login.as_str(), "https://eu.myconnectwise.net/");
        assert_eq!(api.as_str(), "https://api-eu.myconnectwise.net/");
        let (login, api) = hosts("cw", "cw.example.com").unwrap();
        assert_eq!(login, api);
        let (login, api) = hosts("cw", "http://127.0.0.1:8080").unwrap();
        assert_eq!(login.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(api.as_str(), "http://127.0.0.1:8080/");
        assert!(hosts("cw", "http://cw.example.com").is_err());
    }

    #[test]
    fn codebases_are_normalized() {
        assert_eq!(normalize_codebase("v4_6_release"), "v4_6_release/");
        assert_eq!(normalize_codebase("/v2025_1/"), "v2025_1/");
    }
}
