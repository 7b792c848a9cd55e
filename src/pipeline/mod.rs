//! The steps every front end runs: sync, automatic mapping, computing findings. The CLI
//! commands and the demo both call these, so the demo exercises exactly the code a user runs.
//!
//! Nothing here prints: long-running steps report through an observer the caller supplies
//! ([`sync::SyncEvents`]), the others return their warnings as data, and `cli` shows them.
//!
//! - [`sync`]: reading connections side by side into new snapshots.
//! - [`snapshots`]: which stored snapshots a step works on ([`snapshots::Scope`]) and loading
//!   them ([`snapshots::Current`]).
//! - [`health`]: whether a connection's snapshot is to be trusted.
//! - [`map`]: exact-name automatic mapping and what is left unmapped.
//! - [`input`]: the engine's input built from snapshots, mappings and rules.
//! - [`findings`]: computing, storing and reusing findings; `explain`.
//! - [`trend`]: one company's lines over past billing periods (`history`).

pub mod findings;
pub mod health;
pub mod input;
pub mod map;
pub mod push;
pub mod snapshots;
pub mod sync;
pub mod trend;

#[cfg(test)]
mod fixtures;
