//! The report as a person reads it at a terminal: the findings that ask for action (matches
//! counted in one line unless `--matches`), fitted to the terminal's width by
//! [`fit`](crate::output::fit), then the totals, per company, and a summary line.

use std::io::Write;

use anyhow::Result;
use comfy_table::Color;
use rust_decimal::Decimal;

use super::{CompanyTotal, Options, View};
use crate::engine::{Finding, FindingKind};
use crate::output::fit::{Col, Fit, fit, wrap};
use crate::output::money::{amount, grouped, price};
use crate::output::qty;
use crate::review::State;

/// How wide the table may be, and whether it is drawn in colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableStyle {
    pub width: usize,
    pub color: bool,
}

impl Default for TableStyle {
    fn default() -> Self {
        TableStyle {
            width: 120,
            color: false,
        }
    }
}

/// The type as the table shows it: short, and never wrapped.
pub fn kind_label(k: FindingKind) -> &'static str {
    match k {
        FindingKind::UnmappedAccount => "unmapped account",
        FindingKind::UnmappedService => "unmapped service",
        FindingKind::UnderBilled => "under-billed",
        FindingKind::OverBilled => "over-billed",
        FindingKind::UsageNoBilling => "unbilled usage",
        FindingKind::BillingNoUsage => "billed, no usage",
        FindingKind::CostMismatch => "cost mismatch",
        FindingKind::StaleSource => "stale source",
        FindingKind::WithinTolerance => "within tolerance",
        FindingKind::Match => "match",
    }
}

fn kind_color(k: FindingKind) -> Option<Color> {
    Some(match k {
        FindingKind::UnderBilled | FindingKind::UsageNoBilling => Color::Red,
        FindingKind::OverBilled | FindingKind::BillingNoUsage => Color::Yellow,
        FindingKind::UnmappedAccount | FindingKind::UnmappedService => Color::Magenta,
        FindingKind::StaleSource => Color::DarkRed,
        FindingKind::CostMismatch => Color::Cyan,
        FindingKind::Match => Color::Green,
        FindingKind::WithinTolerance => return None,
    })
}

/// The billed quantity, with the included units beside it: `50 (5 incl.)`.
pub(super) fn billed_cell(f: &Finding) -> String {
    match (f.billed, f.less_included) {
        (Some(b), Some(li)) if li > Decimal::ZERO => format!("{} ({} incl.)", qty(b), qty(li)),
        (b, _) => b.map(qty).unwrap_or_default(),
    }
}

/// A difference with its sign: `+3`, `-2`, `0`.
pub(super) fn diff_cell(d: Option<Decimal>) -> String {
    match d {
        Some(d) if d > Decimal::ZERO => format!("+{}", qty(d)),
        Some(d) => qty(d),
        None => String::new(),
    }
}

/// The finding's note, and why an earlier decision no longer applies.
pub(super) fn note_of(f: &Finding, state: &State) -> String {
    match state.came_back_note() {
        Some(back) if f.note.is_empty() => back,
        Some(back) => format!("{}; {back}", f.note),
        None => f.note.clone(),
    }
}

/// `approved by ann: reason` when a decision applies; empty otherwise.
pub(super) fn decision_of(state: &State) -> String {
    match state {
        State::Decided(d) => format!(
            "{} by {}{}",
            d.verdict.past(),
            d.decided_by,
            d.note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ),
        _ => String::new(),
    }
}

/// The actual count, with what was left out beside it: `55 (+3 inactive, +1 excluded)`.
pub(super) fn actual_cell(f: &Finding) -> String {
    let Some(a) = f.actual else {
        return String::new();
    };
    let mut extra = Vec::new();
    for (n, what) in [
        (f.inactive, "inactive"),
        (f.pending, "pending"),
        (f.excluded, "excluded"),
    ] {
        if let Some(n) = n.filter(|n| *n > Decimal::ZERO) {
            extra.push(format!("+{} {what}", qty(n)));
        }
    }
    let mut cell = qty(a);
    if !f.basis.is_empty() && f.basis != "latest" {
        extra.insert(0, format!("{} of {}", f.basis, f.snapshots.max(1)));
    }
    if !extra.is_empty() {
        cell = format!("{cell} ({})", extra.join(", "));
    }
    if let Some(c) = f.contract_qty {
        cell = format!("{cell}; bill {}", qty(c));
    }
    cell
}

/// Names wrap, and are shortened only past four lines.
const WRAP_NAME: Fit = Fit::Wrap {
    min: 10,
    max_lines: 4,
};

pub fn render(
    out: &mut dyn Write,
    view: &View,
    shown: &[(&Finding, &State)],
    opts: &Options,
) -> Result<()> {
    let record = view.record;
    let cur = &record.currency;
    let style = opts.table;
    let all = opts.review.all;
    if !opts.filter.is_empty() {
        writeln!(
            out,
            "Findings of {} (the totals below cover these only)",
            opts.filter.describe()
        )?;
    }
    if shown.is_empty() {
        writeln!(out, "No findings to show.")?;
    } else {
        // Display order; the number is the priority (lower stays longer on a narrow terminal).
        let mut id = Col::new("ID", 0, Fit::Keep);
        let mut kind = Col::new("Type", 1, Fit::Keep);
        let mut who = Col::new("Company / account", 3, WRAP_NAME);
        let mut what = Col::new("Product / service", 4, WRAP_NAME);
        // Numbers and the words beside them (`55 (+3 inactive)`) stay whole.
        let mut billed = Col::new("Billed", 7, Fit::Words { max_lines: 2 });
        let mut actual = Col::new("Actual", 6, Fit::Words { max_lines: 3 });
        let mut diff = Col::new("Diff", 5, Fit::Keep);
        let mut unit = Col::new("Unit price", 9, Fit::Keep);
        let mut impact = Col::new(format!("Impact/mo ({cur})"), 2, Fit::Keep);
        let mut note = Col::new(
            "Note",
            8,
            Fit::Wrap {
                min: 14,
                max_lines: 3,
            },
        );
        // Asked for with --all: as important as the difference it explains.
        let mut decision = Col::new(
            "Decision",
            5,
            Fit::Wrap {
                min: 12,
                max_lines: 2,
            },
        );
        for (f, state) in shown {
            id.cells.push(f.id.clone());
            kind.cells.push(kind_label(f.kind).to_string());
            kind.colors.push(kind_color(f.kind));
            who.cells
                .push(f.company.clone().unwrap_or_else(|| f.accounts.join(", ")));
            what.cells
                .push(f.product.clone().unwrap_or_else(|| f.services.join(", ")));
            billed.cells.push(billed_cell(f));
            actual.cells.push(actual_cell(f));
            diff.cells.push(diff_cell(f.difference));
            unit.cells.push(
                f.unit_price
                    .map(|p| grouped(price(p, cur)))
                    .unwrap_or_default(),
            );
            impact.cells.push(
                f.monthly_impact
                    .map(|m| grouped(amount(m, cur)))
                    .unwrap_or_default(),
            );
            note.cells.push(note_of(f, state));
            decision.cells.push(decision_of(state));
        }
        let mut cols = vec![
            id, kind, who, what, billed, actual, diff, unit, impact, note,
        ];
        if all {
            cols.push(decision);
        }
        let fitted = fit(cols, style.width, style.color);
        writeln!(out, "{}", fitted.table)?;
        let mut left_out = Vec::new();
        if !fitted.dropped.is_empty() {
            left_out.push(format!(
                "Not shown at {} columns: {}.",
                style.width,
                fitted.dropped.join(", ")
            ));
        }
        if fitted.shortened {
            left_out.push("Text ending in … is shortened.".to_string());
        }
        if !left_out.is_empty() {
            left_out.push(
                "`reconcile explain <ID>` shows all of a finding; --format csv has every column."
                    .to_string(),
            );
            para(out, &left_out.join(" "), style.width)?;
        }
        // --all asks to see the decisions: when their column gave way, they follow the table.
        if all && fitted.dropped.iter().any(|d| d == "Decision") {
            for (f, state) in shown {
                if let State::Decided(d) = state {
                    para(
                        out,
                        &format!(
                            "Decided: {} {} by {} on {}{}",
                            f.id,
                            d.verdict.past(),
                            d.decided_by,
                            d.decided_at,
                            d.note
                                .as_deref()
                                .map(|n| format!(": {n}"))
                                .unwrap_or_default()
                        ),
                        style.width,
                    )?;
                }
            }
        }
        let mut removed: std::collections::BTreeMap<&str, Decimal> = Default::default();
        for (f, _) in shown {
            for (reason, n) in &f.excluded_by {
                *removed.entry(reason.as_str()).or_default() += *n;
            }
        }
        if !removed.is_empty() {
            let parts: Vec<String> = removed
                .iter()
                .map(|(r, n)| format!("{} by \"{r}\"", qty(*n)))
                .collect();
            writeln!(out, "Excluded from the counts: {}", parts.join(", "))?;
        }
    }
    for a in &view.totals.excluded_accounts {
        writeln!(
            out,
            "Excluded account: {} ({} on {}, {} item(s)) by \"{}\"",
            a.account, a.account_id, a.vendor_connection, a.items, a.reason
        )?;
    }
    let unlisted = view
        .kept
        .iter()
        .filter(|(f, s)| {
            !f.kind.is_discrepancy()
                && (all || !s.is_decided())
                && !shown.iter().any(|(g, _)| std::ptr::eq(*f, *g))
        })
        .fold((0, 0), |(m, w), (f, _)| match f.kind {
            FindingKind::Match => (m + 1, w),
            _ => (m, w + 1),
        });
    if unlisted != (0, 0) {
        let (m, w) = unlisted;
        let mut parts = Vec::new();
        if m > 0 {
            parts.push(format!("{m} match{}", if m == 1 { "" } else { "es" }));
        }
        if w > 0 {
            parts.push(format!("{w} within tolerance"));
        }
        writeln!(
            out,
            "{} not listed{}",
            parts.join(" and "),
            if opts.only_discrepancies {
                ""
            } else {
                " (--matches lists them)"
            }
        )?;
    }
    if !view.by_company.is_empty() {
        writeln!(out, "Per company, largest first:")?;
        writeln!(out, "{}", company_table(&view.by_company, cur, style))?;
    }
    let services = super::service_totals(view.kept.iter().map(|(f, _)| *f), cur);
    if let Some((t, rest)) = super::by_service::table(&services, cur, style.width, style.color) {
        para(
            out,
            "Per service offering, worst margin first (`report --by service`):",
            style.width,
        )?;
        writeln!(out, "{t}")?;
        if let Some(rest) = rest {
            writeln!(out, "{rest}")?;
        }
    }
    let t = &view.totals;
    if !t.within_tolerance_monthly.is_zero() {
        writeln!(
            out,
            "Within tolerance (not in the totals): {} {cur} per month, net",
            grouped(amount(t.within_tolerance_monthly, cur))
        )?;
    }
    let counts: Vec<String> = FindingKind::ALL
        .iter()
        .filter_map(|k| {
            let n = t.by_kind.get(k.as_str()).copied().unwrap_or(0);
            (n > 0).then(|| kind_count(n, *k))
        })
        .collect();
    para(
        out,
        &format!(
            "Findings: {} (reconciled {}, as of {})",
            if counts.is_empty() {
                "none".to_string()
            } else {
                counts.join(", ")
            },
            minute(&record.created_at),
            minute(&record.as_of)
        ),
        style.width,
    )?;
    para(out, &summary(view, all), style.width)?;
    Ok(())
}

/// `2026-12-04 21:06 UTC` for a person (JSON keeps the full timestamp).
pub(super) fn minute(ts: &str) -> String {
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => ts.to_string(),
    }
}

/// A line of text wrapped to the table's width.
fn para(out: &mut dyn Write, text: &str, width: usize) -> Result<()> {
    for line in wrap(text, width, usize::MAX).0 {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `4 unmapped services`, `1 match`, `10 under-billed`.
pub(super) fn kind_count(n: usize, k: FindingKind) -> String {
    let label = kind_label(k);
    let plural = match k {
        FindingKind::UnmappedAccount | FindingKind::UnmappedService | FindingKind::StaleSource => {
            "s"
        }
        FindingKind::Match => "es",
        _ => "",
    };
    if n == 1 {
        format!("{n} {label}")
    } else {
        format!("{n} {label}{plural}")
    }
}

fn company_table(by_company: &[CompanyTotal], cur: &str, style: super::TableStyle) -> String {
    let mut name = Col::new("Company", 1, WRAP_NAME);
    let mut under = Col::new(format!("Under-billed/mo ({cur})"), 0, Fit::Keep);
    let mut over = Col::new(format!("Over-billed/mo ({cur})"), 0, Fit::Keep);
    let mut net = Col::new(format!("Net/mo ({cur})"), 0, Fit::Keep);
    for c in by_company {
        name.cells.push(c.company.clone());
        under
            .cells
            .push(grouped(amount(c.under_billed_monthly, cur)));
        over.cells.push(grouped(amount(c.over_billed_monthly, cur)));
        net.cells.push(grouped(amount(c.net_monthly, cur)));
    }
    fit(vec![name, under, over, net], style.width, style.color)
        .table
        .to_string()
}

/// The line a person reads first: money at stake per month, split under/over, and what needs a
/// mapping or a sync before the numbers can be trusted.
pub fn summary(view: &View, all: bool) -> String {
    let t = &view.totals;
    let cur = &view.record.currency;
    let n = |k: FindingKind| t.by_kind.get(k.as_str()).copied().unwrap_or(0);
    let lines = |n: usize| format!("{n} line{}", if n == 1 { "" } else { "s" });
    let open = || {
        view.kept
            .iter()
            .filter(|(_, s)| !s.is_decided())
            .map(|(f, _)| *f)
    };
    let priced = |kinds: &[FindingKind]| {
        open()
            .filter(|f| kinds.contains(&f.kind) && f.monthly_impact.is_some())
            .count()
    };
    let under_n = priced(&[FindingKind::UnderBilled, FindingKind::UsageNoBilling]);
    let over_n = priced(&[FindingKind::OverBilled, FindingKind::BillingNoUsage]);
    let stake = t.under_billed_monthly + t.over_billed_monthly;
    let mut parts = vec![format!(
        "At stake: {} {cur}/month (under-billed {} on {}, over-billed {} on {})",
        grouped(amount(stake, cur)),
        grouped(amount(t.under_billed_monthly, cur)),
        lines(under_n),
        grouped(amount(t.over_billed_monthly, cur)),
        lines(over_n),
    )];
    // Unmapped findings have no price either; they are counted under "to map".
    let unpriced = open()
        .filter(|f| {
            f.monthly_impact.is_none()
                && f.kind.is_discrepancy()
                && !matches!(
                    f.kind,
                    FindingKind::StaleSource
                        | FindingKind::CostMismatch
                        | FindingKind::UnmappedAccount
                        | FindingKind::UnmappedService
                )
        })
        .count();
    if unpriced > 0 {
        parts.push(format!(
            "{unpriced} more discrepanc{} with no known price",
            if unpriced == 1 { "y" } else { "ies" }
        ));
    }
    let (accounts, services) = (
        n(FindingKind::UnmappedAccount),
        n(FindingKind::UnmappedService),
    );
    if accounts + services > 0 {
        let mut m = Vec::new();
        if accounts > 0 {
            m.push(format!(
                "{accounts} account{}",
                if accounts == 1 { "" } else { "s" }
            ));
        }
        if services > 0 {
            m.push(format!(
                "{services} service{}",
                if services == 1 { "" } else { "s" }
            ));
        }
        parts.push(format!("to map: {} (`reconcile map`)", m.join(", ")));
    }
    let stale = n(FindingKind::StaleSource);
    if stale > 0 {
        parts.push(format!(
            "{stale} finding{} from a stale source (`reconcile status` says why)",
            if stale == 1 { "" } else { "s" }
        ));
    }
    match (view.decided, all) {
        (0, _) => {}
        (1, false) => parts.push("1 decided finding hidden (--all shows it)".to_string()),
        (n, false) => parts.push(format!("{n} decided findings hidden (--all shows them)")),
        (1, true) => parts.push("1 decided finding not counted".to_string()),
        (n, true) => parts.push(format!("{n} decided findings not counted")),
    }
    parts.join("; ")
}
