//! Path-aware JSON decoding: a bad record is named by its place in the body and its field
//! (`data.sites[3].id`), a cut-off body is told apart from a record of the wrong shape, and each
//! decoded record keeps its compact JSON for audits.
//!
//! [`decode_tolerant`] is the rule for records read from a list: a field whose value the wire
//! type cannot read (null where a value was expected, out of range, an unknown enum, the wrong
//! type) is dropped and read as absent, so it is unknown for that record only; the record is
//! set aside (counted, named, never fatal) only when a field it cannot do without is unreadable.
//! What a record cannot do without is what its wire type requires (a field with no
//! `#[serde(default)]`): its id, its account. Only a body that is not the documented list at all
//! fails the sync.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ConnectorError;

/// Decodes a JSON array, element by element, naming the index and field of any bad element.
pub fn decode_list<T: DeserializeOwned>(
    connection: &str,
    endpoint: &str,
    body: &[u8],
) -> Result<Vec<(T, String)>, ConnectorError> {
    let value: Value = parse_json(connection, endpoint, body)?;
    let Value::Array(elements) = value else {
        return Err(ConnectorError::Decode {
            connection: connection.into(),
            endpoint: endpoint.into(),
            path: ".".into(),
            detail: format!("expected a JSON array, got {}", kind_of(&value)),
        });
    };
    decode_elements(connection, endpoint, "", elements)
}

/// Decodes the elements of a JSON array found at `at` (`""` for the top level, `data.sites`),
/// each with its compact JSON kept; errors name the element and field (`data.sites[3].id`).
pub fn decode_elements<T: DeserializeOwned>(
    connection: &str,
    endpoint: &str,
    at: &str,
    elements: Vec<Value>,
) -> Result<Vec<(T, String)>, ConnectorError> {
    elements
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let raw = v.to_string();
            serde_path_to_error::deserialize::<_, T>(v)
                .map(|t| (t, raw))
                .map_err(|e| decode_error(connection, endpoint, &format!("{at}[{i}]"), e))
        })
        .collect()
}

/// Records decoded by [`decode_tolerant`].
#[derive(Debug)]
pub struct Tolerant<T> {
    pub records: Vec<Read<T>>,
    /// One line per record set aside: where it was and why (`[3]: missing field \`id\``).
    pub set_aside: Vec<String>,
}

/// One record read: the value, its compact JSON as sent, and the fields (dotted paths within
/// the record, `lastContact`, `owner.name`) whose odd values were read as unknown.
#[derive(Debug)]
pub struct Read<T> {
    pub value: T,
    pub raw: String,
    pub odd: Vec<String>,
}

impl<T> Read<T> {
    /// The odd fields as one attribute value (`lastContact,name`), `None` when there are none.
    pub fn odd_fields(&self) -> Option<String> {
        (!self.odd.is_empty()).then(|| self.odd.join(","))
    }
}

/// What tolerant reading found across one sync's lists: the records set aside, each named by
/// the endpoint it came from, and how many records had fields read as unknown, and which fields
/// (by endpoint), for the snapshot's `status` note.
#[derive(Debug, Default)]
pub struct Oddities {
    pub set_aside: Vec<String>,
    records: usize,
    fields: Vec<String>,
}

impl Oddities {
    /// The records of `got`, read from `endpoint`, noting what was odd or set aside there.
    pub fn take<T>(&mut self, endpoint: &str, got: Tolerant<T>) -> Vec<Read<T>> {
        self.set_aside
            .extend(got.set_aside.iter().map(|s| format!("{endpoint} {s}")));
        for r in got.records.iter().filter(|r| !r.odd.is_empty()) {
            self.records += 1;
            for f in &r.odd {
                let f = format!("{endpoint} {f}");
                if !self.fields.contains(&f) {
                    self.fields.push(f);
                }
            }
        }
        got.records
    }

    /// The `meta` entry `status` shows (`records with odd fields read as unknown`: `2 (GET
    /// /api/Item baseprice, ...)`), `None` when no record had an odd field.
    pub fn note(&self) -> Option<(String, String)> {
        (self.records > 0).then(|| {
            (
                "records with odd fields read as unknown".to_string(),
                format!("{} ({})", self.records, self.fields.join(", ")),
            )
        })
    }
}

/// Decodes the elements of a JSON array found at `at` tolerantly (see the module header): a
/// field with an odd value is dropped and named in [`Read::odd`]; a record whose required
/// fields cannot be read is named in [`Tolerant::set_aside`] instead of failing the list.
/// `first` is the index in the whole list of the first element (records on earlier pages), so
/// a record set aside is named by its place in the list, not in its page.
pub fn decode_tolerant<T: DeserializeOwned>(
    at: &str,
    first: usize,
    elements: Vec<Value>,
) -> Tolerant<T> {
    let mut out = Tolerant {
        records: Vec::new(),
        set_aside: Vec::new(),
    };
    for (i, v) in elements.into_iter().enumerate() {
        let raw = v.to_string();
        match decode_record::<T>(v) {
            Ok((value, odd)) => out.records.push(Read { value, raw, odd }),
            Err(why) => out.set_aside.push(format!("{at}[{}]: {why}", first + i)),
        }
    }
    out
}

/// One record: each failing field is dropped in turn (a record has finitely many, so this
/// ends); a failure that dropping cannot cure (a required field) is the error returned.
fn decode_record<T: DeserializeOwned>(mut v: Value) -> Result<(T, Vec<String>), String> {
    let mut odd = Vec::new();
    loop {
        let e = match serde_path_to_error::deserialize::<_, T>(v.clone()) {
            Ok(t) => return Ok((t, odd)),
            Err(e) => e,
        };
        let path = e.path().to_string();
        let detail = e.into_inner().to_string();
        let field = field_of(&path);
        if field.is_empty() || !drop_field(&mut v, &field) {
            return Err(if path == "." {
                detail
            } else {
                format!("at `{path}`, {detail}")
            });
        }
        if !odd.contains(&field.join(".")) {
            odd.push(field.join("."));
        }
    }
}

/// The object keys of a serde path (`owner.tags[2]` is `owner`, `tags`): an odd element makes
/// the whole list it is in unknown, since a list missing one element would be wrong, not unknown.
fn field_of(path: &str) -> Vec<String> {
    if path == "." {
        return Vec::new();
    }
    path.split('.')
        .map(|seg| seg.split('[').next().unwrap_or("").to_string())
        .take_while(|seg| !seg.is_empty())
        .collect()
}

/// Removes the member at `field` (object keys from the record down); whether it was there.
fn drop_field(v: &mut Value, field: &[String]) -> bool {
    let Some((last, parents)) = field.split_last() else {
        return false;
    };
    let mut at = v;
    for key in parents {
        match at.get_mut(key) {
            Some(next) => at = next,
            None => return false,
        }
    }
    at.as_object_mut().is_some_and(|o| o.remove(last).is_some())
}

/// Decodes one JSON body.
pub fn decode_one<T: DeserializeOwned>(
    connection: &str,
    endpoint: &str,
    body: &[u8],
) -> Result<T, ConnectorError> {
    let value: Value = parse_json(connection, endpoint, body)?;
    decode_value(connection, endpoint, "", value)
}

/// Decodes a value found at `at` (`""` for the whole body, `meta`) of a body already parsed.
pub fn decode_value<T: DeserializeOwned>(
    connection: &str,
    endpoint: &str,
    at: &str,
    value: Value,
) -> Result<T, ConnectorError> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map_err(|e| decode_error(connection, endpoint, at, e))
}

/// Parses a body as JSON; a body that is not JSON (or is cut off) is [`ConnectorError::Malformed`].
pub fn parse_json(connection: &str, endpoint: &str, body: &[u8]) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| ConnectorError::Malformed {
        connection: connection.into(),
        endpoint: endpoint.into(),
        format: "JSON",
        detail: if e.is_eof() {
            format!("it ends too early: {e}")
        } else {
            e.to_string()
        },
    })
}

/// Takes the array at JSON pointer `at` (`""`: the body itself, `/data/sites`) out of `body`.
/// A missing or null list is an empty one only where `empty_ok` says the answer may hold no
/// list (a total of 0, or an API that writes none as null), and only inside an object: a body
/// of another shape is still an error.
pub fn take_list(
    connection: &str,
    endpoint: &str,
    body: &mut Value,
    at: &str,
    empty_ok: bool,
) -> Result<Vec<Value>, ConnectorError> {
    let shape = |detail: String| ConnectorError::Decode {
        connection: connection.into(),
        endpoint: endpoint.into(),
        path: dotted(at),
        detail,
    };
    let parent = at.rsplit_once('/').map_or("", |(p, _)| p);
    let empty_ok =
        empty_ok && (at.is_empty() || body.pointer(parent).is_some_and(Value::is_object));
    let found = if at.is_empty() {
        Some(body.take())
    } else {
        body.pointer_mut(at).map(Value::take)
    };
    match found {
        Some(Value::Array(a)) => Ok(a),
        Some(Value::Null) | None if empty_ok => Ok(Vec::new()),
        Some(Value::Null) | None => {
            let d = dotted(at);
            Err(shape(format!(
                "the response has no `{d}` list (`{d}` is missing or null)"
            )))
        }
        Some(other) => Err(shape(format!(
            "expected a JSON array, got {}",
            kind_of(&other)
        ))),
    }
}

/// A JSON pointer as the dotted path messages use (`/data/sites` is `data.sites`, `""` is `.`).
pub(crate) fn dotted(pointer: &str) -> String {
    let d = pointer.trim_start_matches('/').replace('/', ".");
    if d.is_empty() { ".".into() } else { d }
}

pub(crate) fn decode_error(
    connection: &str,
    endpoint: &str,
    prefix: &str,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> ConnectorError {
    let inner = e.path().to_string();
    let path = match (prefix.is_empty(), inner.as_str()) {
        (true, p) => p.to_string(),
        (false, ".") => prefix.to_string(),
        (false, p) => format!("{prefix}.{p}"),
    };
    ConnectorError::Decode {
        connection: connection.into(),
        endpoint: endpoint.into(),
        path,
        detail: e.into_inner().to_string(),
    }
}

/// "a string", "an array", ... for messages about a value of the wrong kind.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_name_index_and_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            id: i64,
            name: String,
        }
        let err = decode_list::<Item>(
            "c",
            "GET /x",
            br#"[{"id":1,"name":"a"},{"id":"two","name":"b"}]"#,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("[1].id"), "{msg}");
        let err = decode_list::<Item>("c", "GET /x", br#"[{"id":1}]"#).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
        let err = decode_list::<Item>("c", "GET /x", br#"[{"id":1,"na"#).unwrap_err();
        assert!(matches!(err, ConnectorError::Malformed { .. }));
        assert!(err.to_string().contains("ends too early"), "{err}");
        let err = decode_list::<Item>("c", "GET /x", br#"{"error":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("expected a JSON array"), "{err}");
    }

    #[test]
    fn odd_fields_are_unknown_and_records_without_an_id_are_set_aside() {
        #[derive(serde::Deserialize, Debug)]
        struct Inner {
            #[serde(default)]
            n: Option<u8>,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Item {
            id: i64,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            tags: Option<Vec<String>>,
            #[serde(default)]
            inner: Option<Inner>,
        }
        let elements = serde_json::json!([
            {"id": 1, "name": 5, "tags": ["a", 2], "inner": {"n": 300}},
            {"id": null, "name": "x"},
            {"name": "y"},
            {"id": 4, "name": null},
            "not an object",
        ]);
        let Value::Array(elements) = elements else {
            unreachable!()
        };
        let got = decode_tolerant::<Item>("data", 0, elements);
        assert_eq!(got.records.len(), 2);
        let first = &got.records[0];
        assert_eq!(first.value.id, 1);
        assert!(first.value.name.is_none() && first.value.tags.is_none());
        assert!(first.value.inner.as_ref().unwrap().n.is_none());
        // In the order the record's keys are visited (serde_json keeps them sorted).
        assert_eq!(first.odd_fields().unwrap(), "inner.n,name,tags");
        // The raw JSON is what was sent, odd values included.
        assert!(first.raw.contains("300"), "{}", first.raw);
        // A null in a nullable field is no oddity.
        assert!(got.records[1].odd.is_empty());
        assert_eq!(got.set_aside.len(), 3, "{:?}", got.set_aside);
        assert!(
            got.set_aside[0].starts_with("data[1]:"),
            "{:?}",
            got.set_aside
        );
        assert!(
            got.set_aside[1].contains("missing field `id`"),
            "{:?}",
            got.set_aside
        );
    }

    #[test]
    fn lists_are_taken_by_pointer_and_their_absence_is_named() {
        let mut body = serde_json::json!({"data": {"sites": [1, 2]}, "n": 0});
        let got = take_list("c", "GET /x", &mut body, "/data/sites", false).unwrap();
        assert_eq!(got.len(), 2);
        let err = take_list("c", "GET /x", &mut body, "/data/nope", false).unwrap_err();
        assert!(err.to_string().contains("`data.nope` is missing"), "{err}");
        assert!(
            take_list("c", "GET /x", &mut body, "/data/nope", true)
                .unwrap()
                .is_empty()
        );
        // A body that is not an object holding the list is no empty list.
        let mut wrong = serde_json::json!({"data": [1]});
        assert!(take_list("c", "GET /x", &mut wrong, "/data/sites", true).is_err());
        let err = take_list("c", "GET /x", &mut body, "/n", false).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a JSON array, got a number"),
            "{err}"
        );
        let mut top = serde_json::json!([1]);
        assert_eq!(
            take_list("c", "GET /x", &mut top, "", false).unwrap().len(),
            1
        );
    }
}
