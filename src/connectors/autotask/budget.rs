//! Autotask's request budget: the database's hourly threshold, read from `ThresholdInformation`
//! at the start of a sync and again every [`THRESHOLD_RECHECK`] requests; pacing once the
//! database is past [`SLOW_DOWN_PERCENT`]; the stop before `max_threshold_percent`; and
//! [`Budgeted`], the pager's transport, which counts every page against the budget.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use super::{Api, Autotask, wire};
use crate::http::{ConnectorError, RawResponse, Request, Transport, decode_one};

/// Published default threshold, used for the client-side limiter before the tenant's own
/// `ThresholdInformation` is known.
pub const DEFAULT_THRESHOLD: usize = 10_000;
/// Default share of the hourly threshold this tool will not go past.
pub const DEFAULT_MAX_THRESHOLD_PERCENT: u64 = 80;
/// Past this share of the threshold, requests are paced (half a second each).
pub const SLOW_DOWN_PERCENT: u64 = 50;
const PACE: Duration = Duration::from_millis(500);
/// ThresholdInformation is read again after this many requests (other integrations share it).
pub const THRESHOLD_RECHECK: u64 = 250;

/// Requests this sync may still make, from ThresholdInformation.
#[derive(Default)]
pub(super) struct Budget {
    pub(super) threshold: AtomicU64,
    pub(super) timeframe: AtomicU64,
    /// The database's count when last read.
    pub(super) seen: AtomicU64,
    /// Requests made since it was read.
    pub(super) since: AtomicU64,
    /// Requests made by this connector in all.
    pub(super) total: AtomicU64,
}

impl Autotask {
    /// Counts a request against the hourly budget; waits when the database is busy and stops
    /// before it passes `max_threshold_percent`.
    pub(super) async fn spend(&self) -> Result<(), ConnectorError> {
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
    pub(super) async fn read_threshold(
        &self,
    ) -> Result<wire::ThresholdInformation, ConnectorError> {
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

    pub(super) fn threshold_meta(
        &self,
        t: &wire::ThresholdInformation,
    ) -> BTreeMap<String, String> {
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
pub(super) struct Budgeted<'a> {
    pub(super) autotask: &'a Autotask,
    /// The zone the query started in: its next-page links must stay on this origin.
    pub(super) api: Arc<Api>,
    /// For the permission a 403 names.
    pub(super) entity: &'a str,
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
