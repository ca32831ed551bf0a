//! The virtual device: a NOR flash with power-cut injection, the Espressif
//! port's `bootloader.conf`, device directories, and the tools that run the
//! MCUboot-compatible boot core (`mcuboot-boot`) on them.
//!
//! Principal types:
//! - [`flash::SimFlash`]: a NOR flash (runtime sector map, write size,
//!   erased value 0xff/0x00) implementing `embedded_storage`'s `NorFlash`
//!   with write-once cells, per-region counters, a timing model
//!   ([`flash::TimingModel`]) and clean or torn power cuts
//!   ([`flash::CutMode`]).
//! - [`config::ConfigFile`] / [`config::FlashMap`]: `bootloader.conf`
//!   parsing with the port's rules and per-target defaults
//!   ([`config::Target`]), resolved and validated into a flash map.
//! - [`device::Device`]: a device directory (`flash.bin`, `device.json`,
//!   and for the modelled chips `efuse.bin`).
//! - [`run::Setup`]: the owned twin of `mcuboot_boot::BootConfig`;
//!   [`run::boot`] (the boot core alone) and the power-cut sweep
//!   [`run::sweep_flash`].
//! - [`scenario`]: MCUboot's simulator scenarios over every configuration
//!   (strategy × layout × write size × erased value).
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
//! use espboot_sim::chip::boot::power_on;
//! use espboot_sim::config::Target;
//! use espboot_sim::device::Device;
//!
//! // An ESP32-C3 with the port's defaults: its ROM finds the (unsigned)
//! // bootloader `Device::create` flashed, but the slots are empty, so
//! // MCUboot has nothing to boot.
//! let mut device = Device::create(Target::Esp32c3, &[], None)?;
//! let report = power_on(&mut device, None);
//! assert_eq!(report.rom.as_ref().map(|r| r.secure_boot), Some("disabled"));
//! assert!(!report.boot.booted);
//! assert_eq!(report.boot.erases, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The flash on its own:
//!
//! ```
//! use embedded_storage::nor_flash::NorFlash;
//! use espboot_sim::flash::{CutMode, FlashError, Geometry, SimFlash};
//!
//! let mut flash = SimFlash::new(Geometry::uniform(0x1000, 16, 4, 0xff)?);
//! flash.arm_power_cut(2, CutMode::Clean);
//! flash.write(0, &[1, 2, 3, 4])?;
//! assert!(matches!(flash.erase(0, 0x1000), Err(FlashError::PowerLost { op: 2 })));
//! flash.power_cycle();
//! assert_eq!(&flash.data()[..4], &[1, 2, 3, 4]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod chip;
pub mod config;
pub mod demo;
pub mod device;
pub mod flash;
pub mod recovery_device;
pub mod run;
pub mod scenario;
