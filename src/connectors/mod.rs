//! Connectors: one module per vendor and per PSA, each turning its API's wire types into the
//! neutral model in [`crate::model`]. This file is the registry: the kinds we know, their role,
//! their secret fields, and how to build one from its settings. Adding a connector means a new
//! module, a line in [`ConnectorKind`] and [`build`], its fixtures and its tests.

pub mod autotask;
pub mod connectwise;
pub mod csv;
pub mod csv_billing;
pub mod de;
pub mod halopsa;
pub mod jumpcloud;
pub mod keeper;
pub mod m365;
pub mod ninjaone;
pub mod sentinelone;
pub mod sherweb;
pub mod syncro;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::config::ConnectionSettings;
use crate::http::{ConnectorError, RetryPolicy};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, UsageItem};

/// Every connector kind this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectorKind {
    NinjaOne,
    ConnectWise,
    SentinelOne,
    M365,
    JumpCloud,
    Sherweb,
    Keeper,
    Csv,
    Autotask,
    HaloPsa,
    Syncro,
    CsvBilling,
}

/// Which side of the reconciliation a connector feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Vendor,
    Psa,
}

impl ConnectorKind {
    pub const ALL: [ConnectorKind; 12] = [
        ConnectorKind::NinjaOne,
        ConnectorKind::ConnectWise,
        ConnectorKind::SentinelOne,
        ConnectorKind::M365,
        ConnectorKind::JumpCloud,
        ConnectorKind::Sherweb,
        ConnectorKind::Keeper,
        ConnectorKind::Csv,
        ConnectorKind::Autotask,
        ConnectorKind::HaloPsa,
        ConnectorKind::Syncro,
        ConnectorKind::CsvBilling,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::NinjaOne => "ninjaone",
            ConnectorKind::ConnectWise => "connectwise",
            ConnectorKind::SentinelOne => "sentinelone",
            ConnectorKind::M365 => "m365",
            ConnectorKind::JumpCloud => "jumpcloud",
            ConnectorKind::Sherweb => "sherweb",
            ConnectorKind::Keeper => "keeper",
            ConnectorKind::Csv => "csv",
            ConnectorKind::Autotask => "autotask",
            ConnectorKind::HaloPsa => "halopsa",
            ConnectorKind::Syncro => "syncro",
            ConnectorKind::CsvBilling => "csv-billing",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            ConnectorKind::NinjaOne => "NinjaOne",
            ConnectorKind::ConnectWise => "ConnectWise PSA",
            ConnectorKind::SentinelOne => "SentinelOne",
            ConnectorKind::M365 => "Microsoft 365",
            ConnectorKind::JumpCloud => "JumpCloud",
            ConnectorKind::Sherweb => "Sherweb",
            ConnectorKind::Keeper => "Keeper",
            ConnectorKind::Csv => "CSV import",
            ConnectorKind::Autotask => "Autotask PSA",
            ConnectorKind::HaloPsa => "HaloPSA",
            ConnectorKind::Syncro => "Syncro",
            ConnectorKind::CsvBilling => "CSV billing import",
        }
    }

    pub fn role(self) -> Role {
        match self {
            ConnectorKind::NinjaOne => Role::Vendor,
            ConnectorKind::ConnectWise
            | ConnectorKind::Autotask
            | ConnectorKind::HaloPsa
            | ConnectorKind::Syncro
            | ConnectorKind::CsvBilling => Role::Psa,
            ConnectorKind::SentinelOne
            | ConnectorKind::M365
            | ConnectorKind::JumpCloud
            | ConnectorKind::Sherweb
            | ConnectorKind::Keeper
            | ConnectorKind::Csv => Role::Vendor,
        }
    }

    pub fn parse(s: &str) -> Option<ConnectorKind> {
        ConnectorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The secret fields a connection of this kind needs, by config/env/keyring name.
    pub fn secret_fields(self) -> &'static [&'static str] {
        match self {
            ConnectorKind::NinjaOne => &["client_secret"],
            ConnectorKind::ConnectWise => &["private_key"],
            ConnectorKind::SentinelOne => &["api_token"],
            ConnectorKind::M365 => &["client_secret", "refresh_token"],
            ConnectorKind::JumpCloud => &["api_key"],
            ConnectorKind::Sherweb => &["client_secret", "subscription_key"],
            ConnectorKind::Keeper => &["api_key"],
            ConnectorKind::Csv => &[],
            ConnectorKind::Autotask => &["secret"],
            ConnectorKind::HaloPsa => &["client_secret"],
            ConnectorKind::Syncro => &["api_token"],
            ConnectorKind::CsvBilling => &[],
        }
    }

    /// Built-in services of a vendor kind (empty for PSAs).
    pub fn services(self) -> Vec<ServiceDef> {
        match self {
            ConnectorKind::NinjaOne => ninjaone::services(),
            ConnectorKind::ConnectWise
            | ConnectorKind::Autotask
            | ConnectorKind::HaloPsa
            | ConnectorKind::Syncro
            | ConnectorKind::CsvBilling => Vec::new(),
            ConnectorKind::SentinelOne => sentinelone::services(),
            ConnectorKind::M365 => m365::services(),
            ConnectorKind::JumpCloud => jumpcloud::services(),
            ConnectorKind::Sherweb => sherweb::services(),
            ConnectorKind::Keeper => keeper::services(),
            ConnectorKind::Csv => csv::services(),
        }
    }
}

impl ConnectorKind {
    /// Service families of a vendor kind: services that exist once per SKU or product the
    /// data holds (see [`ServiceFamily`]).
    pub fn families(self) -> Vec<ServiceFamily> {
        match self {
            ConnectorKind::NinjaOne
            | ConnectorKind::ConnectWise
            | ConnectorKind::SentinelOne
            | ConnectorKind::Autotask
            | ConnectorKind::HaloPsa
            | ConnectorKind::Syncro
            | ConnectorKind::CsvBilling => Vec::new(),
            ConnectorKind::M365 => m365::families(),
            ConnectorKind::JumpCloud => jumpcloud::families(),
            ConnectorKind::Sherweb => sherweb::families(),
            ConnectorKind::Keeper => keeper::families(),
            ConnectorKind::Csv => csv::families(),
        }
    }

    /// Requests a connection of this kind has in flight at most unless its `concurrency` says
    /// otherwise. From the API's published limits where there are some (Autotask: 3 threads per
    /// endpoint); conservative where nothing is published.
    pub fn default_concurrency(self) -> usize {
        match self {
            ConnectorKind::Autotask => 3,
            // No published limits; 10 in flight keeps a per-organization fan-out quick without
            // looking like a flood.
            ConnectorKind::NinjaOne | ConnectorKind::ConnectWise | ConnectorKind::M365 => 10,
            ConnectorKind::SentinelOne
            | ConnectorKind::JumpCloud
            | ConnectorKind::Sherweb
            | ConnectorKind::HaloPsa
            | ConnectorKind::Syncro => 4,
            ConnectorKind::Keeper | ConnectorKind::Csv | ConnectorKind::CsvBilling => 1,
        }
    }

    /// Whether the kind imports a file (`sync NAME --file PATH`) rather than calling an API.
    pub fn reads_files(self) -> bool {
        matches!(self, ConnectorKind::Csv | ConnectorKind::CsvBilling)
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Progress reports from a running sync: a stage name and the records read so far in it.
pub type ProgressFn = Arc<dyn Fn(&str, usize) + Send + Sync>;

/// What a sync gets besides its settings.
#[derive(Clone)]
pub struct SyncCx {
    pub progress: ProgressFn,
    /// `sync NAME --file PATH`: the file an import connection reads instead of its configured
    /// path (only given for kinds where [`ConnectorKind::reads_files`]).
    pub file: Option<std::path::PathBuf>,
    /// Items per account in the connection's current snapshot, when there is one: what a
    /// connector plans its reads by (NinjaOne picks per-organization listing from it).
    pub previous: Option<Arc<BTreeMap<String, usize>>>,
    /// Where usage items go as soon as they are read, so a large tenant never sits in memory
    /// whole; `None` keeps them in the returned snapshot.
    pub sink: Option<ItemSink>,
}

/// The sending end of a sync's item stream (see [`SyncCx::emit`]). The receiver writes each
/// batch into the run's rows, which become visible only when the run completes.
#[derive(Clone)]
pub struct ItemSink {
    /// The sync run the items belong to.
    pub run: i64,
    pub tx: tokio::sync::mpsc::Sender<(i64, Vec<UsageItem>)>,
}

impl SyncCx {
    pub fn silent() -> SyncCx {
        SyncCx {
            progress: Arc::new(|_, _| {}),
            file: None,
            previous: None,
            sink: None,
        }
    }

    pub fn report(&self, stage: &str, count: usize) {
        (self.progress)(stage, count)
    }

    /// Hands a batch of items on to be stored now when the sync streams, else keeps them in
    /// `kept` for the snapshot. Waits when the store is behind, so memory stays bounded.
    pub async fn emit(
        &self,
        connection: &str,
        batch: Vec<UsageItem>,
        kept: &mut Vec<UsageItem>,
    ) -> Result<(), ConnectorError> {
        match &self.sink {
            None => {
                kept.extend(batch);
                Ok(())
            }
            Some(ItemSink { run, tx }) => tx.send((*run, batch)).await.map_err(|_| ConnectorError::Invalid {
                connection: connection.into(),
                message: "the local database stopped taking the records being synced (see the error above); nothing of this sync was kept".into(),
            }),
        }
    }
}

/// One live connection to a vendor or PSA API.
#[async_trait]
pub trait Connector: Send + Sync {
    fn kind(&self) -> ConnectorKind;
    /// Proves the credentials work with a cheap read; returns a one-line description.
    async fn check(&self) -> Result<String, ConnectorError>;
    /// Reads everything reconciliation needs. Returns only when all of it was read.
    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError>;
}

/// Builds a connector from its settings; `secret` is asked for each secret field.
pub fn build(
    name: &str,
    settings: &ConnectionSettings,
    secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
    retry: RetryPolicy,
) -> anyhow::Result<Box<dyn Connector>> {
    Ok(match settings {
        ConnectionSettings::Ninjaone(s) => Box::new(ninjaone::NinjaOne::new(
            name,
            s,
            secret("client_secret")?,
            retry,
        )?),
        ConnectionSettings::Connectwise(s) => Box::new(connectwise::ConnectWise::new(
            name,
            s,
            secret("private_key")?,
            retry,
        )?),
        ConnectionSettings::Sentinelone(s) => Box::new(sentinelone::SentinelOne::new(
            name,
            s,
            secret("api_token")?,
            retry,
        )?),
        ConnectionSettings::M365(s) => Box::new(m365::M365::new(name, s, secret, retry)?),
        ConnectionSettings::JumpCloud(s) => {
            Box::new(jumpcloud::JumpCloud::new(name, s, secret, retry)?)
        }
        ConnectionSettings::Sherweb(s) => Box::new(sherweb::Sherweb::new(name, s, secret, retry)?),
        ConnectionSettings::Keeper(s) => Box::new(keeper::Keeper::new(name, s, secret, retry)?),
        ConnectionSettings::Csv(s) => Box::new(csv::CsvImport::new(name, s, secret, retry)?),
        ConnectionSettings::Autotask(s) => {
            Box::new(autotask::Autotask::new(name, s, secret, retry)?)
        }
        ConnectionSettings::HaloPsa(s) => Box::new(halopsa::HaloPsa::new(name, s, secret, retry)?),
        ConnectionSettings::Syncro(s) => Box::new(syncro::Syncro::new(name, s, secret, retry)?),
        ConnectionSettings::CsvBilling(s) => {
            Box::new(csv_billing::CsvBilling::new(name, s, secret, retry)?)
        }
    })
}
