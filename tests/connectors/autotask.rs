//! Autotask PSA: contract tests (to be written).
