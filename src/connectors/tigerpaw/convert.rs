//! Tigerpaw wire types into the neutral model, with no requests: accounts (billable by type and
//! status), each active agreement into an agreement, and its additional charges into billing
//! lines (whole units; one-time charges marked so).

use rust_decimal::Decimal;

use super::wire;
use crate::model::{BillCustomer, PsaAgreement, PsaCompany, PsaLine};

/// `types` bill (without case; empty: any type), and only accounts whose status is not an
/// inactive one and that are not vendors.
pub(super) fn company(a: wire::AccountSummary, raw: String, types: &[String]) -> PsaCompany {
    let acc = a.account.unwrap_or(wire::Account {
        name: None,
        account_id: None,
        account_type: None,
        status: None,
        is_vendor: None,
    });
    let status = acc.status.clone().unwrap_or_default();
    let inactive = status.to_ascii_lowercase().contains("inactive");
    let reason = if inactive {
        Some(format!("status `{status}` in Tigerpaw"))
    } else if acc.is_vendor == Some(true) {
        Some("a vendor in Tigerpaw".to_string())
    } else if types.is_empty() {
        None
    } else {
        match &acc.account_type {
            Some(t) if types.iter().any(|b| b.trim().eq_ignore_ascii_case(t)) => None,
            Some(t) => Some(format!(
                "account type `{t}` is not in billable_types ({})",
                types.join(", ")
            )),
            None => Some("has no account type, and billable_types is set".to_string()),
        }
    };
    PsaCompany {
        id: a.account_number.to_string(),
        identifier: acc
            .account_id
            .unwrap_or_else(|| a.account_number.to_string()),
        name: acc
            .name
            .unwrap_or_else(|| format!("Account #{}", a.account_number)),
        status: if status.is_empty() {
            "unknown".into()
        } else {
            status
        },
        types: acc.account_type.into_iter().collect(),
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

/// An agreement the account's active list gave: active, its billing period the cycle.
pub(super) fn agreement(s: &wire::AgreementSummary, account: &str, raw: String) -> PsaAgreement {
    let a = s.agreement.as_ref();
    PsaAgreement {
        id: s.agreement_number.to_string(),
        company_id: a
            .and_then(|a| a.account_number)
            .map(|n| n.to_string())
            .unwrap_or_else(|| account.to_string()),
        name: a
            .and_then(|a| a.kind.clone())
            .map(|k| format!("{k} #{}", s.agreement_number))
            .unwrap_or_else(|| format!("Agreement #{}", s.agreement_number)),
        agreement_type: a.and_then(|a| a.kind.clone()),
        status: "Active".into(),
        start: a.and_then(|a| a.start_date),
        end: a.and_then(|a| a.end_date),
        cancelled: false,
        billing_cycle: a.and_then(|a| a.billing_period_description.clone()),
        raw: Some(raw),
    }
}

/// A charge whose `quantity` was read; known by its price-book item id, else its description.
pub(super) fn line(
    c: wire::AdditionalCharge,
    raw: String,
    quantity: Decimal,
    a: &PsaAgreement,
) -> PsaLine {
    let identifier = c
        .special_item_id
        .clone()
        .or_else(|| c.item_description.clone())
        .unwrap_or_else(|| format!("charge #{}", c.detail_id));
    PsaLine {
        id: c.detail_id.to_string(),
        agreement_id: a.id.clone(),
        company_id: a.company_id.clone(),
        product_id: c.special_item_id,
        product_identifier: identifier,
        description: c.item_description,
        quantity,
        less_included: Decimal::ZERO,
        unit_price: c.price.unwrap_or(Decimal::ZERO),
        // The additional charge carries no cost.
        unit_cost: Decimal::ZERO,
        effective: c.date_added,
        cancelled: None,
        bill_customer: if c.delete_after_invoicing.unwrap_or(false) {
            // Removed once invoiced: a one-time charge, not a recurring one.
            BillCustomer::Other("DeleteAfterInvoicing".into())
        } else {
            BillCustomer::Billable
        },
        invoiced: None,
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billable_by_type_status_and_vendor_flag() {
        let a = |json: &str| serde_json::from_str::<wire::AccountSummary>(json).unwrap();
        let types = vec!["Customer".to_string()];
        let c = company(
            a(
                r#"{"accountNumber":7,"account":{"name":"Acme","accountType":"customer","status":"Active"}}"#,
            ),
            String::new(),
            &types,
        );
        assert!(c.billable, "{:?}", c.not_billable_reason);
        let v = company(
            a(
                r#"{"accountNumber":8,"account":{"name":"Dist","accountType":"Customer","status":"Active","isVendor":true}}"#,
            ),
            String::new(),
            &types,
        );
        assert_eq!(
            v.not_billable_reason.as_deref(),
            Some("a vendor in Tigerpaw")
        );
        let i = company(
            a(r#"{"accountNumber":9,"account":{"accountType":"Customer","status":"Inactive"}}"#),
            String::new(),
            &types,
        );
        assert!(i.not_billable_reason.unwrap().contains("`Inactive`"));
        assert_eq!(i.name, "Account #9");
        let p = company(
            a(
                r#"{"accountNumber":10,"account":{"name":"P","accountType":"Prospect","status":"Active"}}"#,
            ),
            String::new(),
            &types,
        );
        assert!(p.not_billable_reason.unwrap().contains("`Prospect`"));
    }

    #[test]
    fn a_charge_removed_after_invoicing_is_not_recurring() {
        let s: wire::AgreementSummary = serde_json::from_str(
            r#"{"agreementNumber":55,"agreement":{"accountNumber":7,"type":"Managed","billingPeriodDescription":"Monthly"}}"#,
        )
        .unwrap();
        let a = agreement(&s, "7", String::new());
        assert_eq!(
            (a.name.as_str(), a.billing_cycle.as_deref()),
            ("Managed #55", Some("Monthly"))
        );
        let c: wire::AdditionalCharge = serde_json::from_str(
            r#"{"detailId":1,"specialItemId":"MANAGED-WS","quantity":3,"price":35.5,"deleteAfterInvoicing":true}"#,
        )
        .unwrap();
        let q = c.quantity.unwrap();
        let l = line(c, String::new(), q, &a);
        assert_eq!(
            l.bill_customer,
            BillCustomer::Other("DeleteAfterInvoicing".into())
        );
        assert_eq!(l.unit_price.to_string(), "35.5");
        assert_eq!(l.product_identifier, "MANAGED-WS");
    }
}
