//! Shared HTTP for every connector: one client builder (rustls, timeouts, a redirect policy that
//! keeps HTTPS), authentication providers, retries with backoff that honour `Retry-After`,
//! path-aware JSON decoding and the two paging styles the APIs use. Connectors describe
//! requests; this module sends them and turns failures into [`ConnectorError`]s.

mod auth;
mod error;
mod limit;
mod paging;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

pub use auth::{Auth, ClientCredentials, NoAuth, StaticHeaders};
pub use error::ConnectorError;
pub use limit::RateLimit;
pub use paging::{AfterPages, CursorPage, CursorPages, Link};

/// How hard to try before giving up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts for one request in all (first try included).
    pub max_attempts: u32,
    /// First backoff delay for 5xx and transport errors; doubles each time.
    pub base_delay: Duration,
    /// Longest `Retry-After` we are willing to sleep through.
    pub max_retry_after: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Longest one request may take with all its retries and waits; past it the request fails
    /// rather than keep a cron job hanging.
    pub max_elapsed: Duration,
    /// Requests one connection has in flight at most (its `concurrency` setting); `None` leaves
    /// it to the connector's default.
    pub concurrency: Option<usize>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(120),
            timeout: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(600),
            concurrency: None,
        }
    }
}

impl RetryPolicy {
    /// Requests in flight at most: the configured `concurrency`, else `default`.
    pub fn concurrency_or(&self, default: usize) -> usize {
        self.concurrency.unwrap_or(default).max(1)
    }
}

/// Accepts `https://` anywhere and `http://` only for loopback hosts (tests and the demo).
pub fn check_url(connection: &str, raw: &str) -> Result<Url, ConnectorError> {
    let url = Url::parse(raw).map_err(|e| ConnectorError::Invalid {
        connection: connection.into(),
        message: format!("`{raw}` is not a valid URL ({e}); give it as https://host"),
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(ConnectorError::Invalid {
            connection: connection.into(),
            message: format!(
                "`{raw}` uses plain http; only https is allowed (http only for loopback addresses)"
            ),
        }),
        other => Err(ConnectorError::Invalid {
            connection: connection.into(),
            message: format!("`{raw}` uses the `{other}` scheme; use https://"),
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A response body with its headers, after retries.
#[derive(Debug)]
pub struct RawResponse {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub endpoint: String,
}

/// The client one connection uses.
pub struct HttpClient {
    inner: reqwest::Client,
    connection: String,
    base: Url,
    auth: Arc<dyn Auth>,
    retry: RetryPolicy,
    limit: Option<Arc<RateLimit>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("connection", &self.connection)
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Builds the reqwest client every connector shares the settings of.
pub fn build_reqwest(timeout: Duration) -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("too many redirects")
        } else if attempt.url().scheme() == "https" || is_loopback(attempt.url()) {
            attempt.follow()
        } else {
            attempt.error("refusing a redirect away from https")
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("reconcile/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .redirect(policy)
        .build()
        .expect("the HTTP client settings are valid")
}

impl HttpClient {
    /// `base` must already have passed [`check_url`]; paths are joined onto it.
    pub fn new(connection: &str, base: Url, auth: Arc<dyn Auth>, retry: RetryPolicy) -> HttpClient {
        let inner = build_reqwest(retry.timeout);
        let limit = retry.concurrency.map(|n| Arc::new(RateLimit::in_flight(n)));
        HttpClient {
            inner,
            connection: connection.to_string(),
            base,
            auth,
            retry,
            limit,
        }
    }

    /// Keeps every request of this client (and of clones sharing the `Arc`) within `limit`.
    pub fn with_rate_limit(mut self, limit: Arc<RateLimit>) -> HttpClient {
        self.limit = Some(limit);
        self
    }

    pub fn connection(&self) -> &str {
        &self.connection
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url_for(&self, path: &str) -> Url {
        let mut s = self.base.as_str().trim_end_matches('/').to_string();
        s.push('/');
        s.push_str(path.trim_start_matches('/'));
        Url::parse(&s).expect("a valid base joined with a path is a valid URL")
    }

    /// GET `path` with `query`, authenticated, with retries.
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<RawResponse, ConnectorError> {
        self.get_with_headers(path, query, &HeaderMap::new()).await
    }

    /// [`HttpClient::get`] with extra request headers (Partner Center's `MS-ContinuationToken`).
    pub async fn get_with_headers(
        &self,
        path: &str,
        query: &[(&str, String)],
        extra: &HeaderMap,
    ) -> Result<RawResponse, ConnectorError> {
        let url = self.url_for(path);
        let endpoint = format!("GET {}", url.path());
        let mut refreshed = false;
        // Set for the one request right after a 401; retries after that reuse the fresh token.
        let mut force_refresh = false;
        let mut attempt = 0;
        let first = Instant::now();
        loop {
            attempt += 1;
            let headers = self
                .auth
                .headers(&self.inner, std::mem::take(&mut force_refresh))
                .await?;
            let req = self
                .inner
                .get(url.clone())
                .headers(headers)
                .headers(extra.clone())
                .query(query);
            let permit = match &self.limit {
                Some(l) => l.acquire().await,
                None => None,
            };
            let outcome =
                send_once(&self.connection, &endpoint, &url, req, &self.retry, attempt).await?;
            drop(permit);
            match outcome {
                Outcome::Done(resp) => return Ok(resp),
                Outcome::Unauthorized { status, detail }
                    if !refreshed && self.auth.refreshable() =>
                {
                    // A token can expire between fetching and using it: refresh once.
                    tracing::debug!(%endpoint, status, "unauthorized; refreshing the token once");
                    refreshed = true;
                    force_refresh = true;
                    attempt -= 1;
                    let _ = detail;
                }
                Outcome::Unauthorized { status, detail } => {
                    return Err(ConnectorError::Auth {
                        connection: self.connection.clone(),
                        endpoint,
                        status,
                        detail: format!(": {detail}"),
                        hint: self.auth.hint(status),
                    });
                }
                Outcome::RetryAfter(delay, why) => {
                    let c = &self.connection;
                    wait_or_give_up(c, &self.retry, &endpoint, first, attempt, delay, why).await?
                }
            }
        }
    }

    /// POST `body` as JSON to `path`, authenticated, with the same retries as [`HttpClient::get`]
    /// (for command-style APIs such as Keeper Commander's Service Mode). The request may be sent
    /// more than once, so use it only for requests that are safe to repeat (reads).
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<RawResponse, ConnectorError> {
        let url = self.url_for(path);
        let endpoint = format!("POST {}", url.path());
        let mut refreshed = false;
        let mut force_refresh = false;
        let mut attempt = 0;
        let first = Instant::now();
        loop {
            attempt += 1;
            let headers = self
                .auth
                .headers(&self.inner, std::mem::take(&mut force_refresh))
                .await?;
            let req = self.inner.post(url.clone()).headers(headers).json(body);
            let permit = match &self.limit {
                Some(l) => l.acquire().await,
                None => None,
            };
            let outcome =
                send_once(&self.connection, &endpoint, &url, req, &self.retry, attempt).await?;
            drop(permit);
            match outcome {
                Outcome::Done(resp) => return Ok(resp),
                Outcome::Unauthorized { .. } if !refreshed && self.auth.refreshable() => {
                    refreshed = true;
                    force_refresh = true;
                    attempt -= 1;
                }
                Outcome::Unauthorized { status, detail } => {
                    return Err(ConnectorError::Auth {
                        connection: self.connection.clone(),
                        endpoint,
                        status,
                        detail: format!(": {detail}"),
                        hint: self.auth.hint(status),
                    });
                }
                Outcome::RetryAfter(delay, why) => {
                    let c = &self.connection;
                    wait_or_give_up(c, &self.retry, &endpoint, first, attempt, delay, why).await?
                }
            }
        }
    }

    /// GET a JSON array and decode each element; keeps each element's raw JSON.
    pub async fn get_list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(Vec<(T, String)>, HeaderMap), ConnectorError> {
        let resp = self.get(path, query).await?;
        let items = decode_list(&self.connection, &resp.endpoint, &resp.body)?;
        Ok((items, resp.headers))
    }

    /// GET one JSON object.
    pub async fn get_one<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ConnectorError> {
        let resp = self.get(path, query).await?;
        decode_one(&self.connection, &resp.endpoint, &resp.body)
    }
}

enum Outcome {
    Done(RawResponse),
    Unauthorized {
        status: u16,
        detail: String,
    },
    /// Wait this long and send again; the string says why (for the give-up message).
    RetryAfter(Duration, String),
}

/// Sends one request and classifies the result; `Err` is final, `RetryAfter` asks the caller to
/// sleep and go again. Shared by API calls and token requests.
async fn send_once(
    connection: &str,
    endpoint: &str,
    url: &Url,
    req: reqwest::RequestBuilder,
    retry: &RetryPolicy,
    attempt: u32,
) -> Result<Outcome, ConnectorError> {
    let started = Instant::now();
    let backoff = jitter(retry.base_delay * 2u32.saturating_pow(attempt.saturating_sub(1)));
    let can_retry = attempt < retry.max_attempts;
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(%endpoint, attempt, error = %e, "request failed");
            if can_retry {
                let why = if e.is_timeout() {
                    format!("no answer within {}s", retry.timeout.as_secs())
                } else {
                    transport_detail(&e)
                };
                return Ok(Outcome::RetryAfter(backoff, why));
            }
            if e.is_timeout() {
                return Err(ConnectorError::Timeout {
                    connection: connection.into(),
                    endpoint: endpoint.into(),
                    seconds: retry.timeout.as_secs(),
                    attempts: attempt,
                });
            }
            return Err(ConnectorError::Unreachable {
                connection: connection.into(),
                url: origin(url),
                detail: transport_detail(&e),
            });
        }
    };
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = match resp.bytes().await {
        Ok(b) => b.to_vec(),
        Err(e) => {
            if can_retry {
                return Ok(Outcome::RetryAfter(
                    backoff,
                    format!("the body was cut off: {}", transport_detail(&e)),
                ));
            }
            return Err(ConnectorError::Malformed {
                connection: connection.into(),
                endpoint: endpoint.into(),
                detail: format!("the body could not be read: {}", transport_detail(&e)),
            });
        }
    };
    tracing::debug!(%endpoint, status = status.as_u16(), attempt, ms = started.elapsed().as_millis() as u64, "response");
    if status.is_success() {
        return Ok(Outcome::Done(RawResponse {
            headers,
            body,
            endpoint: endpoint.into(),
        }));
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Ok(Outcome::Unauthorized {
            status: status.as_u16(),
            detail: error_detail(&body),
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = retry_after(&headers).unwrap_or(backoff);
        if wait > retry.max_retry_after {
            return Err(ConnectorError::RateLimited {
                connection: connection.into(),
                endpoint: endpoint.into(),
                why: format!(
                    "asks to wait {}s, longer than the {}s this tool waits",
                    wait.as_secs(),
                    retry.max_retry_after.as_secs()
                ),
            });
        }
        if !can_retry {
            return Err(ConnectorError::RateLimited {
                connection: connection.into(),
                endpoint: endpoint.into(),
                why: format!("still refused after {attempt} attempts"),
            });
        }
        tracing::info!(%endpoint, seconds = wait.as_secs_f64(), "rate limited; waiting as Retry-After asks");
        return Ok(Outcome::RetryAfter(wait, "HTTP 429".into()));
    }
    if status.is_server_error() && can_retry {
        return Ok(Outcome::RetryAfter(
            retry_after(&headers)
                .filter(|d| *d <= retry.max_retry_after)
                .unwrap_or(backoff),
            format!("HTTP {}", status.as_u16()),
        ));
    }
    let hint = match status.as_u16() {
        404 => "Check the URL, region or codebase in the config file".to_string(),
        400 => "The request was refused as invalid; please report this".to_string(),
        s if s >= 500 => "The service is failing; try again later".to_string(),
        _ => "Check the connection settings".to_string(),
    };
    Err(ConnectorError::Http {
        connection: connection.into(),
        endpoint: endpoint.into(),
        status: status.as_u16(),
        attempts: if attempt > 1 {
            format!(" after {attempt} attempts")
        } else {
            String::new()
        },
        snippet: error_detail(&body),
        hint,
    })
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn transport_detail(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL; the cause chain says why (refused, DNS, TLS).
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        if e.is_connect() {
            "connection failed".into()
        } else {
            "request failed".into()
        }
    } else {
        parts.join(": ")
    }
}

/// A short, one-line excerpt of an error body for messages.
fn error_detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "empty body".into();
    }
    let mut s: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// Reads `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_millis((secs * 1000.0) as u64));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let secs = (at.as_second() - now.as_second()).max(0) as u64;
    Some(Duration::from_secs(secs))
}

/// Decodes a JSON array, element by element, naming the index and field of any bad element.
pub fn decode_list<T: DeserializeOwned>(
    connection: &str,
    endpoint: &str,
    body: &[u8],
) -> Result<Vec<(T, String)>, ConnectorError> {
    let value: Value = parse_json(connection, endpoint, body)?;
    let Value::Array(elements) = value else {
        return Err(ConnectorError::Decode {
            connection: connection.into(),
            endpoint: endpoint.into(),
            path: ".".into(),
            detail: format!("expected a JSON array, got {}", kind_of(&value)),
        });
    };
    decode_elements(connection, endpoint, "", elements)
}

/// Decodes the elements of a JSON array found at `at` (`""` for the top level, `data.sites`),
/// each with its compact JSON kept; errors name the element and field (`data.sites[3].id`).
pub(crate) fn decode_elements<T: DeserializeOwned>(
    connection: &str,
    endpoint: &str,
    at: &str,
    elements: Vec<Value>,
) -> Result<Vec<(T, String)>, ConnectorError> {
    elements
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let raw = v.to_string();
            serde_path_to_error::deserialize::<_, T>(v)
                .map(|t| (t, raw))
                .map_err(|e| decode_error(connection, endpoint, &format!("{at}[{i}]"), e))
        })
        .collect()
}

/// Decodes one JSON value.
pub fn decode_one<T: DeserializeOwned>(
    connection: &str,
    endpoint: &str,
    body: &[u8],
) -> Result<T, ConnectorError> {
    let value: Value = parse_json(connection, endpoint, body)?;
    serde_path_to_error::deserialize::<_, T>(value)
        .map_err(|e| decode_error(connection, endpoint, "", e))
}

fn parse_json(connection: &str, endpoint: &str, body: &[u8]) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| ConnectorError::Malformed {
        connection: connection.into(),
        endpoint: endpoint.into(),
        detail: if e.is_eof() {
            format!("it ends too early: {e}")
        } else {
            e.to_string()
        },
    })
}

fn decode_error(
    connection: &str,
    endpoint: &str,
    prefix: &str,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> ConnectorError {
    let inner = e.path().to_string();
    let path = match (prefix.is_empty(), inner.as_str()) {
        (true, p) => p.to_string(),
        (false, ".") => prefix.to_string(),
        (false, p) => format!("{prefix}.{p}"),
    };
    ConnectorError::Decode {
        connection: connection.into(),
        endpoint: endpoint.into(),
        path,
        detail: e.into_inner().to_string(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Sends a request that needs no auth (token endpoints, discovery) with the same retry rules.
pub(crate) async fn send_unauthenticated(
    connection: &str,
    client: &reqwest::Client,
    method: Method,
    url: &Url,
    build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    retry: &RetryPolicy,
) -> Result<Result<RawResponse, (u16, String)>, ConnectorError> {
    let endpoint = format!("{} {}", method, url.path());
    let mut attempt = 0;
    let first = Instant::now();
    loop {
        attempt += 1;
        let req = build(client.request(method.clone(), url.clone()));
        match send_once(connection, &endpoint, url, req, retry, attempt).await? {
            Outcome::Done(r) => return Ok(Ok(r)),
            Outcome::Unauthorized { status, detail } => return Ok(Err((status, detail))),
            Outcome::RetryAfter(d, why) => {
                wait_or_give_up(connection, retry, &endpoint, first, attempt, d, why).await?
            }
        }
    }
}

/// Sleeps `delay` before the next attempt, unless that would take the request past
/// [`RetryPolicy::max_elapsed`]: then it gives up, saying how long it tried.
async fn wait_or_give_up(
    connection: &str,
    retry: &RetryPolicy,
    endpoint: &str,
    first: Instant,
    attempt: u32,
    delay: Duration,
    why: String,
) -> Result<(), ConnectorError> {
    let spent = first.elapsed();
    if spent + delay > retry.max_elapsed {
        return Err(ConnectorError::GaveUp {
            connection: connection.into(),
            endpoint: endpoint.into(),
            attempts: attempt,
            seconds: spent.as_secs(),
            last: why,
            limit: retry.max_elapsed.as_secs(),
        });
    }
    tracing::debug!(%endpoint, attempt, ms = delay.as_millis() as u64, %why, "retrying");
    tokio::time::sleep(delay).await;
    Ok(())
}

/// Spreads a backoff delay over [d/2, d] so that many requests failing together (a fan-out
/// hitting a 503) do not all come back at the same instant.
fn jitter(d: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    // A fresh RandomState is randomly keyed: enough randomness for spreading retries, no crate.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(d.as_nanos());
    let frac = (h.finish() % 1_000) as u32;
    d / 2 + (d / 2) * frac / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A loopback server whose every answer takes `delay`, recording the most requests it
    /// had in flight at once; answers 503 when `fail` is set.
    async fn counting_server(
        delay: Duration,
        fail: bool,
    ) -> (Url, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        let (n, p, c) = (now.clone(), peak.clone(), served.clone());
        let app = axum::Router::new().fallback(move || {
            let (n, p, c) = (n.clone(), p.clone(), c.clone());
            async move {
                let inflight = n.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(inflight, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                n.fetch_sub(1, Ordering::SeqCst);
                c.fetch_add(1, Ordering::SeqCst);
                if fail {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy")
                } else {
                    (StatusCode::OK, "[]")
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, peak, served)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_never_has_more_than_its_concurrency_in_flight() {
        for limit in [1usize, 3] {
            let (url, peak, served) = counting_server(Duration::from_millis(20), false).await;
            let retry = RetryPolicy {
                concurrency: Some(limit),
                ..RetryPolicy::default()
            };
            let client = HttpClient::new("c", url, Arc::new(NoAuth), retry);
            let all = (0..12).map(|i| {
                let client = &client;
                async move { client.get(&format!("x/{i}"), &[]).await }
            });
            for r in futures_util::future::join_all(all).await {
                r.unwrap();
            }
            assert_eq!(served.load(Ordering::SeqCst), 12);
            // Exactly the limit: never above it, and the fan-out does use it.
            assert_eq!(peak.load(Ordering::SeqCst), limit, "limit {limit}");
        }
    }

    #[tokio::test]
    async fn retries_stop_at_the_total_time_a_request_may_take() {
        let (url, _, served) = counting_server(Duration::ZERO, true).await;
        let retry = RetryPolicy {
            max_attempts: 1_000,
            base_delay: Duration::from_millis(40),
            max_elapsed: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        let client = HttpClient::new("c", url, Arc::new(NoAuth), retry);
        let err = client.get("x", &[]).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ConnectorError::GaveUp { .. }), "{msg}");
        assert!(msg.contains("GET /x still failing after"), "{msg}");
        assert!(msg.contains("(last: HTTP 503)"), "{msg}");
        assert!(msg.contains("this tool gives one request at most"), "{msg}");
        // Backoff doubles from 20-40 ms: about 3 to 5 attempts fit in 300 ms, far from 1,000.
        let n = served.load(Ordering::SeqCst);
        assert!((2..=6).contains(&n), "{n} attempts");
    }

    #[test]
    fn backoff_jitter_stays_between_half_and_the_whole_delay() {
        let d = Duration::from_millis(800);
        let seen: Vec<Duration> = (0..200).map(|_| jitter(d)).collect();
        assert!(seen.iter().all(|j| *j >= d / 2 && *j <= d), "{seen:?}");
        let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
        assert!(distinct.len() > 20, "jitter does not spread: {distinct:?}");
    }

    #[test]
    fn only_https_or_loopback() {
        assert!(check_url("c", "https://eu.ninjarmm.com").is_ok());
        assert!(check_url("c", "http://127.0.0.1:8080").is_ok());
        assert!(check_url("c", "http://localhost:1").is_ok());
        assert!(check_url("c", "http://[::1]:1").is_ok());
        let err = check_url("c", "http://eu.ninjarmm.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("only https"), "{err}");
        assert!(check_url("c", "ftp://x").is_err());
        assert!(check_url("c", "not a url").is_err());
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(0)));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn decode_errors_name_index_and_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            id: i64,
            name: String,
        }
        let err = decode_list::<Item>(
            "c",
            "GET /x",
            br#"[{"id":1,"name":"a"},{"id":"two","name":"b"}]"#,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("[1].id"), "{msg}");
        let err = decode_list::<Item>("c", "GET /x", br#"[{"id":1}]"#).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
        let err = decode_list::<Item>("c", "GET /x", br#"[{"id":1,"na"#).unwrap_err();
        assert!(matches!(err, ConnectorError::Malformed { .. }));
        assert!(err.to_string().contains("ends too early"), "{err}");
        let err = decode_list::<Item>("c", "GET /x", br#"{"error":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("expected a JSON array"), "{err}");
    }
}
