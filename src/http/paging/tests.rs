//! Each paging style against a loopback server that pages a list of records the way the real
//! API does: which requests go out, where each list ends, and the guards.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap as AxHeaders, StatusCode, Uri};
use serde_json::{Value, json};

use super::*;
use crate::http::{NoAuth, RetryPolicy};

type Answer = (StatusCode, Vec<(&'static str, String)>, Value);
type Handler = Arc<dyn Fn(&str, &BTreeMap<String, String>, &AxHeaders) -> Answer + Send + Sync>;

/// A server answering every request with `handler(path, query, headers)`; returns its URL and the
/// requests it saw (path and query).
async fn server(handler: Handler) -> (Url, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: AxHeaders| {
        let (handler, log) = (handler.clone(), log.clone());
        async move {
            let q: BTreeMap<String, String> = uri
                .query()
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default();
            log.lock().unwrap().push(match uri.query() {
                Some(q) => format!("{}?{q}", uri.path()),
                None => uri.path().to_string(),
            });
            let (status, extra, body) = handler(uri.path(), &q, &headers);
            let mut resp = axum::response::Response::builder().status(status);
            for (k, v) in extra {
                resp = resp.header(k, v);
            }
            resp.header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/api/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn client(url: Url) -> HttpClient {
    HttpClient::new("c", url, Arc::new(NoAuth), RetryPolicy::default())
}

fn records(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| json!({"id": i, "name": format!("r{i}")}))
        .collect()
}

fn num(q: &BTreeMap<String, String>, k: &str) -> Option<usize> {
    q.get(k).and_then(|v| v.parse().ok())
}

#[derive(serde::Deserialize, Debug)]
struct Rec {
    id: i64,
}

async fn ids(pages: Pages<'_, Rec>) -> Result<Vec<i64>, ConnectorError> {
    Ok(pages
        .all(&|_| {})
        .await?
        .into_iter()
        .map(|(r, _)| r.id)
        .collect())
}

#[tokio::test]
async fn keyset_pages_after_the_last_id_until_a_short_page() {
    let all = records(5);
    let (url, seen) = server(Arc::new(move |_, q, _| {
        let size = num(q, "pageSize").unwrap();
        let after = num(q, "after").unwrap_or(0);
        let page: Vec<Value> = all.iter().skip(after).take(size).cloned().collect();
        (StatusCode::OK, vec![], Value::Array(page))
    }))
    .await;
    let c = client(url);
    let paging = Paging::Keyset {
        size: Param::new("pageSize", 2),
        after: "after",
        id: "/id",
    };
    let got = ids(c.pages(Request::get("devices"), paging, ""))
        .await
        .unwrap();
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "/api/devices?pageSize=2",
            "/api/devices?pageSize=2&after=2",
            "/api/devices?pageSize=2&after=4"
        ]
    );
}

#[tokio::test]
async fn keyset_refuses_ids_that_do_not_increase() {
    let (url, _) = server(Arc::new(|_, _, _| {
        (StatusCode::OK, vec![], json!([{"id": 1}, {"id": 1}]))
    }))
    .await;
    let c = client(url);
    let paging = Paging::Keyset {
        size: Param::new("pageSize", 2),
        after: "after",
        id: "/id",
    };
    let err = ids(c.pages(Request::get("d"), paging, ""))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("ids that do not increase"),
        "{err}"
    );
}

#[tokio::test]
async fn numbered_pages_follow_link_headers_or_stop_on_a_short_page() {
    let all = records(5);
    let (url, seen) = server(Arc::new(move |path, q, _| {
        let page = num(q, "page").unwrap();
        let size = num(q, "pageSize").unwrap();
        let chunk: Vec<Value> = all
            .iter()
            .skip((page - 1) * size)
            .take(size)
            .cloned()
            .collect();
        let mut headers = vec![];
        // `linked` sends navigable-mode Link headers; the other path sends none.
        if path.ends_with("linked") {
            let rel = if page * size < 5 { "next" } else { "prev" };
            headers.push((
                "link",
                format!("<http://x/?page={}>; rel=\"{rel}\"", page + 1),
            ));
        }
        (StatusCode::OK, headers, Value::Array(chunk))
    }))
    .await;
    let c = client(url);
    let paging = Paging::Numbered {
        page: "page",
        first: 1,
        size: Some(Param::new("pageSize", 5)),
        end: End::LinkOrShortPage,
    };
    // A full last page and no Link header: one more request finds the end.
    assert_eq!(
        ids(c.pages(Request::get("plain"), paging.clone(), ""))
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
    // With Link headers the full last page is known to be the last.
    seen.lock().unwrap().clear();
    assert_eq!(
        ids(c.pages(Request::get("linked"), paging, ""))
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(*seen.lock().unwrap(), ["/api/linked?page=1&pageSize=5"]);
}

#[tokio::test]
async fn numbered_pages_stop_at_the_stated_pages_or_records() {
    let all = records(7);
    let (url, seen) = server(Arc::new(move |path, q, _| {
        let page = num(q, "page").or(num(q, "page_no")).unwrap();
        let size = 3;
        let chunk: Vec<Value> = all
            .iter()
            .skip((page - 1) * size)
            .take(size)
            .cloned()
            .collect();
        let body = if path.ends_with("syncro") {
            json!({"customers": chunk, "meta": {"total_pages": 3}})
        } else {
            json!({"clients": chunk, "record_count": 7})
        };
        (StatusCode::OK, vec![], body)
    }))
    .await;
    let c = client(url);
    let syncro = Paging::Numbered {
        page: "page",
        first: 1,
        size: None,
        end: End::TotalPages("/meta/total_pages"),
    };
    assert_eq!(
        ids(c.pages(Request::get("syncro"), syncro, "/customers"))
            .await
            .unwrap()
            .len(),
        7
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
    seen.lock().unwrap().clear();
    let halo = Paging::Numbered {
        page: "page_no",
        first: 1,
        size: Some(Param::new("page_size", 3)),
        end: End::TotalRecords("/record_count"),
    };
    let mut pages = c.pages::<Rec>(
        Request::get("halo").query("pageinate", true),
        halo,
        "/clients",
    );
    let mut n = 0;
    while let Some(p) = pages.next().await.unwrap() {
        n += p.items.len();
    }
    assert_eq!((n, pages.total()), (7, Some(7)));
    assert_eq!(
        seen.lock().unwrap()[2],
        "/api/halo?pageinate=true&page_no=3&page_size=3"
    );
}

#[tokio::test]
async fn a_list_stated_empty_may_leave_its_array_out_but_not_otherwise() {
    let (url, _) = server(Arc::new(|path, _, _| {
        let body = if path.ends_with("empty") {
            json!({"record_count": 0})
        } else {
            json!({"record_count": 3})
        };
        (StatusCode::OK, vec![], body)
    }))
    .await;
    let c = client(url);
    let halo = Paging::Numbered {
        page: "page_no",
        first: 1,
        size: Some(Param::new("page_size", 3)),
        end: End::TotalRecords("/record_count"),
    };
    assert!(
        ids(c.pages(Request::get("empty"), halo.clone(), "/clients"))
            .await
            .unwrap()
            .is_empty()
    );
    let err = ids(c.pages(Request::get("full"), halo, "/clients"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`clients` is missing"), "{err}");
}

#[tokio::test]
async fn a_null_or_missing_list_is_empty_where_the_api_says_none_that_way() {
    let (url, _) = server(Arc::new(|path, _, _| {
        let body = match path {
            "/api/null" => json!({"items": null}),
            "/api/missing" => json!({}),
            "/api/some" => json!({"items": [{"id": 1}]}),
            _ => json!([{"id": 1}]),
        };
        (StatusCode::OK, vec![], body)
    }))
    .await;
    let c = client(url);
    for (path, n) in [("null", 0), ("missing", 0), ("some", 1)] {
        let pages = c
            .pages::<Rec>(Request::get(path), Paging::Single, "/items")
            .none_when_absent();
        assert_eq!(ids(pages).await.unwrap().len(), n, "{path}");
    }
    // Without the option a null list is an error; with it, a body of another shape still is.
    let err = ids(c.pages(Request::get("null"), Paging::Single, "/items"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no `items` list"), "{err}");
    let pages = c
        .pages::<Rec>(Request::get("array"), Paging::Single, "/items")
        .none_when_absent();
    assert!(ids(pages).await.is_err());
}

#[tokio::test]
async fn offsets_skip_what_was_read_and_stop_at_the_total() {
    let all = records(4);
    let (url, seen) = server(Arc::new(move |_, q, _| {
        let (skip, limit) = (num(q, "skip").unwrap(), num(q, "limit").unwrap());
        let chunk: Vec<Value> = all.iter().skip(skip).take(limit).cloned().collect();
        (
            StatusCode::OK,
            vec![],
            json!({"totalCount": 4, "results": chunk}),
        )
    }))
    .await;
    let c = client(url);
    let paging = Paging::Offset {
        offset: "skip",
        size: Param::new("limit", 2),
        total: Some("/totalCount"),
    };
    let got = ids(c.pages(Request::get("users"), paging.clone(), "/results"))
        .await
        .unwrap();
    assert_eq!(got, vec![1, 2, 3, 4]);
    // The total says the second full page was the last: no empty third request.
    assert_eq!(
        *seen.lock().unwrap(),
        ["/api/users?limit=2&skip=0", "/api/users?limit=2&skip=2"]
    );
    // `rest` reads what `next` left and keeps the pager, whose total can then be asked.
    let mut pages = c.pages::<Rec>(Request::get("users"), paging, "/results");
    let first = pages.next().await.unwrap().unwrap();
    let rest = pages.rest(&|_| {}).await.unwrap();
    assert_eq!((first.items.len(), rest.len()), (2, 2));
    assert_eq!((pages.total(), pages.read()), (Some(4), 4));
}

#[tokio::test]
async fn cursors_are_sent_back_until_null_and_a_repeated_one_is_refused() {
    let (url, seen) = server(Arc::new(|path, q, _| {
        let next = match (path.ends_with("loop"), q.get("cursor").map(String::as_str)) {
            (true, _) => json!("same"),
            (false, None) => json!("c1"),
            (false, Some("c1")) => json!("c2"),
            _ => Value::Null,
        };
        let body = json!({"data": [{"id": 1}], "pagination": {"nextCursor": next}});
        (StatusCode::OK, vec![], body)
    }))
    .await;
    let c = client(url);
    let paging = Paging::Cursor {
        size: Some(Param::new("limit", 1)),
        param: "cursor",
        next: "/pagination/nextCursor",
    };
    assert_eq!(
        ids(c.pages(Request::get("agents"), paging.clone(), "/data"))
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(seen.lock().unwrap()[2], "/api/agents?limit=1&cursor=c2");
    let err = ids(c.pages(Request::get("loop"), paging, "/data"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cursor `same` twice"), "{err}");
}

#[tokio::test]
async fn next_urls_are_followed_on_our_origin_only_with_their_headers() {
    let (url, seen) = server(Arc::new(|path, q, headers| {
        let token = headers
            .get("ms-continuationtoken")
            .map(|v| v.to_str().unwrap().to_string());
        let body = match (path, q.get("$skiptoken").map(String::as_str), token.as_deref()) {
            ("/api/v1/skus", None, _) => json!({
                "value": [{"id": 1}],
                "@odata.nextLink": format!("http://{}/api/v1/skus?$skiptoken=a", "HOST")
            }),
            ("/api/v1/skus", Some("a"), _) => json!({"value": [{"id": 2}]}),
            ("/api/v1/subs", _, None) => json!({"items": [{"id": 1}], "links": {"next": {"uri": "/subs?page=2", "headers": [{"key": "MS-ContinuationToken", "value": "t1"}]}}}),
            ("/api/v1/subs", _, Some("t1")) => json!({"items": [{"id": 2}]}),
            ("/api/v1/away", _, _) => json!({"value": [], "@odata.nextLink": "https://elsewhere.example/x"}),
            _ => json!({"value": [{"id": 9}], "@odata.nextLink": "v1/same"}),
        };
        (StatusCode::OK, vec![], body)
    }))
    .await;
    let host = url.host_str().unwrap().to_string() + ":" + &url.port().unwrap().to_string();
    let c = client(url);
    let graph = Paging::next_link(move |b| {
        b.pointer("/@odata.nextLink")
            .and_then(Value::as_str)
            .map(|u| NextLink {
                url: u.replace("HOST", &host),
                headers: vec![],
            })
    });
    assert_eq!(
        ids(c.pages(
            Request::get("v1/skus").query("$top", 1),
            graph.clone(),
            "/value"
        ))
        .await
        .unwrap(),
        vec![1, 2]
    );
    // The next link carries its own query: the first request's `$top` is not added to it.
    assert_eq!(seen.lock().unwrap()[1], "/api/v1/skus?%24skiptoken=a");
    let pc = Paging::next_link(|b| {
        let next = b.pointer("/links/next")?;
        Some(NextLink {
            url: format!("v1{}", next.get("uri")?.as_str()?),
            headers: next
                .get("headers")?
                .as_array()?
                .iter()
                .filter_map(|h| Some((h["key"].as_str()?.into(), h["value"].as_str()?.into())))
                .collect(),
        })
    });
    assert_eq!(
        ids(c.pages(Request::get("v1/subs"), pc, "/items"))
            .await
            .unwrap(),
        vec![1, 2]
    );
    let err = ids(c.pages(Request::get("v1/away"), graph.clone(), "/value"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not sending the credentials there"),
        "{err}"
    );
    seen.lock().unwrap().clear();
    let err = ids(c.pages(Request::get("v1/same"), graph, "/value"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("paging would never end"), "{err}");
    // A link back to the page just read is refused before it is asked for again.
    assert_eq!(*seen.lock().unwrap(), ["/api/v1/same"]);
}

#[tokio::test]
async fn bad_records_and_bad_pages_are_named_by_place() {
    let (url, _) = server(Arc::new(|path, _, _| {
        let body = if path.ends_with("bad") {
            json!({"data": [{"id": 1}, {"id": "x"}]})
        } else {
            json!({"data": {"id": 1}})
        };
        (StatusCode::OK, vec![], body)
    }))
    .await;
    let c = client(url);
    let err = ids(c.pages(Request::get("bad"), Paging::Single, "/data"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at `data[1].id`"), "{err}");
    let err = ids(c.pages(Request::get("shape"), Paging::Single, "/data"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a JSON array, got an object"),
        "{err}"
    );
}

#[test]
fn parses_link_headers() {
    let links = Link::parse_header(
        r#"<https://api-na.myconnectwise.net/v4_6_release/apis/3.0/company/companies?page=2&pageSize=2>; rel="next", <https://x/y?page=5>; rel="last""#,
    );
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].rel, "next");
    assert!(links[0].url.ends_with("page=2&pageSize=2"));
    assert_eq!(links[1].rel, "last");
    assert!(Link::parse_header("garbage").is_empty());
}

#[tokio::test]
async fn a_post_search_takes_its_page_numbers_in_the_body() {
    // A BMS-style search: `{PageSize, PageNumber, Filter}` in the body, `{result, totalRecords}`
    // back; 5 records 2 a page.
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = bodies.clone();
    let app = axum::Router::new().route(
        "/api/search",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(body.clone());
                let page = body["PageNumber"].as_u64().unwrap_or(0) as usize;
                let size = body["PageSize"].as_u64().unwrap_or(0) as usize;
                let items: Vec<Value> = records(5)
                    .into_iter()
                    .skip(page.saturating_sub(1) * size)
                    .take(size)
                    .collect();
                axum::Json(json!({"success": true, "result": items, "totalRecords": 5}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/api/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let c = client(url);
    let paging = Paging::Numbered {
        page: "PageNumber",
        first: 1,
        size: Some(Param::new("PageSize", 2)),
        end: End::TotalRecords("/totalRecords"),
    };
    let first = Request::post("search", json!({"Filter": {"IsActive": true}}));
    let got = ids(c.pages::<Rec>(first, paging, "/result")).await.unwrap();
    assert_eq!(got, [1, 2, 3, 4, 5]);
    let sent = bodies.lock().unwrap().clone();
    let pages: Vec<(u64, u64)> = sent
        .iter()
        .map(|b| {
            (
                b["PageNumber"].as_u64().unwrap(),
                b["PageSize"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pages, [(1, 2), (2, 2), (3, 2)]);
    assert!(
        sent.iter().all(|b| b["Filter"]["IsActive"] == true),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_next_row_number_pages_a_post_search() {
    // A Tigerpaw-style search: `{Criteria, PageSize, StartRow}` in the body, `{Accounts,
    // NextRow, TotalCount}` back, NextRow the first row of the next page (from 1); 5 records 2
    // a page; the last page says NextRow 0.
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = bodies.clone();
    let app = axum::Router::new().route(
        "/api/search",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(body.clone());
                let start = body["StartRow"].as_u64().unwrap_or(1) as usize;
                let size = body["PageSize"].as_u64().unwrap_or(0) as usize;
                let items: Vec<Value> = records(5).into_iter().skip(start - 1).take(size).collect();
                let next = if start + size > 5 { 0 } else { start + size };
                axum::Json(json!({"Accounts": items, "NextRow": next, "TotalCount": 5}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/api/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let c = client(url);
    let paging = Paging::Cursor {
        size: Some(Param::new("PageSize", 2)),
        param: "StartRow",
        next: "/NextRow",
    };
    let first = Request::post("search", json!({"Criteria": []}));
    let got = ids(c.pages::<Rec>(first, paging, "/Accounts"))
        .await
        .unwrap();
    assert_eq!(got, [1, 2, 3, 4, 5]);
    let starts: Vec<Option<u64>> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["StartRow"].as_u64())
        .collect();
    assert_eq!(starts, [None, Some(3), Some(5)]);
}
