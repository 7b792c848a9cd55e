//! `reconcile push`: write the right quantity (and, opted in, the unit cost) into the PSA's
//! existing billing lines: plan, apply, log, revert, one file per verb; the plan table and CSV
//! they share live here.

mod apply;
mod log;
mod plan;
mod revert;

use std::io::Write;

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use crate::app::App;
use crate::cli::Exit;
use crate::output::{Format, new_table, qty, write_csv, write_json};
use crate::pipeline::push::plan::signed;
use crate::pipeline::push::{Decision, Plan, PushCx};

/// Write the counts back into the PSA: planned, guarded, audited and reversible.
///
/// `push plan` (also plain `push`) computes the changes from the current findings, prints them
/// and saves the plan with an id; it only reads from the PSA. `push apply PLAN_ID` writes the
/// plan's `write` lines: each is read again first (a line changed since the plan is skipped as
/// drift; one already at its target is left alone), written once, read back, and recorded in
/// the audit (`push log`). `push revert PLAN_ID` plans the way back. A CSV billing import gets a
/// file of the changes to import by hand.
///
/// Only existing lines of services that opted in (`reconcile map service ... --push`, or
/// `[push.services."<vendor>/<service>"] push = true`) are planned; nothing is created or
/// deleted. A connection writes only when connected with --allow-write. Guards (any failed one
/// makes a line "needs review", never a write): source_health (a failed, partial, too old or
/// collapsed sync), line_read, ambiguity (two lines for one product), zero (a target of 0),
/// large_change (more than `[push] max_change_abs` units, default 10, or `max_change_pct`
/// percent, default 25), decrease (unless `decreases = "auto"`), line_type (a line the PSA
/// computes itself or a bundle), contract_state (an inactive, cancelled or ended agreement),
/// posted_period (a date in an invoiced period), currency (a cost in another currency).
/// `reconcile review approve FINDING` lets its line through zero, large_change and decrease.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    #[command(flatten)]
    pub plan: plan::Args,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    Plan(plan::Args),
    Apply(apply::Args),
    Log(log::Args),
    Revert(revert::Args),
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        match self.action {
            None => self.plan.run(app).await,
            Some(Action::Plan(a)) => a.run(app).await,
            Some(Action::Apply(a)) => a.run(app).await,
            Some(Action::Log(a)) => a.run(app).await,
            Some(Action::Revert(a)) => a.run(app).await,
        }
    }
}

fn cx<'a>(app: &'a App, config: &'a crate::config::Config) -> PushCx<'a> {
    PushCx {
        config,
        secrets: &app.secrets,
        retry: &app.retry,
        operator: crate::pipeline::push::operator(config),
    }
}

/// One plan line in CSV and JSON.
#[derive(Debug, Serialize)]
struct Row {
    plan_id: i64,
    decision: &'static str,
    psa_connection: String,
    company: String,
    company_id: String,
    agreement: String,
    agreement_id: String,
    line_id: String,
    product: String,
    before_qty: String,
    after_qty: String,
    change: String,
    before_cost: String,
    after_cost: String,
    effective: String,
    timing: String,
    guards_failed: String,
    finding_id: String,
    basis: String,
    vendor_connections: String,
}

fn rows(plan: &Plan) -> Vec<Row> {
    plan.lines
        .iter()
        .map(|l| Row {
            plan_id: plan.id,
            decision: l.decision.as_str(),
            psa_connection: l.psa_connection.clone(),
            company: l.company.clone(),
            company_id: l.company_id.clone(),
            agreement: l.agreement.clone(),
            agreement_id: l.line.agreement_id.clone(),
            line_id: l.line.line_id.clone(),
            product: l.product.clone(),
            before_qty: l
                .before
                .as_ref()
                .map(|b| qty(b.quantity))
                .unwrap_or_default(),
            after_qty: qty(l.quantity),
            change: l.change().map(signed).unwrap_or_default(),
            before_cost: l
                .before
                .as_ref()
                .and_then(|b| b.unit_cost)
                .map(|c| format!("{:.2}", c))
                .unwrap_or_default(),
            after_cost: l.unit_cost.map(|c| format!("{:.2}", c)).unwrap_or_default(),
            effective: l.effective.to_string(),
            timing: l.timing.clone(),
            guards_failed: l.failed_guards().join(" | "),
            finding_id: l.finding_id.clone(),
            basis: l.source.basis.clone(),
            vendor_connections: l.source.vendor_connections.join(" "),
        })
        .collect()
}

/// Prints `plan`: a table on a terminal, CSV when piped, or `format`.
fn print_plan(plan: &Plan, format: Option<Format>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format.unwrap_or_else(Format::default_for_stdout) {
        Format::Csv => write_csv(&mut out, &rows(plan))?,
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({
                "plan_id": plan.id,
                "created_at": plan.created_at.to_string(),
                "reverts": plan.reverts,
                "tenants": plan.tenants,
                "notes": plan.notes,
                "lines": plan.lines,
            }),
        )?,
        Format::Table => {
            let mut t = new_table(&[
                "decision",
                "company",
                "product",
                "line",
                "before",
                "after",
                "cost",
                "effective",
                "guards failed",
                "finding",
            ]);
            for l in &plan.lines {
                let cost = match (l.before.as_ref().and_then(|b| b.unit_cost), l.unit_cost) {
                    (Some(b), Some(a)) => format!("{b:.2} → {a:.2}"),
                    (None, Some(a)) => format!("→ {a:.2}"),
                    _ => String::new(),
                };
                t.add_row(vec![
                    l.decision.as_str().to_string(),
                    l.company.clone(),
                    l.product.clone(),
                    format!("{}/{}", l.line.agreement_id, l.line.line_id),
                    l.before
                        .as_ref()
                        .map(|b| qty(b.quantity))
                        .unwrap_or("?".into()),
                    format!(
                        "{}{}",
                        qty(l.quantity),
                        l.change()
                            .map(|c| format!(" ({})", signed(c)))
                            .unwrap_or_default()
                    ),
                    cost,
                    l.effective.to_string(),
                    l.guards
                        .iter()
                        .filter(|g| g.failed.is_some())
                        .map(|g| g.guard.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    l.finding_id.clone(),
                ]);
            }
            writeln!(out, "{t}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `plan 7: 3 to write, 1 needing review` and the plan's notes, on stderr.
fn summarize(app: &App, plan: &Plan) {
    let count = |d: Decision| plan.lines.iter().filter(|l| l.decision == d).count();
    let mut parts = vec![format!("{} to write", count(Decision::Write))];
    if count(Decision::Export) > 0 {
        parts.push(format!("{} to export to a file", count(Decision::Export)));
    }
    parts.push(format!("{} needing review", count(Decision::Review)));
    let what = match plan.reverts {
        Some(r) => format!("plan {} (reverts plan {r})", plan.id),
        None => format!("plan {}", plan.id),
    };
    app.info(format!("{what}: {}", parts.join(", ")));
    // What each PSA does with the effective date, once per connection.
    let mut seen = std::collections::BTreeSet::new();
    for l in &plan.lines {
        if seen.insert(&l.psa_connection) {
            app.info(format!("  {}: {}", l.psa_connection, l.timing));
        }
    }
    if count(Decision::Review) > 0 {
        app.info("  why each guard failed: `--format csv` (guards_failed) or `--format json`; `reconcile review approve FINDING` lets a line through zero, large_change and decrease");
    }
    for n in &plan.notes {
        app.warn(n);
    }
}
