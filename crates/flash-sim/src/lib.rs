//! A simulated NOR flash for testing bootloaders over `embedded-storage`,
//! and the harness that runs the MCUboot-compatible boot core
//! (`mcuboot-boot`) on it: one boot, power-cut sweeps, and MCUboot's
//! simulator scenarios over every configuration. It knows nothing about a
//! particular chip: what MCUboot's `sim/simflash` and `sim/bootsim` are to
//! MCUboot.
//!
//! Modules:
//! - [`flash`]: [`flash::SimFlash`], a NOR flash with a runtime sector map
//!   ([`flash::Geometry`]: uniform or mixed sectors, write size, erased
//!   value 0xff/0x00), write-once cells, per-region counters, a timing
//!   model ([`flash::TimingModel`]) and clean or torn power cuts
//!   ([`flash::CutMode`]) at any operation.
//! - [`run`]: one boot of an [`OwnedBootConfig`](mcuboot_boot::owned::OwnedBootConfig)
//!   on a flash ([`run::boot_with`]) and its [`run::BootReport`].
//! - [`sweep`]: the power-cut sweep ([`sweep::sweep_flash`]): a cut at
//!   every flash operation of a boot, then a resuming boot checked against
//!   the uninterrupted outcome; each failed point is a typed
//!   [`sweep::SweepFailure`] (operation, cut mode, hazard, and what was
//!   expected and observed), serializable for reports.
//! - [`scenario`]: MCUboot's simulator scenarios over every configuration
//!   (strategy × sector layout × write size × erased value), with images
//!   from any [`scenario::ImageMaker`]; failures are
//!   [`scenario::ScenarioError`]s. Behind the default `scenario` feature
//!   (it signs images with `mcuboot-image`'s host-side signer).
//!
//! # Example
//!
//! A PERM upgrade on MCUboot's K64F layout, swept at every flash operation
//! of the upgrade:
//!
//! ```
//! use flash_sim::run::boot_with;
//! use flash_sim::scenario::{combos, layouts, upgrade_fixture, OwnMaker};
//! use flash_sim::sweep::{sweep_flash, SweepOptions};
//! use mcuboot_boot::UpgradeStrategy;
//!
//! let combo = combos(&layouts(), UpgradeStrategy::SwapScratch)
//!     .into_iter()
//!     .find(|c| c.layout.name == "k64f")
//!     .ok_or("no k64f layout")?;
//! let fixture = upgrade_fixture(combo.setup(), &OwnMaker, true)?;
//!
//! // The uninterrupted boot swaps in the upgrade.
//! let report = boot_with(&fixture.setup, &mut fixture.flash.clone(), None);
//! assert!(report.booted);
//! assert_eq!(report.swap, mcuboot_boot::SwapType::Perm);
//!
//! // Cut the power at each of its flash operations: every resuming boot
//! // ends like the uninterrupted one.
//! let sweep = sweep_flash(&fixture.setup, &fixture.flash, &SweepOptions::default(), &|_, _| {})?;
//! assert_eq!(sweep.cut_points, report.flash_ops);
//! assert!(sweep.failures.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The flash on its own:
//!
//! ```
//! use embedded_storage::nor_flash::NorFlash;
//! use flash_sim::flash::{CutMode, FlashError, Geometry, SimFlash};
//!
//! let mut flash = SimFlash::new(Geometry::uniform(0x1000, 16, 4, 0xff)?);
//! flash.arm_power_cut(2, CutMode::Clean);
//! flash.write(0, &[1, 2, 3, 4])?;
//! assert!(matches!(flash.erase(0, 0x1000), Err(FlashError::PowerLost { op: 2 })));
//! flash.power_cycle();
//! assert_eq!(&flash.data()[..4], &[1, 2, 3, 4]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod flash;
pub mod run;
#[cfg(feature = "scenario")]
pub mod scenario;
pub mod sweep;
