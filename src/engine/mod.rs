//! The engine: snapshots, mappings, rules and decisions in, findings out. Pure: no I/O, no
//! clock (the caller passes `as_of`), so every rule is tested by a table (`tests/`).
//!
//! The rules, in the order a billing manager would check them:
//! - every vendor account is mapped to a PSA company, marked "not billed", or reported as
//!   `unmapped_account`;
//! - every vendor service with usage on mapped accounts is mapped to a PSA product, marked "not
//!   billed", or reported as `unmapped_service`;
//! - for each (PSA company, product) that has usage or a billing line: billed quantity = the sum
//!   of `quantity` over lines in force at `as_of` (effective on or before it, not cancelled by it)
//!   on the company's active agreements, counting only lines billed to the customer; actual =
//!   the mapped services' counted units over the accounts mapped to the company;
//! - each item is classified per service by [`classify`], in this order: excluded (the first
//!   [`Rules::exclusions`] entry matching its account id or folded name, its name glob and/or
//!   the service; with its reason), pending approval (unless [`Rules::count_pending`]), inactive
//!   (last contact more than the service's or the global `inactive_after_days` days before
//!   `as_of`; an item with no last contact is never inactive), else counted. Only counted units
//!   are in actual; pending, inactive and excluded units are reported beside it (`pending`,
//!   `inactive`, `excluded`, `excluded_by` per reason, and a note each), never dropped
//!   silently. A service's units per item are 1 when its class and filters hold, or for a
//!   bundle the sum over its parts. An unmapped account matched by an account-only exclusion is
//!   excluded, not reported as `unmapped_account`;
//! - contract per `<psa connection>/<product>` ([`Contract`]): contract quantity =
//!   max(actual − included, 0), rounded (ceil by default, or none), then at least minimum; with
//!   a contract, difference = contract quantity − billed, and it stands for actual in the kind
//!   and the impact below; without, difference = actual − billed. `usage_no_billing` needs a
//!   positive target and no counted line; `billing_no_usage` a billed quantity and a zero target;
//! - money impact per month = (max(actual − less included, 0) − max(billed − less included, 0)) ×
//!   unit price ÷ months in the billing cycle. The unit price is that of the most recently
//!   effective line, or the catalog price when there is no line. Positive means revenue not being
//!   billed, negative means the client is charged for more than it uses.
//! - tolerance (materiality), for `under_billed` and `over_billed` only (never for
//!   `usage_no_billing` / `billing_no_usage`, which are categorical): with diff = actual − billed,
//!   an increase (diff > 0, the under-billed direction) is `within_tolerance` when
//!   diff ≤ increase_abs OR diff ≤ increase_pct ÷ 100 × billed; a decrease (diff < 0) is
//!   `within_tolerance` when |diff| ≤ decrease_abs OR |diff| ≤ decrease_pct ÷ 100 × billed.
//!   Percentages are in percent (10 = 10 %) of the billed quantity; 0 (the default) means no
//!   tolerance. The values used are, per key, the smallest over the services counted in the
//!   finding of that service's override (`<vendor connection>/<service key>`) or else the
//!   global value. A `within_tolerance` finding keeps its money impact, which is reported in
//!   `within_tolerance_monthly` (net, signed) and not in the under/over-billed totals;
//! - source health: a finding that depends on an unhealthy connection becomes `stale_source`
//!   with the connection's reason in `note` (followed by what the finding would have been) and
//!   no money impact (`monthly_impact` is empty; not in any total). A vendor-side finding
//!   depends on its vendor connection; a PSA-side finding depends on its PSA connection, on the
//!   vendor connections whose usage it counts, and on every vendor connection with a service
//!   mapped to its product (so a vendor that lost its devices cannot produce "billing, no
//!   usage" everywhere). Which connections are unhealthy is decided by the caller
//!   ([`crate::pipeline`]) and passed in [`Input::unhealthy`];
//! - what each line earns: revenue, cost (actual × the vendor's unit cost, from the items'
//!   `unit_cost` or `[cost]`), margin and margin %, the `low_margin` note, and a
//!   `cost_mismatch` finding beside the line when the PSA records another unit cost than the
//!   vendor's: the rules are written out in `cost.rs`;
//! - order: by kind in [`FindingKind::ALL`] order (unmapped first, a mapping gap hides money;
//!   then stale sources; then under/over-billed, usage with no billing, billing with no usage;
//!   then cost mismatches; then within tolerance; matches last), within a kind by company name
//!   (case-insensitive), product, accounts, services, id.
//!
//! Where each part lives: `input.rs` what the engine reads; `rules.rs` the per-item rules and
//! the contract arithmetic; `usage.rs` the usage records behind one trait; `count.rs` the
//! counting per account and per (company, product), over the billing period too; `vendor.rs`
//! the vendor side (mapping gaps, excluded accounts); `lines.rs` the billing lines, price and
//! impact; `psa.rs` the PSA side (one finding per company and product); `cost.rs` what each
//! line earns; `tolerance.rs`,
//! `finding.rs` (the rows, their ids and order, `stale_source`), `totals.rs`, and
//! `explain.rs` (the records behind one finding). [`findings`] runs the vendor side, then the
//! PSA side, and sorts.

use std::collections::BTreeSet;

mod cost;
mod count;
mod explain;
mod finding;
mod input;
mod lines;
mod psa;
mod rules;
mod tolerance;
mod totals;
mod usage;
mod vendor;

pub use crate::model::months_per_cycle;
pub use cost::{COST_CURRENCY_ATTR, CostRate, Margin, UNIT_COST_ATTR};
pub use count::{ServiceCount, aggregate, service_counts};
pub use explain::{ExplainedItem, ExplainedLine, Explanation, explain};
pub use finding::{Finding, FindingKind, blank as blank_finding, finding_id};
pub use input::{Bases, Basis, Input, PeriodInput, PsaInput, VendorInput};
pub use lines::counted_lines;
pub use rules::{Contract, Exclusion, ItemStatus, Rounding, Rules, classify};
pub use tolerance::{Tolerance, Tolerances};
pub use totals::Totals;
pub use usage::{ItemSpec, ItemTable, Row, Usage};
pub use vendor::{ExcludedAccount, excluded_accounts};

/// Computes every finding, sorted for the report: mapping gaps first, then by company.
pub fn findings(input: &Input) -> Vec<Finding> {
    let (mut findings, counted) = vendor::vendor_side(input);
    for f in &mut findings {
        // Vendor-side findings so far: they depend on their vendor connection only.
        let deps: BTreeSet<String> = f.vendor_connection.iter().cloned().collect();
        finding::mark_stale(f, &deps, input.unhealthy);
    }
    for psa in &input.psas {
        findings.extend(psa::psa_findings(psa, input, &counted));
    }
    finding::sort_for_report(&mut findings);
    findings
}

#[cfg(test)]
mod tests;
