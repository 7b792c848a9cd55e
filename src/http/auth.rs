//! Authentication providers: OAuth2 with one token cache for every grant (client credentials for
//! NinjaOne, Sherweb and HaloPSA; client credentials or a rotating refresh token per tenant for
//! Microsoft 365; the password grant for Datto RMM), fixed headers (ConnectWise's Basic key pair
//! plus `clientId`, API tokens and keys, and the header sets Autotask and JumpCloud build), and
//! none (discovery endpoints). A secret is exposed only while a request header or a token request
//! body is built: here, or where a connector builds its own header set (Autotask, JumpCloud,
//! Sherweb's gateway key).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::{ConnectorError, RetryPolicy, decode_one, send_unauthenticated};

#[async_trait]
pub trait Auth: Send + Sync {
    /// Headers for the next request; `force_refresh` after the server said 401 once.
    async fn headers(
        &self,
        http: &reqwest::Client,
        force_refresh: bool,
    ) -> Result<HeaderMap, ConnectorError>;
    /// Whether a refusal with `status` (401 or 403) is worth one retry with fresh credentials.
    fn refreshable(&self, _status: u16) -> bool {
        false
    }
    /// What to tell the user when the API refuses the credentials.
    fn hint(&self, status: u16) -> String;
    /// A credential the API takes as a query parameter (N-sight's `apikey`): added to every
    /// request when it is built, never to the [`super::Request`] or a message.
    fn query(&self) -> Option<(&'static str, &SecretString)> {
        None
    }
}

/// An API key sent as a query parameter on every request (N-sight's `apikey=`), as the API
/// requires; messages and logs name endpoints by path only, so it shows in neither.
pub struct QueryKey {
    name: &'static str,
    key: SecretString,
    hint: String,
}

impl QueryKey {
    pub fn new(name: &'static str, key: SecretString, hint: String) -> QueryKey {
        QueryKey { name, key, hint }
    }
}

#[async_trait]
impl Auth for QueryKey {
    async fn headers(&self, _: &reqwest::Client, _: bool) -> Result<HeaderMap, ConnectorError> {
        Ok(HeaderMap::new())
    }
    fn hint(&self, _: u16) -> String {
        self.hint.clone()
    }
    fn query(&self) -> Option<(&'static str, &SecretString)> {
        Some((self.name, &self.key))
    }
}

/// No authentication.
pub struct NoAuth;

#[async_trait]
impl Auth for NoAuth {
    async fn headers(&self, _: &reqwest::Client, _: bool) -> Result<HeaderMap, ConnectorError> {
        Ok(HeaderMap::new())
    }
    fn hint(&self, _: u16) -> String {
        "This endpoint should not need credentials; check the URL".into()
    }
}

/// The same headers on every request.
pub struct StaticHeaders {
    headers: HeaderMap,
    hint: String,
    /// What to say on 403 (a missing role or permission), when it differs from `hint`.
    forbidden_hint: Option<String>,
}

impl StaticHeaders {
    /// `Authorization: Basic base64(user:password)` plus any extra headers.
    pub fn basic(
        user: &str,
        password: &SecretString,
        extra: &[(&'static str, String)],
        hint: String,
    ) -> Result<StaticHeaders, String> {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{user}:{}", password.expose_secret()));
        let mut value = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| "the credentials contain characters a header cannot carry".to_string())?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        for (name, v) in extra {
            let v = HeaderValue::from_str(v)
                .map_err(|_| format!("`{v}` cannot be sent as the {name} header"))?;
            headers.insert(HeaderName::from_static(name), v);
        }
        Ok(StaticHeaders {
            headers,
            hint,
            forbidden_hint: None,
        })
    }

    /// What a 403 says (a missing product or permission), for headers built by [`Self::basic`].
    pub fn forbidden_hint(mut self, hint: String) -> StaticHeaders {
        self.forbidden_hint = Some(hint);
        self
    }

    /// `Authorization: <scheme> <token>` (SentinelOne's `ApiToken <token>`). `hint` is shown on
    /// 401 (token refused or expired), `forbidden_hint` on 403 (the token lacks a role).
    pub fn token(
        scheme: &str,
        token: &SecretString,
        hint: String,
        forbidden_hint: String,
    ) -> Result<StaticHeaders, String> {
        let mut value =
            HeaderValue::from_str(&format!("{scheme} {}", token.expose_secret().trim()))
                .map_err(|_| "the token contains characters a header cannot carry".to_string())?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        Ok(StaticHeaders {
            headers,
            hint,
            forbidden_hint: Some(forbidden_hint),
        })
    }
    /// One named header carrying the secret as is (Keeper Service Mode's `api-key: <key>`).
    /// `hint` is shown on 401, `forbidden_hint` on 403.
    pub fn header(
        name: &'static str,
        secret: &SecretString,
        hint: String,
        forbidden_hint: String,
    ) -> Result<StaticHeaders, String> {
        let mut value = HeaderValue::from_str(secret.expose_secret().trim()).map_err(|_| {
            format!("the secret contains characters the {name} header cannot carry")
        })?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static(name), value);
        Ok(StaticHeaders {
            headers,
            hint,
            forbidden_hint: Some(forbidden_hint),
        })
    }

    /// Headers the connector built itself, for an API that wants several (Autotask's integration
    /// code, user name and secret; JumpCloud's key and organization id). `hint` is shown on 401,
    /// `forbidden_hint` on 403.
    pub fn from_headers(headers: HeaderMap, hint: String, forbidden_hint: String) -> StaticHeaders {
        StaticHeaders {
            headers,
            hint,
            forbidden_hint: Some(forbidden_hint),
        }
    }
}

#[async_trait]
impl Auth for StaticHeaders {
    async fn headers(&self, _: &reqwest::Client, _: bool) -> Result<HeaderMap, ConnectorError> {
        Ok(self.headers.clone())
    }
    fn hint(&self, status: u16) -> String {
        match (&self.forbidden_hint, status) {
            (Some(h), 403) => h.clone(),
            _ => self.hint.clone(),
        }
    }
}

/// OAuth2 with an in-memory token cache: the token is fetched on first use, renewed a minute
/// before it expires and once after the API answers 401 (and 403, unless
/// [`OAuth2::no_retry_on_forbidden`]). The grant is client credentials, a refresh token that the
/// token endpoint may rotate (the new one replaces it for this run), or a user's name and
/// password ([`OAuth2::password`]).
pub struct OAuth2 {
    connection: String,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    grant: Grant,
    /// Whether a 403 from the API is tried once more with a fresh token, as a 401 is.
    retry_forbidden: bool,
    /// Whether the client authenticates with HTTP Basic rather than in the form (always for
    /// the password grant; [`OAuth2::client_in_basic`] for client credentials).
    basic_client: bool,
    retry: RetryPolicy,
    /// Shown when the token endpoint refuses the credentials, and on a 401 from the API unless
    /// `unauthorized` says otherwise.
    hint: String,
    /// Shown on a 401 from the API, when it means more than the token (Sherweb's key).
    unauthorized: Option<String>,
    /// Shown on a 403 from the API (a missing permission or scope).
    forbidden: Option<String>,
    /// Sent on every API request beside the token (Sherweb's subscription key).
    extra: HeaderMap,
    /// For client credentials: a JSON body with this `audience` instead of the form and its
    /// `scope` (Pax8's token endpoint).
    json_audience: Option<String>,
    token: BearerCache,
}

/// A refresh token that the token endpoint may replace with a new one.
pub type RefreshToken = Arc<std::sync::Mutex<SecretString>>;

/// What an [`OAuth2`] asks its token endpoint for.
enum Grant {
    /// `grant_type=client_credentials`, the client's id and secret in the form.
    ClientCredentials,
    /// `grant_type=refresh_token`: the current refresh token, shared by every token of the
    /// connection (a rotated one replaces it for all of them).
    RefreshToken(RefreshToken),
    /// RFC 6749 section 4.3, `grant_type=password`: a user's name and password in the form, the
    /// client authenticated with HTTP Basic (section 2.3.1). Datto RMM: the API key and secret,
    /// with its public client.
    Password {
        username: String,
        password: SecretString,
    },
}

/// A token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// A number, or (Accelo) a number in a string.
    #[serde(default, deserialize_with = "seconds_opt")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Seconds as a JSON number or a numeric string (`"2592000"`); anything else is unknown, and the
/// token's lifetime then the default.
fn seconds_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A token endpoint's refusal (RFC 6749 section 5.2; Entra adds `error_codes`).
#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<i64>,
}

/// An access token and when to renew it: a minute before it expires, so a token never expires
/// in the middle of a paged read. Shared by every provider that fetches bearer tokens
/// ([`OAuth2`], and through [`OwnLogin`] [`TokenExchange`](super::TokenExchange) and
/// [`BmsLogin`](super::BmsLogin)).
#[derive(Default)]
pub(super) struct BearerCache(Mutex<Option<(SecretString, Instant)>>);

impl BearerCache {
    /// `Bearer <token>` (marked sensitive): the cached token, or a new one from `fetch` (the
    /// token and its lifetime) when there is none, it is due for renewal, or `force`.
    pub(super) async fn header<F, Fut>(
        &self,
        connection: &str,
        source: &Url,
        force: bool,
        fetch: F,
    ) -> Result<HeaderValue, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(SecretString, Duration), ConnectorError>>,
    {
        let mut guard = self.0.lock().await;
        let fresh = matches!(&*guard, Some((_, renew_at)) if Instant::now() < *renew_at);
        if force || !fresh {
            let (token, lifetime) = fetch().await?;
            let renew_at = Instant::now() + lifetime.saturating_sub(Duration::from_secs(60));
            *guard = Some((token, renew_at));
        }
        let (token, _) = guard.as_ref().expect("the token was just set");
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| ConnectorError::Invalid {
                connection: connection.to_string(),
                message: format!(
                    "{} returned a token that cannot be sent in a header",
                    source.path()
                ),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// What an API's own login shares, outside OAuth2 (N-central's token exchange, the BMS family's
/// login): its endpoint, the one token cache, and the hints for a refused credential and, from
/// the API, for a missing role (403, never retried with a new token).
pub(super) struct OwnLogin {
    pub connection: String,
    /// The login endpoint (`https://host/api/auth/authenticate`).
    pub url: Url,
    pub retry: RetryPolicy,
    /// Shown when the credential is refused (by the endpoint or, later, by the API).
    hint: String,
    /// Shown on a 403 from the API.
    forbidden: String,
    token: BearerCache,
}

impl OwnLogin {
    pub fn new(
        connection: &str,
        url: Url,
        retry: RetryPolicy,
        hint: String,
        forbidden: String,
    ) -> OwnLogin {
        OwnLogin {
            connection: connection.into(),
            url,
            retry,
            hint,
            forbidden,
            token: BearerCache::default(),
        }
    }

    /// `POST /api/auth/authenticate`, as messages name it.
    pub fn endpoint(&self) -> String {
        format!("POST {}", self.url.path())
    }

    /// The endpoint refused the credential with `status` and why (empty when it said nothing).
    pub fn refused(&self, status: u16, why: &str) -> ConnectorError {
        ConnectorError::Auth {
            connection: self.connection.clone(),
            endpoint: self.endpoint(),
            status,
            detail: if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            },
            hint: self.hint.clone(),
        }
    }

    /// `Authorization: Bearer` with the cached token, or a new one from `fetch`.
    pub async fn headers<F, Fut>(&self, force: bool, fetch: F) -> Result<HeaderMap, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(SecretString, Duration), ConnectorError>>,
    {
        let value = self
            .token
            .header(&self.connection, &self.url, force, fetch)
            .await?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        Ok(headers)
    }

    pub fn hint(&self, status: u16) -> String {
        if status == 403 {
            self.forbidden.clone()
        } else {
            self.hint.clone()
        }
    }
}

impl OAuth2 {
    /// The client-credentials grant.
    pub fn client_credentials(
        connection: &str,
        token_url: Url,
        client_id: &str,
        client_secret: SecretString,
        scope: &str,
        retry: RetryPolicy,
        hint: String,
    ) -> OAuth2 {
        OAuth2 {
            connection: connection.into(),
            token_url,
            client_id: client_id.into(),
            client_secret,
            scope: scope.into(),
            grant: Grant::ClientCredentials,
            retry_forbidden: true,
            basic_client: false,
            retry,
            hint,
            unauthorized: None,
            forbidden: None,
            extra: HeaderMap::new(),
            json_audience: None,
            token: BearerCache::default(),
        }
    }

    /// The refresh-token grant (the client secret is sent too, as confidential clients must).
    #[allow(clippy::too_many_arguments)]
    pub fn refresh_token(
        connection: &str,
        token_url: Url,
        client_id: &str,
        client_secret: SecretString,
        refresh_token: RefreshToken,
        scope: &str,
        retry: RetryPolicy,
        hint: String,
    ) -> OAuth2 {
        OAuth2 {
            grant: Grant::RefreshToken(refresh_token),
            ..OAuth2::client_credentials(
                connection,
                token_url,
                client_id,
                client_secret,
                scope,
                retry,
                hint,
            )
        }
    }

    /// The password grant: `username` and `password` are the resource owner's (Datto RMM: the
    /// API key and secret); the client (`client_id`, `client_secret`, public for Datto RMM) is
    /// sent with HTTP Basic. No `scope` is sent when `scope` is empty.
    #[allow(clippy::too_many_arguments)]
    pub fn password(
        connection: &str,
        token_url: Url,
        client: (&str, &str),
        username: &str,
        password: SecretString,
        scope: &str,
        retry: RetryPolicy,
        hint: String,
    ) -> OAuth2 {
        OAuth2 {
            grant: Grant::Password {
                username: username.into(),
                password,
            },
            basic_client: true,
            ..OAuth2::client_credentials(
                connection,
                token_url,
                client.0,
                SecretString::from(client.1),
                scope,
                retry,
                hint,
            )
        }
    }

    /// The client's id and secret go in HTTP Basic (RFC 6749 section 2.3.1) instead of the form,
    /// as Accelo's token endpoint takes them.
    pub fn client_in_basic(mut self) -> OAuth2 {
        self.basic_client = true;
        self
    }

    /// A 403 from the API fails at once, without the fresh token and second request a 401 gets:
    /// for APIs where a 403 may be a block that more requests prolong (Datto RMM blocks the
    /// caller's IP address when requests keep coming).
    pub fn no_retry_on_forbidden(mut self) -> OAuth2 {
        self.retry_forbidden = false;
        self
    }

    /// The client-credentials request as a JSON body `{client_id, client_secret, audience,
    /// grant_type}` rather than a form with a scope: Pax8's token endpoint.
    pub fn json_body_with_audience(mut self, audience: &str) -> OAuth2 {
        self.json_audience = Some(audience.to_string());
        self
    }

    /// What a 401 from the API says, when the token endpoint's hint is not the whole story.
    pub fn unauthorized_hint(mut self, hint: String) -> OAuth2 {
        self.unauthorized = Some(hint);
        self
    }

    /// What a 403 from the API says (by default: the app lacks the scope).
    pub fn forbidden_hint(mut self, hint: String) -> OAuth2 {
        self.forbidden = Some(hint);
        self
    }

    /// A header sent with every API request beside the token; marked sensitive, so it never
    /// shows in logs.
    pub fn with_header(mut self, name: HeaderName, mut value: HeaderValue) -> OAuth2 {
        value.set_sensitive(true);
        self.extra.insert(name, value);
        self
    }

    async fn fetch_token(
        &self,
        http: &reqwest::Client,
    ) -> Result<(SecretString, Duration), ConnectorError> {
        let endpoint = format!("POST {}", self.token_url.path());
        let refresh = match &self.grant {
            Grant::RefreshToken(r) => Some(
                r.lock()
                    .expect("refresh token lock")
                    .expose_secret()
                    .to_string(),
            ),
            _ => None,
        };
        let mut form: Vec<(&str, &str)> = Vec::new();
        match &self.grant {
            Grant::Password { username, password } => {
                form.push(("grant_type", "password"));
                form.push(("username", username.as_str()));
                form.push(("password", password.expose_secret()));
                if !self.scope.is_empty() {
                    form.push(("scope", self.scope.as_str()));
                }
            }
            Grant::ClientCredentials | Grant::RefreshToken(_) => {
                if !self.basic_client {
                    form.push(("client_id", self.client_id.as_str()));
                    form.push(("client_secret", self.client_secret.expose_secret()));
                }
                // Acronis takes no scope: an empty one is not sent.
                if !self.scope.is_empty() {
                    form.push(("scope", self.scope.as_str()));
                }
                match &refresh {
                    Some(rt) => {
                        form.push(("grant_type", "refresh_token"));
                        form.push(("refresh_token", rt.as_str()));
                    }
                    None => form.push(("grant_type", "client_credentials")),
                }
            }
        }
        let basic_client = self.basic_client;
        let json = match (&self.json_audience, &self.grant) {
            (Some(audience), Grant::ClientCredentials) => Some(serde_json::json!({
                "client_id": self.client_id,
                "client_secret": self.client_secret.expose_secret(),
                "audience": audience,
                "grant_type": "client_credentials",
            })),
            _ => None,
        };
        let result = send_unauthenticated(
            &self.connection,
            http,
            Method::POST,
            &self.token_url,
            |r| {
                let r = match &json {
                    Some(body) => r.json(body),
                    None => r.form(&form),
                };
                if basic_client {
                    r.basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
                } else {
                    r
                }
            },
            &self.retry,
        )
        .await;
        let refused = |status: u16, body: &str| ConnectorError::Auth {
            connection: self.connection.clone(),
            endpoint: endpoint.clone(),
            status,
            detail: refusal_detail(body),
            hint: self.hint.clone(),
        };
        let resp = match result {
            Ok(Ok(resp)) => resp,
            Ok(Err((status, detail))) => return Err(refused(status, &detail)),
            // OAuth servers answer a bad client, grant or scope with 400 as often as with 401.
            Err(ConnectorError::Http {
                status: 400,
                snippet,
                ..
            }) => return Err(refused(400, &snippet)),
            Err(e) => return Err(e),
        };
        let token: TokenResponse = decode_one(&self.connection, &endpoint, &resp.body)?;
        if let (Some(new), Grant::RefreshToken(slot)) = (token.refresh_token, &self.grant) {
            *slot.lock().expect("refresh token lock") = SecretString::from(new);
        }
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
        Ok((SecretString::from(token.access_token), lifetime))
    }
}

/// ` : invalid_client (the description)` from a token endpoint's error body, else the body. For
/// Entra, whose descriptions start with `AADSTS<code>:`, the first line says it all; a body with
/// only `error_codes` gets the code in front.
fn refusal_detail(body: &str) -> String {
    let first_line = |d: &str| d.lines().next().unwrap_or_default().trim().to_string();
    match serde_json::from_str::<OAuthError>(body) {
        Ok(OAuthError {
            error: Some(e),
            error_description,
            error_codes,
        }) => {
            let why = match (error_codes.first(), error_description) {
                (_, Some(d)) if d.contains("AADSTS") => format!(" ({})", first_line(&d)),
                (Some(c), d) => format!(" (AADSTS{c}: {})", first_line(&d.unwrap_or_default())),
                (None, Some(d)) => format!(" ({})", first_line(&d)),
                (None, None) => String::new(),
            };
            format!(": {e}{why}")
        }
        _ => format!(": {body}"),
    }
}

#[async_trait]
impl Auth for OAuth2 {
    async fn headers(
        &self,
        http: &reqwest::Client,
        force_refresh: bool,
    ) -> Result<HeaderMap, ConnectorError> {
        let value = self
            .token
            .header(&self.connection, &self.token_url, force_refresh, || {
                self.fetch_token(http)
            })
            .await?;
        let mut headers = self.extra.clone();
        headers.insert(AUTHORIZATION, value);
        Ok(headers)
    }

    fn refreshable(&self, status: u16) -> bool {
        status == 401 || self.retry_forbidden
    }

    fn hint(&self, status: u16) -> String {
        match (&self.forbidden, status) {
            (Some(h), 403) => h.clone(),
            (None, 403) => format!(
                "The API app lacks a permission (it needs the `{}` scope). {}",
                self.scope, self.hint
            ),
            _ => self
                .unauthorized
                .clone()
                .unwrap_or_else(|| self.hint.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::{HeaderMap as AxumHeaders, StatusCode};

    use super::*;
    use crate::http::{ConnectorError, HttpClient};

    #[test]
    fn expires_in_reads_a_number_or_a_numeric_string() {
        for (json, want) in [
            (r#"{"access_token":"a","expires_in":60}"#, Some(60)),
            (
                r#"{"access_token":"a","expires_in":"2592000"}"#,
                Some(2_592_000),
            ),
            (r#"{"access_token":"a","expires_in":"soon"}"#, None),
            (r#"{"access_token":"a","expires_in":null}"#, None),
            (r#"{"access_token":"a"}"#, None),
        ] {
            let t: TokenResponse = serde_json::from_str(json).unwrap();
            assert_eq!(t.expires_in, want, "{json}");
        }
    }

    /// A token endpoint that grants only the password grant of `key`/`secret` with the Basic
    /// client `public-client:public` (counting its grants), and `GET /forbidden` and
    /// `GET /expired` answering 403 and 401 (counting their requests).
    async fn password_server() -> (Url, Arc<[AtomicUsize; 3]>) {
        use axum::routing::{get, post};
        let hits: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
        let (t, f, e) = (hits.clone(), hits.clone(), hits.clone());
        let app = axum::Router::new()
            .route(
                "/auth/oauth/token",
                post(move |headers: AxumHeaders, body: String| async move {
                    let form: std::collections::HashMap<String, String> =
                        url::form_urlencoded::parse(body.as_bytes())
                            .into_owned()
                            .collect();
                    // base64("public-client:public")
                    let client_ok = headers.get("authorization").and_then(|v| v.to_str().ok())
                        == Some("Basic cHVibGljLWNsaWVudDpwdWJsaWM=");
                    let grant_ok = form.get("grant_type").map(String::as_str) == Some("password")
                        && form.get("username").map(String::as_str) == Some("key")
                        && form.get("password").map(String::as_str) == Some("s3cret")
                        && !form.contains_key("client_secret")
                        && !form.contains_key("scope");
                    if !(client_ok && grant_ok) {
                        return (
                            StatusCode::BAD_REQUEST,
                            r#"{"error":"invalid_grant","error_description":"Bad credentials"}"#,
                        );
                    }
                    let n = t[0].fetch_add(1, Ordering::SeqCst);
                    let body = if n == 0 {
                        r#"{"access_token":"tok-1","token_type":"bearer","expires_in":359999}"#
                    } else {
                        r#"{"access_token":"tok-2","token_type":"bearer","expires_in":359999}"#
                    };
                    (StatusCode::OK, body)
                }),
            )
            .route(
                "/forbidden",
                get(move || async move {
                    f[1].fetch_add(1, Ordering::SeqCst);
                    (StatusCode::FORBIDDEN, "{}")
                }),
            )
            .route(
                "/expired",
                get(move || async move {
                    e[2].fetch_add(1, Ordering::SeqCst);
                    (StatusCode::UNAUTHORIZED, "{}")
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, hits)
    }

    fn password_client(base: &Url, password: &str) -> HttpClient {
        let auth = OAuth2::password(
            "d",
            base.join("auth/oauth/token").unwrap(),
            ("public-client", "public"),
            "key",
            SecretString::from(password),
            "",
            RetryPolicy::default(),
            "check the key".into(),
        )
        .no_retry_on_forbidden();
        HttpClient::new("d", base.clone(), Arc::new(auth), RetryPolicy::default())
    }

    #[tokio::test]
    async fn the_password_grant_sends_the_user_in_the_form_and_the_client_as_basic() {
        let (base, hits) = password_server().await;
        // A 401 gets one fresh token and one more try; a 403 is never sent again.
        let client = password_client(&base, "s3cret");
        let err = client.get("expired", &[]).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Auth { status: 401, .. }),
            "{err}"
        );
        assert_eq!(hits[2].load(Ordering::SeqCst), 2);
        assert_eq!(
            hits[0].load(Ordering::SeqCst),
            2,
            "one token, then a fresh one"
        );
        let err = client.get("forbidden", &[]).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Auth { status: 403, .. }),
            "{err}"
        );
        assert_eq!(hits[1].load(Ordering::SeqCst), 1, "a 403 is not sent again");
        assert_eq!(hits[0].load(Ordering::SeqCst), 2, "and costs no new token");

        // A refused key or secret is an `Auth` error naming the token endpoint and its reason.
        let err = password_client(&base, "wrong")
            .get("forbidden", &[])
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ConnectorError::Auth { status: 400, .. }),
            "{msg}"
        );
        assert!(msg.contains("POST /auth/oauth/token"), "{msg}");
        assert!(msg.contains("invalid_grant (Bad credentials)"), "{msg}");
        assert!(!msg.contains("wrong"), "{msg}");
        assert_eq!(
            hits[1].load(Ordering::SeqCst),
            1,
            "no API request without a token"
        );
    }

    #[test]
    fn refusals_name_the_oauth_error_and_entra_codes() {
        assert_eq!(
            refusal_detail(r#"{"error":"invalid_client","error_description":"bad secret"}"#),
            ": invalid_client (bad secret)"
        );
        assert_eq!(
            refusal_detail(
                "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS65001: no consent.\\r\\nTrace ID: 1\",\"error_codes\":[65001]}"
            ),
            ": invalid_grant (AADSTS65001: no consent.)"
        );
        assert_eq!(
            refusal_detail(r#"{"error":"invalid_grant","error_codes":[700082]}"#),
            ": invalid_grant (AADSTS700082: )"
        );
        assert_eq!(refusal_detail("Bad Request"), ": Bad Request");
    }
}
