//! Automatic mapping and suggestions, pure functions over snapshots.
//!
//! A vendor account is mapped automatically only when its name equals exactly one billable PSA
//! company's name after folding case and whitespace, and no other account of the same connection
//! has that name. Anything less certain is a suggestion with a score, which only a person applies.
//! The same goes for services: the PSA's products ([`products`], from its catalog and its
//! lines) are suggested by how many of the service's words they share ([`product_score`]),
//! never mapped on their own.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::{
    AccountMapping, CompanyTarget, MapSource, PsaCompany, PsaSnapshot, VendorAccount,
};

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

/// Where several PSA connections bill the same client, an account whose name equals exactly
/// one billable company in each of two or more of them is not mapped automatically: only a
/// person knows which PSA bills it. This says which accounts those are, with the connections.
pub fn ambiguous_across_psas<'a>(
    accounts: &'a [VendorAccount],
    psas: &[PsaCompanies<'a>],
) -> Vec<(&'a VendorAccount, Vec<&'a str>)> {
    let mut per_psa: Vec<HashMap<String, usize>> = Vec::new();
    for p in psas {
        let mut names: HashMap<String, usize> = HashMap::new();
        for c in p.companies.iter().filter(|c| c.billable) {
            *names.entry(normalize(&c.name)).or_default() += 1;
        }
        per_psa.push(names);
    }
    accounts
        .iter()
        .filter_map(|a| {
            let key = normalize(&a.name);
            let conns: Vec<&str> = psas
                .iter()
                .zip(&per_psa)
                .filter(|(_, names)| names.get(&key) == Some(&1))
                .map(|(p, _)| p.connection)
                .collect();
            (conns.len() > 1).then_some((a, conns))
        })
        .collect()
}

/// The nearest of `names` to `query`, best first, however far: for an error that says what
/// does exist. A name that contains the query (`Harbor` in `Harbor Light Church`) ranks as a
/// near one.
pub fn nearest<'a>(
    query: &str,
    names: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<&'a str> {
    let q = normalize(query);
    let mut scored: Vec<(f64, &str)> = names
        .into_iter()
        .map(|n| {
            let mut score = similarity(query, n);
            if !q.is_empty() && normalize(n).contains(&q) {
                score = score.max(0.9);
            }
            (score, n)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(limit).map(|(_, n)| n).collect()
}

/// What a PSA bills under one product identifier, from its catalog and its recurring lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductInfo {
    /// The identifier services map to (`reconcile map service ... --to IDENTIFIER`).
    pub identifier: String,
    /// The catalog's description, else the lines' most common description.
    pub name: String,
    /// The catalog's unit price, when the catalog lists the product.
    pub catalog_price: Option<Decimal>,
    /// The lowest and highest unit price of its lines in force.
    pub line_prices: Option<(Decimal, Decimal)>,
    /// Its recurring lines in force for billable companies (the ones reconciled).
    pub lines: usize,
    /// Billable companies with such a line.
    pub companies: usize,
    /// `active`, `inactive` (in the catalog), or `lines only` (not in the catalog read).
    pub status: &'static str,
}

/// Every product a PSA snapshot knows: its catalog, and the identifiers that lines in force at
/// `at` use; with how many lines of billable companies (the ones reconciled) use each,
/// most-used first, then by identifier.
pub fn products(snap: &PsaSnapshot, at: Timestamp) -> Vec<ProductInfo> {
    #[derive(Default)]
    struct Acc {
        lines: usize,
        companies: BTreeSet<String>,
        prices: Option<(Decimal, Decimal)>,
        names: BTreeMap<String, usize>,
    }
    let billable: BTreeSet<&str> = snap
        .companies
        .iter()
        .filter(|c| c.billable)
        .map(|c| c.id.as_str())
        .collect();
    let mut by: BTreeMap<&str, Acc> = BTreeMap::new();
    for l in snap
        .lines
        .iter()
        .filter(|l| l.is_active_at(at) && billable.contains(l.company_id.as_str()))
    {
        let a = by.entry(l.product_identifier.as_str()).or_default();
        a.lines += 1;
        a.companies.insert(l.company_id.clone());
        a.prices = Some(match a.prices {
            None => (l.unit_price, l.unit_price),
            Some((lo, hi)) => (lo.min(l.unit_price), hi.max(l.unit_price)),
        });
        if let Some(d) = l.description.as_deref().filter(|d| !d.trim().is_empty()) {
            *a.names.entry(d.trim().to_string()).or_default() += 1;
        }
    }
    let mut out: Vec<ProductInfo> = Vec::new();
    for p in &snap.products {
        let a = by.remove(p.identifier.as_str()).unwrap_or_default();
        out.push(ProductInfo {
            identifier: p.identifier.clone(),
            name: p
                .description
                .clone()
                .filter(|d| !d.trim().is_empty())
                .or_else(|| most_common(&a.names))
                .unwrap_or_default(),
            catalog_price: p.price,
            line_prices: a.prices,
            lines: a.lines,
            companies: a.companies.len(),
            status: if p.inactive { "inactive" } else { "active" },
        });
    }
    for (identifier, a) in by {
        out.push(ProductInfo {
            identifier: identifier.to_string(),
            name: most_common(&a.names).unwrap_or_default(),
            catalog_price: None,
            line_prices: a.prices,
            lines: a.lines,
            companies: a.companies.len(),
            status: "lines only",
        });
    }
    out.sort_by(|a, b| {
        b.lines
            .cmp(&a.lines)
            .then_with(|| a.identifier.cmp(&b.identifier))
    });
    out
}

fn most_common(names: &BTreeMap<String, usize>) -> Option<String> {
    names
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(n, _)| n.clone())
}

/// Words that say nothing about what a service or a product is.
const PRODUCT_NOISE: &[&str] = &[
    "total",
    "per",
    "the",
    "of",
    "and",
    "a",
    "an",
    "for",
    "with",
    "all",
    "managed",
    "monitored",
];

/// Lower-cased words, singular (`workstations` → `workstation`), without [`PRODUCT_NOISE`].
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            match w.strip_suffix('s') {
                Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem.to_string(),
                _ => w,
            }
        })
        .filter(|w| !PRODUCT_NOISE.contains(&w.as_str()))
        .collect()
}

/// Whether `short` abbreviates `long`: same first letter, its letters in order (`ws` for
/// workstation, `srv` for server, `net` for network).
fn abbreviates(short: &str, long: &str) -> bool {
    if short.len() < 2 || short.len() >= long.len() || short.chars().next() != long.chars().next() {
        return false;
    }
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

/// How well a PSA product fits a vendor service, in [0, 1]. Recall: the share of the service's
/// words (of its name, or of its key, whichever shares more) the product's identifier or name
/// has, whole or abbreviated (`ws` for workstation). Precision: the share of the product's own
/// words (less those naming the vendor) that the service has, so that `Total Devices` fits
/// `Monitored Network Device` less than `Total Network Devices` does. A fifth of the score is
/// for a product that names the vendor (`NINJA-WS` for NinjaOne). 0 when they share no word: a
/// vendor's name alone suggests nothing.
pub fn product_score(
    service_key: &str,
    service_name: &str,
    vendor_kind: &str,
    product_identifier: &str,
    product_name: &str,
) -> f64 {
    let vendor = vendor_kind.to_lowercase();
    let names_vendor = |p: &str| p == vendor || (p.len() >= 3 && vendor.starts_with(p));
    let (name, key) = (words(service_name), words(service_key));
    let product = words(&format!("{product_identifier} {product_name}"));
    let fits = |a: &str, b: &str| a == b || abbreviates(a, b) || abbreviates(b, a);
    let recall_of = |service: &[String]| {
        if service.is_empty() {
            return 0.0;
        }
        let hit = service
            .iter()
            .filter(|s| product.iter().any(|p| fits(p, s)))
            .count();
        hit as f64 / service.len() as f64
    };
    let recall = recall_of(&name).max(recall_of(&key));
    if recall == 0.0 {
        return 0.0;
    }
    let own: Vec<&String> = product.iter().filter(|p| !names_vendor(p)).collect();
    let precision = if own.is_empty() {
        1.0
    } else {
        let hit = own
            .iter()
            .filter(|p| name.iter().chain(&key).any(|s| fits(p, s)))
            .count();
        hit as f64 / own.len() as f64
    };
    let vendor_bonus = if product.iter().any(|p| names_vendor(p)) {
        0.2
    } else {
        0.0
    };
    0.8 * recall * (0.5 + 0.5 * precision) + vendor_bonus
}

/// Product suggestions below this score are not shown.
pub const PRODUCT_SUGGESTION_THRESHOLD: f64 = 0.5;

/// Up to `limit` products that fit a service, best first, with their scores.
pub fn suggest_products<'a>(
    service_key: &str,
    service_name: &str,
    vendor_kind: &str,
    products: &'a [ProductInfo],
    limit: usize,
) -> Vec<(&'a ProductInfo, f64)> {
    let mut out: Vec<(&ProductInfo, f64)> = products
        .iter()
        .filter(|p| p.status != "inactive")
        .map(|p| {
            (
                p,
                product_score(
                    service_key,
                    service_name,
                    vendor_kind,
                    &p.identifier,
                    &p.name,
                ),
            )
        })
        .filter(|(_, s)| *s >= PRODUCT_SUGGESTION_THRESHOLD)
        .collect();
    out.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| b.0.lines.cmp(&a.0.lines))
            .then_with(|| a.0.identifier.cmp(&b.0.identifier))
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

    fn product(identifier: &str, name: &str) -> ProductInfo {
        ProductInfo {
            identifier: identifier.into(),
            name: name.into(),
            catalog_price: None,
            line_prices: None,
            lines: 1,
            companies: 1,
            status: "active",
        }
    }

    #[test]
    fn products_are_suggested_for_a_service_by_the_words_they_share() {
        let catalog = vec![
            product("NINJA-WS", "Managed Workstation (NinjaOne RMM)"),
            product("NINJA-SRV", "Managed Server (NinjaOne RMM)"),
            product("NINJA-NET", "Monitored Network Device (NinjaOne NMS)"),
            product("NINJA-MDM", "Managed Mobile Device (NinjaOne MDM)"),
            product("S1-WS", "SentinelOne Complete, workstation"),
            product("M365-BP", "Microsoft 365 Business Premium"),
            product("KEEPER-SEAT", "Keeper Business seat"),
        ];
        // service key, name, vendor kind, best product (None: nothing suggested)
        type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>);
        let cases: &[Case] = &[
            (
                "total-workstations",
                "Total Workstations",
                "ninjaone",
                Some("NINJA-WS"),
            ),
            (
                "total-servers",
                "Total Servers",
                "ninjaone",
                Some("NINJA-SRV"),
            ),
            (
                "total-network-devices",
                "Total Network Devices",
                "ninjaone",
                Some("NINJA-NET"),
            ),
            (
                "total-mobile-devices",
                "Total Mobile Devices",
                "ninjaone",
                Some("NINJA-MDM"),
            ),
            ("workstations", "Workstations", "sentinelone", Some("S1-WS")),
            (
                "cfq7ttc0lchc-0002",
                "Microsoft 365 Business Premium",
                "sherweb",
                Some("M365-BP"),
            ),
            ("seats", "Seats", "keeper", Some("KEEPER-SEAT")),
            ("users-suspended", "Suspended users", "jumpcloud", None),
        ];
        for (key, name, vendor, want) in cases {
            let got = suggest_products(key, name, vendor, &catalog, 3);
            assert_eq!(
                got.first().map(|(p, _)| p.identifier.as_str()),
                *want,
                "{key}: {got:?}"
            );
        }
        // A generic service fits a product that says more about itself less well.
        let devices = product_score(
            "total-devices",
            "Total Devices",
            "ninjaone",
            "NINJA-NET",
            "Monitored Network Device (NinjaOne NMS)",
        );
        let network = product_score(
            "total-network-devices",
            "Total Network Devices",
            "ninjaone",
            "NINJA-NET",
            "Monitored Network Device (NinjaOne NMS)",
        );
        assert!(devices < network && devices < 0.8, "{devices} {network}");
        // The vendor's name alone is no match.
        assert_eq!(
            product_score("users", "Users", "ninjaone", "NINJA-WS", "NinjaOne"),
            0.0
        );
        // A perfect fit that names the vendor scores 1.
        assert_eq!(
            product_score(
                "total-workstations",
                "Total Workstations",
                "ninjaone",
                "NINJA-WS",
                "Managed Workstation"
            ),
            1.0
        );
    }

    #[test]
    fn accounts_named_as_a_company_in_several_psas_are_reported_not_mapped() {
        let cw = vec![company("1", "Acme", true), company("2", "Beta", true)];
        let halo = vec![company("10", "ACME", true), company("11", "Gamma", true)];
        let psas = [
            PsaCompanies {
                connection: "cw",
                companies: &cw,
            },
            PsaCompanies {
                connection: "halo",
                companies: &halo,
            },
        ];
        let accounts = vec![account("a", "acme"), account("b", "Beta")];
        assert!(
            auto_map("ninja", &accounts, &psas, &[])
                .iter()
                .all(|m| m.account_id != "a"),
            "ambiguous across PSAs: not mapped"
        );
        let amb = ambiguous_across_psas(&accounts, &psas);
        assert_eq!(amb.len(), 1);
        assert_eq!(
            (amb[0].0.id.as_str(), amb[0].1.clone()),
            ("a", vec!["cw", "halo"])
        );
        // With one PSA chosen it maps.
        assert_eq!(auto_map("ninja", &accounts, &psas[1..], &[]).len(), 1);
    }

    #[test]
    fn nearest_names_come_back_however_far() {
        let names = [
            "Harbor Light Church",
            "Quarry Hill Construction",
            "Cedar Point Logistics",
        ];
        assert_eq!(nearest("Harbour Light", names, 2)[0], "Harbor Light Church");
        assert_eq!(nearest("harbor", names, 1), ["Harbor Light Church"]);
        assert_eq!(nearest("Zzz", names, 5).len(), 3);
    }
}
