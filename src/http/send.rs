//! The one retry loop every request goes through: API calls, token requests and discovery
//! endpoints alike. It authenticates (refreshing a token once after a 401), waits for the
//! connection's request limit, retries transport errors and 5xx with jittered backoff, honours
//! `Retry-After` on 429, and gives up after [`RetryPolicy::max_elapsed`] in all.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use url::Url;

use super::{Auth, ConnectorError, RateLimit, RawResponse, RetryPolicy};

/// The server refused the credentials (401 or 403) and nothing more is to be tried.
#[derive(Debug)]
pub(crate) struct Refused {
    pub status: u16,
    /// A one-line excerpt of the body.
    pub detail: String,
}

/// What one exchange needs besides the request itself.
pub(crate) struct Exchange<'a> {
    pub connection: &'a str,
    pub http: &'a reqwest::Client,
    pub retry: &'a RetryPolicy,
    pub limit: Option<&'a RateLimit>,
    /// `None` for requests that carry no credentials (token endpoints, discovery).
    pub auth: Option<&'a dyn Auth>,
}

impl Exchange<'_> {
    /// Sends `method url`, with `build` adding query, headers and body to every attempt, until it
    /// succeeds, is refused, or fails for good. `Err` is final; `Ok(Err(refused))` leaves the
    /// wording of a refusal to the caller (an API call names the permission, a token request the
    /// credentials).
    pub async fn send(
        &self,
        method: &Method,
        url: &Url,
        build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Send + Sync),
    ) -> Result<Result<RawResponse, Refused>, ConnectorError> {
        let endpoint = format!("{method} {}", url.path());
        let mut refreshed = false;
        // Set for the one request right after a 401; retries after that reuse the fresh token.
        let mut force_refresh = false;
        let mut attempt = 0;
        let first = Instant::now();
        loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(auth) = self.auth {
                req = req.headers(
                    auth.headers(self.http, std::mem::take(&mut force_refresh))
                        .await?,
                );
                if let Some((name, key)) = auth.query() {
                    req = req.query(&[(name, key.expose_secret())]);
                }
            }
            let req = build(req);
            let permit = match self.limit {
                Some(l) => l.acquire().await,
                None => None,
            };
            let outcome =
                send_once(self.connection, &endpoint, url, req, self.retry, attempt).await?;
            drop(permit);
            match outcome {
                Outcome::Done(resp) => return Ok(Ok(resp)),
                Outcome::Unauthorized { status, .. }
                    if !refreshed && self.auth.is_some_and(|a| a.refreshable(status)) =>
                {
                    // A token can expire between fetching and using it: refresh once (after a
                    // 403 too, unless the auth says a 403 must not be sent again).
                    tracing::debug!(%endpoint, status, "unauthorized; refreshing the token once");
                    refreshed = true;
                    force_refresh = true;
                    attempt -= 1;
                }
                Outcome::Unauthorized { status, detail } => {
                    return Ok(Err(Refused { status, detail }));
                }
                Outcome::RetryAfter(delay, why) => {
                    wait_or_give_up(
                        self.connection,
                        self.retry,
                        &endpoint,
                        first,
                        attempt,
                        delay,
                        why,
                    )
                    .await?
                }
            }
        }
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
/// sleep and go again.
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
            // Not `e` itself: reqwest's message carries the whole URL, query (a key) and all.
            tracing::debug!(%endpoint, attempt, error = %transport_detail(&e), "request failed");
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
                url: url.origin().ascii_serialization(),
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
                format: "JSON",
                detail: format!("the body could not be read: {}", transport_detail(&e)),
            });
        }
    };
    tracing::debug!(%endpoint, status = status.as_u16(), attempt, ms = started.elapsed().as_millis() as u64, "response");
    if status.is_success() {
        return Ok(Outcome::Done(RawResponse {
            status: status.as_u16(),
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
pub(crate) fn error_detail(body: &[u8]) -> String {
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

    #[test]
    fn backoff_jitter_stays_between_half_and_the_whole_delay() {
        let d = Duration::from_millis(800);
        let seen: Vec<Duration> = (0..200).map(|_| jitter(d)).collect();
        assert!(seen.iter().all(|j| *j >= d / 2 && *j <= d), "{seen:?}");
        let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
        assert!(distinct.len() > 20, "jitter does not spread: {distinct:?}");
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
}
