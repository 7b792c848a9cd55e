//! `reconcile reconcile`: compute findings from the current snapshots and mappings.

use anyhow::Result;

use crate::app::App;
use crate::cli::Exit;
use crate::output::money;
use crate::pipeline;

/// Compare billing with usage and store the findings for `reconcile report`.
///
/// Uses each connection's current snapshot (the last successful sync), the mappings, the
/// `[tolerance]` settings and the counting rules (`[rules]`, `[[exclude]]`, `[[custom_service]]`,
/// `[contract]`); `reconcile explain` shows how one line was counted. Prints a one-line summary on stderr, and one warning line per
/// connection that is not healthy (`[health]`: sync too old, latest sync failed, record count
/// dropped), whose findings are reported as `stale_source`; `reconcile report` shows them.
///
/// With --period YYYY-MM or --as-of DATE, reconciles from stored history instead: each
/// connection's newest successful sync at that moment (for a period: its end, or now if sooner),
/// and for services whose `[basis]` is peak, average or end-of-period, every successful sync
/// inside the period up to then. The findings are stored, so `report --period` and `review`
/// refer to them.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scope: crate::cli::ScopeArgs,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let mut store = app.store()?;
        let scope = self.scope.scope(&config)?;
        let done = pipeline::findings::compute_and_store(&config, &mut store, scope)?;
        for w in done.warnings() {
            app.warn(w);
        }
        let r = &done.record;
        let discrepancies = r
            .findings
            .iter()
            .filter(|f| f.kind.is_discrepancy())
            .count();
        app.info(format!(
            "reconciled as of {}: {} findings, {} discrepancies; under-billed {} {}/month, over-billed {} {}/month. Run `reconcile report` to see them.",
            r.as_of,
            r.findings.len(),
            discrepancies,
            money(r.totals.under_billed_monthly),
            r.currency,
            money(r.totals.over_billed_monthly),
            r.currency
        ));
        Ok(Exit::Ok)
    }
}
