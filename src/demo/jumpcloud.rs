//! The jumpcloud sandbox for `reconcile demo` (to be written).
