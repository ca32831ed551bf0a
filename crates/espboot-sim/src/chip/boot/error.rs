//! Errors of the application-side calls and sweeps on a chip.

use super::*;

/// Errors of the application-side calls and sweeps on a chip.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChipError {
    #[error("flash encryption: {0}")]
    /// The eFuses' flash encryption cannot be used.
    FlashEncryption(#[from] FuseError),
    #[error("reading the bootloader: {0}")]
    /// The bootloader could not be read.
    ReadBootloader(ReadBootloaderError),
    #[error("no valid bootloader at {offset:#x}: {source}")]
    /// No valid bootloader at the chip's bootloader offset.
    Bootloader {
        /// The bootloader offset.
        offset: u32,
        /// What is wrong with it.
        source: BootloaderError,
    },
    #[error("bootloader configuration: {0}")]
    /// The configuration the bootloader carries is inconsistent.
    Config(#[from] ConfigError),
    #[error("image {image} is not configured (the bootloader has {count} image(s))")]
    /// An image index the bootloader does not configure.
    NoSuchImage {
        /// The image.
        image: usize,
        /// How many images the bootloader configures.
        count: usize,
    },
    /// The boot core refused the call.
    #[error(transparent)]
    Boot(BootError<PortFlashError>),
    /// The boot configuration the bootloader carries is inconsistent.
    #[error(transparent)]
    BootConfig(mcuboot_boot::ConfigError),
    /// Reading or writing through the port's flash backend failed.
    #[error(transparent)]
    PortFlash(#[from] PortFlashError),
    /// Reading the flash directly failed.
    #[error(transparent)]
    Flash(#[from] flash_sim::flash::FlashError),
    /// Decrypting what was read failed.
    #[error(transparent)]
    Decrypt(#[from] FlashCryptError),
    /// A sweep needs a bootable reference: the uninterrupted power-on
    /// (its report) started nothing.
    #[error("the uninterrupted boot fails, nothing to sweep against: {}", .0.boot.error.as_deref().unwrap_or("unknown"))]
    ReferenceFails(Box<ChipBootReport>),
    /// A target without a ROM stage: the boot core alone.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The boot core's parallel sweep ([`sweep_device`] without flash
    /// encryption) failed.
    #[error(transparent)]
    FlashSweep(RunError),
    /// An update larger than the secondary slot's room for it.
    #[error("image {image}: the update is {len} bytes but its slot has room for {room}")]
    UpdateTooLarge {
        /// The image.
        image: usize,
        /// The length in bytes.
        len: usize,
        /// The room in the slot, in bytes.
        room: u32,
    },
    /// `set-pending` with nothing to upgrade to: MCUboot would find no
    /// image at the next boot and erase the slot's trailer again.
    #[error("image {image}: the secondary slot ({:#x}..{:#x}) holds no image to upgrade to: {why}", slot.offset, u64::from(slot.offset) + u64::from(slot.size))]
    NoUpgradeImage {
        /// The image.
        image: usize,
        /// The slot.
        slot: mcuboot_boot::Area,
        /// Why.
        why: NoUpgradeImage,
    },
}

/// Why the secondary slot holds no upgrade image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoUpgradeImage {
    /// The image's place in the slot is erased.
    #[error("it is erased; write a signed image there first")]
    Erased,
    /// Erased, on a device whose flash is encrypted: through the port's
    /// encrypted backend erased flash reads back as garbage, so MCUboot sees
    /// a corrupt image rather than an empty slot.
    #[error("it is erased, and with flash encryption on erased flash reads back as garbage, not as an image; write an encrypted signed image there first")]
    ErasedEncrypted,
    /// Something is there, but not an MCUboot image.
    #[error("no MCUboot image header there ({0})")]
    NotAnImage(mcuboot_image::HeaderError),
}
