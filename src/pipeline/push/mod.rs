//! `reconcile push`: planning changes to the PSA's billing lines from the current findings,
//! applying a saved plan line by line, reverting one, and the audit of every line touched.
//!
//! - [`plan`]: the pure rules (which findings, which line, the target, each guard).
//! - [`mod@apply`]: the order every PSA shares around its writer for one line.
//! - this file: the I/O: computing the findings, reading each candidate line from the PSA with
//!   the read credential (only reads: a GET, or Autotask's query POSTs), saving the plan;
//!   applying it under the tenant's lock with the write credential; the file of changes for a
//!   PSA that is imported from CSV; and the inverse plan of `revert`.

pub mod apply;
pub mod plan;

pub use apply::{LineOutcome, apply_line, at_target, drifted};
pub use plan::{Decision, Plan, PlanLine};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{StreamExt, stream};
use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::config::{Config, Decreases, Effective};
use crate::connectors::{ConnectorKind, LineChange, LineRef, LineState, LineWriter, WritePurpose};
use crate::http::RetryPolicy;
use crate::secrets::Secrets;
use crate::store::{AuditRow, PushOptIn, Store};

use super::findings;
use super::snapshots::{Current, Scope};
use plan::{Candidate, GuardResult, LineOptions, Source, SourceState};

/// Requests in flight at most while a plan reads its lines.
const PLAN_READS: usize = 4;

/// What planning and applying need besides the store.
pub struct PushCx<'a> {
    pub config: &'a Config,
    pub secrets: &'a Secrets,
    pub retry: &'a RetryPolicy,
    /// Who the audit names.
    pub operator: String,
}

/// The operator the audit names: `[push] operator`, else `$USER`, else `$USERNAME`.
pub fn operator(config: &Config) -> String {
    config
        .push
        .operator
        .clone()
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("USERNAME").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

impl PushCx<'_> {
    /// The line writer of PSA connection `name`, for `purpose`; `None` for a kind that cannot
    /// write back.
    fn writer(&self, name: &str, purpose: WritePurpose) -> Result<Option<Box<dyn LineWriter>>> {
        let conn = self.config.connection(name)?;
        let mut retry = self.retry.clone();
        retry.concurrency = self.config.concurrency_of(name);
        let secret = |field: &str| {
            self.secrets
                .get(name, field, Some(conn))
                .map(|(s, _)| s)
                .map_err(anyhow::Error::from)
        };
        conn.settings.writer(name, &secret, retry, purpose)
    }
}

/// Whether `<vendor connection>/<service key>` writes its quantity, and its cost: the config
/// key when set, else the stored opt-in.
struct OptIns {
    stored: BTreeMap<String, (bool, bool)>,
}

impl OptIns {
    fn load(store: &Store) -> Result<OptIns> {
        Ok(OptIns {
            stored: store
                .push_opt_ins()?
                .into_iter()
                .map(|o: PushOptIn| {
                    (
                        format!("{}/{}", o.vendor_connection, o.service_key),
                        (o.push, o.push_cost),
                    )
                })
                .collect(),
        })
    }

    fn push(&self, config: &Config, key: &str) -> bool {
        config
            .push
            .services
            .get(key)
            .and_then(|s| s.push)
            .or_else(|| self.stored.get(key).map(|s| s.0))
            .unwrap_or(false)
    }

    fn push_cost(&self, config: &Config, key: &str) -> bool {
        config
            .push
            .services
            .get(key)
            .and_then(|s| s.push_cost)
            .or_else(|| self.stored.get(key).map(|s| s.1))
            .unwrap_or(false)
    }
}

/// The effective date for a line of PSA `psa` counting `services`: the first per-service
/// setting, else the PSA's, else `[push] effective`, else the next period's start.
fn effective_of(config: &Config, psa: &str, services: &[String], now: Timestamp) -> Result<Date> {
    let setting = services
        .iter()
        .find_map(|s| {
            config
                .push
                .services
                .get(s)
                .and_then(|c| c.effective.clone())
        })
        .or_else(|| config.push.psa.get(psa).and_then(|p| p.effective.clone()))
        .or_else(|| config.push.effective.clone());
    let effective = match setting {
        Some(s) => Effective::parse(&s)?,
        None => Effective::NextPeriodStart,
    };
    Ok(match effective {
        Effective::NextPeriodStart => plan::next_period_start(now, config.period.anchor_day)?,
        Effective::Today => now.to_zoned(jiff::tz::TimeZone::UTC).date(),
        Effective::On(d) => d,
    })
}

/// The options of one candidate line. `vendor_cost` is the finding's vendor unit cost per the
/// line's billing cycle: with `--push-cost`, the cost written is the vendor's where it reports
/// one (or `[cost]` gives one), else `[push.services."…"] unit_cost`.
fn options_of(
    config: &Config,
    opt_ins: &OptIns,
    psa: &str,
    services: &[String],
    vendor_cost: Option<Decimal>,
    now: Timestamp,
) -> Result<LineOptions> {
    let p = &config.push;
    let per_psa = p.psa.get(psa);
    let svc = |f: &dyn Fn(&crate::config::PushServiceConfig) -> Option<bool>| {
        services
            .iter()
            .filter_map(|s| p.services.get(s).and_then(f))
            .collect::<Vec<bool>>()
    };
    // A per-service setting counts only when every service of the line agrees.
    let all = |v: Vec<bool>, default: bool| {
        if v.len() == services.len() && !v.is_empty() {
            v.iter().all(|b| *b)
        } else {
            default
        }
    };
    let decreases_auto = all(
        svc(&|s| s.decreases.map(|d| d == Decreases::Auto)),
        p.decreases == Some(Decreases::Auto),
    );
    let allow_zero = all(svc(&|s| s.allow_zero), p.allow_zero.unwrap_or(false));
    // Cost: only when every service opted into it and one cost is configured for them.
    let opted_cost = services.iter().all(|s| opt_ins.push_cost(config, s));
    let unit_cost = if opted_cost && let Some(c) = vendor_cost {
        Some((c.round_dp(4).normalize(), config.currency.clone()))
    } else if opted_cost {
        let costs: BTreeSet<(Decimal, String)> = services
            .iter()
            .filter_map(|s| {
                p.services.get(s).and_then(|c| {
                    c.unit_cost.map(|u| {
                        (
                            u.normalize(),
                            c.currency
                                .clone()
                                .unwrap_or_else(|| config.currency.clone()),
                        )
                    })
                })
            })
            .collect();
        (costs.len() == 1).then(|| costs.into_iter().next().expect("one"))
    } else {
        None
    };
    Ok(LineOptions {
        max_change_abs: per_psa
            .and_then(|x| x.max_change_abs)
            .or(p.max_change_abs)
            .unwrap_or(Decimal::TEN),
        max_change_pct: per_psa
            .and_then(|x| x.max_change_pct)
            .or(p.max_change_pct)
            .unwrap_or(Decimal::new(25, 0)),
        decreases_auto,
        allow_zero,
        effective: effective_of(config, psa, services, now)?,
        period_start: plan::period_start(now, config.period.anchor_day)?,
        unit_cost,
    })
}

/// Why a vendor connection's data must not be written from, if so: unhealthy (failed, too old,
/// collapsed: `unhealthy`), or its last sync was partial.
fn unfit(
    store: &Store,
    unhealthy: &BTreeMap<String, String>,
    conn: &str,
) -> Result<Option<String>> {
    if let Some(why) = unhealthy.get(conn) {
        return Ok(Some(format!("`{conn}`: {why}")));
    }
    if let Some(run) = store.latest_run(conn)? {
        let set_aside = crate::model::set_aside_count(&run.meta);
        if run.unreadable > 0 || set_aside > 0 {
            return Ok(Some(format!(
                "`{conn}`'s last sync was partial ({} account(s) not read, {set_aside} record(s) set aside); sync it in full first",
                run.unreadable
            )));
        }
    }
    Ok(None)
}

/// Computes a plan from the current findings: every opted-in line of every PSA connection (or
/// of `only` PSA), read from the PSA now, judged. Sends only reads. Not saved.
pub async fn make_plan(cx: &PushCx<'_>, store: &Store, only: Option<&str>) -> Result<Plan> {
    let config = cx.config;
    let now = Timestamp::now();
    let computed = findings::compute(config, store, Scope::Current)?;
    let cur = Current::load_psas(config, store, Scope::Current, now)?;
    let opt_ins = OptIns::load(store)?;
    let mappings = store.service_mappings()?;
    let decisions = store.decisions()?;
    let period = crate::review::period_of(&computed.record.as_of, config.period.anchor_day)?;
    let reviewed = crate::review::review(&computed.record.findings, &decisions, &period);
    let approved: BTreeSet<&str> = computed
        .record
        .findings
        .iter()
        .zip(&reviewed.states)
        .filter(|(_, s)| {
            matches!(s, crate::review::State::Decided(d) if d.verdict == crate::review::Verdict::Approve)
        })
        .map(|(f, _)| f.id.as_str())
        .collect();
    if let Some(psa) = only
        && !cur.psas.iter().any(|(n, _, _)| n == psa)
    {
        bail!(
            "`{psa}` is not a synced PSA connection; PSA connections with a snapshot: {}",
            cur.psas
                .iter()
                .map(|(n, _, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut plan = Plan {
        id: 0,
        created_at: now,
        reverts: None,
        tenants: BTreeMap::new(),
        lines: Vec::new(),
        notes: Vec::new(),
    };
    if opt_ins.stored.values().all(|o| !o.0)
        && config.push.services.values().all(|s| s.push != Some(true))
    {
        plan.notes.push(
            "no service opted in to write-back: `reconcile map service <vendor> <service> --to PRODUCT --push` (or `[push.services.\"<vendor>/<service>\"] push = true`)".into(),
        );
    }
    for (psa, run, snap) in &cur.psas {
        if only.is_some_and(|o| o != psa) {
            continue;
        }
        let kind = config.connection(psa)?.kind();
        let writer = cx.writer(psa, WritePurpose::Read)?;
        let export = writer.is_none() && kind == ConnectorKind::CsvBilling;
        if writer.is_none() && !export {
            plan.notes.push(match kind.report_only() {
                Some(why) => format!(
                    "`{psa}` ({}) is report-only: {why}. `reconcile push` never writes to it; change its billing in {} by hand",
                    kind.display_name(),
                    kind.display_name()
                ),
                None => format!("`{psa}` ({}) cannot be written back", kind.display_name()),
            });
            continue;
        }
        let whole_units =
            snap.whole_units || writer.as_ref().is_some_and(|w| w.facts().whole_units);
        let services_of = |product: &str| -> Vec<String> {
            mappings
                .iter()
                .filter(|m| {
                    m.target
                        .as_ref()
                        .is_some_and(|t| t.connection == *psa && t.product_identifier == product)
                })
                .map(|m| format!("{}/{}", m.vendor_connection, m.service_key))
                .collect()
        };
        let opted = |s: &str| opt_ins.push(config, s);
        let locate = |l: &crate::model::PsaLine| match &writer {
            Some(w) => w.line_ref(l),
            None => LineRef {
                agreement_id: l.agreement_id.clone(),
                line_id: l.id.clone(),
                product_id: l.product_id.clone(),
            },
        };
        let cands = plan::candidates(
            &computed.record.findings,
            psa,
            snap,
            cur.as_of,
            whole_units,
            &plan::Lookups {
                services_of: &services_of,
                opted_in: &opted,
                locate: &locate,
            },
        );
        let (tenant, timing) = match &writer {
            Some(w) => (w.tenant(), w.facts().timing.to_string()),
            None => (
                format!("csv-billing:{psa}"),
                "exported to a file of changes to import into the PSA by hand".to_string(),
            ),
        };
        if !cands.is_empty() {
            plan.tenants.insert(psa.clone(), tenant);
            if writer.is_some() && !config.connection(psa)?.settings.allows_write() {
                plan.notes.push(format!(
                    "`{psa}` is read-only: `push apply` will refuse it until it is connected with --allow-write (see `reconcile connect {} --help`)",
                    kind.as_str()
                ));
            }
        }
        // Read every candidate line fresh (reads only), a few at a time.
        let reads: Vec<(Candidate, Result<LineState, String>, LineOptions)> =
            stream::iter(cands.into_iter().map(|c| {
                let writer = writer.as_deref();
                let vendor_cost = c.finding.vendor_unit_cost.and_then(|u| {
                    let cycle = snap
                        .agreements
                        .iter()
                        .find(|a| a.id == c.line.agreement_id)
                        .and_then(|a| a.billing_cycle.as_deref());
                    crate::model::months_per_cycle(cycle).map(|m| u * m)
                });
                let opts = options_of(config, &opt_ins, psa, &c.services, vendor_cost, now);
                async move {
                    let opts = opts?;
                    let read = match writer {
                        Some(w) => w
                            .read_line(&c.line, opts.effective)
                            .await
                            .map_err(|e| e.to_string()),
                        None => Ok(snapshot_state(snap, &c.line)),
                    };
                    Ok::<_, anyhow::Error>((c, read, opts))
                }
            }))
            .buffered(PLAN_READS)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        for (c, read, opts) in reads {
            // A cost mismatch is written only as a cost, and only when there is one to write.
            if c.finding.kind == crate::engine::FindingKind::CostMismatch
                && opts.unit_cost.is_none()
            {
                continue;
            }
            let mut fit = SourceState::default();
            let mut vendors: BTreeSet<String> = c
                .services
                .iter()
                .filter_map(|s| s.split_once('/').map(|(v, _)| v.to_string()))
                .collect();
            vendors.extend(c.finding.vendor_connection.clone());
            for v in &vendors {
                if fit.unfit.is_none() {
                    fit.unfit = unfit(store, &computed.unhealthy, v)?;
                }
            }
            if fit.unfit.is_none() {
                fit.unfit = computed
                    .unhealthy
                    .get(psa)
                    .map(|why| format!("`{psa}`: {why}"));
            }
            let (before, error) = match read {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e)),
            };
            let (guards, mut decision) = plan::judge(
                &c,
                before.as_ref(),
                error.as_deref(),
                &opts,
                &fit,
                approved.contains(c.finding.id.as_str()),
                &config.currency,
            );
            if export && decision == Decision::Write {
                decision = Decision::Export;
            }
            let mut runs = BTreeMap::new();
            for v in vendors.iter().chain(std::iter::once(psa)) {
                if let Some(r) = computed.record.sources.get(v) {
                    runs.insert(v.clone(), *r);
                }
            }
            runs.insert(psa.clone(), *run);
            plan.lines.push(PlanLine {
                psa_connection: psa.clone(),
                finding_id: c.finding.id.clone(),
                finding_kind: c.finding.kind,
                company_id: c.finding.company_id.clone().unwrap_or_default(),
                company: c.finding.company.clone().unwrap_or_default(),
                agreement: c.agreement.clone(),
                line: c.line.clone(),
                product: c.finding.product.clone().unwrap_or_default(),
                before,
                quantity: c.target,
                unit_cost: opts.unit_cost.as_ref().map(|(u, _)| *u),
                effective: opts.effective,
                timing: timing.clone(),
                source: Source {
                    vendor_connections: vendors.into_iter().collect(),
                    services: c.services.clone(),
                    runs,
                    counted: c.finding.actual,
                    basis: c.finding.basis.clone(),
                    snapshots: c.finding.snapshots,
                },
                guards,
                decision,
            });
        }
    }
    Ok(plan)
}

/// A CSV-imported line as the snapshot has it (there is no API to read it from).
fn snapshot_state(snap: &crate::model::PsaSnapshot, line: &LineRef) -> LineState {
    let l = snap.lines.iter().find(|l| l.id == line.line_id);
    let mut s = LineState::quantity(l.map(|l| l.quantity).unwrap_or_default());
    s.unit_cost = l.map(|l| l.unit_cost);
    s.unit_price = l.map(|l| l.unit_price);
    s
}

/// Saves `plan`; sets and returns its id.
pub fn save(store: &mut Store, plan: &mut Plan, operator: &str) -> Result<i64> {
    let body = serde_json::to_string(plan)?;
    plan.id = store.save_plan(operator, plan.reverts, &body)?;
    Ok(plan.id)
}

/// The saved plan `id`.
pub fn load(store: &Store, id: i64) -> Result<Plan> {
    let stored = store
        .plan(id)?
        .ok_or_else(|| anyhow!("there is no plan {id}; `reconcile push plan` makes one, `reconcile push log` lists what was applied"))?;
    let mut plan: Plan = serde_json::from_str(&stored.body).with_context(|| {
        format!("plan {id} cannot be read by this version of reconcile; plan again")
    })?;
    plan.id = stored.id;
    Ok(plan)
}

/// What an apply did, for the exit code and the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    pub written: usize,
    pub at_target: usize,
    pub drift: usize,
    pub failed: usize,
    pub review: usize,
    pub exported: usize,
    /// Files of changes written for CSV-imported PSAs.
    pub files: Vec<PathBuf>,
}

/// Applies saved plan `plan`: each `write` line through its PSA's writer (serially, under the
/// tenant's lock), each `export` line into a file of changes in `export_dir`. `each` is told
/// of every line as it is done.
pub async fn apply(
    cx: &PushCx<'_>,
    store: &mut Store,
    plan: &Plan,
    export_dir: &Path,
    each: &mut dyn FnMut(&PlanLine, &str),
) -> Result<Applied> {
    let config = cx.config;
    let max_age = i64::from(config.push.max_plan_age_hours.unwrap_or(24));
    let age = Timestamp::now().duration_since(plan.created_at);
    if age.as_secs() > max_age * 3600 {
        bail!(
            "plan {} was made at {}, more than {max_age} hours ago; the PSA and the counts may have moved since: make a new one with `reconcile push plan`",
            plan.id,
            plan.created_at.strftime("%Y-%m-%d %H:%M UTC")
        );
    }
    let mut done = Applied {
        review: plan
            .lines
            .iter()
            .filter(|l| l.decision == Decision::Review)
            .count(),
        ..Applied::default()
    };
    for (psa, tenant) in &plan.tenants {
        let lines: Vec<&PlanLine> = plan
            .lines
            .iter()
            .filter(|l| &l.psa_connection == psa && l.decision != Decision::Review)
            .collect();
        if lines.is_empty() {
            continue;
        }
        if lines.iter().all(|l| l.decision == Decision::Export) {
            let path = export_dir.join(format!("reconcile-push-{}-{psa}.csv", plan.id));
            export(&path, plan, &lines)?;
            for l in &lines {
                record(cx, store, plan, tenant, l, "exported", None, None)?;
                each(l, "exported");
            }
            done.exported += lines.len();
            done.files.push(path);
            continue;
        }
        let conn = config.connection(psa)?;
        if !conn.settings.allows_write() {
            bail!(
                "`{psa}` is read-only; connect it with --allow-write to let `push apply` write (`reconcile connect {} --name {psa} --allow-write ...`; `--help` names the permission it needs)",
                conn.kind().as_str()
            );
        }
        let writer = cx
            .writer(psa, WritePurpose::Write)?
            .ok_or_else(|| anyhow!("`{psa}` cannot be written back"))?;
        if writer.tenant() != *tenant {
            bail!(
                "plan {} was made against {tenant}, but `{psa}` is now {}; make a new plan with `reconcile push plan`",
                plan.id,
                writer.tenant()
            );
        }
        if let Err(busy) = store.lock_tenant(tenant, plan.id)? {
            bail!(
                "another reconcile (pid {}) is applying plan {} to `{psa}` since {}; wait for it to finish",
                busy.pid,
                busy.plan_id,
                busy.started_at
            );
        }
        let result = apply_psa(
            cx,
            store,
            plan,
            tenant,
            writer.as_ref(),
            &lines,
            &mut done,
            each,
        )
        .await;
        store.unlock_tenant(tenant)?;
        result?;
    }
    Ok(done)
}

#[allow(clippy::too_many_arguments)]
async fn apply_psa(
    cx: &PushCx<'_>,
    store: &mut Store,
    plan: &Plan,
    tenant: &str,
    writer: &dyn LineWriter,
    lines: &[&PlanLine],
    done: &mut Applied,
    each: &mut dyn FnMut(&PlanLine, &str),
) -> Result<()> {
    for l in lines {
        let Some(before) = l.before.clone() else {
            continue;
        };
        let change = LineChange {
            line: l.line.clone(),
            before,
            quantity: l.quantity,
            unit_cost: l.unit_cost,
            effective: l.effective,
            plan_id: plan.id.to_string(),
        };
        let outcome = apply_line(writer, &change).await;
        match &outcome {
            LineOutcome::Written { .. } => done.written += 1,
            LineOutcome::AtTarget { .. } => done.at_target += 1,
            LineOutcome::Drift { .. } => done.drift += 1,
            LineOutcome::Mismatch { .. } | LineOutcome::Failed { .. } => done.failed += 1,
        }
        record(
            cx,
            store,
            plan,
            tenant,
            l,
            outcome.as_str(),
            Some(&outcome),
            None,
        )?;
        each(l, &describe(&outcome));
    }
    Ok(())
}

/// One line for the person watching: what happened.
pub fn describe(o: &LineOutcome) -> String {
    match o {
        LineOutcome::Written { after, written } => {
            format!(
                "written (HTTP {}), reads back {}",
                written.status,
                after.quantity.normalize()
            )
        }
        LineOutcome::AtTarget { now } => {
            format!("already {}: nothing written", now.quantity.normalize())
        }
        LineOutcome::Drift { now } => format!(
            "changed in the PSA since the plan (now {}): skipped; plan again",
            now.quantity.normalize()
        ),
        LineOutcome::Mismatch { after, written } => format!(
            "written (HTTP {}) but reads back {}: check the line in the PSA",
            written.status,
            after.quantity.normalize()
        ),
        LineOutcome::Failed { stage, error, .. } => format!("failed at the {stage}: {error}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    cx: &PushCx<'_>,
    store: &mut Store,
    plan: &Plan,
    tenant: &str,
    l: &PlanLine,
    outcome: &str,
    result: Option<&LineOutcome>,
    error: Option<String>,
) -> Result<()> {
    let dec = |d: Decimal| d.normalize().to_string();
    let read_back = result.and_then(|r| r.read_back());
    let source = format!(
        "{} [{}] runs {} basis {} over {} snapshot(s){}",
        l.source.vendor_connections.join(", "),
        l.source.services.join(", "),
        l.source
            .runs
            .iter()
            .map(|(c, r)| format!("{c}#{r}"))
            .collect::<Vec<_>>()
            .join(" "),
        l.source.basis,
        l.source.snapshots,
        l.source
            .counted
            .map(|c| format!(", counted {}", c.normalize()))
            .unwrap_or_default()
    );
    store.record_audit(&AuditRow {
        at: Timestamp::now().to_string(),
        operator: cx.operator.clone(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        plan_id: plan.id,
        psa_connection: l.psa_connection.clone(),
        tenant: tenant.into(),
        company_id: Some(l.company_id.clone()),
        company: Some(l.company.clone()),
        agreement_id: l.line.agreement_id.clone(),
        line_id: l.line.line_id.clone(),
        product: l.product.clone(),
        before_qty: l.before.as_ref().map(|b| dec(b.quantity)),
        after_qty: dec(l.quantity),
        before_cost: l.before.as_ref().and_then(|b| b.unit_cost).map(dec),
        after_cost: l.unit_cost.map(dec),
        effective: l.effective.to_string(),
        source,
        guards: l.guard_summary(),
        outcome: outcome.into(),
        http_status: result.and_then(|r| r.status()),
        returned_id: match result {
            Some(LineOutcome::Written { written, .. } | LineOutcome::Mismatch { written, .. }) => {
                written.returned_id.clone()
            }
            _ => None,
        },
        read_back_qty: read_back.map(|s| dec(s.quantity)),
        read_back_cost: read_back.and_then(|s| s.unit_cost).map(dec),
        error: error.or_else(|| match result {
            Some(LineOutcome::Failed { error, .. }) => Some(error.clone()),
            _ => None,
        }),
    })
}

/// Writes the file of changes for a CSV-imported PSA: one row per line, with the quantity it
/// has and the one to set, to import (or type) into the PSA by hand.
fn export(path: &Path, plan: &Plan, lines: &[&PlanLine]) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot write the file of changes {}", path.display()))?;
    w.write_record([
        "plan_id",
        "company",
        "company_id",
        "agreement",
        "product",
        "line",
        "current_quantity",
        "new_quantity",
        "change",
        "unit_cost",
        "effective_date",
        "finding_id",
    ])?;
    for l in lines {
        let before = l.before.as_ref().map(|b| b.quantity);
        w.write_record([
            plan.id.to_string(),
            l.company.clone(),
            l.company_id.clone(),
            l.agreement.clone(),
            l.product.clone(),
            l.line.line_id.clone(),
            before
                .map(|b| b.normalize().to_string())
                .unwrap_or_default(),
            l.quantity.normalize().to_string(),
            l.change().map(plan::signed).unwrap_or_default(),
            l.unit_cost
                .map(|c| c.round_dp(2).to_string())
                .unwrap_or_default(),
            l.effective.to_string(),
            l.finding_id.clone(),
        ])?;
    }
    w.flush()
        .with_context(|| format!("cannot write the file of changes {}", path.display()))?;
    Ok(())
}

/// The inverse of applied plan `id`: each line it wrote goes back to its value before, read
/// fresh and judged by the same guards, except the direction and size guards: a revert asks
/// for exactly the values the lines had.
pub async fn revert_plan(cx: &PushCx<'_>, store: &Store, id: i64) -> Result<Plan> {
    let original = load(store, id)?;
    let audit = store.audit(Some(id))?;
    let written: BTreeSet<(String, String)> = audit
        .iter()
        .filter(|a| a.outcome == "written" || a.outcome == "mismatch")
        .map(|a| (a.psa_connection.clone(), a.line_id.clone()))
        .collect();
    if written.is_empty() {
        bail!(
            "plan {id} wrote nothing (see `reconcile push log --plan {id}`), so there is nothing to revert"
        );
    }
    let now = Timestamp::now();
    let mut plan = Plan {
        id: 0,
        created_at: now,
        reverts: Some(id),
        tenants: original.tenants.clone(),
        lines: Vec::new(),
        notes: Vec::new(),
    };
    for l in &original.lines {
        if !written.contains(&(l.psa_connection.clone(), l.line.line_id.clone())) {
            continue;
        }
        let Some(old) = l.before.clone() else {
            continue;
        };
        let writer = cx
            .writer(&l.psa_connection, WritePurpose::Read)?
            .ok_or_else(|| anyhow!("`{}` cannot be written back", l.psa_connection))?;
        let (before, error) = match writer.read_line(&l.line, l.effective).await {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let mut guards = vec![GuardResult {
            guard: "line_read".into(),
            failed: error.map(|e| format!("the line could not be read: {e}")),
        }];
        for g in [
            crate::connectors::PsaGuard::LineType,
            crate::connectors::PsaGuard::ContractState,
            crate::connectors::PsaGuard::PostedPeriod,
        ] {
            let why: Vec<String> = before
                .iter()
                .flat_map(|b| b.blocked.iter())
                .filter(|(k, _)| *k == g)
                .map(|(_, w)| w.clone())
                .collect();
            guards.push(GuardResult {
                guard: g.as_str().into(),
                failed: (!why.is_empty()).then(|| why.join("; ")),
            });
        }
        if let Some(b) = &before
            && !at_target(b, l.quantity, l.unit_cost)
        {
            guards.push(GuardResult {
                guard: "drift".into(),
                failed: Some(format!(
                    "the line holds {} now, not the {} plan {id} wrote: it changed since; revert it by hand",
                    b.quantity.normalize(),
                    l.quantity.normalize()
                )),
            });
        }
        let decision = if guards.iter().any(|g| g.failed.is_some()) {
            Decision::Review
        } else {
            Decision::Write
        };
        plan.lines.push(PlanLine {
            before,
            quantity: old.quantity,
            unit_cost: l.unit_cost.and(old.unit_cost),
            guards,
            decision,
            ..l.clone()
        });
    }
    Ok(plan)
}
