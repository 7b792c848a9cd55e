//! XML answers (N-sight's Data Extraction API) read as JSON values, so the same tolerant record
//! decoding reads them: an element with child elements is an object of its children (a name
//! seen twice or more an array), an element with only text its text (CDATA included, trimmed),
//! an attribute a member named `@name`. XML cannot tell one record from a list of one, so
//! [`list_at`] takes what a path holds as a list either way. A body that is not UTF-8 is read as
//! ISO-8859-1, as such APIs send it; a body that is not XML is [`ConnectorError::Malformed`].

use serde_json::{Map, Value};

use super::ConnectorError;

/// The whole document as a value: `{"<root name>": ...}`.
pub fn parse_xml(connection: &str, endpoint: &str, body: &[u8]) -> Result<Value, ConnectorError> {
    let text = match std::str::from_utf8(body) {
        Ok(t) => t.to_string(),
        Err(_) => body.iter().map(|&b| b as char).collect(),
    };
    // roxmltree reads UTF-8 only and refuses a declaration naming another encoding: the text is
    // UTF-8 by now, so the declaration goes.
    let text = match text.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, r)| r).to_string(),
        None => text,
    };
    let doc = roxmltree::Document::parse(&text).map_err(|e| ConnectorError::Malformed {
        connection: connection.into(),
        endpoint: endpoint.into(),
        format: "XML",
        detail: e.to_string(),
    })?;
    let root = doc.root_element();
    let mut out = Map::new();
    out.insert(root.tag_name().name().to_string(), element(root));
    Ok(Value::Object(out))
}

fn element(node: roxmltree::Node) -> Value {
    let mut map = Map::new();
    for a in node.attributes() {
        map.insert(
            format!("@{}", a.name()),
            Value::String(a.value().to_string()),
        );
    }
    let children: Vec<roxmltree::Node> = node.children().filter(|c| c.is_element()).collect();
    if children.is_empty() {
        let text: String = node
            .children()
            .filter_map(|c| c.text())
            .collect::<String>()
            .trim()
            .to_string();
        if map.is_empty() {
            return Value::String(text);
        }
        if !text.is_empty() {
            map.insert("#text".into(), Value::String(text));
        }
        return Value::Object(map);
    }
    for c in children {
        let name = c.tag_name().name().to_string();
        let v = element(c);
        match map.get_mut(&name) {
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, v]);
            }
            None => {
                map.insert(name, v);
            }
        }
    }
    Value::Object(map)
}

/// What the JSON pointer `at` holds, as a list: an array as it is, one record (an object) as a
/// list of one, nothing (absent, or an empty element) as none.
pub fn list_at(value: &Value, at: &str) -> Vec<Value> {
    match value.pointer(at) {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(o)) => vec![Value::Object(o.clone())],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn elements_become_objects_lists_and_text() {
        let xml = br#"<?xml version="1.0" encoding="ISO-8859-1"?>
<result created="2026-12-01T10:00:00+00:00" status="OK"><items>
 <client><name><![CDATA[Acme & Co]]></name><clientid>1</clientid></client>
 <client><name><![CDATA[Beta]]></name><clientid>2</clientid><empty/></client>
</items></result>"#;
        let v = parse_xml("n", "GET /api/", xml).unwrap();
        assert_eq!(v["result"]["@status"], "OK");
        let clients = list_at(&v, "/result/items/client");
        assert_eq!(clients.len(), 2);
        assert_eq!(clients[0]["name"], "Acme & Co");
        assert_eq!(clients[1]["empty"], "");
        let one = parse_xml(
            "n",
            "e",
            b"<r><items><client><clientid>7</clientid></client></items></r>",
        )
        .unwrap();
        assert_eq!(list_at(&one, "/r/items/client"), [json!({"clientid": "7"})]);
        let none = parse_xml("n", "e", b"<r><items/></r>").unwrap();
        assert!(list_at(&none, "/r/items/client").is_empty());
    }

    #[test]
    fn latin1_is_read_and_a_body_that_is_not_xml_is_malformed() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r><name>Caf\xe9</name></r>";
        let v = parse_xml("n", "e", latin1).unwrap();
        assert_eq!(v["r"]["name"], "Café");
        let e = parse_xml("n", "GET /api/", b"<r><name>cut").unwrap_err();
        assert!(matches!(e, ConnectorError::Malformed { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("GET /api/ returned a body that is not valid XML"),
            "{e}"
        );
    }
}
