//! csv: CLI tests (to be written).
