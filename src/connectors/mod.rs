//! Connectors: one folder per vendor and per PSA, each the same shape (see
//! `docs/adding-a-connector.md`): its settings (`settings.rs`, implementing [`KindSettings`]),
//! its `connect` flags (`args.rs`, [`ConnectArgs`]), its services, its client (the
//! [`Connector`]), a pure conversion from wire types to [`crate::model`], and the wire types,
//! which never leave the folder.
//!
//! This file is the registry: the list in `for_each_kind!` is the one place a kind is named.
//! From it `connectors!` (in `registry.rs`) generates [`ConnectorKind`], [`ConnectionSettings`]
//! and the dispatch between them, and the `connect` command and the demo's sandboxes cover every
//! kind without naming one.

#[macro_use]
mod registry;

mod kind;
pub mod write;

pub mod de;

pub mod bms_api;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::http::ConnectorError;
use crate::model::{Snapshot, UsageItem};

pub use registry::Registered;

pub use kind::{
    Common, ConnectArgs, KindInfo, KindSettings, NewConnection, SecretFn, SecretStore,
    WritePurpose, clean_list, clean_url, is_false, read_secret, read_two_secrets, two_lines,
};
pub use write::{LineChange, LineRef, LineState, LineWriter, PsaGuard, WriteFacts, Written};

/// The registry: every connector folder, once, as `Variant => module`. Calls `$callback!` with
/// the list; [`connectors!`] generates the kinds from it, and the `connect` command and the
/// demo's sandboxes use it to cover every kind.
macro_rules! for_each_kind {
    ($callback:ident) => {
        $callback! {
            NinjaOne => ninjaone,
            ConnectWise => connectwise,
            SentinelOne => sentinelone,
            M365 => m365,
            JumpCloud => jumpcloud,
            Sherweb => sherweb,
            Keeper => keeper,
            Csv => csv,
            Autotask => autotask,
            HaloPsa => halopsa,
            Syncro => syncro,
            CsvBilling => csv_billing,
            DattoRmm => datto_rmm,
            Ncentral => ncentral,
            GravityZone => gravityzone,
            Webroot => webroot,
            Nsight => nsight,
            KaseyaBms => kaseya_bms,
            Pulseway => pulseway,
            CloudBlue => cloudblue,
            Accelo => accelo,
            Tigerpaw => tigerpaw,
            Pax8 => pax8,
            DattoBackup => datto_backup,
            Acronis => acronis,
            Cove => cove,
        }
    };
}
pub(crate) use for_each_kind;

for_each_kind!(connectors);

/// Names under `key` in a PSA snapshot's `meta` the billing cycles of `agreements` this version
/// does not convert to months (and logs them), so the findings that cannot give a monthly
/// impact on them are not the only place that says so.
pub fn note_cycles_kept_as_sent(
    connection: &str,
    agreements: &[crate::model::PsaAgreement],
    key: &str,
    meta: &mut BTreeMap<String, String>,
) {
    let unknown: std::collections::BTreeSet<&str> = agreements
        .iter()
        .filter_map(|a| a.billing_cycle.as_deref())
        .filter(|c| crate::model::months_per_cycle(Some(c)).is_none())
        .collect();
    if !unknown.is_empty() {
        let list = unknown.into_iter().collect::<Vec<_>>().join(", ");
        tracing::warn!(connection = %connection, cycles = %list, "billing cycles this version does not convert to months; kept as sent");
        meta.insert(key.to_string(), list);
    }
}

impl ConnectorKind {
    /// `ninjaone`: the `kind` in config and the `connect` subcommand.
    pub fn as_str(self) -> &'static str {
        self.info().key
    }

    /// `NinjaOne`, for people.
    pub fn display_name(self) -> &'static str {
        self.info().name
    }

    pub fn role(self) -> Role {
        self.info().role
    }

    pub fn parse(s: &str) -> Option<ConnectorKind> {
        ConnectorKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The secret fields a connection of this kind may need, by config/env/keyring name.
    pub fn secret_fields(self) -> &'static [&'static str] {
        self.info().secrets
    }

    /// Requests a connection of this kind has in flight at most unless its `concurrency` says
    /// otherwise.
    pub fn default_concurrency(self) -> usize {
        self.info().concurrency
    }

    /// Whether the kind imports a file (`sync NAME --file PATH`) rather than calling an API.
    pub fn reads_files(self) -> bool {
        self.info().reads_files
    }
}

impl std::fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of the reconciliation a connector feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Vendor,
    Psa,
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
    /// `sync --allow-empty`: an import connection accepts a file with no rows this time.
    pub allow_empty: bool,
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
            allow_empty: false,
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
