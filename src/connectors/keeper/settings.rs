//! `[connections.<name>]` with `kind = "keeper"`: which Commander route (Service Mode or the
//! local executable) and how to reach it.

use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::http::check_url;
use crate::model::{ServiceDef, ServiceFamily};

/// How the connector reaches Commander.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Commander's Service Mode REST endpoint.
    Service,
    /// The local `keeper` executable.
    Commander,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Service => "service",
            Mode::Commander => "commander",
        }
    }
}

/// `[connections.<name>]` with `kind = "keeper"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub mode: Mode,
    /// Service mode: the Service Mode server (`https://host:port`, http on loopback only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Commander mode: the `keeper` executable (default `keeper`, looked up on PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// Commander mode: arguments before the command (`["--config", "/path/config.json"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Commander mode: seconds the executable may run (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "keeper",
        name: "Keeper",
        role: Role::Vendor,
        secrets: &["api_key"],
        // One command per sync: nothing to run side by side.
        concurrency: 1,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> anyhow::Result<()> {
        match self.mode {
            Mode::Service => {
                let Some(url) = &self.url else {
                    anyhow::bail!(
                        "connection `{name}`: `mode = \"service\"` needs `url`, the Service Mode server (https://host:port)"
                    );
                };
                check_url(name, url)?;
                if self.executable.is_some() || !self.args.is_empty() {
                    anyhow::bail!(
                        "connection `{name}`: `executable` and `args` are for `mode = \"commander\"`; remove them or change the mode"
                    );
                }
            }
            Mode::Commander => {
                if self.url.is_some() {
                    anyhow::bail!(
                        "connection `{name}`: `url` is for `mode = \"service\"`; remove it or change the mode"
                    );
                }
                if self
                    .executable
                    .as_deref()
                    .is_some_and(|e| e.trim().is_empty())
                {
                    anyhow::bail!("connection `{name}`: `executable` is empty");
                }
                if self.timeout_secs == Some(0) {
                    anyhow::bail!("connection `{name}`: `timeout_secs` must be at least 1");
                }
            }
        }
        Ok(())
    }

    fn secrets_needed(&self) -> Vec<&'static str> {
        // Commander keeps its own login; only Service Mode takes an API key.
        match self.mode {
            Mode::Commander => Vec::new(),
            Mode::Service => Self::KIND.secrets.to_vec(),
        }
    }

    fn services() -> Vec<ServiceDef> {
        super::services()
    }

    fn families() -> Vec<ServiceFamily> {
        super::families()
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> anyhow::Result<Box<dyn Connector>> {
        Ok(Box::new(super::Keeper::new(name, self, secret, retry)?))
    }
}
