//! `reconcile push apply`: write a saved plan (or plan and write in one go with `--yes`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::app::App;
use crate::cli::Exit;
use crate::output::Format;
use crate::pipeline::push::{self, Decision};

/// Write a plan's lines into the PSA.
///
/// Each `write` line is read again (a line changed in the PSA since the plan is skipped as
/// drift; one already at its target is left alone, so a second apply writes nothing), written
/// once, and read back; every line is recorded in the audit (`reconcile push log`). Writes are
/// serial, one apply per PSA tenant at a time. An Autotask adjustment is never sent twice
/// blindly: after a timeout or 5xx the units are read to decide. A plan older than `[push]
/// max_plan_age_hours` (24) or made against another PSA tenant is refused.
///
/// On a terminal it shows the plan and asks; otherwise it needs --yes. Without PLAN_ID (and
/// with --yes) it plans and applies in one go: the daily cron of high-watermark billing is
/// `reconcile sync && reconcile push apply --yes`. Exits 0 when every planned line was written
/// (or already right), 1 when lines need review or drifted, 2 when a write failed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plan to apply (from `reconcile push plan`); without it, plan now (needs --yes)
    pub plan_id: Option<i64>,
    /// Apply without asking (required without a terminal)
    #[arg(long)]
    pub yes: bool,
    /// With no PLAN_ID: plan only this PSA connection
    #[arg(long, value_name = "NAME", add = crate::cli::complete::psas())]
    pub psa: Option<String>,
    /// Where files of changes for CSV billing imports go [default: the current directory]
    #[arg(long, value_name = "DIR")]
    pub changes_dir: Option<PathBuf>,
    /// Output format of the plan shown [default: table on a terminal, csv otherwise]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let mut store = app.store()?;
        let cx = super::cx(app, &config);
        let plan = match self.plan_id {
            Some(id) => push::load(&store, id)?,
            None => {
                if !self.yes {
                    bail!(
                        "give the plan to apply (`reconcile push apply PLAN_ID`, from `reconcile push plan`), or --yes to plan and apply in one go"
                    );
                }
                let mut plan = push::make_plan(&cx, &store, self.psa.as_deref()).await?;
                push::save(&mut store, &mut plan, &cx.operator)?;
                plan
            }
        };
        super::print_plan(&plan, self.format)?;
        super::summarize(app, &plan);
        let writes = plan
            .lines
            .iter()
            .filter(|l| l.decision != Decision::Review)
            .count();
        if writes > 0 && !self.yes {
            let stdin = std::io::stdin();
            if !stdin.is_terminal() {
                bail!(
                    "not applying plan {} without a terminal to confirm on: add --yes (`reconcile push apply {} --yes`)",
                    plan.id,
                    plan.id
                );
            }
            eprint!(
                "Write {writes} line(s) of plan {} into the PSA? [y/N] ",
                plan.id
            );
            std::io::stderr().flush()?;
            let mut answer = String::new();
            stdin.lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
                app.info("nothing written");
                return Ok(Exit::Ok);
            }
        }
        let dir = match self.changes_dir {
            Some(d) => d,
            None => std::env::current_dir()?,
        };
        let mut each = |l: &crate::pipeline::push::PlanLine, what: &str| {
            app.info(format!(
                "{} {} {} ({}/{}): {what}",
                l.psa_connection, l.company, l.product, l.line.agreement_id, l.line.line_id
            ));
        };
        let done = push::apply(&cx, &mut store, &plan, &dir, &mut each).await?;
        for f in &done.files {
            app.info(format!(
                "wrote the changes to import by hand to {}",
                f.display()
            ));
        }
        app.info(format!(
            "plan {}: {} written, {} already right, {} exported, {} drifted, {} failed, {} needing review",
            plan.id, done.written, done.at_target, done.exported, done.drift, done.failed, done.review
        ));
        Ok(if done.failed > 0 {
            Exit::WriteFailed
        } else if done.review > 0 || done.drift > 0 {
            Exit::NeedsReview
        } else {
            Exit::Ok
        })
    }
}
