//! The sherweb sandbox for `reconcile demo` (to be written).
