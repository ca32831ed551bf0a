//! An optional memo of image validation results, for simulators.
//!
//! A bootloader on a device validates the primary image on every boot
//! (`MCUBOOT_VALIDATE_PRIMARY_SLOT`, as the Espressif port builds MCUboot),
//! and a power-cut sweep boots the same images thousands of times: hashing
//! them again each time dominates its cost. [`boot_cached`](crate::boot_cached)
//! lets the caller remember results; [`boot`](crate::boot) uses none.
//!
//! What a result depends on: the image header the boot core validates with
//! and the flash bytes from the image start to the end of its TLV area,
//! plus the [`BootConfig`](crate::BootConfig) (keys, signature scheme,
//! maximum image size). The boot core consults the cache only when the
//! header it holds equals the header bytes on flash, and hands the cache
//! the exact flash range of the image; so a cache that answers only when
//! that range holds byte for byte what it held when the result was stored
//! (and serves a single configuration) returns exactly what validating
//! again would return. Nothing else is skipped: flash operations and their
//! order are the same with or without a cache.

use core::ops::Range;

/// Remembered validation results, keyed by the flash contents of an image.
///
/// # Contract
/// [`lookup`](Self::lookup) may return a result only if the bytes of `image`
/// on `flash` are identical to the bytes there when that result was
/// [`store`](Self::store)d for the same range, and only within one boot
/// configuration. Anything weaker (a checksum, a write counter that misses
/// a change) could let a modified image boot.
pub trait ValidationCache<F> {
    /// The validation result stored for `image` (absolute flash addresses,
    /// header to the end of the TLV area) if `flash` still holds exactly
    /// the bytes it held then; `None` to have the image validated.
    fn lookup(&mut self, flash: &mut F, image: Range<u32>) -> Option<bool>;

    /// Remembers that the image in `image` on `flash`, as it is now, is
    /// valid (`true`) or not.
    fn store(&mut self, flash: &mut F, image: Range<u32>, valid: bool);
}
