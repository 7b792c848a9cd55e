//! Shared HTTP for every connector: one client builder (rustls, timeouts, a redirect policy that
//! keeps HTTPS), the authentication providers and their one token cache (`auth`: [`OAuth2`],
//! [`StaticHeaders`]), the one retry loop (`send`, behind [`HttpClient::send`]), path-aware JSON
//! decoding (`decode`) and the one pager for every paging style the APIs use (`paging`:
//! [`Paging`], [`Pages`]), an API's own token exchange ([`TokenExchange`]), the BMS family's
//! login ([`BmsLogin`]), JSON-RPC 2.0 calls and paged lists ([`JsonRpc`]), and XML answers read
//! as JSON values (`xml`). Connectors describe requests; this module sends them and turns
//! failures into [`ConnectorError`]s that name the connection, the endpoint and what to do.

mod auth;
mod decode;
mod envelope;
mod error;
mod exchange;
mod jsonrpc;
mod limit;
mod login;
mod paging;
mod send;
mod visa;
mod xml;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

pub use auth::{Auth, NoAuth, OAuth2, QueryKey, RefreshToken, StaticHeaders};
pub use decode::{
    Oddities, Read, Tolerant, decode_elements, decode_list, decode_one, decode_tolerant,
    decode_value, kind_of, parse_json, take_list,
};
pub use envelope::{Enveloped, camel_members};
pub use error::ConnectorError;
pub use exchange::TokenExchange;
pub use jsonrpc::JsonRpc;
pub use limit::RateLimit;
pub use login::BmsLogin;
pub use paging::{End, Link, NextLink, Page, Pages, Paging, Param, Transport};
pub use visa::VisaRpc;
pub use xml::{list_at, parse_xml};

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
    /// The HTTP status (a 2xx: anything else is an error).
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// `GET /v2/devices`: the method and path, for messages.
    pub endpoint: String,
}

/// One request as a connector describes it; [`HttpClient::send`] sends it (again, on retries).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Relative to the client's base URL; may carry a query string (`a/b?x=1`).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// A JSON body (sent with `Content-Type: application/json`).
    pub body: Option<Value>,
    /// Whether the request may be sent again after a timeout, a transport error or a 5xx. A
    /// write that is not idempotent (an Autotask adjustment adds units each time it lands) is
    /// sent once: after such a failure only a fresh read can tell whether it landed.
    pub repeatable: bool,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            repeatable: true,
        }
    }

    /// A write to the PSA: `method path` with a JSON body. `repeatable` says whether sending it
    /// twice leaves the same state as sending it once (an absolute PATCH or PUT does; an
    /// adjustment that adds a delta does not, and is then sent exactly once: see
    /// [`Request::repeatable`]).
    pub fn write(
        method: Method,
        path: impl Into<String>,
        body: Value,
        repeatable: bool,
    ) -> Request {
        Request {
            method,
            body: Some(body),
            repeatable,
            ..Request::get(path)
        }
    }

    /// A POST of `body` as JSON. Retried like a GET, so only for requests that are safe to
    /// repeat (queries and command-style reads).
    pub fn post(path: impl Into<String>, body: Value) -> Request {
        Request {
            method: Method::POST,
            body: Some(body),
            ..Request::get(path)
        }
    }

    pub fn query(mut self, name: &str, value: impl ToString) -> Request {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    pub fn queries(mut self, pairs: &[(&str, String)]) -> Request {
        self.query
            .extend(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())));
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Request {
        self.headers.insert(name, value);
        self
    }
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
#[allow(
    clippy::disallowed_methods,
    reason = "the one place HTTP clients are built"
)]
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
    /// `base` must already have passed [`check_url`]; paths are joined onto it. The
    /// connection's `concurrency` (in `retry`) caps the requests in flight.
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

    /// Sends `req`, authenticated, through the one retry loop (`http/send.rs`). A refusal (401 or
    /// 403, after one token refresh where the auth has one) is [`ConnectorError::Auth`] with
    /// the auth's hint for that status.
    pub async fn send(&self, req: &Request) -> Result<RawResponse, ConnectorError> {
        let url = self.url_for(&req.path);
        // A write that must not land twice gets one attempt; a 401 still renews the token
        // first, since a refused request did nothing.
        let once = RetryPolicy {
            max_attempts: 1,
            ..self.retry.clone()
        };
        let exchange = send::Exchange {
            connection: &self.connection,
            http: &self.inner,
            retry: if req.repeatable { &self.retry } else { &once },
            limit: self.limit.as_deref(),
            auth: Some(self.auth.as_ref()),
        };
        let build = |r: reqwest::RequestBuilder| {
            let r = r.headers(req.headers.clone()).query(&req.query);
            match &req.body {
                Some(b) => r.json(b),
                None => r,
            }
        };
        match exchange.send(&req.method, &url, &build).await? {
            Ok(resp) => Ok(resp),
            Err(refused) => Err(ConnectorError::Auth {
                connection: self.connection.clone(),
                endpoint: format!("{} {}", req.method, url.path()),
                status: refused.status,
                detail: format!(": {}", refused.detail),
                hint: self.auth.hint(refused.status),
            }),
        }
    }

    /// GET `path` with `query`.
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<RawResponse, ConnectorError> {
        self.send(&Request::get(path).queries(query)).await
    }

    /// [`HttpClient::get`] with extra request headers (Partner Center's `MS-ContinuationToken`).
    pub async fn get_with_headers(
        &self,
        path: &str,
        query: &[(&str, String)],
        extra: &HeaderMap,
    ) -> Result<RawResponse, ConnectorError> {
        let mut req = Request::get(path).queries(query);
        req.headers = extra.clone();
        self.send(&req).await
    }

    /// POST `body` as JSON to `path` (see [`Request::post`]).
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<RawResponse, ConnectorError> {
        self.send(&Request::post(path, body.clone())).await
    }

    /// GET a JSON array and decode its elements tolerantly ([`decode_tolerant`]: an odd field
    /// is unknown, a record without what attributes it is left out), keeping each element's raw
    /// JSON. What `connect` checks with: a record the spec allows must not refuse credentials.
    pub async fn get_list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(Vec<(T, String)>, HeaderMap), ConnectorError> {
        let resp = self.get(path, query).await?;
        let mut body = parse_json(&self.connection, &resp.endpoint, &resp.body)?;
        let elements = take_list(&self.connection, &resp.endpoint, &mut body, "", false)?;
        let items = decode_tolerant::<T>("", 0, elements)
            .records
            .into_iter()
            .map(|r| (r.value, r.raw))
            .collect();
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

/// Sends a request that carries no credentials (token endpoints, discovery) through the same
/// retry loop. `Ok(Err((status, body excerpt)))` is a 401 or 403, worded by the caller.
pub async fn send_unauthenticated(
    connection: &str,
    client: &reqwest::Client,
    method: Method,
    url: &Url,
    build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Send + Sync,
    retry: &RetryPolicy,
) -> Result<Result<RawResponse, (u16, String)>, ConnectorError> {
    let exchange = send::Exchange {
        connection,
        http: client,
        retry,
        limit: None,
        auth: None,
    };
    Ok(exchange
        .send(&method, url, &build)
        .await?
        .map_err(|r| (r.status, r.detail)))
}

/// `GET url` on a discovery endpoint (Autotask's zone lookup, HaloPSA's `authinfo`, ConnectWise's
/// `companyinfo`): no credentials, the same retry loop. Such an endpoint has no credentials to
/// refuse, so its 401 or 403 is an [`ConnectorError::Http`] whose `hint` says what to check
/// instead (the address the connection was given).
pub async fn get_discovery(
    connection: &str,
    url: &Url,
    retry: &RetryPolicy,
    hint: &str,
) -> Result<RawResponse, ConnectorError> {
    let client = build_reqwest(retry.timeout);
    match send_unauthenticated(connection, &client, Method::GET, url, |r| r, retry).await? {
        Ok(resp) => Ok(resp),
        Err((status, snippet)) => Err(ConnectorError::Http {
            connection: connection.into(),
            endpoint: format!("GET {}", url.path()),
            status,
            attempts: String::new(),
            snippet,
            hint: hint.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
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
}
