//! The PSA's billing lines: which are counted at `as_of` (active agreement, in force, billed
//! to the customer), the quantity they bill, the price and billing cycle the money impact
//! uses, and the impact per month.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::model::months_per_cycle;
use crate::model::{BillCustomer, PsaAgreement, PsaLine};

/// Why a billing line is not summed into the billed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineSkip {
    AgreementNotActive,
    NotInForce,
    NotBillable,
}

impl LineSkip {
    pub fn as_str(self) -> &'static str {
        match self {
            LineSkip::AgreementNotActive => "agreement not active",
            LineSkip::NotInForce => "cancelled or not yet effective",
            LineSkip::NotBillable => "not billed to the customer (DoNotBill/NoCharge)",
        }
    }
}

/// Why a line is not counted at `as_of`, or `None` when it is.
pub(super) fn line_status(
    l: &PsaLine,
    agreements: &HashMap<&str, &PsaAgreement>,
    as_of: Timestamp,
) -> Option<LineSkip> {
    let agreement_active = agreements
        .get(l.agreement_id.as_str())
        .is_some_and(|a| a.is_active_at(as_of));
    if !agreement_active {
        Some(LineSkip::AgreementNotActive)
    } else if !l.is_active_at(as_of) {
        Some(LineSkip::NotInForce)
    } else if l.bill_customer != BillCustomer::Billable {
        Some(LineSkip::NotBillable)
    } else {
        None
    }
}

/// What one (company, product)'s lines bill at `as_of`.
pub(super) struct Billed<'l> {
    /// The lines counted, in the snapshot's order.
    pub lines: Vec<&'l PsaLine>,
    /// The sum of their quantities.
    pub quantity: Decimal,
    pub less_included: Decimal,
}

/// Sums the lines counted at `as_of`, and notes how many are not, and why.
pub(super) fn billed<'l>(
    lines: &[&'l PsaLine],
    agreements: &HashMap<&str, &PsaAgreement>,
    as_of: Timestamp,
    notes: &mut Vec<String>,
) -> Billed<'l> {
    let mut counted: Vec<&PsaLine> = Vec::new();
    let (mut not_in_force, mut not_billable, mut inactive_agreement) = (0, 0, 0);
    for l in lines {
        match line_status(l, agreements, as_of) {
            Some(LineSkip::AgreementNotActive) => inactive_agreement += 1,
            Some(LineSkip::NotInForce) => not_in_force += 1,
            Some(LineSkip::NotBillable) => not_billable += 1,
            None => counted.push(l),
        }
    }
    if not_in_force > 0 {
        notes.push(format!(
            "{not_in_force} line(s) cancelled or not yet effective, not counted"
        ));
    }
    if inactive_agreement > 0 {
        notes.push(format!(
            "{inactive_agreement} line(s) on agreements not active, not counted"
        ));
    }
    if not_billable > 0 {
        notes.push(format!(
            "{not_billable} line(s) marked DoNotBill/NoCharge, not counted"
        ));
    }
    // A PSA whose API has no recurring lines is read from its invoices: the billed figure is
    // what was last invoiced, which a reader must know before trusting it as the contract.
    let invoiced: BTreeSet<&str> = counted
        .iter()
        .filter_map(|l| l.invoiced.as_deref())
        .collect();
    if !invoiced.is_empty() {
        notes.push(format!(
            "billed quantity is last period's invoice ({}): the PSA's API has no recurring lines",
            invoiced.into_iter().collect::<Vec<_>>().join("; ")
        ));
    }
    Billed {
        quantity: counted.iter().map(|l| l.quantity).sum(),
        less_included: counted.iter().map(|l| l.less_included).sum(),
        lines: counted,
    }
}

/// Which of `lines` (counted ones, with their positions) gives the price the impact uses: the
/// one most recently in force, the greatest id among equals.
pub(super) fn price_line<'l>(lines: impl Iterator<Item = (usize, &'l PsaLine)>) -> Option<usize> {
    lines
        .max_by(|(_, a), (_, b)| a.effective.cmp(&b.effective).then(a.id.cmp(&b.id)))
        .map(|(i, _)| i)
}

/// The unit price and billing cycle of the price line, noting when the counted lines do not
/// all have the same price; `None` without counted lines.
pub(super) fn line_price(
    billed: &Billed,
    agreements: &HashMap<&str, &PsaAgreement>,
    notes: &mut Vec<String>,
) -> Option<(Decimal, Option<String>)> {
    let l = billed.lines[price_line(billed.lines.iter().copied().enumerate())?];
    let prices: BTreeSet<Decimal> = billed
        .lines
        .iter()
        .map(|l| l.unit_price.normalize())
        .collect();
    if prices.len() > 1 {
        notes.push(format!(
            "lines at {} prices; impact uses {} (line {})",
            prices.len(),
            l.unit_price,
            l.id
        ));
    }
    let cycle = agreements
        .get(l.agreement_id.as_str())
        .and_then(|a| a.billing_cycle.clone());
    Some((l.unit_price, cycle))
}

/// Money per month for billing `target` instead of `billed` at `price` per unit per `cycle`,
/// both less the included quantity; `None` (with a note) for a cycle not convertible to months.
pub(super) fn monthly_impact(
    price: Decimal,
    cycle: Option<&str>,
    target: Decimal,
    billed: &Billed,
    notes: &mut Vec<String>,
) -> Option<Decimal> {
    let chargeable = |q: Decimal| (q - billed.less_included).max(Decimal::ZERO);
    let per_cycle = (chargeable(target) - chargeable(billed.quantity)) * price;
    match months_per_cycle(cycle) {
        Some(m) => Some((per_cycle / m).round_dp(2)),
        None => {
            notes.push(format!(
                "billing cycle `{}` is not one this tool converts to months; impact per cycle is {}",
                cycle.unwrap_or_default(),
                per_cycle.round_dp(2)
            ));
            None
        }
    }
}

/// The lines of `company_id` on `product` counted at `as_of`: those a finding's billed quantity
/// sums (active agreement, in force, billed to the customer), in the snapshot's order.
pub fn counted_lines<'s>(
    snap: &'s crate::model::PsaSnapshot,
    company_id: &str,
    product: &str,
    as_of: Timestamp,
) -> Vec<&'s PsaLine> {
    let agreements: HashMap<&str, &PsaAgreement> =
        snap.agreements.iter().map(|a| (a.id.as_str(), a)).collect();
    snap.lines
        .iter()
        .filter(|l| l.company_id == company_id && l.product_identifier == product)
        .filter(|l| line_status(l, &agreements, as_of).is_none())
        .collect()
}
