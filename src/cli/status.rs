//! `reconcile status`: every connection, where its secret lives, and how its last sync went.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::app::App;
use crate::cli::Exit;
use crate::cli::sync::describe_counts;
use crate::output::{Format, new_table, write_json};

/// Show each connection: kind, where its secret lives, last sync (when, result, record counts).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub csv: crate::output::CsvStyle,
}

#[derive(Debug, Serialize)]
struct Row {
    connection: String,
    kind: String,
    secret: String,
    last_sync: String,
    result: String,
    records: String,
    current_snapshot: String,
    error: String,
    /// What the connector reported about the API on its last good sync (request quota).
    api: String,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let store = app.store_read()?;
        let mut rows = Vec::new();
        let mut names: Vec<String> = config.connections.keys().cloned().collect();
        for n in store.connections_with_history()? {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        for name in names {
            let settings = config.connections.get(&name);
            let (kind, secret) = match settings {
                Some(s) => {
                    let kind = s.kind();
                    let secret = s
                        .secrets_needed()
                        .iter()
                        .map(|f| match app.secrets.locate(&name, f, Some(s)) {
                            Some(src) => format!("{f}: {src}"),
                            None => format!("{f}: MISSING"),
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    (kind.as_str().to_string(), secret)
                }
                None => ("(not configured)".to_string(), String::new()),
            };
            let latest = store.latest_run(&name)?;
            let current = store.current_run(&name)?;
            rows.push(Row {
                connection: name,
                kind,
                secret,
                last_sync: latest
                    .as_ref()
                    .map(|r| r.finished_at.clone().unwrap_or(r.started_at.clone()))
                    .unwrap_or_else(|| "never".into()),
                result: latest
                    .as_ref()
                    .map(|r| {
                        let mut partial = Vec::new();
                        match r.unreadable {
                            0 => {}
                            1 => partial.push("1 account not read".to_string()),
                            n => partial.push(format!("{n} accounts not read")),
                        }
                        match crate::model::set_aside_count(&r.meta) {
                            0 => {}
                            1 => partial.push("1 record set aside".to_string()),
                            n => partial.push(format!("{n} records set aside")),
                        }
                        if partial.is_empty() {
                            r.status.as_str().to_string()
                        } else {
                            format!("{} (partial: {})", r.status.as_str(), partial.join(", "))
                        }
                    })
                    .unwrap_or_default(),
                records: current
                    .as_ref()
                    .map(|r| describe_counts(&r.counts))
                    .unwrap_or_default(),
                current_snapshot: current
                    .as_ref()
                    .map(|r| {
                        format!(
                            "run {} of {}",
                            r.id,
                            r.finished_at.clone().unwrap_or_default()
                        )
                    })
                    .unwrap_or_else(|| "none".into()),
                error: latest.and_then(|r| r.error).unwrap_or_default(),
                api: current
                    .as_ref()
                    .map(|r| {
                        r.meta
                            .iter()
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default(),
            });
        }
        let format = self.format;
        let mut out = std::io::stdout().lock();
        match format {
            Format::Csv => crate::output::write_csv_styled(&mut out, &rows, &[], self.csv)?,
            Format::Json => write_json(&mut out, &rows)?,
            Format::Table => {
                if rows.is_empty() {
                    app.info(config.none_configured());
                    return Ok(Exit::Ok);
                }
                // The API column only when some connector reports on its API (Autotask).
                let with_api = rows.iter().any(|r| !r.api.is_empty());
                let mut headers = vec![
                    "connection",
                    "kind",
                    "secret",
                    "last sync",
                    "result",
                    "records",
                    "error",
                ];
                if with_api {
                    headers.push("api");
                }
                let mut t = new_table(&headers);
                for r in &rows {
                    let mut row = vec![
                        r.connection.clone(),
                        r.kind.clone(),
                        r.secret.clone(),
                        short_time(&r.last_sync),
                        r.result.clone(),
                        r.records.clone(),
                        short_error(&r.error),
                    ];
                    if with_api {
                        row.push(r.api.clone());
                    }
                    t.add_row(row);
                }
                writeln!(out, "{t}")?;
            }
        }
        Ok(Exit::Ok)
    }
}

/// `2026-11-22 03:44:47 UTC` for people; CSV and JSON keep the full RFC 3339 value.
fn short_time(s: &str) -> String {
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => s.to_string(),
    }
}

/// The first 100 characters of an error; `--format csv` shows all of it.
fn short_error(s: &str) -> String {
    if s.chars().count() <= 100 {
        s.to_string()
    } else {
        format!(
            "{}… (--format csv shows all)",
            s.chars().take(100).collect::<String>()
        )
    }
}
