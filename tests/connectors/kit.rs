//! The HTTP contract every connector keeps, written once: a refused key (401) and a missing
//! permission (403) are `Auth` errors that name the connection, the endpoint and the next step;
//! a 429 waits as `Retry-After` asks, a `Retry-After` longer than we wait is `RateLimited`; a 5xx
//! that clears is retried through, one that lasts gives up after the attempts allowed; a cut-off
//! body is `Malformed` and a record of the wrong shape is `Decode`, naming the endpoint and the
//! field. No secret ever shows in a message.
//!
//! A connector takes part with a [`Case`] (how to build it against the mock server, its
//! happy-path mocks, where the faults go and what its messages must say) and one line in its
//! test file: `contract_suite!(syncro_contract, SyncroCase);` (`…, oauth)` adds a client refused
//! at the token endpoint). Where a connector only answers differently, its case says so (a 401
//! tried once more with a fresh token or, for Autotask, a fresh zone; Sherweb's token endpoint
//! refusing with 400; HaloPSA naming the record beside the endpoint). Where it behaves
//! differently by design (Microsoft 365 skips a customer tenant that refuses it, Autotask
//! reports errors inside a 2xx), its own test file keeps that test.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reconcile::connectors::{Connector, SyncCx};
use reconcile::http::{ConnectorError, RetryPolicy};
use reconcile::model::Snapshot;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use crate::common::{fast_retry, fixture};

/// Attempts the suite allows one request (first try included).
const ATTEMPTS: u32 = 3;

/// A request of the connector's, as the suite faults and counts it: method and exact path, and
/// optionally query parameters and headers that single out one page or one account.
#[derive(Clone, Debug)]
pub struct Endpoint {
    method: &'static str,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl Endpoint {
    pub fn get(path: impl Into<String>) -> Endpoint {
        Endpoint::new("GET", path.into())
    }

    pub fn post(path: impl Into<String>) -> Endpoint {
        Endpoint::new("POST", path.into())
    }

    fn new(method: &'static str, path: String) -> Endpoint {
        Endpoint {
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Only the requests with this query parameter (one page of a chain).
    pub fn with_query(mut self, key: &str, value: &str) -> Endpoint {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Only the requests with this header (one account's requests).
    pub fn with_header(mut self, key: &str, value: &str) -> Endpoint {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// `GET /path`, as messages name an endpoint.
    pub fn named(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The same method and path, whatever the query and headers.
    fn whole(&self) -> Endpoint {
        Endpoint::new(self.method, self.path.clone())
    }

    fn mock(&self) -> MockBuilder {
        let mut m = Mock::given(method(self.method)).and(path(self.path.as_str()));
        for (k, v) in &self.query {
            m = m.and(query_param(k.as_str(), v.as_str()));
        }
        for (k, v) in &self.headers {
            m = m.and(header(k.as_str(), v.as_str()));
        }
        m
    }

    fn matches(&self, r: &Request) -> bool {
        r.method.as_str() == self.method
            && r.url.path() == self.path
            && self
                .query
                .iter()
                .all(|(k, v)| r.url.query_pairs().any(|(qk, qv)| qk == *k && qv == *v))
            && self.headers.iter().all(|(k, v)| {
                r.headers
                    .get(k.as_str())
                    .is_some_and(|h| h.as_bytes() == v.as_bytes())
            })
    }

    /// How many requests the server received for this endpoint.
    pub async fn hits(&self, server: &MockServer) -> usize {
        server
            .received_requests()
            .await
            .expect("request recording is on")
            .iter()
            .filter(|r| self.matches(r))
            .count()
    }

    /// Answers this endpoint with `response` ahead of the happy-path mocks: `times` times, or
    /// for good. Mounted first and at the highest priority, it wins over every mock a case
    /// mounts after it (wiremock prefers the earlier of two mocks of the same priority).
    async fn fault(&self, server: &MockServer, response: ResponseTemplate, times: Option<u64>) {
        let m = self.mock().respond_with(response).with_priority(1);
        match times {
            Some(n) => m.up_to_n_times(n).mount(server).await,
            None => m.mount(server).await,
        }
    }
}

/// How a refusal looks and what its message must say.
pub struct Refusal {
    /// A fixture with the vendor's own error body, where its text reaches the message; `None`
    /// answers with a generic one.
    pub body: Option<&'static str>,
    /// What the message must say besides the endpoint: the credentials to check, the
    /// permission, role or scope that is missing, the `reconcile connect …` command to run.
    pub says: &'static [&'static str],
    /// Requests the endpoint receives before the refusal is final: 1, or 2 where the connector
    /// tries once more with a fresh token (Autotask: with a fresh zone, after a 401).
    pub requests: usize,
}

impl Refusal {
    fn response(&self, status: u16) -> ResponseTemplate {
        let body = match self.body {
            Some(rel) => fixture(rel),
            None => format!(r#"{{"error": "refused with {status}"}}"#),
        };
        ResponseTemplate::new(status).set_body_raw(body, "application/json")
    }
}

/// A 200 body for [`Case::decoded`] with one record of the wrong shape, and where the error
/// must say the bad value is.
pub struct WrongShape {
    body: String,
    path: &'static str,
    detail: &'static str,
    record: Option<&'static str>,
}

impl WrongShape {
    /// `body` has a bad value at `path` (`[1].lastContact`), of which the error's detail says
    /// `detail` (`invalid type`, ``missing field `product` ``).
    pub fn new(body: impl Into<String>, path: &'static str, detail: &'static str) -> WrongShape {
        WrongShape {
            body: body.into(),
            path,
            detail,
            record: None,
        }
    }

    /// The connector names the record beside the endpoint
    /// (`GET /api/RecurringInvoice (invoice -94)`).
    #[allow(
        dead_code,
        reason = "HaloPSA, which named its invoice so, now reads records tolerantly; kept for a connector that nests records"
    )]
    pub fn of_record(mut self, record: &'static str) -> WrongShape {
        self.record = Some(record);
        self
    }
}

/// What the contract suite needs to know about one connector.
pub trait Case {
    /// The connection name the connector is built with; every message names it.
    const CONNECTION: &'static str;
    /// The secrets it is built with; no message may show one.
    const SECRETS: &'static [&'static str];
    /// A 401 at [`Case::endpoint`]: which credentials to check, where to make new ones.
    const UNAUTHORIZED: Refusal;
    /// A 403 at [`Case::endpoint`]: the permission, role or scope that is missing.
    const FORBIDDEN: Refusal;
    /// A fixture with a cut-off answer of [`Case::decoded`]; `None` serves a generic one.
    const CUT_OFF: Option<&'static str> = None;
    /// The format the API answers in (`JSON`, or `XML` for N-sight), and what the message for
    /// a cut-off body says of it.
    const FORMAT: &'static str = "JSON";
    const CUT_OFF_SAYS: &'static [&'static str] = &["ends too early", "run the command again"];

    /// The connector, built against `server` with `retry`.
    fn connector(server: &MockServer, retry: RetryPolicy) -> Box<dyn Connector>;

    /// Mocks that answer a whole sync (and `check`) from the fixtures.
    async fn mount(server: &MockServer);

    /// A request both `check` and `sync` make: refusals, a long `Retry-After` and a lasting 5xx
    /// are injected here.
    fn endpoint() -> Endpoint;

    /// A request of the sync (best a page in the middle of a chain) where a 429 and a 5xx that
    /// clear are injected: the same request must be sent again, nothing else.
    fn transient() -> Endpoint {
        Self::endpoint()
    }

    /// A list the sync decodes: a cut-off body and a record of the wrong shape are served here.
    fn decoded() -> Endpoint {
        Self::endpoint()
    }

    /// A record of the wrong shape for [`Case::decoded`].
    fn wrong_shape() -> WrongShape;

    /// The token endpoint of an OAuth connector (or what stands for it, Autotask's zone
    /// lookup): a refusal costs one fresh token a try, a retry none.
    fn token() -> Option<Endpoint> {
        None
    }

    /// What a successful sync read, compared between a clean sync and one that met a fault.
    fn measure(snap: &Snapshot) -> BTreeMap<String, usize> {
        let mut m = snap.counts();
        if let Snapshot::Vendor(v) = snap {
            m.insert("unreadable accounts".into(), v.unreadable.len());
        }
        m
    }
}

async fn sync<C: Case>(server: &MockServer) -> Result<Snapshot, ConnectorError> {
    C::connector(server, fast_retry(ATTEMPTS))
        .sync(&SyncCx::silent())
        .await
}

async fn sync_err<C: Case>(server: &MockServer) -> ConnectorError {
    sync::<C>(server)
        .await
        .expect_err("the sync must fail with the fault in place")
}

/// The message names the connection, says what `endpoint` did (`GET /path rejected the
/// credentials`), says every one of `needles`, and shows no secret (in its text or its debug
/// form).
fn says<C: Case>(err: &ConnectorError, endpoint: &Endpoint, did: &str, needles: &[&str]) {
    let msg = err.to_string();
    let connection = format!("connection `{}`: ", C::CONNECTION);
    let what = format!("{} {did}", endpoint.named());
    for needle in [connection.as_str(), what.as_str()]
        .into_iter()
        .chain(needles.iter().copied())
    {
        assert!(msg.contains(needle), "missing `{needle}` in: {msg}");
    }
    let debug = format!("{err:?}");
    for secret in C::SECRETS {
        assert!(!msg.contains(secret), "a secret shows in: {msg}");
        assert!(!debug.contains(secret), "a secret shows in: {debug}");
    }
}

/// What a sync read and the requests it sent: to the faulted endpoint, to its whole path, and
/// for tokens.
#[derive(Debug, PartialEq)]
struct Seen {
    read: BTreeMap<String, usize>,
    hits: usize,
    path_hits: usize,
    tokens: usize,
}

async fn seen<C: Case>(server: &MockServer, at: &Endpoint, snap: &Snapshot) -> Seen {
    let tokens = match C::token() {
        Some(t) => t.hits(server).await,
        None => 0,
    };
    Seen {
        read: C::measure(snap),
        hits: at.hits(server).await,
        path_hits: at.whole().hits(server).await,
        tokens,
    }
}

/// A sync on a fresh server with nothing faulted.
async fn clean_sync<C: Case>(at: &Endpoint) -> Seen {
    let server = MockServer::start().await;
    C::mount(&server).await;
    let snap = sync::<C>(&server).await.expect("a clean sync succeeds");
    let clean = seen::<C>(&server, at, &snap).await;
    assert!(
        clean.read.values().any(|n| *n > 0),
        "the clean sync read nothing: {clean:?}"
    );
    assert!(clean.hits > 0, "a clean sync never sends {}", at.named());
    clean
}

/// After one fault that cleared: the same records as a clean sync, the faulted request sent
/// once more, nothing else sent again and no new token.
async fn same_as_clean<C: Case>(server: &MockServer, at: &Endpoint, snap: &Snapshot, clean: Seen) {
    let got = seen::<C>(server, at, snap).await;
    assert_eq!(got.read, clean.read, "the same records as a clean sync");
    assert_eq!(got.hits, clean.hits + 1, "{} is sent once more", at.named());
    assert_eq!(
        got.path_hits,
        clean.path_hits + 1,
        "only the failed request is sent again"
    );
    assert_eq!(got.tokens, clean.tokens, "a retry needs no new token");
}

/// A 401 or 403 at [`Case::endpoint`] fails `sync` and `check` alike with an `Auth` error that
/// names the endpoint and what to do, after at most one fresh try.
pub async fn refused<C: Case>(status: u16) {
    let refusal = match status {
        401 => C::UNAUTHORIZED,
        _ => C::FORBIDDEN,
    };
    refused_at::<C>(&C::endpoint(), status, &refusal).await;
}

/// `at` answers `status` for good: `sync` and `check` fail with an `Auth` error naming `at`.
async fn refused_at<C: Case>(at: &Endpoint, status: u16, refusal: &Refusal) {
    let server = MockServer::start().await;
    at.fault(&server, refusal.response(status), None).await;
    C::mount(&server).await;
    let http = format!("(HTTP {status}");
    let mut needles = vec![http.as_str()];
    needles.extend_from_slice(refusal.says);

    let err = sync_err::<C>(&server).await;
    assert!(
        matches!(&err, ConnectorError::Auth { status: s, .. } if *s == status),
        "{err:?}"
    );
    assert!(err.is_auth());
    says::<C>(&err, at, "rejected the credentials", &needles);
    assert_eq!(
        at.hits(&server).await,
        refusal.requests,
        "refused credentials are not retried (beyond one fresh token)"
    );
    match C::token() {
        // A refused API request: one token a try.
        Some(token) if token.named() != at.named() => {
            assert_eq!(
                token.hits(&server).await,
                refusal.requests,
                "one token a try"
            );
        }
        // A refused client: nothing is asked of the API without a token.
        Some(_) => assert_eq!(C::endpoint().hits(&server).await, 0),
        None => {}
    }

    // `check` (what `connect` runs) says the same.
    let err = C::connector(&server, fast_retry(ATTEMPTS))
        .check()
        .await
        .expect_err("check must fail with the fault in place");
    assert!(
        matches!(&err, ConnectorError::Auth { status: s, .. } if *s == status),
        "{err:?}"
    );
    says::<C>(&err, at, "rejected the credentials", &needles);
}

/// A 429 with `Retry-After: 1` at [`Case::transient`] is waited out; the sync then reads what a
/// clean one reads, sending the refused request once more and nothing else again.
pub async fn rate_limited_then_served<C: Case>() {
    let at = C::transient();
    let clean = clean_sync::<C>(&at).await;
    let server = MockServer::start().await;
    let wait = ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .set_body_string("Too Many Requests");
    at.fault(&server, wait, Some(1)).await;
    C::mount(&server).await;
    let started = Instant::now();
    let snap = sync::<C>(&server)
        .await
        .expect("the sync succeeds after the wait");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured: {waited:?}"
    );
    same_as_clean::<C>(&server, &at, &snap, clean).await;
}

/// A `Retry-After` longer than the policy waits is a `RateLimited` error at once.
pub async fn rate_limited_too_long<C: Case>() {
    let at = C::endpoint();
    let server = MockServer::start().await;
    let wait = ResponseTemplate::new(429).insert_header("Retry-After", "3600");
    at.fault(&server, wait, None).await;
    C::mount(&server).await;
    let err = sync_err::<C>(&server).await;
    assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err:?}");
    says::<C>(
        &err,
        &at,
        "is rate limiting (HTTP 429)",
        &[
            "asks to wait 3600s",
            "Wait a few minutes and run the command again",
        ],
    );
    assert_eq!(at.hits(&server).await, 1, "no second try after such a wait");
}

/// A 500 at [`Case::transient`] that clears is retried; the sync reads what a clean one reads.
pub async fn server_error_then_served<C: Case>() {
    let at = C::transient();
    let clean = clean_sync::<C>(&at).await;
    let server = MockServer::start().await;
    let blip = ResponseTemplate::new(500).set_body_string("Internal Server Error");
    at.fault(&server, blip, Some(1)).await;
    C::mount(&server).await;
    let snap = sync::<C>(&server)
        .await
        .expect("the sync succeeds after a retry");
    same_as_clean::<C>(&server, &at, &snap, clean).await;
}

/// A 503 that lasts fails the sync after exactly the attempts allowed, quoting the body.
pub async fn server_error_lasting<C: Case>() {
    let at = C::endpoint();
    let server = MockServer::start().await;
    let down = ResponseTemplate::new(503).set_body_string("down for maintenance");
    at.fault(&server, down, None).await;
    C::mount(&server).await;
    let err = sync_err::<C>(&server).await;
    assert!(
        matches!(err, ConnectorError::Http { status: 503, .. }),
        "{err:?}"
    );
    let gave_up = format!("answered HTTP 503 after {ATTEMPTS} attempts");
    says::<C>(
        &err,
        &at,
        &gave_up,
        &["down for maintenance", "try again later"],
    );
    assert_eq!(at.hits(&server).await, ATTEMPTS as usize);
}

/// A body cut off in the middle is `Malformed`, naming the endpoint; nothing is saved.
pub async fn cut_off_body<C: Case>() {
    let at = C::decoded();
    let server = MockServer::start().await;
    let cut = match C::CUT_OFF {
        // Cut off means no final newline either (fixture files end with one).
        Some(rel) => fixture(rel).trim_end().to_string(),
        None => r#"{"items": [{"id": 1, "name": "cut off in the middle"#.to_string(),
    };
    let body = ResponseTemplate::new(200).set_body_raw(cut, "application/json");
    at.fault(&server, body, None).await;
    C::mount(&server).await;
    let err = sync_err::<C>(&server).await;
    assert!(matches!(err, ConnectorError::Malformed { .. }), "{err:?}");
    let did = format!("returned a body that is not valid {}", C::FORMAT);
    says::<C>(&err, &at, &did, C::CUT_OFF_SAYS);
}

/// A record of the wrong shape is `Decode`, naming the endpoint, the record and the field.
pub async fn wrong_shape<C: Case>() {
    let at = C::decoded();
    let shape = C::wrong_shape();
    let server = MockServer::start().await;
    let body = ResponseTemplate::new(200).set_body_raw(shape.body, "application/json");
    at.fault(&server, body, None).await;
    C::mount(&server).await;
    let err = sync_err::<C>(&server).await;
    let ConnectorError::Decode {
        connection,
        endpoint,
        path,
        detail,
    } = &err
    else {
        panic!("expected a decode error, got {err:?}")
    };
    let named = match shape.record {
        Some(record) => format!("{} ({record})", at.named()),
        None => at.named(),
    };
    assert_eq!(connection, C::CONNECTION);
    assert_eq!(*endpoint, named);
    assert_eq!(path, shape.path);
    assert!(detail.contains(shape.detail), "{detail}");
    let what = format!("{named} returned a record this version cannot read: at `{path}`");
    says::<C>(&err, &at, "", &[what.as_str(), "Nothing was saved"]);
}

/// An OAuth connector: its token endpoint ([`Case::token`]) can refuse the client.
pub trait OAuthCase: Case {
    /// The token endpoint's answer to a refused client: NinjaOne, HaloPSA and Microsoft 365
    /// answer 401, Sherweb 400.
    const REFUSED_CLIENT_STATUS: u16 = 401;
    /// The identity provider's own body (its error code reaches the message), what the message
    /// must say; a refused client is asked once.
    const REFUSED_CLIENT: Refusal;
}

/// A refused client fails `sync` and `check` with an `Auth` error naming the token endpoint,
/// after one token request and before any API request.
pub async fn refused_token<C: OAuthCase>() {
    let token = C::token().expect("an OAuth case names its token endpoint");
    refused_at::<C>(&token, C::REFUSED_CLIENT_STATUS, &C::REFUSED_CLIENT).await;
}

/// The contract suite for one connector: `contract_suite!(syncro_contract, SyncroCase);` makes a
/// module of tests, one a fault, run against `SyncroCase`; `contract_suite!(…, oauth)` adds the
/// refused token request of an [`OAuthCase`].
macro_rules! contract_suite {
    ($suite:ident, $case:ty, oauth) => {
        $crate::kit::contract_suite!($suite, $case, {
            #[tokio::test]
            async fn a_refused_client_names_the_token_endpoint() {
                $crate::kit::refused_token::<$case>().await;
            }
        });
    };
    ($suite:ident, $case:ty) => {
        $crate::kit::contract_suite!($suite, $case, {});
    };
    ($suite:ident, $case:ty, { $($extra:item)* }) => {
        mod $suite {
            use super::*;

            $($extra)*

            #[tokio::test]
            async fn a_401_names_the_endpoint_and_the_next_step() {
                $crate::kit::refused::<$case>(401).await;
            }

            #[tokio::test]
            async fn a_403_names_the_missing_permission() {
                $crate::kit::refused::<$case>(403).await;
            }

            #[tokio::test]
            async fn a_429_waits_as_retry_after_asks() {
                $crate::kit::rate_limited_then_served::<$case>().await;
            }

            #[tokio::test]
            async fn a_retry_after_longer_than_we_wait_is_a_clear_error() {
                $crate::kit::rate_limited_too_long::<$case>().await;
            }

            #[tokio::test]
            async fn a_5xx_that_clears_is_retried_through() {
                $crate::kit::server_error_then_served::<$case>().await;
            }

            #[tokio::test]
            async fn a_5xx_that_lasts_gives_up_after_the_attempts_allowed() {
                $crate::kit::server_error_lasting::<$case>().await;
            }

            #[tokio::test]
            async fn a_cut_off_body_is_malformed() {
                $crate::kit::cut_off_body::<$case>().await;
            }

            #[tokio::test]
            async fn a_wrong_shape_names_the_field() {
                $crate::kit::wrong_shape::<$case>().await;
            }
        }
    };
}

pub(crate) use contract_suite;
