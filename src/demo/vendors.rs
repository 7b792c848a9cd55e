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
        add_line(cw, client, billed, quantity);
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
/// over-billed).
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
            add_line(cw, client, line, quantity);
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
    }
}

/// Adds an addition billing `quantity` of `billed`'s product (planted in the catalog already)
/// on `client`'s agreement, at its price and cost, from the agreement's start.
fn add_line(cw: &mut CwData, client: &ClientAgreement, billed: &Billed, quantity: Decimal) {
    let (_, ident, desc, price, cost) = billed;
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
        unit_price: price.parse().expect("a price"),
        unit_cost: cost.parse().expect("a cost"),
        bill_customer: "Billable".into(),
        effective: client.start,
        cancelled: None,
        sequence_number: (id % 100) + 1,
    });
}
