//! The `espboot` command line end to end: one test binary for CLI behaviour
//! (the demo, `efuse` on virtual files, the multi-call names, `sim`).
//! Comparisons with the reference tools live in the `interop` binary, bugs
//! with a name in `regression.rs`.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod demo;
mod efuse;
mod flash;
mod multicall;
mod provision;
mod provision_faults;
mod provision_records;
mod readme;
mod recover;
mod secure;
mod serve;
mod sim;
mod sim_build;
mod sim_chip;
mod sim_efuse;
mod sim_scenarios;
