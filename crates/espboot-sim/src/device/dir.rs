//! A device directory on disk: the only code that knows a device's files
//! and the only code that writes them.
//!
//! A device directory holds
//! - `flash.bin`: the raw physical flash bytes ([`FLASH_FILE`]);
//! - `device.json`: the [`DeviceSettings`](super::DeviceSettings)
//!   ([`SETTINGS_FILE`]);
//! - for the chips the virtual chip models, `efuse.bin`: espefuse's virtual
//!   eFuse file and its companion with the read-protected key bits, both
//!   read and written by [`esp_efuse::VirtualFile`] ([`EFUSE_FILE`]);
//! - `.device.lock` ([`LOCK_FILE`]): an empty file whose `flock` a
//!   [`DeviceDir`] holds for its whole life, so one load-modify-save
//!   (a `sim` command, the demo, a serial server) never interleaves with
//!   another's.
//!
//! Every save goes through [`atomic_write`] (temporary file, flush,
//! rename): a crash or a full disk leaves each file as it was or as it is
//! meant to be, never half written. `flash.bin` and the eFuses are written
//! before `device.json`, so a directory whose `device.json` exists holds a
//! whole device.
//!
//! ```
//! use espboot_sim::config::Target;
//! use espboot_sim::device::{Device, DeviceDir, DirError};
//!
//! let tmp = tempfile::tempdir()?;
//! let path = tmp.path().join("dev");
//! let device = Device::create(Target::Esp32c3, &[], None)?;
//! let dir = DeviceDir::create(&path, &device)?;
//!
//! // While `dir` lives, nobody else can open the device.
//! let busy = DeviceDir::open_waiting(&path, std::time::Duration::ZERO);
//! assert!(matches!(busy, Err(DirError::Locked { .. })));
//!
//! let mut again = dir.load()?;
//! again.write_flash(0x20000, b"hello")?;
//! dir.save(&again)?;
//! drop(dir);
//! let reopened = DeviceDir::open(&path)?;
//! assert_eq!(reopened.load()?.read_flash(0x20000, 5)?, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use atomic_write::{FileLock, LockError};

use super::{Device, DeviceError};
use flash_sim::flash::SimFlash;

/// Name of the flash image file in a device directory.
pub const FLASH_FILE: &str = "flash.bin";
/// Name of the settings file in a device directory.
pub const SETTINGS_FILE: &str = "device.json";
/// Name of the chip's eFuses in a device directory: espefuse's virtual
/// eFuse file (`--virt --path-efuse-file`), with the companion that keeps
/// the read-protected key bits its format cannot.
pub const EFUSE_FILE: &str = "efuse.bin";
/// Name of the lock file in a device directory (see [`DeviceDir`]).
pub const LOCK_FILE: &str = ".device.lock";

/// How long [`DeviceDir::open`] and [`DeviceDir::create`] wait for another
/// process to release the device before giving up: long enough to ride out
/// one short command (a `sim boot` or `sim write`), short enough that a
/// stuck holder is reported rather than waited for.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Why a device directory could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirError {
    /// Another process holds the device's lock.
    #[error(
        "device {}: in use by another process (it holds {LOCK_FILE}); try again when it is done",
        dir.display()
    )]
    Locked {
        /// The device directory.
        dir: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("device {}: cannot lock {LOCK_FILE}", dir.display())]
    Lock {
        /// The device directory.
        dir: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// [`DeviceDir::create`] found a device there already.
    #[error("device {}: already exists", dir.display())]
    Exists {
        /// The device directory.
        dir: PathBuf,
    },
    /// The directory could not be created.
    #[error("cannot create device directory {}", dir.display())]
    CreateDir {
        /// The device directory.
        dir: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A device file could not be read.
    #[error("device {}: cannot read {}", dir.display(), file.display())]
    Read {
        /// The device directory.
        dir: PathBuf,
        /// The file.
        file: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A device file could not be written (it is unchanged).
    #[error("device {}: cannot save", dir.display())]
    Write {
        /// The device directory.
        dir: PathBuf,
        /// What went wrong.
        #[source]
        source: atomic_write::WriteError,
    },
    /// The files do not make a device (or the eFuses could not be read or
    /// written).
    #[error("device {}", dir.display())]
    Device {
        /// The device directory.
        dir: PathBuf,
        /// What is wrong.
        #[source]
        source: DeviceError,
    },
}

/// A device directory, locked for as long as this value lives: the only
/// code that knows a device's files ([`FLASH_FILE`], [`SETTINGS_FILE`],
/// [`EFUSE_FILE`]) and saves them, atomically.
#[derive(Debug)]
pub struct DeviceDir {
    path: PathBuf,
    /// Held while this value lives.
    _lock: FileLock,
}

impl DeviceDir {
    /// Opens the existing device directory `path`, taking its lock (waiting
    /// up to [`LOCK_WAIT`] for another process to release it).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DirError> {
        Self::open_waiting(path, LOCK_WAIT)
    }

    /// [`open`](Self::open), waiting up to `wait` for the lock.
    pub fn open_waiting(path: impl AsRef<Path>, wait: Duration) -> Result<Self, DirError> {
        let path = path.as_ref().to_path_buf();
        if !path.join(SETTINGS_FILE).is_file() {
            // Do not leave a lock file in a directory that is no device:
            // report what is missing the way loading it would.
            return Err(read_error(
                &path,
                SETTINGS_FILE,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let lock = lock(&path, wait)?;
        Ok(Self { path, _lock: lock })
    }

    /// Whether `path` already holds a device (its flash or settings file).
    pub fn holds_device(path: &Path) -> bool {
        path.join(SETTINGS_FILE).exists() || path.join(FLASH_FILE).exists()
    }

    /// Creates the device directory `path` (and its parents) for `device`,
    /// locks it and saves every file. Refused when `path` already holds a
    /// device.
    pub fn create(path: impl AsRef<Path>, device: &Device) -> Result<Self, DirError> {
        let path = path.as_ref().to_path_buf();
        if Self::holds_device(&path) {
            return Err(DirError::Exists { dir: path });
        }
        std::fs::create_dir_all(&path).map_err(|source| DirError::CreateDir {
            dir: path.clone(),
            source,
        })?;
        let lock = lock(&path, LOCK_WAIT)?;
        // Another creator may have won the race while we waited.
        if Self::holds_device(&path) {
            return Err(DirError::Exists { dir: path });
        }
        let dir = Self { path, _lock: lock };
        dir.save_all(device)?;
        Ok(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device's eFuse file (for the modelled chips): espefuse's virtual
    /// file and the companion with the read-protected key bits. Reading and
    /// writing it while this `DeviceDir` lives is safe from other users of
    /// the device.
    pub fn efuse_file(&self) -> esp_efuse::VirtualFile {
        esp_efuse::VirtualFile::with_hidden_bits(self.path.join(EFUSE_FILE))
    }

    /// Loads the device: settings, flash and (for a modelled chip) eFuses,
    /// blank when the directory has no eFuse file.
    pub fn load(&self) -> Result<Device, DirError> {
        let settings = self.read(SETTINGS_FILE)?;
        let flash = self.read(FLASH_FILE)?;
        let mut device = Device::from_files(&settings, &flash).map_err(|e| self.device_error(e))?;
        if let Some(chip) = device.settings.target.chip() {
            let efuses = self
                .efuse_file()
                .load(chip)
                .map_err(|e| self.device_error(e.into()))?
                .unwrap_or_else(|| crate::chip::new_efuses(chip));
            device.efuses = Some(efuses);
        }
        Ok(device)
    }

    /// Saves what a device changes as it runs: the flash and the eFuses.
    /// The settings are fixed when the device is created.
    pub fn save(&self, device: &Device) -> Result<(), DirError> {
        self.save_flash(&device.flash)?;
        if let Some(efuses) = &device.efuses {
            self.save_efuses(efuses)?;
        }
        Ok(())
    }

    /// Saves only the flash (a long-running user such as the serial server
    /// saves what changed).
    pub fn save_flash(&self, flash: &SimFlash) -> Result<(), DirError> {
        self.write(FLASH_FILE, flash.data())
    }

    /// Saves only the eFuses.
    pub fn save_efuses(&self, efuses: &esp_efuse::Efuses) -> Result<(), DirError> {
        self.efuse_file()
            .save(efuses)
            .map_err(|e| self.device_error(e.into()))
    }

    /// Saves every file: the flash and eFuses first, then the settings, so
    /// that `device.json` appears only beside a whole device.
    fn save_all(&self, device: &Device) -> Result<(), DirError> {
        self.save(device)?;
        self.write(SETTINGS_FILE, &device.settings_json())
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, DirError> {
        let file = self.path.join(name);
        std::fs::read(&file).map_err(|source| DirError::Read {
            dir: self.path.clone(),
            file,
            source,
        })
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), DirError> {
        atomic_write::write_atomic(&self.path.join(name), bytes, false).map_err(|source| {
            DirError::Write {
                dir: self.path.clone(),
                source,
            }
        })
    }

    fn device_error(&self, source: DeviceError) -> DirError {
        DirError::Device {
            dir: self.path.clone(),
            source,
        }
    }
}

fn read_error(dir: &Path, name: &str, source: std::io::Error) -> DirError {
    DirError::Read {
        dir: dir.to_path_buf(),
        file: dir.join(name),
        source,
    }
}

/// Takes the exclusive lock of `dir`'s lock file, waiting up to `wait`.
fn lock(dir: &Path, wait: Duration) -> Result<FileLock, DirError> {
    FileLock::acquire(&dir.join(LOCK_FILE), wait).map_err(|e| match e {
        LockError::Busy { .. } => DirError::Locked {
            dir: dir.to_path_buf(),
        },
        LockError::Io { source, .. } => DirError::Lock {
            dir: dir.to_path_buf(),
            source,
        },
        other => DirError::Lock {
            dir: dir.to_path_buf(),
            source: std::io::Error::other(other),
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Target;
    use std::time::Instant;

    #[test]
    fn lock_is_exclusive_and_released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("dev");
        let device = Device::create(Target::Esp32c3, &[], None).unwrap();
        let dir = DeviceDir::create(&path, &device).unwrap();
        let started = Instant::now();
        let busy = DeviceDir::open_waiting(&path, Duration::from_millis(100)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(100), "waited");
        assert!(matches!(&busy, DirError::Locked { dir } if dir == &path));
        assert!(busy.to_string().contains(&path.display().to_string()));
        drop(dir);
        DeviceDir::open_waiting(&path, Duration::ZERO).unwrap();
    }

    #[test]
    fn create_refuses_an_existing_device_and_open_a_missing_one() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("dev");
        assert!(matches!(DeviceDir::open(&path), Err(DirError::Read { .. })));
        assert!(!path.exists(), "opening creates nothing");
        let device = Device::create(Target::Esp32, &[], None).unwrap();
        drop(DeviceDir::create(&path, &device).unwrap());
        assert!(matches!(
            DeviceDir::create(&path, &device),
            Err(DirError::Exists { .. })
        ));
        // the eFuses (an ESP32 is made a v3.0 part) round-trip
        let loaded = DeviceDir::open(&path).unwrap().load().unwrap();
        assert_eq!(loaded.settings, device.settings);
        let (loaded, created) = (loaded.efuses.unwrap(), device.efuses.unwrap());
        assert_eq!(loaded.register_image(), created.register_image());
        let blank = esp_efuse::Efuses::new(esp_image::Chip::Esp32);
        assert_ne!(loaded.register_image(), blank.register_image());
    }
}
