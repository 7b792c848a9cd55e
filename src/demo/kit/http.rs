//! What every sandbox's handlers read and write: JSON answers and error bodies ([`reply`]),
//! query parameters ([`Query`]), a record by its id in the path ([`by_id`]) and the slice of a
//! list one page holds ([`Window`], [`pages`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// `body` as JSON with `status`: an answer, or an error body in the API's own shape.
pub fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Query parameters in order, keys as sent.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// The parameters of a raw query string (`RawQuery`), none when there is none.
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    /// Every parameter, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of a parameter, its name compared without case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a parameter is `true` (without case).
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A number parameter: `None` when absent, `Err(value as sent)` when it is not one.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| v.to_string()),
        }
    }

    /// A count parameter that must be 1 or more: `Err(value as sent)` when it is not.
    pub fn positive(&self, name: &str) -> Result<Option<usize>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(v.to_string()),
            },
        }
    }
}

/// The part of a list one page holds: `skip` records, then at most `take`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub skip: usize,
    pub take: usize,
}

impl Window {
    /// Page `number` (from 1) of pages of `size`.
    pub fn page(number: usize, size: usize) -> Window {
        Window {
            skip: number.max(1).saturating_sub(1).saturating_mul(size),
            take: size,
        }
    }

    /// `size` records from the `offset`-th (from 0).
    pub fn offset(offset: usize, size: usize) -> Window {
        Window {
            skip: offset,
            take: size,
        }
    }

    /// The records in the window.
    pub fn of<T>(self, all: impl IntoIterator<Item = T>) -> Vec<T> {
        all.into_iter().skip(self.skip).take(self.take).collect()
    }

    /// Where the next window starts.
    pub fn end(self) -> usize {
        self.skip.saturating_add(self.take)
    }

    /// Whether a list of `total` records goes on after the window.
    pub fn more(self, total: usize) -> bool {
        self.end() < total
    }
}

/// The record of `items` whose id is `raw` (a path segment), when `raw` is a number.
pub fn by_id<'a, T: 'a>(
    items: impl IntoIterator<Item = &'a T>,
    raw: &str,
    id: impl Fn(&T) -> i64,
) -> Option<&'a T> {
    let wanted = raw.parse::<i64>().ok()?;
    items.into_iter().find(|t| id(t) == wanted)
}

/// How many pages of `size` a list of `total` fills: one at least, an empty page.
pub fn pages(total: usize, size: usize) -> usize {
    total.div_ceil(size.max(1)).max(1)
}
