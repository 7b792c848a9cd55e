//! CSV billing import: CLI tests (to be written).
