//! Tigerpaw (Tigerpaw One) REST API: accounts, each account's active agreements and each
//! agreement's **additional charges**, the recurring lines.
//!
//! Deployment: Tigerpaw installs the REST API per MSP, on the MSP's own host, so `url` is always
//! given. Auth: `Authorization: TSI <token>`, the token generated on an Account Rep record
//! (Master Tables > Rep > Account Reps > Admin > REST API Security); the sample token Tigerpaw
//! shows is `base64(<public key>:<private key>)`, which `connect --key-pair` builds from the two
//! keys. Whether an installation wants a per-request signature instead is only in the REST API
//! Reference Guide Tigerpaw supplies on request: this version sends the token as is, and a 401
//! says so. The rep's security role bounds what the API returns.
//!
//! Reads (the 2019 Swagger surface, PascalCase JSON, read through [`Enveloped`] so the models'
//! `Success: false` with its `Message` is an error even on HTTP 200):
//! - `POST /api/accounts/search` with `{Criteria: [AccountNumber GreaterThan 0], PageSize}`,
//!   paged by `StartRow` = the answer's `NextRow` until it is 0 or a page is empty;
//! - `GET /api/agreements/account/{accountNumber}/true`: each account's active agreements;
//! - `GET /api/agreements/{agreementNumber}/additionalcharges`: the agreement's recurring lines,
//!   each with its price-book item (`SpecialItemId`), an **integer** `Quantity` and `Price`.
//!   Tigerpaw bills whole units (the snapshot says so, so usage is rounded up before it is
//!   compared). A charge removed after invoicing is one-time, not recurring. A charge carries no
//!   cost.
//!
//! Limits: none published; by default 120 requests a minute and 2 in flight, gentle on the
//! MSP's own server; 429 and 5xx are retried as for every API.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::{Args, pair_token};
pub use settings::Settings;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::connectors::{Connector, ConnectorKind, KindSettings, SyncCx};
use crate::http::{
    ConnectorError, Enveloped, HttpClient, Oddities, Pages, Paging, Param, RateLimit, Read,
    Request, RetryPolicy, StaticHeaders, Tolerant, check_url,
};
use crate::model::{PsaSnapshot, Snapshot};

/// Requests a minute unless the settings say otherwise (no limit is published).
pub const DEFAULT_REQUESTS_PER_MINUTE: usize = 120;
/// Accounts a search page.
const PAGE_SIZE: usize = 100;

const FORBIDDEN_HINT: &str = "The rep's security role may not read this: give the API rep's role read access to accounts and agreements (Master Tables > Security Roles), then run the command again";

pub struct Tigerpaw {
    name: String,
    api: Enveloped,
    types: Vec<String>,
    per_minute: usize,
}

impl Tigerpaw {
    /// `secret` is asked for the `api_token`.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Tigerpaw> {
        settings.validate(name)?;
        Tigerpaw::with_token(name, settings, secret("api_token")?, retry)
    }

    /// [`Tigerpaw::new`] with the token already read.
    pub fn with_token(
        name: &str,
        settings: &Settings,
        token: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<Tigerpaw> {
        let base = check_url(
            name,
            &format!("{}/", settings.url.trim().trim_end_matches('/')),
        )?;
        let hint = format!(
            "Tigerpaw refused the token: check it is the one generated for the API rep (Master Tables > Rep > Account Reps > Admin > REST API Security), or give the rep's two keys with --key-pair; if your installation signs each request (see Tigerpaw's REST API Reference Guide), this version cannot sign. Then run `reconcile connect tigerpaw --name {name} ...` again"
        );
        let auth = StaticHeaders::token("TSI", &token, hint, FORBIDDEN_HINT.into())
            .map_err(|e| anyhow::anyhow!("connection `{name}`: {e}"))?;
        let per_minute = settings.requests_per_minute();
        let limit = RateLimit::per(per_minute, Duration::from_secs(60))
            .with_concurrency(retry.concurrency_or(Settings::KIND.concurrency));
        let client =
            HttpClient::new(name, base, Arc::new(auth), retry).with_rate_limit(Arc::new(limit));
        let failed = "Tigerpaw answered Success: false; the message says why (often the rep's security role), then run the command again".to_string();
        Ok(Tigerpaw {
            name: name.into(),
            // The client's own limit paces every request; none per endpoint.
            api: Enveloped::new(client, usize::MAX, Duration::ZERO, failed),
            types: settings.billable_types.clone(),
            per_minute,
        })
    }

    /// The account search, every account (account numbers above 0).
    fn accounts(&self, size: usize) -> Pages<'_, wire::AccountSummary> {
        let search = json!({"Criteria": [
            {"SearchType": "AccountNumber", "MatchType": "GreaterThan", "Criteria": "0"}
        ]});
        let paging = Paging::Cursor {
            size: Some(Param::new("PageSize", size)),
            param: "StartRow",
            next: "/nextRow",
        };
        Pages::new(
            &self.api,
            Request::post("api/accounts/search", search),
            paging,
            "/accounts",
        )
    }

    /// A list answered in one piece (no paging), read tolerantly.
    async fn one<T: DeserializeOwned>(
        &self,
        path: String,
        items_at: &'static str,
        requests: &AtomicUsize,
    ) -> Result<Tolerant<T>, ConnectorError> {
        requests.fetch_add(1, Ordering::Relaxed);
        Pages::new(&self.api, Request::get(path), Paging::Single, items_at)
            .none_when_absent()
            .all_tolerant(&|_| {})
            .await
            .map_err(name_role)
    }

    fn endpoint(&self, method: &str, path: &str) -> String {
        let base = self.api.client().base().path().trim_end_matches('/');
        format!("{method} {base}/{path}")
    }
}

fn name_role(e: ConnectorError) -> ConnectorError {
    e.name_permission(|_| FORBIDDEN_HINT.into())
}

#[async_trait]
impl Connector for Tigerpaw {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Tigerpaw
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let mut pages = self.accounts(1).tolerant();
        let first = pages.next().await.map_err(name_role)?;
        let requests = AtomicUsize::new(0);
        if let Some(account) = first.and_then(|p| p.items.into_iter().next()) {
            let n = account.0.account_number;
            self.one::<wire::AgreementSummary>(
                format!("api/agreements/account/{n}/true"),
                "/agreements",
                &requests,
            )
            .await?;
        }
        Ok(format!(
            "signed in to {}; accounts and agreements are readable",
            self.api.client().base().origin().ascii_serialization()
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let requests = AtomicUsize::new(0);
        let page_read = |n| {
            requests.fetch_add(1, Ordering::Relaxed);
            cx.report("accounts", n)
        };
        let accounts = self
            .accounts(PAGE_SIZE)
            .all_tolerant(&page_read)
            .await
            .map_err(name_role)?;
        let mut odd = Oddities::default();
        let accounts = odd.take(&self.endpoint("POST", "api/accounts/search"), accounts);
        let mut unreadable = BTreeMap::new();
        let numbers: Vec<i64> = accounts.iter().map(|a| a.value.account_number).collect();
        let companies = accounts
            .into_iter()
            .map(|a| {
                let decides = [
                    "account.status",
                    "account.accountType",
                    "account.isVendor",
                    "account",
                ];
                if let Some(f) = decides.iter().find(|f| a.odd.iter().any(|o| o == *f)) {
                    unreadable.insert(
                        a.value.account_number.to_string(),
                        format!(
                            "account {} has no readable `{f}`, which decides whether it bills",
                            a.value.account_number
                        ),
                    );
                }
                convert::company(a.value, a.raw, &self.types)
            })
            .collect();

        // Each account's active agreements, then each agreement's additional charges.
        let concurrency = Settings::KIND.concurrency;
        let read = AtomicUsize::new(0);
        let (requests_ref, read_ref) = (&requests, &read);
        let agreements: Vec<(i64, Tolerant<wire::AgreementSummary>)> =
            futures_util::stream::iter(numbers)
                .map(|n| async move {
                    let got = self
                        .one(
                            format!("api/agreements/account/{n}/true"),
                            "/agreements",
                            requests_ref,
                        )
                        .await?;
                    let k = got.records.len();
                    cx.report("agreements", read_ref.fetch_add(k, Ordering::Relaxed) + k);
                    Ok::<_, ConnectorError>((n, got))
                })
                .buffered(concurrency)
                .try_collect()
                .await?;
        let mut found = Vec::new();
        for (n, got) in agreements {
            let at = self.endpoint("GET", &format!("api/agreements/account/{n}/true"));
            for s in odd.take(&at, got) {
                found.push((n, s));
            }
        }
        let charged = AtomicUsize::new(0);
        let charged_ref = &charged;
        let charges: Vec<(
            Read<wire::AgreementSummary>,
            i64,
            Tolerant<wire::AdditionalCharge>,
        )> = futures_util::stream::iter(found)
            .map(|(n, s)| async move {
                let number = s.value.agreement_number;
                let got = self
                    .one(
                        format!("api/agreements/{number}/additionalcharges"),
                        "",
                        requests_ref,
                    )
                    .await?;
                let k = got.records.len();
                cx.report(
                    "additional charges",
                    charged_ref.fetch_add(k, Ordering::Relaxed) + k,
                );
                Ok::<_, ConnectorError>((s, n, got))
            })
            .buffered(concurrency)
            .try_collect()
            .await?;

        let mut agreements = Vec::new();
        let mut lines = Vec::new();
        let mut one_time = 0;
        for (s, account, got) in charges {
            let number = s.value.agreement_number;
            let at = self.endpoint("GET", &format!("api/agreements/{number}/additionalcharges"));
            let a = convert::agreement(&s.value, &account.to_string(), s.raw);
            for c in odd.take(&at, got) {
                let unknown = |f: &str| c.odd.iter().any(|o| o == f);
                // What decides whether and how much the charge counts is never guessed.
                let why = if unknown("deleteAfterInvoicing") {
                    "`DeleteAfterInvoicing` (whether it recurs)"
                } else if unknown("specialItemId") {
                    "`SpecialItemId` (which item it bills)"
                } else if let Some(q) = c.value.quantity.filter(|_| !unknown("quantity")) {
                    if c.value.delete_after_invoicing == Some(true) {
                        one_time += 1;
                    }
                    lines.push(convert::line(c.value, c.raw, q, &a));
                    continue;
                } else {
                    "`Quantity`"
                };
                unreadable.entry(a.company_id.clone()).or_insert_with(|| {
                    format!(
                        "additional charge {} of agreement {number} has no readable {why}",
                        c.value.detail_id
                    )
                });
            }
            agreements.push(a);
        }
        agreements.sort_by(|a, b| a.id.cmp(&b.id));
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
        if one_time > 0 {
            meta.insert(
                "one-time charges (delete after invoicing), not counted".into(),
                one_time.to_string(),
            );
        }
        crate::connectors::note_cycles_kept_as_sent(
            &self.name,
            &agreements,
            "billing periods kept as sent",
            &mut meta,
        );
        meta.extend(odd.note());
        Ok(Snapshot::Psa(PsaSnapshot {
            companies,
            agreements,
            lines,
            products: Vec::new(),
            whole_units: true,
            meta,
            unreadable,
            set_aside: odd.set_aside,
        }))
    }
}
