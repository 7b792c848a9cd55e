//! Automatic mapping and suggestions, pure functions over snapshots.
//!
//! A vendor account is mapped automatically only when its name equals exactly one billable PSA
//! company's name after folding case and whitespace, and no other account of the same connection
//! has that name. Anything less certain is a suggestion with a score, which only a person applies.

use std::collections::HashMap;

use crate::model::{AccountMapping, CompanyTarget, MapSource, PsaCompany, VendorAccount};

/// Case and whitespace folded: `"  ACME   Corp "` → `"acme corp"`.
pub fn normalize(name: &str) -> String {
    name.split_whitespace()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Legal-form words that differ between systems and say nothing about who the client is.
const NOISE: &[&str] = &[
    "inc",
    "inc.",
    "llc",
    "l.l.c.",
    "ltd",
    "ltd.",
    "limited",
    "corp",
    "corp.",
    "corporation",
    "co",
    "co.",
    "company",
    "gmbh",
    "pty",
    "plc",
    "the",
    "&",
    "and",
    "group",
];

fn core_name(name: &str) -> String {
    normalize(name)
        .split(' ')
        .map(|w| w.trim_matches(|c: char| c == ',' || c == '.'))
        .filter(|w| !w.is_empty() && !NOISE.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Similarity in [0, 1]: Jaro-Winkler over the folded names and over the names without legal
/// forms, whichever is higher. Only names equal after folding score 1: a match that needed legal
/// forms dropped is discounted, so a person never reads "100%" for two different names.
pub fn similarity(a: &str, b: &str) -> f64 {
    if normalize(a) == normalize(b) {
        return 1.0;
    }
    let full = strsim::jaro_winkler(&normalize(a), &normalize(b));
    let (ca, cb) = (core_name(a), core_name(b));
    let core = if ca.is_empty() || cb.is_empty() {
        0.0
    } else {
        strsim::jaro_winkler(&ca, &cb)
    };
    full.min(CORE_ONLY_CAP).max(core * CORE_DISCOUNT)
}

const CORE_DISCOUNT: f64 = 0.98;
const CORE_ONLY_CAP: f64 = 0.99;

/// Suggestions below this score are not shown.
pub const SUGGESTION_THRESHOLD: f64 = 0.85;

/// A PSA company a person might map an account to.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion<'a> {
    pub psa_connection: &'a str,
    pub company: &'a PsaCompany,
    pub score: f64,
}

/// The PSA side as auto-mapping sees it: connection name and its billable companies.
pub struct PsaCompanies<'a> {
    pub connection: &'a str,
    pub companies: &'a [PsaCompany],
}

/// Exact, unique matches for accounts that have no mapping yet.
pub fn auto_map(
    vendor_connection: &str,
    accounts: &[VendorAccount],
    psas: &[PsaCompanies],
    existing: &[AccountMapping],
) -> Vec<AccountMapping> {
    let mut account_names: HashMap<String, usize> = HashMap::new();
    for a in accounts {
        *account_names.entry(normalize(&a.name)).or_default() += 1;
    }
    let mut companies: HashMap<String, Vec<(&str, &PsaCompany)>> = HashMap::new();
    for p in psas {
        for c in p.companies.iter().filter(|c| c.billable) {
            companies
                .entry(normalize(&c.name))
                .or_default()
                .push((p.connection, c));
        }
    }
    accounts
        .iter()
        .filter(|a| {
            !existing
                .iter()
                .any(|m| m.vendor_connection == vendor_connection && m.account_id == a.id)
        })
        .filter_map(|a| {
            let key = normalize(&a.name);
            if account_names.get(&key) != Some(&1) {
                return None;
            }
            match companies.get(&key).map(Vec::as_slice) {
                Some([(conn, c)]) => Some(AccountMapping {
                    vendor_connection: vendor_connection.to_string(),
                    account_id: a.id.clone(),
                    account_name: a.name.clone(),
                    target: Some(CompanyTarget {
                        connection: conn.to_string(),
                        company_id: c.id.clone(),
                        company_name: c.name.clone(),
                    }),
                    source: MapSource::Auto,
                }),
                _ => None,
            }
        })
        .collect()
}

/// Up to `limit` billable companies similar to `name`, best first.
pub fn suggest<'a>(name: &str, psas: &'a [PsaCompanies<'a>], limit: usize) -> Vec<Suggestion<'a>> {
    let mut out: Vec<Suggestion> = psas
        .iter()
        .flat_map(|p| {
            p.companies
                .iter()
                .filter(|c| c.billable)
                .map(move |c| Suggestion {
                    psa_connection: p.connection,
                    company: c,
                    score: similarity(name, &c.name),
                })
        })
        .filter(|s| s.score >= SUGGESTION_THRESHOLD)
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.company.name.cmp(&b.company.name))
    });
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_equal_only_without_legal_forms_score_below_one_but_are_suggested() {
        let s = similarity("Northwind Traders Inc", "Northwind Traders, LLC");
        assert!(s < 1.0, "{s}");
        assert!(s >= SUGGESTION_THRESHOLD, "{s}");
        assert_eq!(similarity("ACME  Dental", "acme dental"), 1.0);
    }

    fn company(id: &str, name: &str, billable: bool) -> PsaCompany {
        PsaCompany {
            id: id.into(),
            identifier: id.into(),
            name: name.into(),
            status: "Active".into(),
            types: vec![],
            billable,
            not_billable_reason: None,
            raw: None,
        }
    }

    fn account(id: &str, name: &str) -> VendorAccount {
        VendorAccount {
            id: id.into(),
            name: name.into(),
            raw: None,
        }
    }

    #[test]
    fn exact_unique_names_map_and_nothing_else_does() {
        let companies = vec![
            company("1", "Acme Dental", true),
            company("2", "Beta  Logistics", true),
            company("3", "Twin", true),
            company("4", "Twin", true),
            company("5", "Gone Ltd", false),
            company("6", "Dup Org", true),
        ];
        let psas = [PsaCompanies {
            connection: "cw",
            companies: &companies,
        }];
        let accounts = vec![
            account("a", "ACME dental"),       // maps (case)
            account("b", "beta logistics "),   // maps (whitespace)
            account("c", "Twin"),              // two companies: no
            account("d", "Gone Ltd"),          // company not billable: no
            account("e", "Acme Dental Group"), // only similar: no
            account("f", "Dup Org"),           // two accounts with this name: no
            account("g", "dup org"),
        ];
        let existing = vec![];
        let mapped = auto_map("ninja", &accounts, &psas, &existing);
        let pairs: Vec<(&str, &str)> = mapped
            .iter()
            .map(|m| {
                (
                    m.account_id.as_str(),
                    m.target.as_ref().unwrap().company_id.as_str(),
                )
            })
            .collect();
        assert_eq!(pairs, vec![("a", "1"), ("b", "2")]);
        assert!(mapped.iter().all(|m| m.source == MapSource::Auto));
    }

    #[test]
    fn existing_mappings_are_left_alone() {
        let companies = vec![company("1", "Acme", true)];
        let psas = [PsaCompanies {
            connection: "cw",
            companies: &companies,
        }];
        let accounts = vec![account("a", "Acme")];
        let existing = vec![AccountMapping {
            vendor_connection: "ninja".into(),
            account_id: "a".into(),
            account_name: "Acme".into(),
            target: None,
            source: MapSource::Manual,
        }];
        assert!(auto_map("ninja", &accounts, &psas, &existing).is_empty());
    }

    #[test]
    fn near_names_are_suggested_with_scores() {
        let companies = vec![
            company("1", "ACME Corporation", true),
            company("2", "Acme Dental", true),
            company("3", "Zebra Farms", true),
        ];
        let psas = [PsaCompanies {
            connection: "cw",
            companies: &companies,
        }];
        let s = suggest("Acme Corp", &psas, 3);
        assert_eq!(s[0].company.id, "1");
        assert!(s[0].score >= 0.95 && s[0].score < 1.0, "{}", s[0].score);
        assert!(s.iter().all(|x| x.company.id != "3"));
        assert!(suggest("Completely Different", &psas, 3).is_empty());
    }
}
