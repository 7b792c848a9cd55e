//! Accelo (API v0): companies, contracts ("retainers"), each active contract's open period, and
//! the materials on those periods, which are the per-seat billing lines.
//!
//! Auth: a **service** application's client id and secret, in HTTP Basic, for a
//! client-credentials token at `POST https://{deployment}.api.accelo.com/oauth2/v0/token` with
//! the scope `read(all)` (nothing to write). The token lasts 30 days by default and its
//! `expires_in` is a string; it is renewed before it expires and once after a 401. The API is at
//! `https://{deployment}.api.accelo.com/api/v0`; every answer is `{meta: {status, message},
//! response}`. Lists page with `_limit` (at most 100) and `_offset`, and end on a short page;
//! `_fields` asks for the fields read here, `_filters` narrows a list. Accelo allows 5,000
//! requests an hour per deployment (the token endpoint not counted): every request of a
//! connection goes through one [`RateLimit`].
//!
//! What is billed: Accelo bills contracts per period. A seat-based contract carries its seats as
//! **materials** on the contract's current period (`GET /object_budgets/materials` filtered to
//! `against_type(contract_period)` and the open periods' ids); each material is one line, its
//! `quantity`, `price` and `cost` exact decimals from Accelo's strings, known by its title. Only
//! active contracts against a company (or naming one) are read, and only their `opened`
//! periods (`GET /contracts/{id}/periods`, one request a contract). The period's length gives
//! the billing cycle. A contract billed as a fixed value with no materials has no line here. The
//! material item templates (`GET /object_budgets/templates`) are the catalogue.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::{Settings, clean_deployment};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use crate::connectors::{Connector, ConnectorKind, KindSettings, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, OAuth2, Oddities, Pages, Paging, Param, RateLimit, Request,
    RetryPolicy, Tolerant, check_url,
};
use crate::model::{PsaSnapshot, Snapshot};

/// Accelo's published limit: 5,000 requests an hour per deployment.
pub const MAX_REQUESTS_PER_HOUR: usize = 5000;
/// Records a page: Accelo's most.
const PAGE_SIZE: usize = 100;
/// Period ids in one materials request's filter.
const PERIODS_PER_REQUEST: usize = 50;
/// The scope asked for: read everything, write nothing.
const SCOPE: &str = "read(all)";

const COMPANY_FIELDS: &str = "name,custom_id,standing";
const CONTRACT_FIELDS: &str =
    "title,against_type,against_id,company,standing,date_started,date_expires,contract_type";
const PERIOD_FIELDS: &str = "contract_id,date_commenced,date_expires,duration_type,standing";
const TEMPLATE_FIELDS: &str = "title,description,price,cost,standing";
const MATERIAL_FIELDS: &str =
    "title,against_type,against_id,contract_period_id,quantity,cost,price,material_template_id";

pub struct Accelo {
    name: String,
    client: HttpClient,
    standings: Vec<String>,
    per_hour: usize,
}

impl Accelo {
    /// `secret` is asked for the `client_secret`.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Accelo> {
        settings.validate(name)?;
        Accelo::with_secret(name, settings, secret("client_secret")?, retry)
    }

    /// [`Accelo::new`] with the client secret already read.
    pub fn with_secret(
        name: &str,
        settings: &Settings,
        client_secret: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<Accelo> {
        let host = check_url(name, &format!("{}/", settings.host()))?;
        let join = |p: &str| {
            host.join(p)
                .map_err(|e| anyhow::anyhow!("connection `{name}`: {e}"))
        };
        let hint = format!(
            "Accelo refused the service application: check its client id and secret (Configuration > API > the application), then run `reconcile connect accelo --name {name} ...` again"
        );
        let auth = OAuth2::client_credentials(
            name,
            join("oauth2/v0/token")?,
            settings.client_id.trim(),
            client_secret,
            SCOPE,
            retry.clone(),
            hint,
        )
        .client_in_basic()
        .forbidden_hint(FORBIDDEN_HINT.into());
        let per_hour = settings.requests_per_hour();
        let limit = RateLimit::per(per_hour, Duration::from_secs(3600))
            .with_concurrency(retry.concurrency_or(Settings::KIND.concurrency));
        let client = HttpClient::new(name, join("api/v0/")?, Arc::new(auth), retry)
            .with_rate_limit(Arc::new(limit));
        Ok(Accelo {
            name: name.into(),
            client,
            standings: settings.billable_standings.clone(),
            per_hour,
        })
    }

    fn pages<T: DeserializeOwned>(&self, first: Request, size: usize) -> Pages<'_, T> {
        let paging = Paging::Offset {
            offset: "_offset",
            size: Param::new("_limit", size),
            total: None,
        };
        self.client.pages(first, paging, "/response")
    }

    /// Every record of a list, read tolerantly; `requests` counts the pages.
    async fn all<T: DeserializeOwned>(
        &self,
        first: Request,
        requests: &AtomicUsize,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<Tolerant<T>, ConnectorError> {
        let page_read = |n| {
            requests.fetch_add(1, Ordering::Relaxed);
            progress(n)
        };
        self.pages(first, PAGE_SIZE)
            .all_tolerant(&page_read)
            .await
            .map_err(name_scope)
    }

    /// `GET /api/v0/{path}`, as set-aside lines and odd fields name the list.
    fn endpoint(&self, path: &str) -> String {
        let base = self.client.base().path().trim_end_matches('/');
        format!("GET {base}/{path}")
    }
}

const FORBIDDEN_HINT: &str = "The service application may not read this: reconcile asks for the scope read(all); check the application is a Service application and that its owner may see companies and contracts (Configuration > API), then run the command again";

/// A 403 says the scope, whichever list it came from.
fn name_scope(e: ConnectorError) -> ConnectorError {
    e.name_permission(|_| FORBIDDEN_HINT.into())
}

#[async_trait]
impl Connector for Accelo {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Accelo
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        for (path, fields) in [
            ("companies", COMPANY_FIELDS),
            ("contracts", CONTRACT_FIELDS),
            ("object_budgets/materials", MATERIAL_FIELDS),
        ] {
            self.pages::<serde_json::Value>(Request::get(path).query("_fields", fields), 1)
                .tolerant()
                .next()
                .await
                .map_err(name_scope)?;
        }
        Ok(format!(
            "signed in to {} with the scope {SCOPE}; companies, contracts and their materials are readable",
            self.client.base().origin().ascii_serialization()
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let requests = AtomicUsize::new(0);
        let companies_read = |n| cx.report("companies", n);
        let contracts_read = |n| cx.report("contracts", n);
        let templates_read = |n| cx.report("item templates", n);
        let (companies, contracts, templates) = tokio::try_join!(
            self.all::<wire::Company>(
                Request::get("companies").query("_fields", COMPANY_FIELDS),
                &requests,
                &companies_read
            ),
            self.all::<wire::Contract>(
                Request::get("contracts").query("_fields", CONTRACT_FIELDS),
                &requests,
                &contracts_read
            ),
            self.all::<wire::Template>(
                Request::get("object_budgets/templates")
                    .query("_fields", TEMPLATE_FIELDS)
                    .query("_filters", "type(material)"),
                &requests,
                &templates_read
            ),
        )?;
        let mut odd = Oddities::default();
        let companies = odd.take(&self.endpoint("companies"), companies);
        let contracts = odd.take(&self.endpoint("contracts"), contracts);
        let products = odd
            .take(&self.endpoint("object_budgets/templates"), templates)
            .into_iter()
            .map(|t| convert::product(t.value, t.raw))
            .collect();

        let mut unreadable = BTreeMap::new();
        let companies: Vec<_> = companies
            .into_iter()
            .map(|c| {
                if c.odd.iter().any(|f| f == "standing") && !self.standings.is_empty() {
                    unreadable.insert(
                        c.value.id.clone(),
                        format!(
                            "company {} has no readable `standing`, which decides whether it bills",
                            c.value.id
                        ),
                    );
                }
                convert::company(c.value, c.raw, &self.standings)
            })
            .collect();

        // Active contracts billed to a company; the others are kept as not active.
        let mut billed = Vec::new();
        let mut agreements = Vec::new();
        let mut not_on_company = 0;
        for c in contracts {
            let Some(company) = convert::contract_company(&c.value) else {
                not_on_company += 1;
                continue;
            };
            let active = c
                .value
                .standing
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("active"));
            if active {
                billed.push((c, company));
            } else {
                agreements.push(convert::agreement(&c.value, company, None, c.raw));
            }
        }

        // Each active contract's open periods, a few contracts at a time (the limit paces them).
        let periods_read = AtomicUsize::new(0);
        let ids: Vec<String> = billed.iter().map(|(c, _)| c.value.id.clone()).collect();
        let (requests_ref, periods_ref) = (&requests, &periods_read);
        let periods: Vec<(String, Tolerant<wire::Period>)> = futures_util::stream::iter(ids)
            .map(|id| async move {
                let req = Request::get(format!("contracts/{id}/periods"))
                    .query("_fields", PERIOD_FIELDS)
                    .query("_filters", "standing(opened)");
                let got = self.all::<wire::Period>(req, requests_ref, &|_| {}).await?;
                let n = got.records.len();
                cx.report(
                    "contract periods",
                    periods_ref.fetch_add(n, Ordering::Relaxed) + n,
                );
                Ok::<_, ConnectorError>((id, got))
            })
            .buffered(Settings::KIND.concurrency)
            .try_collect()
            .await?;
        let mut open: HashMap<String, wire::Period> = HashMap::new();
        let mut period_of: HashMap<String, Vec<String>> = HashMap::new();
        for (contract, got) in periods {
            for p in odd.take(
                &self.endpoint(&format!("contracts/{contract}/periods")),
                got,
            ) {
                // The filter asked for open periods; one that says otherwise is not current.
                let closed = p
                    .value
                    .standing
                    .as_deref()
                    .is_some_and(|s| !s.eq_ignore_ascii_case("opened"));
                if closed {
                    continue;
                }
                period_of
                    .entry(contract.clone())
                    .or_default()
                    .push(p.value.id.clone());
                open.insert(p.value.id.clone(), p.value);
            }
        }

        // The materials of the open periods, a batch of period ids a request.
        let mut ids: Vec<&String> = open.keys().collect();
        ids.sort();
        let mut materials = Vec::new();
        for batch in ids.chunks(PERIODS_PER_REQUEST) {
            let list = batch
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let req = Request::get("object_budgets/materials")
                .query("_fields", MATERIAL_FIELDS)
                .query(
                    "_filters",
                    format!("against_type(contract_period),against_id({list})"),
                );
            let read_before = materials.len();
            let got = self
                .all::<wire::Material>(req, &requests, &|n| cx.report("materials", read_before + n))
                .await?;
            materials.extend(odd.take(&self.endpoint("object_budgets/materials"), got));
        }

        let mut by_contract: HashMap<&str, Vec<_>> = HashMap::new();
        let mut outside = 0;
        for m in materials {
            let period = m
                .value
                .contract_period_id
                .clone()
                .filter(|p| open.contains_key(p))
                .or_else(|| {
                    let on_period = m
                        .value
                        .against_type
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case("contract_period"));
                    m.value
                        .against_id
                        .clone()
                        .filter(|p| on_period && open.contains_key(p))
                });
            match period {
                Some(p) => by_contract
                    .entry(open[&p].contract_id.as_str())
                    .or_default()
                    .push((m, p)),
                None => outside += 1,
            }
        }
        let mut lines = Vec::new();
        for (c, company) in billed {
            // The current open period gives the cycle: the latest commenced.
            let current = period_of.get(&c.value.id).and_then(|ps| {
                ps.iter()
                    .map(|p| &open[p])
                    .max_by_key(|p| (p.date_commenced, p.id.clone()))
            });
            let a = convert::agreement(
                &c.value,
                company,
                current.and_then(convert::cycle_of),
                c.raw,
            );
            for (m, period) in by_contract.remove(c.value.id.as_str()).unwrap_or_default() {
                let commenced = open[&period].date_commenced;
                match m
                    .value
                    .quantity
                    .filter(|_| !m.odd.iter().any(|f| f == "quantity"))
                {
                    Some(q) => lines.push(convert::line(m.value, m.raw, q, &a, commenced)),
                    None => {
                        unreadable.entry(a.company_id.clone()).or_insert_with(|| {
                            format!(
                                "material {} on contract {} has no readable `quantity`",
                                m.value.id, a.id
                            )
                        });
                    }
                }
            }
            agreements.push(a);
        }
        agreements.sort_by(|a, b| a.id.cmp(&b.id));
        lines.sort_by(|a, b| a.agreement_id.cmp(&b.agreement_id).then(a.id.cmp(&b.id)));

        let mut meta = BTreeMap::new();
        meta.insert(
            "api requests this sync".to_string(),
            format!(
                "{} (at most {} an hour)",
                requests.load(Ordering::Relaxed),
                self.per_hour
            ),
        );
        meta.insert(
            "billed quantities".to_string(),
            format!(
                "materials on the open periods of active contracts: {} line(s) on {} open period(s)",
                lines.len(),
                open.len()
            ),
        );
        if not_on_company > 0 {
            meta.insert(
                "contracts on no company (not read)".into(),
                not_on_company.to_string(),
            );
        }
        if outside > 0 {
            meta.insert(
                "materials on no open period (not read)".into(),
                outside.to_string(),
            );
        }
        crate::connectors::note_cycles_kept_as_sent(
            &self.name,
            &agreements,
            "period lengths kept as sent",
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
