//! A JSON-RPC session chained by a visa (N-able Cove): `Login {partner, username, password}`
//! answers with a `visa` beside `result`; every later request carries the latest visa as a
//! top-level `visa` member, and every answer brings a fresh one. A visa lives 15 minutes, and a
//! request sent with an older one than the last answer's forks the chain, so calls are serial:
//! one at a time under one lock, each sending the visa the previous answer brought. A refused
//! visa (expired) is answered by one new login and the call sent again; a refused login is an
//! `Auth` error naming what to check.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{ConnectorError, HttpClient, Request, parse_json};

/// A visa-chained JSON-RPC client over an [`HttpClient`] without auth.
pub struct VisaRpc {
    client: HttpClient,
    path: String,
    partner: String,
    username: String,
    password: SecretString,
    /// What a refused login says to do.
    hint: String,
    /// The latest visa, and the partner id the login answered; held for a whole call.
    session: Mutex<Option<(String, Option<i64>)>>,
}

impl std::fmt::Debug for VisaRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisaRpc")
            .field("client", &self.client)
            .field("partner", &self.partner)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The parts of one answer: `result`, the fresh visa, or the error's code and message.
struct Answer {
    result: Option<Value>,
    visa: Option<String>,
    error: Option<(i64, String)>,
    endpoint: String,
}

impl VisaRpc {
    pub fn new(
        client: HttpClient,
        path: &str,
        login: (&str, &str, SecretString),
        hint: String,
    ) -> VisaRpc {
        VisaRpc {
            client,
            path: path.to_string(),
            partner: login.0.to_string(),
            username: login.1.to_string(),
            password: login.2,
            hint,
            session: Mutex::new(None),
        }
    }

    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    async fn post(
        &self,
        method: &str,
        params: Value,
        visa: Option<&str>,
    ) -> Result<Answer, ConnectorError> {
        let mut body = json!({"jsonrpc": "2.0", "id": "1", "method": method, "params": params});
        if let Some(v) = visa {
            body["visa"] = json!(v);
        }
        let resp = self.client.send(&Request::post(&self.path, body)).await?;
        let mut answer = parse_json(self.client.connection(), &resp.endpoint, &resp.body)?;
        let visa = answer
            .get("visa")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let error = answer.get("error").filter(|e| !e.is_null()).map(|e| {
            (
                e.get("code").and_then(Value::as_i64).unwrap_or(0),
                e.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
                    .to_string(),
            )
        });
        Ok(Answer {
            result: answer.get_mut("result").map(Value::take),
            visa,
            error,
            endpoint: resp.endpoint,
        })
    }

    /// `Login`: the first visa and the partner id it answers with.
    async fn login(&self) -> Result<(String, Option<i64>), ConnectorError> {
        let params = json!({
            "partner": self.partner,
            "username": self.username,
            "password": self.password.expose_secret(),
        });
        let a = self.post("Login", params, None).await?;
        let refused = |detail: String| ConnectorError::Auth {
            connection: self.client.connection().into(),
            endpoint: format!("{} (Login)", a.endpoint),
            status: 200,
            detail,
            hint: self.hint.clone(),
        };
        if let Some((code, message)) = a.error {
            return Err(refused(format!(": {message} (code {code})")));
        }
        let Some(visa) = a.visa else {
            return Err(refused(": the answer carried no visa".into()));
        };
        let partner = a.result.as_ref().and_then(|r| {
            r.pointer("/result/PartnerId")
                .or_else(|| r.get("PartnerId"))
                .and_then(Value::as_i64)
        });
        Ok((visa, partner))
    }

    /// The partner id the login answered with (logging in if needed).
    pub async fn partner_id(&self) -> Result<Option<i64>, ConnectorError> {
        let mut session = self.session.lock().await;
        if session.is_none() {
            *session = Some(self.login().await?);
        }
        Ok(session.as_ref().and_then(|s| s.1))
    }

    /// Calls `method` with the latest visa and returns its `result`; one new login when the
    /// visa is refused.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ConnectorError> {
        let mut session = self.session.lock().await;
        for attempt in 0..2 {
            if session.is_none() {
                *session = Some(self.login().await?);
            }
            let (visa, partner) = session.clone().expect("logged in above");
            let a = self.post(method, params.clone(), Some(&visa)).await?;
            // The chain goes on with the visa this answer brought.
            if let Some(v) = &a.visa {
                *session = Some((v.clone(), partner));
            }
            match a.error {
                None => {
                    return a.result.ok_or_else(|| ConnectorError::Decode {
                        connection: self.client.connection().into(),
                        endpoint: a.endpoint.clone(),
                        path: "result".into(),
                        detail: format!("the answer to {method} has neither `result` nor `error`"),
                    });
                }
                Some((_, message)) if attempt == 0 && message.to_lowercase().contains("visa") => {
                    tracing::debug!(connection = %self.client.connection(), method, "visa refused; logging in again");
                    *session = None;
                }
                Some((code, message)) => {
                    return Err(ConnectorError::Rpc {
                        connection: self.client.connection().into(),
                        endpoint: a.endpoint,
                        method: method.into(),
                        code: i32::try_from(code).unwrap_or(0),
                        message,
                        hint: "check that the API user may enumerate these partners and devices"
                            .into(),
                    });
                }
            }
        }
        unreachable!("the second attempt returns")
    }
}
