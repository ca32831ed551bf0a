//! What the recovery state machine needs from the device it runs on.

/// Which slot of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Slot 0, where the image runs from and where uploads go.
    Primary,
    /// Slot 1, the upgrade slot.
    Secondary,
}

impl Slot {
    /// The slot number on the wire (0 or 1).
    pub fn number(self) -> u32 {
        match self {
            Slot::Primary => 0,
            Slot::Secondary => 1,
        }
    }
}

/// Geometry of one image's slots, as the bootloader's flash map has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    /// Size of the primary slot (`flash_area_get_size`), the upload target.
    pub primary_size: u32,
    /// Size of the secondary slot (slot info).
    pub secondary_size: u32,
    /// Erase sector size of the slots (uniform; 4 KiB on the ESP chips).
    pub sector_size: u32,
    /// `flash_area_align()`: 4, or 32 with flash encryption on the ESP port.
    pub align: u32,
    /// `boot_status_off()` of the primary slot: where the swap status area
    /// of its trailer begins. Progressive erase erases its sector at the end
    /// of an upload.
    pub status_offset: u32,
    /// `bootutil_max_image_size()`, when the device can tell (slot info).
    pub max_image_size: Option<u32>,
}

/// An image version (`struct image_version`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageVersion {
    /// `iv_major`.
    pub major: u8,
    /// `iv_minor`.
    pub minor: u8,
    /// `iv_revision`.
    pub revision: u16,
    /// `iv_build_num`.
    pub build: u32,
}

impl std::fmt::Display for ImageVersion {
    /// `M.m.r`, plus `.build` only when the build number is not 0
    /// (`bs_list_img_ver`, `boot_serial.c:253-287`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.revision)?;
        if self.build != 0 {
            write!(f, ".{}", self.build)?;
        }
        Ok(())
    }
}

/// An image that validated in a slot (header magic right and
/// `bootutil_img_validate` passed with the bootloader's keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotImage {
    /// Header version.
    pub version: ImageVersion,
    /// Header flags (`IMAGE_F_*`).
    pub flags: u32,
    /// The image's SHA-256 hash TLV, when it has one.
    pub hash: Option<Vec<u8>>,
}

/// `IMAGE_F_NON_BOOTABLE` (`bootutil/image.h`).
pub const IMAGE_F_NON_BOOTABLE: u32 = 0x10;

/// `boot_swap_type_multi()` of an image (`BOOT_SWAP_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SwapType {
    /// No swap pending.
    None,
    /// Test the secondary image once.
    Test,
    /// Make the secondary image permanent.
    Perm,
    /// Revert to the previous image.
    Revert,
    /// Swap failed.
    Fail,
    /// Unrecoverable error.
    Panic,
}

/// Why `boot_set_pending_multi` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetPendingError<E> {
    /// The secondary slot's trailer magic is corrupt (`BOOT_EBADIMAGE`).
    #[error("the secondary slot's trailer magic is corrupt")]
    BadMagic,
    /// The flash failed (`BOOT_EFLASH`).
    #[error(transparent)]
    Device(E),
}

impl<E> SetPendingError<E> {
    /// The bootutil code MCUboot puts in `rc` (`bootutil.h`: `BOOT_EFLASH`
    /// 1, `BOOT_EBADIMAGE` 3).
    pub fn boot_rc(&self) -> i64 {
        match self {
            SetPendingError::BadMagic => 3,
            SetPendingError::Device(_) => 1,
        }
    }
}

/// The device under MCUboot's serial recovery: its image slots as the
/// bootloader reaches them through the port's flash backend (so that on a
/// flash-encrypted device writes store ciphertext and reads decrypt), image
/// validation with the bootloader's embedded keys, and the trailer calls.
///
/// Offsets are relative to the image's primary slot, where uploads go.
pub trait RecoveryDevice {
    /// Device failure (flash, configuration).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Number of images (`BOOT_IMAGE_NUMBER`, `CONFIG_ESP_IMAGE_NUMBER`).
    fn image_count(&self) -> usize;

    /// Geometry of `image`, `None` when there is no such image.
    fn layout(&self, image: usize) -> Option<ImageLayout>;

    /// `flash_area_erase` of `len` bytes at `offset` in `image`'s primary
    /// slot.
    ///
    /// # Errors
    /// Flash errors.
    fn erase(&mut self, image: usize, offset: u32, len: u32) -> Result<(), Self::Error>;

    /// `flash_area_write` of `data` at `offset` in `image`'s primary slot;
    /// `offset` and the length are multiples of [`ImageLayout::align`].
    ///
    /// # Errors
    /// Flash errors.
    fn write(&mut self, image: usize, offset: u32, data: &[u8]) -> Result<(), Self::Error>;

    /// The image in a slot if its header magic is right and it validates
    /// (`bs_list`: `bootutil_img_validate`), else `None`.
    ///
    /// # Errors
    /// Flash errors (the slot is then left out of the list).
    fn validated_image(
        &mut self,
        image: usize,
        slot: Slot,
    ) -> Result<Option<SlotImage>, Self::Error>;

    /// `boot_swap_type_multi(image)` from the slots' trailers.
    ///
    /// # Errors
    /// Flash errors.
    fn swap_type(&mut self, image: usize) -> Result<SwapType, Self::Error>;

    /// `boot_set_pending_multi(image, permanent)`: through the boot core's
    /// trailer code.
    ///
    /// # Errors
    /// [`SetPendingError`].
    fn set_pending(
        &mut self,
        image: usize,
        permanent: bool,
    ) -> Result<(), SetPendingError<Self::Error>>;
}
