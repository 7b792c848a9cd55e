//! The two paging styles our APIs use, as loops on [`HttpClient`]:
//! - keyset: `pageSize` + `after=<id of the last item>` until a short page (NinjaOne);
//! - page numbers: `page` + `pageSize`, following an RFC 8288 `Link: <...>; rel="next"` header
//!   when the server sends one, else until a short page (ConnectWise);
//! - cursors: `limit` + `cursor=<pagination.nextCursor of the previous page>` until the cursor
//!   is null (SentinelOne).

use reqwest::header::{HeaderMap, LINK};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ConnectorError, HttpClient, decode_elements, kind_of, parse_json};

/// Stop runaway loops against a server that never sends a short page.
const MAX_PAGES: usize = 100_000;

/// One entry of a `Link` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub url: String,
    pub rel: String,
}

impl Link {
    /// Parses `<url>; rel="next", <url>; rel="last"`.
    pub fn parse_header(value: &str) -> Vec<Link> {
        value
            .split(',')
            .filter_map(|part| {
                let part = part.trim();
                let url = part.strip_prefix('<')?.split('>').next()?.to_string();
                let rel = part
                    .split(';')
                    .skip(1)
                    .filter_map(|p| p.trim().strip_prefix("rel="))
                    .map(|r| r.trim_matches('"').to_string())
                    .next()?;
                Some(Link { url, rel })
            })
            .collect()
    }

    fn from_headers(headers: &HeaderMap) -> Option<Vec<Link>> {
        let values: Vec<&str> = headers
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values.iter().flat_map(|v| Link::parse_header(v)).collect())
        }
    }
}

impl HttpClient {
    /// Reads every page of a keyset-paged list. `progress` gets the running record count.
    pub async fn get_all_after<T, F>(
        &self,
        path: &str,
        query: &[(&str, String)],
        page_size: usize,
        id_of: F,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<(T, String)>, ConnectorError>
    where
        T: DeserializeOwned,
        F: Fn(&T) -> i64,
    {
        let mut all = Vec::new();
        let mut pages = AfterPages::new(path, query, page_size);
        while let Some(page) = pages.next(self, &id_of).await? {
            all.extend(page);
            progress(all.len());
        }
        Ok(all)
    }

    /// Reads every page of a page-numbered list.
    pub async fn get_all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        page_size: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        let mut all = Vec::new();
        for page_no in 1..=MAX_PAGES {
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push(("page", page_no.to_string()));
            q.push(("pageSize", page_size.to_string()));
            let (page, headers) = self.get_list::<T>(path, &q).await?;
            let n = page.len();
            all.extend(page);
            progress(all.len());
            let more = match Link::from_headers(&headers) {
                Some(links) => links.iter().any(|l| l.rel == "next"),
                None => n == page_size,
            };
            if !more || n == 0 {
                return Ok(all);
            }
        }
        Err(too_many_pages(self.connection(), path))
    }
}

/// A keyset-paged list (`pageSize` + `after=<last id>`, ended by a short page) read one page
/// at a time, for callers that store each page before asking for the next.
pub struct AfterPages<'q> {
    path: String,
    query: &'q [(&'q str, String)],
    page_size: usize,
    after: Option<i64>,
    pages: usize,
    done: bool,
}

impl<'q> AfterPages<'q> {
    pub fn new(path: &str, query: &'q [(&'q str, String)], page_size: usize) -> AfterPages<'q> {
        AfterPages {
            path: path.to_string(),
            query,
            page_size,
            after: None,
            pages: 0,
            done: false,
        }
    }

    /// The next page, or `None` after the last one.
    pub async fn next<T, F>(
        &mut self,
        client: &HttpClient,
        id_of: F,
    ) -> Result<Option<Vec<(T, String)>>, ConnectorError>
    where
        T: DeserializeOwned,
        F: Fn(&T) -> i64,
    {
        if self.done {
            return Ok(None);
        }
        if self.pages == MAX_PAGES {
            return Err(too_many_pages(client.connection(), &self.path));
        }
        self.pages += 1;
        let mut q: Vec<(&str, String)> = self.query.to_vec();
        q.push(("pageSize", self.page_size.to_string()));
        if let Some(a) = self.after {
            q.push(("after", a.to_string()));
        }
        let (page, _) = client.get_list::<T>(&self.path, &q).await?;
        if page.len() < self.page_size {
            self.done = true;
            return Ok(Some(page));
        }
        let last = id_of(&page.last().expect("a full page has a last item").0);
        if let Some(a) = self.after.filter(|a| last <= *a) {
            return Err(ConnectorError::Invalid {
                connection: client.connection().into(),
                message: format!(
                    "GET {} returned ids that do not increase (after={a} gave last id {last}); paging would never end",
                    self.path
                ),
            });
        }
        self.after = Some(last);
        Ok(Some(page))
    }
}

/// One page of a cursor-paged list: its items (with their raw JSON), the next cursor and the
/// whole body (for anything else a caller wants from it).
#[derive(Debug)]
pub struct CursorPage<T> {
    pub items: Vec<(T, String)>,
    pub next_cursor: Option<String>,
    pub body: Value,
}

impl HttpClient {
    /// GET one page of a cursor-paged list: the items are the array at JSON pointer
    /// `items_at` (`/data`, `/data/sites`), the cursor is `/pagination/nextCursor`.
    pub async fn get_cursor_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        items_at: &str,
    ) -> Result<CursorPage<T>, ConnectorError> {
        let resp = self.get(path, query).await?;
        let connection = self.connection();
        let endpoint = resp.endpoint.as_str();
        let mut body = parse_json(connection, endpoint, &resp.body)?;
        let shape_error = |at: &str, detail: String| ConnectorError::Decode {
            connection: connection.into(),
            endpoint: endpoint.into(),
            path: at.into(),
            detail,
        };
        let next_cursor = match body.pointer("/pagination/nextCursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(shape_error(
                    "pagination.nextCursor",
                    format!("expected a string or null, got {}", kind_of(other)),
                ));
            }
        };
        let dotted = items_at.trim_start_matches('/').replace('/', ".");
        let elements = match body.pointer_mut(items_at).map(Value::take) {
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(shape_error(
                    &dotted,
                    format!("expected a JSON array, got {}", kind_of(&other)),
                ));
            }
            None => {
                return Err(shape_error(
                    &dotted,
                    "the list is missing from the response".into(),
                ));
            }
        };
        let items = decode_elements(connection, endpoint, &dotted, elements)?;
        Ok(CursorPage {
            items,
            next_cursor,
            body,
        })
    }

    /// Reads every page of a cursor-paged list (`limit` + `cursor`) until `nextCursor` is null.
    pub async fn get_all_cursor<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        items_at: &str,
        page_size: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        let mut all = Vec::new();
        let mut pages = CursorPages::new(path, query, items_at, page_size);
        while let Some(page) = pages.next(self).await? {
            all.extend(page);
            progress(all.len());
        }
        Ok(all)
    }
}

/// A cursor-paged list (`limit` + `cursor`, ended by a null `nextCursor`) read one page at a
/// time, for callers that store each page before asking for the next.
pub struct CursorPages<'q> {
    path: String,
    query: &'q [(&'q str, String)],
    items_at: String,
    page_size: usize,
    cursor: Option<String>,
    seen: std::collections::HashSet<String>,
    pages: usize,
    done: bool,
}

impl<'q> CursorPages<'q> {
    pub fn new(
        path: &str,
        query: &'q [(&'q str, String)],
        items_at: &str,
        page_size: usize,
    ) -> CursorPages<'q> {
        CursorPages {
            path: path.to_string(),
            query,
            items_at: items_at.to_string(),
            page_size,
            cursor: None,
            seen: std::collections::HashSet::new(),
            pages: 0,
            done: false,
        }
    }

    /// The next page, or `None` after the last one.
    pub async fn next<T: DeserializeOwned>(
        &mut self,
        client: &HttpClient,
    ) -> Result<Option<Vec<(T, String)>>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        if self.pages == MAX_PAGES {
            return Err(too_many_pages(client.connection(), &self.path));
        }
        self.pages += 1;
        let mut q: Vec<(&str, String)> = self.query.to_vec();
        q.push(("limit", self.page_size.to_string()));
        if let Some(c) = &self.cursor {
            q.push(("cursor", c.clone()));
        }
        let page = client
            .get_cursor_page::<T>(&self.path, &q, &self.items_at)
            .await?;
        match page.next_cursor {
            None => self.done = true,
            Some(next) => {
                if !self.seen.insert(next.clone()) {
                    return Err(ConnectorError::Invalid {
                        connection: client.connection().into(),
                        message: format!(
                            "GET {} returned the cursor `{next}` twice; paging would never end",
                            self.path
                        ),
                    });
                }
                self.cursor = Some(next);
            }
        }
        Ok(Some(page.items))
    }
}

fn too_many_pages(connection: &str, path: &str) -> ConnectorError {
    ConnectorError::Invalid {
        connection: connection.into(),
        message: format!("GET {path} kept returning full pages past {MAX_PAGES} pages; stopping"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
