//! keeper: contract tests (to be written).
