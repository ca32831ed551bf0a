//! The virtual ESP chip around the simulated flash.
//!
//! - [`port_flash::PortFlash`]: the MCUboot Espressif port's flash backend
//!   (`boot/espressif/port/esp_mcuboot.c`) with the chip's transparent flash
//!   encryption, as the boot core sees the flash on a real device.
//! - [`bootloader`]: the simulated second-stage bootloader, an ESP image
//!   carrying its configuration ([`bootloader::build_bootloader`],
//!   [`bootloader::parse_bootloader`]).
//! - [`app`]: app payloads with the port's load header
//!   ([`app::build_app`]).
//! - [`preflight`]: what `sim write` refuses before writing
//!   ([`preflight::check_write`]).

pub mod app;
pub mod bootloader;
pub mod port_flash;
pub mod preflight;
