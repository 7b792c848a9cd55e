//! `reconcile explain`: why one company's line says what it says.

use std::io::Write;

use anyhow::{Result, bail};
use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::app::App;
use crate::cli::Exit;
use crate::engine::{Explanation, ItemStatus, Rounding};
use crate::output::{money, qty};
use crate::pipeline::findings;
use crate::pipeline::snapshots::Current;

/// Show how one company's line was reconciled: the vendor records counted, the ones left out
/// and why, the billing lines summed, and the arithmetic from the count to the finding.
///
/// COMPANY may be a finding id from `reconcile report` (F94c206e872): then that finding's
/// company and product, with its whole note; a finding with no company (an unmapped account or
/// service) is shown whole.
///
/// For each product of the company (or only PRODUCT): every vendor record the product's mapped
/// services look at, grouped as counted, inactive (last contact older than `[rules]
/// inactive_after_days`), pending approval, or excluded (with the `[[exclude]]` reason); every
/// billing line on the company and product, with its agreement and whether it is summed (and
/// why not); then billed, less included, actual, the `[contract]` adjustments (included,
/// minimum, rounding), the difference, the unit price and the line it comes from, the months per
/// billing cycle, the monthly impact, the tolerance applied and the finding's type.
///
/// Computed from the current snapshots, mappings and config, like `reconcile reconcile`; with
/// --period or --as-of from the stored snapshots of then. A line counted on a `[basis]` other
/// than latest shows the basis and each snapshot's count with its time.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The PSA company: its id, name or identifier (case and spacing do not matter), or a
    /// finding id from `reconcile report`
    #[arg(value_name = "COMPANY", add = crate::cli::complete::companies_or_findings())]
    pub company: String,
    /// Only this product identifier (e.g. NINJA-WS); all of the company's products otherwise
    #[arg(value_name = "PRODUCT", add = crate::cli::complete::products())]
    pub product: Option<String>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub scope: crate::cli::ScopeArgs,
}

/// `F` and ten hex digits: the id `report` prints.
fn looks_like_finding_id(s: &str) -> bool {
    let s = s.trim();
    s.len() == 11 && s.starts_with('F') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A finding with no company (an unmapped account or service): everything it says.
fn show_finding(f: &crate::engine::Finding, json: bool) -> Result<Exit> {
    let mut w = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut w, f)?;
        writeln!(w)?;
    } else {
        writeln!(w, "Finding {} ({})", f.id, f.kind.as_str())?;
        if let Some(v) = &f.vendor_connection {
            writeln!(w, "  vendor connection: {v}")?;
        }
        if !f.accounts.is_empty() {
            writeln!(w, "  accounts: {}", f.accounts.join(", "))?;
        }
        if !f.services.is_empty() {
            writeln!(w, "  services: {}", f.services.join(", "))?;
        }
        if let Some(a) = f.actual {
            writeln!(w, "  actual: {}", qty(a))?;
        }
        writeln!(w, "  {}", f.note)?;
    }
    w.flush()?;
    Ok(Exit::Ok)
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let config = app.config()?;
        let store = app.store_read()?;
        let scope = self.scope.scope(&config)?;
        // A finding id, as `report` prints it: that finding's company and product; a finding
        // with no company (an unmapped account or service) is shown whole.
        let by_id = match looks_like_finding_id(&self.company) {
            true => store
                .latest_reconcile()?
                .and_then(|r| r.findings.into_iter().find(|f| f.id == self.company.trim())),
            false => None,
        };
        let mut product = self.product.clone();
        let (conn, company_id, company_name) = match &by_id {
            Some(f) => match (&f.psa_connection, &f.company_id) {
                (Some(conn), Some(id)) => {
                    product = product.or_else(|| f.product.clone());
                    (
                        conn.clone(),
                        id.clone(),
                        f.company.clone().unwrap_or_default(),
                    )
                }
                _ => return show_finding(f, self.json),
            },
            None => {
                // Only the PSA's companies are needed to find the one asked for.
                let cur = Current::load_psas(&config, &store, scope, Timestamp::now())?;
                find_company(&cur, &self.company)?
            }
        };
        let out = findings::explain(
            &config,
            &store,
            scope,
            &conn,
            &company_id,
            product.as_deref(),
        )?;
        if out.is_empty() {
            let all = findings::explain(&config, &store, scope, &conn, &company_id, None)?;
            let products: Vec<String> = all
                .iter()
                .filter_map(|e| e.finding.product.clone())
                .collect();
            match &product {
                Some(p) if !products.is_empty() => bail!(
                    "{company_name} has no line for product `{p}`; its lines are: {}",
                    products.join(", ")
                ),
                _ => bail!(
                    "{company_name} has no line to explain: no billing line of a mapped product and no mapped usage (is a vendor account mapped to it? `reconcile map list`)"
                ),
            }
        }
        let mut w = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut w, &out)?;
            writeln!(w)?;
        } else {
            if let Some(f) = &by_id
                && !f.note.is_empty()
            {
                writeln!(w, "Finding {} ({}): {}", f.id, f.kind.as_str(), f.note)?;
                writeln!(w)?;
            }
            for (i, e) in out.iter().enumerate() {
                if i > 0 {
                    writeln!(w)?;
                }
                render(&mut w, e, &config.currency)?;
            }
        }
        w.flush()?;
        Ok(Exit::Ok)
    }
}

/// (PSA connection, company id, name) for an id or a folded name; an error listing near names.
pub(super) fn find_company(cur: &Current<()>, query: &str) -> Result<(String, String, String)> {
    let want = fold(query);
    let mut hits = Vec::new();
    let mut all = Vec::new();
    for (conn, _, snap) in &cur.psas {
        for c in &snap.companies {
            all.push((conn, c));
            if c.id == query.trim() || fold(&c.name) == want || fold(&c.identifier) == want {
                hits.push((conn.clone(), c.id.clone(), c.name.clone()));
            }
        }
    }
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => {
            let near: Vec<String> =
                crate::mapping::nearest(query, all.iter().map(|(_, c)| c.name.as_str()), 5)
                    .into_iter()
                    .flat_map(|n| all.iter().filter(move |(_, c)| c.name == n))
                    .take(5)
                    .map(|(conn, c)| format!("{} (id {} on {conn})", c.name, c.id))
                    .collect();
            if near.is_empty() {
                bail!(
                    "no PSA company `{query}`: the PSA snapshot has no companies (run `reconcile sync`)"
                );
            }
            bail!(
                "no PSA company `{query}` (by id, name or identifier); near names: {}",
                near.join("; ")
            )
        }
        _ => bail!(
            "`{query}` names {} companies; give the id of one: {}",
            hits.len(),
            hits.iter()
                .map(|(conn, id, name)| format!("{name} (id {id} on {conn})"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

fn status_label(s: &ItemStatus) -> &'static str {
    match s {
        ItemStatus::Counted => "counted",
        ItemStatus::Inactive { .. } => "inactive",
        ItemStatus::Pending => "pending approval",
        ItemStatus::Excluded { .. } => "excluded",
    }
}

fn render(w: &mut dyn Write, e: &Explanation, currency: &str) -> Result<()> {
    let f = &e.finding;
    let d = |x: Option<Decimal>| x.unwrap_or_default();
    writeln!(
        w,
        "{} (company {} on {}), product {}: {}",
        f.company.as_deref().unwrap_or("?"),
        f.company_id.as_deref().unwrap_or("?"),
        f.psa_connection.as_deref().unwrap_or("?"),
        f.product.as_deref().unwrap_or("?"),
        f.kind.as_str()
    )?;
    if !f.basis.is_empty() && f.basis != "latest" {
        writeln!(
            w,
            "Count basis: {} over {} snapshot(s) (the records below are the as-of snapshot's):",
            f.basis,
            f.snapshots.max(1)
        )?;
        for part in f.note.split("; ").filter(|p| p.contains("snapshot")) {
            writeln!(w, "  {part}")?;
        }
    }
    writeln!(
        w,
        "Vendor records ({}; accounts: {}):",
        if f.services.is_empty() {
            "no mapped service".to_string()
        } else {
            f.services.join(", ")
        },
        if f.accounts.is_empty() {
            "none".to_string()
        } else {
            f.accounts.join(", ")
        }
    )?;
    if e.items.is_empty() {
        writeln!(w, "  none")?;
    }
    for group in ["counted", "inactive", "pending approval", "excluded"] {
        let items: Vec<_> = e
            .items
            .iter()
            .filter(|i| status_label(&i.status) == group)
            .collect();
        if items.is_empty() {
            continue;
        }
        let units: rust_decimal::Decimal = items.iter().map(|i| i.weight).sum();
        let units = units.normalize();
        writeln!(w, "  {group} ({units}):")?;
        for i in items {
            let why = match &i.status {
                ItemStatus::Counted => String::new(),
                s => format!(" - {}", s.describe()),
            };
            writeln!(
                w,
                "    {} (id {}, {}, account {}{}, last contact {}){}{}",
                i.name,
                i.id,
                i.class,
                i.account,
                if f.services.len() > 1 {
                    format!(", {}", i.service)
                } else {
                    String::new()
                },
                i.last_contact
                    .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
                    .unwrap_or_else(|| "unknown".into()),
                if i.weight != rust_decimal::Decimal::ONE {
                    format!(" x{}", i.weight.normalize())
                } else {
                    String::new()
                },
                why
            )?;
            if let Some(c) = i.unit_cost.filter(|_| group == "counted") {
                writeln!(w, "      vendor unit cost {}/month", money(c))?;
            }
        }
    }
    writeln!(w, "Billing lines:")?;
    if e.lines.is_empty() {
        writeln!(w, "  none")?;
    }
    for l in &e.lines {
        writeln!(
            w,
            "  line {} on \"{}\"{}: quantity {}, less included {}, unit price {}{}: {}{}",
            l.id,
            l.agreement,
            l.invoiced
                .as_deref()
                .map(|i| format!(" (from {i})"))
                .unwrap_or_default(),
            qty(l.quantity),
            qty(l.less_included),
            money(l.unit_price),
            l.billing_cycle
                .as_deref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default(),
            if l.counted {
                "summed".to_string()
            } else {
                format!("not summed ({})", l.why_not.as_deref().unwrap_or(""))
            },
            if l.priced_from {
                ", the impact's unit price"
            } else {
                ""
            }
        )?;
    }
    writeln!(w, "Arithmetic:")?;
    let billed = d(f.billed);
    let li = d(f.less_included);
    let actual = d(f.actual);
    writeln!(
        w,
        "  billed            {} (sum of summed lines)",
        qty(billed)
    )?;
    writeln!(w, "  less included     {} (on the lines)", qty(li))?;
    writeln!(
        w,
        "  actual            {} (counted records; not counted: {} inactive, {} pending, {} excluded)",
        qty(actual),
        qty(d(f.inactive)),
        qty(d(f.pending)),
        qty(d(f.excluded))
    )?;
    for (reason, n) in &f.excluded_by {
        writeln!(w, "    excluded by \"{reason}\": {}", qty(*n))?;
    }
    let target = match (&e.contract, f.contract_qty) {
        (Some(c), Some(q)) => {
            writeln!(
                w,
                "  contract          included {}, minimum {}, rounding {}: max({}(max({} - {}, 0)), {}) = {}",
                qty(c.included),
                qty(c.minimum),
                match c.rounding {
                    Rounding::Ceil => "ceil",
                    Rounding::None => "none",
                },
                match c.rounding {
                    Rounding::Ceil => "ceil",
                    Rounding::None => "",
                },
                qty(actual),
                qty(c.included),
                qty(c.minimum),
                qty(q)
            )?;
            q
        }
        _ => {
            writeln!(
                w,
                "  contract          none ([contract] not set for this product)"
            )?;
            actual
        }
    };
    writeln!(
        w,
        "  difference        {} = {} - {}",
        qty(d(f.difference)),
        qty(target),
        qty(billed)
    )?;
    match f.unit_price {
        Some(p) => writeln!(w, "  unit price        {}", money(p))?,
        None => writeln!(w, "  unit price        unknown")?,
    }
    match e.months_per_cycle {
        Some(m) => writeln!(
            w,
            "  months per cycle  {} ({})",
            qty(m.round_dp(4)),
            e.billing_cycle.as_deref().unwrap_or("no line: monthly")
        )?,
        None => writeln!(
            w,
            "  months per cycle  unknown (`{}`)",
            e.billing_cycle.as_deref().unwrap_or("")
        )?,
    }
    match (f.unit_price, f.monthly_impact, e.months_per_cycle) {
        (Some(p), Some(m), Some(months)) => writeln!(
            w,
            "  impact            (max({} - {li}, 0) - max({} - {li}, 0)) x {} / {} = {} {currency}/month",
            qty(target),
            qty(billed),
            money(p),
            qty(months.round_dp(4)),
            money(m),
            li = qty(li)
        )?,
        (_, Some(m), _) => writeln!(w, "  impact            {} {currency}/month", money(m))?,
        _ => writeln!(w, "  impact            unknown")?,
    }
    let t = &e.tolerance;
    writeln!(
        w,
        "  tolerance         increase {} units or {}%, decrease {} units or {}% (under/over-billed only)",
        qty(t.increase_abs),
        qty(t.increase_pct),
        qty(t.decrease_abs),
        qty(t.decrease_pct)
    )?;
    writeln!(w, "  kind              {}", f.kind.as_str())?;
    cost_arithmetic(w, e, currency)?;
    if !f.note.is_empty() {
        writeln!(w, "Note: {}", f.note)?;
    }
    Ok(())
}

/// What the line earns: revenue, the vendor's unit cost and where it came from, cost, margin,
/// and the PSA's recorded unit cost when it is not the vendor's.
fn cost_arithmetic(w: &mut dyn Write, e: &Explanation, currency: &str) -> Result<()> {
    let f = &e.finding;
    let d = |x: Option<Decimal>| x.unwrap_or_default();
    writeln!(w, "Margin:")?;
    let (billed, li) = (d(f.billed), d(f.less_included));
    match (f.revenue, f.unit_price, e.months_per_cycle) {
        (Some(r), Some(p), Some(months)) => writeln!(
            w,
            "  revenue           max({} - {}, 0) x {} / {} = {} {currency}/month",
            qty(billed),
            qty(li),
            money(p),
            qty(months.round_dp(4)),
            money(r)
        )?,
        _ => writeln!(
            w,
            "  revenue           unknown (no unit price, or a billing cycle not in months)"
        )?,
    }
    match f.vendor_unit_cost {
        Some(c) => writeln!(
            w,
            "  vendor unit cost  {} {currency}/month, from {}",
            money(c),
            if f.cost_source.is_empty() {
                "?"
            } else {
                f.cost_source.as_str()
            }
        )?,
        None => writeln!(
            w,
            "  vendor unit cost  unknown (the vendor reports none and no [cost.\"{}\"] is set)",
            f.services
                .first()
                .map(String::as_str)
                .unwrap_or("<vendor>/<service>")
        )?,
    }
    match (f.cost, f.vendor_unit_cost) {
        (Some(c), Some(u)) => writeln!(
            w,
            "  cost              {} x {} = {} {currency}/month",
            qty(d(f.actual)),
            money(u),
            money(c)
        )?,
        (Some(c), None) => writeln!(
            w,
            "  cost              {} {currency}/month (nothing counted)",
            money(c)
        )?,
        _ => writeln!(w, "  cost              unknown")?,
    }
    match (f.revenue, f.cost, f.margin) {
        (Some(r), Some(c), Some(m)) => writeln!(
            w,
            "  margin            {} - {} = {} {currency}/month{}{}",
            money(r),
            money(c),
            money(m),
            f.margin_pct
                .map(|p| format!(" ({} % of revenue)", p.normalize()))
                .unwrap_or_default(),
            if f.low_margin { ": low_margin" } else { "" }
        )?,
        _ => writeln!(w, "  margin            unknown")?,
    }
    if let Some(m) = &e.cost_mismatch {
        writeln!(
            w,
            "  PSA unit cost     {} {currency}/month: cost_mismatch {}: {}",
            money(d(m.psa_unit_cost)),
            m.id,
            m.note
        )?;
    }
    Ok(())
}
