//! A long-lived API credential exchanged for short-lived access tokens at the API's own
//! endpoint, outside OAuth2. N-central: `POST /api/auth/authenticate` with `Authorization:
//! Bearer <User-API Token>` (a JWT generated for an API user) and no body answers
//! `{"tokens": {"access": {"token", "type", "expirySeconds"}, "refresh": {...}}}`; the access
//! token then goes in `Authorization: Bearer` on every request.
//!
//! The access token is cached and renewed a minute before `expirySeconds` (one hour by default)
//! by authenticating again, and once after the API answers 401. The refresh token is not used:
//! the User-API Token outlives any refresh token, and one more `authenticate` costs the same
//! request as a refresh. A 403 is a role or access group the API user lacks, never retried.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::auth::OwnLogin;
use super::{Auth, ConnectorError, RetryPolicy, decode_one, send_unauthenticated};

/// See the module header.
pub struct TokenExchange {
    login: OwnLogin,
    credential: SecretString,
}

#[derive(Deserialize)]
struct Authenticated {
    tokens: Tokens,
}

#[derive(Deserialize)]
struct Tokens {
    access: AccessToken,
}

#[derive(Deserialize)]
struct AccessToken {
    token: String,
    #[serde(rename = "expirySeconds", default)]
    expiry_seconds: Option<u64>,
}

impl TokenExchange {
    /// `hint` is shown when the credential is refused, `forbidden` on a 403 from the API.
    pub fn new(
        connection: &str,
        url: Url,
        credential: SecretString,
        retry: RetryPolicy,
        hint: String,
        forbidden: String,
    ) -> TokenExchange {
        TokenExchange {
            login: OwnLogin::new(connection, url, retry, hint, forbidden),
            credential,
        }
    }

    async fn authenticate(
        &self,
        http: &reqwest::Client,
    ) -> Result<(SecretString, Duration), ConnectorError> {
        let login = &self.login;
        let resp = send_unauthenticated(
            &login.connection,
            http,
            Method::POST,
            &login.url,
            |r| r.bearer_auth(self.credential.expose_secret()),
            &login.retry,
        )
        .await?
        .map_err(|(status, detail)| login.refused(status, &detail))?;
        let answer: Authenticated = decode_one(&login.connection, &login.endpoint(), &resp.body)?;
        let lifetime = Duration::from_secs(answer.tokens.access.expiry_seconds.unwrap_or(3600));
        Ok((SecretString::from(answer.tokens.access.token), lifetime))
    }
}

#[async_trait]
impl Auth for TokenExchange {
    async fn headers(
        &self,
        http: &reqwest::Client,
        force_refresh: bool,
    ) -> Result<HeaderMap, ConnectorError> {
        self.login
            .headers(force_refresh, || self.authenticate(http))
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::{HeaderMap as AxumHeaders, StatusCode};

    use super::*;
    use crate::http::HttpClient;

    /// An N-central-shaped server: `POST /api/auth/authenticate` grants access tokens
    /// `acc-1`, `acc-2`, ... (valid for `expiry` seconds) to `Bearer user-jwt` with no body;
    /// `GET /api/devices` answers 401 to any token but the latest, `GET /api/forbidden` 403.
    /// Counts: [authentications, device requests, forbidden requests].
    async fn server(expiry: u64) -> (Url, Arc<[AtomicUsize; 3]>) {
        use axum::routing::{get, post};
        let hits: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
        let (a, d, f) = (hits.clone(), hits.clone(), hits.clone());
        let app = axum::Router::new()
            .route(
                "/api/auth/authenticate",
                post(move |headers: AxumHeaders, body: String| async move {
                    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if bearer != Some("Bearer user-jwt") || !body.is_empty() {
                        return (
                            StatusCode::UNAUTHORIZED,
                            r#"{"status":401,"message":"Invalid token"}"#.to_string(),
                        );
                    }
                    let n = a[0].fetch_add(1, Ordering::SeqCst) + 1;
                    (
                        StatusCode::OK,
                        format!(
                            r#"{{"tokens":{{"access":{{"token":"acc-{n}","type":"Bearer","expirySeconds":{expiry}}},"refresh":{{"token":"ref-{n}","type":"Body","expirySeconds":90000}}}},"refresh":"/api/auth/refresh","validate":"/api/auth/validate"}}"#
                        ),
                    )
                }),
            )
            .route(
                "/api/devices",
                get(move |headers: AxumHeaders| async move {
                    d[1].fetch_add(1, Ordering::SeqCst);
                    let latest = format!("Bearer acc-{}", d[0].load(Ordering::SeqCst));
                    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if bearer == Some(latest.as_str()) {
                        (StatusCode::OK, r#"{"data":[],"totalItems":0}"#)
                    } else {
                        (StatusCode::UNAUTHORIZED, r#"{"status":401,"message":"expired"}"#)
                    }
                }),
            )
            .route(
                "/api/forbidden",
                get(move || async move {
                    f[2].fetch_add(1, Ordering::SeqCst);
                    (StatusCode::FORBIDDEN, r#"{"status":403,"message":"denied"}"#)
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, hits)
    }

    fn client(base: &Url, credential: &str) -> HttpClient {
        let auth = TokenExchange::new(
            "nc",
            base.join("api/auth/authenticate").unwrap(),
            SecretString::from(credential),
            RetryPolicy::default(),
            "generate a new User-API Token".into(),
            "the API user lacks a role".into(),
        );
        HttpClient::new("nc", base.clone(), Arc::new(auth), RetryPolicy::default())
    }

    #[tokio::test]
    async fn the_user_token_is_exchanged_once_and_the_access_token_reused() {
        let (base, hits) = server(3600).await;
        let c = client(&base, "user-jwt");
        c.get("api/devices", &[]).await.unwrap();
        c.get("api/devices", &[]).await.unwrap();
        assert_eq!(hits[0].load(Ordering::SeqCst), 1, "one authentication");
        assert_eq!(hits[1].load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_token_about_to_expire_is_renewed_before_the_request() {
        // 30 s is inside the minute of margin: every request authenticates first.
        let (base, hits) = server(30).await;
        let c = client(&base, "user-jwt");
        c.get("api/devices", &[]).await.unwrap();
        c.get("api/devices", &[]).await.unwrap();
        assert_eq!(hits[0].load(Ordering::SeqCst), 2);
        assert_eq!(hits[1].load(Ordering::SeqCst), 2, "no request met a 401");
    }

    #[tokio::test]
    async fn a_401_gets_one_new_access_token_and_a_403_none() {
        let (base, hits) = server(3600).await;
        let c = client(&base, "user-jwt");
        c.get("api/devices", &[]).await.unwrap();
        // Another client authenticating makes this one's token stale, as a server restart
        // or an expiry override would: one 401, one new token, the request again.
        client(&base, "user-jwt")
            .get("api/devices", &[])
            .await
            .unwrap();
        c.get("api/devices", &[]).await.unwrap();
        assert_eq!(hits[0].load(Ordering::SeqCst), 3);
        assert_eq!(hits[1].load(Ordering::SeqCst), 4);

        let err = c.get("api/forbidden", &[]).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ConnectorError::Auth { status: 403, .. }),
            "{msg}"
        );
        assert!(msg.contains("the API user lacks a role"), "{msg}");
        assert_eq!(hits[2].load(Ordering::SeqCst), 1, "a 403 is not sent again");
        assert_eq!(hits[0].load(Ordering::SeqCst), 3, "and costs no new token");
    }

    #[tokio::test]
    async fn a_refused_user_token_names_the_endpoint_and_never_the_token() {
        let (base, hits) = server(3600).await;
        let err = client(&base, "not-the-jwt")
            .get("api/devices", &[])
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ConnectorError::Auth { status: 401, .. }),
            "{msg}"
        );
        assert!(msg.contains("POST /api/auth/authenticate"), "{msg}");
        assert!(msg.contains("generate a new User-API Token"), "{msg}");
        assert!(!msg.contains("not-the-jwt"), "{msg}");
        assert_eq!(
            hits[1].load(Ordering::SeqCst),
            0,
            "no API request without a token"
        );
    }
}
