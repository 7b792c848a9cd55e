//! `reconcile push log`: the audit of every line an apply touched.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::app::App;
use crate::cli::Exit;
use crate::output::{Format, new_table, write_csv, write_json};

/// Show the audit: every line an apply wrote, skipped or failed.
///
/// Columns: at, operator, tool_version, plan_id, psa_connection, tenant, company, company_id,
/// agreement_id, line_id, product, before_qty, after_qty, before_cost, after_cost, effective,
/// source (vendor connections, services, the sync runs the counts came from, basis), guards,
/// outcome (written, at_target, drift, mismatch, failed, exported), http_status, returned_id,
/// read_back_qty, read_back_cost, error. No secret is ever recorded.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this plan
    #[arg(long, value_name = "ID")]
    pub plan: Option<i64>,
    /// Output format [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Serialize)]
struct Row {
    at: String,
    operator: String,
    tool_version: String,
    plan_id: i64,
    psa_connection: String,
    tenant: String,
    company: String,
    company_id: String,
    agreement_id: String,
    line_id: String,
    product: String,
    before_qty: String,
    after_qty: String,
    before_cost: String,
    after_cost: String,
    effective: String,
    source: String,
    guards: String,
    outcome: String,
    http_status: String,
    returned_id: String,
    read_back_qty: String,
    read_back_cost: String,
    error: String,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let store = app.store_read()?;
        let rows: Vec<Row> = store
            .audit(self.plan)?
            .into_iter()
            .map(|a| Row {
                at: a.at,
                operator: a.operator,
                tool_version: a.tool_version,
                plan_id: a.plan_id,
                psa_connection: a.psa_connection,
                tenant: a.tenant,
                company: a.company.unwrap_or_default(),
                company_id: a.company_id.unwrap_or_default(),
                agreement_id: a.agreement_id,
                line_id: a.line_id,
                product: a.product,
                before_qty: a.before_qty.unwrap_or_default(),
                after_qty: a.after_qty,
                before_cost: a.before_cost.unwrap_or_default(),
                after_cost: a.after_cost.unwrap_or_default(),
                effective: a.effective,
                source: a.source,
                guards: a.guards,
                outcome: a.outcome,
                http_status: a.http_status.map(|s| s.to_string()).unwrap_or_default(),
                returned_id: a.returned_id.unwrap_or_default(),
                read_back_qty: a.read_back_qty.unwrap_or_default(),
                read_back_cost: a.read_back_cost.unwrap_or_default(),
                error: a.error.unwrap_or_default(),
            })
            .collect();
        let mut out = std::io::stdout().lock();
        match self.format.unwrap_or_else(Format::default_for_stdout) {
            Format::Csv => write_csv(&mut out, &rows)?,
            Format::Json => write_json(&mut out, &rows)?,
            Format::Table => {
                let mut t = new_table(&[
                    "at",
                    "who",
                    "plan",
                    "company",
                    "product",
                    "line",
                    "before → after",
                    "effective",
                    "outcome",
                    "http",
                    "read back",
                ]);
                for r in &rows {
                    t.add_row(vec![
                        r.at.chars().take(19).collect::<String>(),
                        r.operator.clone(),
                        r.plan_id.to_string(),
                        r.company.clone(),
                        r.product.clone(),
                        format!("{}/{}", r.agreement_id, r.line_id),
                        format!("{} → {}", r.before_qty, r.after_qty),
                        r.effective.clone(),
                        r.outcome.clone(),
                        r.http_status.clone(),
                        r.read_back_qty.clone(),
                    ]);
                }
                writeln!(out, "{t}")?;
            }
        }
        out.flush()?;
        if rows.is_empty() {
            app.info(match self.plan {
                Some(p) => format!("nothing applied of plan {p} yet"),
                None => "nothing applied yet".into(),
            });
        }
        Ok(Exit::Ok)
    }
}
