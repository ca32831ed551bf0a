//! Exclusive locks for read-modify-write of shared files: a device
//! directory, a virtual eFuse file. The lock is an advisory lock (`flock`) on a
//! companion file, released when the [`FileLock`] is dropped or its process
//! dies (the kernel drops it with the last open descriptor), so a killed
//! run never leaves a stale lock behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a waiting [`FileLock::acquire`] retries.
const POLL: Duration = Duration::from_millis(20);

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process held the lock for the whole wait.
    #[error("{} is held by another process", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// An exclusive lock on a lock file, held until dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the exclusive lock of `path` (created if missing, never
    /// truncated or removed: removing it would let two processes lock two
    /// different files), waiting up to `wait` for another holder.
    pub fn acquire(path: &Path, wait: Duration) -> Result<FileLock, LockError> {
        let io_error = |source: std::io::Error| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_error)?;
        let deadline = Instant::now() + wait;
        loop {
            match try_lock(&file) {
                Ok(true) => return Ok(FileLock { _file: file }),
                Ok(false) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(false) => {
                    return Err(LockError::Busy {
                        path: path.to_path_buf(),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e)),
            }
        }
    }
}

/// One non-blocking attempt: `Ok(false)` when another process holds it
/// (std's `try_lock` is `flock` on Linux).
fn try_lock(file: &File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_is_refused_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = FileLock::acquire(&path, Duration::ZERO).unwrap();
        let started = Instant::now();
        let err = FileLock::acquire(&path, Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(100));
        drop(first);
        FileLock::acquire(&path, Duration::ZERO).unwrap();
        assert!(path.exists(), "the lock file stays");
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/x.lock");
        let err = FileLock::acquire(&path, Duration::ZERO).unwrap_err();
        assert!(matches!(err, LockError::Io { .. }), "{err}");
        assert!(err.to_string().contains("x.lock"), "{err}");
    }
}
