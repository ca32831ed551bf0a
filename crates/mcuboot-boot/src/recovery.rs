//! What MCUboot's serial recovery asks of the boot core
//! (`boot/boot_serial/src/boot_serial.c`: `bs_list` validates every slot
//! that holds an image header, `bs_upload` erases the sector of the
//! primary slot's status area after a progressive-erase upload).

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::{ImageHeader, Validated, IMAGE_MAGIC};

use crate::config::{BootConfig, Slot, UpgradeStrategy};
use crate::error::{BootError, ConfigError};
use crate::geometry::AreaGeometry;
use crate::loader::Loader;
use crate::trailer::{self, Layout};

/// An image that validated in a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotImage {
    /// Its header.
    pub header: ImageHeader,
    /// The validation outcome (the hash is the image's hash TLV value).
    pub validated: Validated,
}

/// The image in `image`'s `slot` if its header magic is right and it passes
/// `bootutil_img_validate` with the configured keys and options, as
/// `bs_list` checks it. For swap-offset's secondary slot the image is looked
/// for one sector in, unless the image's swap type is REVERT.
///
/// # Errors
/// Flash and configuration errors; an image that does not validate is
/// `Ok(None)`.
pub fn validate_slot_image<F: NorFlash>(
    flash: &mut F,
    cfg: &BootConfig<'_>,
    image: usize,
    slot: Slot,
) -> Result<Option<SlotImage>, BootError<F::Error>> {
    crate::check_config::<F>(cfg)?;
    let slots = trailer::image_slots(cfg, image)?;
    let mut ld = Loader::new(flash, cfg);
    ld.cur = image;
    if cfg.strategy == UpgradeStrategy::SwapOffset
        && slot == Slot::Secondary
        && ld.swap_type_multi(image)? != crate::SwapType::Revert
    {
        ld.sec_off[image] = AreaGeometry::new(cfg.sectors, slots.secondary)
            .map_err(ConfigError::from)?
            .sector(0)
            .1;
    }
    let area = ld.area(slot);
    let base = ld.image_base(slot)?;
    let mut raw = [0u8; 32];
    ld.fl.read(area, base, &mut raw)?;
    ld.raw[image][slot.index()] = raw;
    let header = ImageHeader::decode(&raw);
    if header.magic != IMAGE_MAGIC {
        return Ok(None);
    }
    Ok(ld
        .validated(slot)?
        .map(|validated| SlotImage { header, validated }))
}

/// `boot_status_off()` of an image's slot: the offset, from the start of
/// the slot, of its trailer's swap status area.
///
/// # Errors
/// [`ConfigError`] for an inconsistent configuration or a missing image.
pub fn status_offset(cfg: &BootConfig<'_>, image: usize, slot: Slot) -> Result<u32, ConfigError> {
    cfg.check()?;
    let slots = cfg
        .images
        .get(image)
        .ok_or(ConfigError::ImageIndex(image))?;
    let area = match slot {
        Slot::Primary => slots.primary,
        Slot::Secondary => slots.secondary,
    };
    Ok(Layout::for_area(cfg, area, false).status_off())
}
