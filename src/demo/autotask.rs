//! The Autotask PSA sandbox for `reconcile demo --psa autotask` (to be written).
