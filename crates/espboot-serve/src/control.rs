//! The device directory's side channel while a server runs: the lock that
//! keeps a second server off the device, and the boot-mode requests of
//! `espboot sim boot-mode` (a PTY has no strapping pins, serial.md §1.3).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;

use crate::BootMode;

/// Lock file in the device directory, held (`flock`) while a server runs;
/// it holds the server's process id.
pub const LOCK_FILE: &str = "serve.lock";
/// Boot-mode request file in the device directory.
pub const CONTROL_FILE: &str = "serve.control";
/// How long a request waits for the server to take it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of the lock and the requests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// Another server holds the device.
    #[error("device {}: already served by another `espboot sim serve`{}", dir.display(), pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyServed {
        /// The device.
        dir: PathBuf,
        /// The other server's process id, when it wrote one.
        pid: Option<u32>,
    },
    /// No server runs on the device.
    #[error("device {}: no `espboot sim serve` is running on it", dir.display())]
    NotServed {
        /// The device.
        dir: PathBuf,
    },
    /// The server did not take the request in time.
    #[error("device {}: the server did not take the request within {}s", dir.display(), REQUEST_TIMEOUT.as_secs())]
    NoAnswer {
        /// The device.
        dir: PathBuf,
    },
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ControlError + '_ {
    move |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The lock of a running server; released when dropped.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
    path: PathBuf,
}

impl Drop for ServeLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn open_lock(dir: &Path) -> Result<(File, PathBuf), ControlError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    Ok((file, path))
}

/// Takes the device's serve lock, or says who has it.
pub fn lock(dir: &Path) -> Result<ServeLock, ControlError> {
    let (mut file, path) = open_lock(dir)?;
    if rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
        let pid = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        return Err(ControlError::AlreadyServed {
            dir: dir.to_path_buf(),
            pid,
        });
    }
    file.set_len(0).map_err(io(&path))?;
    writeln!(file, "{}", std::process::id()).map_err(io(&path))?;
    Ok(ServeLock { _file: file, path })
}

/// Whether a server holds `dir`.
fn served(dir: &Path) -> Result<bool, ControlError> {
    let path = dir.join(LOCK_FILE);
    if !path.exists() {
        return Ok(false);
    }
    let (file, _) = open_lock(dir)?;
    let free = rustix::fs::flock(&file, FlockOperation::NonBlockingLockShared).is_ok();
    Ok(!free)
}

/// A boot-mode change for the server of `dir`, and a reset if asked;
/// returns once the server has taken it.
pub fn request_boot_mode(dir: &Path, mode: BootMode, reset: bool) -> Result<(), ControlError> {
    if !served(dir)? {
        return Err(ControlError::NotServed {
            dir: dir.to_path_buf(),
        });
    }
    let path = dir.join(CONTROL_FILE);
    let text = format!("{}{}\n", mode.name(), if reset { " reset" } else { "" });
    atomic_write::write_atomic(&path, text.as_bytes(), false).map_err(|e| ControlError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    while path.exists() {
        if Instant::now() > deadline {
            let _ = std::fs::remove_file(&path);
            return Err(ControlError::NoAnswer {
                dir: dir.to_path_buf(),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// A pending request for the server of `dir`, removed as it is taken:
/// the new boot mode and whether to reset. Unreadable requests are dropped.
pub fn take_request(dir: &Path) -> Option<(BootMode, bool)> {
    let path = dir.join(CONTROL_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    let mut words = text.split_whitespace();
    let mode = words.next()?.parse().ok()?;
    let reset = words.next() == Some("reset");
    Some((mode, reset))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn one_lock_per_device_and_requests_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let lock1 = lock(dir.path()).unwrap();
        assert!(matches!(
            lock(dir.path()),
            Err(ControlError::AlreadyServed { pid: Some(p), .. }) if p == std::process::id()
        ));
        assert!(served(dir.path()).unwrap());
        std::fs::write(dir.path().join(CONTROL_FILE), "normal reset\n").unwrap();
        assert_eq!(take_request(dir.path()), Some((BootMode::Normal, true)));
        assert_eq!(take_request(dir.path()), None, "taken once");
        std::fs::write(dir.path().join(CONTROL_FILE), "bogus\n").unwrap();
        assert_eq!(take_request(dir.path()), None);
        assert!(
            !dir.path().join(CONTROL_FILE).exists(),
            "unreadable requests are dropped"
        );
        drop(lock1);
        assert!(!served(dir.path()).unwrap());
        assert!(matches!(
            request_boot_mode(dir.path(), BootMode::Download, false),
            Err(ControlError::NotServed { .. })
        ));
    }
}
