//! HaloPSA: CLI tests (to be written).
