//! Shared helpers: fixtures, a fast retry policy, snapshot accessors, progress capture and a
//! ConnectWise-style pager.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reconcile::connectors::SyncCx;
use reconcile::http::RetryPolicy;
use reconcile::model::{PsaSnapshot, ServiceDef, ServiceFamily, Snapshot, VendorSnapshot};
use rust_decimal::Decimal;
use serde_json::Value;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// A response body from `fixtures/`, read relative to this crate (never from outside it).
pub fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// A fixture that is a JSON array, as its elements.
pub fn fixture_array(rel: &str) -> Vec<Value> {
    serde_json::from_str(&fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// 200 with a fixture as the JSON body.
pub fn json(rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(rel), "application/json")
}

/// Retries with tiny delays so tests stay fast; `Retry-After` up to 2 s is honoured.
pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(2),
        max_retry_after: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        ..RetryPolicy::default()
    }
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("`{s}` is not a decimal"))
}

/// The vendor side of a snapshot; a PSA snapshot fails the test.
pub fn vendor(s: Snapshot) -> VendorSnapshot {
    match s {
        Snapshot::Vendor(v) => v,
        Snapshot::Psa(_) => panic!("expected a vendor snapshot, got a PSA one"),
    }
}

/// The PSA side of a snapshot; a vendor snapshot fails the test.
/// How many of the snapshot's items each service counts, by service key.
pub fn counts_by_service(
    services: &[ServiceDef],
    snap: &VendorSnapshot,
) -> BTreeMap<String, usize> {
    services
        .iter()
        .map(|s| {
            (
                s.key.clone(),
                snap.items.iter().filter(|i| s.counts(i)).count(),
            )
        })
        .collect()
}

/// Units per (account id, service key) over `snap`: the kind's built-in `services` and one per
/// value each of its `families` finds in the snapshot.
pub fn units_by_account(
    mut services: Vec<ServiceDef>,
    families: &[ServiceFamily],
    snap: &VendorSnapshot,
) -> HashMap<(String, String), Decimal> {
    for f in families {
        services.extend(f.expand(&snap.items));
    }
    let mut out: HashMap<(String, String), Decimal> = HashMap::new();
    for i in &snap.items {
        for d in &services {
            let w = d.weight(i);
            if w > Decimal::ZERO {
                *out.entry((i.account_id.clone(), d.key.clone()))
                    .or_default() += w;
            }
        }
    }
    out
}

pub fn psa(s: Snapshot) -> PsaSnapshot {
    match s {
        Snapshot::Psa(p) => p,
        Snapshot::Vendor(_) => panic!("expected a PSA snapshot, got a vendor one"),
    }
}

/// Progress reports as (stage, count), in the order they came.
pub type Progress = Arc<Mutex<Vec<(String, usize)>>>;

/// A sync context that records every progress report.
pub fn recording_cx() -> (SyncCx, Progress) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let cx = SyncCx {
        progress: Arc::new(move |stage: &str, n: usize| {
            sink.lock().unwrap().push((stage.to_string(), n))
        }),
        ..SyncCx::silent()
    };
    (cx, seen)
}

/// Every request the server received for `path` (exact), in order.
pub async fn requests_to(server: &MockServer, path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

/// The query parameters of a request.
pub fn query(req: &Request) -> HashMap<String, String> {
    req.url.query_pairs().into_owned().collect()
}

/// Answers like a ConnectWise collection: slices the fixture array by `page` (1-based) and
/// `pageSize` (default 25), and, when `link` is set and there is more than one page, sends the
/// navigable-mode `Link` header: `<…?page=2&pageSize=2>; rel="next", <…?page=3&pageSize=2>; rel="last"`
/// on the first page, prev/next/first/last in the middle, prev/first on the last page.
pub struct CwPages {
    pub items: Vec<Value>,
    pub link: bool,
}

impl CwPages {
    pub fn of(rel: &str) -> CwPages {
        CwPages {
            items: fixture_array(rel),
            link: true,
        }
    }
}

impl Respond for CwPages {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q = query(req);
        let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let size: usize = q.get("pageSize").and_then(|p| p.parse().ok()).unwrap_or(25);
        let chunk: Vec<Value> = self
            .items
            .iter()
            .skip((page - 1) * size)
            .take(size)
            .cloned()
            .collect();
        let last = self.items.len().div_ceil(size).max(1);
        let mut resp = ResponseTemplate::new(200).set_body_json(Value::Array(chunk));
        if self.link && last > 1 {
            let others: Vec<(String, String)> = req
                .url
                .query_pairs()
                .into_owned()
                .filter(|(k, _)| k != "page" && k != "pageSize")
                .collect();
            let to = |p: usize, rel: &str| {
                let mut u = req.url.clone();
                u.query_pairs_mut()
                    .clear()
                    .extend_pairs(&others)
                    .append_pair("page", &p.to_string())
                    .append_pair("pageSize", &size.to_string());
                format!("<{u}>; rel=\"{rel}\"")
            };
            let mut parts = Vec::new();
            if page > 1 {
                parts.push(to(page - 1, "prev"));
            }
            if page < last {
                parts.push(to(page + 1, "next"));
            }
            if page > 1 {
                parts.push(to(1, "first"));
            }
            if page < last {
                parts.push(to(last, "last"));
            }
            resp = resp.insert_header("Link", parts.join(", "));
        }
        resp
    }
}
