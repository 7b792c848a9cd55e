//! sherweb: contract tests (to be written).
