//! `espboot sim serve` driven by the real pinned clients over a PTY
//! (serial.md §7): esptool (R1-R15) on ESP32, S3, C3, C2 and C6 with and
//! without the stub, smpmgr through MCUboot serial recovery
//! (S1-S10) and the boot log, robustness. Each server is stopped by its process
//! id when its guard drops (`support::serve::Served`).

mod efuse_burns;
mod espefuse;
mod esptool;
mod readme;
mod recovery;
mod robustness;
