//! The configuration file: where it lives ([`Paths`]), what it may contain, and how `connect`
//! and `disconnect` edit it without losing the user's comments and layout ([`ConfigDocument`]).
//!
//! The file holds non-secret settings only. Secrets live in the OS keyring, an environment
//! variable, or are produced by a command the user names here (`secret_command`); see
//! [`crate::secrets`]. Unknown keys are errors, so a typo never silently changes behaviour.
//!
//! Each `[connections.<name>]` table is read by [`Connection`]: the keys every kind shares here,
//! the rest by the kind's own settings type in its connector folder, which config never names.

mod connection;
mod cost;
mod document;
mod health;
mod history;
mod paths;
mod push;
mod rules;
mod tolerance;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

pub use connection::{Connection, MAX_CONCURRENCY, validate_connection_name};
pub use cost::{CostConfig, MarginConfig};
pub use document::ConfigDocument;
pub use health::HealthConfig;
pub use history::HistoryConfig;
pub use paths::Paths;
pub use push::{Decreases, Effective, PushConfig, PushPsaConfig, PushServiceConfig};
pub use rules::{
    BasisConfig, ContractConfig, CustomServiceConfig, ExcludeConfig, PeriodConfig, RulesConfig,
    ServiceRulesConfig,
};
pub use tolerance::{ToleranceConfig, ToleranceOverride};

/// The parsed configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The file this was read from (for messages); empty when it was not read from one.
    #[serde(skip)]
    pub file: PathBuf,
    /// Scopes this file's secrets in the keyring (`<id>/<connection>/<field>`), so two config
    /// files with a connection of the same name keep separate secrets. Written at the first
    /// `connect` (or the first run of a version that has it); never a secret.
    #[serde(default)]
    pub keyring_id: Option<String>,
    /// ISO 4217 code that money in reports is shown in.
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
    /// How far actual may be from billed before it is a discrepancy.
    #[serde(default)]
    pub tolerance: ToleranceConfig,
    /// When a connection's data is too old, failed or shrunk to be trusted.
    #[serde(default)]
    pub health: HealthConfig,
    /// `[history]`: how long sync runs keep their records (`reconcile db prune`).
    #[serde(default)]
    pub history: HistoryConfig,
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
    /// `[push]`: writing the counts back to the PSA.
    #[serde(default)]
    pub push: PushConfig,
    /// `[cost."<vendor connection>/<service key>"]`: what a unit costs when the vendor does not
    /// say.
    #[serde(default)]
    pub cost: BTreeMap<String, CostConfig>,
    /// `[margin]`: the low-margin threshold and the PSA cost check.
    #[serde(default)]
    pub margin: MarginConfig,
}

fn default_currency() -> String {
    "USD".to_string()
}

impl Config {
    /// Loads the file at `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config {
                    file: path.to_path_buf(),
                    ..Config::default_empty()
                });
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read config file {}", path.display()));
            }
        };
        let mut config = Config::parse(&text).with_context(|| {
            format!(
                "config file {} is invalid (config.example.toml lists every key and its values)",
                path.display()
            )
        })?;
        config.file = path.to_path_buf();
        Ok(config)
    }

    /// "no connections are configured in FILE ...": what to say when there are none.
    pub fn none_configured(&self) -> String {
        let file = if self.file.as_os_str().is_empty() {
            "the config".to_string()
        } else if self.file.exists() {
            self.file.display().to_string()
        } else {
            format!("{} (the file does not exist yet)", self.file.display())
        };
        format!(
            "no connections are configured in {file}; add one with `reconcile connect <kind> ...` (`reconcile connect --help` lists the kinds), or try `reconcile demo`"
        )
    }

    pub fn parse(text: &str) -> Result<Config> {
        let config: Config =
            toml::from_str(text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))?;
        config.validate()?;
        Ok(config)
    }

    /// Requests the connection `name` may have in flight: its `concurrency`, else its kind's
    /// default ([`crate::connectors::ConnectorKind::default_concurrency`]).
    pub fn concurrency_of(&self, name: &str) -> Option<usize> {
        let c = self.connections.get(name)?;
        Some(
            c.concurrency()
                .unwrap_or_else(|| c.kind().default_concurrency()),
        )
    }

    fn default_empty() -> Config {
        Config {
            file: PathBuf::new(),
            keyring_id: None,
            currency: default_currency(),
            connections: BTreeMap::new(),
            tolerance: ToleranceConfig::default(),
            health: HealthConfig::default(),
            history: HistoryConfig::default(),
            rules: RulesConfig::default(),
            exclude: Vec::new(),
            custom_service: Vec::new(),
            contract: BTreeMap::new(),
            period: PeriodConfig::default(),
            basis: BasisConfig::default(),
            push: PushConfig::default(),
            cost: BTreeMap::new(),
            margin: MarginConfig::default(),
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
        self.history.validate()?;
        self.push.validate()?;
        cost::validate(&self.cost, &self.margin)?;
        self.validate_rules()?;
        for (name, connection) in &self.connections {
            connection.validate(name)?;
        }
        Ok(())
    }

    /// The named connection, or an error that lists what is configured.
    pub fn connection(&self, name: &str) -> Result<&Connection> {
        self.connections.get(name).ok_or_else(|| {
            if self.connections.is_empty() {
                anyhow!("no connection named `{name}`: {}", self.none_configured())
            } else {
                anyhow!(
                    "no connection named `{name}`; configured connections: {} (see `reconcile status`)",
                    self.connections.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        })
    }
}

#[cfg(test)]
mod tests;
