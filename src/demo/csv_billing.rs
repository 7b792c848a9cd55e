//! The CSV billing import sandbox for `reconcile demo --psa csv-billing` (to be written).
