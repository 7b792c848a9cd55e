//! The configuration file: where it lives, what it may contain, and how `connect` and
//! `disconnect` edit it without losing the user's comments and layout.
//!
//! The file holds non-secret settings only. Secrets live in the OS keyring, an environment
//! variable, or are produced by a command the user names here (`secret_command`); see
//! [`crate::secrets`]. Unknown keys are errors, so a typo never silently changes behaviour.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use toml_edit::{DocumentMut, Item, Table, value};

use crate::connectors::ConnectorKind;
use crate::engine::{Bases, Basis, Contract, Exclusion, Rounding, Rules, Tolerance, Tolerances};
use crate::model::{ServiceDef, ServiceFilters, UsageItem, VendorSnapshot};
use rust_decimal::Decimal;

/// The parsed configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// ISO 4217 code that money in reports is shown in.
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionSettings>,
    /// How far actual may be from billed before it is a discrepancy.
    #[serde(default)]
    pub tolerance: ToleranceConfig,
    /// When a connection's data is too old, failed or shrunk to be trusted.
    #[serde(default)]
    pub health: HealthConfig,
    /// `[rules]`: the stale threshold and pending approval.
    #[serde(default)]
    pub rules: RulesConfig,
    /// `[[exclude]]`: items never billable, with a reason.
    #[serde(default)]
    pub exclude: Vec<ExcludeConfig>,
    /// `[[custom_service]]`: services defined here, next to a vendor's built-in ones.
    #[serde(default)]
    pub custom_service: Vec<CustomServiceConfig>,
    /// `[contract."<psa connection>/<product identifier>"]`: included, minimum, rounding.
    #[serde(default)]
    pub contract: BTreeMap<String, ContractConfig>,
    /// `[period]`: the day billing periods start on.
    #[serde(default)]
    pub period: PeriodConfig,
    /// `[basis]`: how a service's count is taken from the period's snapshots.
    #[serde(default)]
    pub basis: BasisConfig,
    /// `concurrency = N` of each `[connections.<name>]` that sets it: requests in flight at
    /// most. Kept apart from the kind's settings because every API kind takes it the same way
    /// (see [`Config::parse`]).
    #[serde(skip)]
    pub concurrency: BTreeMap<String, usize>,
}

/// The most requests in flight a connection may be configured to make.
pub const MAX_CONCURRENCY: usize = 64;

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

    fn validate_rules(&self) -> Result<()> {
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
                Some(s) if s.kind().role() == crate::connectors::Role::Vendor => s.kind(),
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

fn default_currency() -> String {
    "USD".to_string()
}

/// `[tolerance]`: global values and per-service overrides. See [`crate::engine`] for the rule.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ToleranceConfig {
    /// Units actual may be above billed.
    #[serde(default)]
    pub increase_abs: Decimal,
    /// Percent of billed actual may be above billed.
    #[serde(default)]
    pub increase_pct: Decimal,
    /// Units actual may be below billed.
    #[serde(default)]
    pub decrease_abs: Decimal,
    /// Percent of billed actual may be below billed.
    #[serde(default)]
    pub decrease_pct: Decimal,
    /// By `"<vendor connection>/<service key>"`; keys not set inherit the global values.
    #[serde(default)]
    pub services: BTreeMap<String, ToleranceOverride>,
}

/// `[tolerance.services."<vendor connection>/<service key>"]`.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ToleranceOverride {
    pub increase_abs: Option<Decimal>,
    pub increase_pct: Option<Decimal>,
    pub decrease_abs: Option<Decimal>,
    pub decrease_pct: Option<Decimal>,
}

impl ToleranceConfig {
    /// The engine's form: every per-service tolerance complete.
    pub fn resolve(&self) -> Tolerances {
        let default = Tolerance {
            increase_abs: self.increase_abs,
            increase_pct: self.increase_pct,
            decrease_abs: self.decrease_abs,
            decrease_pct: self.decrease_pct,
        };
        let services = self
            .services
            .iter()
            .map(|(k, o)| {
                (
                    k.clone(),
                    Tolerance {
                        increase_abs: o.increase_abs.unwrap_or(default.increase_abs),
                        increase_pct: o.increase_pct.unwrap_or(default.increase_pct),
                        decrease_abs: o.decrease_abs.unwrap_or(default.decrease_abs),
                        decrease_pct: o.decrease_pct.unwrap_or(default.decrease_pct),
                    },
                )
            })
            .collect();
        Tolerances { default, services }
    }

    fn validate(&self) -> Result<()> {
        let check = |table: &str, key: &str, v: Option<Decimal>| -> Result<()> {
            if v.is_some_and(|v| v < Decimal::ZERO) {
                bail!("[{table}] {key} must not be negative");
            }
            Ok(())
        };
        for (key, v) in [
            ("increase_abs", self.increase_abs),
            ("increase_pct", self.increase_pct),
            ("decrease_abs", self.decrease_abs),
            ("decrease_pct", self.decrease_pct),
        ] {
            check("tolerance", key, Some(v))?;
        }
        for (service, o) in &self.services {
            let table = format!("tolerance.services.\"{service}\"");
            match service.split_once('/') {
                Some((c, k)) if !c.is_empty() && !k.is_empty() => {}
                _ => bail!(
                    "[{table}] is not named `<vendor connection>/<service key>` (such as \"ninjaone/total-workstations\"; `reconcile map` lists the service keys)"
                ),
            }
            for (key, v) in [
                ("increase_abs", o.increase_abs),
                ("increase_pct", o.increase_pct),
                ("decrease_abs", o.decrease_abs),
                ("decrease_pct", o.decrease_pct),
            ] {
                check(&table, key, v)?;
            }
        }
        Ok(())
    }
}

/// `[health]`: when a connection's current snapshot is not to be trusted.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// A last successful sync older than this many hours makes the connection unhealthy.
    #[serde(default = "default_max_age_hours")]
    pub max_age_hours: f64,
    /// A record count (items, lines) that fell by more than this fraction from the previous
    /// successful sync makes the connection unhealthy (0.5 = by more than half).
    #[serde(default = "default_max_count_drop")]
    pub max_count_drop: f64,
}

fn default_max_age_hours() -> f64 {
    36.0
}

fn default_max_count_drop() -> f64 {
    0.5
}

impl Default for HealthConfig {
    fn default() -> HealthConfig {
        HealthConfig {
            max_age_hours: default_max_age_hours(),
            max_count_drop: default_max_count_drop(),
        }
    }
}

impl HealthConfig {
    fn validate(&self) -> Result<()> {
        if !(self.max_age_hours.is_finite() && self.max_age_hours > 0.0) {
            bail!("[health] max_age_hours must be a positive number of hours");
        }
        if !(0.0..=1.0).contains(&self.max_count_drop) {
            bail!(
                "[health] max_count_drop must be between 0 and 1 (a fraction: 0.5 = a drop of more than half)"
            );
        }
        Ok(())
    }
}

/// One configured connection, tagged by `kind`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ConnectionSettings {
    Ninjaone(NinjaOneSettings),
    Connectwise(ConnectWiseSettings),
    Sentinelone(SentinelOneSettings),
    M365(crate::connectors::m365::Settings),
    JumpCloud(crate::connectors::jumpcloud::Settings),
    Sherweb(crate::connectors::sherweb::Settings),
    Keeper(crate::connectors::keeper::Settings),
    Csv(crate::connectors::csv::Settings),
    Autotask(crate::connectors::autotask::Settings),
    HaloPsa(crate::connectors::halopsa::Settings),
    Syncro(crate::connectors::syncro::Settings),
    #[serde(rename = "csv-billing")]
    CsvBilling(crate::connectors::csv_billing::Settings),
}

impl ConnectionSettings {
    pub fn kind(&self) -> ConnectorKind {
        match self {
            ConnectionSettings::Ninjaone(_) => ConnectorKind::NinjaOne,
            ConnectionSettings::Connectwise(_) => ConnectorKind::ConnectWise,
            ConnectionSettings::Sentinelone(_) => ConnectorKind::SentinelOne,
            ConnectionSettings::M365(_) => ConnectorKind::M365,
            ConnectionSettings::JumpCloud(_) => ConnectorKind::JumpCloud,
            ConnectionSettings::Sherweb(_) => ConnectorKind::Sherweb,
            ConnectionSettings::Keeper(_) => ConnectorKind::Keeper,
            ConnectionSettings::Csv(_) => ConnectorKind::Csv,
            ConnectionSettings::Autotask(_) => ConnectorKind::Autotask,
            ConnectionSettings::HaloPsa(_) => ConnectorKind::HaloPsa,
            ConnectionSettings::Syncro(_) => ConnectorKind::Syncro,
            ConnectionSettings::CsvBilling(_) => ConnectorKind::CsvBilling,
        }
    }

    /// The secret fields this connection uses with its settings (a subset of its kind's
    /// [`ConnectorKind::secret_fields`]: Microsoft 365 needs a refresh token only in
    /// refresh-token mode).
    pub fn secrets_needed(&self) -> Vec<&'static str> {
        match self {
            // Commander keeps its own login; only Service Mode takes an API key.
            ConnectionSettings::Keeper(k)
                if k.mode == crate::connectors::keeper::Mode::Commander =>
            {
                Vec::new()
            }
            ConnectionSettings::M365(m)
                if m.auth == crate::connectors::m365::AuthMode::ClientCredentials =>
            {
                vec!["client_secret"]
            }
            _ => self.kind().secret_fields().to_vec(),
        }
    }

    /// Commands that print a secret, by field (`client_secret = "pass show ninja"`).
    pub fn secret_commands(&self) -> &BTreeMap<String, String> {
        match self {
            ConnectionSettings::Ninjaone(s) => &s.secret_command,
            ConnectionSettings::Connectwise(s) => &s.secret_command,
            ConnectionSettings::Sentinelone(s) => &s.secret_command,
            ConnectionSettings::M365(s) => &s.secret_command,
            ConnectionSettings::JumpCloud(s) => &s.secret_command,
            ConnectionSettings::Sherweb(s) => &s.secret_command,
            ConnectionSettings::Keeper(s) => &s.secret_command,
            ConnectionSettings::Csv(s) => &s.secret_command,
            ConnectionSettings::Autotask(s) => &s.secret_command,
            ConnectionSettings::HaloPsa(s) => &s.secret_command,
            ConnectionSettings::Syncro(s) => &s.secret_command,
            ConnectionSettings::CsvBilling(s) => &s.secret_command,
        }
    }
}

/// NinjaOne regions and their hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NinjaRegion {
    Us,
    Us2,
    Ca,
    Eu,
    Oc,
}

impl NinjaRegion {
    pub fn host_url(self) -> &'static str {
        match self {
            NinjaRegion::Us => "https://app.ninjarmm.com",
            NinjaRegion::Us2 => "https://us2.ninjarmm.com",
            NinjaRegion::Ca => "https://ca.ninjarmm.com",
            NinjaRegion::Eu => "https://eu.ninjarmm.com",
            NinjaRegion::Oc => "https://oc.ninjarmm.com",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NinjaRegion::Us => "us",
            NinjaRegion::Us2 => "us2",
            NinjaRegion::Ca => "ca",
            NinjaRegion::Eu => "eu",
            NinjaRegion::Oc => "oc",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NinjaOneSettings {
    /// One of the NinjaOne regions; or give `url` instead.
    pub region: Option<NinjaRegion>,
    /// The instance URL (`https://eu.ninjarmm.com`), for instances not in the region list.
    pub url: Option<String>,
    pub client_id: String,
    /// Records per request (default 1000).
    pub page_size: Option<usize>,
    /// How devices are listed (default `auto`).
    #[serde(default)]
    pub device_listing: DeviceListing,
    #[serde(default)]
    pub secret_command: BTreeMap<String, String>,
}

/// `device_listing` of a NinjaOne connection.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceListing {
    /// Per organization when the previous sync's counts say that is at least twice as fast,
    /// else one list; the first sync uses one list.
    #[default]
    Auto,
    /// `GET /v2/organization/{id}/devices` for `concurrency` organizations at once.
    ByOrganization,
    /// The one keyset-paged `GET /v2/devices` chain: the fewest requests.
    SingleList,
}

impl NinjaOneSettings {
    pub fn base_url(&self, name: &str) -> Result<String> {
        match (&self.region, &self.url) {
            (Some(r), None) => Ok(r.host_url().to_string()),
            (None, Some(u)) => Ok(u.trim_end_matches('/').to_string()),
            (Some(_), Some(_)) => bail!(
                "connection `{name}` sets both `region` and `url`; keep one of them in the config file"
            ),
            (None, None) => bail!(
                "connection `{name}` sets neither `region` nor `url`; add `region = \"us\"` (or us2, ca, eu, oc) or `url = \"https://...\"`"
            ),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConnectWiseSettings {
    /// The login site (`na.myconnectwise.net`, or an on-premises host).
    pub site: String,
    /// The company id you log in with.
    pub company_id: String,
    pub public_key: String,
    /// The integration's clientId GUID from developer.connectwise.com.
    pub client_id: String,
    /// Pin the API codebase (`v4_6_release/`); discovered at each sync when absent.
    pub codebase: Option<String>,
    /// Company type names that count as billable clients; empty means every type.
    #[serde(default)]
    pub billable_company_types: Vec<String>,
    /// Records per request (default and maximum 1000).
    pub page_size: Option<usize>,
    #[serde(default)]
    pub secret_command: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SentinelOneSettings {
    /// The management console URL (`https://usea1-acme.sentinelone.net`).
    pub url: String,
    /// Records per request, at most 1000 (default 1000).
    pub page_size: Option<usize>,
    #[serde(default)]
    pub secret_command: BTreeMap<String, String>,
}

/// Where the config and database live, after flags, environment and defaults.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config: PathBuf,
    pub db: PathBuf,
}

impl Paths {
    /// Resolves defaults in the XDG base directories (also on macOS, like most CLIs).
    pub fn resolve(config: Option<PathBuf>, db: Option<PathBuf>) -> Result<Paths> {
        use etcetera::BaseStrategy;
        let needs_dirs = config.is_none() || db.is_none();
        let strategy = if needs_dirs {
            Some(etcetera::choose_base_strategy().map_err(|e| {
                anyhow!("cannot find your home directory ({e}); pass --config and --db")
            })?)
        } else {
            None
        };
        let config = match config {
            Some(c) => c,
            None => strategy
                .as_ref()
                .unwrap()
                .config_dir()
                .join("reconcile")
                .join("config.toml"),
        };
        let db = match db {
            Some(d) => d,
            None => strategy
                .as_ref()
                .unwrap()
                .data_dir()
                .join("reconcile")
                .join("reconcile.db"),
        };
        Ok(Paths { config, db })
    }
}

/// Checks a connection name: it becomes a config key, part of environment variable names and
/// part of keyring entry names, so keep it simple.
pub fn validate_connection_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        bail!(
            "connection name `{name}` is not allowed: use 1-40 lowercase letters, digits, `-` or `_`, starting with a letter or digit"
        )
    }
}

impl Config {
    /// Loads the file at `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config::default_empty());
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read config file {}", path.display()));
            }
        };
        Config::parse(&text).with_context(|| {
            format!(
                "config file {} is invalid (config.example.toml lists every key and its values)",
                path.display()
            )
        })
    }

    pub fn parse(text: &str) -> Result<Config> {
        let (text, concurrency) = take_concurrency(text)?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))?;
        config.concurrency = concurrency;
        config.validate()?;
        Ok(config)
    }

    /// Requests the connection `name` may have in flight: its `concurrency`, else its kind's
    /// default ([`ConnectorKind::default_concurrency`]).
    pub fn concurrency_of(&self, name: &str) -> Option<usize> {
        let kind = self.connections.get(name)?.kind();
        Some(
            self.concurrency
                .get(name)
                .copied()
                .unwrap_or_else(|| kind.default_concurrency()),
        )
    }

    fn default_empty() -> Config {
        Config {
            currency: default_currency(),
            connections: BTreeMap::new(),
            tolerance: ToleranceConfig::default(),
            health: HealthConfig::default(),
            rules: RulesConfig::default(),
            exclude: Vec::new(),
            custom_service: Vec::new(),
            contract: BTreeMap::new(),
            period: PeriodConfig::default(),
            basis: BasisConfig::default(),
            concurrency: BTreeMap::new(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_uppercase()) {
            bail!(
                "`currency = \"{}\"` is not an ISO 4217 code such as \"USD\" or \"EUR\"",
                self.currency
            );
        }
        self.tolerance.validate()?;
        self.health.validate()?;
        self.validate_rules()?;
        for name in self.concurrency.keys() {
            let Some(settings) = self.connections.get(name) else {
                bail!(
                    "[connections.{name}] sets only `concurrency`; add its `kind` and settings (`reconcile connect ...` writes them)"
                );
            };
            if settings.kind().reads_files() {
                bail!(
                    "[connections.{name}] concurrency: a {} reads a file, not an API; remove the key",
                    settings.kind().display_name()
                );
            }
        }
        for (name, settings) in &self.connections {
            validate_connection_name(name).with_context(|| format!("in [connections.{name}]"))?;
            let fields = settings.kind().secret_fields();
            for field in settings.secret_commands().keys() {
                if !fields.contains(&field.as_str()) {
                    bail!(
                        "[connections.{name}.secret_command] has unknown key `{field}`; a {} connection's secrets are: {}",
                        settings.kind(),
                        fields.join(", ")
                    );
                }
            }
            match settings {
                ConnectionSettings::Ninjaone(n) => {
                    n.base_url(name)?;
                    if n.page_size.is_some_and(|p| !(1..=10_000).contains(&p)) {
                        bail!("[connections.{name}] page_size must be between 1 and 10000");
                    }
                }
                ConnectionSettings::Sentinelone(s) => {
                    crate::http::check_url(name, s.url.trim())
                        .map_err(|e| anyhow!("[connections.{name}] url: {e}"))?;
                    if s.page_size.is_some_and(|p| !(1..=1000).contains(&p)) {
                        bail!(
                            "[connections.{name}] page_size must be between 1 and 1000 (SentinelOne's maximum)"
                        );
                    }
                }
                ConnectionSettings::M365(s) => s.validate(name)?,
                ConnectionSettings::JumpCloud(s) => s.validate(name)?,
                ConnectionSettings::Sherweb(s) => s.validate(name)?,
                ConnectionSettings::Keeper(s) => s.validate(name)?,
                ConnectionSettings::Csv(s) => s.validate(name)?,
                ConnectionSettings::Autotask(s) => s.validate(name)?,
                ConnectionSettings::HaloPsa(s) => s.validate(name)?,
                ConnectionSettings::Syncro(s) => s.validate(name)?,
                ConnectionSettings::CsvBilling(s) => s.validate(name)?,
                ConnectionSettings::Connectwise(c) => {
                    if c.page_size.is_some_and(|p| !(1..=1000).contains(&p)) {
                        bail!(
                            "[connections.{name}] page_size must be between 1 and 1000 (ConnectWise's maximum)"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The named connection, or an error that lists what is configured.
    pub fn connection(&self, name: &str) -> Result<&ConnectionSettings> {
        self.connections.get(name).ok_or_else(|| {
            if self.connections.is_empty() {
                anyhow!("no connection named `{name}`: no connections are configured yet; run `reconcile connect ninjaone ...` or `reconcile connect connectwise ...`")
            } else {
                anyhow!(
                    "no connection named `{name}`; configured connections: {} (see `reconcile status`)",
                    self.connections.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        })
    }
}

/// The config file as an editable document: comments, order and layout survive edits.
pub struct ConfigDocument {
    path: PathBuf,
    doc: DocumentMut,
}

const NEW_FILE_HEADER: &str = "\
# reconcile configuration. Non-secret settings only: secrets live in the OS keyring,
# in RECONCILE_<CONNECTION>_<FIELD> environment variables, or come from a
# [connections.<name>.secret_command] entry. See config.example.toml for every key.

currency = \"USD\"
";

impl ConfigDocument {
    pub fn open(path: &Path) -> Result<ConfigDocument> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => NEW_FILE_HEADER.to_string(),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read config file {}", path.display()));
            }
        };
        // Refuse to edit a file that does not parse: better than rewriting something we misread.
        Config::parse(&text).with_context(|| {
            format!(
                "config file {} is invalid; fix it before running this command",
                path.display()
            )
        })?;
        let doc: DocumentMut = text
            .parse()
            .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
        Ok(ConfigDocument {
            path: path.to_path_buf(),
            doc,
        })
    }

    pub fn has_connection(&self, name: &str) -> bool {
        self.doc
            .get("connections")
            .and_then(|c| c.as_table_like())
            .is_some_and(|t| t.contains_key(name))
    }

    /// Sets `[connections.<name>]` keys; other keys already there (and comments) stay.
    /// `remove` lists keys to drop (`url` when switching to `region`).
    pub fn set_connection(
        &mut self,
        name: &str,
        values: &[(&str, toml_edit::Value)],
        remove: &[&str],
    ) {
        let connections = self
            .doc
            .entry("connections")
            .or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            })
            .as_table_mut()
            .expect("connections is a table");
        let entry = connections
            .entry(name)
            .or_insert_with(|| Item::Table(Table::new()));
        let table = entry.as_table_mut().expect("connection is a table");
        for key in remove {
            table.remove(key);
        }
        for (k, v) in values {
            match table.get_mut(k) {
                Some(item) if item.is_value() => {
                    // Keep the decoration (comments) around an existing key.
                    let decor = item.as_value().unwrap().decor().clone();
                    let mut v = v.clone();
                    *v.decor_mut() = decor;
                    *item = Item::Value(v);
                }
                _ => {
                    table.insert(k, value(v.clone()));
                }
            }
        }
    }

    pub fn remove_connection(&mut self, name: &str) -> bool {
        self.doc
            .get_mut("connections")
            .and_then(|c| c.as_table_like_mut())
            .is_some_and(|t| t.remove(name).is_some())
    }

    /// Checks that the edited document is still a valid configuration, without writing it.
    pub fn validate(&self) -> Result<()> {
        Config::parse(&self.doc.to_string()).map(|_| ())
    }

    /// Writes the file atomically (temp file + rename), creating its directory.
    pub fn save(&self) -> Result<()> {
        let mut text = self.doc.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Config::parse(&text)
            .context("internal error: the edited config does not parse; nothing was written")?;
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create config directory {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write in config directory {}", dir.display()))?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write config file {}", self.path.display()))?;
        Ok(())
    }
}

/// Takes `concurrency = N` out of every `[connections.<name>]` table. Each kind's settings
/// struct refuses unknown keys, and this key is common to all of them, so it is read here and
/// blanked out of the text (spaces, same length, so TOML errors keep their line and column).
fn take_concurrency(text: &str) -> Result<(String, BTreeMap<String, usize>)> {
    let mut found = BTreeMap::new();
    // A syntax error is left for `toml::from_str`, whose message is the one users know.
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return Ok((text.to_string(), found));
    };
    let Some(connections) = doc.get("connections").and_then(|c| c.as_table_like()) else {
        return Ok((text.to_string(), found));
    };
    let mut spans = Vec::new();
    for (name, item) in connections.iter() {
        let Some(table) = item.as_table() else {
            if item
                .as_table_like()
                .is_some_and(|t| t.contains_key("concurrency"))
            {
                bail!(
                    "[connections.{name}] concurrency: write the connection as a `[connections.{name}]` table to set it, not inline"
                );
            }
            continue;
        };
        let Some((key, value)) = table.get_key_value("concurrency") else {
            continue;
        };
        let n = value
            .as_integer()
            .filter(|n| (1..=MAX_CONCURRENCY as i64).contains(n))
            .ok_or_else(|| {
                anyhow!(
                    "[connections.{name}] concurrency must be a whole number from 1 to {MAX_CONCURRENCY} (requests in flight at once)"
                )
            })?;
        match (key.span(), value.span()) {
            (Some(k), Some(v)) if k.start < v.end => spans.push(k.start..v.end),
            _ => bail!(
                "[connections.{name}] concurrency: write it as `concurrency = {n}` on its own line"
            ),
        }
        found.insert(name.to_string(), n as usize);
    }
    let mut bytes = text.as_bytes().to_vec();
    for span in spans {
        for b in &mut bytes[span] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    let text = String::from_utf8(bytes).context("the config file is not UTF-8")?;
    Ok((text, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
[connections.ninja]
kind = "ninjaone"
region = "eu"
client_id = "abc"
concurrency = 16

[connections.cw]
kind = "connectwise"
site = "na.myconnectwise.net"
company_id = "acme"
public_key = "pub"
client_id = "cid"
"#;

    #[test]
    fn concurrency_is_read_per_connection_with_kind_defaults() {
        let c = Config::parse(TWO).unwrap();
        assert_eq!(c.concurrency_of("ninja"), Some(16));
        assert_eq!(
            c.concurrency_of("cw"),
            Some(ConnectorKind::ConnectWise.default_concurrency())
        );
        assert_eq!(c.concurrency_of("nope"), None);
        assert_eq!(ConnectorKind::Autotask.default_concurrency(), 3);
    }

    #[test]
    fn bad_concurrency_values_are_refused_by_key() {
        for bad in ["0", "65", "\"8\"", "2.5", "-1"] {
            let text = TWO.replace("concurrency = 16", &format!("concurrency = {bad}"));
            let err = format!("{:#}", Config::parse(&text).unwrap_err());
            assert!(
                err.contains("[connections.ninja] concurrency must be a whole number from 1 to 64"),
                "{bad}: {err}"
            );
        }
        let inline = "[connections]\nninja = { kind = \"ninjaone\", region = \"eu\", client_id = \"a\", concurrency = 4 }\n";
        let err = format!("{:#}", Config::parse(inline).unwrap_err());
        assert!(err.contains("not inline"), "{err}");
        let csv = "[connections.b]\nkind = \"csv\"\nconcurrency = 2\n";
        let err = format!("{:#}", Config::parse(csv).unwrap_err());
        assert!(err.contains("reads a file, not an API"), "{err}");
    }

    #[test]
    fn errors_after_a_concurrency_key_keep_their_line_numbers() {
        // A wrong value in `[connections.cw]` (line 8 of TWO) is still reported at line 8 after
        // the concurrency line above it was blanked out.
        let text = TWO.replace("company_id = \"acme\"", "company_id = 5");
        let err = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(err.contains("line 8, column 1"), "{err}");
        assert!(err.contains("[connections.cw]"), "{err}");
    }

    #[test]
    fn the_example_config_parses_and_names_both_kinds() {
        let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
        assert_eq!(c.currency, "USD");
        assert_eq!(
            c.connection("ninjaone").unwrap().kind(),
            ConnectorKind::NinjaOne
        );
        assert_eq!(
            c.connection("connectwise").unwrap().kind(),
            ConnectorKind::ConnectWise
        );
    }

    #[test]
    fn the_example_config_sets_tolerances_and_health() {
        let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
        let t = c.tolerance.resolve();
        assert_eq!(t.default, Tolerance::default());
        let ws = &t.services["ninjaone/total-workstations"];
        assert_eq!(ws.increase_abs, Decimal::from(2));
        assert_eq!(ws.decrease_pct, Decimal::ZERO);
        assert_eq!(c.health, HealthConfig::default());
        assert_eq!(c.period.anchor_day, 1);
        assert_eq!(c.bases().default, Basis::Latest);
        assert_eq!(
            c.bases().for_service("ninjaone/total-workstations"),
            Basis::Peak
        );
    }

    #[test]
    fn tolerances_parse_inherit_and_are_checked() {
        let c = Config::parse(
            "[tolerance]\nincrease_abs = 1\ndecrease_pct = 2.5\n[tolerance.services.\"n/ws\"]\nincrease_abs = 3\n",
        )
        .unwrap();
        let t = c.tolerance.resolve();
        assert_eq!(t.default.increase_abs, Decimal::ONE);
        assert_eq!(t.default.decrease_pct, Decimal::new(25, 1));
        assert_eq!(t.services["n/ws"].increase_abs, Decimal::from(3));
        assert_eq!(t.services["n/ws"].decrease_pct, Decimal::new(25, 1));
        let err = Config::parse("[tolerance]\ndecrease_abs = -1\n").unwrap_err();
        assert!(format!("{err:#}").contains("decrease_abs must not be negative"));
        let err = Config::parse("[tolerance.services.\"n/ws\"]\nincrease_pct = -1\n").unwrap_err();
        assert!(format!("{err:#}").contains("increase_pct must not be negative"));
        let err = Config::parse("[tolerance.services.ws]\nincrease_pct = 1\n").unwrap_err();
        assert!(format!("{err:#}").contains("<vendor connection>/<service key>"));
        let err = Config::parse("[tolerance]\nincrese_abs = 1\n").unwrap_err();
        assert!(format!("{err:#}").contains("increse_abs"));
    }

    #[test]
    fn the_example_config_sets_rules_exclusions_custom_services_and_contracts() {
        let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
        let r = c.engine_rules();
        assert_eq!(r.inactive_after_days, Some(30));
        assert_eq!(r.inactive_after("ninjaone/total-mobile-devices"), Some(60));
        assert!(!r.count_pending);
        assert_eq!(r.exclusions.len(), 2);
        assert_eq!(r.exclusions[1].device_name.as_deref(), Some("LAB-*"));
        let c_ws = &r.contracts["connectwise/NINJA-WS"];
        assert_eq!(c_ws.included, Decimal::from(5));
        assert_eq!(c_ws.rounding, Rounding::Ceil);
        let defs = c.services_for("ninjaone", ConnectorKind::NinjaOne);
        assert_eq!(defs.len(), 10);
        let bundle = defs
            .iter()
            .find(|d| d.key == "servers-and-workstations")
            .unwrap();
        assert_eq!(bundle.sum_of.len(), 2);
        let win = defs.iter().find(|d| d.key == "managed-windows").unwrap();
        assert_eq!(win.filters.os.as_deref(), Some("windows"));
        assert!(
            c.services_for("connectwise", ConnectorKind::ConnectWise)
                .is_empty()
        );
    }

    #[test]
    fn rules_default_and_errors_name_the_key() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.engine_rules(), Rules::default());
        let c = Config::parse("[rules]\ninactive_after_days = 0\n").unwrap();
        assert_eq!(c.engine_rules().inactive_after_days, None);
        let n = "[connections.n]\nkind = \"ninjaone\"\nurl = \"http://x\"\nclient_id = \"c\"\n";
        for (text, wants) in [
            ("[rules]\ninactive_days = 3\n", "inactive_days"),
            (
                "[rules.services.ws]\ninactive_after_days = 3\n",
                "<connection>/<key>",
            ),
            ("[[exclude]]\naccount = \"x\"\n", "`reason` is required"),
            ("[[exclude]]\nreason = \"x\"\n", "at least one of"),
            ("[[exclude]]\nreason = \"x\"\ndevice = \"y\"\n", "device"),
            (
                "[contract.\"cw/WS\"]\nincluded = -1\n",
                "included must not be negative",
            ),
            ("[contract.\"cw/WS\"]\nrounding = \"floor\"\n", "floor"),
            ("[contract.WS]\nminimum = 1\n", "<connection>/<key>"),
            (
                "[[custom_service]]\nconnection = \"nope\"\nkey = \"k\"\n",
                "connection `nope` is not configured",
            ),
        ] {
            let err = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(err.contains(wants), "{text}: {err}");
        }
        for (extra, wants) in [
            ("key = \"total-devices\"\n", "already a service"),
            ("key = \"b\"\nsum_of = [\"nope\"]\n", "sum_of names `nope`"),
            (
                "key = \"b\"\nsum_of = [\"total-devices\"]\nos = \"windows\"\n",
                "takes no filters",
            ),
            ("key = \"a b\"\n", "key must be"),
            ("key = \"k\"\ntag = [\"x\"]\n", "tag"),
        ] {
            let text = format!("{n}[[custom_service]]\nconnection = \"n\"\n{extra}");
            let err = format!("{:#}", Config::parse(&text).unwrap_err());
            assert!(err.contains(wants), "{text}: {err}");
        }
    }

    #[test]
    fn period_and_basis_parse_and_errors_name_the_key() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.period.anchor_day, 1);
        assert_eq!(c.bases(), Bases::default());
        let c = Config::parse(
            "[period]\nanchor_day = 15\n[basis]\ndefault = \"end-of-period\"\n[basis.services]\n\"n/ws\" = \"peak\"\n\"n/srv\" = \"average\"\n",
        )
        .unwrap();
        assert_eq!(c.period.anchor_day, 15);
        let b = c.bases();
        assert_eq!(b.default, Basis::EndOfPeriod);
        assert_eq!(b.for_service("n/ws"), Basis::Peak);
        assert_eq!(b.for_service("n/srv"), Basis::Average);
        assert_eq!(b.for_service("n/other"), Basis::EndOfPeriod);
        for (text, wants) in [
            (
                "[period]\nanchor_day = 29\n",
                "anchor_day must be between 1 and 28",
            ),
            (
                "[period]\nanchor_day = 0\n",
                "anchor_day must be between 1 and 28",
            ),
            ("[period]\nanchor = 2\n", "anchor"),
            ("[basis]\ndefault = \"max\"\n", "max"),
            ("[basis]\ndefualt = \"peak\"\n", "defualt"),
            ("[basis.services]\nws = \"peak\"\n", "<connection>/<key>"),
            ("[basis.services]\n\"n/ws\" = \"highest\"\n", "highest"),
        ] {
            let err = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(err.contains(wants), "{text}: {err}");
        }
    }

    #[test]
    fn health_defaults_and_checks() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.health.max_age_hours, 36.0);
        assert_eq!(c.health.max_count_drop, 0.5);
        let c = Config::parse("[health]\nmax_age_hours = 12\nmax_count_drop = 0.25\n").unwrap();
        assert_eq!(c.health.max_age_hours, 12.0);
        assert!(Config::parse("[health]\nmax_count_drop = 1.5\n").is_err());
        assert!(Config::parse("[health]\nmax_age_hours = 0\n").is_err());
        assert!(Config::parse("[health]\nmax_age = 1\n").is_err());
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_key() {
        let err = Config::parse(
            "[connections.ninjaone]\nkind = \"ninjaone\"\nregoin = \"eu\"\nclient_id = \"x\"\n",
        )
        .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("regoin"), "{msg}");
    }

    #[test]
    fn unknown_top_level_key_is_an_error() {
        let err = Config::parse("curency = \"EUR\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("curency"));
    }

    #[test]
    fn unknown_kind_is_an_error() {
        let err = Config::parse("[connections.x]\nkind = \"kaseya-bms\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("kaseya-bms"));
    }

    #[test]
    fn region_and_url_are_exclusive() {
        let err = Config::parse(
            "[connections.n]\nkind = \"ninjaone\"\nregion = \"eu\"\nurl = \"https://x\"\nclient_id = \"x\"\n",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("both `region` and `url`"));
    }

    #[test]
    fn secret_command_keys_are_checked() {
        let err = Config::parse(
            "[connections.n]\nkind = \"ninjaone\"\nregion = \"eu\"\nclient_id = \"x\"\n[connections.n.secret_command]\nprivate_key = \"pass show x\"\n",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("client_secret"));
    }

    #[test]
    fn edits_keep_comments_and_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(
            &path,
            "# my notes\ncurrency = \"EUR\" # euro\n\n[connections.cw]\nkind = \"connectwise\"\n# the site\nsite = \"na.myconnectwise.net\"\ncompany_id = \"a\"\npublic_key = \"p\"\nclient_id = \"c\"\nbillable_company_types = [\"Client\"]\n",
        )
        .unwrap();
        let mut doc = ConfigDocument::open(&path).unwrap();
        doc.set_connection("cw", &[("site", "eu.myconnectwise.net".into())], &[]);
        doc.set_connection(
            "ninjaone",
            &[
                ("kind", "ninjaone".into()),
                ("region", "eu".into()),
                ("client_id", "id".into()),
            ],
            &["url"],
        );
        doc.save().unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my notes"));
        assert!(text.contains("# euro"));
        assert!(text.contains("# the site"));
        assert!(text.contains("site = \"eu.myconnectwise.net\""));
        assert!(text.contains("billable_company_types = [\"Client\"]"));
        let config = Config::parse(&text).unwrap();
        assert_eq!(config.connections.len(), 2);
        assert_eq!(config.currency, "EUR");

        let mut doc = ConfigDocument::open(&path).unwrap();
        assert!(doc.remove_connection("cw"));
        doc.save().unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(
            config.connections.keys().collect::<Vec<_>>(),
            vec!["ninjaone"]
        );
        assert!(fs::read_to_string(&path).unwrap().contains("# my notes"));
    }

    #[cfg(unix)]
    #[test]
    fn a_config_written_by_connect_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reconcile").join("config.toml");
        let mut doc = ConfigDocument::open(&path).unwrap();
        doc.set_connection(
            "s1",
            &[
                ("kind", toml_edit::Value::from("sentinelone")),
                ("url", toml_edit::Value::from("https://x.sentinelone.net")),
            ],
            &[],
        );
        doc.save().unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn the_example_config_has_a_connection_of_every_kind() {
        let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
        for kind in ConnectorKind::ALL {
            assert!(
                c.connections.values().any(|s| s.kind() == kind),
                "config.example.toml has no `{kind}` connection"
            );
        }
    }

    #[test]
    fn custom_services_filter_on_attributes_and_count_a_quantity() {
        let c = Config::parse(
            r#"
[connections.s1]
kind = "sentinelone"
url = "https://x.sentinelone.net"

[[custom_service]]
connection = "s1"
key = "installed"
attrs = { uninstalled = "false", sku = "Comp*" }

[[custom_service]]
connection = "s1"
key = "seats"
quantity = "seats"
"#,
        )
        .unwrap();
        let defs = c.services_for("s1", ConnectorKind::SentinelOne);
        let installed = defs.iter().find(|d| d.key == "installed").unwrap();
        let seats = defs.iter().find(|d| d.key == "seats").unwrap();
        let item = |attrs: &[(&str, &str)]| crate::model::UsageItem {
            id: "1".into(),
            account_id: "a".into(),
            name: "PC".into(),
            class: "DESKTOP".into(),
            raw_class: "desktop".into(),
            online: None,
            last_contact: None,
            pending_approval: false,
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            raw: None,
        };
        let one = Decimal::ONE;
        assert_eq!(
            installed.weight(&item(&[("uninstalled", "false"), ("sku", "Complete")])),
            one
        );
        assert!(!installed.counts(&item(&[("uninstalled", "true"), ("sku", "Complete")])));
        assert!(!installed.counts(&item(&[("sku", "Complete")])));
        assert_eq!(
            seats.weight(&item(&[("seats", "12.5")])),
            Decimal::new(125, 1)
        );
        assert!(!seats.counts(&item(&[("seats", "lots")])));
        assert!(!seats.counts(&item(&[])));
    }

    #[test]
    fn sentinelone_connections_parse_and_are_checked() {
        let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
        let s1 = c.connection("sentinelone").unwrap();
        assert_eq!(s1.kind(), ConnectorKind::SentinelOne);
        let ConnectionSettings::Sentinelone(s) = s1 else {
            panic!("{s1:?}")
        };
        assert_eq!(s.url, "https://usea1-yourtenant.sentinelone.net");
        let base = "[connections.s1]\nkind = \"sentinelone\"\n";
        assert!(Config::parse(&format!("{base}url = \"https://x.sentinelone.net\"\n")).is_ok());
        let err =
            Config::parse(&format!("{base}url = \"http://x.sentinelone.net\"\n")).unwrap_err();
        assert!(format!("{err:#}").contains("only https"), "{err:#}");
        let err = Config::parse(&format!(
            "{base}url = \"https://x.sentinelone.net\"\npage_size = 5000\n"
        ))
        .unwrap_err();
        assert!(format!("{err:#}").contains("1000"), "{err:#}");
        let err = Config::parse(&format!(
            "{base}url = \"https://x\"\n[connections.s1.secret_command]\nclient_secret = \"x\"\n"
        ))
        .unwrap_err();
        assert!(format!("{err:#}").contains("api_token"), "{err:#}");
    }

    #[test]
    fn connection_names_are_checked() {
        assert!(validate_connection_name("ninjaone").is_ok());
        assert!(validate_connection_name("cw-eu_2").is_ok());
        assert!(validate_connection_name("Ninja").is_err());
        assert!(validate_connection_name("a b").is_err());
        assert!(validate_connection_name("").is_err());
        assert!(validate_connection_name("-x").is_err());
    }
}
