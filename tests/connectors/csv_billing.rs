//! CSV billing import: contract tests (to be written).
