//! The keeper sandbox for `reconcile demo` (to be written).
