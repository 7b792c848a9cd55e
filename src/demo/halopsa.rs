//! The HaloPSA sandbox for `reconcile demo --psa halopsa` (to be written).
