//! jumpcloud: contract tests (to be written).
