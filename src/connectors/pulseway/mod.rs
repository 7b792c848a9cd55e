//! Pulseway PSA (API v2, the BMS design): accounts, contracts, the service catalogue and
//! invoices, read through the BMS family's client ([`crate::connectors::bms_api`], whose header
//! says what is read and why billed quantities come from each contract's last invoice). What is
//! Pulseway's own: its API host `https://api.psa.pulseway.com`, and the "API Employee" user type
//! made for integrations (no licence, no UI login, MFA not enforced).

mod args;

pub use args::Args;

use super::bms_api::{self, Family};
use crate::connectors::{ConnectorKind, KindInfo, Role};

/// Pulseway PSA in the BMS family.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pulseway;

impl Family for Pulseway {
    const KIND: KindInfo = KindInfo {
        key: "pulseway",
        name: "Pulseway PSA",
        role: Role::Psa,
        secrets: &["password"],
        concurrency: 5,
        reads_files: false,
    };
    const CONNECTOR: ConnectorKind = ConnectorKind::Pulseway;
    const DEFAULT_HOST: Option<&'static str> = Some("https://api.psa.pulseway.com");
    const REGIONS: bool = false;
    const USER_SETUP: &'static str = "in Pulseway PSA, an \"API Employee\" under HR > Employees, with a security role limited to reading CRM accounts and finance contracts, invoices and services";
    type Args = Args;
}

/// `[connections.<name>]` with `kind = "pulseway"`.
pub type Settings = bms_api::Settings<Pulseway>;
/// A Pulseway PSA connection.
pub type PulsewayApi = bms_api::Bms<Pulseway>;
