//! Accelo wire types into the neutral model, with no requests: companies (billable by
//! standing), each contract into an agreement (its billing cycle from the length of its open
//! period), and each material on an open period into a billing line (exact decimals from
//! Accelo's decimal strings).

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::wire;
use crate::model::{BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct};

/// `standings` bill (without case; empty: every company).
pub(super) fn company(c: wire::Company, raw: String, standings: &[String]) -> PsaCompany {
    let standing = c.standing.clone().unwrap_or_default();
    let reason = if standings.is_empty()
        || standings
            .iter()
            .any(|s| s.trim().eq_ignore_ascii_case(&standing))
    {
        None
    } else if standing.is_empty() {
        Some("has no standing, and billable_standings is set".to_string())
    } else {
        Some(format!(
            "standing `{standing}` is not in billable_standings ({})",
            standings.join(", ")
        ))
    };
    PsaCompany {
        identifier: c.custom_id.unwrap_or_else(|| c.id.clone()),
        name: c.name.unwrap_or_else(|| format!("Company #{}", c.id)),
        id: c.id,
        status: if standing.is_empty() {
            "unknown".into()
        } else {
            standing
        },
        types: Vec::new(),
        billable: reason.is_none(),
        not_billable_reason: reason,
        raw: Some(raw),
    }
}

/// The billing cycle a period's length stands for (`Monthly` for 28 to 31 days, ...); `None`
/// for an unlimited or undated period, which the engine counts as monthly.
pub(super) fn cycle_of(p: &wire::Period) -> Option<String> {
    if p.duration_type
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case("unlimited"))
    {
        return None;
    }
    let days = (p.date_expires?.as_second() - p.date_commenced?.as_second()) / 86_400;
    Some(
        match days {
            27..=32 => "Monthly",
            88..=93 => "Quarterly",
            180..=185 => "Semi-Annually",
            364..=367 => "Annually",
            // Kept as a length the engine does not convert; the findings on it say so.
            _ => return Some(format!("{} days", days + 1)),
        }
        .to_string(),
    )
}

/// The company a contract bills: the company it is against, else its `company`.
pub(super) fn contract_company(c: &wire::Contract) -> Option<String> {
    let against_company = c
        .against_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("company"));
    match (&c.against_id, against_company) {
        (Some(id), true) if id != "0" => Some(id.clone()),
        _ => wire::linked_id(&c.company),
    }
}

pub(super) fn agreement(
    c: &wire::Contract,
    company_id: String,
    cycle: Option<String>,
    raw: String,
) -> PsaAgreement {
    let standing = c.standing.clone().unwrap_or_default();
    PsaAgreement {
        id: c.id.clone(),
        company_id,
        name: c
            .title
            .clone()
            .unwrap_or_else(|| format!("Contract #{}", c.id)),
        agreement_type: wire::linked_id(&c.contract_type).map(|t| format!("contract type {t}")),
        status: if standing.eq_ignore_ascii_case("active") {
            "Active".into()
        } else if standing.is_empty() {
            "unknown".into()
        } else {
            standing
        },
        start: c.date_started,
        end: c.date_expires,
        cancelled: false,
        billing_cycle: cycle,
        raw: Some(raw),
    }
}

/// A material whose `quantity` was read, on `period` of agreement `a`. Known by its title (the
/// item template's, as the material copies it), else its template, else its id.
pub(super) fn line(
    m: wire::Material,
    raw: String,
    quantity: Decimal,
    a: &PsaAgreement,
    commenced: Option<Timestamp>,
) -> PsaLine {
    // Template 0 is "no template".
    let template = m.material_template_id.filter(|t| t != "0");
    let identifier = m
        .title
        .clone()
        .or_else(|| template.as_ref().map(|t| format!("template #{t}")))
        .unwrap_or_else(|| format!("material #{}", m.id));
    PsaLine {
        id: m.id,
        agreement_id: a.id.clone(),
        company_id: a.company_id.clone(),
        product_id: template,
        product_identifier: identifier,
        description: m.title,
        quantity,
        less_included: Decimal::ZERO,
        unit_price: m.price.unwrap_or(Decimal::ZERO),
        unit_cost: m.cost.unwrap_or(Decimal::ZERO),
        effective: commenced,
        cancelled: None,
        bill_customer: BillCustomer::Billable,
        invoiced: None,
        raw: Some(raw),
    }
}

/// A material template, known by its title as the materials made from it are.
pub(super) fn product(t: wire::Template, raw: String) -> PsaProduct {
    PsaProduct {
        identifier: t
            .title
            .clone()
            .unwrap_or_else(|| format!("template #{}", t.id)),
        description: t.description.or(t.title),
        price: t.price,
        cost: t.cost,
        inactive: t
            .standing
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("active")),
        id: t.id,
        raw: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(json: &str) -> wire::Period {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_periods_length_is_its_billing_cycle() {
        let month = period(
            r#"{"id":"1","contract_id":"2","date_commenced":"1761955200","date_expires":"1764547199","duration_type":"fixed"}"#,
        );
        assert_eq!(cycle_of(&month).as_deref(), Some("Monthly"));
        let quarter = period(
            r#"{"id":"1","contract_id":"2","date_commenced":"1759276800","date_expires":"1767225599"}"#,
        );
        assert_eq!(cycle_of(&quarter).as_deref(), Some("Quarterly"));
        let unlimited = period(
            r#"{"id":"1","contract_id":"2","date_commenced":"1759276800","date_expires":"0","duration_type":"unlimited"}"#,
        );
        assert_eq!(cycle_of(&unlimited), None);
        let odd = period(
            r#"{"id":"1","contract_id":"2","date_commenced":"1759276800","date_expires":"1760486400"}"#,
        );
        assert_eq!(cycle_of(&odd).as_deref(), Some("15 days"));
    }

    #[test]
    fn numbers_as_strings_are_exact() {
        let m: wire::Material = serde_json::from_str(
            r#"{"id":"10","title":"Managed Workstation","quantity":"12.0000","cost":"9.5000","price":"35.0000","material_template_id":"8"}"#,
        )
        .unwrap();
        let c: wire::Contract = serde_json::from_str(
            r#"{"id":"5","against_type":"company","against_id":"39","standing":"active","date_started":"1493258400"}"#,
        )
        .unwrap();
        assert_eq!(contract_company(&c).as_deref(), Some("39"));
        let a = agreement(&c, "39".into(), None, String::new());
        assert_eq!(a.status, "Active");
        let q = m.quantity.unwrap();
        let l = line(m, String::new(), q, &a, None);
        assert_eq!(l.quantity.to_string(), "12.0000");
        assert_eq!(l.unit_price.normalize().to_string(), "35");
        assert_eq!(l.unit_cost.normalize().to_string(), "9.5");
        assert_eq!(l.product_id.as_deref(), Some("8"));
        // A contract against a job bills the company it names.
        let job: wire::Contract = serde_json::from_str(
            r#"{"id":"6","against_type":"job","against_id":"7","company":{"id":"40","name":"X"}}"#,
        )
        .unwrap();
        assert_eq!(contract_company(&job).as_deref(), Some("40"));
    }

    #[test]
    fn billable_by_standing() {
        let c = |json: &str| serde_json::from_str::<wire::Company>(json).unwrap();
        let standings = vec!["active".to_string()];
        assert!(
            company(
                c(r#"{"id":"1","name":"A","standing":"Active"}"#),
                String::new(),
                &standings
            )
            .billable
        );
        let inactive = company(
            c(r#"{"id":"2","name":"B","standing":"inactive"}"#),
            String::new(),
            &standings,
        );
        assert!(inactive.not_billable_reason.unwrap().contains("`inactive`"));
        let unnamed = company(c(r#"{"id":"3"}"#), String::new(), &standings);
        assert_eq!(unnamed.name, "Company #3");
        assert!(!unnamed.billable);
    }
}
