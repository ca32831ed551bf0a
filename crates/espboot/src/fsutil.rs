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

/// Reads the whole file at `path` into a new buffer after `prefix` bytes of
/// `prefix_byte`, with `room` bytes of spare capacity for what the caller
/// appends (signature sector, TLVs), so a large image is never copied or
/// reallocated. (Reading on two threads was tried: no faster on this VM,
/// page faults and page-cache copies of the two halves contend.)
pub fn read_file_with_room(
    path: &Path,
    prefix: usize,
    prefix_byte: u8,
    room: usize,
) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
    let total = prefix
        .checked_add(len)
        .and_then(|n| n.checked_add(room))
        .ok_or_else(|| std::io::Error::other("file too large"))?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(total)
        .map_err(std::io::Error::other)?;
    buf.resize(prefix, prefix_byte);
    // A file that changed size meanwhile is read to its end, as `fs::read`.
    file.read_to_end(&mut buf)?;
    Ok(buf)
}
