//! Syncro: CLI tests (to be written).
