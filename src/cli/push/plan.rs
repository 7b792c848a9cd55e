//! `reconcile push plan`: compute, print and save a plan. Only reads from the PSA.

use anyhow::Result;

use crate::app::App;
use crate::cli::Exit;
use crate::output::Format;
use crate::pipeline::push::{self, Decision};

/// Plan the writes: print them and save the plan (the default of `reconcile push`).
///
/// Reads each candidate line from the PSA with the read credential (GETs, and Autotask's query
/// POSTs; never a write) and judges it by the guards. Prints a table on a terminal, CSV when
/// piped (columns: plan_id, decision, psa_connection, company, company_id, agreement,
/// agreement_id, line_id, product, before_qty, after_qty, change, before_cost, after_cost,
/// effective, timing, guards_failed, finding_id, basis, vendor_connections), or JSON. The plan
/// id is on stderr: `reconcile push apply PLAN_ID` writes it within `[push]
/// max_plan_age_hours` (24).
#[derive(Debug, Clone, Default, clap::Args)]
#[group(id = "plan_args")]
pub struct Args {
    /// Only this PSA connection
    #[arg(long, value_name = "NAME", add = crate::cli::complete::psas())]
    pub psa: Option<String>,
    /// Output format [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let mut store = app.store()?;
        let cx = super::cx(app, &config);
        let mut plan = push::make_plan(&cx, &store, self.psa.as_deref()).await?;
        push::save(&mut store, &mut plan, &cx.operator)?;
        super::print_plan(&plan, self.format)?;
        super::summarize(app, &plan);
        if plan.lines.iter().any(|l| l.decision != Decision::Review) {
            app.info(format!("apply it with `reconcile push apply {}`", plan.id));
        }
        Ok(Exit::Ok)
    }
}
