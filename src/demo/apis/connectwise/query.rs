//! The ConnectWise sandbox's query language, as the real REST API reads it: `conditions`
//! (clauses with `= != < <= > >= contains like not like in not in`, joined by `and`/`or`, with
//! parentheses; strings quoted, dates in brackets, field paths with `/`, all without case),
//! `orderBy` and `fields` (projection to the paths asked for).

use std::cmp::Ordering;

use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Map, Value};

use super::error;

pub(super) fn order_by(records: &mut [Value], order: &str) -> Result<(), Response> {
    let mut parts = order.split_whitespace();
    let field = parts.next().unwrap_or("");
    let desc = match parts.next().map(|s| s.to_ascii_lowercase()) {
        None => false,
        Some(d) if d == "asc" => false,
        Some(d) if d == "desc" => true,
        Some(d) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "InvalidObject",
                &format!("orderBy direction `{d}` must be asc or desc"),
            ));
        }
    };
    records.sort_by(|a, b| {
        let o = compare(lookup(a, field), lookup(b, field));
        if desc { o.reverse() } else { o }
    });
    Ok(())
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Some(Value::String(x)), Some(Value::String(y))) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// `fields=id,name,status/name`: keeps those paths and nothing else.
pub(super) fn project(records: Vec<Value>, fields: &str) -> Vec<Value> {
    let paths: Vec<Vec<&str>> = fields
        .split(',')
        .map(|f| f.trim().split('/').filter(|s| !s.is_empty()).collect())
        .filter(|p: &Vec<&str>| !p.is_empty())
        .collect();
    records
        .into_iter()
        .map(|r| {
            let mut out = Value::Object(Map::new());
            for path in &paths {
                if let Some(v) = lookup_path(&r, path) {
                    let mut cur = &mut out;
                    for (i, seg) in path.iter().enumerate() {
                        let key = actual_key(&r, &path[..=i]).unwrap_or_else(|| seg.to_string());
                        let obj = cur.as_object_mut().expect("built as objects");
                        if i + 1 == path.len() {
                            obj.insert(key, v.clone());
                            break;
                        }
                        cur = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    }
                }
            }
            out
        })
        .collect()
}

/// The record's own spelling of a case-insensitive path.
fn actual_key(record: &Value, path: &[&str]) -> Option<String> {
    let (last, parent) = path.split_last()?;
    let parent = lookup_path(record, parent)?;
    parent
        .as_object()?
        .keys()
        .find(|k| k.eq_ignore_ascii_case(last))
        .cloned()
}

fn lookup_path<'a>(record: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = record;
    for seg in path {
        let obj = cur.as_object()?;
        cur = obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(seg))
            .map(|(_, v)| v)?;
    }
    Some(cur)
}

/// Field paths in conditions use `/` (`company/id`) and ignore case, like the real API.
fn lookup<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    let segs: Vec<&str> = path.split('/').collect();
    lookup_path(record, &segs)
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Date(Timestamp),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Like,
    NotLike,
    In,
    NotIn,
}

#[derive(Debug, Clone)]
pub(super) struct Clause {
    field: String,
    op: Op,
    values: Vec<Literal>,
}

/// A `conditions` expression: clauses joined by `and`, alternatives joined by `or`, parentheses
/// around groups. `and` binds tighter than `or`, as in SQL.
#[derive(Debug, Clone)]
pub(super) enum Condition {
    Clause(Clause),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Date(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("a string is not closed".into()),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            v.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&ch| ch == ']')
                    .ok_or("a [date] is not closed")?;
                out.push(Tok::Date(chars[i + 1..i + end].iter().collect()));
                i += end + 1;
            }
            '=' | '!' | '<' | '>' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                if ["!=", "<=", ">=", "<>"].contains(&two.as_str()) {
                    out.push(Tok::Op(if two == "<>" { "!=".into() } else { two }));
                    i += 2;
                } else if c == '!' {
                    return Err("`!` must be followed by `=`".into());
                } else {
                    out.push(Tok::Op(c.to_string()));
                    i += 1;
                }
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !"()=!<>,\"'[".contains(chars[i])
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut alts = vec![self.and()?];
        while self.peek_word("or") {
            self.pos += 1;
            alts.push(self.and()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().expect("one")
        } else {
            Condition::Or(alts)
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut all = vec![self.term()?];
        while self.peek_word("and") {
            self.pos += 1;
            all.push(self.term()?);
        }
        Ok(if all.len() == 1 {
            all.pop().expect("one")
        } else {
            Condition::And(all)
        })
    }

    fn term(&mut self) -> Result<Condition, String> {
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            self.pos += 1;
            let c = self.or()?;
            if self.toks.get(self.pos) != Some(&Tok::RParen) {
                return Err("a `(` is not closed".into());
            }
            self.pos += 1;
            return Ok(c);
        }
        let field = match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => w.clone(),
            other => return Err(format!("expected a field name, found {other:?}")),
        };
        self.pos += 1;
        let op = match self.toks.get(self.pos).cloned() {
            Some(Tok::Op(o)) => {
                self.pos += 1;
                match o.as_str() {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    _ => return Err(format!("unknown operator `{o}`")),
                }
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                match w.to_ascii_lowercase().as_str() {
                    "contains" => Op::Contains,
                    "like" => Op::Like,
                    "in" => Op::In,
                    "not" => {
                        let next = match self.toks.get(self.pos) {
                            Some(Tok::Word(n)) => n.to_ascii_lowercase(),
                            _ => String::new(),
                        };
                        self.pos += 1;
                        match next.as_str() {
                            "in" => Op::NotIn,
                            "like" => Op::NotLike,
                            _ => return Err("`not` must be followed by `in` or `like`".into()),
                        }
                    }
                    other => return Err(format!("unknown operator `{other}`")),
                }
            }
            other => {
                return Err(format!(
                    "expected an operator after `{field}`, found {other:?}"
                ));
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            if self.toks.get(self.pos) != Some(&Tok::LParen) {
                return Err("`in` needs a list in parentheses".into());
            }
            self.pos += 1;
            let mut vals = Vec::new();
            loop {
                vals.push(self.literal()?);
                match self.toks.get(self.pos) {
                    Some(Tok::Comma) => self.pos += 1,
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err("an `in` list is not closed".into()),
                }
            }
            vals
        } else {
            vec![self.literal()?]
        };
        Ok(Condition::Clause(Clause { field, op, values }))
    }

    fn literal(&mut self) -> Result<Literal, String> {
        let tok = self.toks.get(self.pos).cloned();
        self.pos += 1;
        match tok {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Date(d)) => d
                .trim()
                .parse::<Timestamp>()
                .map(Literal::Date)
                .or_else(|_| crate::connectors::de::parse_timestamp(d.trim()).map(Literal::Date))
                .map_err(|_| format!("[{d}] is not a date-time")),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Ok(Literal::Bool(true)),
                "false" => Ok(Literal::Bool(false)),
                "null" => Ok(Literal::Null),
                _ => w
                    .parse::<f64>()
                    .map(Literal::Num)
                    .map_err(|_| format!("`{w}` is not a value; quote strings with \"")),
            },
            other => Err(format!("expected a value, found {other:?}")),
        }
    }
}

impl Condition {
    pub(super) fn parse(s: &str) -> Result<Condition, String> {
        let mut p = Parser {
            toks: tokenize(s)?,
            pos: 0,
        };
        let c = p.or()?;
        if p.pos != p.toks.len() {
            return Err(format!("unexpected {:?}", p.toks[p.pos]));
        }
        Ok(c)
    }

    pub(super) fn matches(&self, record: &Value) -> bool {
        match self {
            Condition::And(all) => all.iter().all(|c| c.matches(record)),
            Condition::Or(any) => any.iter().any(|c| c.matches(record)),
            Condition::Clause(c) => c.matches(record),
        }
    }
}

fn like(pattern: &str, text: &str) -> bool {
    // `%` and `*` match any run of characters; everything else literally, without case.
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
        pi += 1;
    }
    pi == p.len()
}

impl Clause {
    fn matches(&self, record: &Value) -> bool {
        let v = lookup(record, &self.field).unwrap_or(&Value::Null);
        match self.op {
            Op::In => self
                .values
                .iter()
                .any(|l| cmp(v, l) == Some(Ordering::Equal)),
            Op::NotIn => !self
                .values
                .iter()
                .any(|l| cmp(v, l) == Some(Ordering::Equal)),
            Op::Contains => match (v, &self.values[0]) {
                (Value::String(s), Literal::Str(l)) => s.to_lowercase().contains(&l.to_lowercase()),
                _ => false,
            },
            Op::Like | Op::NotLike => {
                let m = match (v, &self.values[0]) {
                    (Value::String(s), Literal::Str(l)) => like(l, s),
                    _ => false,
                };
                m == (self.op == Op::Like)
            }
            op => {
                let o = cmp(v, &self.values[0]);
                match op {
                    Op::Eq => o == Some(Ordering::Equal),
                    Op::Ne => o != Some(Ordering::Equal),
                    Op::Lt => o == Some(Ordering::Less),
                    Op::Le => matches!(o, Some(Ordering::Less | Ordering::Equal)),
                    Op::Gt => o == Some(Ordering::Greater),
                    Op::Ge => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
                    _ => false,
                }
            }
        }
    }
}

/// Compares a record's value with a literal; `None` when they cannot be compared.
fn cmp(v: &Value, l: &Literal) -> Option<Ordering> {
    match (v, l) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (_, Literal::Null) | (Value::Null, _) => None,
        (Value::Bool(b), Literal::Bool(x)) => Some(b.cmp(x)),
        (Value::Number(n), Literal::Num(x)) => n.as_f64().map(|f| f.total_cmp(x)),
        (Value::String(s), Literal::Str(x)) => Some(s.to_lowercase().cmp(&x.to_lowercase())),
        (Value::String(s), Literal::Date(d)) => crate::connectors::de::parse_timestamp(s)
            .ok()
            .map(|t| t.cmp(d)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rec() -> Value {
        json!({"id": 7, "name": "Acme Dental", "deletedFlag": false, "status": {"id": 1, "name": "Active"},
               "startDate": "2025-01-01T00:00:00Z", "count": 3})
    }

    #[test]
    fn conditions_parse_and_match() {
        let m = |c: &str| Condition::parse(c).unwrap().matches(&rec());
        assert!(m("deletedFlag=false"));
        assert!(!m("deletedFlag = true"));
        assert!(m("status/name=\"active\" and id>=7"));
        assert!(m("id in (1, 7)"));
        assert!(!m("id not in (7)"));
        assert!(m("name like \"acme%\""));
        assert!(m("name contains \"DENTAL\""));
        assert!(m("startDate < [2025-06-01T00:00:00Z]"));
        assert!(m("id=1 or (count=3 and deletedFlag=false)"));
        assert!(m("missing = null"));
        assert!(!m("missing = 1"));
        for bad in [
            "deletedFlag",
            "id ~ 3",
            "name = acme",
            "(id=7",
            "id in 7",
            "x = \"open",
        ] {
            assert!(Condition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn projections_keep_the_asked_paths() {
        let out = project(vec![rec()], "id, STATUS/name");
        assert_eq!(out[0], json!({"id": 7, "status": {"name": "Active"}}));
    }

    #[test]
    fn like_wildcards() {
        assert!(like("%Dental%", "Acme Dental Group"));
        assert!(like("acme*", "ACME"));
        assert!(!like("acme", "acme dental"));
    }
}
