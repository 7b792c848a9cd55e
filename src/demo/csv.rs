//! The csv sandbox for `reconcile demo` (to be written).
