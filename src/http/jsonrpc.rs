//! JSON-RPC 2.0 over the one client (Bitdefender GravityZone; N-able Cove later): each call is a
//! `POST` of `{"jsonrpc": "2.0", "method", "params", "id"}` to the service's path, answered by
//! `{"result": ...}` or `{"error": {"code", "message", "data"}}`. HTTP refusals, 429 and 5xx go
//! through the client as for any request; an `error` member in a 200 answer is
//! [`ConnectorError::Rpc`], naming the method. A call is a read and safe to repeat (only read
//! methods are called through here).
//!
//! Lists page inside `params` (`page` from 1, `perPage`) and answer `{page, pagesCount,
//! perPage, total, items}`: [`JsonRpc::all`] reads them to `pagesCount`, tolerantly, with the
//! same page cap and repeated-page guard as [`super::Pages`].

use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::decode::{Tolerant, decode_tolerant, parse_json, take_list};
use super::paging::MAX_PAGES;
use super::{ConnectorError, HttpClient, Request};

/// A JSON-RPC client over an [`HttpClient`].
pub struct JsonRpc {
    client: HttpClient,
    ids: AtomicU64,
}

impl JsonRpc {
    pub fn new(client: HttpClient) -> JsonRpc {
        JsonRpc {
            client,
            ids: AtomicU64::new(1),
        }
    }

    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// Calls `method` at `path` (relative to the client's base) and returns its `result`.
    pub async fn call(
        &self,
        path: &str,
        method: &str,
        params: Value,
    ) -> Result<Value, ConnectorError> {
        self.exchange(path, method, params).await.map(|(v, _)| v)
    }

    /// [`JsonRpc::call`], with the endpoint as messages name it (`POST /api/v1.0/jsonrpc/x`).
    async fn exchange(
        &self,
        path: &str,
        method: &str,
        params: Value,
    ) -> Result<(Value, String), ConnectorError> {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let body =
            json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id.to_string()});
        let resp = self.client.send(&Request::post(path, body)).await?;
        let endpoint = resp.endpoint;
        let connection = self.client.connection();
        let mut answer = parse_json(connection, &endpoint, &resp.body)?;
        if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
            let code = (error.get("code").and_then(Value::as_i64))
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(0);
            let mut message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_string();
            if let Some(details) = error.pointer("/data/details").and_then(Value::as_str) {
                message = format!("{message}: {details}");
            }
            return Err(ConnectorError::Rpc {
                connection: connection.into(),
                endpoint,
                method: method.into(),
                code,
                hint: rpc_hint(code).into(),
                message,
            });
        }
        match answer.get_mut("result") {
            Some(result) => Ok((result.take(), endpoint)),
            None => Err(ConnectorError::Decode {
                connection: connection.into(),
                endpoint,
                path: "result".into(),
                detail: format!("the answer to {method} has neither `result` nor `error`"),
            }),
        }
    }

    /// Every page of a paged list method: `params` (an object) with `page` and `perPage` added,
    /// read until `pagesCount`, the `items` of each decoded tolerantly (set-aside records are
    /// named `items[<index in the whole list>]`). `progress` gets the records read so far.
    pub async fn all<T: DeserializeOwned>(
        &self,
        path: &str,
        method: &str,
        params: Value,
        per_page: usize,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<Tolerant<T>, ConnectorError> {
        let mut out = Tolerant {
            records: Vec::new(),
            set_aside: Vec::new(),
        };
        let mut read = 0;
        let mut seen_first: Option<Value> = None;
        for page in 1..=MAX_PAGES {
            let mut p = params.clone();
            if let Some(o) = p.as_object_mut() {
                o.insert("page".into(), json!(page));
                o.insert("perPage".into(), json!(per_page));
            }
            let (mut result, endpoint) = self.exchange(path, method, p).await?;
            let connection = self.client.connection();
            let pages = result.get("pagesCount").and_then(Value::as_u64);
            let items = take_list(connection, &endpoint, &mut result, "/items", true)?;
            // A server that ignores `page` sends the first page again: stop rather than loop.
            if page > 1 && !items.is_empty() && seen_first.as_ref() == items.first() {
                return Err(ConnectorError::Invalid {
                    connection: connection.into(),
                    message: format!(
                        "{endpoint} ({method}) sent page 1 again when asked for page {page}; the list cannot be read to its end"
                    ),
                });
            }
            if page == 1 {
                seen_first = items.first().cloned();
            }
            let n = items.len();
            let got = decode_tolerant::<T>("items", read, items);
            out.records.extend(got.records);
            out.set_aside.extend(got.set_aside);
            read += n;
            progress(read);
            if n == 0 || pages.is_none_or(|total| page as u64 >= total) {
                return Ok(out);
            }
        }
        Err(ConnectorError::Invalid {
            connection: self.client.connection().into(),
            message: format!("{path} ({method}) still had pages after {MAX_PAGES}"),
        })
    }
}

/// What to do about a JSON-RPC error code.
fn rpc_hint(code: i32) -> &'static str {
    match code {
        -32601 => {
            "The server has no such method at this URL: check the connection's URL (the API's Access URL as the console shows it)"
        }
        -32600 | -32602 => {
            "The server refused the request's form; this version may not match the API: report it with the method name"
        }
        _ => "Check the message; run the command again later if it names a temporary fault",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Json;
    use axum::routing::post;

    use super::*;
    use crate::http::{NoAuth, RetryPolicy};

    /// A JSON-RPC server: `list` pages 5 numbers 2 a page (`pagesCount` 3), `broken` answers an
    /// error object, `odd` answers neither.
    async fn server() -> url::Url {
        let app = axum::Router::new().route(
            "/rpc",
            post(|Json(req): Json<Value>| async move {
                let id = req["id"].clone();
                assert_eq!(req["jsonrpc"], "2.0");
                Json(match req["method"].as_str() {
                    Some("list") => {
                        let page = req["params"]["page"].as_u64().unwrap() as usize;
                        let per = req["params"]["perPage"].as_u64().unwrap() as usize;
                        let items: Vec<Value> = (1..=5)
                            .skip((page - 1) * per)
                            .take(per)
                            .map(|n| if n == 4 { json!({"x": n}) } else { json!({"id": n}) })
                            .collect();
                        json!({"jsonrpc": "2.0", "id": id, "result": {"page": page, "pagesCount": 3, "perPage": per, "total": 5, "items": items}})
                    }
                    Some("broken") => {
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": "Invalid params", "data": {"details": "companyId is not valid"}}})
                    }
                    _ => json!({"jsonrpc": "2.0", "id": id}),
                })
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url::Url::parse(&format!("http://{addr}/")).unwrap()
    }

    #[derive(serde::Deserialize)]
    struct Rec {
        id: u64,
    }

    #[tokio::test]
    async fn pages_to_the_count_errors_name_the_method_and_records_are_read_tolerantly() {
        let base = server().await;
        let rpc = JsonRpc::new(HttpClient::new(
            "gz",
            base,
            Arc::new(NoAuth),
            RetryPolicy::default(),
        ));
        let got = rpc
            .all::<Rec>("rpc", "list", json!({"filters": {}}), 2, &|_| {})
            .await
            .unwrap();
        let ids: Vec<u64> = got.records.iter().map(|r| r.value.id).collect();
        assert_eq!(ids, [1, 2, 3, 5]);
        assert_eq!(got.set_aside, ["items[3]: missing field `id`"]);

        let e = rpc.call("rpc", "broken", json!({})).await.unwrap_err();
        let msg = e.to_string();
        for needle in [
            "connection `gz`",
            "POST /rpc answered the JSON-RPC error -32602 to broken",
            "Invalid params: companyId is not valid",
            "report it with the method name",
        ] {
            assert!(msg.contains(needle), "missing `{needle}` in {msg}");
        }
        let e = rpc.call("rpc", "odd", json!({})).await.unwrap_err();
        assert!(
            e.to_string().contains("neither `result` nor `error`"),
            "{e}"
        );
    }
}
