//! Autotask PSA: CLI tests (to be written).
