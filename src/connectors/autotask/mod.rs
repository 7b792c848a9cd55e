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
//! Lines: one [`PsaLine`](crate::model::PsaLine) per ContractServiceUnits row, in force from its
//! `startDate` to the day after its `endDate`, so the engine picks the row covering the reconcile
//! date and never sums a service's rows. Units are integers: the snapshot says `whole_units`.
//!
//! Here: the client (zone lookup, headers, queries, picklists) and the [`Connector`]; the request
//! budget and the pager's transport are in `budget.rs`, the wire types in `wire.rs`, and their
//! conversion into the model in `convert.rs`.

mod args;
mod budget;
mod convert;
mod settings;
mod wire;
mod write;

pub use args::Args;
pub use budget::{
    DEFAULT_MAX_THRESHOLD_PERCENT, DEFAULT_THRESHOLD, SLOW_DOWN_PERCENT, THRESHOLD_RECHECK,
};
pub use settings::Settings;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use jiff::{Timestamp, ToSpan};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use budget::{Budget, Budgeted};
use convert::{body_errors, company, picklist_number, surface_errors, value_of};

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, Pages, Paging, RateLimit, RawResponse, Read, Request, RetryPolicy,
    StaticHeaders, Tolerant, check_url, decode_one, get_discovery,
};
use crate::model::{PsaCompany, PsaSnapshot, Snapshot};

/// Where zones are looked up unless `zone_lookup_url` says otherwise.
pub const DEFAULT_ZONE_LOOKUP: &str = "https://webservices.autotask.net/atservicesrest/";
/// Autotask's largest page.
pub const MAX_RECORDS: usize = 500;
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

/// The three Autotask headers of every call (`ApiIntegrationCode`, `UserName`, `Secret`); the
/// secret one is marked sensitive so it never shows in Debug.
fn auth_headers(username: &str, code: &str, secret: &SecretString) -> Result<HeaderMap, String> {
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
    Ok(headers)
}

/// The API client of the current zone.
struct Api {
    client: HttpClient,
    /// Path from the origin to `V1.0/`, no leading slash: `atservicesrest/V1.0/`.
    root: String,
    zone: String,
}

pub struct Autotask {
    name: String,
    username: String,
    lookup: Url,
    auth: Arc<StaticHeaders>,
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
    /// Records a sync's queries set aside (no id, contract, company or service), by endpoint.
    set_aside: std::sync::Mutex<Vec<String>>,
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
        let headers = auth_headers(
            &settings.username,
            &settings.integration_code,
            &secret("secret")?,
        )
        .map_err(|e| anyhow::anyhow!("connection `{name}`: {e}"))?;
        let auth = StaticHeaders::from_headers(
            headers,
            format!(
                "Autotask refused the user name, secret or API integration code: check the API-only user (Admin > Resources/Users), its secret and its API Tracking Identifier, then run `reconcile connect autotask --name {name} ...` again"
            ),
            format!(
                "The API user may not read this entity: give it a security level that can view Companies (CRM), Contracts and their services, and Services (the built-in `API User (system)` level can); then run `reconcile sync {name}` again"
            ),
        );
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
            set_aside: Default::default(),
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
        let mut quick = self.retry.clone();
        // An unknown user answers 500: retrying that only delays the message.
        quick.max_attempts = quick.max_attempts.min(2);
        let resp = match get_discovery(
            &self.name,
            &url,
            &quick,
            "Zone lookup needs no credentials; check zone_lookup_url",
        )
        .await
        {
            Ok(r) => r,
            Err(ConnectorError::Http { status, .. }) if status >= 500 => {
                return Err(self.invalid(format!(
                        "Autotask's zone lookup does not know the user `{}` (HTTP {status}); give the API-only user's user name exactly as in Autotask (`reconcile connect autotask --username ...`)",
                        self.username
                    )));
            }
            Err(e) => return Err(e),
        };
        let zone: wire::ZoneInformation = decode_one(&self.name, &resp.endpoint, &resp.body)?;
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
                    status,
                    detail,
                    hint,
                }) => {
                    let refused = ConnectorError::Auth {
                        connection,
                        endpoint,
                        status,
                        detail: surface_errors(&detail),
                        hint,
                    };
                    return Err(refused.name_permission(|_| {
                        format!(
                            "The API user's security level may not read {entity}: allow it to view {} (or use the built-in `API User (system)` level), then run `reconcile sync {}` again",
                            permission_for(entity),
                            self.name
                        )
                    }));
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
    /// The `entity` records whose `field` is one of `ids`, [`IN_CHUNK`] ids a query (Autotask
    /// caps an `in` filter's values) with the filters `and` beside it, `concurrency` queries at
    /// a time.
    async fn query_by_ids<T: serde::de::DeserializeOwned + Send>(
        &self,
        entity: &str,
        field: &str,
        ids: &[i64],
        and: &[Value],
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        // Owned chunks, not slices, into the stream: async_trait futures must be `Send` for every
        // lifetime, which borrowed closure arguments cannot promise.
        let chunks: Vec<Vec<i64>> = ids.chunks(IN_CHUNK).map(<[i64]>::to_vec).collect();
        stream::iter(chunks)
            .map(|ids| async move {
                let mut filter = vec![in_filter(field, &ids)];
                filter.extend(and.iter().cloned());
                self.query::<T>(entity, Value::Array(filter), MAX_RECORDS, true, &|_| {})
                    .await
            })
            .buffer_unordered(self.concurrency)
            .try_concat()
            .await
    }

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
        let mut pages = Pages::new(&zone, first, paging, "/items").tolerant();
        let read = if all_pages {
            pages.all_tolerant(on_page).await?
        } else {
            let page = pages.next().await?;
            let read = Tolerant {
                set_aside: page
                    .as_ref()
                    .map(|p| p.set_aside.clone())
                    .unwrap_or_default(),
                records: page
                    .map(|p| {
                        (p.items.into_iter().zip(p.odd))
                            .map(|((value, raw), odd)| Read { value, raw, odd })
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            on_page(read.records.len());
            read
        };
        // Records without what attributes them (an id, a contract, a company) are set aside
        // for the snapshot; every other odd value is unknown for its record.
        if !read.set_aside.is_empty() {
            let endpoint = format!("POST /V1.0/{entity}/query");
            (self
                .set_aside
                .lock()
                .unwrap_or_else(PoisonError::into_inner))
            .extend(read.set_aside.iter().map(|s| format!("{endpoint} {s}")));
        }
        Ok(read.records.into_iter().map(|r| (r.value, r.raw)).collect())
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

fn in_filter(field: &str, ids: &[i64]) -> Value {
    json!({ "op": "in", "field": field, "value": ids })
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
        (self
            .set_aside
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
        .clear();
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

        let contract_services: Vec<(wire::ContractService, String)> = self
            .query_by_ids("ContractServices", "contractID", &contract_ids, &[])
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
        let in_window = [
            json!({ "op": "gte", "field": "endDate", "value": cutoff }),
            json!({ "op": "lte", "field": "startDate", "value": horizon }),
        ];
        let units: Vec<(wire::ContractServiceUnit, String)> = self
            .query_by_ids(
                "ContractServiceUnits",
                "contractID",
                &contract_ids,
                &in_window,
            )
            .await?;
        cx.report("contract service units", units.len());

        let service_ids: Vec<i64> = contract_services
            .iter()
            .map(|(c, _)| c.service_id)
            .chain(units.iter().map(|(u, _)| u.service_id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let services: Vec<(wire::Service, String)> = self
            .query_by_ids("Services", "id", &service_ids, &[])
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
        let mut unreadable = BTreeMap::new();
        let agreements = convert::agreements(
            contracts,
            contract_types,
            statuses,
            periods,
            &mut unreadable,
        );
        let lines = convert::lines(
            &self.product_field,
            units,
            &contract_services,
            &services,
            &contract_company,
            &mut unreadable,
        );
        let products = convert::products(&self.product_field, &services);
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
            unreadable,
            set_aside: std::mem::take(
                &mut *self
                    .set_aside
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::KindSettings;

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
