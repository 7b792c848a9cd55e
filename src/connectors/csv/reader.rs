//! The generic reader shared by the file imports (the vendor import here and the PSA-side
//! `csv_billing`): a CSV or JSON export read into a plain table of text cells (one header row,
//! then one row per record) with each row's position in the file, so every later error can name
//! the file, line and column; header resolution by aliases; the cell parsers (quantities,
//! money, dates); and the text of a failed all-or-nothing import. Nothing here knows what the
//! columns mean.
//!
//! CSV: a UTF-8 BOM is dropped, quoted fields may hold delimiters, quotes and line breaks, the
//! first non-blank record is the header, blank records (every cell empty or spaces) are
//! skipped. The delimiter is the configured one, else a tab for `.tsv` files, else whichever of
//! `,` `;` or tab the header line holds most of (spreadsheets in many locales write `;`).
//!
//! JSON: an array of objects, or an object with one array field (`items`, `data`, `value`, ...)
//! holding them. Keys become headers in order of first appearance (nested objects as dotted
//! keys); strings, numbers and booleans become cells, `null` an empty cell. A record's position is its index (1-based).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{Format, delimiter_byte, normalize};

/// Where a cell or row is: a CSV line (1-based) or a JSON record (1-based), and the column
/// (1-based) when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: u64,
    pub column: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Csv,
    Json,
}

/// A problem at a position; [`Table::locate`] names it as `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowError {
    pub pos: Pos,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub source: Source,
    /// The CSV delimiter the file was read with; `None` for JSON.
    pub delimiter: Option<u8>,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// How this table's number cells are read, given the configured separators (which apply
    /// to CSV; JSON numbers always have a point).
    pub fn numbers(&self, decimal: Option<&str>, thousands: Option<&str>) -> NumberFormat {
        NumberFormat::new(decimal, thousands, self.delimiter)
    }

    /// `file:line:column` for CSV, `file: record N, field "key"` for JSON.
    pub fn locate(&self, file: &str, pos: Pos) -> String {
        locate(self.source, &self.headers, file, pos)
    }

    /// `file:line:column: column `Header`: message`, for a bad cell of the row on `line`
    /// (column index `col`, 0-based).
    pub fn cell_error(&self, file: &str, line: u64, col: usize, message: &str) -> String {
        format!(
            "{}: column `{}`: {message}",
            self.locate(
                file,
                Pos {
                    line,
                    column: Some(col + 1)
                }
            ),
            self.headers.get(col).map(String::as_str).unwrap_or("")
        )
    }
}

pub(crate) fn locate(source: Source, headers: &[String], file: &str, pos: Pos) -> String {
    match (source, pos.column) {
        (Source::Csv, Some(c)) => format!("{file}:{}:{c}", pos.line),
        (Source::Csv, None) => format!("{file}:{}", pos.line),
        (Source::Json, Some(c)) => format!(
            "{file}: record {}, field \"{}\"",
            pos.line,
            headers.get(c - 1).map(String::as_str).unwrap_or("?")
        ),
        (Source::Json, None) => format!("{file}: record {}", pos.line),
    }
}

/// Drops a UTF-8 byte order mark (Excel writes one with "CSV UTF-8").
fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The delimiter for a file without a configured one: whichever of `,` `;` and tab the first
/// non-blank line holds most of, `,` on a tie or when it holds none.
pub(crate) fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let text = strip_bom(bytes);
    let line = text
        .split(|b| *b == b'\n')
        .find(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .unwrap_or(&[]);
    let count = |d: u8| line.iter().filter(|b| **b == d).count();
    let mut best = (count(b','), b',');
    for d in [b';', b'\t'] {
        if count(d) > best.0 {
            best = (count(d), d);
        }
    }
    best.1
}

fn blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

pub(crate) fn read_csv(bytes: &[u8], delimiter: u8) -> Result<Table, RowError> {
    let input = strip_bom(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                return Err(RowError {
                    pos: Pos { line, column: None },
                    message: format!("not readable as CSV: {e}"),
                });
            }
        }
        // The record's first line, not the line the reader stopped on (quoted line breaks).
        // The reader counts a record from where the previous one ended, so empty lines it
        // skipped before it are stepped over here.
        let line = record
            .position()
            .map(|p| {
                let mut line = p.line();
                for b in input.iter().skip(p.byte() as usize) {
                    match b {
                        b'\n' => line += 1,
                        b'\r' => {}
                        _ => break,
                    }
                }
                line
            })
            .unwrap_or(line);
        let mut cells = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(s) => cells.push(s.to_string()),
                Err(_) => {
                    return Err(RowError {
                        pos: Pos {
                            line,
                            column: Some(i + 1),
                        },
                        message: "this cell is not UTF-8 text; save the file as \"CSV UTF-8\" and import it again".into(),
                    });
                }
            }
        }
        if blank(&cells) {
            continue;
        }
        match &headers {
            None => headers = Some(cells.into_iter().map(|c| c.trim().to_string()).collect()),
            Some(h) => {
                if cells.len() > h.len() && !blank(&cells[h.len()..]) {
                    return Err(RowError {
                        pos: Pos {
                            line,
                            column: Some(h.len() + 1),
                        },
                        message: format!(
                            "this row has {} cells but the header has {} columns (a delimiter inside an unquoted value?)",
                            cells.len(),
                            h.len()
                        ),
                    });
                }
                rows.push(Row { line, cells });
            }
        }
    }
    let Some(headers) = headers else {
        return Err(RowError {
            pos: Pos {
                line: 1,
                column: None,
            },
            message: "the file is empty: it has no header row".into(),
        });
    };
    Ok(Table {
        source: Source::Csv,
        delimiter: Some(delimiter),
        headers,
        rows,
    })
}

/// Fields that hold the records when a JSON export wraps its array in an object.
const WRAPPERS: &[&str] = &["items", "data", "value", "records", "rows", "results"];

pub(crate) fn read_json(bytes: &[u8]) -> Result<Table, RowError> {
    let whole = |message: String| RowError {
        pos: Pos {
            line: 0,
            column: None,
        },
        message,
    };
    let value: Value = serde_json::from_slice(strip_bom(bytes))
        .map_err(|e| whole(format!("not valid JSON: {e}")))?;
    let records = match value {
        Value::Array(a) => a,
        Value::Object(mut o) => {
            let arrays: Vec<String> = o
                .iter()
                .filter(|(_, v)| v.is_array())
                .map(|(k, _)| k.clone())
                .collect();
            let key = if arrays.len() == 1 {
                arrays[0].clone()
            } else if let Some(k) = WRAPPERS
                .iter()
                .find(|w| arrays.iter().any(|a| a.eq_ignore_ascii_case(w)))
                .and_then(|w| arrays.iter().find(|a| a.eq_ignore_ascii_case(w)))
            {
                k.clone()
            } else {
                return Err(whole(format!(
                    "the top-level object has {} array fields ({}); expected an array of records, or an object with one array field such as `items` or `data`",
                    arrays.len(),
                    arrays.join(", ")
                )));
            };
            match o.remove(&key) {
                Some(Value::Array(a)) => a,
                _ => unreachable!("the key names an array field"),
            }
        }
        _ => {
            return Err(whole(
                "expected an array of records, or an object with one array field such as `items` or `data`".into(),
            ));
        }
    };
    let mut headers: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    let mut objects = Vec::with_capacity(records.len());
    for (i, r) in records.into_iter().enumerate() {
        let line = i as u64 + 1;
        let Value::Object(o) = r else {
            return Err(RowError {
                pos: Pos { line, column: None },
                message: format!("expected an object, found {}", kind_of(&r)),
            });
        };
        let mut fields = Vec::with_capacity(o.len());
        flatten("", o, &mut fields);
        for (k, _) in &fields {
            if !index.contains_key(k) {
                index.insert(k.clone(), headers.len());
                headers.push(k.clone());
            }
        }
        objects.push((line, fields));
    }
    let mut rows = Vec::with_capacity(objects.len());
    for (line, fields) in objects {
        let mut cells = vec![String::new(); headers.len()];
        for (k, v) in fields {
            let col = index[&k];
            cells[col] = match v {
                Value::Null => String::new(),
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(RowError {
                        pos: Pos {
                            line,
                            column: Some(col + 1),
                        },
                        message: format!(
                            "expected text, a number or a boolean, found {}",
                            kind_of(&other)
                        ),
                    });
                }
            };
        }
        if !blank(&cells) {
            rows.push(Row { line, cells });
        }
    }
    Ok(Table {
        source: Source::Json,
        delimiter: None,
        headers,
        rows,
    })
}

/// A record's fields, nested objects as dotted keys (`customer.name`, which matches the header
/// alias `customer name` as `.` is ignored).
fn flatten(prefix: &str, o: serde_json::Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (k, v) in o {
        let key = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) => flatten(&key, inner, out),
            other => out.push((key, other)),
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// How a file writes numbers: its decimal separator, its thousands separator, and whether a
/// comma is ambiguous (a CSV file delimited by something other than `,`, such as the `;` of
/// spreadsheets in locales that write `1,5` for one and a half, with neither separator
/// configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumberFormat {
    pub decimal: char,
    pub thousands: Option<char>,
    /// The delimiter of a CSV file where a comma in a number is ambiguous; `None` when a comma
    /// is read as the separators say.
    pub ambiguous_comma: Option<u8>,
    /// Whether a separator was configured (errors then name the settings).
    pub configured: bool,
}

impl Default for NumberFormat {
    /// A point for decimals, `,` between thousands (`1,250.5`): JSON, comma-delimited CSV.
    fn default() -> Self {
        NumberFormat {
            decimal: '.',
            thousands: Some(','),
            ambiguous_comma: None,
            configured: false,
        }
    }
}

/// The separators a `decimal_separator` / `thousands_separator` setting may name.
pub const DECIMAL_SEPARATORS: &[&str] = &[".", ","];
pub const THOUSANDS_SEPARATORS: &[&str] = &[",", ".", " ", "'"];

/// Checks the `decimal_separator` and `thousands_separator` settings (errors name the key and
/// the values allowed).
pub fn check_separators(decimal: Option<&str>, thousands: Option<&str>) -> Result<(), String> {
    if let Some(d) = decimal
        && !DECIMAL_SEPARATORS.contains(&d)
    {
        return Err(format!(
            "decimal_separator: `{}` is not a decimal separator; use \".\" (1250.75) or \",\" (1250,75)",
            d.escape_debug()
        ));
    }
    if let Some(t) = thousands
        && !THOUSANDS_SEPARATORS.contains(&t)
    {
        return Err(format!(
            "thousands_separator: `{}` is not a thousands separator; use \",\" (1,250), \".\" (1.250), \" \" (1 250) or \"'\" (1'250)",
            t.escape_debug()
        ));
    }
    if let (Some(d), Some(t)) = (decimal, thousands)
        && d == t
    {
        return Err(format!(
            "decimal_separator and thousands_separator are both \"{d}\"; a number cannot use one character for both"
        ));
    }
    Ok(())
}

impl NumberFormat {
    /// The format of a table read with `delimiter` (`None`: JSON, whose numbers are JSON's)
    /// and the configured separators (checked by [`check_separators`]). Neither configured:
    /// a point for decimals and `,` between thousands, except that in a CSV file not
    /// delimited by `,` a comma is ambiguous. One configured: the other follows (`,` decimals
    /// have no thousands separator unless one is set; `.` thousands mean `,` decimals).
    pub fn new(decimal: Option<&str>, thousands: Option<&str>, delimiter: Option<u8>) -> Self {
        let ch = |s: &str| s.chars().next();
        let decimal = decimal.and_then(ch);
        let thousands = thousands.and_then(ch);
        let (decimal_set, thousands_set) = (decimal.is_some(), thousands.is_some());
        let Some(delimiter) = delimiter else {
            return NumberFormat::default();
        };
        let (decimal, thousands, ambiguous_comma) = match (decimal, thousands) {
            (Some(d), Some(t)) => (d, Some(t), None),
            (Some(','), None) => (',', None, None),
            (Some(d), None) => (d, Some(','), None),
            (None, Some('.')) => (',', Some('.'), None),
            (None, t) => (
                '.',
                t.or(Some(',')),
                (t != Some(',') && delimiter != b',').then_some(delimiter),
            ),
        };
        NumberFormat {
            decimal,
            thousands,
            ambiguous_comma,
            configured: decimal_set || thousands_set,
        }
    }

    fn is_thousands(&self, c: char) -> bool {
        match self.thousands {
            // Spreadsheets group with a no-break space (French locales a narrow one).
            Some(' ') => matches!(c, ' ' | '\u{a0}' | '\u{202f}'),
            Some(t) => c == t,
            None => false,
        }
    }

    /// What a comma means here, for the hint of a number that is not one.
    fn hint(&self, example: &str) -> String {
        match (self.decimal, self.thousands) {
            ('.', Some(',')) if !self.configured => {
                format!("write decimals with a point: {example}")
            }
            (d, t) => format!(
                "this connection reads numbers with decimal_separator = \"{d}\"{}",
                t.map(|t| format!(" and thousands_separator = \"{t}\""))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Why a cell is not a number.
enum NotNumber {
    /// A comma in a file where it may be a decimal or a thousands separator.
    Ambiguous(u8),
    Invalid,
}

/// A decimal as `f` writes it (thousands grouped by threes); an error when it is not one.
fn parse_number(s: &str, f: &NumberFormat) -> Result<Decimal, NotNumber> {
    if let Some(d) = f.ambiguous_comma
        && s.contains(',')
    {
        return Err(NotNumber::Ambiguous(d));
    }
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = match body.split_once(f.decimal) {
        Some((i, fr)) => (i, Some(fr)),
        None => (body, None),
    };
    let ok_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let int_digits = if int.chars().any(|c| f.is_thousands(c)) {
        let groups: Vec<&str> = int.split(|c| f.is_thousands(c)).collect();
        let grouped = (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| ok_digits(g));
        if !grouped {
            return Err(NotNumber::Invalid);
        }
        groups.concat()
    } else {
        int.to_string()
    };
    let frac = frac.unwrap_or("");
    if !ok_digits(&int_digits) || !ok_digits(frac) || (int_digits.is_empty() && frac.is_empty()) {
        return Err(NotNumber::Invalid);
    }
    let text = if frac.is_empty() {
        format!("{sign}{int_digits}")
    } else {
        format!(
            "{sign}{}.{frac}",
            if int_digits.is_empty() {
                "0"
            } else {
                &int_digits
            }
        )
    };
    text.parse::<Decimal>().map_err(|_| NotNumber::Invalid)
}

/// The message of a comma that may be a decimal or a thousands separator.
fn ambiguous(s: &str, delimiter: u8) -> String {
    format!(
        "`{s}` is ambiguous: in a file delimited by `{}` a comma may separate decimals (1,5 = 1.5) or thousands (1,500 = 1500); say which for this connection: decimal_separator = \",\" or thousands_separator = \",\" (or --decimal-separator / --thousands-separator on `reconcile connect`)",
        (delimiter as char).escape_debug()
    )
}

/// A cell's quantity: a non-negative decimal as the file writes numbers (`f`).
pub(crate) fn parse_quantity(cell: &str, f: &NumberFormat) -> Result<Decimal, String> {
    let s = cell.trim();
    if s.is_empty() {
        return Err("the quantity is empty (write 0 for none)".into());
    }
    match parse_number(s, f) {
        Ok(q) if q < Decimal::ZERO => Err(format!("`{s}` is negative; a quantity is 0 or more")),
        Ok(q) => Ok(q.normalize()),
        Err(NotNumber::Ambiguous(d)) => Err(ambiguous(s, d)),
        Err(NotNumber::Invalid) if s.contains([',', '.', ' ', '\'']) => Err(format!(
            "`{s}` is not a number ({})",
            f.hint("1.5, not 1,5")
        )),
        Err(NotNumber::Invalid) => Err(format!("`{s}` is not a number")),
    }
}

/// A cell's time: RFC 3339, `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM[:SS]` (read as UTC).
pub(crate) fn parse_time(cell: &str) -> Result<Timestamp, String> {
    let s = cell.trim();
    // A civil date-time before a date: jiff reads `2024-05-01 10:00` as a date too, dropping
    // the time.
    s.parse::<Timestamp>()
        .ok()
        .or_else(|| {
            s.parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
        .or_else(|| crate::connectors::de::parse_timestamp(s).ok())
        .ok_or_else(|| {
            format!("`{s}` is not a date or time such as 2024-05-01 or 2024-05-01T10:00:00Z")
        })
}

/// A cell's amount of money: a non-negative decimal as the file writes numbers (`f`), a
/// currency sign (`$`, `€`, `£`, ...) or a three-letter code before or after it allowed
/// (`$1,250.00`, `12.50 EUR`, `EUR 1.250,00`). `what` names it in errors (`unit price`).
pub(crate) fn parse_money(cell: &str, what: &str, f: &NumberFormat) -> Result<Decimal, String> {
    let s = cell.trim();
    let bare = s
        .trim_start_matches(|c: char| "$€£¥₹".contains(c))
        .trim_end_matches(|c: char| "$€£¥₹".contains(c))
        .trim();
    let code = |c: &str| c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase());
    let bare = match (bare.split_once(' '), bare.rsplit_once(' ')) {
        (Some((a, b)), _) if code(a) => b.trim(),
        (_, Some((a, b))) if code(b) => a.trim(),
        _ => bare,
    };
    match parse_number(bare, f) {
        Ok(m) if m < Decimal::ZERO => Err(format!("`{s}` is negative; a {what} is 0 or more")),
        Ok(m) => Ok(m.normalize()),
        Err(NotNumber::Ambiguous(d)) => Err(ambiguous(s, d)),
        Err(NotNumber::Invalid) if bare.contains([',', '.', ' ', '\'']) => Err(format!(
            "`{s}` is not an amount ({})",
            f.hint("12.50, not 12,50")
        )),
        Err(NotNumber::Invalid) => Err(format!("`{s}` is not an amount")),
    }
}

/// `format` when configured, else from the extension: `.json` is JSON, anything else CSV.
pub(crate) fn format_of(file: &Path, format: Option<Format>) -> Format {
    format.unwrap_or_else(|| match file.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Csv,
    })
}

/// Reads `bytes` (the file `file`, shown as `shown`) into a table: the configured delimiter,
/// else a tab for `.tsv`, else sniffed. Errors are located (`file:line[:column]: ...`).
pub(crate) fn read_table(
    shown: &str,
    format: Format,
    delimiter: Option<&str>,
    file: &Path,
    bytes: &[u8],
) -> Result<Table, String> {
    match format {
        Format::Json => read_json(bytes),
        Format::Csv => {
            let d = match delimiter {
                Some(d) => delimiter_byte(d)?,
                None if file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("tsv")) =>
                {
                    b'\t'
                }
                None => sniff_delimiter(bytes),
            };
            read_csv(bytes, d)
        }
    }
    .map_err(|e| {
        if e.pos.line == 0 {
            format!("{shown}: {}", e.message)
        } else {
            let source = match format {
                Format::Csv => Source::Csv,
                Format::Json => Source::Json,
            };
            format!("{}: {}", locate(source, &[], shown, e.pos), e.message)
        }
    })
}

/// Who reads a file, for the commands its errors suggest.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Reading<'a> {
    /// The connection's name (`None`: a test, or a caller without one).
    pub connection: Option<&'a str>,
    /// `reconcile connect`'s check, before the connection is saved.
    pub connecting: bool,
}

/// The error of a file with no rows (a header alone, or no records), which an import refuses
/// unless told to accept it: an empty export is far more often a broken one (a failed or
/// filtered export, the wrong report) than nothing in use. `connect` is the `reconcile
/// connect` subcommand; `connect_keeps` whether running it with only `--allow-empty` keeps the
/// rest of the saved profile (else the config key is the way to set it).
pub(crate) fn empty_file(
    shown: &str,
    table: &Table,
    reading: Reading<'_>,
    connect: &str,
    connect_keeps: bool,
) -> String {
    let what = match table.source {
        Source::Csv => "the file has a header but no rows",
        Source::Json => "the file holds no records",
    };
    let name = reading.connection.unwrap_or("NAME");
    let next = if reading.connecting {
        "add --allow-empty to save the connection with empty files accepted (allow_empty = true)"
            .to_string()
    } else if connect_keeps {
        format!(
            "sync again with --allow-empty (`reconcile sync {name} --allow-empty`) to take this file as 0 items, or run `reconcile connect {connect} --name {name} --allow-empty` to accept empty files from now on"
        )
    } else {
        format!(
            "sync again with --allow-empty (`reconcile sync {name} --allow-empty`) to take this file as 0 items, or set allow_empty = true under [connections.{name}] in the config to accept empty files from now on"
        )
    };
    format!(
        "{shown}: {what}, so nothing was imported: an empty export is more often a broken one than nothing in use. Check the export; if nothing really is in use, {next}"
    )
}

/// One role to find a column for.
pub(crate) struct RoleSpec {
    /// The key in the profile (`account`, `unit_price`).
    pub key: &'static str,
    /// The profile's aliases, when it names the role: then the role must be found.
    pub configured: Option<Vec<String>>,
    /// Looked for when the profile does not name the role, best first.
    pub builtin: &'static [&'static str],
    pub required: bool,
}

/// Finds each role's column (header index, by role key); an error when a required role is
/// missing, when a role the profile names matches no header, when the matched header appears
/// twice, or when one header would fill two roles. `connect` is the `reconcile connect`
/// subcommand whose `--<role>-column` flags set the profile.
pub(crate) fn resolve_roles(
    headers: &[String],
    roles: &[RoleSpec],
    connect: &str,
) -> Result<BTreeMap<&'static str, usize>, String> {
    let normalized: Vec<String> = headers.iter().map(|h| normalize(h)).collect();
    let mut out: BTreeMap<&'static str, usize> = BTreeMap::new();
    for role in roles {
        let aliases: Vec<String> = match &role.configured {
            Some(list) => list.clone(),
            None => role.builtin.iter().map(|s| s.to_string()).collect(),
        };
        let found = aliases.iter().find_map(|a| {
            let want = normalize(a);
            let hits: Vec<usize> = (0..headers.len())
                .filter(|i| normalized[*i] == want)
                .collect();
            (!hits.is_empty()).then_some(hits)
        });
        match found {
            Some(hits) if hits.len() > 1 => {
                return Err(format!(
                    "columns {} are all headed `{}`, so the {} column is ambiguous; rename all but one in the file",
                    hits.iter()
                        .map(|i| (i + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    headers[hits[0]],
                    role.key
                ));
            }
            Some(hits) => {
                if let Some((other, _)) = out.iter().find(|(_, c)| **c == hits[0]) {
                    return Err(format!(
                        "the header `{}` would be both the {other} and the {} column; name the columns apart in [columns]",
                        headers[hits[0]], role.key
                    ));
                }
                out.insert(role.key, hits[0]);
            }
            None if role.configured.is_some() || role.required => {
                return Err(format!(
                    "no column for {} (looked for {}); the header has {}. Set `{} = [\"<header>\"]` under [connections.<name>.columns], or pass --{}-column to `reconcile connect {connect}`",
                    role.key,
                    aliases
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if headers.is_empty() {
                        "no columns".to_string()
                    } else {
                        headers
                            .iter()
                            .map(|h| format!("`{h}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    role.key,
                    role.key.replace('_', "-")
                ));
            }
            None => {}
        }
    }
    Ok(out)
}

/// The error of an import that failed on bad rows: how many, the first `max` of them, and
/// that nothing was imported.
pub(crate) fn failed(errors: &[String], max: usize) -> String {
    let more = errors.len().saturating_sub(max);
    let mut text = errors
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n  ");
    if more > 0 {
        text.push_str(&format!("\n  ... and {more} more"));
    }
    format!(
        "{} bad row{} (nothing was imported):\n  {text}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    )
}

/// Reads `path` off the async runtime and runs `import` on its bytes, for both file imports
/// (vendor usage and PSA billing). Errors are the connection's, and say what to do next.
pub(crate) async fn read_and_import<T: Send + 'static>(
    connection: &str,
    path: PathBuf,
    import: impl FnOnce(&Path, &[u8]) -> Result<T, String> + Send + 'static,
) -> Result<T, crate::http::ConnectorError> {
    let name = connection.to_string();
    let invalid = |message: String| crate::http::ConnectorError::Invalid {
        connection: connection.to_string(),
        message,
    };
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|e| {
            format!(
                "cannot read {}: {e}. Check the path, or give the file with `reconcile sync {name} --file PATH`",
                path.display()
            )
        })?;
        import(&path, &bytes).map_err(|e| {
            format!("{e}\nFix the file (or the settings and columns profile of [connections.{name}]), then sync again")
        })
    })
    .await
    .map_err(|e| invalid(format!("the import stopped: {e}")))?
    .map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Table {
        read_csv(text.as_bytes(), sniff_delimiter(text.as_bytes())).unwrap()
    }

    #[test]
    fn bom_blank_rows_and_quoted_fields() {
        let t = csv(
            "\u{feff}Customer,Product,Seats\n\n\"Acme, Inc.\",\"Backup \"\"Pro\"\"\",3\n , ,\n\"Multi\nline\",X,1\n",
        );
        assert_eq!(t.headers, ["Customer", "Product", "Seats"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].line, 3);
        assert_eq!(t.rows[0].cells, ["Acme, Inc.", "Backup \"Pro\"", "3"]);
        assert_eq!(t.rows[1].line, 5);
        assert_eq!(t.rows[1].cells[0], "Multi\nline");
    }

    #[test]
    fn delimiters_are_sniffed_from_the_header() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\n\na,b;c,d\n"), b',');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
        let t = csv("Kunde;Menge\nAcme;1,5\n");
        assert_eq!(t.rows[0].cells, ["Acme", "1,5"]);
    }

    #[test]
    fn long_rows_and_bad_bytes_are_located() {
        let e = read_csv(b"a,b\n1,2\n1,2,3\n", b',').unwrap_err();
        assert_eq!(
            e.pos,
            Pos {
                line: 3,
                column: Some(3)
            }
        );
        // Trailing empty cells (spreadsheets pad rows) are fine.
        assert_eq!(read_csv(b"a,b\n1,2,,\n", b',').unwrap().rows.len(), 1);
        let e = read_csv(b"a,b\nx,\xff\n", b',').unwrap_err();
        assert_eq!(
            e.pos,
            Pos {
                line: 2,
                column: Some(2)
            }
        );
        assert!(e.message.contains("UTF-8"), "{}", e.message);
        let e = read_csv(b"\n \n", b',').unwrap_err();
        assert!(e.message.contains("no header"), "{}", e.message);
    }

    #[test]
    fn json_arrays_and_wrapped_arrays() {
        let t = read_json(
            br#"[{"Customer":"Acme","Seats":3},{"Customer":"B","Sku":"X","Seats":null},{}]"#,
        )
        .unwrap();
        assert_eq!(t.headers, ["Customer", "Seats", "Sku"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].cells, ["B", "", "X"]);
        assert_eq!(t.rows[1].line, 2);

        let t = read_json(br#"{"count":1,"value":[{"a":2.5}],"meta":{}}"#).unwrap();
        assert_eq!(t.rows[0].cells, ["2.5"]);
        let t = read_json(br#"{"data":[{"a":true}],"links":[]}"#).unwrap();
        assert_eq!(t.rows[0].cells, ["true"]);

        let t = read_json(br#"[{"customer":{"name":"Acme","id":7},"qty":2}]"#).unwrap();
        assert_eq!(t.headers, ["customer.id", "customer.name", "qty"]);
        assert_eq!(t.rows[0].cells, ["7", "Acme", "2"]);

        let e = read_json(br#"{"a":[],"b":[]}"#).unwrap_err();
        assert!(e.message.contains("2 array fields"), "{}", e.message);
        let e = read_json(br#"[{"a":1},{"a":[1]}]"#).unwrap_err();
        assert_eq!(
            e.pos,
            Pos {
                line: 2,
                column: Some(1)
            }
        );
        assert_eq!(
            locate(Source::Json, &["a".into()], "f.json", e.pos),
            "f.json: record 2, field \"a\""
        );
        assert!(read_json(b"[1,").is_err());
    }
}
