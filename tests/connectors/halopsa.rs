//! HaloPSA: contract tests (to be written).
