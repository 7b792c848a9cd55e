//! The answer envelope of Kaseya BMS API v2 and its family (Pulseway PSA, CloudBlue PSA):
//! every body is `{success, error: {code, message}, result}`, paged lists add `totalRecords`.
//! The published spec writes the members in PascalCase (`Success`, `Result`, `TotalRecords`,
//! `AccountName`), the live API in camelCase; [`Enveloped`] rewrites every member name to
//! camelCase (first letter lower case) so one set of wire types and JSON pointers reads both.
//!
//! Tigerpaw's REST API answers its searches the same way (`{Success, Message, Accounts, NextRow}`,
//! PascalCase), so it reads through here too.
//!
//! An answer with `success: false` is an error even on HTTP 200 ([`ConnectorError::Failed`],
//! with the envelope's message). The family also limits requests **per endpoint** (1,500 an
//! hour each), so each path gets its own [`RateLimit`], created on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use url::Url;

use super::decode::parse_json;
use super::{ConnectorError, HttpClient, RateLimit, RawResponse, Request, Transport};

/// A [`Transport`] over an [`HttpClient`] that unwraps the family's envelope; see the module
/// header.
pub struct Enveloped {
    client: HttpClient,
    /// Requests per window per endpoint path.
    per_endpoint: (usize, Duration),
    limits: Mutex<HashMap<String, Arc<RateLimit>>>,
    /// What to do when an answer says `success: false`.
    hint: String,
}

/// `name` with its first letter in lower case (`TotalRecords` → `totalRecords`).
fn camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_uppercase() => {
            first.to_ascii_lowercase().to_string() + chars.as_str()
        }
        _ => name.to_string(),
    }
}

/// Every member name in `v`, at every depth, in camelCase. A member already in camelCase wins
/// over a PascalCase twin (the live API's spelling).
pub fn camel_members(v: Value) -> Value {
    match v {
        Value::Object(members) => {
            let mut out = Map::with_capacity(members.len());
            for (k, v) in members {
                let key = camel(&k);
                let v = camel_members(v);
                if k == key || !out.contains_key(&key) {
                    out.insert(key, v);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(camel_members).collect()),
        other => other,
    }
}

impl Enveloped {
    /// At most `max` requests per `window` on each endpoint path; `hint` says what to do when
    /// the API answers `success: false`.
    pub fn new(client: HttpClient, max: usize, window: Duration, hint: String) -> Enveloped {
        Enveloped {
            client,
            per_endpoint: (max, window),
            limits: Mutex::new(HashMap::new()),
            hint,
        }
    }

    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// The limit of the endpoint `path` (its query left out).
    fn limit(&self, path: &str) -> Arc<RateLimit> {
        let key = path.split('?').next().unwrap_or(path).trim_matches('/');
        let mut limits = self.limits.lock().expect("limit lock");
        limits
            .entry(key.to_string())
            .or_insert_with(|| Arc::new(RateLimit::per(self.per_endpoint.0, self.per_endpoint.1)))
            .clone()
    }

    /// `req`, its answer's body unwrapped as the module header says.
    pub async fn call(&self, req: &Request) -> Result<(Value, String), ConnectorError> {
        let limit = self.limit(&req.path);
        let _started = limit.acquire().await;
        let resp = self.client.send(req).await?;
        let connection = self.client.connection();
        let body = camel_members(parse_json(connection, &resp.endpoint, &resp.body)?);
        if body.get("success").and_then(Value::as_bool) == Some(false) {
            // BMS nests it in `error`; Tigerpaw's searches put it beside `success`.
            let message = body
                .pointer("/error/message")
                .or_else(|| body.get("message"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .unwrap_or("success: false, without a message");
            return Err(ConnectorError::Failed {
                connection: connection.into(),
                endpoint: resp.endpoint,
                message: message.into(),
                hint: self.hint.clone(),
            });
        }
        Ok((body, resp.endpoint))
    }
}

#[async_trait]
impl Transport for Enveloped {
    fn connection(&self) -> &str {
        self.client.connection()
    }

    fn base(&self) -> &Url {
        self.client.base()
    }

    async fn send(&self, req: &Request) -> Result<RawResponse, ConnectorError> {
        let (body, endpoint) = self.call(req).await?;
        Ok(RawResponse {
            status: 200,
            headers: Default::default(),
            body: serde_json::to_vec(&body).expect("a JSON value serializes"),
            endpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::http::{NoAuth, RetryPolicy};

    #[test]
    fn pascal_and_camel_case_read_alike() {
        let spec = json!({"Success": true, "Error": null, "TotalRecords": 2,
            "Result": [{"Id": 1, "AccountName": "Acme", "Locations": [{"LocationName": "HQ"}]}]});
        let live = json!({"success": true, "error": null, "totalRecords": 2,
            "result": [{"id": 1, "accountName": "Acme", "locations": [{"locationName": "HQ"}]}]});
        assert_eq!(camel_members(spec), live);
        // The live spelling wins over a PascalCase twin, whichever comes first.
        let both = json!({"Qty": 1, "qty": 2});
        assert_eq!(camel_members(both), json!({"qty": 2}));
        let both = json!({"qty": 2, "Qty": 1});
        assert_eq!(camel_members(both), json!({"qty": 2}));
    }

    #[tokio::test]
    async fn success_false_is_an_error_with_the_message_even_on_200() {
        use axum::Router;
        use axum::routing::get;
        let app = Router::new()
            .route(
                "/v2/crm/accounts/summary",
                get(|| async {
                    axum::Json(json!({"Success": false, "Error": {"Code": 7, "Message": "Tenant is suspended"}, "Result": null}))
                }),
            )
            .route(
                "/v2/security/userinfo",
                get(|| async {
                    axum::Json(json!({"success": true, "result": {"FullName": "API User"}}))
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base = Url::parse(&format!("http://{addr}/")).unwrap();
        let client = HttpClient::new("bms", base, Arc::new(NoAuth), RetryPolicy::default());
        let api = Enveloped::new(
            client,
            1500,
            Duration::from_secs(3600),
            "Ask the BMS administrator".into(),
        );
        let err = api
            .call(&Request::get("v2/crm/accounts/summary"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("connection `bms`"), "{err}");
        assert!(err.contains("GET /v2/crm/accounts/summary"), "{err}");
        assert!(err.contains("Tenant is suspended"), "{err}");
        assert!(err.contains("Ask the BMS administrator"), "{err}");
        let (ok, _) = api
            .call(&Request::get("v2/security/userinfo"))
            .await
            .unwrap();
        assert_eq!(ok.pointer("/result/fullName"), Some(&json!("API User")));
    }
}
