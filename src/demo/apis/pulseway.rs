//! The Pulseway PSA sandbox for `reconcile demo --psa pulseway`: the same BMS v2 surface as the Kaseya
//! BMS sandbox ([`super::kaseya_bms`], whose header says what it serves and how the demo
//! MSP's data is translated), since Pulseway PSA speaks the BMS v2 API.

use std::sync::Arc;

use crate::connectors::pulseway::{Pulseway, Settings};
use crate::demo::kit::{AsApi, Connection, Entry, Served, Surface};
use crate::demo::sample::SampleMsp;

pub const SANDBOX: &dyn Entry = &AsApi(Api);

/// The Pulseway PSA sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = SampleMsp;
    type Records = ();
    const CONNECTION: &'static str = "demo-pulseway";
    const CONNECT_ORDER: u8 = 1;

    fn surface(sample: Arc<SampleMsp>) -> Surface {
        super::kaseya_bms::surface(sample)
    }

    fn connection(served: &Served, _: &SampleMsp) -> Connection<Settings> {
        super::kaseya_bms::connection::<Pulseway>(served)
    }
}
