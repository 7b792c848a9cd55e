//! The sample MSP and sandbox APIs behind `reconcile demo`.
