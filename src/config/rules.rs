//! The reconciliation rules of the config file and their conversion into the engine's types:
//! `[rules]`, `[[exclude]]`, `[[custom_service]]` (with each vendor connection's services),
//! `[contract]`, `[period]` and `[basis]`.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::Config;
use crate::connectors::{ConnectorKind, Role};
use crate::engine::{Bases, Basis, Contract, Exclusion, Rounding, Rules};
use crate::model::{ServiceDef, ServiceFilters, UsageItem, VendorSnapshot};

/// `[period]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PeriodConfig {
    /// The day of the month billing periods start on (1..=28; 1 = calendar months).
    #[serde(default = "default_anchor_day")]
    pub anchor_day: i8,
}

fn default_anchor_day() -> i8 {
    1
}

impl Default for PeriodConfig {
    fn default() -> PeriodConfig {
        PeriodConfig {
            anchor_day: default_anchor_day(),
        }
    }
}

/// `[basis]`: `default` and `[basis.services] "<vendor connection>/<service key>" = "peak"`.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasisConfig {
    #[serde(default)]
    pub default: Basis,
    #[serde(default)]
    pub services: BTreeMap<String, Basis>,
}

/// `[rules]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Devices whose last contact is older than this many days are inactive (0 = never).
    #[serde(default = "default_inactive_after_days")]
    pub inactive_after_days: u32,
    /// Whether devices pending approval are billable.
    #[serde(default)]
    pub count_pending: bool,
    /// By `"<vendor connection>/<service key>"`.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceRulesConfig>,
}

fn default_inactive_after_days() -> u32 {
    30
}

impl Default for RulesConfig {
    fn default() -> RulesConfig {
        RulesConfig {
            inactive_after_days: default_inactive_after_days(),
            count_pending: false,
            services: BTreeMap::new(),
        }
    }
}

/// `[rules.services."<vendor connection>/<service key>"]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceRulesConfig {
    pub inactive_after_days: Option<u32>,
}

/// `[[exclude]]`: at least one of account, device_name, service; reason required.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExcludeConfig {
    pub reason: Option<String>,
    pub account: Option<String>,
    pub device_name: Option<String>,
    pub service: Option<String>,
}

/// `[[custom_service]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomServiceConfig {
    /// The vendor connection it belongs to.
    pub connection: String,
    pub key: String,
    pub name: Option<String>,
    pub classes: Option<Vec<String>>,
    pub os: Option<String>,
    pub name_pattern: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// A bundle: the sum of these services of the same connection.
    #[serde(default)]
    pub sum_of: Vec<String>,
    /// Globs over named item attributes (`sku = "Complete"`); every one must match.
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
    /// The item attribute holding its units (`assigned`, `purchased`, `quantity`) for vendors
    /// that report quantities; default 1 per item.
    pub quantity: Option<String>,
}

/// `[contract."<psa connection>/<product identifier>"]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContractConfig {
    #[serde(default)]
    pub included: Decimal,
    #[serde(default)]
    pub minimum: Decimal,
    #[serde(default)]
    pub rounding: Rounding,
}

fn service_key_ok(table: &str, key: &str) -> Result<()> {
    match key.split_once('/') {
        Some((c, k)) if !c.is_empty() && !k.is_empty() => Ok(()),
        _ => bail!(
            "{table} is not named `<connection>/<key>` (such as \"ninjaone/total-workstations\")"
        ),
    }
}

impl Config {
    /// The engine's rules from `[rules]`, `[[exclude]]` and `[contract]`.
    pub fn engine_rules(&self) -> Rules {
        let days = |d: u32| (d > 0).then_some(d);
        Rules {
            inactive_after_days: days(self.rules.inactive_after_days),
            service_inactive_after_days: self
                .rules
                .services
                .iter()
                .filter_map(|(k, o)| o.inactive_after_days.map(|d| (k.clone(), days(d))))
                .collect(),
            count_pending: self.rules.count_pending,
            exclusions: self
                .exclude
                .iter()
                .map(|e| Exclusion {
                    reason: e.reason.clone().unwrap_or_default(),
                    account: e.account.clone(),
                    device_name: e.device_name.clone(),
                    service: e.service.clone(),
                })
                .collect(),
            contracts: self
                .contract
                .iter()
                .map(|(k, c)| {
                    (
                        k.clone(),
                        Contract {
                            included: c.included,
                            minimum: c.minimum,
                            rounding: c.rounding,
                        },
                    )
                })
                .collect(),
            costs: super::cost::engine_costs(&self.cost, &self.currency),
            margin: super::cost::engine_margin(&self.margin, &self.currency),
        }
    }

    /// A vendor connection's services: the built-in ones of its kind, then the
    /// `[[custom_service]]` entries for it (bundles resolved).
    pub fn services_for(&self, connection: &str, kind: ConnectorKind) -> Vec<ServiceDef> {
        self.with_custom(connection, kind.services())
    }

    /// The services of a connection given what its snapshots hold: the built-in ones, one per
    /// value of each service family the items carry (a Microsoft 365 SKU, a CSV product), and
    /// the custom ones.
    pub fn services_seen<'a>(
        &self,
        connection: &str,
        kind: ConnectorKind,
        snapshots: impl IntoIterator<Item = &'a VendorSnapshot>,
    ) -> Vec<ServiceDef> {
        let mut defs = kind.services();
        let families = kind.families();
        if !families.is_empty() {
            let items: Vec<&UsageItem> = snapshots.into_iter().flat_map(|s| &s.items).collect();
            for f in &families {
                for d in f.expand(items.iter().copied()) {
                    if !defs.iter().any(|x| x.key == d.key) {
                        defs.push(d);
                    }
                }
            }
        }
        self.with_custom(connection, defs)
    }

    /// The service `key` of a connection, whether or not its snapshot holds it yet: built-in,
    /// custom, or shaped like a family's key.
    pub fn service_named(
        &self,
        connection: &str,
        kind: ConnectorKind,
        key: &str,
    ) -> Option<ServiceDef> {
        self.services_for(connection, kind)
            .into_iter()
            .find(|d| d.key == key)
            .or_else(|| kind.families().iter().find_map(|f| f.service_for_key(key)))
    }

    fn with_custom(&self, connection: &str, mut defs: Vec<ServiceDef>) -> Vec<ServiceDef> {
        for c in self
            .custom_service
            .iter()
            .filter(|c| c.connection == connection)
        {
            let sum_of = c
                .sum_of
                .iter()
                .filter_map(|k| defs.iter().find(|d| &d.key == k).cloned())
                .collect();
            defs.push(ServiceDef {
                key: c.key.clone(),
                name: c.name.clone().unwrap_or_else(|| c.key.clone()),
                classes: c.classes.clone(),
                filters: ServiceFilters {
                    os: c.os.clone(),
                    name_pattern: c.name_pattern.clone(),
                    roles: c.roles.clone(),
                    tags: c.tags.clone(),
                    attrs: c.attrs.clone(),
                    attr_slug: None,
                },
                sum_of,
                quantity: c.quantity.clone(),
            });
        }
        defs
    }

    /// The engine's count basis per service.
    pub fn bases(&self) -> Bases {
        Bases {
            default: self.basis.default,
            services: self.basis.services.clone(),
        }
    }

    pub(super) fn validate_rules(&self) -> Result<()> {
        if !(1..=28).contains(&self.period.anchor_day) {
            bail!(
                "[period] anchor_day must be between 1 and 28 (so every month has it), not {}",
                self.period.anchor_day
            );
        }
        for key in self.basis.services.keys() {
            service_key_ok(&format!("[basis.services] \"{key}\""), key)?;
        }
        for key in self.rules.services.keys() {
            service_key_ok(&format!("[rules.services.\"{key}\"]"), key)?;
        }
        for (i, e) in self.exclude.iter().enumerate() {
            let at = format!("[[exclude]] #{}", i + 1);
            if e.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                bail!("{at}: `reason` is required (the report shows it beside what it removed)");
            }
            if e.account.is_none() && e.device_name.is_none() && e.service.is_none() {
                bail!("{at}: give at least one of `account`, `device_name`, `service`");
            }
            if let Some(s) = &e.service {
                service_key_ok(&format!("{at}: service \"{s}\""), s)?;
            }
        }
        for (key, c) in &self.contract {
            let table = format!("[contract.\"{key}\"]");
            service_key_ok(&table, key)?;
            if c.included < Decimal::ZERO {
                bail!("{table} included must not be negative");
            }
            if c.minimum < Decimal::ZERO {
                bail!("{table} minimum must not be negative");
            }
        }
        let mut seen: Vec<(String, String)> = Vec::new();
        for c in &self.custom_service {
            let at = format!("[[custom_service]] `{}`", c.key);
            let kind = match self.connections.get(&c.connection) {
                Some(s) if s.kind().role() == Role::Vendor => s.kind(),
                Some(_) => bail!(
                    "{at}: connection `{}` is not a vendor connection",
                    c.connection
                ),
                None => bail!(
                    "{at}: connection `{}` is not configured; configured: {}",
                    c.connection,
                    self.connections
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            if c.key.is_empty()
                || !c
                    .key
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                bail!("{at}: key must be letters, digits, `-` or `_`");
            }
            let builtin = kind.services();
            if builtin.iter().any(|d| d.key == c.key)
                || seen
                    .iter()
                    .any(|(conn, k)| conn == &c.connection && k == &c.key)
            {
                bail!("{at}: key is already a service of `{}`", c.connection);
            }
            for k in &c.sum_of {
                let known = builtin.iter().any(|d| &d.key == k)
                    || kind
                        .families()
                        .iter()
                        .any(|f| f.service_for_key(k).is_some())
                    || seen.iter().any(|(conn, s)| conn == &c.connection && s == k);
                if !known {
                    bail!(
                        "{at}: sum_of names `{k}`, which is not a service of `{}` defined before it",
                        c.connection
                    );
                }
            }
            if !c.sum_of.is_empty()
                && (c.classes.is_some()
                    || c.os.is_some()
                    || c.name_pattern.is_some()
                    || !c.roles.is_empty()
                    || !c.tags.is_empty())
            {
                bail!("{at}: a bundle (`sum_of`) takes no filters; filter the services it sums");
            }
            seen.push((c.connection.clone(), c.key.clone()));
        }
        Ok(())
    }
}
