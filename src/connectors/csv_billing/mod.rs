//! CSV billing import: NOT BUILT YET (scaffold). The connector's module owns its settings, wire types
//! and sync; see `connectors/connectwise` for the PSA shape to follow.

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{ConnectorError, RetryPolicy};
use crate::model::Snapshot;

/// `[connections.<name>]` with `kind = "csv-billing"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub secret_command: BTreeMap<String, String>,
}

impl Settings {
    /// Checks what deserializing cannot; errors name the config key.
    pub fn validate(&self, _name: &str) -> anyhow::Result<()> {
        Ok(())
    }
}

pub struct CsvBilling {
    name: String,
}

impl CsvBilling {
    /// `secret` is asked for each secret field this connection needs.
    pub fn new(
        name: &str,
        _settings: &Settings,
        _secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        _retry: RetryPolicy,
    ) -> anyhow::Result<CsvBilling> {
        Ok(CsvBilling {
            name: name.to_string(),
        })
    }
}

#[async_trait]
impl Connector for CsvBilling {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::CsvBilling
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        Err(ConnectorError::Invalid {
            connection: self.name.clone(),
            message: "the CSV billing import connector is not built yet".into(),
        })
    }

    async fn sync(&self, _cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        Err(ConnectorError::Invalid {
            connection: self.name.clone(),
            message: "the CSV billing import connector is not built yet".into(),
        })
    }
}
