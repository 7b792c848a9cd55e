//! `reconcile`: compare what an MSP bills in its PSA with what its vendor tools say is used.
//!
//! The shape, from the outside in:
//! - [`cli`]: one file per subcommand (its clap args and one `run`); the only layer that prints.
//! - [`app`]: what every command shares: paths, verbosity, the secret store, the retry policy.
//! - [`config`]: the config file: connections (the shared keys; the rest is each kind's own
//!   settings), rules, tolerance, health, and the edits `connect` and `disconnect` make to it.
//! - [`progress`]: the per-connection progress lines on stderr while a sync runs.
//! - [`connectors`]: one folder per vendor or PSA; wire types stay inside and become [`model`].
//! - [`model`]: the neutral model every connector converts into and the store and engine read.
//! - [`http`]: the shared HTTP concerns every connector uses: auth, paging, retries, errors.
//! - [`store`]: the SQLite file: sync runs and snapshots (cache), mappings (user data), findings.
//! - [`mapping`]: automatic account mapping and fuzzy suggestions (pure).
//! - [`engine`]: the engine, a pure function from snapshots and mappings to findings.
//! - [`review`]: which approve/dismiss/ignore decisions still apply to the findings (pure).
//! - [`output`]: tables, CSV and JSON with stable columns.
//! - [`secrets`]: where credentials live: environment, a secret command, the OS keyring.
//! - [`period`]: billing periods (calendar or anchored months, UTC).
//! - [`pipeline`]: sync, auto-map and computing findings as steps the CLI and the demo share;
//!   it reports through observers and returned warnings, and never prints.
//! - `demo` (the `demo` feature, on by default): the sandbox APIs and sample MSP behind
//!   `reconcile demo`.

pub mod app;
pub mod cli;
pub mod config;
pub mod connectors;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod http;
pub mod mapping;
pub mod model;
pub mod output;
pub mod period;
pub mod pipeline;
pub mod progress;
pub mod review;
pub mod secrets;
pub mod store;

#[cfg(test)]
mod architecture;
