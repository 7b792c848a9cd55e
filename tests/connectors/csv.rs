//! csv: contract tests (to be written).
