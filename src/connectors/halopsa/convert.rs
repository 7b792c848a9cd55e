//! HaloPSA wire types into the neutral model, with no requests: clients (billable by customer
//! type and top level), recurring invoices and client contracts into agreements (contract ids
//! prefixed with [`CONTRACT_PREFIX`]), invoice lines (pointed at their contract when it was
//! read, else their invoice) and items into products.

use std::collections::HashMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{CONTRACT_PREFIX, wire};
use crate::model::{BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct};

fn matches(list: &[String], id: Option<&str>, name: Option<&str>) -> bool {
    list.iter().any(|want| {
        let want = want.trim();
        id.is_some_and(|i| i == want) || name.is_some_and(|n| n.trim().eq_ignore_ascii_case(want))
    })
}

pub(super) fn company(
    c: wire::Client,
    raw: String,
    types: &[String],
    tops: &[String],
) -> PsaCompany {
    let type_name = c.customertype_name.clone().or(c.customertype.clone());
    let reason = if c.inactive.unwrap_or(false) {
        Some("inactive".to_string())
    } else if !types.is_empty()
        && !matches(
            types,
            c.customertype.as_deref(),
            c.customertype_name.as_deref(),
        )
    {
        Some(format!(
            "customer type {} is not in billable_client_types",
            type_name.clone().unwrap_or_else(|| "(none)".into())
        ))
    } else if !tops.is_empty()
        && !matches(tops, c.toplevel_id.as_deref(), c.toplevel_name.as_deref())
    {
        Some(format!(
            "top level {} is not in billable_top_levels",
            c.toplevel_name
                .clone()
                .or(c.toplevel_id.clone())
                .unwrap_or_else(|| "(none)".into())
        ))
    } else {
        None
    };
    let name = (c.name)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("client {}", c.id));
    PsaCompany {
        identifier: c
            .accountsid
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| c.id.clone()),
        id: c.id,
        name,
        status: if c.inactive.unwrap_or(false) {
            "Inactive"
        } else {
            "Active"
        }
        .into(),
        types: type_name.into_iter().collect(),
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

fn period_name(name: Option<&str>, number: Option<&Value>) -> Option<String> {
    name.map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .or_else(|| {
            number
                .filter(|v| !v.is_null())
                .map(|v| format!("period type {v}"))
        })
}

pub(super) fn invoice(h: &wire::InvoiceHeader, raw: String, now: Timestamp) -> PsaAgreement {
    let status = if h.disabled.unwrap_or(false) {
        "Disabled"
    } else if h.enddate.is_some_and(|e| e < now) {
        "Expired"
    } else {
        "Active"
    };
    PsaAgreement {
        id: h.id.clone(),
        company_id: h.client_id.clone(),
        name: h
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("Recurring invoice {}", h.id)),
        agreement_type: Some("Recurring invoice".into()),
        status: status.into(),
        start: h.startdate,
        end: h.enddate,
        cancelled: h.disabled.unwrap_or(false),
        billing_cycle: period_name(h.periodname.as_deref(), h.period_type.as_ref()),
        raw: Some(raw),
    }
}

pub(super) fn contract(c: wire::ContractHeader, raw: String, now: Timestamp) -> PsaAgreement {
    let status = if c.active == Some(false) {
        "Inactive"
    } else if c.expired.unwrap_or(false) || c.end_date.is_some_and(|e| e < now) {
        "Expired"
    } else {
        "Active"
    };
    PsaAgreement {
        id: format!("{CONTRACT_PREFIX}{}", c.id),
        company_id: c.client_id,
        name: c
            .reference
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| format!("Contract {}", c.id)),
        agreement_type: c.contracttype_name,
        status: status.into(),
        start: c.start_date,
        end: c.end_date,
        cancelled: false,
        billing_cycle: period_name(c.billingperiod_name.as_deref(), c.billingperiod.as_ref()),
        raw: Some(raw),
    }
}

pub(super) fn line(
    d: wire::InvoiceDetail,
    raw: String,
    h: &wire::InvoiceHeader,
    invoice: &PsaAgreement,
    items: &HashMap<String, (wire::Item, String)>,
    contracts: &HashMap<String, usize>,
) -> PsaLine {
    // The line's own contract, else the invoice's, when that contract was read.
    let agreement_id = d
        .contract_id
        .as_ref()
        .or(h.contract_id.as_ref())
        .map(|c| format!("{CONTRACT_PREFIX}{c}"))
        .filter(|c| contracts.contains_key(c))
        .unwrap_or_else(|| invoice.id.clone());
    let item = d
        .item_id
        .as_ref()
        .and_then(|i| items.get(i))
        .map(|(i, _)| i);
    let identifier = item
        .and_then(|i| i.name.clone())
        .filter(|n| !n.trim().is_empty())
        .or(d.item_code.clone().filter(|c| !c.trim().is_empty()))
        .or(d
            .item_shortdescription
            .clone()
            .filter(|c| !c.trim().is_empty()))
        .unwrap_or_else(|| format!("#{}", d.item_id.as_deref().unwrap_or("none")));
    PsaLine {
        id: d.id,
        agreement_id,
        company_id: invoice.company_id.clone(),
        product_id: d.item_id,
        product_identifier: identifier,
        description: d.item_shortdescription,
        quantity: d.qty_order.unwrap_or(Decimal::ZERO),
        less_included: Decimal::ZERO,
        unit_price: d.unit_price.unwrap_or(Decimal::ZERO),
        unit_cost: d.unit_cost.unwrap_or(Decimal::ZERO),
        effective: d.startdate.or(h.startdate),
        cancelled: d.enddate.or(h.enddate),
        bill_customer: BillCustomer::Billable,
        invoiced: None,
        raw: Some(raw),
    }
}

pub(super) fn product(i: wire::Item, raw: String) -> PsaProduct {
    PsaProduct {
        id: i.id.clone(),
        identifier: (i.name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("#{}", i.id)),
        description: i.description,
        price: i.recurringprice.or(i.baseprice),
        cost: i.recurringcost.or(i.costprice),
        inactive: i.inactive.unwrap_or(false),
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halo_dates_and_ids() {
        let d: wire::InvoiceDetail = serde_json::from_str(
            r#"{"id":24964,"_itemid":0,"qty_order":15.0,"unit_price":119.99,"startdate":"2025-07-01T00:00:00","enddate":"1900-01-01T00:00:00","contract_id":-3}"#,
        )
        .unwrap();
        assert_eq!(d.item_id, None);
        assert_eq!(d.contract_id.as_deref(), Some("-3"));
        assert_eq!(d.qty_order, Some(Decimal::new(15, 0)));
        assert_eq!(d.unit_price, Some(Decimal::new(11999, 2)));
        assert_eq!(d.startdate, Some("2025-07-01T00:00:00Z".parse().unwrap()));
        assert_eq!(d.enddate, None);
        let h: wire::InvoiceHeader =
            serde_json::from_str(r#"{"id":-94,"client_id":"420"}"#).unwrap();
        assert_eq!(h.id, "-94");
        assert_eq!(h.client_id, "420");
        assert!(
            serde_json::from_str::<wire::InvoiceHeader>(r#"{"id":1.5,"client_id":1}"#).is_err()
        );
    }

    #[test]
    fn client_billable_rules() {
        let c = |json: &str| serde_json::from_str::<wire::Client>(json).unwrap();
        let a = company(
            c(
                r#"{"id":1,"name":"A","customertype":2,"customertype_name":"Managed","toplevel_id":1,"toplevel_name":"Clients"}"#,
            ),
            String::new(),
            &["managed".into()],
            &["1".into()],
        );
        assert!(a.billable, "{:?}", a.not_billable_reason);
        let b = company(
            c(r#"{"id":2,"name":"B","inactive":true}"#),
            String::new(),
            &[],
            &[],
        );
        assert_eq!(b.not_billable_reason.as_deref(), Some("inactive"));
        let p = company(
            c(r#"{"id":3,"name":"P","customertype":7,"customertype_name":"Prospect"}"#),
            String::new(),
            &["Managed".into(), "2".into()],
            &[],
        );
        assert!(p.not_billable_reason.unwrap().contains("Prospect"));
        let t = company(
            c(r#"{"id":4,"name":"T","toplevel_id":9,"toplevel_name":"Internal"}"#),
            String::new(),
            &[],
            &["Clients".into()],
        );
        assert!(t.not_billable_reason.unwrap().contains("Internal"));
    }
}
