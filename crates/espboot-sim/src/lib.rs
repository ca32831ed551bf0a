//! The virtual ESP device: the Espressif port's `bootloader.conf`, device
//! directories, and the chip (ROM, first boot, MCUboot through the port,
//! app load) on top of `flash-sim`'s simulated NOR flash, which also
//! supplies the boot harness, the power-cut sweep and MCUboot's simulator
//! scenarios.
//!
//! Principal types:
//! - [`config::ConfigFile`] / [`config::FlashMap`]: `bootloader.conf`
//!   parsing with the port's rules and per-target defaults
//!   ([`config::Target`]), resolved and validated into a flash map.
//! - [`device::Device`]: a device directory (`flash.bin`, `device.json`,
//!   and for the modelled chips `efuse.bin`).
//! - [`run::device_boot_config`]: the boot core's configuration
//!   (`mcuboot_boot::owned::OwnedBootConfig`) of a device; [`run::boot`]
//!   runs the boot core alone on it.
//! - [`chip`]: the virtual ESP chip. [`chip::boot::power_on`] runs one
//!   power-on: the ROM stage (bootloader parse, Secure Boot V2 against the
//!   burned digests, flash decryption), the port's first boot (digests,
//!   flash-encryption key, in-place encryption, crypt counter), MCUboot over
//!   the port's flash backend ([`chip::port_flash::PortFlash`]) and app
//!   loading; [`chip::bootloader`] and [`chip::app`] build what it runs,
//!   [`chip::fuses`] reads the keys the hardware sees, [`chip::preflight`]
//!   checks what `sim write` is given.
//! - [`recovery_device`]: the device under MCUboot's serial recovery, a
//!   `mcumgr_smp::recovery::RecoveryDevice` over the port's flash backend.
//! - [`demo`]: `espboot demo`, the whole chain narrated and checked.
//!
//! ```
//! use espboot_sim::chip::boot::{power_on, RomSecureBoot};
//! use mcuboot_boot::SlotRefusal;
//! use espboot_sim::config::Target;
//! use espboot_sim::device::Device;
//!
//! // An ESP32-C3 with the port's defaults: its ROM finds the (unsigned)
//! // bootloader `Device::create` flashed, but the slots are empty, so
//! // MCUboot has nothing to boot.
//! let mut device = Device::create(Target::Esp32c3, &[], None)?;
//! let report = power_on(&mut device, None);
//! assert_eq!(
//!     report.rom.as_ref().map(|r| r.secure_boot),
//!     Some(RomSecureBoot::Disabled)
//! );
//! assert!(!report.boot.booted);
//! // MCUboot's reason, typed:
//! let refusal = report.mcuboot_refusal().map(|r| r.reason);
//! assert_eq!(refusal, Some(SlotRefusal::Erased));
//! assert_eq!(report.boot.erases, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

pub mod chip;
pub mod config;
pub mod demo;
pub mod device;
pub mod recovery_device;
pub mod run;
