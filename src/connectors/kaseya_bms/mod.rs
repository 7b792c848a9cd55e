//! Kaseya BMS (API v2): accounts, contracts, the service catalogue and invoices, read through
//! the BMS family's client ([`crate::connectors::bms_api`], whose header says what is read and
//! why billed quantities come from each contract's last invoice). What is Kaseya BMS's own: its
//! three data centres (`region`: `na`, `emea`, `apac`), North America by default.

mod args;

pub use args::Args;

use super::bms_api::{self, Family};
use crate::connectors::{ConnectorKind, KindInfo, Role};

/// Kaseya BMS in the BMS family.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KaseyaBms;

impl Family for KaseyaBms {
    const KIND: KindInfo = KindInfo {
        key: "kaseya-bms",
        name: "Kaseya BMS",
        role: Role::Psa,
        secrets: &["password"],
        // Five lists read side by side, each on its own endpoint's budget.
        concurrency: 5,
        reads_files: false,
    };
    const CONNECTOR: ConnectorKind = ConnectorKind::KaseyaBms;
    const DEFAULT_HOST: Option<&'static str> = Some("https://api.bms.kaseya.com");
    const REGIONS: bool = true;
    const USER_SETUP: &'static str = "in Kaseya BMS, Admin > My Company > Security Roles, and the user under Admin > My Company > Users";
    type Args = Args;
}

/// `[connections.<name>]` with `kind = "kaseya-bms"`.
pub type Settings = bms_api::Settings<KaseyaBms>;
/// A Kaseya BMS connection.
pub type KaseyaBmsApi = bms_api::Bms<KaseyaBms>;
