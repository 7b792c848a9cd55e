//! Authentication providers: OAuth2 client credentials with a cached token (NinjaOne), fixed
//! headers (ConnectWise's Basic key pair plus `clientId`), and none (discovery endpoints).
//! Secrets are exposed only here, while building a request header or a token request body.

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
    /// Whether a 401 is worth one retry with fresh credentials.
    fn refreshable(&self) -> bool {
        false
    }
    /// What to tell the user when the API refuses the credentials.
    fn hint(&self, status: u16) -> String;
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

/// OAuth2 client-credentials grant with an in-memory token cache.
pub struct ClientCredentials {
    connection: String,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    retry: RetryPolicy,
    hint: String,
    token: Mutex<Option<(SecretString, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

impl ClientCredentials {
    pub fn new(
        connection: &str,
        token_url: Url,
        client_id: &str,
        client_secret: SecretString,
        scope: &str,
        retry: RetryPolicy,
        hint: String,
    ) -> ClientCredentials {
        ClientCredentials {
            connection: connection.into(),
            token_url,
            client_id: client_id.into(),
            client_secret,
            scope: scope.into(),
            retry,
            hint,
            token: Mutex::new(None),
        }
    }

    async fn fetch_token(
        &self,
        http: &reqwest::Client,
    ) -> Result<(SecretString, Instant), ConnectorError> {
        let endpoint = format!("POST {}", self.token_url.path());
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
            ("scope", self.scope.as_str()),
        ];
        let result = send_unauthenticated(
            &self.connection,
            http,
            Method::POST,
            &self.token_url,
            |r| r.form(&form),
            &self.retry,
        )
        .await;
        let refused = |status: u16, body: &str| {
            let detail = match serde_json::from_str::<OAuthError>(body) {
                Ok(OAuthError {
                    error: Some(e),
                    error_description,
                }) => {
                    format!(
                        ": {e}{}",
                        error_description
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    )
                }
                _ => format!(": {body}"),
            };
            ConnectorError::Auth {
                connection: self.connection.clone(),
                endpoint: endpoint.clone(),
                status,
                detail,
                hint: self.hint.clone(),
            }
        };
        let resp = match result {
            Ok(Ok(resp)) => resp,
            Ok(Err((status, detail))) => return Err(refused(status, &detail)),
            // OAuth servers answer a bad client or scope with 400 as often as with 401.
            Err(ConnectorError::Http {
                status: 400,
                snippet,
                ..
            }) => return Err(refused(400, &snippet)),
            Err(e) => return Err(e),
        };
        let token: TokenResponse = decode_one(&self.connection, &endpoint, &resp.body)?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
        // Renew a minute early so a token never expires in the middle of a paged read.
        let renew_at = Instant::now() + lifetime.saturating_sub(Duration::from_secs(60));
        Ok((SecretString::from(token.access_token), renew_at))
    }
}

#[async_trait]
impl Auth for ClientCredentials {
    async fn headers(
        &self,
        http: &reqwest::Client,
        force_refresh: bool,
    ) -> Result<HeaderMap, ConnectorError> {
        let mut guard = self.token.lock().await;
        let fresh = matches!(&*guard, Some((_, renew_at)) if Instant::now() < *renew_at);
        if force_refresh || !fresh {
            *guard = Some(self.fetch_token(http).await?);
        }
        let (token, _) = guard.as_ref().expect("token was just set");
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| ConnectorError::Invalid {
                connection: self.connection.clone(),
                message: "the token endpoint returned a token that cannot be sent in a header"
                    .into(),
            })?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        Ok(headers)
    }

    fn refreshable(&self) -> bool {
        true
    }

    fn hint(&self, status: u16) -> String {
        if status == 403 {
            format!(
                "The API app lacks a permission (it needs the `{}` scope). {}",
                self.scope, self.hint
            )
        } else {
            self.hint.clone()
        }
    }
}
