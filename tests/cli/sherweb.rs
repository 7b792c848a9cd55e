//! sherweb: CLI tests (to be written).
