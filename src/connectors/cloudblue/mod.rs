//! CloudBlue PSA (formerly Vorex; the API lineage of Kaseya BMS v2): accounts, contracts, the
//! service catalogue and invoices, read through the BMS family's client
//! ([`crate::connectors::bms_api`], whose header says what is read and why billed quantities
//! come from each contract's last invoice). What is CloudBlue's own: no public source says which
//! host serves its tenants today, so the API host is always given (`url`), and the `connect`
//! check (login, then `GET /v2/security/userinfo` and one page of each list) is what confirms
//! that the tenant's API is the BMS v2 surface.

mod args;

pub use args::Args;

use super::bms_api::{self, Family};
use crate::connectors::{ConnectorKind, KindInfo, Role};

/// CloudBlue PSA in the BMS family.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CloudBlue;

impl Family for CloudBlue {
    const KIND: KindInfo = KindInfo {
        key: "cloudblue",
        name: "CloudBlue PSA",
        role: Role::Psa,
        secrets: &["password"],
        concurrency: 5,
        reads_files: false,
    };
    const CONNECTOR: ConnectorKind = ConnectorKind::CloudBlue;
    const DEFAULT_HOST: Option<&'static str> = None;
    const REGIONS: bool = false;
    const USER_SETUP: &'static str = "in CloudBlue PSA, a dedicated user whose security role only views CRM accounts and finance contracts, invoices and services";
    type Args = Args;
}

/// `[connections.<name>]` with `kind = "cloudblue"`.
pub type Settings = bms_api::Settings<CloudBlue>;
/// A CloudBlue PSA connection.
pub type CloudBlueApi = bms_api::Bms<CloudBlue>;
