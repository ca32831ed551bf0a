//! Outputs that appear complete or not at all.
//!
//! Every file espboot writes (keys, images, virtual eFuse files, device
//! directories) goes through a temporary file in the target's directory that
//! is renamed over the target once complete, so a crash, a full disk or an
//! error on the way never leaves a half-written file behind.
//!
//! - [`write_atomic`]: a small output held in memory, flushed to disk
//!   (`fsync`) before the rename: keys, eFuse files, device state.
//! - [`AtomicFile`]: a large output produced as a stream (signed or
//!   encrypted images), renamed into place by [`AtomicFile::commit`].
//!
//! With `secret`, the file is created with mode 0600 (key material);
//! otherwise it gets the usual 0644.
//!
//! ```
//! use std::io::Write as _;
//!
//! let dir = tempfile::tempdir()?;
//! let key = dir.path().join("key.bin");
//! atomic_write::write_atomic(&key, &[0x11; 32], true)?;
//! assert_eq!(std::fs::read(&key)?, [0x11; 32]);
//!
//! let image = dir.path().join("image.bin");
//! let mut out = atomic_write::AtomicFile::create(&image, false)?;
//! out.write_all(b"payload")?;
//! assert!(!image.exists(), "nothing appears before the commit");
//! out.commit()?;
//! assert_eq!(std::fs::read(&image)?, b"payload");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output could not be written. The target is unchanged in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The temporary file next to the target could not be created.
    #[error("cannot create a temporary file in {}", dir.display())]
    TempFile {
        /// The target's directory.
        dir: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The temporary file's permissions could not be set.
    #[error("cannot set permissions on {}", path.display())]
    Permissions {
        /// The temporary file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Writing, flushing or renaming into place failed.
    #[error("cannot write {}", path.display())]
    Write {
        /// The target.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over the target. With `secret`,
/// the file is created with mode 0600 (private keys).
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<(), WriteError> {
    let mut tmp = temp_file_for(path, secret)?;
    let write_error = |source| WriteError::Write {
        path: path.to_path_buf(),
        source,
    };
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(write_error)?;
    tmp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

/// A temporary file in `path`'s directory, mode 0600 (tempfile's default)
/// or 0644.
fn temp_file_for(path: &Path, secret: bool) -> Result<tempfile::NamedTempFile, WriteError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".espboot-")
        .tempfile_in(dir)
        .map_err(|source| WriteError::TempFile {
            dir: dir.to_path_buf(),
            source,
        })?;
    if !secret {
        set_mode(tmp.path(), 0o644)?;
    }
    Ok(tmp)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), WriteError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        WriteError::Permissions {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), WriteError> {
    Ok(())
}

/// A large output written as a stream: a temporary file in the target's
/// directory that becomes `path` only on [`AtomicFile::commit`]. Dropped
/// without commit (an error on the way), the temporary file is removed, so
/// nothing half-written is ever left at `path`.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: std::io::BufWriter<EarlyWriteback>,
}

/// The temporary file, asking the kernel to start writing each finished
/// stretch back to disk while the rest is still being produced. A rename
/// over an existing file makes ext4 write the whole new file back inside the
/// rename (`auto_da_alloc`, the protection against empty files after a
/// crash); started early, that work overlaps the hashing and encryption
/// instead of adding ~5-8 ms per 16 MiB at the end. Nothing is waited for
/// and nothing about atomicity or durability changes.
#[derive(Debug)]
struct EarlyWriteback {
    file: tempfile::NamedTempFile,
    written: u64,
    started: u64,
}

/// How much finished output to hand to writeback at a time.
const WRITEBACK_STRIDE: u64 = 4 << 20;

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_STRIDE {
            #[cfg(target_os = "linux")]
            {
                // POSIX_FADV_DONTNEED starts asynchronous writeback of the
                // range's dirty pages (mm/fadvise.c); a failure only loses
                // the head start.
                let len = std::num::NonZeroU64::new(self.written - self.started);
                let _ = rustix::fs::fadvise(
                    self.file.as_file(),
                    self.started,
                    len,
                    rustix::fs::Advice::DontNeed,
                );
            }
            self.started = self.written;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl AtomicFile {
    /// Starts writing `path` (mode 0644, or 0600 with `secret`).
    pub fn create(path: &Path, secret: bool) -> Result<Self, WriteError> {
        let tmp = temp_file_for(path, secret)?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp: std::io::BufWriter::with_capacity(
                1 << 20,
                EarlyWriteback {
                    file: tmp,
                    written: 0,
                    started: 0,
                },
            ),
        })
    }

    /// Flushes and renames the file into place. Unlike [`write_atomic`]
    /// it does not fsync: these are large derived files (encrypted images)
    /// that can be regenerated, and a 16 MiB fsync costs more than the
    /// whole encryption (scripts/bench-secure). The rename still makes the
    /// output appear complete or not at all.
    pub fn commit(self) -> Result<(), WriteError> {
        let path = self.path;
        let write_error = |source| WriteError::Write {
            path: path.clone(),
            source,
        };
        let tmp = self
            .tmp
            .into_inner()
            .map_err(|e| write_error(e.into_error()))?;
        tmp.file.persist(&path).map_err(|e| write_error(e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    #[cfg(unix)]
    fn secrets_are_private_and_other_outputs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        let public = dir.path().join("public");
        write_atomic(&key, b"k", true).unwrap();
        write_atomic(&public, b"p", false).unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&public), 0o644);
    }

    #[test]
    fn a_dropped_stream_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, b"old").unwrap();
        let mut out = AtomicFile::create(&path, false).unwrap();
        out.write_all(b"new, unfinished").unwrap();
        drop(out);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out");
        let err = write_atomic(&path, b"x", false).unwrap_err();
        assert!(matches!(err, WriteError::TempFile { .. }), "{err}");
        assert!(err.to_string().contains("no/such/dir"), "{err}");
    }
}
