//! Syncro: contract tests (to be written).
