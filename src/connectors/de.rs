//! Deserialization helpers shared by connectors' wire types: exact decimals from JSON numbers,
//! timestamps in the shapes APIs send (RFC 3339, plain dates, epoch seconds or milliseconds),
//! and text and booleans from APIs that send ids as numbers and booleans as `"true"`.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Value;
use std::str::FromStr;

/// A JSON number or numeric string as an exact decimal. serde_json prints floats in their
/// shortest round-trip form, so `22.99` becomes exactly 22.99, never 22.98999….
pub fn decimal_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => parse_decimal(&n.to_string())
            .map(Some)
            .map_err(D::Error::custom),
        Some(Value::String(s)) => parse_decimal(s.trim()).map(Some).map_err(D::Error::custom),
        Some(other) => Err(D::Error::custom(format!(
            "expected a number, found {other}"
        ))),
    }
}

fn parse_decimal(s: &str) -> Result<Decimal, String> {
    Decimal::from_str(s)
        .or_else(|_| Decimal::from_scientific(s))
        .map_err(|_| format!("`{s}` is not a decimal number"))
}

/// Text, trimmed; a number is written as text (an id sent as a number, as Datto RMM and
/// N-central do); empty is none.
pub fn text_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(D::Error::custom(format!("expected text, got {other}"))),
    }
}

/// An id: text or a number as [`text_opt`] reads them, never empty (a required id field).
pub fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text_opt(d)?.ok_or_else(|| D::Error::custom("an empty id"))
}

/// A boolean; `"true"`/`"false"` as text too.
pub fn flag_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(D::Error::custom(format!("expected a boolean, got {other}"))),
    }
}

/// An RFC 3339 timestamp, a date-time without an offset (UTC), or a plain `YYYY-MM-DD` date
/// (midnight UTC); null or absent is `None`.
pub fn timestamp_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_timestamp(s.trim())
            .map(Some)
            .map_err(D::Error::custom),
    }
}

pub fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    // A date-time without an offset is UTC; parsed as a date alone it would lose its time.
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    if let Ok(date) = s.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "`{s}` is not a date-time such as 2024-02-01T00:00:00Z"
    ))
}

/// Epoch time as a JSON number: seconds with a fraction (per the NinjaOne spec) or
/// milliseconds (what some responses carry). Values past the year 5138 in seconds are read as ms.
pub fn epoch_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        None => Ok(None),
        Some(v) if !v.is_finite() || v < 0.0 => {
            Err(D::Error::custom(format!("`{v}` is not an epoch time")))
        }
        Some(v) => {
            let secs = if v >= 1e11 { v / 1000.0 } else { v };
            let nanos = (secs * 1e9).round() as i128;
            Timestamp::from_nanosecond(nanos)
                .map(Some)
                .map_err(D::Error::custom)
        }
    }
}

/// Unix seconds as text or a number (Accelo: `"1493265142"`); `"0"`, empty and null are none
/// (Accelo writes an unset date as 0).
pub fn unix_text_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let secs = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match secs {
        Some(0) => Ok(None),
        Some(s) => Timestamp::from_second(s)
            .map(Some)
            .map_err(D::Error::custom),
        None => Err(D::Error::custom("expected unix seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_time_without_an_offset_keeps_its_time() {
        for text in ["2026-11-30 08:14:07", "2026-11-30T08:14:07"] {
            assert_eq!(
                parse_timestamp(text).unwrap().to_string(),
                "2026-11-30T08:14:07Z",
                "{text}"
            );
        }
        assert_eq!(
            parse_timestamp("2026-11-30").unwrap().to_string(),
            "2026-11-30T00:00:00Z"
        );
    }

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "decimal_opt")]
        d: Option<Decimal>,
        #[serde(default, deserialize_with = "timestamp_opt")]
        t: Option<Timestamp>,
        #[serde(default, deserialize_with = "epoch_opt")]
        e: Option<Timestamp>,
    }

    #[test]
    fn decimals_are_exact() {
        let t: T = serde_json::from_str(r#"{"d": 22.99}"#).unwrap();
        assert_eq!(t.d.unwrap().to_string(), "22.99");
        let t: T = serde_json::from_str(r#"{"d": 0.1}"#).unwrap();
        assert_eq!(t.d.unwrap().to_string(), "0.1");
        let t: T = serde_json::from_str(r#"{"d": "12.50"}"#).unwrap();
        assert_eq!(t.d.unwrap().to_string(), "12.50");
        let t: T = serde_json::from_str(r#"{"d": null}"#).unwrap();
        assert!(t.d.is_none());
        assert!(serde_json::from_str::<T>(r#"{"d": "abc"}"#).is_err());
    }

    #[test]
    fn timestamps_in_several_shapes() {
        let t: T = serde_json::from_str(r#"{"t": "2024-02-01T00:00:00Z"}"#).unwrap();
        assert_eq!(t.t.unwrap().to_string(), "2024-02-01T00:00:00Z");
        let t: T = serde_json::from_str(r#"{"t": "2024-02-01"}"#).unwrap();
        assert_eq!(t.t.unwrap().to_string(), "2024-02-01T00:00:00Z");
        assert!(serde_json::from_str::<T>(r#"{"t": "yesterday"}"#).is_err());
    }

    #[test]
    fn unix_seconds_as_text() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "unix_text_opt")]
            at: Option<Timestamp>,
        }
        let at = |json: &str| serde_json::from_str::<T>(json).map(|t| t.at);
        assert_eq!(
            at(r#"{"at":"1493265142"}"#).unwrap().unwrap().to_string(),
            "2017-04-27T03:52:22Z"
        );
        assert_eq!(
            at(r#"{"at":1493265142}"#).unwrap().unwrap().as_second(),
            1493265142
        );
        assert_eq!(at(r#"{"at":"0"}"#).unwrap(), None);
        assert_eq!(at(r#"{"at":null}"#).unwrap(), None);
        assert_eq!(at(r#"{}"#).unwrap(), None);
        assert!(at(r#"{"at":"soon"}"#).is_err());
    }

    #[test]
    fn epoch_seconds_and_milliseconds() {
        let a: T = serde_json::from_str(r#"{"e": 1717171717.5}"#).unwrap();
        let b: T = serde_json::from_str(r#"{"e": 1717171717500}"#).unwrap();
        assert_eq!(a.e, b.e);
        assert_eq!(a.e.unwrap().as_millisecond(), 1717171717500);
    }
}
