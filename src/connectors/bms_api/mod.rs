//! Kaseya BMS API v2 and the PSAs built on it (Pulseway PSA, CloudBlue PSA): one client, typed by
//! its [`Family`] member. The kind folders (`kaseya_bms`, `pulseway`, `cloudblue`) hold only
//! what differs: the kind's facts, its default host and its `connect` flags.
//!
//! Auth: a user name, password and tenant posted to `POST /v2/security/authenticate`
//! ([`BmsLogin`]), then `Authorization: Bearer`. Every answer is the envelope `{success, error,
//! result}` (+ `totalRecords` on paged lists), PascalCase in the spec and camelCase live
//! ([`Enveloped`] reads both; `success: false` is an error even on HTTP 200). Lists page with
//! `PageNumber` (from 1) and `PageSize`, in the query of a GET or the JSON body of a search POST.
//! The family allows **1,500 calls an hour per endpoint**; each endpoint gets its own limit.
//!
//! **The read gap.** The public v2 API has no operation that lists the recurring-service lines
//! (service, units, price) of a contract: the finance group only creates contracts, edits their
//! header and *adds* services. So what a client is billed is read from its invoices: the lines of
//! `POST /v2/finance/invoices/details` that carry a `contractId` are recurring-service lines, and
//! each contract's **last invoice** (latest invoice date in the last `invoice_months`) gives its
//! billed quantities and prices. Each such line says so (`PsaLine::invoiced`: `invoice INV-1042
//! of 2026-11-01`), and so do the finding notes, `explain` and `status`. The invoice lines name
//! the service but carry no cost: the unit cost is the catalogue's
//! (`POST /v2/admin/finance/services/search`). Contracts (`GET /v2/finance/contracts/summary`)
//! give the billing cycle, status and dates; invoices (`GET /v2/finance/invoices/summary`) the
//! account each invoice bills. Void invoices are left out.

mod convert;
mod settings;
mod wire;

pub use settings::{
    DEFAULT_BILLABLE_TYPE, DEFAULT_INVOICE_MONTHS, MAX_INVOICE_MONTHS, Region, Settings,
};

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{Timestamp, ToSpan};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::connectors::{
    Common, ConnectArgs, Connector, ConnectorKind, KindInfo, KindSettings, NewConnection, SyncCx,
    clean_list, clean_url, read_secret,
};
use crate::http::{
    BmsLogin, ConnectorError, End, Enveloped, HttpClient, Oddities, Pages, Paging, Param,
    RateLimit, Read, Request, RetryPolicy, Tolerant, check_url,
};
use crate::model::{PsaProduct, PsaSnapshot, Snapshot};

/// The family's published limit: 1,500 calls an hour per endpoint.
pub const MAX_REQUESTS_PER_HOUR: usize = 1500;
/// Records a page.
const PAGE_SIZE: usize = 100;

/// One PSA of the family: what differs between them.
pub trait Family: Copy + Clone + Debug + Default + PartialEq + Send + Sync + 'static {
    const KIND: KindInfo;
    const CONNECTOR: ConnectorKind;
    /// The API host when the settings give none (`None`: `url` is required).
    const DEFAULT_HOST: Option<&'static str>;
    /// Whether the `region` setting applies (Kaseya BMS's data centres).
    const REGIONS: bool;
    /// Where the API user and its security role are set up, for hints.
    const USER_SETUP: &'static str;
    type Args: ConnectArgs<Settings = Settings<Self>>;
}

/// A BMS-family connection.
pub struct Bms<F> {
    name: String,
    api: Enveloped,
    types: Vec<String>,
    months: u32,
    per_hour: usize,
    family: PhantomData<F>,
}

impl<F: Family> Bms<F> {
    /// `secret` is asked for the `password`.
    pub fn new(
        name: &str,
        settings: &Settings<F>,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Bms<F>> {
        settings.validate(name)?;
        Bms::with_password(name, settings, secret("password")?, retry)
    }

    /// [`Bms::new`] with the password already read.
    pub fn with_password(
        name: &str,
        settings: &Settings<F>,
        password: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<Bms<F>> {
        let host = settings.host().unwrap_or_default();
        let base = check_url(name, &format!("{host}/"))?;
        let login = base
            .join("v2/security/authenticate")
            .map_err(|e| anyhow::anyhow!("connection `{name}`: {e}"))?;
        let psa = F::KIND.name;
        let key = F::KIND.key;
        let refused = format!(
            "{psa} refused the login: check the user name, the password and the tenant (the company name in My Settings), and that the user may use the API ({}); then run `reconcile connect {key} --name {name} ...` again",
            F::USER_SETUP
        );
        let auth = BmsLogin::new(
            name,
            login,
            settings.user.trim(),
            password,
            settings.tenant.trim(),
            retry.clone(),
            refused,
            forbidden_hint::<F>("what this endpoint reads"),
        );
        let in_flight = RateLimit::in_flight(retry.concurrency_or(F::KIND.concurrency));
        let client =
            HttpClient::new(name, base, Arc::new(auth), retry).with_rate_limit(Arc::new(in_flight));
        let failed = format!(
            "{psa} refused the request; if the message names a permission, give the API user's security role read access to it ({}), then run the command again",
            F::USER_SETUP
        );
        let per_hour = settings.requests_per_hour();
        Ok(Bms {
            name: name.into(),
            api: Enveloped::new(client, per_hour, Duration::from_secs(3600), failed),
            types: settings.billable_types.clone(),
            months: settings.invoice_months(),
            per_hour,
            family: PhantomData,
        })
    }

    fn pages<T: DeserializeOwned>(&self, first: Request, size: usize) -> Pages<'_, T> {
        let paging = Paging::Numbered {
            page: "PageNumber",
            first: 1,
            size: Some(Param::new("PageSize", size)),
            // Invoice lists give no total: a short page ends them.
            end: End::TotalRecords("/totalRecords"),
        };
        Pages::new(&self.api, first, paging, "/result")
    }

    /// Every record of a list, read tolerantly; `requests` counts the pages.
    async fn all<T: DeserializeOwned>(
        &self,
        first: Request,
        requests: &AtomicUsize,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<Tolerant<T>, ConnectorError> {
        let path = first.path.clone();
        let page_read = |n| {
            requests.fetch_add(1, Ordering::Relaxed);
            progress(n)
        };
        self.pages(first, PAGE_SIZE)
            .all_tolerant(&page_read)
            .await
            .map_err(|e| name_role::<F>(e, &path))
    }

    /// One page of one record of a list: proves it readable, and gives its total when it has one.
    async fn probe(&self, first: Request) -> Result<Option<u64>, ConnectorError> {
        let path = first.path.clone();
        let mut pages = self.pages::<Value>(first, 1).tolerant();
        pages.next().await.map_err(|e| name_role::<F>(e, &path))?;
        Ok(pages.total())
    }

    /// `GET /v2/...` as messages and set-aside lines name it.
    fn endpoint(&self, method: &str, path: &str) -> String {
        let base = self.api.client().base().path().trim_end_matches('/');
        format!("{method} {base}/{path}")
    }
}

/// `2026-09-05T00:00:00`, as the API's date-time filters take it.
fn filter_date(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .datetime()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The hint of a 403: the security role lacks read access to `what`.
fn forbidden_hint<F: Family>(what: &str) -> String {
    format!(
        "The API user's security role lacks read access to {what}. The connector reads CRM accounts, finance contracts, invoices and the service catalogue: give the role view access to those ({}), then run the command again",
        F::USER_SETUP
    )
}

/// A 403 names what the endpoint reads.
fn name_role<F: Family>(e: ConnectorError, path: &str) -> ConnectorError {
    e.name_permission(|_| {
        let what = if path.contains("crm/accounts") {
            "CRM accounts"
        } else if path.contains("services") {
            "the service catalogue (Admin > Finance > Services)"
        } else if path.contains("contracts") {
            "finance contracts"
        } else if path.contains("invoices") {
            "finance invoices"
        } else {
            "what this endpoint reads"
        };
        forbidden_hint::<F>(what)
    })
}

#[async_trait]
impl<F: Family> Connector for Bms<F> {
    fn kind(&self) -> ConnectorKind {
        F::CONNECTOR
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let (me, _) = self.api.call(&Request::get("v2/security/userinfo")).await?;
        let who = me
            .pointer("/result/fullName")
            .and_then(Value::as_str)
            .map(|n| format!(" as {n}"))
            .unwrap_or_default();
        let accounts = self.probe(Request::get("v2/crm/accounts/summary")).await?;
        self.probe(Request::get("v2/finance/invoices/summary"))
            .await?;
        self.probe(Request::post(
            "v2/finance/invoices/details",
            json!({"Filter": {}}),
        ))
        .await?;
        self.probe(Request::get("v2/finance/contracts/summary"))
            .await?;
        self.probe(Request::post(
            "v2/admin/finance/services/search",
            json!({"Filter": {}}),
        ))
        .await?;
        Ok(format!(
            "signed in to {}{who}; {} accounts, contracts, invoices and the service catalogue are readable. Billed quantities come from each contract's last invoice ({} has no recurring-service lines in its API)",
            self.api.client().base().origin().ascii_serialization(),
            accounts
                .map(|n| n.to_string())
                .unwrap_or_else(|| "the".into()),
            F::KIND.name
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let requests = AtomicUsize::new(0);
        let now = Timestamp::now();
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let from_day = today
            .checked_sub((self.months as i64).months())
            .unwrap_or(today);
        let from = from_day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(now);
        // Invoices for the coming period are often dated ahead; an invoice created up to two
        // months before its date is still listed.
        let to = now + (31 * 24).hours();
        let created_from = from - (62 * 24).hours();
        let invoices_req = Request::get("v2/finance/invoices/summary")
            .query("Filter.CreatedFrom", filter_date(created_from));
        let lines_req = Request::post(
            "v2/finance/invoices/details",
            json!({"Filter": {"InvoiceDateFrom": filter_date(from), "InvoiceDateTo": filter_date(to)}}),
        );
        let accounts_read = |n| cx.report("accounts", n);
        let services_read = |n| cx.report("services", n);
        let contracts_read = |n| cx.report("contracts", n);
        let invoices_read = |n| cx.report("invoices", n);
        let lines_read = |n| cx.report("invoice lines", n);
        // Five endpoints, each with its own hourly budget: read side by side.
        let (accounts, services, contracts, invoices, lines) = tokio::try_join!(
            self.all::<wire::Account>(
                Request::get("v2/crm/accounts/summary"),
                &requests,
                &accounts_read
            ),
            self.all::<wire::Service>(
                Request::post("v2/admin/finance/services/search", json!({"Filter": {}})),
                &requests,
                &services_read
            ),
            self.all::<wire::Contract>(
                Request::get("v2/finance/contracts/summary"),
                &requests,
                &contracts_read
            ),
            self.all::<wire::Invoice>(invoices_req, &requests, &invoices_read),
            self.all::<wire::InvoiceLine>(lines_req, &requests, &lines_read),
        )?;
        let mut odd = Oddities::default();
        let accounts = odd.take(&self.endpoint("GET", "v2/crm/accounts/summary"), accounts);
        let services = odd.take(
            &self.endpoint("POST", "v2/admin/finance/services/search"),
            services,
        );
        let contracts = odd.take(
            &self.endpoint("GET", "v2/finance/contracts/summary"),
            contracts,
        );
        let invoices = odd.take(
            &self.endpoint("GET", "v2/finance/invoices/summary"),
            invoices,
        );
        let lines_endpoint = self.endpoint("POST", "v2/finance/invoices/details");
        let lines = odd.take(&lines_endpoint, lines);

        let mut unreadable = BTreeMap::new();
        let psa = F::KIND.name;
        let companies = accounts
            .into_iter()
            .map(|a| {
                if let Some(why) = unread_billable(&a, !self.types.is_empty()) {
                    unreadable.insert(a.value.id.to_string(), why);
                }
                convert::company(a.value, a.raw, &self.types, psa)
            })
            .collect();
        let products: Vec<PsaProduct> = services
            .into_iter()
            .map(|s| convert::product(s.value, s.raw))
            .collect();
        let by_name: HashMap<String, &PsaProduct> = products
            .iter()
            .map(|p| (p.identifier.to_lowercase(), p))
            .collect();
        let by_id: HashMap<i64, &wire::Contract> =
            contracts.iter().map(|c| (c.value.id, &c.value)).collect();
        let src = convert::Sources {
            invoices: &invoices,
            contracts: &by_id,
            services: &by_name,
            endpoint: &lines_endpoint,
        };
        let billed = convert::from_invoices(&src, lines, &mut unreadable);

        let mut meta = BTreeMap::new();
        meta.insert(
            "api requests this sync".to_string(),
            format!(
                "{} (at most {} an hour per endpoint)",
                requests.load(Ordering::Relaxed),
                self.per_hour
            ),
        );
        let dated = match billed.dated {
            Some((a, b)) if a == b => format!("dated {}", a.strftime("%Y-%m-%d")),
            Some((a, b)) => format!(
                "dated {} to {}",
                a.strftime("%Y-%m-%d"),
                b.strftime("%Y-%m-%d")
            ),
            None => "none found".into(),
        };
        meta.insert(
            "billed quantities".to_string(),
            format!(
                "each contract's last invoice, since {psa}'s API has no recurring-service lines: {} invoice(s) {dated}, from invoices dated since {from_day} (invoice_months = {})",
                billed.invoices_used, self.months
            ),
        );
        if billed.not_recurring > 0 {
            meta.insert(
                "invoice lines on no contract (not recurring, not read)".into(),
                billed.not_recurring.to_string(),
            );
        }
        if billed.void > 0 {
            meta.insert("void invoices left out".into(), billed.void.to_string());
        }
        crate::connectors::note_cycles_kept_as_sent(
            &self.name,
            &billed.agreements,
            "billing cycles kept as sent",
            &mut meta,
        );
        meta.extend(odd.note());
        let mut set_aside = odd.set_aside;
        set_aside.extend(billed.set_aside);
        Ok(Snapshot::Psa(PsaSnapshot {
            companies,
            agreements: billed.agreements,
            lines: billed.lines,
            products,
            whole_units: false,
            meta,
            unreadable,
            set_aside,
        }))
    }
}

/// Why an account's billability is unknown, if it is: `isActive` (or, when types decide,
/// `accountType`) had a value that could not be read. Never guessed.
fn unread_billable(a: &Read<wire::Account>, by_type: bool) -> Option<String> {
    let field = ["isActive", "accountType"]
        .into_iter()
        .filter(|f| *f == "isActive" || by_type)
        .find(|f| a.odd.iter().any(|o| o == f))?;
    Some(format!(
        "account {} has no readable `{field}`, which decides whether it bills",
        a.value.id
    ))
}

/// The `connect` flags every family member shares.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub common: Common,
    /// The API user's user name
    #[arg(long)]
    pub user: String,
    /// The tenant (company) name, as shown under My Settings
    #[arg(long)]
    pub tenant: String,
    /// An account type that bills (repeat for several) [default: Customer]; other types are
    /// kept, not billable
    #[arg(long = "billable-type")]
    pub billable_types: Vec<String>,
    /// Months of invoices to read for each contract's last invoice (1-24) [default: 3];
    /// contracts billed yearly need 12
    #[arg(long)]
    pub invoice_months: Option<u32>,
    /// At most this many requests an hour on each endpoint (1-1500; the API allows 1,500)
    #[arg(long)]
    pub requests_per_hour: Option<usize>,
    /// Read the password from stdin instead of a prompt
    #[arg(long)]
    pub password_stdin: bool,
}

impl LoginArgs {
    /// The settings these flags give, with `region` and `url`, and the password read.
    pub fn into_connection<F: Family>(
        self,
        region: Option<Region>,
        url: Option<String>,
        saved: Option<&Settings<F>>,
    ) -> anyhow::Result<NewConnection<Settings<F>>> {
        let password = read_secret(&format!("{} password", F::KIND.name), self.password_stdin)?;
        let types = clean_list(self.billable_types);
        let settings = Settings::<F> {
            region,
            url: clean_url(url),
            user: self.user.trim().to_string(),
            tenant: self.tenant.trim().to_string(),
            billable_types: if types.is_empty() {
                saved
                    .map(|s| s.billable_types.clone())
                    .unwrap_or_else(|| vec![DEFAULT_BILLABLE_TYPE.into()])
            } else {
                types
            },
            invoice_months: self.invoice_months.or(saved.and_then(|s| s.invoice_months)),
            requests_per_hour: self
                .requests_per_hour
                .or(saved.and_then(|s| s.requests_per_hour)),
            family: PhantomData,
        };
        settings.validate(&self.common.name_or(F::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("password", password)],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_dates_are_what_the_api_takes() {
        let t: Timestamp = "2026-09-05T13:14:15Z".parse().unwrap();
        assert_eq!(filter_date(t), "2026-09-05T13:14:15");
    }
}
