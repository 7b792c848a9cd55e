//! Authentication providers: OAuth2 with one token cache for every grant (client credentials for
//! NinjaOne, Sherweb and HaloPSA; client credentials or a rotating refresh token per tenant for
//! Microsoft 365), fixed headers (ConnectWise's Basic key pair plus `clientId`, API tokens and
//! keys, and the header sets Autotask and JumpCloud build), and none (discovery endpoints). A
//! secret is exposed only while a request header or a token request body is built: here, or
//! where a connector builds its own header set (Autotask, JumpCloud, Sherweb's gateway key).

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
/// before it expires and once after the API answers 401. The grant is client credentials, or a
/// refresh token that the token endpoint may rotate (the new one replaces it for this run).
pub struct OAuth2 {
    connection: String,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    /// `Some` for the refresh-token grant: the current refresh token, shared by every token of
    /// the connection (a rotated one replaces it for all of them).
    refresh_token: Option<RefreshToken>,
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
    token: Mutex<Option<(SecretString, Instant)>>,
}

/// A refresh token that the token endpoint may replace with a new one.
pub type RefreshToken = Arc<std::sync::Mutex<SecretString>>;

/// A token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// A token endpoint's refusal (RFC 6749 section 5.2; Entra adds `error_codes`).
#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<i64>,
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
            refresh_token: None,
            retry,
            hint,
            unauthorized: None,
            forbidden: None,
            extra: HeaderMap::new(),
            token: Mutex::new(None),
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
            refresh_token: Some(refresh_token),
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
    ) -> Result<(SecretString, Instant), ConnectorError> {
        let endpoint = format!("POST {}", self.token_url.path());
        let refresh = self.refresh_token.as_ref().map(|r| {
            r.lock()
                .expect("refresh token lock")
                .expose_secret()
                .to_string()
        });
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
            ("scope", self.scope.as_str()),
        ];
        match &refresh {
            Some(rt) => {
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", rt.as_str()));
            }
            None => form.push(("grant_type", "client_credentials")),
        }
        let result = send_unauthenticated(
            &self.connection,
            http,
            Method::POST,
            &self.token_url,
            |r| r.form(&form),
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
        if let (Some(new), Some(slot)) = (token.refresh_token, &self.refresh_token) {
            *slot.lock().expect("refresh token lock") = SecretString::from(new);
        }
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
        // Renew a minute early so a token never expires in the middle of a paged read.
        let renew_at = Instant::now() + lifetime.saturating_sub(Duration::from_secs(60));
        Ok((SecretString::from(token.access_token), renew_at))
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
        let mut guard = self.token.lock().await;
        let fresh = matches!(&*guard, Some((_, renew_at)) if Instant::now() < *renew_at);
        if force_refresh || !fresh {
            *guard = Some(self.fetch_token(http).await?);
        }
        let (token, _) = guard.as_ref().expect("token was just set");
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| ConnectorError::Invalid {
                connection: self.connection.clone(),
                message: format!(
                    "the token endpoint {} returned a token that cannot be sent in a header",
                    self.token_url.path()
                ),
            })?;
        value.set_sensitive(true);
        let mut headers = self.extra.clone();
        headers.insert(AUTHORIZATION, value);
        Ok(headers)
    }

    fn refreshable(&self) -> bool {
        true
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
    use super::*;

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
