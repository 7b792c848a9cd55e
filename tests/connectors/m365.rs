//! m365: contract tests (to be written).
