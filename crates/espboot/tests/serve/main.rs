//! `espboot sim serve` driven by the real pinned clients over a PTY
//! (serial.md §7): esptool (R1-R15) on ESP32, S3, C3, C2 and C6 with and
//! without the stub, smpmgr through MCUboot serial recovery (S1-S4, S6),
//! the boot log, robustness and bad input. Each server is stopped by its
//! process id when its guard drops.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod esptool;
mod harness;
mod recovery;
mod robustness;
