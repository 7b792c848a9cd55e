//! The Syncro sandbox for `reconcile demo --psa syncro` (to be written).
