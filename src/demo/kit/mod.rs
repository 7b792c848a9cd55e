//! The one shape of every sandbox, and what they all share.
//!
//! A sandbox is `demo/apis/<module>.rs`, named after its connector's folder. It holds a unit
//! struct `Api` implementing [`Api`]: what it serves (an HTTP router, or a file for an import),
//! and the connection the demo makes to it (settings, secrets and the `reconcile connect` line it
//! prints). A vendor beside NinjaOne also implements [`Vendor`]: its records for the sample's
//! clients and the usage they add up to, from which the sample plants its billed lines. The file
//! declares `pub const SANDBOX: &dyn Entry`, [`AsApi`] or [`AsVendor`] of its `Api`: the
//! registry's dispatch in [`crate::demo::apis`] drives every sandbox through it.
//!
//! What the sandboxes share lives beside this: putting one up ([`Served`], with its
//! [`RequestStats`] and [`Latency`]), credentials ([`auth`]: tokens, auth checks, the token
//! endpoint), and answers, queries and paging ([`http`]).

pub mod auth;
pub mod http;
mod served;
#[cfg(test)]
pub mod testing;

use std::fmt::Debug;
use std::ops::Range;
use std::sync::Arc;

use anyhow::Result;
use axum::Router;
use futures_util::future::BoxFuture;
use rust_decimal::Decimal;
use secrecy::SecretString;

pub use served::{Latency, RequestStats, Served};

use super::apis::VendorRecords;
use super::sample::{CwData, SampleMsp};
use super::vendors::{Billed, ClientAgreement, DemoVendor};
use crate::connectors::{ConnectionSettings, ConnectorKind, Registered};

/// What a sandbox puts up.
pub enum Surface {
    /// An HTTP API: its router, given the server's own URL (`http://127.0.0.1:PORT`) for the
    /// answers that name it (token endpoints, links to the next page).
    Api(Box<dyn FnOnce(&str) -> Router + Send>),
    /// An import's file: its name and contents, written to a temporary directory.
    File {
        name: &'static str,
        contents: String,
    },
}

impl Surface {
    /// An API whose router needs its own URL.
    pub fn api(make: impl FnOnce(&str) -> Router + Send + 'static) -> Surface {
        Surface::Api(Box::new(make))
    }

    /// An API whose router does not need its own URL.
    pub fn router(router: Router) -> Surface {
        Surface::api(move |_| router)
    }
}

/// A connection to a sandbox, as the demo makes it.
pub struct Connection<S> {
    pub settings: S,
    /// Each secret field the settings need, and the sandbox's value for it.
    pub secrets: Vec<(&'static str, SecretString)>,
    /// The `reconcile connect <kind>` flags that give these settings (after `--name`).
    pub flags: String,
    /// What the demo says after the command (`# Commander Service Mode`).
    pub note: Option<&'static str>,
}

impl<S> Connection<S> {
    pub fn new(settings: S, flags: impl Into<String>) -> Connection<S> {
        Connection {
            settings,
            secrets: Vec::new(),
            flags: flags.into(),
            note: None,
        }
    }

    /// With the secret `field` set to `value`.
    pub fn secret(mut self, field: &'static str, value: &str) -> Connection<S> {
        self.secrets.push((field, SecretString::from(value)));
        self
    }

    pub fn note(mut self, note: &'static str) -> Connection<S> {
        self.note = Some(note);
        self
    }
}

/// One API's sandbox: a file in `demo/apis/` named after its connector's module.
pub trait Api: Sized + 'static {
    /// The connector's settings; they say which kind this sandbox stands in for.
    type Settings: Registered;
    /// What it serves: a vendor's own records, or (NinjaOne and the PSAs) the sample MSP.
    type Sample: Send + Sync + 'static;
    /// What it adds to the sample MSP ([`SampleMsp::vendor_records`]): a vendor's records, `()`
    /// for the sandboxes that serve the MSP's own (NinjaOne's tenant, the PSAs' billing).
    type Records: Clone + Debug + Default + PartialEq + Send + Sync + 'static;
    /// The demo's connection name (`demo-sentinelone`).
    const CONNECTION: &'static str;
    /// Where the demo connects it: NinjaOne first (0), the PSA next (1, every PSA), then each
    /// other vendor, in the order they joined the demo.
    const CONNECT_ORDER: u8;

    /// The router (or the file) serving `sample`.
    fn surface(sample: Arc<Self::Sample>) -> Surface;

    /// The demo's connection to it, up as `served` and serving `sample`.
    fn connection(served: &Served, sample: &Self::Sample) -> Connection<Self::Settings>;
}

/// The first four letters or digits of a client's name, upper case: the prefix of its sample
/// devices' host names (`Acme Corp` → `ACME`).
pub fn host_code(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(4)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The connector kind sandbox `A` stands in for.
pub fn kind<A: Api>() -> ConnectorKind {
    <A::Settings as Registered>::KIND_ENUM
}

/// Puts sandbox `A` up serving `sample`, each answer after `latency`.
pub async fn start<A: Api>(sample: Arc<A::Sample>, latency: Arc<Latency>) -> Result<Served> {
    match A::surface(sample) {
        Surface::Api(make) => Served::api(kind::<A>(), latency, make).await,
        Surface::File { name, contents } => Served::file(kind::<A>(), name, &contents),
    }
}

/// Puts sandbox `A` up on its own, answering at once (tests, and one API tried by hand).
pub async fn serve<A: Api>(sample: Arc<A::Sample>) -> Result<Served> {
    start::<A>(sample, Arc::default()).await
}

/// What the sample MSP plants for a vendor beside NinjaOne, whose records are `R`.
#[derive(Debug, Clone)]
pub struct VendorDemo<R: 'static> {
    /// The services the demo bills, and as which products.
    pub billed: &'static [Billed],
    /// Which of the sample's clients the vendor serves (positions in its list of clients).
    pub clients: Range<usize>,
    /// Where its lines come when the sample plants the vendors': every generated catalog and
    /// addition id after them depends on it, so a new vendor takes the next number.
    pub plant_order: u8,
    /// Its records for clients of these names; the same names give the same records.
    pub generate: fn(&[&str]) -> R,
    /// Per (account name, service key): the quantity the connector counts from the records.
    pub usage: fn(&R) -> Vec<(String, String, Decimal)>,
}

/// A vendor beside NinjaOne: its records for the sample's clients, and what they add up to.
pub trait Vendor: Stored {
    const DEMO: VendorDemo<Self::Records>;

    /// Whether its sandbox reports what a unit costs the MSP: then the sample plants a cost
    /// mismatch and a line sold below cost on its products (see [`super::vendors::plant`]).
    const PLANTS_COST: bool = false;

    /// Its records for `clients`, and their billed lines planted into the PSA data `cw`: as
    /// used, but for one line under-billed and one over-billed (see [`super::vendors::plant`]).
    fn plant(cw: &mut CwData, clients: &[&ClientAgreement]) -> (Self::Records, DemoVendor) {
        let names: Vec<&str> = clients.iter().map(|c| c.name.as_str()).collect();
        let records = (Self::DEMO.generate)(&names);
        let planted = super::vendors::plant::<Self>(cw, clients, &(Self::DEMO.usage)(&records));
        (records, planted)
    }
}

/// Where a sandbox's records live in [`VendorRecords`]; generated for every sandbox.
pub trait Stored: Api {
    fn stored(records: &VendorRecords) -> &Self::Records;
    fn stored_mut(records: &mut VendorRecords) -> &mut Self::Records;
}

/// A connection to a sandbox, its settings as the registry holds any kind's.
pub struct DemoConnection {
    pub kind: ConnectorKind,
    pub name: &'static str,
    pub settings: ConnectionSettings,
    pub secrets: Vec<(&'static str, SecretString)>,
    pub flags: String,
    pub note: Option<&'static str>,
}

impl DemoConnection {
    fn of<A: Api>(c: Connection<A::Settings>) -> DemoConnection {
        DemoConnection {
            kind: kind::<A>(),
            name: A::CONNECTION,
            settings: c.settings.into(),
            secrets: c.secrets,
            flags: c.flags,
            note: c.note,
        }
    }

    /// `reconcile connect <kind> --name <name> <flags>`, and its note as a shell comment.
    pub fn command(&self) -> String {
        let note = self.note.map(|n| format!("   # {n}")).unwrap_or_default();
        format!(
            "reconcile connect {} --name {} {}{note}",
            self.kind, self.name, self.flags
        )
    }
}

/// A sandbox as the demo drives any of them, whatever its types: each sandbox file's `SANDBOX`.
pub trait Entry: Sync {
    fn kind(&self) -> ConnectorKind;
    /// See [`Api::CONNECT_ORDER`].
    fn connect_order(&self) -> u8;
    /// Puts it up, serving its part of `msp`.
    fn start<'a>(
        &'a self,
        msp: &'a Arc<SampleMsp>,
        latency: Arc<Latency>,
    ) -> BoxFuture<'a, Result<Served>>;
    /// The demo's connection to it, up as `served`.
    fn connection(&self, served: &Served, msp: &SampleMsp) -> DemoConnection;
    /// A vendor beside NinjaOne: see [`VendorDemo::plant_order`].
    fn plant_order(&self) -> Option<u8> {
        None
    }
    /// A vendor beside NinjaOne: generates its records for its clients (of `clients`, the
    /// sample's) into `records` and plants their billed lines into `cw`.
    fn plant(
        &self,
        _cw: &mut CwData,
        _clients: &[ClientAgreement],
        _records: &mut VendorRecords,
    ) -> Option<DemoVendor> {
        None
    }
}

/// The [`Entry`] of a sandbox serving the sample MSP itself (NinjaOne, the PSAs).
pub struct AsApi<A>(pub A);

impl<A: Api<Sample = SampleMsp> + Sync> Entry for AsApi<A> {
    fn kind(&self) -> ConnectorKind {
        kind::<A>()
    }

    fn connect_order(&self) -> u8 {
        A::CONNECT_ORDER
    }

    fn start<'a>(
        &'a self,
        msp: &'a Arc<SampleMsp>,
        latency: Arc<Latency>,
    ) -> BoxFuture<'a, Result<Served>> {
        Box::pin(start::<A>(msp.clone(), latency))
    }

    fn connection(&self, served: &Served, msp: &SampleMsp) -> DemoConnection {
        DemoConnection::of::<A>(A::connection(served, msp))
    }
}

/// The [`Entry`] of a vendor beside NinjaOne, serving its own records.
pub struct AsVendor<A>(pub A);

impl<A> Entry for AsVendor<A>
where
    A: Vendor + Api<Sample = <A as Api>::Records> + Sync,
{
    fn kind(&self) -> ConnectorKind {
        kind::<A>()
    }

    fn connect_order(&self) -> u8 {
        A::CONNECT_ORDER
    }

    fn start<'a>(
        &'a self,
        msp: &'a Arc<SampleMsp>,
        latency: Arc<Latency>,
    ) -> BoxFuture<'a, Result<Served>> {
        let records = Arc::new(A::stored(&msp.vendor_records).clone());
        Box::pin(start::<A>(records, latency))
    }

    fn connection(&self, served: &Served, msp: &SampleMsp) -> DemoConnection {
        DemoConnection::of::<A>(A::connection(served, A::stored(&msp.vendor_records)))
    }

    fn plant_order(&self) -> Option<u8> {
        Some(A::DEMO.plant_order)
    }

    fn plant(
        &self,
        cw: &mut CwData,
        clients: &[ClientAgreement],
        records: &mut VendorRecords,
    ) -> Option<DemoVendor> {
        let range = A::DEMO.clients;
        let chosen: Vec<&ClientAgreement> =
            clients.iter().skip(range.start).take(range.len()).collect();
        let (own, planted) = A::plant(cw, &chosen);
        *A::stored_mut(records) = own;
        Some(planted)
    }
}
