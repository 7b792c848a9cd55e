//! Why a line's finding says what it says: the records counted, inactive, pending or excluded,
//! the billing lines summed, and the contract, price and tolerance used. Recomputed from the
//! same input as [`findings`](super::findings) (nothing per device is stored with the findings).

use std::collections::HashMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Serialize;

use super::lines::{line_status, price_line};
use super::rules::{Contract, ItemStatus, classify};
use super::{Finding, FindingKind, Input, PsaInput, Tolerance, months_per_cycle};
use crate::model::{PsaAgreement, PsaLine, ServiceMapping};

/// One usage item a finding's services look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedItem {
    /// `<vendor connection>/<service key>`.
    pub service: String,
    pub account: String,
    pub id: String,
    pub name: String,
    pub class: String,
    pub last_contact: Option<Timestamp>,
    /// Units this item adds: 1, more for bundles counting it twice, its quantity for
    /// services counting a quantity attribute (licenses, seats).
    pub weight: Decimal,
    pub status: ItemStatus,
    /// What one unit costs per month as the vendor reports it (its `unit_cost` attribute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<Decimal>,
}

/// One billing line on the company and product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedLine {
    pub id: String,
    pub agreement: String,
    pub quantity: Decimal,
    pub less_included: Decimal,
    pub unit_price: Decimal,
    /// The unit cost the PSA records on the line (per billing cycle).
    pub unit_cost: Decimal,
    pub billing_cycle: Option<String>,
    pub effective: Option<Timestamp>,
    /// Whether it is summed into the billed quantity.
    pub counted: bool,
    /// Why not, when it is not.
    pub why_not: Option<String>,
    /// Whether its unit price is the one the impact uses.
    pub priced_from: bool,
    /// The invoice its quantity was read from, for a PSA without recurring lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoiced: Option<String>,
}

/// Everything behind one line finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub finding: Finding,
    pub items: Vec<ExplainedItem>,
    pub lines: Vec<ExplainedLine>,
    pub contract: Option<Contract>,
    pub billing_cycle: Option<String>,
    pub months_per_cycle: Option<Decimal>,
    /// The tolerance for the finding's services (applies to under/over-billed only).
    #[serde(skip)]
    pub tolerance: Tolerance,
    /// The `cost_mismatch` finding beside this line's, if the PSA's unit cost is not the
    /// vendor's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_mismatch: Option<Finding>,
}

/// The line findings of `company_id` on `psa_connection` (one product, matched
/// case-insensitively, or all of them), each with the records and lines behind it.
pub fn explain(
    input: &Input,
    psa_connection: &str,
    company_id: &str,
    product: Option<&str>,
) -> Vec<Explanation> {
    let findings = super::findings(input);
    let Some(psa) = input.psas.iter().find(|p| p.connection == psa_connection) else {
        return Vec::new();
    };
    let agreements: HashMap<&str, &PsaAgreement> = psa
        .snapshot
        .agreements
        .iter()
        .map(|a| (a.id.as_str(), a))
        .collect();
    let mut out = Vec::new();
    let mine = |f: &Finding| {
        f.psa_connection.as_deref() == Some(psa_connection)
            && f.company_id.as_deref() == Some(company_id)
    };
    let mismatches: Vec<Finding> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::CostMismatch && mine(f))
        .cloned()
        .collect();
    for f in findings {
        if !mine(&f) || f.kind == FindingKind::CostMismatch {
            continue;
        }
        let Some(p) = f.product.clone() else { continue };
        if product.is_some_and(|want| !want.eq_ignore_ascii_case(&p)) {
            continue;
        }
        let items = items_behind(input, psa_connection, company_id, &p);
        let lines = lines_behind(psa, &agreements, company_id, &p, input.as_of);
        let billing_cycle = lines
            .iter()
            .find(|l| l.priced_from)
            .and_then(|l| l.billing_cycle.clone());
        out.push(Explanation {
            months_per_cycle: months_per_cycle(billing_cycle.as_deref()),
            billing_cycle,
            contract: input
                .rules
                .contracts
                .get(&format!("{psa_connection}/{p}"))
                .cloned(),
            tolerance: input.tolerances.for_services(&f.services),
            cost_mismatch: mismatches
                .iter()
                .find(|m| m.product.as_deref() == Some(p.as_str()))
                .cloned(),
            finding: f,
            items,
            lines,
        });
    }
    out
}

/// Every item a service mapped to `product` weighs on the accounts mapped to the company, with
/// its status, by service, name and id.
fn items_behind(
    input: &Input,
    psa_connection: &str,
    company_id: &str,
    product: &str,
) -> Vec<ExplainedItem> {
    let mut items = Vec::new();
    for v in &input.vendors {
        let names: HashMap<&str, &str> = v
            .snapshot
            .accounts()
            .iter()
            .map(|a| (a.id.as_str(), a.name.as_str()))
            .collect();
        let accounts = company_accounts(input, v.connection, psa_connection, company_id);
        for s in v.services {
            if !maps_to(input, v.connection, &s.key, psa_connection, product) {
                continue;
            }
            let label = format!("{}/{}", v.connection, s.key);
            v.snapshot.each_item(&mut |item| {
                if !accounts.contains(&item.account_id()) {
                    return;
                }
                let weight = s.weight(item);
                if weight.is_zero() {
                    return;
                }
                let account = names.get(item.account_id()).copied().unwrap_or("");
                items.push(ExplainedItem {
                    service: label.clone(),
                    account: account.to_string(),
                    id: item.item_id().to_string(),
                    name: item.name().to_string(),
                    class: item.class().to_string(),
                    last_contact: item.last_contact(),
                    weight,
                    unit_cost: item
                        .attr(super::UNIT_COST_ATTR)
                        .and_then(|c| c.trim().parse().ok()),
                    status: classify(
                        item,
                        account,
                        v.connection,
                        &label,
                        input.rules,
                        input.as_of,
                    ),
                });
            });
        }
    }
    items.sort_by(|a, b| {
        a.service
            .cmp(&b.service)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.id.cmp(&b.id))
    });
    items
}

/// The ids of the vendor's accounts mapped to the company.
fn company_accounts<'a>(
    input: &'a Input,
    vendor: &str,
    psa_connection: &str,
    company_id: &str,
) -> Vec<&'a str> {
    input
        .accounts
        .iter()
        .filter(|m| {
            m.vendor_connection == vendor
                && m.target
                    .as_ref()
                    .is_some_and(|t| t.connection == psa_connection && t.company_id == company_id)
        })
        .map(|m| m.account_id.as_str())
        .collect()
}

/// Whether the vendor's service is mapped to the product.
fn maps_to(
    input: &Input,
    vendor: &str,
    service: &str,
    psa_connection: &str,
    product: &str,
) -> bool {
    input.services.iter().any(|m: &ServiceMapping| {
        m.vendor_connection == vendor
            && m.service_key == service
            && m.target
                .as_ref()
                .is_some_and(|t| t.connection == psa_connection && t.product_identifier == product)
    })
}

/// The company's lines on `product`, each saying whether it is counted and why not, the one
/// whose price the impact uses marked (as the engine picks it).
fn lines_behind(
    psa: &PsaInput,
    agreements: &HashMap<&str, &PsaAgreement>,
    company_id: &str,
    product: &str,
    as_of: Timestamp,
) -> Vec<ExplainedLine> {
    let on_pair: Vec<&PsaLine> = psa
        .snapshot
        .lines
        .iter()
        .filter(|l| l.company_id == company_id && l.product_identifier == product)
        .collect();
    let mut lines: Vec<ExplainedLine> = on_pair
        .iter()
        .map(|l| {
            let why = line_status(l, agreements, as_of);
            let agreement = agreements.get(l.agreement_id.as_str());
            ExplainedLine {
                id: l.id.clone(),
                agreement: agreement
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| format!("agreement {}", l.agreement_id)),
                quantity: l.quantity,
                less_included: l.less_included,
                unit_price: l.unit_price,
                unit_cost: l.unit_cost,
                billing_cycle: agreement.and_then(|a| a.billing_cycle.clone()),
                effective: l.effective,
                counted: why.is_none(),
                why_not: why.map(|w| w.as_str().to_string()),
                priced_from: false,
                invoiced: l.invoiced.clone(),
            }
        })
        .collect();
    let counted = on_pair
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, _)| lines[*i].counted);
    if let Some(i) = price_line(counted) {
        lines[i].priced_from = true;
    }
    lines
}
