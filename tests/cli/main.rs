//! CLI tests: the `reconcile` binary run as a user runs it, in a sealed environment (temporary
//! HOME and XDG dirs, an emptied environment, a keyring service name of its own, no network but
//! loopback). The sandbox APIs of `reconcile demo` stand in for NinjaOne and ConnectWise.
//!
//! `RECONCILE_TEST_EXPECT_BACKEND=secret-service|kernel-keyring` (set by `.ci/run`) makes the
//! tests also check, with `secret-tool` or `keyctl`, that `connect` put the secret in that store.

mod accelo;
mod acronis;
mod autotask;
mod conventions;
mod cove;
mod csv;
mod csv_billing;
mod datto_backup;
mod datto_rmm;
mod db;
mod errors;
mod flow;
mod gravityzone;
mod halopsa;
mod harness;
mod health;
mod history;
mod jumpcloud;
mod kaseya_bms;
mod keeper;
mod keyring;
mod limits;
mod m365;
mod mapping;
mod margin;
mod ncentral;
mod nsight;
mod odd_records;
mod pax8;
mod periods;
mod push;
mod readonly;
mod reauth;
mod report;
mod review;
mod rules;
mod safety;
mod sentinelone;
mod sherweb;
mod support;
mod syncro;
mod tigerpaw;
mod webroot;
