//! `espboot sim write`: what esptool's `write_flash` does to a device
//! through the ROM download mode, with the placement checks of
//! [`super::preflight`] first.
//!
//! - The ROM must accept the connection: download mode not disabled in eFuse
//!   ([`check_download_mode`]).
//! - `--encrypt` ([`WriteOptions::encrypt`]): the ROM encrypts what it
//!   writes with the burned flash-encryption key, unless the eFuses disable
//!   manual encryption; data is padded to the 32-byte AES block first, as
//!   esptool pads it.
//! - Without `--encrypt` on a chip whose flash encryption is on, the bytes
//!   land as given and the chip reads back their decryption: the checks look
//!   at that, so plaintext written there is refused as what the chip would
//!   see (garbage), with a hint to encrypt it.
//! - Every file is checked before the first one is written; `force` skips
//!   the placement checks (not the flash size).
//!
//! ```
//! use espboot_sim::chip::flash_write::{write_files, FileWrite, WriteOptions};
//! use espboot_sim::config::Target;
//! use espboot_sim::device::Device;
//!
//! let mut device = Device::create(Target::Esp32c3, &[], None)?;
//! let blob = [0x5a; 0x100];
//! let report = write_files(
//!     &mut device,
//!     &[FileWrite { addr: 0x3f_0000, data: &blob }],
//!     WriteOptions::default(),
//! )?;
//! assert_eq!(report.files[0].end, 0x3f_0100);
//! assert!(!report.encrypted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use esp_secure::flash_encryption::{FlashCrypt, FlashCryptError};
use serde::Serialize;

use esp_image::load_header::{LoadHeader, LOAD_HEADER_LEN};
use mcuboot_image::{ImageHeader, IMAGE_HEADER_SIZE};

use super::app::{built_version, check_header_size, HeaderSizeMismatch};
use super::fuses::{self, DownloadMode, ManualEncryptError};
use super::preflight::{check_write, PreflightError};
use crate::config::Target;
use crate::device::{Device, DeviceError};

/// esptool pads `--encrypt` writes to the AES block (flash-encryption
/// block size, esptool.md §7).
const ENCRYPT_BLOCK: usize = 32;

/// How `sim write` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Encrypt with the chip's key as the ROM writes (esptool `--encrypt`).
    pub encrypt: bool,
    /// Skip the placement checks (esptool `--force`).
    pub force: bool,
}

/// One file to write.
#[derive(Debug, Clone, Copy)]
pub struct FileWrite<'a> {
    /// Flash address.
    pub addr: u32,
    /// The file's bytes (plaintext with `--encrypt`).
    pub data: &'a [u8],
}

/// What `sim write` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteReport {
    /// Each file, in the order given.
    pub files: Vec<WrittenFile>,
    /// Encrypted by the ROM as written (`--encrypt`).
    pub encrypted: bool,
    /// What was written but looks wrong.
    pub warnings: Vec<WriteWarning>,
}

/// Something written that will not do what it seems to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WriteWarning {
    /// An app built (`sim build-app --version`) as one version and signed
    /// (`imgtool sign -v`) as another: MCUboot compares the signed version,
    /// the app reports the built one.
    #[error(
        "the app at {addr:#x} was built as version {built} but signed as {signed} (MCUboot's \
         upgrade and downgrade checks see {signed})"
    )]
    VersionMismatch {
        /// Index into the files given.
        file: usize,
        /// Where the image was written.
        addr: u32,
        /// The MCUboot header's version.
        signed: String,
        /// The version the payload carries.
        built: String,
    },
    /// An image whose MCUboot header size does not match its app's layout:
    /// the port's loader will refuse it (silicon would crash).
    #[error("the image at {addr:#x} will not boot: {mismatch}")]
    HeaderSize {
        /// Index into the files given.
        file: usize,
        /// Where the image was written.
        addr: u32,
        /// Which segment overlaps the headers.
        mismatch: HeaderSizeMismatch,
    },
}

impl WriteWarning {
    /// The index of the file the warning is about.
    pub fn file(&self) -> usize {
        match self {
            WriteWarning::VersionMismatch { file, .. } | WriteWarning::HeaderSize { file, .. } => {
                *file
            }
        }
    }
}

/// The warnings about an MCUboot image `data` written at `addr` (file
/// number `file`); none for other data.
fn image_warnings(file: usize, addr: u32, data: &[u8]) -> Vec<WriteWarning> {
    let mut out = Vec::new();
    let Some(header) = data
        .get(..IMAGE_HEADER_SIZE)
        .and_then(|h| ImageHeader::parse(h).ok())
    else {
        return out;
    };
    let at = usize::from(header.hdr_size);
    if let Some(load) = data
        .get(at..at.saturating_add(LOAD_HEADER_LEN))
        .and_then(|raw| LoadHeader::parse(raw).ok())
    {
        if let Err(mismatch) = check_header_size(&load, u32::from(header.hdr_size)) {
            out.push(WriteWarning::HeaderSize {
                file,
                addr,
                mismatch,
            });
        }
    }
    if let Some(built) = built_version(data) {
        let signed = header.version.to_string();
        if built != signed {
            out.push(WriteWarning::VersionMismatch {
                file,
                addr,
                signed,
                built,
            });
        }
    }
    out
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenFile {
    /// Start address.
    pub addr: u32,
    /// Bytes written (the file, padded to the AES block when encrypted).
    pub size: u32,
    /// End address (exclusive).
    pub end: u64,
    /// The region of the flash map holding the write, if any.
    pub region: Option<String>,
}

/// Why the flash cannot be read or written through the ROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadRefused {
    #[error(
        "ROM download mode is disabled in eFuse (DIS_DOWNLOAD_MODE): esptool cannot connect, so \
         the flash can no longer be read or written"
    )]
    /// DIS_DOWNLOAD_MODE is burned.
    Disabled,
    #[error(
        "the ROM is in secure download mode (ENABLE_SECURITY_DOWNLOAD): flash reads are refused"
    )]
    /// Secure download mode refuses flash reads.
    SecureRead,
}

/// What a flash access through the ROM does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashAccess {
    /// Reading flash.
    Read,
    /// Writing flash.
    Write,
}

/// What the ROM's download mode lets esptool do: writes need it enabled or
/// secure, reads need it fully enabled.
///
/// # Errors
/// [`DownloadRefused`] when the eFuses forbid the access.
pub fn check_download_mode(device: &Device, access: FlashAccess) -> Result<(), DownloadRefused> {
    let Some(efuses) = &device.efuses else {
        return Ok(());
    };
    match (fuses::download_mode(efuses), access) {
        (DownloadMode::Disabled, _) => Err(DownloadRefused::Disabled),
        (DownloadMode::Secure, FlashAccess::Read) => Err(DownloadRefused::SecureRead),
        _ => Ok(()),
    }
}

/// Why `sim write` wrote nothing (or, for [`WriteError::Device`], stopped).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The ROM's download mode refuses the access.
    #[error(transparent)]
    Download(#[from] DownloadRefused),
    /// `--encrypt` on a target without a chip model.
    #[error("--encrypt: {target} has no eFuses here (no chip model)")]
    NoEfuses {
        /// The device's target.
        target: Target,
    },
    /// `--encrypt` refused by the eFuses.
    #[error("--encrypt: {0}{hint}", hint = if matches!(.0, ManualEncryptError::Disabled) {
        "; write data encrypted on the host with `espboot secure encrypt-flash-data` instead"
    } else {
        ""
    })]
    ManualEncrypt(ManualEncryptError),
    /// File number `file` does not belong at its address.
    #[error("{reason}{hint}", hint = refusal_hint(.reason, *.chip_decrypts))]
    Refused {
        /// Index into the files given.
        file: usize,
        /// Where the file was to go.
        addr: u32,
        /// Why it does not belong there.
        reason: PreflightError,
        /// Flash encryption is on and the data was not encrypted: the
        /// checks saw what the chip would decrypt.
        chip_decrypts: bool,
    },
    /// `--encrypt` could not encrypt file number `file`.
    #[error("--encrypt: {source}")]
    Encrypt {
        /// Index into the files given.
        file: usize,
        /// Where the file was to go.
        addr: u32,
        /// Why encryption failed.
        source: FlashCryptError,
    },
    /// Writing file number `file` failed (earlier files are written).
    #[error("{source}")]
    Device {
        /// Index into the files given.
        file: usize,
        /// Where the file was to go.
        addr: u32,
        /// Why the write failed.
        source: DeviceError,
    },
}

impl WriteError {
    /// The index and address of the file the error is about, if any.
    pub fn file(&self) -> Option<(usize, u32)> {
        match self {
            WriteError::Refused { file, addr, .. }
            | WriteError::Encrypt { file, addr, .. }
            | WriteError::Device { file, addr, .. } => Some((*file, *addr)),
            _ => None,
        }
    }
}

fn refusal_hint(reason: &PreflightError, chip_decrypts: bool) -> &'static str {
    match reason {
        // --force cannot make the flash larger.
        PreflightError::BeyondFlash { .. } => "",
        // plaintext written to an encrypted chip reads as garbage
        _ if chip_decrypts => {
            " (flash encryption is on and the chip decrypts what it reads: write data encrypted \
             with `espboot secure encrypt-flash-data`, or use --encrypt; --force writes it anyway)"
        }
        _ => " (--force writes it anyway)",
    }
}

/// Writes `files` to `device` as esptool's `write_flash` does through the
/// ROM (erase the covered sectors, program), checking every file first.
///
/// # Errors
/// [`WriteError`]; nothing is written unless the error is
/// [`WriteError::Device`].
pub fn write_files(
    device: &mut Device,
    files: &[FileWrite<'_>],
    options: WriteOptions,
) -> Result<WriteReport, WriteError> {
    check_download_mode(device, FlashAccess::Write)?;
    let crypt: Option<Box<dyn FlashCrypt>> = if options.encrypt {
        let efuses = device.efuses.as_ref().ok_or(WriteError::NoEfuses {
            target: device.settings.target,
        })?;
        Some(fuses::manual_encrypt_crypt(efuses).map_err(WriteError::ManualEncrypt)?)
    } else {
        None
    };
    // With flash encryption on, what the chip will see of raw data is its
    // decryption: that is what the checks look at.
    let chip_view = match (&crypt, &device.efuses) {
        (None, Some(efuses)) => fuses::flash_crypt(efuses).ok().flatten(),
        _ => None,
    };
    let mut writes = Vec::with_capacity(files.len());
    let mut warnings = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let addr = file.addr;
        let mut view = std::borrow::Cow::Borrowed(file.data);
        if let Some(chip_crypt) = &chip_view {
            let mut plain = file.data.to_vec();
            plain.resize(
                file.data.len().div_ceil(ENCRYPT_BLOCK) * ENCRYPT_BLOCK,
                0xff,
            );
            if chip_crypt.decrypt(addr, &mut plain).is_ok() {
                plain.truncate(file.data.len());
                view = std::borrow::Cow::Owned(plain);
            }
        }
        if !options.force {
            let settings = &device.settings;
            check_write(settings.target, &settings.map, addr, &view).map_err(|reason| {
                WriteError::Refused {
                    file: index,
                    addr,
                    reason,
                    chip_decrypts: chip_view.is_some(),
                }
            })?;
        }
        warnings.extend(image_warnings(index, addr, &view));
        let mut data = file.data.to_vec();
        if let Some(crypt) = &crypt {
            data.resize(data.len().div_ceil(ENCRYPT_BLOCK) * ENCRYPT_BLOCK, 0xff);
            crypt
                .encrypt(addr, &mut data)
                .map_err(|source| WriteError::Encrypt {
                    file: index,
                    addr,
                    source,
                })?;
        }
        writes.push((addr, data));
    }
    let regions = device.settings.map.regions();
    let mut report = WriteReport {
        files: Vec::with_capacity(writes.len()),
        encrypted: crypt.is_some(),
        warnings,
    };
    for (index, (addr, data)) in writes.into_iter().enumerate() {
        device
            .write_flash(addr, &data)
            .map_err(|source| WriteError::Device {
                file: index,
                addr,
                source,
            })?;
        let end = u64::from(addr) + data.len() as u64;
        let region = regions
            .iter()
            .find(|(_, span)| addr >= span.offset && end <= span.end() && !data.is_empty())
            .map(|(name, _)| name.clone());
        report.files.push(WrittenFile {
            addr,
            size: data.len() as u32,
            end,
            region,
        });
    }
    Ok(report)
}
