//! Rendering for stdout: the same row structs become a table (comfy-table), CSV (csv) or JSON
//! (serde), so the three formats cannot drift apart. Only data goes to stdout.

pub mod color;
pub mod fit;
pub mod money;
pub mod report;

use std::io::Write;

use anyhow::{Context, Result};
use comfy_table::{ContentArrangement, Table, presets};
use rust_decimal::Decimal;
use serde::Serialize;

/// Output formats shared by the commands that print data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// Comma-separated values with a header row, for spreadsheets and scripts.
    Csv,
    /// One JSON document.
    Json,
}

impl Format {
    /// A table for a person at a terminal, CSV for a pipe, a file or cron.
    pub fn default_for_stdout() -> Format {
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            Format::Table
        } else {
            Format::Csv
        }
    }
}

/// A table in the house style: no colors, wraps to the terminal width (or 120 columns when
/// stdout is not a terminal, or `COLUMNS` when set).
pub fn new_table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
    {
        t.set_width(w);
    } else if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        t.set_width(120);
    }
    t.set_header(headers.iter().copied());
    t
}

/// How CSV is written for a spreadsheet (`--csv-raw`, `--bom`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct CsvStyle {
    /// CSV: write text cells exactly as they are. By default a text cell that begins with =, +,
    /// -, @, a tab or a carriage return gets a leading ' so that no spreadsheet runs it as a
    /// formula (OWASP's rule for CSV injection); numbers are never changed
    #[arg(long)]
    pub csv_raw: bool,
    /// CSV: begin with a UTF-8 byte order mark, which Excel needs to read accented names
    /// (Ünïcødé Café) right. LibreOffice and pandas read the file either way
    #[arg(long, visible_alias = "excel")]
    pub bom: bool,
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Rows as CSV with a header row, in the default [`CsvStyle`].
pub fn write_csv<T: Serialize>(out: &mut dyn Write, rows: &[T]) -> Result<()> {
    write_csv_styled(out, rows, &[], CsvStyle::default())
}

/// Rows as CSV with a header row; `headers` is written alone when there is no row (serde cannot
/// see field names without one).
pub fn write_csv_styled<T: Serialize>(
    out: &mut dyn Write,
    rows: &[T],
    headers: &[&str],
    style: CsvStyle,
) -> Result<()> {
    let mut plain = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() && !headers.is_empty() {
        plain.write_record(headers)?;
    }
    for r in rows {
        plain.serialize(r)?;
    }
    let plain = plain.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    if style.bom {
        out.write_all(BOM)?;
    }
    if style.csv_raw {
        out.write_all(&plain)?;
        return Ok(());
    }
    let mut read = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(plain.as_slice());
    let mut w = csv::Writer::from_writer(out);
    for record in read.records() {
        let record = record?;
        w.write_record(record.iter().map(|c| spreadsheet_safe(c).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}

/// A text cell a spreadsheet would run as a formula gets a leading `'` (OWASP: cells beginning
/// with `=`, `+`, `-`, `@`, tab or carriage return). A number (`-12.00`, `+3`) is left as it is:
/// it is a value, never a formula.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<Decimal>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

pub fn write_json<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A quantity without trailing zeros: `24.0` → `24`.
pub fn qty(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Money with two decimals.
pub fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

/// The terminal's width for a table: `COLUMNS` when set, the terminal's when stdout is one,
/// else 120.
pub fn table_width() -> usize {
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w > 0)
    {
        return usize::from(w);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdout())
        && let Some(w) = Table::new().width()
    {
        return usize::from(w);
    }
    120
}

/// Writes through a temp file in the same directory and renames it: a reader (or a cron mail)
/// never sees half a report or half an export.
pub fn write_atomically(
    path: &std::path::Path,
    body: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        body(&mut w)?;
        w.flush()?;
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
