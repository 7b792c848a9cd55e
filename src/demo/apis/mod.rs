//! One sandbox per registered connector kind, each `<module>.rs` after its connector's folder
//! and each of the shape [`super::kit`] describes. The module list, [`of`] (a kind's sandbox)
//! and [`VendorRecords`] (what the vendors add to the sample MSP) come from the registry
//! (`crate::connectors::for_each_kind!`): a new connector adds its sandbox file and edits
//! nothing here.

use super::kit::{Api, Entry, Stored};
use super::sample::CwData;
use super::vendors::{ClientAgreement, DemoVendor};
use crate::connectors::ConnectorKind;

macro_rules! sandboxes {
    ($($variant:ident => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// The sandbox of `kind`.
        pub fn of(kind: ConnectorKind) -> &'static dyn Entry {
            match kind {
                $(ConnectorKind::$variant => $module::SANDBOX,)*
            }
        }

        /// What each sandbox adds to the sample MSP, by its module: a vendor's records for the
        /// clients it serves; `()` for the sandboxes serving the MSP's own data.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct VendorRecords {
            $(pub $module: <$module::Api as Api>::Records,)*
        }

        $(
            impl Stored for $module::Api {
                fn stored(records: &VendorRecords) -> &Self::Records {
                    &records.$module
                }

                fn stored_mut(records: &mut VendorRecords) -> &mut Self::Records {
                    &mut records.$module
                }
            }
        )*
    };
}
crate::connectors::for_each_kind!(sandboxes);

/// Every sandbox, in the registry's order.
pub fn all() -> impl Iterator<Item = &'static dyn Entry> {
    ConnectorKind::ALL.iter().map(|k| of(*k))
}

/// Generates every vendor's records beside NinjaOne and plants their billed lines into `cw`, in
/// their plant order, each on its clients of `clients` (the sample's, in order).
pub fn plant(cw: &mut CwData, clients: &[ClientAgreement]) -> (VendorRecords, Vec<DemoVendor>) {
    let mut vendors: Vec<(u8, &dyn Entry)> = all()
        .filter_map(|e| e.plant_order().map(|n| (n, e)))
        .collect();
    vendors.sort_by_key(|(n, _)| *n);
    let mut records = VendorRecords::default();
    let planted = vendors
        .into_iter()
        .filter_map(|(_, e)| e.plant(cw, clients, &mut records))
        .collect();
    (records, planted)
}
