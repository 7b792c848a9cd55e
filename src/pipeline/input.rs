//! The engine's input: a scope's snapshots (in compact form), the mappings, the tolerances and
//! the counting rules, loaded and checked in one place so computing findings and `explain`
//! read exactly the same thing.

use anyhow::{Result, bail};
use jiff::Timestamp;

use crate::config::Config;
use crate::engine::{
    Input, ItemTable, PeriodInput, PsaInput, Rules, Tolerances, Usage, VendorInput,
};
use crate::model::{AccountMapping, ServiceDef, ServiceMapping};
use crate::store::Store;

use super::snapshots::{Current, Scope};

/// Loads the snapshots of `scope` (compact: what the rules read, everything with `explain`),
/// mappings and rules and runs `f` on the engine input built from them. Errors when a
/// connection never synced or a role is missing.
pub fn with_input<T>(
    config: &Config,
    store: &Store,
    scope: Scope,
    explain: bool,
    f: impl FnOnce(&Input) -> T,
) -> Result<(T, Current<ItemTable>)> {
    if config.connections.is_empty() {
        bail!("{}", config.none_configured());
    }
    let cur = Current::load_compact(config, store, scope, Timestamp::now(), explain)?;
    if cur.vendors.is_empty() || cur.psas.is_empty() {
        let never: Vec<String> = cur.missing.iter().map(|m| format!("`{m}`")).collect();
        bail!(
            "reconciling needs at least one vendor connection (NinjaOne, SentinelOne, Microsoft 365, ...) and one PSA connection (ConnectWise, ...) with synced data{}; `reconcile status` shows what is configured",
            if never.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} never synced successfully: run `reconcile sync {}` (a failed sync leaves nothing to reconcile until one succeeds)",
                    never.join(", "),
                    cur.missing.join(" ")
                )
            }
        );
    }
    let ruleset = Ruleset::load(config, store)?;
    let service_defs: Vec<Vec<ServiceDef>> = cur
        .vendors
        .iter()
        .map(|(name, kind, _, snap)| {
            let history = cur
                .history
                .get(name)
                .into_iter()
                .flatten()
                .map(|(_, s)| &s.samples);
            config.services_seen(name, *kind, std::iter::once(&snap.samples).chain(history))
        })
        .collect();
    let bases = config.bases();
    let period = PeriodInput {
        snapshots: cur
            .history
            .iter()
            .map(|(name, h)| {
                (
                    name.as_str(),
                    h.iter().map(|(t, s)| (*t, s as &dyn Usage)).collect(),
                )
            })
            .collect(),
        bases: &bases,
    };
    let input = ruleset.input(&cur, &service_defs, Some(&period));
    let out = f(&input);
    drop(input);
    drop(period);
    Ok((out, cur))
}

/// What the engine applies to the snapshots: the mappings, the tolerances and the rules.
struct Ruleset {
    /// Per PSA connection: whether its kind's lines record a unit cost.
    line_cost: std::collections::BTreeMap<String, bool>,
    accounts: Vec<AccountMapping>,
    services: Vec<ServiceMapping>,
    tolerances: Tolerances,
    rules: Rules,
}

impl Ruleset {
    fn load(config: &Config, store: &Store) -> Result<Ruleset> {
        Ok(Ruleset {
            line_cost: config
                .connections
                .iter()
                .map(|(name, c)| (name.clone(), c.kind().records_line_cost()))
                .collect(),
            accounts: store.account_mappings()?,
            services: store.service_mappings()?,
            tolerances: config.tolerance.resolve(),
            rules: config.engine_rules(),
        })
    }

    /// The engine input over `cur`, each vendor snapshot with its services (`defs`, in the
    /// order of `cur.vendors`).
    fn input<'a, V: Usage>(
        &'a self,
        cur: &'a Current<V>,
        defs: &'a [Vec<ServiceDef>],
        period: Option<&'a PeriodInput<'a>>,
    ) -> Input<'a> {
        Input {
            as_of: cur.as_of,
            vendors: cur
                .vendors
                .iter()
                .zip(defs)
                .map(|((name, _, _, snap), defs)| VendorInput {
                    connection: name,
                    services: defs,
                    snapshot: snap,
                })
                .collect(),
            psas: cur
                .psas
                .iter()
                .map(|(name, _, snap)| PsaInput {
                    connection: name,
                    snapshot: snap,
                    records_cost: self.line_cost.get(name).copied().unwrap_or(true),
                })
                .collect(),
            accounts: &self.accounts,
            services: &self.services,
            tolerances: &self.tolerances,
            rules: &self.rules,
            unhealthy: &cur.unhealthy,
            period,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::{self, FindingKind};
    use crate::model::{Snapshot, UsageItem, VendorAccount, VendorSnapshot};
    use crate::pipeline::fixtures::psa;

    fn item(id: &str, account: &str, name: &str, class: &str, attrs: &[(&str, &str)]) -> UsageItem {
        let n: i64 = id.bytes().map(i64::from).sum();
        UsageItem {
            id: id.into(),
            account_id: account.into(),
            name: name.into(),
            class: class.into(),
            raw_class: class.into(),
            online: Some(true),
            // Some recent, some long gone (inactive), some never seen.
            last_contact: match (n / 2) % 3 {
                0 => Some(Timestamp::now() - jiff::SignedDuration::from_hours(2)),
                1 => Some(Timestamp::now() - jiff::SignedDuration::from_hours(24 * 45)),
                _ => None,
            },
            pending_approval: n % 5 == 0,
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            raw: Some("{}".into()),
        }
    }

    const EQUIVALENCE_CONFIG: &str = r#"
[rules]
inactive_after_days = 30
[rules.services."n/win"]
inactive_after_days = 90
[[exclude]]
device_name = "LAB-*"
reason = "lab machines"
[[exclude]]
account = "Beta"
service = "n/total-workstations"
reason = "beta's workstations"
[[custom_service]]
connection = "n"
key = "win"
os = "windows"
[[custom_service]]
connection = "n"
key = "db-vip"
roles = ["db*"]
tags = ["vip"]
[[custom_service]]
connection = "n"
key = "north-pcs"
name_pattern = "PC-*"
attrs = { site = "north*" }
[[custom_service]]
connection = "n"
key = "bundle"
sum_of = ["win", "total-servers"]
[connections.n]
kind = "ninjaone"
url = "http://x"
client_id = "c"
[connections.f]
kind = "csv"
[connections.cw]
kind = "connectwise"
site = "na.myconnectwise.net"
company_id = "x"
public_key = "x"
client_id = "x"
"#;

    /// A store whose vendor items exercise every attribute, name and family rule.
    fn equivalence_store() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let accounts = |names: &[(&str, &str)]| -> Vec<VendorAccount> {
            names
                .iter()
                .map(|(id, name)| VendorAccount {
                    id: id.to_string(),
                    name: name.to_string(),
                    raw: None,
                })
                .collect()
        };
        let mut items = Vec::new();
        for i in 0..60 {
            let account = ["a1", "a2", "a3"][i % 3];
            let class = [
                "WINDOWS_WORKSTATION",
                "WINDOWS_SERVER",
                "MAC",
                "LINUX_SERVER",
            ][i % 4];
            let name =
                [format!("PC-{i}"), format!("LAB-{i}"), format!("srv{i}")][(i / 2) % 3].clone();
            let mut attrs = vec![("site", ["north-1", "south", "northeast"][i % 3])];
            if i % 2 == 0 {
                attrs.push(("role", ["db-primary", "web"][i % 4 / 2]));
                attrs.push(("tags", ["vip, eu", "eu"][i % 4 / 2]));
            }
            if i % 7 == 0 {
                attrs.push(("os", "linux"));
            }
            items.push(item(&format!("{i:03}"), account, &name, class, &attrs));
        }
        let vendor = VendorSnapshot {
            accounts: accounts(&[("a1", "Acme"), ("a2", "Beta"), ("a3", "Gamma")]),
            items,
            unreadable: [("a3".to_string(), "consent missing".to_string())].into(),
            set_aside: Vec::new(),
        };
        let run = store.begin_run("n", "ninjaone").unwrap();
        store
            .finish_run_ok(run, "n", &Snapshot::Vendor(vendor))
            .unwrap();
        // Family services named by the first item in (account, id) order: "z" sorts before
        // "a" by id but its account comes later.
        let sku = |id: &str, account: &str, sku: &str, name: &str, qty: &str| UsageItem {
            last_contact: None,
            pending_approval: false,
            ..item(
                id,
                account,
                "",
                "IMPORTED",
                &[("sku", sku), ("sku_name", name), ("quantity", qty)],
            )
        };
        let csv = VendorSnapshot {
            accounts: accounts(&[("x", "Acme"), ("y", "Beta")]),
            items: vec![
                sku("a", "y", "E3", "Later name", "2"),
                sku("z", "x", "E3", "First name", "3.5"),
                sku("m", "y", "Backup 1TB", "Backup", "1"),
                sku("n", "x", " ", "blank", "4"),
            ],
            unreadable: BTreeMap::new(),
            set_aside: Vec::new(),
        };
        let run = store.begin_run("f", "csv").unwrap();
        store
            .finish_run_ok(run, "f", &Snapshot::Vendor(csv))
            .unwrap();
        let run = store.begin_run("cw", "connectwise").unwrap();
        store.finish_run_ok(run, "cw", &psa(3)).unwrap();
        let target = |id: &str| {
            Some(crate::model::CompanyTarget {
                connection: "cw".into(),
                company_id: id.into(),
                company_name: format!("Company {id}"),
            })
        };
        let map = |conn: &str, id: &str, t: &str| AccountMapping {
            vendor_connection: conn.into(),
            account_id: id.into(),
            account_name: id.into(),
            target: target(t),
            source: crate::model::MapSource::Manual,
        };
        let service = |conn: &str, key: &str| crate::model::ServiceMapping {
            vendor_connection: conn.into(),
            service_key: key.into(),
            target: Some(crate::model::ProductTarget {
                connection: "cw".into(),
                product_identifier: "WS".into(),
            }),
            source: crate::model::MapSource::Manual,
        };
        store
            .set_mappings(
                &[
                    map("n", "a1", "1"),
                    map("n", "a2", "2"),
                    map("n", "a3", "1"),
                    map("f", "x", "1"),
                ],
                &[service("n", "total-workstations"), service("n", "win")],
            )
            .unwrap();
        store
    }

    #[test]
    fn the_compact_table_gives_the_findings_of_the_whole_snapshots() {
        let config = Config::parse(EQUIVALENCE_CONFIG).unwrap();
        let store = equivalence_store();
        let (compact, _) = with_input(&config, &store, Scope::Current, false, |i| {
            (engine::findings(i), engine::excluded_accounts(i))
        })
        .unwrap();

        // The engine on whole UsageItems, as `with_input` fed it before the table existed.
        let cur = Current::load(&config, &store).unwrap();
        let defs: Vec<Vec<ServiceDef>> = cur
            .vendors
            .iter()
            .map(|(name, kind, _, snap)| config.services_seen(name, *kind, [snap]))
            .collect();
        let ruleset = Ruleset::load(&config, &store).unwrap();
        let input = ruleset.input(&cur, &defs, None);
        let whole = (engine::findings(&input), engine::excluded_accounts(&input));
        assert_eq!(compact, whole);
        // The rules this is meant to exercise did apply.
        let notes: String = whole.0.iter().map(|f| f.note.clone()).collect();
        for what in [
            "lab machines",
            "beta's workstations",
            "inactive",
            "pending",
            "could not read",
        ] {
            assert!(notes.contains(what), "{what} not in {notes}");
        }
        let unmapped: Vec<(String, String)> = whole
            .0
            .iter()
            .filter(|f| f.kind == FindingKind::UnmappedService)
            .map(|f| (f.services.join(","), f.note.clone()))
            .collect();
        for key in ["n/db-vip", "n/north-pcs", "n/bundle", "f/e3"] {
            assert!(
                unmapped.iter().any(|(s, _)| s == key),
                "{key}: {unmapped:?}"
            );
        }
        assert!(
            unmapped
                .iter()
                .any(|(s, n)| s == "f/e3" && n.starts_with("First name (3.5 ")),
            "{unmapped:?}"
        );
    }
}
