//! The sample MSP and sandbox APIs behind `reconcile demo` (and the CLI tests).
//!
//! [`sample()`] generates one fixed MSP; [`Sandbox::start`] serves it from two local HTTP servers
//! that speak the NinjaOne and ConnectWise PSA APIs as far as the real connectors use them, with
//! the same authentication, paging and record shapes, so a demo run exercises exactly the code a
//! real sync runs. The servers listen on random loopback ports and stop when the [`Sandbox`] is
//! dropped.
//!
//! The sandboxes answer at once unless given a [`Latency`] (the sync benchmark sets one, and
//! serves a large MSP from [`scale::scaled`]); [`RequestStats`] counts what each one served.

pub mod autotask;
mod connectwise;
pub mod csv;
pub mod csv_billing;
pub mod halopsa;
pub mod jumpcloud;
pub mod keeper;
pub mod m365;
mod ninjaone;
pub mod sample;
pub mod scale;
pub mod sentinelone;
pub mod sherweb;
pub mod syncro;
pub mod vendors;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use sample::{
    DEMO_BILLABLE_TYPE, DEMO_SERVICE_MAP, DEMO_UNBILLED_SERVICES, ExpectedLine, FuzzyOrg, Planted,
    SampleMsp, sample,
};

/// The credentials the sandboxes accept; nothing else does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCredentials {
    pub ninja_client_id: String,
    pub ninja_client_secret: String,
    pub cw_company_id: String,
    pub cw_public_key: String,
    pub cw_private_key: String,
    pub cw_client_id: String,
}

impl Default for DemoCredentials {
    fn default() -> Self {
        DemoCredentials {
            ninja_client_id: "demo-ninjaone-client".into(),
            ninja_client_secret: "demo-ninjaone-secret-7Qx2".into(),
            cw_company_id: "bluewave".into(),
            cw_public_key: "DemoPublicKey01".into(),
            cw_private_key: "DemoPrivateKey01".into(),
            cw_client_id: "4f8e2a6c-1b3d-4e5f-9a7b-2c4d6e8f0a1b".into(),
        }
    }
}

/// Requests one sandbox served, in all and per endpoint (`GET /v2/devices`, ids as `{id}`).
#[derive(Debug, Default)]
pub struct RequestStats {
    total: AtomicUsize,
    by_endpoint: Mutex<BTreeMap<String, usize>>,
}

impl RequestStats {
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Requests to one endpoint, named as in [`RequestStats::by_endpoint`].
    pub fn endpoint(&self, name: &str) -> usize {
        self.by_endpoint
            .lock()
            .expect("stats lock")
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    pub fn by_endpoint(&self) -> BTreeMap<String, usize> {
        self.by_endpoint.lock().expect("stats lock").clone()
    }

    fn record(&self, method: &str, path: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let path: Vec<&str> = path
            .split('/')
            .map(|seg| {
                if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                    "{id}"
                } else {
                    seg
                }
            })
            .collect();
        *self
            .by_endpoint
            .lock()
            .expect("stats lock")
            .entry(format!("{method} {}", path.join("/")))
            .or_default() += 1;
    }
}

async fn count_requests(
    State(stats): State<Arc<RequestStats>>,
    req: Request,
    next: Next,
) -> Response {
    stats.record(req.method().as_str(), req.uri().path());
    next.run(req).await
}

/// A delay every request to a sandbox waits before it is answered, as a WAN round trip to a real
/// API would: zero (no wait) unless set, so the demo and the tests are not slowed. Changing it
/// applies to the requests that arrive afterwards.
#[derive(Debug, Default)]
pub struct Latency {
    micros: AtomicU64,
}

impl Latency {
    pub fn new(latency: Duration) -> Latency {
        let l = Latency::default();
        l.set(latency);
        l
    }

    pub fn set(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.micros.store(micros, Ordering::Relaxed);
    }

    pub fn get(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::Relaxed))
    }
}

async fn delay(State(latency): State<Arc<Latency>>, req: Request, next: Next) -> Response {
    let wait = latency.get();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    next.run(req).await
}

/// `app` with the request counter and the latency around it.
fn instrument(
    app: axum::Router,
    stats: &Arc<RequestStats>,
    latency: &Arc<Latency>,
) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(latency.clone(), delay))
        .layer(axum::middleware::from_fn_with_state(
            stats.clone(),
            count_requests,
        ))
}

/// Both sandbox APIs, running.
pub struct Sandbox {
    /// The NinjaOne instance URL (`http://127.0.0.1:PORT`), for the connection's `url` setting.
    pub ninjaone_url: String,
    /// The ConnectWise site (`http://127.0.0.1:PORT`), for the connection's `site` setting; it
    /// serves both `login/companyinfo` and the API, like an on-premises server.
    pub connectwise_site: String,
    pub credentials: DemoCredentials,
    pub sample: Arc<SampleMsp>,
    pub ninjaone_stats: Arc<RequestStats>,
    pub connectwise_stats: Arc<RequestStats>,
    /// The per-request latency of the NinjaOne, ConnectWise and Microsoft 365 sandboxes (zero
    /// unless set; the other sandboxes answer at once).
    pub latency: Arc<Latency>,
    /// The SentinelOne console (`sentinelone.url`).
    pub sentinelone: sentinelone::Server,
    pub jumpcloud: jumpcloud::Server,
    pub sherweb: sherweb::Server,
    pub keeper: keeper::Server,
    /// Token endpoint and Graph of the Microsoft 365 tenants.
    pub m365: m365::Server,
    /// The backup vendor's export, written to a temporary file.
    pub backup: csv::Server,
    stop: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("ninjaone_url", &self.ninjaone_url)
            .field("connectwise_site", &self.connectwise_site)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts both servers on the current tokio runtime with the default credentials.
    pub async fn start(sample: SampleMsp) -> anyhow::Result<Sandbox> {
        Sandbox::start_with(sample, DemoCredentials::default()).await
    }

    pub async fn start_with(
        sample: SampleMsp,
        credentials: DemoCredentials,
    ) -> anyhow::Result<Sandbox> {
        let sample = Arc::new(sample);
        let ninja_listener = bind().await?;
        let cw_listener = bind().await?;
        let ninjaone_url = format!("http://{}", ninja_listener.local_addr()?);
        let connectwise_site = format!("http://{}", cw_listener.local_addr()?);

        let ninjaone_stats = Arc::new(RequestStats::default());
        let connectwise_stats = Arc::new(RequestStats::default());
        let latency = Arc::new(Latency::default());
        let ninja_app = instrument(
            ninjaone::router(ninjaone::NinjaState::new(
                sample.clone(),
                credentials.clone(),
            )),
            &ninjaone_stats,
            &latency,
        );
        let cw_app = instrument(
            connectwise::router(connectwise::CwState::new(
                sample.clone(),
                credentials.clone(),
                connectwise_site.clone(),
            )),
            &connectwise_stats,
            &latency,
        );

        let mut stop = Vec::new();
        let mut tasks = Vec::new();
        for (listener, app, what) in [
            (ninja_listener, ninja_app, "NinjaOne"),
            (cw_listener, cw_app, "ConnectWise"),
        ] {
            let (tx, rx) = oneshot::channel::<()>();
            stop.push(tx);
            tasks.push(tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
                if let Err(e) = served {
                    tracing::warn!(error = %e, "the {what} sandbox stopped");
                }
            }));
        }
        let sentinelone = sentinelone::start(Arc::new(sample.sentinelone.clone())).await?;
        let jumpcloud = jumpcloud::start(Arc::new(sample.jumpcloud.clone())).await?;
        let sherweb = sherweb::start(Arc::new(sample.sherweb.clone())).await?;
        let keeper = keeper::start(Arc::new(sample.keeper.clone())).await?;
        let m365 = m365::start_with(Arc::new(sample.m365.clone()), latency.clone()).await?;
        let backup = csv::start(Arc::new(sample.backup.clone())).await?;
        tracing::debug!(%ninjaone_url, %connectwise_site, sentinelone = %sentinelone.url, "sandboxes listening");
        Ok(Sandbox {
            sentinelone,
            jumpcloud,
            sherweb,
            keeper,
            backup,
            m365,
            ninjaone_url,
            connectwise_site,
            credentials,
            sample,
            ninjaone_stats,
            connectwise_stats,
            latency,
            stop,
            tasks,
        })
    }

    /// Settings for a NinjaOne connection to this sandbox.
    pub fn ninjaone_settings(
        &self,
        page_size: Option<usize>,
    ) -> crate::connectors::ninjaone::Settings {
        crate::connectors::ninjaone::Settings {
            region: None,
            url: Some(self.ninjaone_url.clone()),
            client_id: self.credentials.ninja_client_id.clone(),
            page_size,
            device_listing: Default::default(),
        }
    }

    /// Settings for a ConnectWise connection to this sandbox; only `Client` companies bill.
    pub fn connectwise_settings(
        &self,
        page_size: Option<usize>,
    ) -> crate::connectors::connectwise::Settings {
        crate::connectors::connectwise::Settings {
            site: self.connectwise_site.clone(),
            company_id: self.credentials.cw_company_id.clone(),
            public_key: self.credentials.cw_public_key.clone(),
            client_id: self.credentials.cw_client_id.clone(),
            codebase: None,
            billable_company_types: vec![DEMO_BILLABLE_TYPE.to_string()],
            page_size,
        }
    }

    /// Requests served by both sandboxes.
    pub fn requests_served(&self) -> usize {
        self.ninjaone_stats.total()
            + self.connectwise_stats.total()
            + self.sentinelone.served_requests()
            + self.jumpcloud.stats.total()
            + self.sherweb.stats.total()
            + self.keeper.stats.total()
            + self.m365.stats.total()
    }

    /// Stops both servers and waits for them (in-flight requests finish first).
    pub async fn shutdown(mut self) {
        for tx in self.stop.drain(..) {
            let _ = tx.send(());
        }
        for task in self.tasks.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .is_err()
            {
                // An idle keep-alive connection must not hold the demo open.
                abort.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for tx in self.stop.drain(..) {
            let _ = tx.send(());
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One sandbox server on a loopback port, stopped when dropped.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub stats: Arc<RequestStats>,
    /// Its per-request latency (zero unless set or given to [`Served::start_delayed`]).
    pub latency: Arc<Latency>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Served {
    /// Serves `app` on a random loopback port on the current tokio runtime, counting requests.
    pub async fn start(app: axum::Router, what: &'static str) -> anyhow::Result<Served> {
        Served::start_at(what, |_| app).await
    }

    /// [`Served::start`] for a sandbox whose answers name its own URL (token endpoints, links):
    /// `make` builds the router given `http://127.0.0.1:PORT`.
    pub async fn start_at(
        what: &'static str,
        make: impl FnOnce(&str) -> axum::Router,
    ) -> anyhow::Result<Served> {
        Served::start_delayed(what, Arc::default(), make).await
    }

    /// [`Served::start_at`] with a per-request latency, shared with whoever else holds it.
    pub async fn start_delayed(
        what: &'static str,
        latency: Arc<Latency>,
        make: impl FnOnce(&str) -> axum::Router,
    ) -> anyhow::Result<Served> {
        let listener = bind().await?;
        let url = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(RequestStats::default());
        let app = instrument(make(&url), &stats, &latency);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "the {what} sandbox stopped");
            }
        });
        Ok(Served {
            url,
            stats,
            latency,
            stop: Some(tx),
            task,
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

async fn bind() -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port for the demo sandbox")
}

/// Query parameters in order, keys as sent; shared by both sandboxes.
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// The first value of a query parameter, its name compared without case.
fn query_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests;
