//! The one pager: every paging style the connected APIs use, behind [`Pages`], which owns the
//! page cap, the guard against a server that sends the same page again, and the same-origin
//! check on next-page links (a token is never sent to another host). Connectors say how a list
//! pages ([`Paging`]) and where its records are; they never write a paging loop.
//!
//! The styles:
//! - [`Paging::Keyset`]: a page size and `after=<id of the last record>`, until a short page
//!   (NinjaOne);
//! - [`Paging::Numbered`]: `page=1, 2, …` (in the JSON body of a `POST` search), until an RFC 8288 `Link: rel="next"` is missing or a
//!   short page (ConnectWise), the stated number of pages (Syncro) or records (HaloPSA);
//! - [`Paging::Offset`]: records to skip and a page size (`skip`/`limit`, `$skip`/`$top`), until
//!   a short page or the stated total (JumpCloud);
//! - [`Paging::Cursor`]: a cursor from the body sent back as a parameter, until it is null
//!   (SentinelOne);
//! - [`Paging::NextUrl`]: a next-page URL from the body, same method and body, until there is
//!   none (Microsoft Graph `@odata.nextLink`, Partner Center `links.next`, Autotask
//!   `pageDetails.nextPageUrl`);
//! - [`Paging::Single`]: one request (a list that answers whole).

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LINK};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::decode::{
    Read, Tolerant, decode_elements, decode_tolerant, dotted, kind_of, parse_json, take_list,
};
use super::{ConnectorError, HttpClient, RawResponse, Request};

/// Stops a runaway list against a server that always says there is another page.
pub const MAX_PAGES: usize = 100_000;

/// What sends a page's request: an [`HttpClient`], or a connector's own transport where every
/// request needs more than the client does (Autotask's zone lookup and request budget).
#[async_trait]
pub trait Transport: Send + Sync {
    fn connection(&self) -> &str;
    /// What request paths are relative to; next-page links must stay on its origin.
    fn base(&self) -> &Url;
    async fn send(&self, req: &Request) -> Result<RawResponse, ConnectorError>;
}

#[async_trait]
impl Transport for HttpClient {
    fn connection(&self) -> &str {
        HttpClient::connection(self)
    }
    fn base(&self) -> &Url {
        HttpClient::base(self)
    }
    async fn send(&self, req: &Request) -> Result<RawResponse, ConnectorError> {
        HttpClient::send(self, req).await
    }
}

/// A query parameter with a number: a page size (`pageSize=1000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub value: usize,
}

impl Param {
    pub fn new(name: &'static str, value: usize) -> Param {
        Param { name, value }
    }
}

/// How a page-numbered list says it has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// An RFC 8288 `Link` header without `rel="next"` when the server sends the header, else a
    /// page shorter than the page size (ConnectWise).
    LinkOrShortPage,
    /// The number of pages at this JSON pointer (Syncro `/meta/total_pages`); without it, the
    /// first empty page.
    TotalPages(&'static str),
    /// The number of records at this JSON pointer (HaloPSA `/record_count`); without it, a
    /// short page.
    TotalRecords(&'static str),
}

/// A next page as the API links it: a URL (absolute, or relative to the transport's base) and
/// headers to send with it (Partner Center's continuation token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextLink {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// Finds the next page's link in a page's body (the list already taken out), if any.
pub type FindNext = Arc<dyn Fn(&Value) -> Option<NextLink> + Send + Sync>;

/// How a list pages. The first request carries whatever else the list needs (filters, fields).
#[derive(Clone)]
pub enum Paging {
    /// `size` and `after=<id of the last record>` (the record field `id` is a JSON pointer into
    /// each record, such as `/id`); a page shorter than `size` is the last. Ids must increase.
    Keyset {
        size: Param,
        after: &'static str,
        id: &'static str,
    },
    /// `page=1, 2, …` (the parameter `page`), with an optional page size; `first` is the first
    /// page's number (1, or 0 for APIs that count from zero: Pax8).
    Numbered {
        page: &'static str,
        first: u64,
        size: Option<Param>,
        end: End,
    },
    /// `offset` = records read so far, with a page size; ends on a short page, or once the
    /// total at the JSON pointer `total` is read.
    Offset {
        offset: &'static str,
        size: Param,
        total: Option<&'static str>,
    },
    /// A cursor at the JSON pointer `next` of each body, sent back as `param`; a null or empty
    /// cursor ends the list. A whole number is a next row (sent back as a number in a search
    /// body); 0, or an empty page, ends it.
    Cursor {
        size: Option<Param>,
        param: &'static str,
        next: &'static str,
    },
    /// A next-page link found in each body; no link ends the list.
    NextUrl(FindNext),
    /// One request.
    Single,
}

impl std::fmt::Debug for Paging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Paging::Keyset { size, after, id } => f
                .debug_struct("Keyset")
                .field("size", size)
                .field("after", after)
                .field("id", id)
                .finish(),
            Paging::Numbered {
                page,
                first,
                size,
                end,
            } => f
                .debug_struct("Numbered")
                .field("page", page)
                .field("first", first)
                .field("size", size)
                .field("end", end)
                .finish(),
            Paging::Offset {
                offset,
                size,
                total,
            } => f
                .debug_struct("Offset")
                .field("offset", offset)
                .field("size", size)
                .field("total", total)
                .finish(),
            Paging::Cursor { size, param, next } => f
                .debug_struct("Cursor")
                .field("size", size)
                .field("param", param)
                .field("next", next)
                .finish(),
            Paging::NextUrl(_) => f.write_str("NextUrl"),
            Paging::Single => f.write_str("Single"),
        }
    }
}

impl Paging {
    /// [`Paging::NextUrl`] with the link a string at a JSON pointer (`/@odata.nextLink`).
    pub fn next_url_at(pointer: &'static str) -> Paging {
        Paging::NextUrl(Arc::new(move |body: &Value| {
            body.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|url| NextLink {
                    url: url.to_string(),
                    headers: Vec::new(),
                })
        }))
    }

    /// [`Paging::NextUrl`] with a finder of its own.
    pub fn next_link(find: impl Fn(&Value) -> Option<NextLink> + Send + Sync + 'static) -> Paging {
        Paging::NextUrl(Arc::new(find))
    }
}

/// One page of a list: its records with their raw JSON, the rest of the body (totals, metadata)
/// and the response headers.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<(T, String)>,
    /// Per item, the fields whose odd values were read as unknown (only [`Pages::tolerant`]).
    pub odd: Vec<Vec<String>>,
    /// Records set aside because they cannot be attributed (only [`Pages::tolerant`]).
    pub set_aside: Vec<String>,
    pub body: Value,
    pub headers: HeaderMap,
    /// `GET /v2/devices`, for messages.
    pub endpoint: String,
}

/// A list read page by page. [`Pages::next`] gives one page at a time (for callers that store
/// each page before asking for the next), [`Pages::all`] the whole list.
pub struct Pages<'t, T> {
    transport: &'t dyn Transport,
    first: Request,
    paging: Paging,
    items_at: &'static str,
    /// The request for the next page; `None` once the list has ended.
    next: Option<Request>,
    pages: usize,
    read: usize,
    last_id: Option<i64>,
    total: Option<u64>,
    /// A missing or null list is an empty page ([`Pages::none_when_absent`]).
    none_when_absent: bool,
    /// Records are read by [`decode_tolerant`] ([`Pages::tolerant`]).
    tolerant: bool,
    seen: HashSet<String>,
    _t: PhantomData<fn() -> T>,
}

impl HttpClient {
    /// The pages of the list `first` asks for, paged as `paging` says, its records the array
    /// at the JSON pointer `items_at` (`""` when the body is the array).
    pub fn pages<T: DeserializeOwned>(
        &self,
        first: Request,
        paging: Paging,
        items_at: &'static str,
    ) -> Pages<'_, T> {
        Pages::new(self, first, paging, items_at)
    }
}

impl<'t, T: DeserializeOwned> Pages<'t, T> {
    pub fn new(
        transport: &'t dyn Transport,
        first: Request,
        paging: Paging,
        items_at: &'static str,
    ) -> Pages<'t, T> {
        let mut req = first.clone();
        match &paging {
            Paging::Keyset { size, .. } => push(&mut req, size.name, size.value),
            Paging::Numbered {
                page, first, size, ..
            } => {
                push(&mut req, page, *first);
                if let Some(s) = size {
                    push(&mut req, s.name, s.value);
                }
            }
            Paging::Offset { offset, size, .. } => {
                push(&mut req, size.name, size.value);
                push(&mut req, offset, 0);
            }
            Paging::Cursor { size, .. } => {
                if let Some(s) = size {
                    push(&mut req, s.name, s.value);
                }
            }
            Paging::NextUrl(_) | Paging::Single => {}
        }
        // A next link back to the first page is a loop too, caught before it is sent again.
        let seen = match &paging {
            Paging::NextUrl(_) => HashSet::from([page_key(&req, &[])]),
            _ => HashSet::new(),
        };
        Pages {
            transport,
            first,
            paging,
            items_at,
            next: Some(req),
            pages: 0,
            read: 0,
            last_id: None,
            total: None,
            none_when_absent: false,
            tolerant: false,
            seen,
            _t: PhantomData,
        }
    }

    /// For APIs that write "no records" as a null or missing list (Sherweb's `items: null`):
    /// such a page is empty rather than a decode error. Without it, only a page whose stated
    /// total is 0 may leave its list out.
    pub fn none_when_absent(mut self) -> Pages<'t, T> {
        self.none_when_absent = true;
        self
    }

    /// Records are read by [`decode_tolerant`]: an odd field is unknown for its record, a record
    /// that cannot be attributed is set aside in [`Page::set_aside`]; neither fails the list.
    pub fn tolerant(mut self) -> Pages<'t, T> {
        self.tolerant = true;
        self
    }

    /// The whole list, read as [`Pages::tolerant`] says; `progress` as for [`Pages::all`].
    pub async fn all_tolerant(
        self,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Tolerant<T>, ConnectorError> {
        self.collect_tolerant(progress, false).await
    }

    /// [`Pages::all_tolerant`], each set-aside line led by the endpoint of the page that sent it
    /// (`GET /v1/subscriptions content[2]: ...`), for callers that keep the lines as they are.
    pub async fn all_tolerant_named(
        self,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Tolerant<T>, ConnectorError> {
        self.collect_tolerant(progress, true).await
    }

    async fn collect_tolerant(
        mut self,
        progress: &(dyn Fn(usize) + Sync),
        named: bool,
    ) -> Result<Tolerant<T>, ConnectorError> {
        self.tolerant = true;
        let mut out = Tolerant {
            records: Vec::new(),
            set_aside: Vec::new(),
        };
        while let Some(page) = self.next().await? {
            let endpoint = &page.endpoint;
            out.set_aside
                .extend(page.set_aside.iter().map(|s| match named {
                    true => format!("{endpoint} {s}"),
                    false => s.clone(),
                }));
            let read = page.items.into_iter().zip(page.odd);
            out.records
                .extend(read.map(|((value, raw), odd)| Read { value, raw, odd }));
            progress(out.records.len());
        }
        Ok(out)
    }

    /// The record count the API last stated (styles with a total), for completeness checks.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Records read so far.
    pub fn read(&self) -> usize {
        self.read
    }

    /// The whole list; `progress` gets the running record count after each page.
    pub async fn all(
        mut self,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        self.rest(progress).await
    }

    /// Every page not read yet (the whole list, on a fresh one), keeping the pager so that
    /// [`Pages::total`] can be asked afterwards; `progress` as for [`Pages::all`].
    pub async fn rest(
        &mut self,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<(T, String)>, ConnectorError> {
        let mut all = Vec::new();
        while let Some(page) = self.next().await? {
            all.extend(page.items);
            progress(all.len());
        }
        Ok(all)
    }

    /// The next page, or `None` after the last one.
    pub async fn next(&mut self) -> Result<Option<Page<T>>, ConnectorError> {
        let Some(req) = self.next.take() else {
            return Ok(None);
        };
        self.pages += 1;
        if self.pages > MAX_PAGES {
            return Err(self.invalid(format!(
                "{} {} kept saying there is another page past {MAX_PAGES} pages; stopping",
                self.first.method, self.first.path
            )));
        }
        let resp = self.transport.send(&req).await?;
        let connection = self.transport.connection();
        let endpoint = resp.endpoint.clone();
        let mut body = parse_json(connection, &endpoint, &resp.body)?;
        let total = match &self.paging {
            Paging::Numbered {
                end: End::TotalPages(at) | End::TotalRecords(at),
                ..
            }
            | Paging::Offset {
                total: Some(at), ..
            } => count_at(connection, &endpoint, &body, at)?,
            _ => None,
        };
        if total.is_some() {
            self.total = total;
        }
        let elements = take_list(
            connection,
            &endpoint,
            &mut body,
            self.items_at,
            // A list stated to be empty may leave its array out (HaloPSA).
            total == Some(0) || self.none_when_absent,
        )?;
        let n = elements.len();
        let last_id = match &self.paging {
            Paging::Keyset { id, .. } => elements.last().and_then(|e| e.pointer(id)).cloned(),
            _ => None,
        };
        let at = match dotted(self.items_at).as_str() {
            "." => String::new(),
            d => d.to_string(),
        };
        let (items, odd, set_aside) = if self.tolerant {
            let t = decode_tolerant::<T>(&at, self.read, elements);
            let (items, odd) = t
                .records
                .into_iter()
                .map(|r| ((r.value, r.raw), r.odd))
                .unzip();
            (items, odd, t.set_aside)
        } else {
            let items = decode_elements::<T>(connection, &endpoint, &at, elements)?;
            (items, Vec::new(), Vec::new())
        };
        self.read += n;
        self.next = self.following(req, n, last_id, total, &body, &resp.headers, &endpoint)?;
        Ok(Some(Page {
            items,
            odd,
            set_aside,
            body,
            headers: resp.headers,
            endpoint,
        }))
    }

    /// The request for the page after `sent`, which gave `n` records, or `None` at the end.
    #[allow(clippy::too_many_arguments)]
    fn following(
        &mut self,
        mut sent: Request,
        n: usize,
        last_id: Option<Value>,
        total: Option<u64>,
        body: &Value,
        headers: &HeaderMap,
        endpoint: &str,
    ) -> Result<Option<Request>, ConnectorError> {
        match self.paging.clone() {
            Paging::Single => Ok(None),
            Paging::Keyset { size, after, id } => {
                if n < size.value || n == 0 {
                    return Ok(None);
                }
                let last = last_id.as_ref().and_then(Value::as_i64).ok_or_else(|| {
                    ConnectorError::Decode {
                        connection: self.transport.connection().into(),
                        endpoint: endpoint.into(),
                        path: format!("{}[{}]{}", dotted(self.items_at), n - 1, dotted(id)),
                        detail: format!(
                            "expected a whole-number id to page on, got {}",
                            last_id.as_ref().map(kind_of).unwrap_or("nothing")
                        ),
                    }
                })?;
                if let Some(a) = self.last_id.filter(|a| last <= *a) {
                    return Err(self.invalid(format!(
                        "{endpoint} returned ids that do not increase ({after}={a} gave last id {last}); paging would never end"
                    )));
                }
                self.last_id = Some(last);
                set(&mut sent, after, last);
                Ok(Some(sent))
            }
            Paging::Numbered {
                page,
                first,
                size,
                end,
            } => {
                let more = match end {
                    End::LinkOrShortPage => match Link::from_headers(headers) {
                        Some(links) => links.iter().any(|l| l.rel == "next"),
                        None => size.is_none_or(|s| n == s.value),
                    },
                    End::TotalPages(_) => match total {
                        Some(t) => (self.pages as u64) < t,
                        None => n > 0,
                    },
                    End::TotalRecords(_) => match total {
                        Some(t) => (self.read as u64) < t,
                        None => size.is_none_or(|s| n == s.value),
                    },
                };
                if !more || n == 0 {
                    return Ok(None);
                }
                set(&mut sent, page, first + self.pages as u64);
                Ok(Some(sent))
            }
            Paging::Offset { offset, size, .. } => {
                let all_read = self.total.is_some_and(|t| self.read as u64 >= t);
                if n < size.value || n == 0 || all_read {
                    return Ok(None);
                }
                set(&mut sent, offset, self.read);
                Ok(Some(sent))
            }
            Paging::Cursor { param, next, .. } => {
                let cursor = match body.pointer(next) {
                    None | Some(Value::Null) => return Ok(None),
                    Some(Value::String(s)) if s.is_empty() => return Ok(None),
                    Some(Value::String(s)) => s.clone(),
                    // A next row number (Tigerpaw's `NextRow`); 0 or an empty page ends.
                    Some(Value::Number(row)) if row.as_u64().is_some() => {
                        if row.as_u64() == Some(0) || n == 0 {
                            return Ok(None);
                        }
                        row.to_string()
                    }
                    Some(other) => {
                        return Err(ConnectorError::Decode {
                            connection: self.transport.connection().into(),
                            endpoint: endpoint.into(),
                            path: dotted(next),
                            detail: format!("expected a string or null, got {}", kind_of(other)),
                        });
                    }
                };
                if !self.seen.insert(cursor.clone()) {
                    return Err(self.invalid(format!(
                        "{endpoint} returned the cursor `{cursor}` twice; paging would never end"
                    )));
                }
                set(&mut sent, param, cursor);
                Ok(Some(sent))
            }
            Paging::NextUrl(find) => {
                let Some(link) = find(body) else {
                    return Ok(None);
                };
                let (path, query) = self.on_our_origin(&link.url)?;
                let mut req = self.first.clone();
                req.path = path;
                req.query = query;
                for (k, v) in &link.headers {
                    let name = HeaderName::from_bytes(k.as_bytes()).ok();
                    let value = HeaderValue::from_str(v).ok();
                    let (Some(name), Some(value)) = (name, value) else {
                        return Err(self.invalid(format!(
                            "{endpoint} sent a next-page header `{k}` that cannot be sent back"
                        )));
                    };
                    req.headers.insert(name, value);
                }
                if !self.seen.insert(page_key(&req, &link.headers)) {
                    return Err(self.invalid(format!(
                        "{endpoint} sent the same next page twice; paging would never end. Please report this"
                    )));
                }
                Ok(Some(req))
            }
        }
    }

    /// A next-page link (absolute, or relative to the base) as a path under the base and a
    /// query; a link to another origin is refused, so credentials go nowhere else.
    fn on_our_origin(&self, link: &str) -> Result<(String, Vec<(String, String)>), ConnectorError> {
        let base = self.transport.base();
        let url = if link.contains("://") {
            Url::parse(link)
        } else {
            base.join(&format!("{}/", base.path().trim_end_matches('/')))
                .and_then(|b| b.join(link.trim_start_matches('/')))
        }
        .map_err(|e| {
            self.invalid(format!(
                "the API sent a next-page link `{link}` that is not a URL ({e})"
            ))
        })?;
        if url.origin() != base.origin() {
            return Err(self.invalid(format!(
                "the API sent a next-page link to {}, not to {}; it was not followed (not sending the credentials there)",
                url.origin().ascii_serialization(),
                base.origin().ascii_serialization()
            )));
        }
        let prefix = base.path().trim_end_matches('/');
        let path = url
            .path()
            .strip_prefix(prefix)
            .unwrap_or(url.path())
            .trim_start_matches('/')
            .to_string();
        Ok((path, url.query_pairs().into_owned().collect()))
    }

    fn invalid(&self, message: String) -> ConnectorError {
        ConnectorError::Invalid {
            connection: self.transport.connection().into(),
            message,
        }
    }
}

/// What tells one next-URL page from another: where it goes and the link's headers.
fn page_key(req: &Request, link_headers: &[(String, String)]) -> String {
    format!("{} {:?} {:?}", req.path, req.query, link_headers)
}

fn push(req: &mut Request, name: &str, value: impl ToString) {
    if !in_body(req, name, &value.to_string()) {
        req.query.push((name.to_string(), value.to_string()));
    }
}

/// Sets a query parameter, replacing an earlier value in its place.
fn set(req: &mut Request, name: &str, value: impl ToString) {
    if in_body(req, name, &value.to_string()) {
        return;
    }
    match req.query.iter_mut().find(|(k, _)| k == name) {
        Some((_, v)) => *v = value.to_string(),
        None => push(req, name, value),
    }
}

/// A search read with `POST` and a JSON object body (Kaseya BMS's `…/search`) takes its paging
/// in the body, a number as a number: sets it there and says so.
fn in_body(req: &mut Request, name: &str, value: &str) -> bool {
    if req.method != reqwest::Method::POST {
        return false;
    }
    let Some(Value::Object(body)) = req.body.as_mut() else {
        return false;
    };
    let v = match value.parse::<u64>() {
        Ok(n) => Value::from(n),
        Err(_) => Value::from(value),
    };
    body.insert(name.to_string(), v);
    true
}

/// A count at a JSON pointer: absent or null is `None`; anything but a whole number is an error.
fn count_at(
    connection: &str,
    endpoint: &str,
    body: &Value,
    at: &str,
) -> Result<Option<u64>, ConnectorError> {
    match body.pointer(at) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| ConnectorError::Decode {
            connection: connection.into(),
            endpoint: endpoint.into(),
            path: dotted(at),
            detail: format!("expected a count, got {v}"),
        }),
    }
}

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

#[cfg(test)]
mod tests;
