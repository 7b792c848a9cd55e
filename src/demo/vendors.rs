//! The demo's vendors beside NinjaOne, as the sample plants them: the catalog products and the
//! agreement additions written for each vendor's billed services ([`plant`]), with one
//! under-billed and one over-billed line per vendor, and what the engine should find
//! ([`DemoVendor`]). Which clients a vendor serves and which of its services bill as which
//! product is its sandbox's ([`super::kit::Vendor`]).
//!
//! The quantities come from each sandbox's own `usage()` (computed from the records it serves),
//! so the billed side and the expected findings cannot drift from the vendor data.

use rust_decimal::Decimal;

use super::kit::{self, Vendor};
use super::sample::{CwAddition, CwCatalogItem, CwData, ExpectedLine};
use crate::connectors::ConnectorKind;
use crate::engine::FindingKind;

/// One billed service: (service key, product identifier, description, price, cost).
pub type Billed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// One vendor of the demo beside NinjaOne, as the sample planted it.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoVendor {
    pub kind: ConnectorKind,
    /// The demo's connection name (`demo-sentinelone`).
    pub connection: &'static str,
    /// Service key → product identifier, as the demo maps them.
    pub billed: Vec<(String, String)>,
    /// Every line finding the engine should produce for this vendor's products.
    pub expected: Vec<ExpectedLine>,
    /// Accounts the sandbox refuses to let the connector read (a tenant without consent).
    pub unreadable: Vec<String>,
    /// For a vendor that reports what a unit costs ([`Vendor::PLANTS_COST`]): the (company,
    /// product) whose line records another unit cost than the vendor's (`cost_mismatch`), and
    /// the one sold below cost (a match that loses money: `low_margin`).
    pub cost_mismatch: Option<(String, String)>,
    pub loss_making: Option<(String, String)>,
}

impl DemoVendor {
    /// Bills `quantity` of the vendor's first product to a client whose account the connector
    /// cannot read: the finding is `stale_source` (usage unknown), never an over-billing.
    pub fn plant_unreadable(
        &mut self,
        cw: &mut CwData,
        client: &ClientAgreement,
        billed: &Billed,
        quantity: Decimal,
    ) {
        let (price, cost) = (
            billed.3.parse().expect("a price"),
            billed.4.parse().expect("a cost"),
        );
        add_line(cw, client, billed, quantity, price, cost);
        self.expected.push(ExpectedLine {
            company: client.name.clone(),
            product: billed.1.to_string(),
            kind: FindingKind::StaleSource,
            billed: quantity,
            actual: Decimal::ZERO,
            pending: 0,
            inactive: 0,
        });
        self.unreadable.push(client.name.clone());
    }
}

/// A client the vendor lines can go on: its ConnectWise name, its active agreement and that
/// agreement's start.
pub struct ClientAgreement {
    pub name: String,
    pub agreement_id: i64,
    pub start: jiff::Timestamp,
}

/// Adds the vendor's catalog products and one addition per (client, billed service) with usage,
/// billed as used except the first such line (2 fewer: under-billed) and the second (1 more:
/// over-billed). For a vendor that reports costs, the next line records last year's cost (80 %
/// of the vendor's: a cost mismatch) and the one after is priced 0.50 below cost (it loses
/// money while billing exactly what is used).
pub fn plant<V: Vendor>(
    cw: &mut CwData,
    clients: &[&ClientAgreement],
    usage: &[(String, String, Decimal)],
) -> DemoVendor {
    let kind = kit::kind::<V>();
    let billed = V::DEMO.billed;
    for (_, ident, desc, price, cost) in billed {
        let id = cw.catalog.iter().map(|c| c.id).max().unwrap_or(300) + 1;
        cw.catalog.push(CwCatalogItem {
            id,
            identifier: ident.to_string(),
            description: desc.to_string(),
            customer_description: desc.to_string(),
            price: price.parse().expect("a price"),
            cost: cost.parse().expect("a cost"),
            inactive: false,
            category: "Managed Services".into(),
            subcategory: kind.display_name().into(),
        });
    }
    let mut expected = Vec::new();
    let mut planted = 0;
    let (mut cost_mismatch, mut loss_making) = (None, None);
    for client in clients {
        for line in billed {
            let (service, ident, ..) = line;
            let Some(actual) = usage
                .iter()
                .find(|(a, s, _)| *a == client.name && s == service)
                .map(|(_, _, n)| *n)
            else {
                continue;
            };
            let (quantity, kind) = match planted {
                0 if actual > Decimal::TWO => (actual - Decimal::TWO, FindingKind::UnderBilled),
                1 => (actual + Decimal::ONE, FindingKind::OverBilled),
                _ => (actual, FindingKind::Match),
            };
            if kind != FindingKind::Match {
                planted += 1;
            }
            let (mut price, mut cost): (Decimal, Decimal) = (
                line.3.parse().expect("a price"),
                line.4.parse().expect("a cost"),
            );
            let here = || Some((client.name.clone(), ident.to_string()));
            if V::PLANTS_COST && kind == FindingKind::Match && planted >= 2 {
                if cost_mismatch.is_none() {
                    cost = (cost * Decimal::new(8, 1)).round_dp(2);
                    cost_mismatch = here();
                } else if loss_making.is_none() {
                    price = cost - Decimal::new(5, 1);
                    loss_making = here();
                }
            }
            add_line(cw, client, line, quantity, price, cost);
            expected.push(ExpectedLine {
                company: client.name.clone(),
                product: ident.to_string(),
                kind,
                billed: quantity,
                actual,
                pending: 0,
                inactive: 0,
            });
        }
    }
    expected.sort_by(|a, b| {
        a.company
            .to_lowercase()
            .cmp(&b.company.to_lowercase())
            .then(a.product.cmp(&b.product))
    });
    DemoVendor {
        kind,
        connection: V::CONNECTION,
        unreadable: Vec::new(),
        billed: billed
            .iter()
            .map(|(s, p, ..)| (s.to_string(), p.to_string()))
            .collect(),
        expected,
        cost_mismatch,
        loss_making,
    }
}

/// Adds an addition billing `quantity` of `billed`'s product (planted in the catalog already)
/// on `client`'s agreement, at `price` and `cost`, from the agreement's start.
fn add_line(
    cw: &mut CwData,
    client: &ClientAgreement,
    billed: &Billed,
    quantity: Decimal,
    price: Decimal,
    cost: Decimal,
) {
    let (_, ident, desc, ..) = billed;
    let product_id = cw
        .catalog
        .iter()
        .find(|c| c.identifier == *ident)
        .map(|c| c.id)
        .expect("the product was planted first");
    let id = cw.additions.iter().map(|a| a.id).max().unwrap_or(8800) + 1;
    cw.additions.push(CwAddition {
        id,
        agreement_id: client.agreement_id,
        product_id,
        description: desc.to_string(),
        quantity,
        less_included: Decimal::ZERO,
        unit_price: price,
        unit_cost: cost,
        bill_customer: "Billable".into(),
        effective: client.start,
        cancelled: None,
        sequence_number: (id % 100) + 1,
    });
}
