//! Rendering for stdout: the same row structs become a table (comfy-table), CSV (csv) or JSON
//! (serde), so the three formats cannot drift apart. Only data goes to stdout.

pub mod report;

use std::io::Write;

use anyhow::{Context, Result};
use comfy_table::{ContentArrangement, Table, presets};
use rust_decimal::Decimal;
use serde::Serialize;

/// Output formats shared by the commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
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

pub fn write_csv<T: Serialize>(out: &mut dyn Write, rows: &[T]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    for r in rows {
        w.serialize(r)?;
    }
    w.flush()?;
    Ok(())
}

/// CSV with only a header row, for an empty list (serde cannot see field names without a row).
pub fn write_csv_header(out: &mut dyn Write, headers: &[&str]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(headers)?;
    w.flush()?;
    Ok(())
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
