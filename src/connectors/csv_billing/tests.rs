//! Unit tests of the billing import.
