//! The login of Kaseya BMS API v2 and its family (Pulseway PSA, CloudBlue PSA): a user name,
//! password and tenant posted as a form to `POST /v2/security/authenticate`, answered in the
//! family's envelope `{success, error: {message}, result: {accessToken, accessTokenExpireOn}}`
//! (camelCase on the wire, PascalCase in the published spec: member names are matched without
//! case). The access token then goes in `Authorization: Bearer` on every request.
//!
//! The token is cached and renewed a minute before `accessTokenExpireOn` (an instant, not a
//! lifetime; an hour when it is missing or unreadable) by logging in again, and once after the
//! API answers 401. The refresh token is not used: a login costs the same one request. A 403 is
//! a security role the user lacks, never retried. An answer with `success: false` is a refused
//! login whatever its HTTP status, with the envelope's message.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::auth::OwnLogin;
use super::{Auth, ConnectorError, RetryPolicy, parse_json, send_unauthenticated};

/// The lifetime assumed when the answer gives no readable expiry.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// See the module header.
pub struct BmsLogin {
    login: OwnLogin,
    user: String,
    password: SecretString,
    tenant: String,
}

/// An RFC 3339 instant, or a date-time without an offset (UTC), as BMS writes them.
fn instant(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok().or_else(|| {
        let dt = s.parse::<jiff::civil::DateTime>().ok()?;
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })
}

/// The member `name` of an object, its case ignored.
fn member<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The envelope's error message, if it has one.
fn error_message(body: &Value) -> Option<String> {
    let e = member(body, "error")?;
    let m = member(e, "message").and_then(Value::as_str)?;
    Some(m.trim().to_string()).filter(|m| !m.is_empty())
}

impl BmsLogin {
    /// `hint` is shown when the login is refused, `forbidden` on a 403 from the API.
    #[allow(clippy::too_many_arguments, reason = "one login's fields, each needed")]
    pub fn new(
        connection: &str,
        url: Url,
        user: &str,
        password: SecretString,
        tenant: &str,
        retry: RetryPolicy,
        hint: String,
        forbidden: String,
    ) -> BmsLogin {
        BmsLogin {
            login: OwnLogin::new(connection, url, retry, hint, forbidden),
            user: user.into(),
            password,
            tenant: tenant.into(),
        }
    }

    async fn log_in(
        &self,
        http: &reqwest::Client,
    ) -> Result<(SecretString, Duration), ConnectorError> {
        let login = &self.login;
        let endpoint = login.endpoint();
        let resp = send_unauthenticated(
            &login.connection,
            http,
            Method::POST,
            &login.url,
            |r| {
                r.form(&[
                    ("grantType", "password"),
                    ("userName", self.user.as_str()),
                    ("password", self.password.expose_secret()),
                    ("tenant", self.tenant.as_str()),
                ])
            },
            &login.retry,
        )
        .await?
        .map_err(|(status, detail)| login.refused(status, &detail))?;
        let body = parse_json(&login.connection, &endpoint, &resp.body)?;
        if member(&body, "success").and_then(Value::as_bool) == Some(false) {
            let message = error_message(&body).unwrap_or_else(|| "success: false".into());
            return Err(login.refused(resp.status, &message));
        }
        let result = member(&body, "result");
        let token = result
            .and_then(|r| member(r, "accessToken"))
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ConnectorError::Decode {
                connection: login.connection.clone(),
                endpoint: endpoint.clone(),
                path: "result.accessToken".into(),
                detail: "the login answered no access token".into(),
            })?;
        let lifetime = result
            .and_then(|r| member(r, "accessTokenExpireOn"))
            .and_then(Value::as_str)
            .and_then(|t| instant(t.trim()))
            .map(|at| {
                let left = at.as_second() - Timestamp::now().as_second();
                Duration::from_secs(left.max(0) as u64)
            })
            .unwrap_or(DEFAULT_LIFETIME);
        Ok((SecretString::from(token.trim().to_string()), lifetime))
    }
}

#[async_trait]
impl Auth for BmsLogin {
    async fn headers(
        &self,
        http: &reqwest::Client,
        force_refresh: bool,
    ) -> Result<HeaderMap, ConnectorError> {
        self.login
            .headers(force_refresh, || self.log_in(http))
            .await
    }

    fn refreshable(&self, status: u16) -> bool {
        status == 401
    }

    fn hint(&self, status: u16) -> String {
        self.login.hint(status)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::{HeaderMap as AxumHeaders, StatusCode};

    use super::*;
    use crate::http::HttpClient;

    /// A BMS-shaped server: `POST /v2/security/authenticate` grants `acc-1`, `acc-2`, ...
    /// expiring `expiry` seconds from now to `ann` / `pw` on tenant `acme` (camelCase members,
    /// or PascalCase when `pascal`), and refuses anything else with `success: false` and HTTP
    /// 200; `GET /v2/crm/accounts` answers 401 to any token but the latest; `GET /v2/forbidden`
    /// 403. Counts: [logins, account requests, forbidden requests].
    async fn server(expiry: i64, pascal: bool) -> (Url, Arc<[AtomicUsize; 3]>) {
        use axum::routing::{get, post};
        let hits: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
        let (a, d, f) = (hits.clone(), hits.clone(), hits.clone());
        let app = axum::Router::new()
            .route(
                "/v2/security/authenticate",
                post(move |headers: AxumHeaders, body: String| async move {
                    let form: HashMap<String, String> =
                        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                    let is_form = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
                    let ok = is_form
                        && form.get("grantType").map(String::as_str) == Some("password")
                        && form.get("userName").map(String::as_str) == Some("ann")
                        && form.get("password").map(String::as_str) == Some("pw")
                        && form.get("tenant").map(String::as_str) == Some("acme");
                    if !ok {
                        return (
                            StatusCode::OK,
                            r#"{"success":false,"error":{"code":401,"message":"Invalid user name, password or tenant"},"result":null}"#.to_string(),
                        );
                    }
                    let n = a[0].fetch_add(1, Ordering::SeqCst) + 1;
                    let at = Timestamp::now() + jiff::SignedDuration::from_secs(expiry);
                    let body = format!(
                        r#"{{"success":true,"error":null,"result":{{"accessToken":"acc-{n}","refreshToken":"ref-{n}","accessTokenExpireOn":"{at}","refreshTokenExpireOn":"{at}"}}}}"#
                    );
                    let body = if pascal {
                        body.replace("success", "Success")
                            .replace("result", "Result")
                            .replace("accessToken", "AccessToken")
                    } else {
                        body
                    };
                    (StatusCode::OK, body)
                }),
            )
            .route(
                "/v2/crm/accounts",
                get(move |headers: AxumHeaders| async move {
                    d[1].fetch_add(1, Ordering::SeqCst);
                    let latest = format!("Bearer acc-{}", d[0].load(Ordering::SeqCst));
                    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if bearer == Some(latest.as_str()) {
                        (StatusCode::OK, r#"{"success":true,"result":[]}"#)
                    } else {
                        (StatusCode::UNAUTHORIZED, r#"{"success":false,"error":{"message":"expired"}}"#)
                    }
                }),
            )
            .route(
                "/v2/forbidden",
                get(move || async move {
                    f[2].fetch_add(1, Ordering::SeqCst);
                    (StatusCode::FORBIDDEN, r#"{"success":false,"error":{"message":"denied"}}"#)
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, hits)
    }

    fn client(base: &Url, password: &str) -> HttpClient {
        let auth = BmsLogin::new(
            "bms",
            base.join("v2/security/authenticate").unwrap(),
            "ann",
            SecretString::from(password),
            "acme",
            RetryPolicy::default(),
            "check the API user's name, password and tenant".into(),
            "the API user's security role lacks a read".into(),
        );
        HttpClient::new("bms", base.clone(), Arc::new(auth), RetryPolicy::default())
    }

    #[tokio::test]
    async fn one_login_serves_until_its_expiry_in_either_case_of_member_names() {
        for pascal in [false, true] {
            let (base, hits) = server(3600, pascal).await;
            let c = client(&base, "pw");
            c.get("v2/crm/accounts", &[]).await.unwrap();
            c.get("v2/crm/accounts", &[]).await.unwrap();
            assert_eq!(
                hits[0].load(Ordering::SeqCst),
                1,
                "one login (pascal: {pascal})"
            );
            assert_eq!(hits[1].load(Ordering::SeqCst), 2);
        }
        // An expiry inside the minute of margin: every request logs in first.
        let (base, hits) = server(30, false).await;
        let c = client(&base, "pw");
        c.get("v2/crm/accounts", &[]).await.unwrap();
        c.get("v2/crm/accounts", &[]).await.unwrap();
        assert_eq!(hits[0].load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_401_logs_in_once_more_and_a_403_is_not_sent_again() {
        let (base, hits) = server(3600, false).await;
        let c = client(&base, "pw");
        c.get("v2/crm/accounts", &[]).await.unwrap();
        client(&base, "pw")
            .get("v2/crm/accounts", &[])
            .await
            .unwrap();
        c.get("v2/crm/accounts", &[]).await.unwrap();
        assert_eq!(hits[0].load(Ordering::SeqCst), 3);
        let err = c.get("v2/forbidden", &[]).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Auth { status: 403, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("security role lacks a read"),
            "{err}"
        );
        assert_eq!(hits[2].load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_login_with_http_200_names_the_message_and_never_the_password() {
        let (base, hits) = server(3600, false).await;
        let err = client(&base, "not-the-password")
            .get("v2/crm/accounts", &[])
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(err.is_auth(), "{msg}");
        for needle in [
            "POST /v2/security/authenticate",
            "Invalid user name, password or tenant",
            "check the API user's name, password and tenant",
        ] {
            assert!(msg.contains(needle), "missing `{needle}` in {msg}");
        }
        assert!(
            !msg.contains("not-the-password") && !format!("{err:?}").contains("not-the-password")
        );
        assert_eq!(
            hits[1].load(Ordering::SeqCst),
            0,
            "no API request without a token"
        );
    }
}
