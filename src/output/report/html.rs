//! The report as one self-contained HTML page (`report --format html`), for a browser or a mail
//! attachment: the totals, the discrepancies table, a section per company, and per discrepancy a
//! small chart of the vendor count against the billed quantity over the last billing periods.
//!
//! Self-contained means nothing is fetched: no script at all, no link or image from elsewhere,
//! the CSS in one `<style>` and the charts as inline SVG whose colours are attributes, so a mail
//! client that drops the `<style>` still draws them. Each chart's numbers are also written out as
//! text beside it (for a mail client that shows no SVG, and for a screen reader). Notes are
//! written with absolute paths shortened to their file name: a report mailed outside never
//! shows where things live on the machine that made it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use rust_decimal::Decimal;

use super::table::{
    actual_cell, billed_cell, decision_of, diff_cell, kind_count, kind_label, minute, note_of,
    summary,
};
use super::{CompanyTotal, Options, View};
use crate::engine::{Finding, FindingKind};
use crate::output::money::{amount, grouped, price};
use crate::output::qty;
use crate::review::State;

/// One billing period's point of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// `2026-11`.
    pub period: String,
    /// The vendor count on the configured basis (the finding's actual).
    pub vendor: Option<Decimal>,
    /// The billed quantity.
    pub billed: Option<Decimal>,
}

/// (PSA connection, company id, product): whose line a series is.
pub type ChartKey = (String, String, String);

/// What the charts show: the periods on their x axis, oldest first, the last being the report's
/// own; and per line the points of the periods before it that could be reconciled. The report's
/// own period is drawn from the finding itself, so a chart always ends at the number in the
/// table.
#[derive(Debug, Clone, Default)]
pub struct Charts {
    pub periods: Vec<String>,
    pub series: BTreeMap<ChartKey, Vec<Point>>,
}

impl Charts {
    /// The points of `f`'s line over [`Charts::periods`] (`None` where a period has none).
    fn points(&self, f: &Finding) -> Vec<Option<Point>> {
        let key = (
            f.psa_connection.clone().unwrap_or_default(),
            f.company_id.clone().unwrap_or_default(),
            f.product.clone().unwrap_or_default(),
        );
        let past = self.series.get(&key);
        let last = self.periods.len().saturating_sub(1);
        self.periods
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i == last {
                    return Some(Point {
                        period: p.clone(),
                        vendor: f.actual,
                        billed: f.billed,
                    });
                }
                past.and_then(|s| s.iter().find(|x| &x.period == p).cloned())
            })
            .collect()
    }
}

/// The vendor count's colour (bars) and the billed quantity's (line).
const VENDOR: &str = "#e8590c";
const BILLED: &str = "#1c63b8";

const STYLE: &str = "
body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1d2329;margin:0 auto;padding:16px 20px;max-width:1100px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d5dae0;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 4px}h4{font-size:14px;margin:0 0 4px}
.meta{color:#56606b;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0;width:100%}td.note{font-size:12px;overflow-wrap:anywhere;min-width:180px}th,td{border:1px solid #d5dae0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.totals td{font-size:16px}
.under{color:#b42318}.over{color:#8a5a00}.other{color:#6b21a8}
.finding{display:inline-block;vertical-align:top;width:380px;margin:6px 12px 6px 0;padding:8px;border:1px solid #d5dae0;border-radius:4px}
.finding p{margin:2px 0}.small{font-size:12px;color:#56606b}
";

/// Writes the page. `shown` are the findings listed (as the table lists them: discrepancies,
/// and matches with `--matches`); totals and company sums come from `view`.
pub fn render(
    out: &mut dyn Write,
    view: &View,
    shown: &[(&Finding, &State)],
    charts: &Charts,
    opts: &Options,
) -> Result<()> {
    let record = view.record;
    let cur = record.currency.as_str();
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Billing reconciliation as of {}", minute(&record.as_of));
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">Reconciled {}; amounts per month in {}.{}</p>",
        esc(&minute(&record.created_at)),
        esc(cur),
        if opts.filter.is_empty() {
            String::new()
        } else {
            format!(
                " Findings of {} only: the totals cover these.",
                esc(&opts.filter.describe())
            )
        }
    );

    // Totals.
    let t = &view.totals;
    let _ = writeln!(h, "<h2>Totals</h2>");
    let _ = writeln!(
        h,
        "<table class=\"totals\"><tr><th>Under-billed per month</th><th>Over-billed per month</th><th>Open findings</th></tr><tr><td class=\"n under\">{} {cur}</td><td class=\"n over\">{} {cur}</td><td>{}</td></tr></table>",
        grouped(amount(t.under_billed_monthly, cur)),
        grouped(amount(t.over_billed_monthly, cur)),
        esc(&open_counts(view)),
    );
    let _ = writeln!(h, "<p>{}</p>", esc(&summary(view, opts.review.all)));

    // The discrepancies table.
    let _ = writeln!(h, "<h2>Discrepancies</h2>");
    if shown.is_empty() {
        let _ = writeln!(h, "<p>No findings to show.</p>");
    } else {
        let decisions = opts.review.all;
        let _ = write!(
            h,
            "<table>\n<tr><th>ID</th><th>Type</th><th>Company / account</th><th>Product / service</th><th>Billed</th><th>Actual</th><th>Diff</th><th>Unit price</th><th>Impact/mo ({})</th><th>Note</th>{}</tr>\n",
            esc(cur),
            if decisions { "<th>Decision</th>" } else { "" }
        );
        for (f, s) in shown {
            let who = match (&f.company, &f.company_id) {
                (Some(c), Some(id)) => format!(
                    "<a href=\"#{}\">{}</a>",
                    anchor(f.psa_connection.as_deref().unwrap_or(""), id),
                    esc(c)
                ),
                _ => esc(&f.accounts.join(", ")),
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"{}\">{}</td><td>{who}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"note\">{}</td>{}</tr>",
                esc(&f.id),
                kind_class(f.kind),
                kind_label(f.kind),
                esc(&f.product.clone().unwrap_or_else(|| f.services.join(", "))),
                billed_cell(f),
                esc(&actual_cell(f)),
                diff_cell(f.difference),
                f.unit_price
                    .map(|p| grouped(price(p, cur)))
                    .unwrap_or_default(),
                f.monthly_impact
                    .map(|m| grouped(amount(m, cur)))
                    .unwrap_or_default(),
                esc(&scrub_paths(&note_of(f, s))),
                if decisions {
                    format!("<td>{}</td>", esc(&decision_of(s)))
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(h, "</table>");
    }
    let quiet = view
        .kept
        .iter()
        .filter(|(f, s)| {
            !f.kind.is_discrepancy()
                && (opts.review.all || !s.is_decided())
                && !shown.iter().any(|(g, _)| std::ptr::eq(*f, *g))
        })
        .count();
    if quiet > 0 {
        let _ = writeln!(
            h,
            "<p class=\"small\">{quiet} match(es) and finding(s) within tolerance not listed (`reconcile report --format html --matches` lists them).</p>"
        );
    }

    // A section per company: its money, then each of its discrepancies with its chart.
    let _ = writeln!(h, "<h2 id=\"by-company\">By company</h2>");
    if !charts.periods.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"small\">Each chart: <span style=\"color:{VENDOR}\">&#9632; vendor count</span> (bars) against <span style=\"color:{BILLED}\">&#9644; billed quantity</span> (line), {} to {}. A period with no stored sync is left blank.</p>",
            esc(&charts.periods[0]),
            esc(charts.periods.last().map(String::as_str).unwrap_or(""))
        );
    }
    let mut companies: Vec<(String, String, String)> = Vec::new();
    for c in &view.by_company {
        companies.push((
            c.psa_connection.clone(),
            c.company_id.clone(),
            c.company.clone(),
        ));
    }
    let mut rest: Vec<(String, String, String)> = shown
        .iter()
        .filter_map(|(f, _)| {
            Some((
                f.psa_connection.clone().unwrap_or_default(),
                f.company_id.clone()?,
                f.company.clone().unwrap_or_default(),
            ))
        })
        .filter(|k| !companies.iter().any(|c| c.0 == k.0 && c.1 == k.1))
        .collect();
    rest.sort_by_key(|(_, _, name)| name.to_lowercase());
    rest.dedup();
    companies.extend(rest);
    for (psa, id, name) in &companies {
        let theirs: Vec<&(&Finding, &State)> = shown
            .iter()
            .filter(|(f, _)| {
                f.psa_connection.as_deref().unwrap_or("") == psa.as_str()
                    && f.company_id.as_deref() == Some(id.as_str())
            })
            .collect();
        if theirs.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<section id=\"{}\">\n<h3>{}</h3>",
            anchor(psa, id),
            esc(name)
        );
        if let Some(c) = view
            .by_company
            .iter()
            .find(|c| &c.psa_connection == psa && &c.company_id == id)
        {
            let _ = writeln!(h, "<p>{}</p>", company_money(c, cur));
        }
        for (f, _) in theirs {
            finding_card(&mut h, f, charts, cur);
        }
        let _ = writeln!(h, "</section>");
    }
    let without: Vec<&&Finding> = shown
        .iter()
        .filter(|(f, _)| f.company_id.is_none())
        .map(|(f, _)| f)
        .collect();
    if !without.is_empty() {
        let _ = writeln!(
            h,
            "<section id=\"no-company\">\n<h3>Not mapped to a company</h3>\n<ul>"
        );
        for f in without {
            let _ = writeln!(
                h,
                "<li>{} <b>{}</b> on {}: {}</li>",
                kind_label(f.kind),
                esc(&f.accounts.join(", ")),
                esc(f.vendor_connection.as_deref().unwrap_or("")),
                esc(&scrub_paths(&f.note))
            );
        }
        let _ = writeln!(h, "</ul>\n</section>");
    }
    let _ = writeln!(
        h,
        "<p class=\"small\">Made by reconcile {}. `reconcile explain ID` shows how any finding was counted.</p>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    out.write_all(h.as_bytes())?;
    Ok(())
}

/// `12 under-billed, 3 over-billed, 2 unmapped accounts` over the open findings.
fn open_counts(view: &View) -> String {
    let mut by: BTreeMap<usize, (FindingKind, usize)> = BTreeMap::new();
    for (f, s) in &view.kept {
        if s.is_decided() || !f.kind.is_discrepancy() {
            continue;
        }
        let at = FindingKind::ALL
            .iter()
            .position(|k| *k == f.kind)
            .unwrap_or(usize::MAX);
        by.entry(at).or_insert((f.kind, 0)).1 += 1;
    }
    if by.is_empty() {
        return "no discrepancy".to_string();
    }
    by.values()
        .map(|(k, n)| kind_count(*n, *k))
        .collect::<Vec<_>>()
        .join(", ")
}

fn company_money(c: &CompanyTotal, cur: &str) -> String {
    format!(
        "Under-billed <b class=\"under\">{} {cur}</b>, over-billed <b class=\"over\">{} {cur}</b>, net <b>{} {cur}</b> per month.",
        grouped(amount(c.under_billed_monthly, cur)),
        grouped(amount(c.over_billed_monthly, cur)),
        grouped(amount(c.net_monthly, cur)),
    )
}

/// One discrepancy of a company: its numbers and its chart.
fn finding_card(h: &mut String, f: &Finding, charts: &Charts, cur: &str) {
    let _ = writeln!(
        h,
        "<div class=\"finding\">\n<h4>{} <span class=\"{}\">{}</span></h4>",
        esc(&f.product.clone().unwrap_or_else(|| f.services.join(", "))),
        kind_class(f.kind),
        kind_label(f.kind)
    );
    let _ = writeln!(
        h,
        "<p>Billed {}, vendor {}, difference {}{}. <span class=\"small\">{}</span></p>",
        billed_cell(f),
        esc(&actual_cell(f)),
        diff_cell(f.difference),
        f.monthly_impact
            .map(|m| format!(": <b>{} {cur}</b> per month", grouped(amount(m, cur))))
            .unwrap_or_default(),
        esc(&f.id)
    );
    if f.product.is_some() && !charts.periods.is_empty() {
        let points = charts.points(f);
        h.push_str(&chart(
            &charts.periods,
            &points,
            &format!("{} of {}", f.id, f.product.as_deref().unwrap_or("")),
        ));
        let known: Vec<String> = points
            .iter()
            .flatten()
            .map(|p| {
                format!(
                    "{} {}/{}",
                    p.period,
                    p.vendor.map(qty).unwrap_or_else(|| "–".into()),
                    p.billed.map(qty).unwrap_or_else(|| "–".into())
                )
            })
            .collect();
        let _ = writeln!(
            h,
            "<p class=\"small\">Vendor/billed: {}</p>",
            esc(&known.join(", "))
        );
    }
    if !f.note.is_empty() {
        let _ = writeln!(h, "<p class=\"small\">{}</p>", esc(&scrub_paths(&f.note)));
    }
    let _ = writeln!(h, "</div>");
}

/// The chart: a bar per period for the vendor count, a line through the billed quantities, on
/// one scale from zero (a chart that starts elsewhere makes a small change look large).
fn chart(periods: &[String], points: &[Option<Point>], label: &str) -> String {
    const W: f64 = 360.0;
    const H: f64 = 130.0;
    const LEFT: f64 = 34.0;
    const RIGHT: f64 = 6.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 22.0;
    let max = points
        .iter()
        .flatten()
        .flat_map(|p| [p.vendor, p.billed])
        .flatten()
        .max()
        .unwrap_or(Decimal::ZERO)
        .max(Decimal::ONE);
    let n = points.len().max(1) as f64;
    let slot = (W - LEFT - RIGHT) / n;
    let y = |v: Decimal| -> f64 {
        let frac = (v / max).to_string().parse::<f64>().unwrap_or(0.0);
        TOP + (H - TOP - BOTTOM) * (1.0 - frac.clamp(0.0, 1.0))
    };
    let base = H - BOTTOM;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(&format!("vendor count against billed quantity, {label}")),
        esc(label)
    );
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#8a939c\" stroke-width=\"1\"/>",
        W - RIGHT
    );
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"#56606b\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"#56606b\">0</text>",
        LEFT - 4.0,
        TOP + 4.0,
        esc(&qty(max)),
        LEFT - 4.0,
        base
    );
    for (i, p) in points.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        if let Some(v) = p.as_ref().and_then(|p| p.vendor) {
            let top = y(v);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{VENDOR}\"><title>{} vendor {}</title></rect>",
                x + slot * 0.18,
                slot * 0.64,
                (base - top).max(0.5),
                esc(&p.as_ref().map(|p| p.period.clone()).unwrap_or_default()),
                qty(v)
            );
        }
    }
    // The billed line: broken where a period has no billed quantity.
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        match p.as_ref().and_then(|p| p.billed) {
            Some(b) => run.push((LEFT + slot * (i as f64 + 0.5), y(b))),
            None => runs.push(std::mem::take(&mut run)),
        }
    }
    runs.push(run);
    for r in runs.iter().filter(|r| !r.is_empty()) {
        if r.len() > 1 {
            let pts: Vec<String> = r.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(
                s,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{BILLED}\" stroke-width=\"2\"/>",
                pts.join(" ")
            );
        }
        for (x, y) in r {
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{BILLED}\"/>"
            );
        }
    }
    // The first and last period under the axis.
    let labels = [(0usize, "start"), (points.len().saturating_sub(1), "end")];
    for (i, anchor) in labels {
        let Some(period) = periods.get(i) else {
            continue;
        };
        let x = if anchor == "start" { LEFT } else { W - RIGHT };
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"{}\" font-size=\"10\" text-anchor=\"{anchor}\" fill=\"#56606b\">{}</text>",
            H - 6.0,
            esc(period)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn kind_class(k: FindingKind) -> &'static str {
    match k {
        FindingKind::UnderBilled | FindingKind::UsageNoBilling => "under",
        FindingKind::OverBilled | FindingKind::BillingNoUsage => "over",
        _ => "other",
    }
}

/// A fragment id for a company: letters, digits and `-` only.
fn anchor(psa: &str, id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    format!("c-{}-{}", clean(psa), clean(id))
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Absolute paths in a note (a failed sync's error can name the file it could not read) become
/// `…/name`: a mailed report does not show where things live on the machine that made it.
pub fn scrub_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(&scrub_word(word));
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '(' | ')' | '`' | '"' | '\'' | ',' | ';' | '<' | '>') {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn scrub_word(w: &str) -> String {
    let windows = w.len() > 3 && w.as_bytes()[0].is_ascii_alphabetic() && w[1..].starts_with(":\\");
    let unix = w.starts_with('/') && w[1..].contains('/') || w.starts_with("~/");
    let file_url = w.starts_with("file:");
    if !(windows || unix || file_url) {
        return w.to_string();
    }
    let trimmed = w.trim_end_matches(['.', ':']);
    let tail = &w[trimmed.len()..];
    let name = trimmed
        .rsplit(['/', '\\'])
        .find(|p| !p.is_empty())
        .unwrap_or("");
    format!("…/{name}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_in_notes_become_their_file_name() {
        assert_eq!(
            scrub_paths(
                "its last sync failed (cannot read /home/ops/exports/devices.csv: No such file), see C:\\Users\\ops\\x.csv."
            ),
            "its last sync failed (cannot read …/devices.csv: No such file), see …/x.csv."
        );
        assert_eq!(
            scrub_paths("file:///srv/a/b.html and ~/secret/dir/"),
            "…/b.html and …/dir"
        );
        // Not paths: units, dates, fractions, a lone slash.
        let plain = "3/4 devices, 2026/12/01, users/month, a / b, https://example.com/x";
        assert_eq!(scrub_paths(plain), plain);
    }

    #[test]
    fn html_escapes_every_character_that_could_open_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    fn pt(period: &str, vendor: i64, billed: Option<i64>) -> Option<Point> {
        Some(Point {
            period: period.into(),
            vendor: Some(Decimal::from(vendor)),
            billed: billed.map(Decimal::from),
        })
    }

    #[test]
    fn a_chart_draws_a_bar_per_known_vendor_count_and_breaks_the_billed_line_at_gaps() {
        let points = vec![
            pt("2026-01", 10, Some(10)),
            pt("2026-02", 12, Some(10)),
            None,
            pt("2026-04", 20, None),
            pt("2026-05", 20, Some(15)),
        ];
        let periods: Vec<String> = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
            .map(String::from)
            .into();
        let svg = chart(&periods, &points, "F1 of WS");
        assert_eq!(svg.matches("<rect").count(), 4, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        // 2026-01 and 2026-02 are joined; 2026-05 stands alone after the gaps.
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        // The scale is 0 to the highest count, and the highest bar reaches the top.
        assert!(svg.contains(">20</text>"), "{svg}");
        assert!(svg.contains("y=\"10.0\" width"), "{svg}");
        assert!(svg.contains(">2026-01</text>") && svg.contains(">2026-05</text>"));
        assert!(
            !svg.contains(">2026-03</text>"),
            "only the first and last period"
        );
    }
}
