//! File helpers shared by every command: nothing is ever half-written.
//!
//! Outputs go through the `atomic-write` crate, which the libraries that
//! persist state (virtual eFuse files, device directories) use too.

use std::path::Path;

pub use atomic_write::AtomicFile;

/// [`atomic_write::write_atomic`] for the commands' `anyhow` results.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    Ok(atomic_write::write_atomic(path, bytes, secret)?)
}
