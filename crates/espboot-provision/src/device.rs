//! What a provisioning run needs of a device, and the virtual device
//! directory's implementation (tests, rehearsals).
//!
//! A serial-port implementation (esptool's and espefuse's protocols over
//! `esp-serial-client`) plugs in behind the same trait: every method is one
//! reference-tool operation (`summary`, `burn-key`, `burn-efuse`,
//! `write-protect-efuse`, `erase-flash`, `write-flash [--encrypt]`,
//! `verify-flash`).

use std::path::{Path, PathBuf};

use esp_efuse::{policy, Burn, Efuses, Field, KeyGroup, KeyOptions};
use esp_image::Chip;
use espboot_sim::device::{DeviceDir, DirError};

/// Why a device operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The virtual device directory could not be opened, read or saved.
    #[error(transparent)]
    Dir(#[from] DirError),
    /// The device has no eFuses (a target the virtual chip does not model).
    #[error("device {}: has no eFuses", .0.display())]
    NoEfuses(PathBuf),
    /// An eFuse operation was refused (espefuse's checks).
    #[error(transparent)]
    Efuse(#[from] esp_efuse::EfuseError),
    /// The virtual flash refused an operation.
    #[error(transparent)]
    Flash(#[from] espboot_sim::device::DeviceError),
    /// `--encrypt` without a usable flash-encryption key, or the cipher failed.
    #[error("encrypted write: {0}")]
    Encrypt(#[from] espboot_sim::chip::fuses::FuseError),
    /// The cipher refused the data.
    #[error("encrypted write: {0}")]
    Cipher(#[from] esp_secure::flash_encryption::FlashCryptError),
    /// The ROM refuses encrypted writes (manual encryption disabled).
    #[error("the ROM refuses --encrypt writes ({0} is burned)")]
    ManualEncryptDisabled(Field),
    /// A (test or transport) interruption: the port went away.
    #[error("device connection lost")]
    Disconnected,
    /// The serial protocol failed (port, connect, command refused).
    #[cfg(feature = "port")]
    #[error(transparent)]
    Serial(#[from] esp_serial_client::Error),
    /// The chip on the port is in Secure Download Mode: its eFuses and
    /// flash cannot be read.
    #[error("{0}: Secure Download Mode is enabled: the eFuses and flash cannot be read")]
    SecureDownloadMode(String),
    /// The chip was put in Secure Download Mode, or its download mode was
    /// disabled, by this run: nothing more can be read or written over the
    /// port.
    #[error("download mode is locked (Secure Download Mode or disabled) by the last burn")]
    DownloadModeLocked,
    /// An operation this kind of device does not offer yet.
    #[error("{0} is not supported over a serial port yet")]
    PortUnsupported(&'static str),
}

impl DeviceError {
    /// Whether the device stopped answering (its port vanished, it was
    /// unplugged or lost power) rather than refusing an operation: a run
    /// stopped by this resumes once the device is back.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            DeviceError::Disconnected => true,
            #[cfg(feature = "port")]
            DeviceError::Serial(e) => e.is_connection_lost(),
            // espefuse's register reads and writes over the port
            #[cfg(feature = "port")]
            DeviceError::Efuse(esp_efuse::EfuseError::Port { error, .. }) => error
                .downcast_ref::<esp_serial_client::Error>()
                .is_some_and(esp_serial_client::Error::is_connection_lost),
            _ => false,
        }
    }
}

/// A device being provisioned. Each mutating method is atomic on the
/// device (it happens entirely or not at all, as one espefuse or esptool
/// command), so a run interrupted between or inside calls resumes from what
/// the device shows.
pub trait Device {
    /// The chip's eFuses as read now.
    fn efuses(&mut self) -> Result<Efuses, DeviceError>;
    /// `burn-key` of `keys` and SBv2 `digests`, in one burn.
    fn burn_keys(&mut self, keys: &[KeyGroup], digests: &[KeyGroup]) -> Result<(), DeviceError>;
    /// `burn-efuse FIELD VALUE`.
    fn burn_field(&mut self, field: Field, value: u64) -> Result<(), DeviceError>;
    /// `write-protect-efuse FIELD`.
    fn write_protect(&mut self, field: Field) -> Result<(), DeviceError>;
    /// `erase-flash`.
    fn erase_flash(&mut self) -> Result<(), DeviceError>;
    /// `write-flash [--encrypt] ADDRESS FILE`.
    fn write_flash(&mut self, address: u32, data: &[u8], encrypt: bool) -> Result<(), DeviceError>;
    /// Whether flash at `address` holds `data` (as written with `encrypt`).
    fn flash_matches(
        &mut self,
        address: u32,
        data: &[u8],
        encrypt: bool,
    ) -> Result<bool, DeviceError>;
}

/// A virtual device directory (`espboot sim new`): each call locks the
/// directory, loads the device, acts and saves atomically.
#[derive(Debug, Clone)]
pub struct VirtualDevice {
    path: PathBuf,
}

impl VirtualDevice {
    /// The device in directory `path`.
    pub fn new(path: &Path) -> VirtualDevice {
        VirtualDevice {
            path: path.to_owned(),
        }
    }

    /// The chip of the device.
    pub fn chip(&self) -> Result<Chip, DeviceError> {
        let dir = DeviceDir::open(&self.path)?;
        let device = dir.load()?;
        Ok(device
            .efuses
            .as_ref()
            .ok_or_else(|| DeviceError::NoEfuses(self.path.clone()))?
            .chip())
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut espboot_sim::device::Device) -> Result<T, DeviceError>,
    ) -> Result<T, DeviceError> {
        let dir = DeviceDir::open(&self.path)?;
        let mut device = dir.load()?;
        let out = f(&mut device)?;
        dir.save(&device)?;
        Ok(out)
    }

    fn with_efuses(
        &self,
        f: impl FnOnce(&mut Efuses) -> Result<(), DeviceError>,
    ) -> Result<(), DeviceError> {
        let path = self.path.clone();
        self.with(|device| {
            let efuses = device.efuses.as_mut().ok_or(DeviceError::NoEfuses(path))?;
            f(efuses)
        })
    }

    /// `data` as the ROM stores it at `address` with `--encrypt`: padded to
    /// the 32-byte AES block with 0xFF, encrypted with the device's key.
    fn ciphertext(efuses: &Efuses, address: u32, data: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let key = espboot_sim::chip::fuses::flash_encryption_key(efuses)?
            .ok_or(espboot_sim::chip::fuses::FuseError::NoKey)?;
        let crypt = espboot_sim::chip::fuses::crypt_for(efuses, &key)?;
        let mut buf = data.to_vec();
        buf.resize(data.len().div_ceil(32) * 32, 0xFF);
        crypt.encrypt(address, &mut buf)?;
        Ok(buf)
    }
}

impl Device for VirtualDevice {
    fn efuses(&mut self) -> Result<Efuses, DeviceError> {
        let dir = DeviceDir::open(&self.path)?;
        dir.load()?
            .efuses
            .ok_or_else(|| DeviceError::NoEfuses(self.path.clone()))
    }

    fn burn_keys(&mut self, keys: &[KeyGroup], digests: &[KeyGroup]) -> Result<(), DeviceError> {
        self.with_efuses(|efuses| {
            if !keys.is_empty() {
                efuses.stage_keys(keys, KeyOptions::default())?;
            }
            if !digests.is_empty() {
                efuses.stage_key_digests(digests, KeyOptions::default())?;
            }
            efuses.commit()?;
            Ok(())
        })
    }

    fn burn_field(&mut self, field: Field, value: u64) -> Result<(), DeviceError> {
        self.with_efuses(|efuses| {
            efuses.burn(field, Burn::Bits(value))?;
            Ok(())
        })
    }

    fn write_protect(&mut self, field: Field) -> Result<(), DeviceError> {
        self.with_efuses(|efuses| {
            efuses.stage_write_protect(field)?;
            efuses.commit()?;
            Ok(())
        })
    }

    fn erase_flash(&mut self) -> Result<(), DeviceError> {
        self.with(|device| {
            let size = device.settings.map.flash_size;
            device.write_flash(0, &vec![0xFF; size as usize])?;
            Ok(())
        })
    }

    fn write_flash(&mut self, address: u32, data: &[u8], encrypt: bool) -> Result<(), DeviceError> {
        let path = self.path.clone();
        self.with(|device| {
            let bytes = if encrypt {
                let efuses = device.efuses.as_ref().ok_or(DeviceError::NoEfuses(path))?;
                let manual = policy::manual_encrypt_disable(efuses.chip());
                if efuses.raw(manual)? != 0 {
                    return Err(DeviceError::ManualEncryptDisabled(manual));
                }
                VirtualDevice::ciphertext(efuses, address, data)?
            } else {
                data.to_vec()
            };
            device.write_flash(address, &bytes)?;
            Ok(())
        })
    }

    fn flash_matches(
        &mut self,
        address: u32,
        data: &[u8],
        encrypt: bool,
    ) -> Result<bool, DeviceError> {
        let dir = DeviceDir::open(&self.path)?;
        let mut device = dir.load()?;
        let expected = if encrypt {
            let efuses = device
                .efuses
                .as_ref()
                .ok_or_else(|| DeviceError::NoEfuses(self.path.clone()))?;
            VirtualDevice::ciphertext(efuses, address, data)?
        } else {
            data.to_vec()
        };
        let len = u32::try_from(expected.len()).unwrap_or(u32::MAX);
        Ok(device.read_flash(address, len)? == expected)
    }
}
