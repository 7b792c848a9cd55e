//! BMS wire types into the neutral model, with no requests: accounts into companies (billable by
//! type and active flag), the service catalogue into products, and each contract's **last
//! invoice** into its agreement and billing lines, since the API has no recurring-service lines
//! to read (see `mod.rs`).

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::wire;
use crate::http::Read;
use crate::model::{BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct};

/// `types` bill (without case; empty: any type), and only active accounts. `psa` names the PSA
/// in the reason.
pub(super) fn company(a: wire::Account, raw: String, types: &[String], psa: &str) -> PsaCompany {
    let active = a.is_active.unwrap_or(true);
    let kind = a.account_type.clone();
    let reason = if !active {
        Some(format!("inactive in {psa}"))
    } else if types.is_empty() {
        None
    } else {
        match &kind {
            Some(k) if types.iter().any(|t| t.trim().eq_ignore_ascii_case(k)) => None,
            Some(k) => Some(format!(
                "account type `{k}` is not in billable_types ({})",
                types.join(", ")
            )),
            None => Some("has no account type, and billable_types is set".to_string()),
        }
    };
    PsaCompany {
        id: a.id.to_string(),
        identifier: a.account_code.unwrap_or_else(|| a.id.to_string()),
        name: a
            .account_name
            .unwrap_or_else(|| format!("Account #{}", a.id)),
        status: if active { "Active" } else { "Inactive" }.into(),
        types: kind.into_iter().collect(),
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

/// A catalogue service, known by its name: invoice lines name the service, not its id.
pub(super) fn product(s: wire::Service, raw: String) -> PsaProduct {
    PsaProduct {
        id: s.id.to_string(),
        identifier: s.name.clone().unwrap_or_else(|| format!("#{}", s.id)),
        description: s.description.or(s.name),
        price: s.unit_price,
        cost: s.unit_cost,
        inactive: !s.is_active.unwrap_or(true),
        raw: Some(raw),
    }
}

/// A date the API writes for "none": .NET's `0001-01-01` or a far-future sentinel.
fn real_date(t: Option<Timestamp>) -> Option<Timestamp> {
    let year = t?.to_zoned(jiff::tz::TimeZone::UTC).year();
    (1900..9000).contains(&year).then_some(t?)
}

/// `2026-11-01`.
fn day(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()
}

/// The billing read from invoices: one agreement per contract that was invoiced, its lines
/// those of the contract's last invoice.
#[derive(Debug, Default)]
pub(super) struct Invoiced {
    pub agreements: Vec<PsaAgreement>,
    pub lines: Vec<PsaLine>,
    /// The invoices whose lines became billing lines.
    pub invoices_used: usize,
    /// The earliest and latest date of those invoices.
    pub dated: Option<(Timestamp, Timestamp)>,
    /// Lines on no contract (one-off charges, time, products): not recurring, not read.
    pub not_recurring: usize,
    /// Invoices left out because they are void.
    pub void: usize,
    /// Lines of an invoice the invoice list did not give (no account to put them on).
    pub set_aside: Vec<String>,
}

/// Where the last invoice of each contract is read from.
pub(super) struct Sources<'a> {
    pub invoices: &'a [Read<wire::Invoice>],
    pub contracts: &'a HashMap<i64, &'a wire::Contract>,
    /// Catalogue services by name, lower case.
    pub services: &'a HashMap<String, &'a PsaProduct>,
    /// `POST /v2/finance/invoices/details`, for set-aside lines.
    pub endpoint: &'a str,
}

/// Each contract's lines on its last invoice (latest invoice date, then highest id). A line
/// whose quantity or contract cannot be read makes its account unreadable (never guessed).
pub(super) fn from_invoices(
    src: &Sources,
    lines: Vec<Read<wire::InvoiceLine>>,
    unreadable: &mut BTreeMap<String, String>,
) -> Invoiced {
    let mut out = Invoiced::default();
    let void = |i: &wire::Invoice| {
        i.status_name
            .as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().contains("void"))
    };
    let invoices: HashMap<i64, &Read<wire::Invoice>> =
        src.invoices.iter().map(|i| (i.value.id, i)).collect();
    out.void = src.invoices.iter().filter(|i| void(&i.value)).count();
    let order = |i: &wire::Invoice| (i.invoice_date, i.id);
    // The last invoice of each contract, and the lines of each (contract, invoice).
    let mut last: HashMap<i64, &wire::Invoice> = HashMap::new();
    let mut by_pair: HashMap<(i64, i64), Vec<Read<wire::InvoiceLine>>> = HashMap::new();
    for l in lines {
        let Some(inv) = invoices.get(&l.value.invoice_id) else {
            out.set_aside.push(format!(
                "{}: line {} of invoice {}, which the invoice list (GET /v2/finance/invoices/summary) did not give, so its account is unknown",
                src.endpoint, l.value.id, l.value.invoice_id
            ));
            continue;
        };
        if void(&inv.value) {
            continue;
        }
        let account = inv.value.account_id.to_string();
        if l.odd.iter().any(|f| f == "contractId") {
            unreadable.entry(account).or_insert_with(|| {
                format!(
                    "line {} of invoice {} has no readable `contractId` (whether it is a recurring service)",
                    l.value.id, inv.value.id
                )
            });
            continue;
        }
        let Some(contract) = l.value.contract_id.filter(|c| *c > 0) else {
            out.not_recurring += 1;
            continue;
        };
        let newer = last
            .get(&contract)
            .is_none_or(|cur| order(&inv.value) > order(cur));
        if newer {
            last.insert(contract, &inv.value);
        }
        by_pair.entry((contract, inv.value.id)).or_default().push(l);
    }
    let mut contracts: Vec<(i64, &wire::Invoice)> = last.into_iter().collect();
    contracts.sort_by_key(|(c, _)| *c);
    let mut used = std::collections::BTreeSet::new();
    for (contract, inv) in contracts {
        let items = by_pair.remove(&(contract, inv.id)).unwrap_or_default();
        let known = src.contracts.get(&contract);
        let account = inv.account_id.to_string();
        let name = known
            .and_then(|c| c.contract_name.clone())
            .or_else(|| items.iter().find_map(|l| l.value.contract_name.clone()))
            .unwrap_or_else(|| format!("Contract #{contract}"));
        let agreement = PsaAgreement {
            id: contract.to_string(),
            company_id: account.clone(),
            name,
            agreement_type: known.and_then(|c| c.contract_type.clone()),
            // A contract the summary does not list was still invoiced: active as invoiced.
            status: known
                .and_then(|c| c.status.clone())
                .unwrap_or_else(|| "Active".into()),
            start: known.and_then(|c| real_date(c.start_date)),
            end: known.and_then(|c| real_date(c.end_date)),
            cancelled: false,
            billing_cycle: known.and_then(|c| c.billing_cycle.clone()),
            raw: None,
        };
        let number = inv
            .invoice_number
            .clone()
            .unwrap_or_else(|| inv.id.to_string());
        let invoiced = match inv.invoice_date {
            Some(d) => format!("invoice {number} of {}", day(d)),
            None => format!("invoice {number}, undated"),
        };
        for item in items {
            let l = item.value;
            let Some(quantity) = l.qty.filter(|_| !item.odd.iter().any(|f| f == "qty")) else {
                unreadable.entry(account.clone()).or_insert_with(|| {
                    format!(
                        "line {} of {invoiced} (contract {contract}) has no readable quantity (`qty`)",
                        l.id
                    )
                });
                continue;
            };
            let service = l
                .name
                .as_deref()
                .and_then(|n| src.services.get(&n.to_lowercase()));
            out.lines.push(PsaLine {
                id: l.id.to_string(),
                agreement_id: agreement.id.clone(),
                company_id: account.clone(),
                product_id: service.map(|s| s.id.clone()),
                product_identifier: l.name.clone().unwrap_or_else(|| format!("line #{}", l.id)),
                description: l.description.or(l.name),
                quantity,
                less_included: Decimal::ZERO,
                unit_price: l.unit_price.unwrap_or(Decimal::ZERO),
                // Invoice lines carry no cost: the catalogue's is the best known.
                unit_cost: service.and_then(|s| s.cost).unwrap_or(Decimal::ZERO),
                // The invoice is in force until the next one replaces it.
                effective: None,
                cancelled: None,
                bill_customer: BillCustomer::Billable,
                invoiced: Some(invoiced.clone()),
                raw: Some(item.raw),
            });
        }
        used.insert(inv.id);
        if let Some(d) = inv.invoice_date {
            out.dated = Some(match out.dated {
                None => (d, d),
                Some((a, b)) => (a.min(d), b.max(d)),
            });
        }
        out.agreements.push(agreement);
    }
    out.invoices_used = used.len();
    out.lines
        .sort_by(|a, b| a.agreement_id.cmp(&b.agreement_id).then(a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: serde::de::DeserializeOwned>(json: &str) -> Read<T> {
        Read {
            value: serde_json::from_str(json).unwrap(),
            raw: json.into(),
            odd: Vec::new(),
        }
    }

    #[test]
    fn each_contract_bills_what_its_last_invoice_did() {
        let invoices = vec![
            read::<wire::Invoice>(
                r#"{"id":10,"accountId":7,"invoiceNumber":"INV-10","invoiceDate":"2026-10-01T00:00:00"}"#,
            ),
            read(
                r#"{"id":11,"accountId":7,"invoiceNumber":"INV-11","invoiceDate":"2026-11-01T00:00:00"}"#,
            ),
            read(
                r#"{"id":12,"accountId":7,"invoiceNumber":"INV-12","statusName":"Void","invoiceDate":"2026-11-20T00:00:00"}"#,
            ),
        ];
        let lines = vec![
            read::<wire::InvoiceLine>(
                r#"{"id":1,"invoiceId":10,"contractId":5,"name":"Managed Workstation","qty":20.0,"unitPrice":35.0}"#,
            ),
            read(
                r#"{"id":2,"invoiceId":11,"contractId":5,"name":"Managed Workstation","qty":22.0,"unitPrice":35.0}"#,
            ),
            read(r#"{"id":3,"invoiceId":11,"contractId":0,"name":"Onsite labour","qty":3.5}"#),
            read(
                r#"{"id":4,"invoiceId":12,"contractId":5,"name":"Managed Workstation","qty":99.0}"#,
            ),
            read(r#"{"id":5,"invoiceId":99,"contractId":5,"name":"Managed Workstation","qty":1}"#),
        ];
        let contract: wire::Contract = serde_json::from_str(
            r#"{"id":5,"contractName":"Managed Services","status":"Active","billingCycle":"Monthly","startDate":"2024-01-01T00:00:00","endDate":"0001-01-01T00:00:00"}"#,
        )
        .unwrap();
        let contracts = HashMap::from([(5, &contract)]);
        let ws = PsaProduct {
            id: "55".into(),
            identifier: "Managed Workstation".into(),
            description: None,
            price: None,
            cost: Some(Decimal::new(95, 1)),
            inactive: false,
            raw: None,
        };
        let services = HashMap::from([("managed workstation".to_string(), &ws)]);
        let src = Sources {
            invoices: &invoices,
            contracts: &contracts,
            services: &services,
            endpoint: "POST /v2/finance/invoices/details",
        };
        let mut unreadable = BTreeMap::new();
        let got = from_invoices(&src, lines, &mut unreadable);
        assert!(unreadable.is_empty(), "{unreadable:?}");
        assert_eq!(got.lines.len(), 1, "{:?}", got.lines);
        let l = &got.lines[0];
        assert_eq!(
            l.quantity,
            Decimal::from(22),
            "the last invoice, not the void one"
        );
        assert_eq!(l.company_id, "7");
        assert_eq!(l.product_id.as_deref(), Some("55"));
        assert_eq!(l.unit_cost.to_string(), "9.5");
        assert_eq!(l.invoiced.as_deref(), Some("invoice INV-11 of 2026-11-01"));
        let a = &got.agreements[0];
        assert_eq!((a.name.as_str(), a.end), ("Managed Services", None));
        assert_eq!(got.not_recurring, 1);
        assert_eq!(got.void, 1);
        assert_eq!(got.set_aside.len(), 1, "{:?}", got.set_aside);
        assert!(got.set_aside[0].contains("invoice 99"));
        assert_eq!(got.invoices_used, 1);
    }

    #[test]
    fn an_unreadable_quantity_makes_the_account_unreadable_never_zero() {
        let invoices = vec![read::<wire::Invoice>(
            r#"{"id":10,"accountId":7,"invoiceDate":"2026-11-01T00:00:00"}"#,
        )];
        let mut odd = read::<wire::InvoiceLine>(r#"{"id":1,"invoiceId":10,"contractId":5}"#);
        odd.odd.push("qty".into());
        let contracts = HashMap::new();
        let services = HashMap::new();
        let src = Sources {
            invoices: &invoices,
            contracts: &contracts,
            services: &services,
            endpoint: "POST /v2/finance/invoices/details",
        };
        let mut unreadable = BTreeMap::new();
        let got = from_invoices(&src, vec![odd], &mut unreadable);
        assert!(got.lines.is_empty());
        assert!(
            unreadable["7"].contains("no readable quantity"),
            "{unreadable:?}"
        );
        // A contract the summary does not list is active, as invoiced.
        assert_eq!(got.agreements[0].status, "Active");
    }

    #[test]
    fn billable_by_type_and_active() {
        let a = |json: &str| serde_json::from_str::<wire::Account>(json).unwrap();
        let types = vec!["Customer".to_string()];
        let c = company(
            a(r#"{"id":1,"accountName":"Acme","accountType":"customer","isActive":true}"#),
            String::new(),
            &types,
            "Kaseya BMS",
        );
        assert!(c.billable);
        let p = company(
            a(r#"{"id":2,"accountName":"Beta","accountType":"Prospect","isActive":true}"#),
            String::new(),
            &types,
            "Kaseya BMS",
        );
        assert!(p.not_billable_reason.unwrap().contains("`Prospect`"));
        let i = company(
            a(r#"{"id":3,"accountType":"Customer","isActive":false}"#),
            String::new(),
            &types,
            "Kaseya BMS",
        );
        assert_eq!(
            i.not_billable_reason.as_deref(),
            Some("inactive in Kaseya BMS")
        );
        assert_eq!(i.name, "Account #3");
        let any = company(
            a(r#"{"id":4,"accountType":"Prospect","isActive":true}"#),
            String::new(),
            &[],
            "Kaseya BMS",
        );
        assert!(any.billable);
    }
}
