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
//!
//! ```
//! use espboot_sim::chip::{app, bootloader, preflight};
//! use espboot_sim::config::{FlashMap, Target};
//!
//! let target = Target::Esp32c3;
//! let config = target.default_config();
//! let map = FlashMap::resolve(&config, None)?;
//!
//! // The bootloader carries its configuration; the ROM finds it at 0x0.
//! let image = bootloader::build_bootloader(target, &config, &[])?;
//! let chip = bootloader::require_chip(target)?;
//! assert_eq!(bootloader::parse_bootloader(chip, &image)?.target, target);
//! preflight::check_write(target, &map, 0x0, &image)?;
//! // ...and nowhere else.
//! assert!(preflight::check_write(target, &map, 0x20000, &image).is_err());
//!
//! // An app payload is not an MCUboot image until it is signed.
//! let payload = app::build_app(chip, &app::AppOptions::new("1.0.0"))?;
//! assert!(preflight::check_write(target, &map, 0x20000, &payload).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod app;
pub mod bootloader;
pub mod port_flash;
pub mod preflight;
