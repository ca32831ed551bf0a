//! The MCUboot-compatible boot state machine: `no_std`, no allocator,
//! `forbid(unsafe_code)`, over the `embedded-storage` [`NorFlash`] traits.
//!
//! It reads and writes the same on-flash structures as MCUboot (image
//! trailer, swap status records, swap types), so images signed by imgtool and
//! update agents that call `boot_set_pending` / `boot_set_confirmed` (Zephyr,
//! NuttX) work unchanged, and an upgrade interrupted at any flash operation
//! resumes exactly as MCUboot would resume it.
//!
//! Principal items:
//! - [`BootConfig`]: flash map ([`ImageSlots`], scratch [`Area`]), geometry
//!   ([`SectorLayout`], write size, `BOOT_MAX_ALIGN`, erased value,
//!   `BOOT_MAX_IMG_SECTORS`), [`UpgradeStrategy`], [`DowngradePrevention`],
//!   embedded keys and the [`SignatureKind`];
//! - [`boot`]: one power-on of the bootloader; returns a [`BootResponse`]
//!   (the [`BootedImage`]s and the [`SwapType`] acted upon) or a
//!   [`BootError`]; flash errors (a power cut in a simulation) abort it
//!   unchanged, and calling [`boot`] again resumes;
//! - [`boot_cached`]: the same boot taking image validation results from a
//!   [`ValidationCache`] that vouches for unchanged image bytes (for
//!   simulators that boot the same images thousands of times);
//! - the application side: [`set_pending`] and [`set_confirmed`];
//! - inspection: [`read_trailer`], [`read_scratch_trailer`], [`slot_header`],
//!   [`decide_swap_type`] (the swap-type decision table), [`max_image_size`];
//! - for serial recovery: [`validate_slot_image`] (`bs_list`'s check) and
//!   [`status_offset`] (`boot_status_off`).
//!
//! Image parsing and verification (header checks, TLV iteration, hash,
//! key-hash lookup, signature, TLV allow-list) come from `mcuboot-image`,
//! and so does the trailer's format (`mcuboot_image::codec::trailer`: the
//! magic, [`magic_for`], the layout), which the signer writes from the same
//! definitions.
//!
//! Features: `rsa` (RSA-PSS signatures; the `rsa` crate allocates),
//! `alloc` (`owned::OwnedBootConfig`, a configuration that owns its
//! slices, for hosts such as simulators that build configurations at run
//! time), `serde` (derives on the configuration and trailer enums).
//!
//! Modules, by what they do: `geometry` (areas and sectors, a leaf),
//! `config` (the [`BootConfig`] and its checks), `flash` (area-relative
//! access, MCUboot's erase and copy granularity), `trailer` and `status`
//! (the trailer fields and the swap progress records), `loader` (the boot
//! flow, one file per step) and `swap` (one file per strategy, with the
//! sector step swap-move and swap-offset share).
//!
//! Fidelity notes: flash operations (one erase per sector, copies in
//! 1 KiB writes, one write per trailer field or status record) are issued
//! in MCUboot's order, so power-cut points line up with MCUboot's simulator.
//! One deliberate difference: when resuming a swap-offset upgrade at its
//! last sector, MCUboot's header lookup mixes a 1-based and a 0-based index
//! and then skips copying the old image's last sector; this crate does not.
//! Encrypted images are not supported yet ([`ImageCipher`] is the seam).
//!
//! # Example
//!
//! An erased device has nothing to boot; `set_pending` writes what
//! `boot_set_pending` writes into the secondary slot's trailer (the next
//! `boot` would then validate and swap in the secondary image).
//!
//! ```
//! use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
//! use mcuboot_boot::{
//!     boot, set_pending, Area, BootConfig, BootError, DowngradePrevention, ImageSlots,
//!     SectorLayout, UpgradeStrategy,
//! };
//!
//! // A RAM-backed NOR flash (4 KiB sectors, 64 KiB).
//! struct Ram(Vec<u8>);
//! impl ErrorType for Ram { type Error = NorFlashErrorKind; }
//! impl ReadNorFlash for Ram {
//!     const READ_SIZE: usize = 1;
//!     fn read(&mut self, off: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
//!         let o = off as usize;
//!         buf.copy_from_slice(self.0.get(o..o + buf.len()).ok_or(NorFlashErrorKind::OutOfBounds)?);
//!         Ok(())
//!     }
//!     fn capacity(&self) -> usize { self.0.len() }
//! }
//! impl NorFlash for Ram {
//!     const WRITE_SIZE: usize = 1;
//!     const ERASE_SIZE: usize = 4096;
//!     fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
//!         self.0[from as usize..to as usize].fill(0xff);
//!         Ok(())
//!     }
//!     fn write(&mut self, off: u32, data: &[u8]) -> Result<(), Self::Error> {
//!         let o = off as usize;
//!         for (d, s) in self.0[o..o + data.len()].iter_mut().zip(data) { *d &= *s; }
//!         Ok(())
//!     }
//! }
//!
//! let images = [ImageSlots {
//!     primary: Area::new(0x0000, 0x6000),
//!     secondary: Area::new(0x6000, 0x6000),
//! }];
//! let cfg = BootConfig {
//!     images: &images,
//!     scratch: Some(Area::new(0xc000, 0x1000)),
//!     strategy: UpgradeStrategy::SwapScratch,
//!     downgrade: DowngradePrevention::Off,
//!     write_size: 4,
//!     sectors: SectorLayout::Uniform(4096),
//!     max_align: 8,
//!     erased_val: 0xff,
//!     max_sectors: 8,
//!     bootstrap: false,
//!     keys: &[],
//!     signature: None,
//!     encryption: None,
//! };
//! let mut flash = Ram(vec![0xff; 0x10000]);
//! // Nothing to boot on an erased device.
//! assert!(matches!(boot(&mut flash, &cfg), Err(BootError::NoBootableImage { image: 0 })));
//! // What `boot_set_pending(0)` writes: magic and swap_info in the secondary trailer.
//! set_pending(&mut flash, &cfg, 0, false)?;
//! let t = mcuboot_boot::read_trailer(&mut flash, &cfg, 0, mcuboot_boot::Slot::Secondary)?;
//! assert_eq!(t.magic, mcuboot_boot::MagicState::Good);
//! # Ok::<(), BootError<NorFlashErrorKind>>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod cache;
mod config;
mod enc;
mod error;
mod flash;
mod geometry;
mod loader;
#[cfg(feature = "alloc")]
pub mod owned;
mod recovery;
mod source;
mod status;
mod swap;
mod trailer;

#[cfg(test)]
#[allow(unreachable_pub)] // fixture modules inside the tests
mod tests;

pub use cache::ValidationCache;
pub use config::{BootConfig, DowngradePrevention, ImageSlots, Slot, UpgradeStrategy, MAX_IMAGES};
pub use enc::ImageCipher;
pub use error::{BootError, ConfigError, ReadBeyondSlot, SlotRefusal};
pub use geometry::{Area, GeometryError, SectorLayout, SectorRun};
pub use loader::{BootResponse, BootedImage};
pub use mcuboot_image::codec::trailer::{
    magic_for, FLAG_SET, MAGIC_ALIGN8, MAGIC_SIZE, MAGIC_TAIL_WIDE,
};
pub use mcuboot_image::{ImageHeader, ImageVersion, SignatureKind};
pub use recovery::{status_offset, validate_slot_image, SlotImage};
pub use trailer::{FlagState, MagicState, SwapType, TrailerState};

use embedded_storage::nor_flash::NorFlash;

use crate::flash::Flash;
use crate::loader::Loader;
use crate::trailer::Trailer;

/// One power-on of the bootloader (`boot_go`): finishes an interrupted swap,
/// decides and performs upgrades/reverts, validates what will run.
///
/// | Step | What happens (`context_boot_go`, `loader.c`) |
/// |---|---|
/// | 1 | per image: read the headers; if the slots are compatible, find the swap status (primary or scratch trailer); an interrupted swap is finished (then image_ok for PERM/REVERT, copy_done for upgrades) and the swap type becomes NONE; otherwise the [`decide_swap_type`] table gives the type and the secondary image is validated (invalid → scrambled, NONE); with `bootstrap`, an empty or invalid primary and a valid secondary give REVERT |
/// | 2 | two images with an upgrade: every DEPENDENCY of the image that will run must be met by the other image's version that will run, else no image is upgraded |
/// | 3 | per image: TEST/PERM pass downgrade prevention (else the secondary is scrambled) and are performed like REVERT: swap (or copy), then image_ok for PERM/REVERT and copy_done; FAIL writes image_ok |
/// | 4 | per image: the primary slot is validated (`MCUBOOT_VALIDATE_PRIMARY_SLOT`, as the Espressif port builds MCUboot); failure is [`BootError::NoBootableImage`] |
///
/// Each strategy's swap steps and status records are described on
/// [`UpgradeStrategy`].
///
/// # Errors
/// [`BootError::Flash`] when the flash fails (the state on flash is then
/// whatever the interrupted operation left, and the next call resumes);
/// [`BootError::NoBootableImage`] when no valid image ends up in a primary
/// slot; [`BootError::Config`] for an inconsistent configuration.
pub fn boot<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
) -> Result<BootResponse, BootError<F::Error>> {
    loader::run(flash, cfg, None)
}

/// [`boot`] with remembered validation results: an image whose flash bytes
/// `cache` vouches for is not hashed again. Flash operations, their order
/// and the outcome are those of [`boot`] as long as `cache` keeps the
/// [`ValidationCache`] contract; only reads are saved.
///
/// # Errors
/// As [`boot`].
pub fn boot_cached<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
    cache: &mut dyn ValidationCache<F>,
) -> Result<BootResponse, BootError<F::Error>> {
    loader::run(flash, cfg, Some(cache))
}

/// What the running application calls to request an upgrade of `image` to
/// the secondary slot's image (`boot_set_pending_multi`): writes the
/// secondary trailer's magic, image_ok if `permanent`, and swap_info
/// (TEST or PERM). Nothing happens if the magic is already written.
///
/// # Errors
/// [`BootError::BadTrailerMagic`] when the secondary trailer's magic is
/// corrupt (`BOOT_EBADIMAGE`); flash and configuration errors.
pub fn set_pending<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
    image: usize,
    permanent: bool,
) -> Result<(), BootError<F::Error>> {
    let (mut fl, slots) = open(flash, cfg, image)?;
    let t = Trailer::new(cfg, slots.secondary, false);
    let st = t.read_state(&mut fl)?;
    match st.magic {
        MagicState::Good => Ok(()),
        MagicState::Bad => Err(BootError::BadTrailerMagic { image }),
        MagicState::Unset => {
            t.write_magic(&mut fl)?;
            if permanent {
                t.write_image_ok(&mut fl)?;
            }
            let ty = if permanent {
                SwapType::Perm
            } else {
                SwapType::Test
            };
            t.write_swap_info(&mut fl, ty, image as u8)
        }
    }
}

/// What the running application calls to keep the image it runs
/// (`boot_set_confirmed_multi`): writes image_ok in the primary trailer when
/// the magic is good and image_ok is unset. Nothing happens on an erased
/// trailer.
///
/// # Errors
/// [`BootError::BadTrailerMagic`] when the primary trailer's magic is
/// corrupt (`BOOT_EBADVECT`); flash and configuration errors.
pub fn set_confirmed<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
    image: usize,
) -> Result<(), BootError<F::Error>> {
    let (mut fl, slots) = open(flash, cfg, image)?;
    let t = Trailer::new(cfg, slots.primary, false);
    let st = t.read_state(&mut fl)?;
    match st.magic {
        MagicState::Good if st.image_ok == FlagState::Unset => t.write_image_ok(&mut fl),
        MagicState::Good | MagicState::Unset => Ok(()),
        MagicState::Bad => Err(BootError::BadTrailerMagic { image }),
    }
}

/// Decodes the trailer of one slot (`boot_read_swap_state`).
///
/// # Errors
/// Flash and configuration errors.
pub fn read_trailer<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
    image: usize,
    slot: Slot,
) -> Result<TrailerState, BootError<F::Error>> {
    let (mut fl, slots) = open(flash, cfg, image)?;
    Trailer::new(cfg, slots.area(slot), false).read_state(&mut fl)
}

/// Decodes the scratch area's trailer, if there is a scratch area.
///
/// # Errors
/// Flash and configuration errors.
pub fn read_scratch_trailer<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
) -> Result<Option<TrailerState>, BootError<F::Error>> {
    check_config::<F>(cfg)?;
    let Some(area) = cfg.scratch else {
        return Ok(None);
    };
    let mut fl = Flash {
        dev: flash,
        erased: cfg.erased_val,
    };
    Trailer::new(cfg, area, true).read_state(&mut fl).map(Some)
}

/// The image header in a slot, or `None` if the slot holds no image magic.
/// For swap-offset's secondary slot, a new image (at sector 1) is preferred
/// over an old one at offset 0.
///
/// # Errors
/// Flash and configuration errors.
pub fn slot_header<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
    image: usize,
    slot: Slot,
) -> Result<Option<ImageHeader>, BootError<F::Error>> {
    let (mut fl, slots) = open(flash, cfg, image)?;
    let area = slots.area(slot);
    let mut offsets = [0u32, 0u32];
    if cfg.strategy == UpgradeStrategy::SwapOffset && slot == Slot::Secondary {
        offsets[0] = geometry::AreaGeometry::new(cfg.sectors, area)
            .map_err(ConfigError::from)?
            .sector(0)
            .1;
    }
    for off in offsets {
        let mut raw = [0u8; 32];
        fl.read(area, off, &mut raw)?;
        let h = ImageHeader::decode(&raw);
        if h.magic == mcuboot_image::IMAGE_MAGIC {
            return Ok(Some(h));
        }
    }
    Ok(None)
}

/// Why the primary slot of `image` would not boot, as the last step of
/// [`boot`] validates it, or `None` when it holds a bootable image. Reads
/// only: for reporting a [`BootError::NoBootableImage`] with its reason.
///
/// # Errors
/// Flash and configuration errors.
pub fn primary_slot_refusal<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
    image: usize,
) -> Result<Option<SlotRefusal>, BootError<F::Error>> {
    check_config::<F>(cfg)?;
    trailer::image_slots::<F::Error>(cfg, image)?;
    let mut ld = Loader::new(flash, cfg);
    ld.cur = image;
    ld.read_image_headers(false, None)?;
    ld.primary_refusal()
}

/// `bootutil_max_image_size`: the largest image (header, payload and all
/// TLVs) the bootloader accepts in `image`'s slots with this configuration.
///
/// # Errors
/// Flash and configuration errors.
pub fn max_image_size<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
    image: usize,
) -> Result<u32, BootError<F::Error>> {
    check_config::<F>(cfg)?;
    trailer::image_slots::<F::Error>(cfg, image)?;
    let mut ld = Loader::new(flash, cfg);
    ld.cur = image;
    ld.max_image_size()
}

/// The swap-type decision table (`boot_swap_type_multi`,
/// `bootutil_public.c`; mcuboot.md §3.1). Rows in order, first match wins:
///
/// | # | pri magic | sec magic | pri image_ok | sec image_ok | pri copy_done | sec copy_done | type |
/// |---|---|---|---|---|---|---|---|
/// | 0 (swap-offset only) | any | GOOD | any | UNSET | any | SET | REVERT |
/// | 1 | any | GOOD | any | UNSET | any | any | TEST |
/// | 2 | any | GOOD | any | SET | any | any | PERM |
/// | 3 | GOOD | any | UNSET | any | SET | any | REVERT |
/// | — | otherwise | | | | | | NONE |
pub fn decide_swap_type(
    primary: &TrailerState,
    secondary: &TrailerState,
    strategy: UpgradeStrategy,
) -> SwapType {
    let sec_good = secondary.magic == MagicState::Good;
    if strategy == UpgradeStrategy::SwapOffset
        && sec_good
        && secondary.image_ok == FlagState::Unset
        && secondary.copy_done == FlagState::Set
    {
        return SwapType::Revert;
    }
    if sec_good && secondary.image_ok == FlagState::Unset {
        return SwapType::Test;
    }
    if sec_good && secondary.image_ok == FlagState::Set {
        return SwapType::Perm;
    }
    if primary.magic == MagicState::Good
        && primary.image_ok == FlagState::Unset
        && primary.copy_done == FlagState::Set
    {
        return SwapType::Revert;
    }
    SwapType::None
}

/// What every application-side entry point starts with: the configuration
/// checked against the driver, `image`'s slots, and area-relative access.
fn open<'f, F: NorFlash>(
    flash: &'f mut F,
    cfg: &BootConfig<'_>,
    image: usize,
) -> Result<(Flash<'f, F>, ImageSlots), BootError<F::Error>> {
    check_config::<F>(cfg)?;
    let slots = trailer::image_slots(cfg, image)?;
    let fl = Flash {
        dev: flash,
        erased: cfg.erased_val,
    };
    Ok((fl, slots))
}

/// Configuration checks shared by every entry point.
pub(crate) fn check_config<F: NorFlash>(cfg: &BootConfig<'_>) -> Result<(), ConfigError> {
    cfg.check()?;
    if F::WRITE_SIZE == 0 || !(cfg.write_size as usize).is_multiple_of(F::WRITE_SIZE) {
        return Err(ConfigError::FlashWriteSize {
            flash: F::WRITE_SIZE,
            configured: cfg.write_size,
        });
    }
    if cfg.encryption.is_some() {
        return Err(ConfigError::EncryptionUnsupported);
    }
    for img in cfg.images {
        for area in [img.primary, img.secondary] {
            trailer::Layout::for_area(cfg, area, false).check(area)?;
        }
    }
    if cfg.strategy == UpgradeStrategy::SwapScratch {
        if let Some(s) = cfg.scratch {
            trailer::Layout::for_area(cfg, s, true).check(s)?;
        }
    }
    Ok(())
}
