//! jumpcloud: CLI tests (to be written).
