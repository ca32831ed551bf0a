//! Error types. `E` is the flash driver's error type: it is propagated
//! unchanged, so a power cut injected by a simulated flash simply aborts the
//! boot (the next `boot()` resumes, as MCUboot does after a reset).

use core::fmt;

use crate::geometry::{Area, GeometryError};

/// Inconsistent [`BootConfig`](crate::BootConfig).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `images` must hold 1 or 2 entries.
    ImageCount(usize),
    /// `max_align` must be 8, 16 or 32 (`bootutil_public.h`).
    MaxAlign(u32),
    /// `write_size` must be a power of two in 1..=32 and at most `max_align`.
    WriteSize(u32),
    /// `erased_val` must be 0xff or 0x00.
    ErasedValue(u8),
    /// `max_sectors` must be in 1..=2^20.
    MaxSectors(u32),
    /// Swap-scratch needs a scratch area.
    MissingScratch,
    /// An area does not fit the sector layout.
    Geometry(GeometryError),
    /// The trailer does not fit in this area.
    TrailerTooLarge(Area),
    /// Two areas overlap.
    Overlap(Area, Area),
    /// An image index beyond `images`.
    ImageIndex(usize),
    /// Encrypted images are not supported yet (`BootConfig::encryption`).
    EncryptionUnsupported,
    /// The flash's `WRITE_SIZE` does not divide `write_size`.
    FlashWriteSize {
        /// `NorFlash::WRITE_SIZE` of the driver.
        flash: usize,
        /// The configured `write_size`.
        configured: u32,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ImageCount(n) => write!(f, "image count {n}: expected 1 or 2"),
            ConfigError::MaxAlign(a) => write!(f, "max align {a}: expected 8, 16 or 32"),
            ConfigError::WriteSize(w) => {
                write!(
                    f,
                    "write size {w}: expected a power of two in 1..=32, at most max align"
                )
            }
            ConfigError::ErasedValue(v) => {
                write!(f, "erased value {v:#04x}: expected 0xff or 0x00")
            }
            ConfigError::MaxSectors(m) => write!(f, "max sectors {m}: expected 1..=1048576"),
            ConfigError::MissingScratch => write!(f, "swap using scratch needs a scratch area"),
            ConfigError::Geometry(e) => e.fmt(f),
            ConfigError::TrailerTooLarge(a) => write!(
                f,
                "the trailer does not fit in the area {:#x}+{:#x}",
                a.offset, a.size
            ),
            ConfigError::Overlap(a, b) => write!(
                f,
                "areas {:#x}+{:#x} and {:#x}+{:#x} overlap",
                a.offset, a.size, b.offset, b.size
            ),
            ConfigError::ImageIndex(i) => write!(f, "image index {i} is not configured"),
            ConfigError::EncryptionUnsupported => {
                write!(f, "encrypted images are not supported yet")
            }
            ConfigError::FlashWriteSize { flash, configured } => write!(
                f,
                "write size {configured} is not a multiple of the flash write size {flash}"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

impl From<GeometryError> for ConfigError {
    fn from(e: GeometryError) -> Self {
        ConfigError::Geometry(e)
    }
}

/// Errors of [`boot`](crate::boot) and the application-side API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootError<E> {
    /// The flash driver failed (or, in a simulation, the power was cut).
    Flash(E),
    /// The configuration is inconsistent.
    Config(ConfigError),
    /// After all upgrade steps, the primary slot of this image does not hold a
    /// valid image (MCUboot: `FIH_FAILURE` from `context_boot_go`; the device
    /// does not boot).
    NoBootableImage {
        /// Image index.
        image: usize,
    },
    /// The trailer magic of the slot is neither erased nor valid
    /// (`boot_set_pending`: `BOOT_EBADIMAGE`; `boot_set_confirmed`: `BOOT_EBADVECT`).
    BadTrailerMagic {
        /// Image index.
        image: usize,
    },
    /// An access beyond the end of a flash area. Reported when an image's
    /// size fields point outside its slot (the image is then treated as
    /// invalid) and never otherwise.
    OutOfBounds {
        /// The area.
        area: Area,
    },
    /// A swap could not be finished (MCUboot: `BOOT_SWAP_TYPE_PANIC`, which
    /// asserts and loops forever).
    Panic {
        /// Image index.
        image: usize,
    },
}

impl<E> From<ConfigError> for BootError<E> {
    fn from(e: ConfigError) -> Self {
        BootError::Config(e)
    }
}

impl<E: fmt::Debug> fmt::Display for BootError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::Flash(e) => write!(f, "flash error: {e:?}"),
            BootError::Config(e) => write!(f, "invalid boot configuration: {e}"),
            BootError::NoBootableImage { image } => {
                write!(f, "image {image}: no bootable image in the primary slot")
            }
            BootError::BadTrailerMagic { image } => {
                write!(f, "image {image}: trailer magic is corrupt")
            }
            BootError::OutOfBounds { area } => write!(
                f,
                "access beyond the area {:#x}+{:#x}",
                area.offset, area.size
            ),
            BootError::Panic { image } => write!(f, "image {image}: swap could not be completed"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for BootError<E> {}

/// Why the boot core refuses the image in a primary slot: the checks of
/// `boot_validate_slot` in order (`MCUBOOT_VALIDATE_PRIMARY_SLOT`), for
/// [`primary_slot_refusal`](crate::primary_slot_refusal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotRefusal {
    /// The header's magic word is erased: no image was written there.
    Erased,
    /// The image is flagged `IMAGE_F_NON_BOOTABLE`.
    NonBootable,
    /// The header's magic is not `IMAGE_MAGIC` (`boot_check_header_valid`).
    BadMagic(u32),
    /// Header, payload and protected TLVs do not fit in the slot.
    BeyondSlot,
    /// An encrypted image, which a build without `MCUBOOT_ENC_IMAGES`
    /// refuses.
    Encrypted,
    /// A compressed image, which a build without
    /// `MCUBOOT_DECOMPRESS_IMAGES` refuses.
    Compressed,
    /// `bootutil_img_validate` refused it: the hash, the key hash, the
    /// signature, the TLV area or the size.
    Invalid(mcuboot_image::ValidateError<ReadBeyondSlot>),
    /// The validation cache holds an earlier refusal of these very bytes
    /// (it keeps the verdict, not the reason).
    RememberedInvalid,
}

impl fmt::Display for SlotRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotRefusal::Erased => f.write_str("the slot is erased"),
            SlotRefusal::NonBootable => f.write_str("the image is flagged non-bootable"),
            SlotRefusal::BadMagic(m) => write!(
                f,
                "no image header (magic {m:#010x}, expected {:#010x})",
                mcuboot_image::IMAGE_MAGIC
            ),
            SlotRefusal::BeyondSlot => f.write_str("the image's sizes reach beyond the slot"),
            SlotRefusal::Encrypted => {
                f.write_str("the image is encrypted, and this bootloader decrypts no images")
            }
            SlotRefusal::Compressed => {
                f.write_str("the image is compressed, and this bootloader decompresses no images")
            }
            SlotRefusal::Invalid(e) => e.fmt(f),
            SlotRefusal::RememberedInvalid => {
                f.write_str("the image failed validation before (the validation cache says so)")
            }
        }
    }
}

impl core::error::Error for SlotRefusal {}

/// A read during validation that fell outside the slot: the image's size
/// fields point beyond it ([`BootError::OutOfBounds`] in the boot flow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadBeyondSlot;

impl fmt::Display for ReadBeyondSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("its sizes point beyond the slot")
    }
}
