//! The virtual ESP chip around the simulated flash.
//!
//! - [`port_flash::PortFlash`]: the MCUboot Espressif port's flash backend
//!   (`boot/espressif/port/esp_mcuboot.c`) with the chip's transparent flash
//!   encryption, as the boot core sees the flash on a real device.

pub mod port_flash;
