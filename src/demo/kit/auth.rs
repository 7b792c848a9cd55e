//! Credentials as the sandboxes check them: the `Authorization` header's schemes ([`bearer`],
//! [`basic`]) and API-key headers ([`header()`]); the OAuth2 client-credentials token endpoint
//! (reading the request with [`client_credentials`], answering with [`granted`] or
//! [`oauth_error`]) and the tokens it issued ([`Tokens`]); and [`guard`], which runs an API's
//! check before each of its routes so no handler repeats it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::demo::sample::SplitMix64;

/// A header's value as text (`None` when absent or not text).
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `Authorization` header as (scheme, credentials), trimmed: `Bearer abc` is
/// `("Bearer", "abc")`. `None` when it is absent or has no scheme.
pub fn authorization(headers: &HeaderMap) -> Option<(&str, &str)> {
    let (scheme, value) = header(headers, header::AUTHORIZATION.as_str())?
        .trim()
        .split_once(' ')?;
    Some((scheme, value.trim()))
}

/// The token of `Authorization: Bearer TOKEN` (the scheme in any case).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    authorization(headers)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
}

/// The user and password of `Authorization: Basic …`, decoded.
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let (scheme, encoded) = authorization(headers)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Why a token endpoint refuses a client-credentials request, for the API to say in its own
/// words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The body is not `application/x-www-form-urlencoded`.
    NotForm,
    /// No `grant_type`.
    NoGrant,
    /// A grant other than `client_credentials`.
    Grant(String),
    /// A `client_id` the sandbox does not know.
    UnknownClient,
    /// The right client with the wrong `client_secret`.
    WrongSecret,
}

/// The form of a client-credentials token request that passed [`client_credentials`].
#[derive(Debug, Clone)]
pub struct TokenForm(HashMap<String, String>);

impl TokenForm {
    /// A field of the form; empty when absent.
    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map(String::as_str).unwrap_or("")
    }
}

/// Reads a token request the way every sandbox's token endpoint does: a form-encoded body
/// asking for `client_credentials` as `client` (its id and secret).
pub fn client_credentials(
    headers: &HeaderMap,
    body: &[u8],
    client: (&str, &str),
) -> Result<TokenForm, Refusal> {
    let form_encoded = header(headers, header::CONTENT_TYPE.as_str()).is_some_and(|v| {
        v.trim()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if !form_encoded {
        return Err(Refusal::NotForm);
    }
    let form = TokenForm(url::form_urlencoded::parse(body).into_owned().collect());
    match form.get("grant_type") {
        "client_credentials" => {}
        "" => return Err(Refusal::NoGrant),
        other => return Err(Refusal::Grant(other.to_string())),
    }
    if form.get("client_id") != client.0 {
        return Err(Refusal::UnknownClient);
    }
    if form.get("client_secret") != client.1 {
        return Err(Refusal::WrongSecret);
    }
    Ok(form)
}

/// A token response: `access_token`, `token_type` and `expires_in`, with the API's `extra`
/// fields, marked not to be cached.
pub fn granted(token: &str, token_type: &str, lifetime: Duration, extra: Value) -> Response {
    let mut body = json!({
        "access_token": token,
        "token_type": token_type,
        "expires_in": lifetime.as_secs(),
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

/// An OAuth2 error (`{"error", "error_description"}`, the description where the API gives one),
/// marked not to be cached.
pub fn oauth_error(status: StatusCode, error: &str, description: Option<&str>) -> Response {
    let body = match description {
        Some(d) => json!({"error": error, "error_description": d}),
        None => json!({ "error": error }),
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// Why an access token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not one the sandbox issued.
    Unknown,
    /// Issued, but its lifetime is over.
    Expired,
}

/// The access tokens a sandbox issued, each with its grant (the scopes, the tenant: whatever its
/// API lets a token do) and its expiry. Tokens are random: unguessable between two sandboxes of
/// one machine, which is all they need to be.
pub struct Tokens<G> {
    issued: Mutex<HashMap<String, (G, Instant)>>,
    rng: Mutex<SplitMix64>,
}

impl<G: Clone> Default for Tokens<G> {
    fn default() -> Self {
        let seed = jiff::Timestamp::now().as_nanosecond() as u64 ^ u64::from(std::process::id());
        Tokens {
            issued: Mutex::new(HashMap::new()),
            rng: Mutex::new(SplitMix64::new(seed)),
        }
    }
}

impl<G: Clone> Tokens<G> {
    /// A new token for `grant`, valid for `lifetime`.
    pub fn issue(&self, grant: G, lifetime: Duration) -> String {
        let token = {
            let mut rng = self.rng.lock().expect("token lock");
            format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
        };
        self.issued
            .lock()
            .expect("token lock")
            .insert(token.clone(), (grant, Instant::now() + lifetime));
        token
    }

    /// The grant of a live token.
    pub fn check(&self, token: &str) -> Result<G, Invalid> {
        let issued = self.issued.lock().expect("token lock");
        match issued.get(token) {
            None => Err(Invalid::Unknown),
            Some((_, expires)) if Instant::now() >= *expires => Err(Invalid::Expired),
            Some((grant, _)) => Ok(grant.clone()),
        }
    }
}

/// An API's credential check: what a request's credentials grant (`()` when handlers need
/// nothing of it), or the answer that refuses them.
pub type Check<S, G> = fn(&S, &HeaderMap) -> Result<G, Response>;

/// `router` with `check` (given `state`) run before each of its routes, those added so far but
/// not its fallback: a refused request gets `check`'s answer, an accepted one reaches the
/// handler, which reads the grant as `Extension<G>` if it needs it.
pub fn guard<R, S, G>(router: Router<R>, state: S, check: Check<S, G>) -> Router<R>
where
    R: Clone + Send + Sync + 'static,
    S: Clone + Send + Sync + 'static,
    G: Clone + Send + Sync + 'static,
{
    router.route_layer(axum::middleware::from_fn_with_state(
        (state, check),
        checked::<S, G>,
    ))
}

async fn checked<S, G>(
    State((state, check)): State<(S, Check<S, G>)>,
    mut req: Request,
    next: Next,
) -> Response
where
    S: Clone + Send + Sync + 'static,
    G: Clone + Send + Sync + 'static,
{
    match check(&state, req.headers()) {
        Ok(grant) => {
            req.extensions_mut().insert(grant);
            next.run(req).await
        }
        Err(refused) => refused,
    }
}
