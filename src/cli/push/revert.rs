//! `reconcile push revert`: plan the way back from an applied plan.

use anyhow::Result;

use crate::app::App;
use crate::cli::Exit;
use crate::output::Format;
use crate::pipeline::push;

/// Plan putting back what an applied plan changed.
///
/// Each line the plan wrote goes back to its quantity (and cost) before, read fresh from the
/// PSA and judged by the same guards, except decrease and large_change: a revert asks for
/// exactly the values the lines had. A line that changed since the plan wrote it needs review.
/// On Autotask, whose adjustments cannot be deleted, the way back is a compensating
/// adjustment at the same effective date. Saves the inverse plan and prints it: apply it with
/// `reconcile push apply NEW_PLAN_ID`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The applied plan to revert
    pub plan_id: i64,
    /// Output format [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let mut store = app.store()?;
        let cx = super::cx(app, &config);
        let mut plan = push::revert_plan(&cx, &store, self.plan_id).await?;
        push::save(&mut store, &mut plan, &cx.operator)?;
        super::print_plan(&plan, self.format)?;
        super::summarize(app, &plan);
        app.info(format!("apply it with `reconcile push apply {}`", plan.id));
        Ok(Exit::Ok)
    }
}
