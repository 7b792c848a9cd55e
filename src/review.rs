//! Review decisions: a person accepting, dismissing or ignoring a finding. Pure: the store keeps
//! the decisions, this module says which still apply to the current findings.
//!
//! - `approve`: the difference is accepted; the finding is hidden while its numbers stay the same.
//! - `dismiss`: hidden for one billing period, the billing period (UTC, `YYYY-MM`, see [`crate::period`]) of the
//!   findings' `as_of`, and while its numbers stay the same.
//! - `ignore`: hidden while its numbers stay the same, whatever the period.
//!
//! "Its numbers" are the finding's type and its billed, less-included and actual quantities
//! when the decision was made. When any differs, the decision no longer applies and the finding
//! is open again ("came back"); the decision stays stored so the report can say so.

use std::fmt;

use anyhow::{Result, bail};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::{Finding, FindingKind};

/// What a person decided about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Dismiss,
    Ignore,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Dismiss => "dismiss",
            Verdict::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "approve" => Some(Verdict::Approve),
            "dismiss" => Some(Verdict::Dismiss),
            "ignore" => Some(Verdict::Ignore),
            _ => None,
        }
    }

    /// `approved`, `dismissed`, `ignored`.
    pub fn past(self) -> &'static str {
        match self {
            Verdict::Approve => "approved",
            Verdict::Dismiss => "dismissed",
            Verdict::Ignore => "ignored",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored decision, with the finding's numbers when it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub finding_id: String,
    pub verdict: Verdict,
    pub note: Option<String>,
    pub decided_by: String,
    /// RFC 3339 timestamp.
    pub decided_at: String,
    /// `YYYY-MM`: the billing period of the findings the decision was made on.
    pub period: String,
    pub kind: FindingKind,
    pub billed: Option<Decimal>,
    pub less_included: Option<Decimal>,
    pub actual: Option<Decimal>,
    /// For a `cost_mismatch`: the PSA's and the vendor's unit cost it was made on.
    pub psa_unit_cost: Option<Decimal>,
    pub vendor_unit_cost: Option<Decimal>,
}

impl Decision {
    /// A decision about `finding` as it is now.
    pub fn new(
        finding: &Finding,
        verdict: Verdict,
        note: Option<String>,
        decided_by: String,
        decided_at: String,
        period: String,
    ) -> Decision {
        Decision {
            finding_id: finding.id.clone(),
            verdict,
            note,
            decided_by,
            decided_at,
            period,
            kind: finding.kind,
            billed: finding.billed,
            less_included: finding.less_included,
            actual: finding.actual,
            psa_unit_cost: finding.psa_unit_cost,
            vendor_unit_cost: finding.vendor_unit_cost,
        }
    }

    /// Why this decision does not apply to `finding` in `period`, or `None` when it does.
    pub fn lapse(&self, finding: &Finding, period: &str) -> Option<Lapse> {
        let same = |a: Option<Decimal>, b: Option<Decimal>| match (a, b) {
            (Some(a), Some(b)) => a.normalize() == b.normalize(),
            (None, None) => true,
            _ => false,
        };
        if self.kind != finding.kind
            || !same(self.billed, finding.billed)
            || !same(self.less_included, finding.less_included)
            || !same(self.actual, finding.actual)
        {
            Some(Lapse::QuantitiesChanged)
        } else if finding.kind == FindingKind::CostMismatch
            && (!same(self.psa_unit_cost, finding.psa_unit_cost)
                || !same(self.vendor_unit_cost, finding.vendor_unit_cost))
        {
            Some(Lapse::CostsChanged)
        } else if self.verdict == Verdict::Dismiss && self.period != period {
            Some(Lapse::OtherPeriod)
        } else {
            None
        }
    }
}

/// Why a decision stopped applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapse {
    /// The type or the billed, less-included or actual quantity differs.
    QuantitiesChanged,
    /// A dismissal from another billing period.
    OtherPeriod,
    /// A `cost_mismatch` whose PSA or vendor unit cost differs.
    CostsChanged,
}

impl Lapse {
    pub fn as_str(self) -> &'static str {
        match self {
            Lapse::QuantitiesChanged => "quantities changed",
            Lapse::OtherPeriod => "another billing period",
            Lapse::CostsChanged => "costs changed",
        }
    }
}

/// A finding's effective review state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum State<'a> {
    /// No decision (or a match, which needs none).
    Open,
    /// A decision applies: the finding is hidden by default.
    Decided(&'a Decision),
    /// A decision exists but no longer applies: the finding is open again.
    CameBack(&'a Decision, Lapse),
}

impl State<'_> {
    /// Whether a decision hides the finding.
    pub fn is_decided(&self) -> bool {
        matches!(self, State::Decided(_))
    }

    /// The note the report shows for a decision that no longer applies.
    pub fn came_back_note(&self) -> Option<String> {
        match self {
            State::CameBack(d, lapse) => Some(format!(
                "earlier {} no longer applies: {}",
                d.verdict,
                lapse.as_str()
            )),
            _ => None,
        }
    }
}

/// The review state of every finding of one reconcile run.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewed<'a> {
    /// One per finding, in the order of the findings.
    pub states: Vec<State<'a>>,
    /// The decisions that no longer apply, with why, in the order of the findings.
    pub came_back: Vec<(&'a Decision, Lapse)>,
}

impl Reviewed<'_> {
    /// How many findings a decision hides.
    pub fn decided(&self) -> usize {
        self.states.iter().filter(|s| s.is_decided()).count()
    }
}

/// Which decisions apply to `findings` in billing `period` (`YYYY-MM`).
pub fn review<'a>(findings: &[Finding], decisions: &'a [Decision], period: &str) -> Reviewed<'a> {
    let mut states = Vec::with_capacity(findings.len());
    let mut came_back = Vec::new();
    for f in findings {
        let decision = decisions.iter().find(|d| d.finding_id == f.id);
        let state = match decision {
            None => State::Open,
            Some(_) if !f.kind.is_discrepancy() => State::Open,
            Some(d) => match d.lapse(f, period) {
                None => State::Decided(d),
                Some(lapse) => {
                    came_back.push((d, lapse));
                    State::CameBack(d, lapse)
                }
            },
        };
        states.push(state);
    }
    Reviewed { states, came_back }
}

/// The billing period (`YYYY-MM`, UTC, periods starting on `anchor_day`) of an RFC 3339
/// timestamp such as a reconcile's `as_of`.
pub fn period_of(as_of: &str, anchor_day: i8) -> Result<String> {
    let Ok(ts) = as_of.parse::<jiff::Timestamp>() else {
        bail!("`{as_of}` is not a timestamp");
    };
    Ok(crate::period::Period::containing(ts, anchor_day)?.to_string())
}

/// Who is deciding: `--by`, else `$USER` or `$USERNAME`, else `unknown`.
pub fn who(by: Option<String>, env: impl Fn(&str) -> Option<String>) -> String {
    by.filter(|s| !s.trim().is_empty())
        .or_else(|| env("USER").filter(|s| !s.is_empty()))
        .or_else(|| env("USERNAME").filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, kind: FindingKind, billed: i64, actual: i64) -> Finding {
        Finding {
            id: id.into(),
            kind,
            psa_connection: Some("cw".into()),
            company_id: Some("1".into()),
            company: Some("Acme".into()),
            product: Some("WS".into()),
            vendor_connection: Some("ninja".into()),
            services: vec![],
            accounts: vec![],
            billed: Some(Decimal::from(billed)),
            less_included: Some(Decimal::ZERO),
            actual: Some(Decimal::from(actual)),
            difference: Some(Decimal::from(actual - billed)),
            unit_price: None,
            monthly_impact: None,
            agreements: vec![],
            note: String::new(),
            pending: None,
            inactive: None,
            excluded: None,
            excluded_by: Default::default(),
            contract_qty: None,
            basis: "latest".into(),
            snapshots: 1,
            ..crate::engine::blank_finding()
        }
    }

    fn decision(f: &Finding, verdict: Verdict, period: &str) -> Decision {
        Decision::new(
            f,
            verdict,
            Some("ok".into()),
            "alice".into(),
            "2026-01-15T10:00:00Z".into(),
            period.into(),
        )
    }

    #[derive(Debug, PartialEq)]
    enum Want {
        Open,
        Decided,
        Back(Lapse),
    }

    fn want(s: &State) -> Want {
        match s {
            State::Open => Want::Open,
            State::Decided(_) => Want::Decided,
            State::CameBack(_, l) => Want::Back(*l),
        }
    }

    /// A decision on a cost mismatch stops applying when either cost changes, not only its
    /// quantities.
    #[test]
    fn a_cost_mismatch_decision_lapses_when_a_cost_changes() {
        let mismatch = |psa: i64, vendor: i64| Finding {
            psa_unit_cost: Some(Decimal::from(psa)),
            vendor_unit_cost: Some(Decimal::from(vendor)),
            ..finding("F9", FindingKind::CostMismatch, 5, 5)
        };
        let d = decision(&mismatch(3, 4), Verdict::Ignore, "2026-01");
        assert_eq!(d.lapse(&mismatch(3, 4), "2026-02"), None);
        assert_eq!(
            d.lapse(&mismatch(3, 5), "2026-01"),
            Some(Lapse::CostsChanged)
        );
        assert_eq!(
            d.lapse(&mismatch(2, 4), "2026-01"),
            Some(Lapse::CostsChanged)
        );
        assert_eq!(Lapse::CostsChanged.as_str(), "costs changed");
        // Other kinds keep no costs: a decision on them ignores the cost columns.
        let under = finding("F1", FindingKind::UnderBilled, 5, 7);
        let d = decision(&under, Verdict::Approve, "2026-01");
        let costed = Finding {
            vendor_unit_cost: Some(Decimal::ONE),
            ..under.clone()
        };
        assert_eq!(d.lapse(&costed, "2026-01"), None);
    }

    #[test]
    fn decisions_apply_until_numbers_or_period_change() {
        use FindingKind::*;
        use Verdict::*;
        let under = finding("F1", UnderBilled, 5, 7);
        let more = finding("F1", UnderBilled, 5, 8);
        let rebilled = finding("F1", UnderBilled, 6, 7);
        let kind = finding("F1", OverBilled, 5, 7);
        // (decided on, verdict, decided in, finding now, period now, expected state)
        let cases: Vec<(&Finding, Verdict, &str, &Finding, &str, Want)> = vec![
            (&under, Approve, "2026-01", &under, "2026-01", Want::Decided),
            (&under, Approve, "2026-01", &under, "2026-02", Want::Decided),
            (
                &under,
                Approve,
                "2026-01",
                &more,
                "2026-01",
                Want::Back(Lapse::QuantitiesChanged),
            ),
            (
                &under,
                Approve,
                "2026-01",
                &rebilled,
                "2026-01",
                Want::Back(Lapse::QuantitiesChanged),
            ),
            (
                &under,
                Approve,
                "2026-01",
                &kind,
                "2026-01",
                Want::Back(Lapse::QuantitiesChanged),
            ),
            (&under, Ignore, "2026-01", &under, "2027-06", Want::Decided),
            (
                &under,
                Ignore,
                "2026-01",
                &more,
                "2026-01",
                Want::Back(Lapse::QuantitiesChanged),
            ),
            (&under, Dismiss, "2026-01", &under, "2026-01", Want::Decided),
            (
                &under,
                Dismiss,
                "2026-01",
                &under,
                "2026-02",
                Want::Back(Lapse::OtherPeriod),
            ),
            (
                &under,
                Dismiss,
                "2026-01",
                &more,
                "2026-01",
                Want::Back(Lapse::QuantitiesChanged),
            ),
        ];
        for (i, (on, verdict, in_period, now, period, expected)) in cases.into_iter().enumerate() {
            let decisions = vec![decision(on, verdict, in_period)];
            let r = review(std::slice::from_ref(now), &decisions, period);
            assert_eq!(want(&r.states[0]), expected, "case {i}: {verdict}");
            assert_eq!(
                r.came_back.len(),
                usize::from(matches!(expected, Want::Back(_))),
                "case {i}"
            );
        }
    }

    #[test]
    fn a_dismissal_hides_only_within_its_period() {
        let f = finding("F1", FindingKind::OverBilled, 9, 7);
        let decisions = vec![decision(&f, Verdict::Dismiss, "2026-03")];
        let march = review(std::slice::from_ref(&f), &decisions, "2026-03");
        assert!(march.states[0].is_decided());
        assert_eq!(march.decided(), 1);
        let april = review(std::slice::from_ref(&f), &decisions, "2026-04");
        assert_eq!(
            april.states[0],
            State::CameBack(&decisions[0], Lapse::OtherPeriod)
        );
        assert_eq!(april.decided(), 0);
        assert_eq!(
            april.states[0].came_back_note().unwrap(),
            "earlier dismiss no longer applies: another billing period"
        );
    }

    #[test]
    fn findings_without_a_decision_and_matches_are_open() {
        let a = finding("F1", FindingKind::UnderBilled, 5, 7);
        let b = finding("F2", FindingKind::Match, 5, 5);
        let decisions = vec![
            decision(&b, Verdict::Approve, "2026-01"),
            decision(
                &finding("F9", FindingKind::UnderBilled, 1, 2),
                Verdict::Approve,
                "2026-01",
            ),
        ];
        let r = review(&[a, b], &decisions, "2026-01");
        assert_eq!(r.states, vec![State::Open, State::Open]);
        assert!(r.came_back.is_empty());
    }

    #[test]
    fn equal_decimals_with_other_scales_are_the_same_numbers() {
        let f = finding("F1", FindingKind::UnderBilled, 5, 7);
        let mut d = decision(&f, Verdict::Approve, "2026-01");
        d.billed = Some(Decimal::new(500, 2));
        assert_eq!(d.lapse(&f, "2026-01"), None);
    }

    #[test]
    fn periods_and_people() {
        assert_eq!(period_of("2026-01-31T23:59:59Z", 1).unwrap(), "2026-01");
        assert_eq!(period_of("2026-02-01T00:00:00.5Z", 1).unwrap(), "2026-02");
        // Periods anchored on the 15th: 10 February is still in the January period.
        assert_eq!(period_of("2026-02-10T00:00:00Z", 15).unwrap(), "2026-01");
        assert!(period_of("soon", 1).is_err());
        let env = |k: &str| (k == "USERNAME").then(|| "bob".to_string());
        assert_eq!(who(Some("alice".into()), env), "alice");
        assert_eq!(who(None, env), "bob");
        assert_eq!(who(None, |_| None), "unknown");
    }
}
