//! Autotask PSA REST API v1.0: billable companies, active Recurring Service contracts, their
//! ContractServices and ContractServiceUnits (the units of each service per billing period), and
//! the Services the lines name.
//!
//! Auth: the `ApiIntegrationCode`, `UserName` and `Secret` headers on every call. The API lives
//! in the database's zone, found with the unauthenticated
//! `GET {lookup}/v1.0/zoneInformation?user={username}`; the zone is cached for the connector's
//! life and looked up again once after a 401 (a database can move zones). Queries are
//! `POST /V1.0/{Entity}/query` with a JSON filter and `MaxRecords` 500, answered as
//! `{items, pageDetails}`; the next page is `pageDetails.nextPageUrl`, POSTed with the same body.
//!
//! Limits: 10,000 requests an hour per database, shared by every integration, and 3 concurrent
//! requests per endpoint. A sync reads `ThresholdInformation` first (and every
//! [`THRESHOLD_RECHECK`] requests), paces itself once the database is past
//! [`SLOW_DOWN_PERCENT`] of its threshold, and stops with an error naming the numbers before
//! it would pass `max_threshold_percent`, rather than push the tenant into refusal.
//!
//! Lines: one [`PsaLine`] per ContractServiceUnits row, in force from its `startDate` to the
//! day after its `endDate`, so the engine picks the row covering the reconcile date and never
//! sums a service's rows. Units are integers: the snapshot says `whole_units`.

mod args;
mod settings;
mod wire;

pub use args::Args;
pub use settings::Settings;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use jiff::{Timestamp, ToSpan};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    Auth, ConnectorError, HttpClient, Pages, Paging, RateLimit, RawResponse, Request, RetryPolicy,
    Transport, build_reqwest, check_url, decode_one, send_unauthenticated,
};
use crate::model::{
    BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct, PsaSnapshot, Snapshot,
};

/// Where zones are looked up unless `zone_lookup_url` says otherwise.
pub const DEFAULT_ZONE_LOOKUP: &str = "https://webservices.autotask.net/atservicesrest/";
/// Autotask's largest page.
pub const MAX_RECORDS: usize = 500;
/// Published default threshold, used for the client-side limiter before the tenant's own
/// `ThresholdInformation` is known.
pub const DEFAULT_THRESHOLD: usize = 10_000;
/// Default share of the hourly threshold this tool will not go past.
pub const DEFAULT_MAX_THRESHOLD_PERCENT: u64 = 80;
/// Past this share of the threshold, requests are paced ([`PACE`]).
pub const SLOW_DOWN_PERCENT: u64 = 50;
const PACE: Duration = Duration::from_millis(500);
/// ThresholdInformation is read again after this many requests (other integrations share it).
pub const THRESHOLD_RECHECK: u64 = 250;
/// Ids per `in` filter (Autotask allows at most 500 conditions).
const IN_CHUNK: usize = 200;
/// Unit rows that ended longer ago than this are not read unless `history_days` says otherwise.
/// Reconciliation looks at lines in force at or after the sync (the as-of snapshot is the newest
/// sync before the as-of date), so rows that ended before it only serve `explain`; a month back
/// is plenty, and a long contract has one row per period.
pub const DEFAULT_HISTORY_DAYS: i64 = 35;
/// Unit rows starting later than this many days ahead are not read (rows can be generated for a
/// contract's whole term); a quarter ahead covers a period ending after the sync.
pub const FUTURE_DAYS: i64 = 100;

/// The three Autotask headers; the secret one is marked sensitive so it never shows in Debug.
struct AutotaskAuth {
    headers: HeaderMap,
    name: String,
}

impl AutotaskAuth {
    fn new(
        name: &str,
        username: &str,
        code: &str,
        secret: &SecretString,
    ) -> Result<AutotaskAuth, String> {
        let mut headers = HeaderMap::new();
        let plain = |v: &str, what: &str| {
            HeaderValue::from_str(v.trim())
                .map_err(|_| format!("the {what} contains characters a header cannot carry"))
        };
        headers.insert(
            HeaderName::from_static("apiintegrationcode"),
            plain(code, "integration code")?,
        );
        headers.insert(
            HeaderName::from_static("username"),
            plain(username, "user name")?,
        );
        let mut s = HeaderValue::from_str(secret.expose_secret())
            .map_err(|_| "the secret contains characters a header cannot carry".to_string())?;
        s.set_sensitive(true);
        headers.insert(HeaderName::from_static("secret"), s);
        Ok(AutotaskAuth {
            headers,
            name: name.into(),
        })
    }
}

#[async_trait]
impl Auth for AutotaskAuth {
    async fn headers(&self, _: &reqwest::Client, _: bool) -> Result<HeaderMap, ConnectorError> {
        Ok(self.headers.clone())
    }
    fn hint(&self, status: u16) -> String {
        if status == 403 {
            format!(
                "The API user may not read this entity: give it a security level that can view Companies (CRM), Contracts and their services, and Services (the built-in `API User (system)` level can); then run `reconcile sync {}` again",
                self.name
            )
        } else {
            format!(
                "Autotask refused the user name, secret or API integration code: check the API-only user (Admin > Resources/Users), its secret and its API Tracking Identifier, then run `reconcile connect autotask --name {} ...` again",
                self.name
            )
        }
    }
}

/// The API client of the current zone.
struct Api {
    client: HttpClient,
    /// Path from the origin to `V1.0/`, no leading slash: `atservicesrest/V1.0/`.
    root: String,
    zone: String,
}

/// Requests this sync may still make, from ThresholdInformation.
#[derive(Default)]
struct Budget {
    threshold: AtomicU64,
    timeframe: AtomicU64,
    /// The database's count when last read.
    seen: AtomicU64,
    /// Requests made since it was read.
    since: AtomicU64,
    /// Requests made by this connector in all.
    total: AtomicU64,
}

pub struct Autotask {
    name: String,
    username: String,
    lookup: Url,
    auth: Arc<AutotaskAuth>,
    retry: RetryPolicy,
    billable_types: Vec<String>,
    product_field: String,
    max_percent: u64,
    history_days: i64,
    limit: Arc<RateLimit>,
    /// Requests in flight at most (the `concurrency` setting; 3 by default).
    concurrency: usize,
    api: Mutex<Option<Arc<Api>>>,
    budget: Budget,
}

impl Autotask {
    /// `secret` is asked for each secret field this connection needs.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Autotask> {
        let lookup_raw = settings
            .zone_lookup_url
            .as_deref()
            .unwrap_or(DEFAULT_ZONE_LOOKUP);
        let mut lookup = check_url(name, lookup_raw)?;
        if !lookup.path().ends_with('/') {
            let p = format!("{}/", lookup.path());
            lookup.set_path(&p);
        }
        let auth = AutotaskAuth::new(
            name,
            &settings.username,
            &settings.integration_code,
            &secret("secret")?,
        )
        .map_err(|e| anyhow::anyhow!("connection `{name}`: {e}"))?;
        let concurrency = retry.concurrency_or(ConnectorKind::Autotask.default_concurrency());
        Ok(Autotask {
            name: name.into(),
            username: settings.username.trim().into(),
            lookup,
            auth: Arc::new(auth),
            retry,
            billable_types: settings.billable_company_types.clone(),
            product_field: settings
                .product_field
                .clone()
                .unwrap_or_else(|| "name".into()),
            max_percent: settings
                .max_threshold_percent
                .unwrap_or(DEFAULT_MAX_THRESHOLD_PERCENT),
            history_days: settings.history_days.unwrap_or(DEFAULT_HISTORY_DAYS),
            // Published: at most 3 concurrent requests per endpoint and integration (the
            // kind's default concurrency).
            concurrency,
            limit: Arc::new(
                RateLimit::per(DEFAULT_THRESHOLD, Duration::from_secs(3600))
                    .with_concurrency(concurrency),
            ),
            api: Mutex::new(None),
            budget: Budget::default(),
        })
    }

    fn invalid(&self, message: String) -> ConnectorError {
        ConnectorError::Invalid {
            connection: self.name.clone(),
            message,
        }
    }

    /// `GET {lookup}v1.0/zoneInformation?user=...` (no credentials).
    async fn discover_zone(&self) -> Result<Api, ConnectorError> {
        let mut url = self
            .lookup
            .join("v1.0/zoneInformation")
            .expect("a path joins onto the lookup URL");
        url.query_pairs_mut().append_pair("user", &self.username);
        let client = build_reqwest(self.retry.timeout);
        let endpoint = format!("GET {}", url.path());
        let mut quick = self.retry.clone();
        // An unknown user answers 500: retrying that only delays the message.
        quick.max_attempts = quick.max_attempts.min(2);
        let resp = match send_unauthenticated(&self.name, &client, Method::GET, &url, |r| r, &quick)
            .await
        {
            Ok(Ok(r)) => r,
            Ok(Err((status, snippet))) => {
                return Err(ConnectorError::Http {
                    connection: self.name.clone(),
                    endpoint,
                    status,
                    attempts: String::new(),
                    snippet,
                    hint: "Zone lookup needs no credentials; check zone_lookup_url".into(),
                });
            }
            Err(ConnectorError::Http { status, .. }) if status >= 500 => {
                return Err(self.invalid(format!(
                        "Autotask's zone lookup does not know the user `{}` (HTTP {status}); give the API-only user's user name exactly as in Autotask (`reconcile connect autotask --username ...`)",
                        self.username
                    )));
            }
            Err(e) => return Err(e),
        };
        let zone: wire::ZoneInformation = decode_one(&self.name, &endpoint, &resp.body)?;
        let base = check_url(&self.name, &zone.url)?;
        let origin = base.origin().ascii_serialization();
        let mut root = base.path().trim_start_matches('/').to_string();
        if !root.is_empty() && !root.ends_with('/') {
            root.push('/');
        }
        root.push_str("V1.0/");
        let client_base = Url::parse(&format!("{origin}/")).expect("an origin is a URL");
        let client = HttpClient::new(
            &self.name,
            client_base,
            self.auth.clone(),
            self.retry.clone(),
        )
        .with_rate_limit(self.limit.clone());
        tracing::debug!(connection = %self.name, zone = ?zone.zone_name, url = %zone.url, "found the Autotask zone");
        Ok(Api {
            client,
            root,
            zone: zone.zone_name.unwrap_or(zone.url),
        })
    }

    /// The cached zone's client, looked up when there is none.
    async fn api(&self) -> Result<Arc<Api>, ConnectorError> {
        let mut guard = self.api.lock().await;
        if let Some(a) = guard.as_ref() {
            return Ok(a.clone());
        }
        let api = Arc::new(self.discover_zone().await?);
        *guard = Some(api.clone());
        Ok(api)
    }

    /// Counts a request against the hourly budget; waits when the database is busy and stops
    /// before it passes `max_threshold_percent`.
    async fn spend(&self) -> Result<(), ConnectorError> {
        let threshold = self.budget.threshold.load(Ordering::Relaxed);
        self.budget.total.fetch_add(1, Ordering::Relaxed);
        if threshold == 0 {
            return Ok(());
        }
        let since = self.budget.since.fetch_add(1, Ordering::Relaxed) + 1;
        let used = self.budget.seen.load(Ordering::Relaxed) + since;
        let ceiling = threshold * self.max_percent / 100;
        if used > ceiling {
            let minutes = self.budget.timeframe.load(Ordering::Relaxed).max(1);
            return Err(self.invalid(format!(
                "stopped to stay under Autotask's request threshold: the database has used about {used} of its {threshold} requests in the last {minutes} minutes (shared by every integration), and this tool stops at {}% ({ceiling}). The count is a rolling window: run the sync again when older requests have aged out (within {minutes} minutes), or raise `max_threshold_percent`",
                self.max_percent
            )));
        }
        if used * 100 >= threshold * SLOW_DOWN_PERCENT {
            // Autotask itself adds latency past 50% and 75%; pacing keeps us off the cliff.
            tokio::time::sleep(PACE).await;
        }
        Ok(())
    }

    /// Reads ThresholdInformation and resets the budget from it.
    async fn read_threshold(&self) -> Result<wire::ThresholdInformation, ConnectorError> {
        let api = self.api().await?;
        let req = Request::get(format!("{}ThresholdInformation", api.root));
        self.budget.total.fetch_add(1, Ordering::Relaxed);
        let resp = self.send(&req, "ThresholdInformation").await?;
        let t: wire::ThresholdInformation = decode_one(&self.name, &resp.endpoint, &resp.body)?;
        self.budget
            .threshold
            .store(t.external_request_threshold, Ordering::Relaxed);
        self.budget.timeframe.store(
            t.request_threshold_timeframe.unwrap_or(60),
            Ordering::Relaxed,
        );
        self.budget
            .seen
            .store(t.current_timeframe_request_count, Ordering::Relaxed);
        self.budget.since.store(0, Ordering::Relaxed);
        Ok(t)
    }

    /// One authenticated request (path from the zone's origin), with the zone looked up again
    /// once after a 401. `{"errors": [...]}` in any status is an error naming the messages.
    async fn send(&self, req: &Request, entity: &str) -> Result<RawResponse, ConnectorError> {
        let mut relooked = false;
        loop {
            let result = self.api().await?.client.send(req).await;
            match result {
                Ok(resp) => {
                    if let Some(msgs) = body_errors(&resp.body) {
                        return Err(ConnectorError::Http {
                            connection: self.name.clone(),
                            endpoint: resp.endpoint,
                            status: 200,
                            attempts: String::new(),
                            snippet: format!("Autotask reported errors: {msgs}"),
                            hint:
                                "Nothing was saved; check the message, and report it if it persists"
                                    .into(),
                        });
                    }
                    return Ok(resp);
                }
                Err(ConnectorError::Auth { status: 401, .. }) if !relooked => {
                    // The database may have moved zones: look it up again, then retry once.
                    relooked = true;
                    *self.api.lock().await = None;
                    tracing::debug!(connection = %self.name, "401; looking the zone up again");
                }
                Err(ConnectorError::Auth {
                    connection,
                    endpoint,
                    status: 403,
                    detail,
                    ..
                }) => {
                    return Err(ConnectorError::Auth {
                        connection,
                        endpoint,
                        status: 403,
                        detail: surface_errors(&detail),
                        hint: format!(
                            "The API user's security level may not read {entity}: allow it to view {} (or use the built-in `API User (system)` level), then run `reconcile sync {}` again",
                            permission_for(entity),
                            self.name
                        ),
                    });
                }
                Err(ConnectorError::Auth {
                    connection,
                    endpoint,
                    status,
                    detail,
                    hint,
                }) => {
                    return Err(ConnectorError::Auth {
                        connection,
                        endpoint,
                        status,
                        detail: surface_errors(&detail),
                        hint,
                    });
                }
                Err(ConnectorError::Http {
                    connection,
                    endpoint,
                    status,
                    attempts,
                    snippet,
                    hint,
                }) => {
                    return Err(ConnectorError::Http {
                        connection,
                        endpoint,
                        status,
                        attempts,
                        snippet: surface_errors(&snippet),
                        hint,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `POST /V1.0/{entity}/query` with `filter`, `max_records` a page, each item with its raw
    /// JSON: every page, or the first only unless `all_pages`. A next page re-POSTs the same
    /// body to `pageDetails.nextPageUrl`, which must stay on the zone's origin.
    async fn query<T: serde::de::DeserializeOwned>(
        &self,
        entity: &str,
        filter: Value,
        max_records: usize,
        all_pages: bool,
        on_page: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        let zone = Budgeted {
            autotask: self,
            api: self.api().await?,
            entity,
        };
        let first = Request::post(
            format!("{}{entity}/query", zone.api.root),
            json!({ "filter": filter, "MaxRecords": max_records }),
        );
        let paging = Paging::next_url_at("/pageDetails/nextPageUrl");
        let mut pages = Pages::new(&zone, first, paging, "/items");
        if all_pages {
            return pages.all(on_page).await;
        }
        let items = pages.next().await?.map(|p| p.items).unwrap_or_default();
        on_page(items.len());
        Ok(items)
    }

    /// Picklist labels of `fields` of `entity`, from `entityInformation/fields`.
    async fn picklists(
        &self,
        entity: &str,
        fields: &[&str],
    ) -> Result<HashMap<String, HashMap<i64, String>>, ConnectorError> {
        let api = self.api().await?;
        let req = Request::get(format!("{}{entity}/entityInformation/fields", api.root));
        self.spend().await?;
        let resp = self.send(&req, entity).await?;
        let info: wire::FieldsInfo = decode_one(&self.name, &resp.endpoint, &resp.body)?;
        let mut out = HashMap::new();
        for f in info.fields {
            if !fields.iter().any(|w| w.eq_ignore_ascii_case(&f.name)) {
                continue;
            }
            let values = f
                .picklist_values
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| picklist_number(&p.value).map(|n| (n, p.label)))
                .collect();
            out.insert(f.name.to_ascii_lowercase(), values);
        }
        Ok(out)
    }

    fn threshold_meta(&self, t: &wire::ThresholdInformation) -> BTreeMap<String, String> {
        let mut meta = BTreeMap::new();
        meta.insert(
            "api requests this hour".into(),
            format!(
                "{} of {}",
                t.current_timeframe_request_count, t.external_request_threshold
            ),
        );
        meta.insert(
            "api threshold timeframe".into(),
            format!("{} minutes", t.request_threshold_timeframe.unwrap_or(60)),
        );
        meta
    }
}

/// The request path of one query, as a [`Transport`] for the pager: each page goes through the
/// request budget ([`Autotask::read_threshold`] every [`THRESHOLD_RECHECK`] requests, then
/// [`Autotask::spend`]) and [`Autotask::send`], as every other Autotask request does.
struct Budgeted<'a> {
    autotask: &'a Autotask,
    /// The zone the query started in: its next-page links must stay on this origin.
    api: Arc<Api>,
    /// For the permission a 403 names.
    entity: &'a str,
}

#[async_trait]
impl Transport for Budgeted<'_> {
    fn connection(&self) -> &str {
        &self.autotask.name
    }

    fn base(&self) -> &Url {
        self.api.client.base()
    }

    async fn send(&self, req: &Request) -> Result<RawResponse, ConnectorError> {
        let at = self.autotask;
        if at.budget.since.load(Ordering::Relaxed) >= THRESHOLD_RECHECK {
            at.read_threshold().await?;
        }
        at.spend().await?;
        at.send(req, self.entity).await
    }
}

/// The messages of an `{"errors": [...]}` answer. Only a body that names `"errors"` is parsed
/// here: pages of records are parsed once, by whoever reads them.
fn body_errors(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"errors\"";
    if !body.windows(KEY.len()).any(|w| w == KEY) {
        return None;
    }
    error_messages(&serde_json::from_slice(body).ok()?)
}

/// The messages of an Autotask `{"errors": [...]}` body, joined; `None` when there are none.
fn error_messages(v: &Value) -> Option<String> {
    let errors = v.get("errors")?.as_array()?;
    let msgs: Vec<String> = errors
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            Value::Object(o) => o
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
            other => other.to_string(),
        })
        .filter(|s| !s.trim().is_empty())
        .collect();
    (!msgs.is_empty()).then(|| msgs.join("; "))
}

/// An error excerpt with an `{"errors": [...]}` body replaced by its messages.
fn surface_errors(detail: &str) -> String {
    let (prefix, body) = match detail.find('{') {
        Some(i) => detail.split_at(i),
        None => return detail.to_string(),
    };
    match serde_json::from_str::<Value>(body)
        .ok()
        .as_ref()
        .and_then(error_messages)
    {
        Some(m) => format!("{prefix}{m}"),
        None => detail.to_string(),
    }
}

/// What to allow in the API user's security level to read `entity`.
fn permission_for(entity: &str) -> &'static str {
    match entity {
        "Companies" => "CRM > Companies (Organizations)",
        "Contracts" | "ContractServices" | "ContractServiceUnits" => {
            "Contracts (Contracts > View, with services and units)"
        }
        "Services" => "Admin > Products and Services (Services)",
        _ => "this entity",
    }
}

fn picklist_number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A picklist value's label, or `#<value>` when the tenant's picklist does not list it (kept,
/// never dropped).
fn label(map: Option<&HashMap<i64, String>>, v: Option<i64>) -> Option<String> {
    let v = v?;
    Some(
        map.and_then(|m| m.get(&v))
            .cloned()
            .unwrap_or_else(|| format!("#{v}")),
    )
}

/// The value whose label is `name`, or `fallback` when the picklist does not have it.
fn value_of(map: Option<&HashMap<i64, String>>, name: &str, fallback: i64) -> i64 {
    map.and_then(|m| {
        m.iter()
            .find(|(_, l)| l.eq_ignore_ascii_case(name))
            .map(|(v, _)| *v)
    })
    .unwrap_or(fallback)
}

/// Autotask dates: RFC 3339, a date-time without offset (UTC), or a date.
fn parse_date(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = crate::connectors::de::parse_timestamp(s) {
        return Ok(t);
    }
    s.parse::<jiff::civil::DateTime>()
        .map_err(|_| format!("`{s}` is not a date such as 2025-07-01T00:00:00Z"))
        .and_then(|dt| {
            dt.to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .map_err(|e| e.to_string())
        })
}

fn date_opt(
    connection: &str,
    endpoint: &str,
    field: &str,
    s: &Option<String>,
) -> Result<Option<Timestamp>, ConnectorError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_date(v)
            .map(Some)
            .map_err(|detail| ConnectorError::Decode {
                connection: connection.into(),
                endpoint: endpoint.into(),
                path: field.into(),
                detail,
            }),
    }
}

fn in_filter(field: &str, ids: &[i64]) -> Value {
    json!({ "op": "in", "field": field, "value": ids })
}

/// The product identifier a Service gives under `product_field`.
fn product_identifier(field: &str, s: &wire::Service, raw: &str) -> String {
    if field.eq_ignore_ascii_case("name") {
        return s.name.clone();
    }
    let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    let found = v.as_object().and_then(|o| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v)
    });
    match found {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => format!("#{}", s.id),
    }
}

#[async_trait]
impl Connector for Autotask {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Autotask
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let t = self.read_threshold().await?;
        let one = json!([{ "op": "gte", "field": "id", "value": 0 }]);
        self.query::<wire::Company>("Companies", one.clone(), 1, false, &|_| {})
            .await?;
        self.query::<wire::Contract>("Contracts", one.clone(), 1, false, &|_| {})
            .await?;
        // Unit rows and services need their own permissions: fail here, not at the first sync.
        self.query::<wire::ContractServiceUnit>(
            "ContractServiceUnits",
            one.clone(),
            1,
            false,
            &|_| {},
        )
        .await?;
        self.query::<wire::Service>("Services", one, 1, false, &|_| {})
            .await?;
        let zone = self.api().await?.zone.clone();
        Ok(format!(
            "signed in to Autotask zone {zone} as {}; {} of {} API requests used this hour; companies, contracts, contract service units and services are readable",
            self.username, t.current_timeframe_request_count, t.external_request_threshold
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let threshold = self.read_threshold().await?;
        let mut meta = self.threshold_meta(&threshold);
        let company_lists = self.picklists("Companies", &["companyType"]).await?;
        let contract_lists = self
            .picklists(
                "Contracts",
                &["contractType", "status", "contractPeriodType"],
            )
            .await?;
        let company_types = company_lists.get("companytype");
        let contract_types = contract_lists.get("contracttype");
        let statuses = contract_lists.get("status");
        let periods = contract_lists.get("contractperiodtype");

        let companies = self
            .query::<wire::Company>(
                "Companies",
                json!([{ "op": "gte", "field": "id", "value": 0 }]),
                MAX_RECORDS,
                true,
                &|n| cx.report("companies", n),
            )
            .await?;
        let recurring = value_of(contract_types, "Recurring Service", 7);
        let active = value_of(statuses, "Active", 1);
        let contracts = self
            .query::<wire::Contract>(
                "Contracts",
                json!([
                    { "op": "eq", "field": "contractType", "value": recurring },
                    { "op": "eq", "field": "status", "value": active },
                ]),
                MAX_RECORDS,
                true,
                &|n| cx.report("contracts", n),
            )
            .await?;
        let contract_ids: Vec<i64> = contracts.iter().map(|(c, _)| c.id).collect();
        let chunks: Vec<Vec<i64>> = contract_ids.chunks(IN_CHUNK).map(<[i64]>::to_vec).collect();

        let cs_endpoint = "ContractServices";
        let contract_services: Vec<(wire::ContractService, String)> = stream::iter(chunks.clone())
            .map(|ids| async move {
                self.query::<wire::ContractService>(
                    cs_endpoint,
                    json!([in_filter("contractID", &ids)]),
                    MAX_RECORDS,
                    true,
                    &|_| {},
                )
                .await
            })
            .buffer_unordered(self.concurrency)
            .try_concat()
            .await?;
        cx.report("contract services", contract_services.len());

        let day = |days: i64| {
            Timestamp::now()
                .checked_add((days * 24).hours())
                .unwrap_or(Timestamp::UNIX_EPOCH)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date()
                .to_string()
        };
        let (cutoff, horizon) = (day(-self.history_days), day(FUTURE_DAYS));
        let units: Vec<(wire::ContractServiceUnit, String)> = stream::iter(chunks)
            .map(|ids| {
                let (cutoff, horizon) = (cutoff.clone(), horizon.clone());
                async move {
                    self.query::<wire::ContractServiceUnit>(
                        "ContractServiceUnits",
                        json!([
                            in_filter("contractID", &ids),
                            { "op": "gte", "field": "endDate", "value": cutoff },
                            { "op": "lte", "field": "startDate", "value": horizon },
                        ]),
                        MAX_RECORDS,
                        true,
                        &|_| {},
                    )
                    .await
                }
            })
            .buffer_unordered(self.concurrency)
            .try_concat()
            .await?;
        cx.report("contract service units", units.len());

        let service_ids: Vec<i64> = contract_services
            .iter()
            .map(|(c, _)| c.service_id)
            .chain(units.iter().map(|(u, _)| u.service_id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let services: Vec<(wire::Service, String)> = stream::iter(
            service_ids
                .chunks(IN_CHUNK)
                .map(<[i64]>::to_vec)
                .collect::<Vec<_>>(),
        )
        .map(|ids| async move {
            self.query::<wire::Service>(
                "Services",
                json!([in_filter("id", &ids)]),
                MAX_RECORDS,
                true,
                &|_| {},
            )
            .await
        })
        .buffer_unordered(self.concurrency)
        .try_concat()
        .await?;
        cx.report("services", services.len());

        // ---- into the neutral model ----
        let companies: Vec<PsaCompany> = companies
            .into_iter()
            .map(|(c, raw)| company(c, raw, company_types, &self.billable_types))
            .collect();
        let contract_company: HashMap<i64, i64> = contracts
            .iter()
            .map(|(c, _)| (c.id, c.company_id))
            .collect();
        let mut agreements = Vec::new();
        for (i, (c, raw)) in contracts.into_iter().enumerate() {
            let ep = "POST /V1.0/Contracts/query";
            let start = date_opt(
                &self.name,
                ep,
                &format!("items[{i}].startDate"),
                &c.start_date,
            )?;
            let end = date_opt(&self.name, ep, &format!("items[{i}].endDate"), &c.end_date)?;
            agreements.push(PsaAgreement {
                id: c.id.to_string(),
                company_id: c.company_id.to_string(),
                name: c.contract_name,
                agreement_type: label(contract_types, c.contract_type),
                status: label(statuses, c.status).unwrap_or_else(|| "Active".into()),
                start,
                // The day after the last day, like the lines, so the last day is in force.
                end: end.and_then(|e| e.checked_add(24.hours()).ok()),
                cancelled: false,
                billing_cycle: label(periods, c.contract_period_type),
                raw: Some(raw),
            });
        }
        let svc_by_id: HashMap<i64, (&wire::Service, &str)> = services
            .iter()
            .map(|(s, raw)| (s.id, (s, raw.as_str())))
            .collect();
        let cs_by_id: HashMap<i64, &wire::ContractService> =
            contract_services.iter().map(|(c, _)| (c.id, c)).collect();
        let cs_by_pair: HashMap<(i64, i64), &wire::ContractService> = contract_services
            .iter()
            .map(|(c, _)| ((c.contract_id, c.service_id), c))
            .collect();
        let mut lines = Vec::new();
        for (i, (u, raw)) in units.into_iter().enumerate() {
            let ep = "POST /V1.0/ContractServiceUnits/query";
            let start = date_opt(
                &self.name,
                ep,
                &format!("items[{i}].startDate"),
                &u.start_date,
            )?;
            let end = date_opt(&self.name, ep, &format!("items[{i}].endDate"), &u.end_date)?;
            let cs = u
                .contract_service_id
                .and_then(|id| cs_by_id.get(&id))
                .or_else(|| cs_by_pair.get(&(u.contract_id, u.service_id)))
                .copied();
            let svc = svc_by_id.get(&u.service_id);
            let identifier = svc
                .map(|(s, r)| product_identifier(&self.product_field, s, r))
                .unwrap_or_else(|| format!("#{}", u.service_id));
            let Some(company_id) = contract_company.get(&u.contract_id) else {
                continue;
            };
            lines.push(PsaLine {
                id: u.id.to_string(),
                agreement_id: u.contract_id.to_string(),
                company_id: company_id.to_string(),
                product_id: Some(u.service_id.to_string()),
                product_identifier: identifier,
                description: cs
                    .and_then(|c| c.invoice_description.clone())
                    .filter(|d| !d.trim().is_empty())
                    .or_else(|| svc.map(|(s, _)| s.name.clone())),
                quantity: u.units.unwrap_or(Decimal::ZERO),
                less_included: Decimal::ZERO,
                unit_price: u
                    .price
                    .or_else(|| cs.and_then(|c| c.unit_price))
                    .or_else(|| svc.and_then(|(s, _)| s.unit_price))
                    .unwrap_or(Decimal::ZERO),
                unit_cost: u
                    .cost
                    .or_else(|| cs.and_then(|c| c.unit_cost))
                    .or_else(|| svc.and_then(|(s, _)| s.unit_cost))
                    .unwrap_or(Decimal::ZERO),
                effective: start,
                // endDate is the period's last day: the row stops being in force the day after.
                cancelled: end.and_then(|e| e.checked_add(24.hours()).ok()),
                bill_customer: BillCustomer::Billable,
                raw: Some(raw),
            });
        }
        lines.sort_by(|a, b| {
            a.agreement_id
                .cmp(&b.agreement_id)
                .then(a.product_identifier.cmp(&b.product_identifier))
                .then(a.effective.cmp(&b.effective))
        });
        let products = services
            .iter()
            .map(|(s, raw)| PsaProduct {
                id: s.id.to_string(),
                identifier: product_identifier(&self.product_field, s, raw),
                description: s.description.clone().or_else(|| Some(s.name.clone())),
                price: s.unit_price,
                cost: s.unit_cost,
                inactive: !s.is_active.unwrap_or(true),
                raw: Some(raw.clone()),
            })
            .collect();
        meta.insert(
            "api requests this sync".into(),
            self.budget.total.load(Ordering::Relaxed).to_string(),
        );
        meta.insert(
            "units".into(),
            "whole units: usage is rounded up before it is compared".into(),
        );
        Ok(Snapshot::Psa(PsaSnapshot {
            companies,
            agreements,
            lines,
            products,
            whole_units: true,
            meta,
        }))
    }
}

fn company(
    c: wire::Company,
    raw: String,
    types: Option<&HashMap<i64, String>>,
    billable_types: &[String],
) -> PsaCompany {
    let type_label = label(types, c.company_type);
    let active = c.is_active.unwrap_or(true);
    let matches = |b: &String| {
        let b = b.trim();
        type_label
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(b))
            || c.company_type.is_some_and(|v| b == v.to_string())
    };
    let reason = if !active {
        Some("inactive in Autotask".to_string())
    } else if !billable_types.is_empty() && !billable_types.iter().any(matches) {
        Some(format!(
            "type {} is not in billable_company_types ({})",
            type_label.clone().unwrap_or_else(|| "(none)".into()),
            billable_types.join(", ")
        ))
    } else {
        None
    };
    PsaCompany {
        id: c.id.to_string(),
        identifier: c.company_number.unwrap_or_else(|| c.id.to_string()),
        name: c.company_name,
        status: if active { "Active" } else { "Inactive" }.into(),
        types: type_label.into_iter().collect(),
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::KindSettings;
    use settings::default_billable_types;

    fn types() -> HashMap<i64, String> {
        [(1, "Customer".to_string()), (3, "Prospect".to_string())].into()
    }

    #[test]
    fn company_billable_rules() {
        let c = |j: &str| serde_json::from_str::<wire::Company>(j).unwrap();
        let t = types();
        let cust = company(
            c(r#"{"id":1,"companyName":"A","companyType":1,"isActive":true}"#),
            String::new(),
            Some(&t),
            &default_billable_types(),
        );
        assert!(cust.billable);
        let inactive = company(
            c(r#"{"id":2,"companyName":"B","companyType":1,"isActive":false}"#),
            String::new(),
            Some(&t),
            &default_billable_types(),
        );
        assert_eq!(
            inactive.not_billable_reason.as_deref(),
            Some("inactive in Autotask")
        );
        let prospect = company(
            c(r#"{"id":3,"companyName":"C","companyType":3,"isActive":true}"#),
            String::new(),
            Some(&t),
            &default_billable_types(),
        );
        assert!(!prospect.billable);
        assert!(prospect.not_billable_reason.unwrap().contains("Prospect"));
        // An unknown picklist value is kept as `#99`, and matches by number.
        let odd = company(
            c(r#"{"id":4,"companyName":"D","companyType":99,"isActive":true}"#),
            String::new(),
            Some(&t),
            &["99".to_string()],
        );
        assert!(odd.billable);
        assert_eq!(odd.types, vec!["#99".to_string()]);
    }

    #[test]
    fn dates_with_and_without_offset() {
        assert_eq!(
            parse_date("2025-07-01T00:00:00").unwrap(),
            "2025-07-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(parse_date("2025-07-01T00:00:00Z").is_ok());
        assert!(parse_date("2025-07-01").is_ok());
        assert!(parse_date("July").is_err());
    }

    #[test]
    fn error_bodies_are_surfaced() {
        let v: Value = serde_json::from_str(r#"{"errors":["one","two"]}"#).unwrap();
        assert_eq!(error_messages(&v).as_deref(), Some("one; two"));
        assert_eq!(error_messages(&json!({"errors": []})), None);
        assert_eq!(
            surface_errors(r#"{"errors":["Unable to find user"]}"#),
            "Unable to find user"
        );
        assert_eq!(surface_errors("plain text"), "plain text");
    }

    #[test]
    fn settings_validate() {
        let s: Settings = toml::from_str(
            "username = \"api@x.com\"\nintegration_code = \"ABC\"\nmax_threshold_percent = 150\n",
        )
        .unwrap();
        assert_eq!(s.billable_company_types, vec!["Customer".to_string()]);
        let err = s.validate("at").unwrap_err().to_string();
        assert!(err.contains("max_threshold_percent"), "{err}");
    }
}
