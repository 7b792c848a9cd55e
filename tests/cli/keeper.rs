//! keeper: CLI tests (to be written).
