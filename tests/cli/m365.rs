//! m365: CLI tests (to be written).
