//! Putting a sandbox up: [`Served`] is one sandbox, up until it is dropped: an HTTP API on a
//! random loopback port, counting what it serves in [`RequestStats`] and waiting a [`Latency`]
//! before each answer, or an import's file written to a temporary directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::connectors::ConnectorKind;

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

/// One sandbox, up until dropped: an API on a loopback port, or a file in a temporary directory.
pub struct Served {
    kind: ConnectorKind,
    up: Up,
    /// What it served (nothing, for a file).
    pub stats: Arc<RequestStats>,
}

enum Up {
    Api {
        url: String,
        stop: Option<oneshot::Sender<()>>,
        task: Option<JoinHandle<()>>,
    },
    File {
        path: PathBuf,
        dir: tempfile::TempDir,
    },
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = match &self.up {
            Up::Api { url, .. } => url.as_str(),
            Up::File { path, .. } => path.to_str().unwrap_or("?"),
        };
        f.debug_struct("Served")
            .field("kind", &self.kind)
            .field("at", &at)
            .finish_non_exhaustive()
    }
}

impl Served {
    /// Serves the router `make` builds (given `http://127.0.0.1:PORT`, for answers that name the
    /// server's own URL) on a random loopback port of the current tokio runtime, counting
    /// requests and waiting `latency` before each.
    pub(super) async fn api(
        kind: ConnectorKind,
        latency: Arc<Latency>,
        make: impl FnOnce(&str) -> Router,
    ) -> anyhow::Result<Served> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on a loopback port for the demo sandbox")?;
        let url = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(RequestStats::default());
        let app = make(&url)
            .layer(axum::middleware::from_fn_with_state(latency, delay))
            .layer(axum::middleware::from_fn_with_state(
                stats.clone(),
                count_requests,
            ));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "the {} sandbox stopped", kind.display_name());
            }
        });
        tracing::debug!(%url, "{} sandbox listening", kind.display_name());
        Ok(Served {
            kind,
            up: Up::Api {
                url,
                stop: Some(tx),
                task: Some(task),
            },
            stats,
        })
    }

    /// Writes `contents` as `name` into a new temporary directory (`reconcile-demo-<kind>-…`).
    pub(super) fn file(kind: ConnectorKind, name: &str, contents: &str) -> anyhow::Result<Served> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("reconcile-demo-{}-", kind.as_str()))
            .tempdir()?;
        let path = dir.path().join(name);
        std::fs::write(&path, contents)?;
        Ok(Served {
            kind,
            up: Up::File { path, dir },
            stats: Arc::default(),
        })
    }

    pub fn kind(&self) -> ConnectorKind {
        self.kind
    }

    /// The API's URL, `http://127.0.0.1:PORT`. A file sandbox has none: asking is a bug.
    pub fn url(&self) -> &str {
        match &self.up {
            Up::Api { url, .. } => url,
            Up::File { .. } => panic!("the {} sandbox is a file, not an API", self.kind),
        }
    }

    /// The file an import sandbox wrote. An API has none: asking is a bug.
    pub fn path(&self) -> &Path {
        match &self.up {
            Up::File { path, .. } => path,
            Up::Api { .. } => panic!("the {} sandbox is an API, not a file", self.kind),
        }
    }

    /// The temporary directory holding an import sandbox's file, removed when it is dropped.
    pub fn dir(&self) -> &Path {
        match &self.up {
            Up::File { dir, .. } => dir.path(),
            Up::Api { .. } => panic!("the {} sandbox is an API, not a file", self.kind),
        }
    }

    /// Stops an API and waits for it (requests in flight finish first).
    pub async fn shutdown(mut self) {
        if let Up::Api { stop, task, .. } = &mut self.up {
            if let Some(tx) = stop.take() {
                let _ = tx.send(());
            }
            if let Some(task) = task.take() {
                let abort = task.abort_handle();
                if tokio::time::timeout(Duration::from_secs(5), task)
                    .await
                    .is_err()
                {
                    // An idle keep-alive connection must not hold the demo open.
                    abort.abort();
                }
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Up::Api { stop, task, .. } = &mut self.up {
            if let Some(tx) = stop.take() {
                let _ = tx.send(());
            }
            if let Some(task) = task {
                task.abort();
            }
        }
    }
}
