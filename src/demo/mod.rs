//! The sample MSP and the sandbox APIs behind `reconcile demo` (and the CLI tests), built with
//! the `demo` feature.
//!
//! [`sample()`] generates one fixed MSP. Every connector kind has a sandbox in [`apis`] that
//! serves its part of it: an HTTP server on a random loopback port speaking the real API as far
//! as the connector uses it (the same authentication, paging and record shapes), or, for an
//! import, the file it reads. A demo run therefore exercises exactly the code a real sync runs.
//! [`Sandbox`] holds the sandboxes that are up, by kind; they stop when it is dropped. All share
//! the [`kit`]: one way to serve, to issue and check credentials, to read queries and to page.
//!
//! The sandboxes answer at once unless given a [`Latency`] (the sync benchmark sets one, and
//! serves a large MSP from [`scale::scaled`]); [`RequestStats`] counts what each one served.

// Early-return helpers yield the refusing response itself; it is built once per refused request,
// so its size on the stack does not matter and boxing would only add noise.
#![allow(clippy::result_large_err)]

pub mod apis;
pub mod kit;
pub mod ledger;
pub mod sample;
pub mod scale;
pub mod vendors;

use std::sync::Arc;

use anyhow::Context;

pub use kit::{DemoConnection, Latency, RequestStats, Served};
pub use sample::{
    DEMO_BILLABLE_TYPE, DEMO_SERVICE_MAP, DEMO_UNBILLED_SERVICES, ExpectedLine, FuzzyOrg, Planted,
    SampleMsp, sample,
};

use crate::connectors::{ConnectorKind, Registered, Role};

/// The PSA every demo starts besides the vendors: `reconcile demo` bills from it unless told
/// `--psa`.
pub const DEFAULT_PSA: ConnectorKind = ConnectorKind::ConnectWise;

/// The sandboxes that are up, serving one sample MSP.
pub struct Sandbox {
    pub sample: Arc<SampleMsp>,
    /// The per-request latency of every sandbox (zero unless set).
    pub latency: Arc<Latency>,
    served: Vec<Served>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts every vendor's sandbox and the [`DEFAULT_PSA`]'s on the current tokio runtime.
    pub async fn start(sample: SampleMsp) -> anyhow::Result<Sandbox> {
        let kinds = ConnectorKind::ALL
            .iter()
            .copied()
            .filter(|k| k.role() == Role::Vendor || *k == DEFAULT_PSA);
        Sandbox::start_kinds(sample, kinds).await
    }

    /// Starts the sandboxes of `kinds`.
    pub async fn start_kinds(
        sample: SampleMsp,
        kinds: impl IntoIterator<Item = ConnectorKind>,
    ) -> anyhow::Result<Sandbox> {
        let mut sandbox = Sandbox {
            sample: Arc::new(sample),
            latency: Arc::default(),
            served: Vec::new(),
        };
        for kind in kinds {
            sandbox.add(kind).await?;
        }
        Ok(sandbox)
    }

    /// Starts the sandbox of `kind` unless it is up.
    pub async fn add(&mut self, kind: ConnectorKind) -> anyhow::Result<()> {
        if !self.is_up(kind) {
            let served = apis::of(kind)
                .start(&self.sample, self.latency.clone())
                .await
                .with_context(|| format!("cannot start the {} sandbox", kind.display_name()))?;
            self.served.push(served);
        }
        Ok(())
    }

    pub fn is_up(&self, kind: ConnectorKind) -> bool {
        self.served.iter().any(|s| s.kind() == kind)
    }

    /// The kinds whose sandboxes are up, in the order they started.
    pub fn kinds(&self) -> impl Iterator<Item = ConnectorKind> + '_ {
        self.served.iter().map(Served::kind)
    }

    /// The sandbox of `kind`, which must be up.
    pub fn served(&self, kind: ConnectorKind) -> &Served {
        self.served
            .iter()
            .find(|s| s.kind() == kind)
            .unwrap_or_else(|| panic!("the {kind} sandbox is not started"))
    }

    /// The URL of `kind`'s API (`http://127.0.0.1:PORT`), for its connection's settings.
    pub fn url(&self, kind: ConnectorKind) -> &str {
        self.served(kind).url()
    }

    /// What `kind`'s sandbox served so far.
    pub fn stats(&self, kind: ConnectorKind) -> &Arc<RequestStats> {
        &self.served(kind).stats
    }

    /// The demo's connection to `kind`'s sandbox.
    pub fn connection(&self, kind: ConnectorKind) -> DemoConnection {
        apis::of(kind).connection(self.served(kind), &self.sample)
    }

    /// The settings of the demo's connection to the sandbox of kind `S`.
    pub fn settings<S: Registered + Clone>(&self) -> S {
        S::of(&self.connection(S::KIND_ENUM).settings)
            .expect("a connection of its own kind")
            .clone()
    }

    /// Requests every sandbox served.
    pub fn requests_served(&self) -> usize {
        self.served.iter().map(|s| s.stats.total()).sum()
    }

    /// Stops every sandbox and waits for them (requests in flight finish first).
    pub async fn shutdown(self) {
        futures_util::future::join_all(self.served.into_iter().map(Served::shutdown)).await;
    }
}

#[cfg(test)]
mod tests;
