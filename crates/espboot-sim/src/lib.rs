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
//! - [`device::Device`]: a device directory (`flash.bin` + `device.json`).
//! - [`run::Setup`]: the owned twin of `mcuboot_boot::BootConfig`;
//!   [`run::boot`], [`run::app_set_pending`], [`run::app_confirm`] and the
//!   power-cut sweep [`run::sweep`] / [`run::sweep_flash`].
//! - [`scenario`]: MCUboot's simulator scenarios over every configuration
//!   (strategy × layout × write size × erased value).
//! - [`chip::port_flash::PortFlash`]: the Espressif port's flash backend
//!   with transparent flash encryption (groundwork for the virtual chip).
//! - [`demo`]: `espboot demo`, the whole chain narrated and checked.
//!
//! ```
//! use espboot_sim::config::Target;
//! use espboot_sim::device::Device;
//! use espboot_sim::run;
//!
//! // An ESP32-C3 with the port's default flash map and an erased flash:
//! // nothing to boot yet, and the bootloader says so.
//! let mut device = Device::create(Target::Esp32c3, &[], None)?;
//! let report = run::boot(&mut device, None);
//! assert!(!report.booted);
//! assert_eq!(report.erases, 0);
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
pub mod run;
pub mod scenario;
