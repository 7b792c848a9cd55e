//! Connector tests: each connector is built through the library and pointed at a wiremock server
//! on loopback that answers with the hand-written response bodies in `fixtures/`. The assertions
//! are what a user sees: counts, classes, quantities, exact money, and error messages that name
//! the connection, the endpoint and the next step.

mod accelo;
mod acronis;
mod autotask;
mod autotask_write;
mod common;
mod connectwise;
mod connectwise_write;
mod cove;
mod csv;
mod csv_billing;
mod datto_backup;
mod datto_rmm;
mod fuzz;
mod gravityzone;
mod halopsa;
mod halopsa_write;
mod jumpcloud;
mod kaseya_bms;
mod keeper;
mod kit;
mod m365;
mod ncentral;
mod ninjaone;
mod nsight;
mod pax8;
mod sentinelone;
mod sherweb;
mod syncro;
mod syncro_write;
mod tigerpaw;
mod webroot;
