//! Path-aware JSON decoding: a bad record is named by its place in the body and its field
//! (`data.sites[3].id`), a cut-off body is told apart from a record of the wrong shape, and each
//! decoded record keeps its compact JSON for audits.

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
