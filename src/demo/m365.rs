//! The m365 sandbox for `reconcile demo` (to be written).
