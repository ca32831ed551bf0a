//! Production provisioning of Espressif chips: seed 003's "host-based
//! security workflows" (flash encryption, Secure Boot V2, both in the
//! seed's order) as a typed plan that is checked before anything is
//! burned, run step by step over a [`device::Device`], resumed after an
//! interruption from what the device shows, and recorded.
//!
//! - [`plan`]: the plan file (TOML), parsed into a [`plan::Plan`] with typed
//!   chips, key blocks and fields; unknown keys are errors with their line.
//! - [`steps`]: the plan as the seed's ordered [`steps::Step`]s, each with
//!   the espefuse/esptool command line that does the same.
//! - [`check`]: file-only pre-flight checks, each naming its fix.
//! - [`device`]: what a run needs of a device, and the virtual device
//!   directory's implementation; [`port`] (feature `port`): a chip on a
//!   serial port.
//! - [`record`]: run records in SQLite or PostgreSQL (one schema, one code
//!   path), with a claim per MAC so two stations never provision one device.
//! - [`run`]: the resumable executor, reporting its progress as
//!   [`events`] to an observer the caller chooses.
//!
//! ```
//! use espboot_provision::{plan::Plan, steps};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("plan.toml");
//! std::fs::write(&path, r#"
//! chip = "esp32c3"
//! [flash_encryption]
//! mode = "release"
//! key_bits = 256
//! "#)?;
//! let plan = Plan::load(&path)?;
//! let steps = steps::steps(&plan)?;
//! assert_eq!(
//!     steps[2].command(plan.chip),
//!     "espefuse --port PORT --chip esp32c3 burn-key BLOCK_KEY0 my_flash_encryption_key.bin XTS_AES_128_KEY"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

pub mod check;
pub mod device;
pub mod events;
#[cfg(feature = "test-fixtures")]
pub mod fixtures;
pub mod keys;
pub mod plan;
#[cfg(feature = "port")]
pub mod port;
pub mod record;
pub mod run;
pub mod steps;
