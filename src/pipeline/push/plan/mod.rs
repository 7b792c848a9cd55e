//! What a push plan is and how its lines are chosen and judged. Pure: findings, a PSA snapshot
//! and the options in; candidate lines out, then each line's guards from the line as just read
//! from the PSA. The I/O around it (reading the lines, saving the plan) is in `mod.rs`.
//!
//! The rules:
//! - only findings of a PSA connection that say its billed quantity is wrong or cannot be
//!   trusted: `under_billed`, `over_billed`, `within_tolerance` (the exact count is what a
//!   high-watermark push writes), `billing_no_usage` (a target of 0, which the zero guard stops
//!   unless allowed) and `stale_source` (planned for review only, never written);
//! - only when every service the finding counts (or, with no usage, every service mapped to its
//!   product) opted in with `map service ... --push` or `[push.services."<key>"] push = true`;
//! - only existing lines: the lines the finding's billed quantity sums. None → nothing to plan
//!   (a missing line is added by hand); two or more → one plan line for review (ambiguity);
//! - the target is what the engine compared billed with (billed + difference: after contract
//!   rules, basis and whole units where the PSA bills only those), rounded up to whole units
//!   for a PSA that takes only those;
//! - every guard is evaluated and kept with its result; any failed guard makes the line
//!   `review`, never a write.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::connectors::write::same_quantity;
use crate::connectors::{LineRef, LineState};
use crate::engine::{Finding, FindingKind, counted_lines};
use crate::model::PsaSnapshot;

/// A saved plan (its JSON is the plan's body in the database).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Set when saved.
    pub id: i64,
    pub created_at: Timestamp,
    /// The plan this one reverts.
    pub reverts: Option<i64>,
    /// The tenant each PSA connection read (and must still be at apply).
    pub tenants: BTreeMap<String, String>,
    pub lines: Vec<PlanLine>,
    /// What the plan wants the reader to know (a read-only connection, a line not read).
    pub notes: Vec<String>,
}

/// What apply does with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Every guard passed: apply writes it.
    Write,
    /// A guard failed: apply leaves it.
    Review,
    /// The PSA cannot be written through its API (the CSV billing import): apply writes it
    /// to a file of changes to import by hand.
    Export,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Write => "write",
            Decision::Review => "needs review",
            Decision::Export => "export",
        }
    }
}

/// One guard's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardResult {
    pub guard: String,
    /// `None` when it passed; why not otherwise.
    pub failed: Option<String>,
}

/// Where a line's target came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub vendor_connections: Vec<String>,
    pub services: Vec<String>,
    /// The sync run (snapshot) of each connection the finding was computed from.
    pub runs: BTreeMap<String, i64>,
    /// The finding's actual count before contract rules and rounding.
    pub counted: Option<Decimal>,
    pub basis: String,
    pub snapshots: usize,
}

/// One line of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    pub psa_connection: String,
    pub finding_id: String,
    pub finding_kind: FindingKind,
    pub company_id: String,
    pub company: String,
    pub agreement: String,
    pub line: LineRef,
    pub product: String,
    /// The line as read from the PSA when planning (or, for an export, from the snapshot).
    pub before: Option<LineState>,
    pub quantity: Decimal,
    pub unit_cost: Option<Decimal>,
    pub effective: Date,
    /// What the PSA does with the effective date.
    pub timing: String,
    pub source: Source,
    pub guards: Vec<GuardResult>,
    pub decision: Decision,
}

impl PlanLine {
    /// The guards that failed, as `guard: why`.
    pub fn failed_guards(&self) -> Vec<String> {
        self.guards
            .iter()
            .filter_map(|g| g.failed.as_ref().map(|w| format!("{}: {w}", g.guard)))
            .collect()
    }

    /// Every guard as `name=ok` or `name=why`, for the audit.
    pub fn guard_summary(&self) -> String {
        self.guards
            .iter()
            .map(|g| match &g.failed {
                None => format!("{}=ok", g.guard),
                Some(w) => format!("{}={w}", g.guard),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The quantity change (target − before), when the line was read.
    pub fn change(&self) -> Option<Decimal> {
        self.before.as_ref().map(|b| self.quantity - b.quantity)
    }
}

/// The options one line is planned with (config `[push]` and its per-service and per-PSA
/// tables, resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct LineOptions {
    pub max_change_abs: Decimal,
    pub max_change_pct: Decimal,
    pub decreases_auto: bool,
    pub allow_zero: bool,
    pub effective: Date,
    /// The first day of the billing period `now` is in: a date before it lies in a period the
    /// PSA may already have invoiced.
    pub period_start: Date,
    /// The unit cost to write (with its currency) when the services opted into cost.
    pub unit_cost: Option<(Decimal, String)>,
}

/// A finding's line to plan, before the PSA was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub finding: Finding,
    pub line: LineRef,
    pub agreement: String,
    /// The snapshot's quantity (what the finding's billed sums).
    pub snapshot_quantity: Decimal,
    /// Ids of every line counted for the finding: more than one fails the ambiguity guard.
    pub lines: Vec<String>,
    pub target: Decimal,
    /// Services counted (or mapped to the product), as `<vendor connection>/<service key>`.
    pub services: Vec<String>,
}

/// The findings worth a write, in report order.
pub fn pushable(kind: FindingKind) -> bool {
    matches!(
        kind,
        FindingKind::UnderBilled
            | FindingKind::OverBilled
            | FindingKind::WithinTolerance
            | FindingKind::BillingNoUsage
            | FindingKind::StaleSource
            // A cost-only write, when the services opted into --push-cost.
            | FindingKind::CostMismatch
    )
}

/// What planning asks of the mappings and the PSA's writer.
pub struct Lookups<'a> {
    /// The services mapped to a product (for a finding that counted no usage).
    pub services_of: &'a dyn Fn(&str) -> Vec<String>,
    /// Whether a service opted in.
    pub opted_in: &'a dyn Fn(&str) -> bool,
    /// Which line of the PSA a snapshot's line is.
    pub locate: &'a dyn Fn(&crate::model::PsaLine) -> LineRef,
}

/// The candidate lines of PSA connection `psa` from `findings`. `services_of` gives, for a
/// finding that counted no usage, the services mapped to its product; `opted_in` says whether
/// a service opted in; `whole_units` rounds targets up.
pub fn candidates(
    findings: &[Finding],
    psa: &str,
    snap: &PsaSnapshot,
    as_of: Timestamp,
    whole_units: bool,
    look: &Lookups,
) -> Vec<Candidate> {
    let Lookups {
        services_of,
        opted_in,
        locate,
    } = look;
    let agreement_name = |id: &str| {
        snap.agreements
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let mut out = Vec::new();
    for f in findings {
        if f.psa_connection.as_deref() != Some(psa) || !pushable(f.kind) {
            continue;
        }
        let (Some(company_id), Some(product)) = (&f.company_id, &f.product) else {
            continue;
        };
        // The line's own quantity finding writes the cost too: one write per line.
        if f.kind == FindingKind::CostMismatch
            && findings.iter().any(|g| {
                g.kind != FindingKind::CostMismatch
                    && pushable(g.kind)
                    && g.psa_connection == f.psa_connection
                    && g.company_id == f.company_id
                    && g.product == f.product
            })
        {
            continue;
        }
        let services = if f.services.is_empty() {
            services_of(product)
        } else {
            f.services.clone()
        };
        if services.is_empty() || !services.iter().all(|s| opted_in(s)) {
            continue;
        }
        let lines = counted_lines(snap, company_id, product, as_of);
        let Some(first) = lines.first() else {
            continue;
        };
        let billed = f.billed.unwrap_or(first.quantity);
        let mut target = match f.difference {
            Some(d) => billed + d,
            None => f.contract_qty.or(f.actual).unwrap_or(billed),
        };
        if whole_units {
            target = target.ceil();
        }
        out.push(Candidate {
            finding: f.clone(),
            line: locate(first),
            agreement: agreement_name(&first.agreement_id),
            snapshot_quantity: first.quantity,
            lines: lines.iter().map(|l| l.id.clone()).collect(),
            target: target.max(Decimal::ZERO),
            services,
        });
    }
    out
}

/// What the plan knows about a candidate's sources.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceState {
    /// Why a source cannot be written from (unhealthy, partial, the finding is stale), if so.
    pub unfit: Option<String>,
}

/// Judges one candidate against the line as read (`before`, `None` when it could not be read,
/// with why in `read_error`) and decides.
pub fn judge(
    c: &Candidate,
    before: Option<&LineState>,
    read_error: Option<&str>,
    opts: &LineOptions,
    source: &SourceState,
    approved: bool,
    line_currency_default: &str,
) -> (Vec<GuardResult>, Decision) {
    let mut guards = Vec::new();
    let mut guard = |name: &str, failed: Option<String>| {
        guards.push(GuardResult {
            guard: name.into(),
            failed,
        })
    };
    guard(
        "source_health",
        source.unfit.clone().or_else(|| {
            (c.finding.kind == FindingKind::StaleSource)
                .then(|| format!("the finding is stale: {}", first_sentence(&c.finding.note)))
        }),
    );
    guard(
        "line_read",
        match (before, read_error) {
            (Some(_), _) => None,
            (None, Some(e)) => Some(format!("the line could not be read: {e}")),
            (None, None) => Some("the line could not be read".into()),
        },
    );
    guard(
        "ambiguity",
        (c.lines.len() > 1).then(|| {
            format!(
                "{} lines bill this product for this company ({}); keep one, or change them by hand",
                c.lines.len(),
                c.lines.join(", ")
            )
        }),
    );
    let before_qty = before.map(|b| b.quantity).unwrap_or(c.snapshot_quantity);
    let change = c.target - before_qty;
    let approval = |why: String| {
        if approved {
            None
        } else {
            Some(format!(
                "{why}; `reconcile review approve {}` lets it through",
                c.finding.id
            ))
        }
    };
    guard(
        "zero",
        (c.target.is_zero() && !opts.allow_zero && !same_quantity(before_qty, Decimal::ZERO))
            .then(|| {
                "the target is 0, which usually means a broken mapping, an offboarded client or a failed sync (allow with `[push] allow_zero = true`)".to_string()
            })
            .and_then(approval),
    );
    let pct_over = before_qty > Decimal::ZERO
        && change.abs() * Decimal::ONE_HUNDRED > opts.max_change_pct * before_qty;
    guard(
        "large_change",
        (change.abs() > opts.max_change_abs || pct_over)
            .then(|| {
                format!(
                    "a change of {} from {} is more than {} units or {} %",
                    signed(change),
                    before_qty.normalize(),
                    opts.max_change_abs.normalize(),
                    opts.max_change_pct.normalize()
                )
            })
            .and_then(approval),
    );
    guard(
        "decrease",
        (change < Decimal::ZERO && !opts.decreases_auto)
            .then(|| {
                format!(
                    "a decrease ({}) lowers revenue; decreases need review unless `[push] decreases = \"auto\"`",
                    signed(change)
                )
            })
            .and_then(approval),
    );
    // The PSA's own guards, from the fresh read.
    for g in [
        crate::connectors::PsaGuard::LineType,
        crate::connectors::PsaGuard::ContractState,
        crate::connectors::PsaGuard::PostedPeriod,
    ] {
        let mut why: Vec<String> = before
            .map(|b| {
                b.blocked
                    .iter()
                    .filter(|(k, _)| *k == g)
                    .map(|(_, w)| w.clone())
                    .collect()
            })
            .unwrap_or_default();
        if g == crate::connectors::PsaGuard::PostedPeriod && opts.effective < opts.period_start {
            why.push(format!(
                "the effective date {} is before this billing period (from {}), which the PSA may already have invoiced",
                opts.effective, opts.period_start
            ));
        }
        guard(g.as_str(), (!why.is_empty()).then(|| why.join("; ")));
    }
    guard(
        "currency",
        opts.unit_cost.as_ref().and_then(|(_, cur)| {
            let line = before
                .and_then(|b| b.currency.clone())
                .unwrap_or_else(|| line_currency_default.to_string());
            (!line.eq_ignore_ascii_case(cur)).then(|| {
                format!("the cost is in {cur} but the line bills in {line}; costs are written only in the line's currency")
            })
        }),
    );
    let decision = if guards.iter().any(|g| g.failed.is_some()) {
        Decision::Review
    } else {
        Decision::Write
    };
    (guards, decision)
}

/// `+3`, `-2.5`.
pub fn signed(d: Decimal) -> String {
    if d > Decimal::ZERO {
        format!("+{}", d.normalize())
    } else {
        d.normalize().to_string()
    }
}

fn first_sentence(s: &str) -> &str {
    s.split_once(". ").map_or(s, |(a, _)| a)
}

/// The first day of the billing period `now` is in (periods start on `anchor_day`).
pub fn period_start(now: Timestamp, anchor_day: i8) -> anyhow::Result<Date> {
    let p = crate::period::Period::containing(now, anchor_day)?;
    Ok(p.start().to_zoned(jiff::tz::TimeZone::UTC).date())
}

/// The first day of the billing period after the one `now` is in (periods start on
/// `anchor_day`).
pub fn next_period_start(now: Timestamp, anchor_day: i8) -> anyhow::Result<Date> {
    let p = crate::period::Period::containing(now, anchor_day)?;
    Ok(p.end().to_zoned(jiff::tz::TimeZone::UTC).date())
}

#[cfg(test)]
mod tests;
