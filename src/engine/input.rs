//! What the engine reads: the snapshots of every connection, the mappings, the rules and
//! tolerances, which connections are unhealthy, and for a billing period its snapshots and the
//! count basis per service.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Rules, Tolerances, Usage};
use crate::model::{AccountMapping, PsaSnapshot, ServiceDef, ServiceMapping};

pub struct Input<'a> {
    pub as_of: Timestamp,
    pub vendors: Vec<VendorInput<'a>>,
    pub psas: Vec<PsaInput<'a>>,
    pub accounts: &'a [AccountMapping],
    pub services: &'a [ServiceMapping],
    pub tolerances: &'a Tolerances,
    /// Stale threshold, pending approval, exclusions, contract arithmetic.
    pub rules: &'a Rules,
    /// Unhealthy connections and why (`the last sync failed ...`); see the module header.
    pub unhealthy: &'a BTreeMap<String, String>,
    /// The billing period's snapshots and the count basis per service; `None` counts every
    /// service on the as-of snapshot (`latest`).
    pub period: Option<&'a PeriodInput<'a>>,
}

/// One vendor connection's current snapshot and service definitions.
pub struct VendorInput<'a> {
    pub connection: &'a str,
    pub services: &'a [ServiceDef],
    /// A `VendorSnapshot` or the compact [`ItemTable`](super::ItemTable).
    pub snapshot: &'a dyn Usage,
}

/// One PSA connection's current snapshot.
pub struct PsaInput<'a> {
    pub connection: &'a str,
    pub snapshot: &'a PsaSnapshot,
    /// Whether its lines record a unit cost (Tigerpaw's do not): only then is a cost that
    /// differs from the vendor's a `cost_mismatch`.
    pub records_cost: bool,
}

/// The billing period's snapshots, for services counted on a basis other than `latest`.
pub struct PeriodInput<'a> {
    /// Per vendor connection: its successful snapshots that finished inside the period, up to
    /// `as_of`, with their finish times, oldest first.
    pub snapshots: BTreeMap<&'a str, Vec<(Timestamp, &'a dyn Usage)>>,
    pub bases: &'a Bases,
}

/// How a service's billed count is taken from the snapshots of a billing period.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The as-of snapshot (the newest successful sync at `as_of`).
    #[default]
    Latest,
    /// The highest count in any snapshot of the period (high watermark).
    Peak,
    /// The mean count over the period's snapshots (rounded to 2 decimal places).
    Average,
    /// The newest snapshot inside the period.
    EndOfPeriod,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Latest => "latest",
            Basis::Peak => "peak",
            Basis::Average => "average",
            Basis::EndOfPeriod => "end-of-period",
        }
    }
}

/// The basis per `<vendor connection>/<service key>`, else the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bases {
    pub default: Basis,
    pub services: BTreeMap<String, Basis>,
}

impl Bases {
    pub fn for_service(&self, service: &str) -> Basis {
        self.services.get(service).copied().unwrap_or(self.default)
    }
}
