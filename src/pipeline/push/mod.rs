//! `reconcile push`: planning changes to the PSA's billing lines from the findings, applying
//! them line by line, and the audit.

pub mod apply;

pub use apply::{LineOutcome, apply_line, at_target, drifted};
