//! The virtual device: NOR flash with power-cut injection.
//!
//! - [`flash::SimFlash`]: a NOR flash (runtime sector map, write size,
//!   erased value) implementing `embedded_storage`'s `NorFlash`, with
//!   per-region counters, a timing model and power cuts.
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
