//! The boot flow (`context_boot_go`, `boot/bootutil/src/loader.c`) for the
//! swap and overwrite strategies.
//!
//! | Step | MCUboot | Here |
//! |---|---|---|
//! | 1 | per image: read sectors, `boot_prepare_image_for_update` (resume an interrupted swap, or decide the swap type and validate the upgrade) | [`Loader::prepare_image`] |
//! | 2 | multi-image: `boot_verify_dependencies` | [`Loader::verify_dependencies`] |
//! | 3 | per image: downgrade check, `boot_perform_update`, or set image_ok for FAIL | [`Loader::perform`] |
//! | 4 | per image: validate the primary slot (`MCUBOOT_VALIDATE_PRIMARY_SLOT`) | [`Loader::finish_image`] |

mod prepare;
mod update;
mod validate;

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::{ImageHeader, TlvError, TlvIter, IMAGE_MAGIC};

use crate::cache::ValidationCache;
use crate::config::{BootConfig, ImageSlots, Slot, UpgradeStrategy, MAX_IMAGES};
use crate::error::ConfigError;
use crate::error::{BootError, SlotRefusal};
use crate::flash::{Flash, Res};
use crate::geometry::{Area, AreaGeometry};
use crate::source::AreaSource;
use crate::status::Status;
use crate::trailer::{SwapType, Trailer, TrailerState};

/// The image chosen to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootedImage {
    /// Image index.
    pub image: usize,
    /// The slot it runs from (always the primary slot for the swap and
    /// overwrite strategies).
    pub slot: Slot,
    /// That slot's flash area (`br_image_off` is `area.offset`).
    pub area: Area,
    /// Its validated header.
    pub header: ImageHeader,
}

/// What one call of [`boot`](crate::boot) did and what to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootResponse {
    /// Per configured image: the image to run. `boot()` returns an error
    /// rather than a response without images, so every configured image is
    /// `Some`.
    pub images: [Option<BootedImage>; MAX_IMAGES],
    /// Per image: the swap type acted upon in this boot (`BOOT_SWAP_TYPE`
    /// after step 3; NONE when the boot only finished an interrupted swap).
    pub swap: [SwapType; MAX_IMAGES],
    /// Per image: the type of an interrupted swap that this boot completed.
    pub resumed: [Option<SwapType>; MAX_IMAGES],
    /// Per image: why this boot refused (and erased) the image in the
    /// secondary slot, when its header or its validation failed.
    pub refused: [Option<SlotRefusal>; MAX_IMAGES],
}

/// Result of `boot_validate_slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Validity {
    /// `FIH_SUCCESS`.
    Valid,
    /// `FIH_NO_BOOTABLE_IMAGE` (erased, non-bootable, or invalid and scrambled).
    NoBootable,
}

pub(crate) struct Loader<'f, 'c, 'a, F> {
    pub fl: Flash<'f, F>,
    pub cfg: &'c BootConfig<'a>,
    /// `BOOT_CURR_IMG`.
    pub cur: usize,
    /// Raw headers per image and slot (`state->imgs[i][slot].hdr`).
    pub raw: [[[u8; 32]; 2]; MAX_IMAGES],
    /// `BOOT_SWAP_TYPE` per image.
    pub swap_type: [SwapType; MAX_IMAGES],
    pub resumed: [Option<SwapType>; MAX_IMAGES],
    /// Why a secondary slot's image was refused and erased.
    pub refused: [Option<SlotRefusal>; MAX_IMAGES],
    /// Swap-offset: where the secondary image starts (`state->secondary_offset`).
    pub sec_off: [u32; MAX_IMAGES],
    /// `state->bootstrap_secondary_offset_set`.
    pub sec_off_set: [bool; MAX_IMAGES],
    /// Unprotected TLV area sizes per image and slot, recorded by
    /// `boot_read_image_size` (`BOOT_IMG_UNPROTECTED_TLV_SIZE`).
    pub unprot: [[u16; 2]; MAX_IMAGES],
    /// The boot status left by step 1 (`bs` in `context_boot_go`): with a
    /// single image MCUboot carries it into step 3 (its status source then
    /// decides whether swap-move/offset re-initialise the primary trailer);
    /// with two images step 3 starts from a reset status.
    pub status: Status,
    /// Remembered validation results (see [`crate::ValidationCache`]).
    pub cache: Option<&'f mut dyn ValidationCache<F>>,
}

impl<'f, 'c, 'a, F: NorFlash> Loader<'f, 'c, 'a, F> {
    pub(crate) fn new(dev: &'f mut F, cfg: &'c BootConfig<'a>) -> Self {
        Loader {
            fl: Flash {
                dev,
                erased: cfg.erased_val,
            },
            cfg,
            cur: 0,
            raw: [[[0u8; 32]; 2]; MAX_IMAGES],
            swap_type: [SwapType::None; MAX_IMAGES],
            resumed: [None; MAX_IMAGES],
            refused: [None; MAX_IMAGES],
            sec_off: [0; MAX_IMAGES],
            sec_off_set: [false; MAX_IMAGES],
            unprot: [[0; 2]; MAX_IMAGES],
            status: Status::reset(cfg.strategy),
            cache: None,
        }
    }

    pub(crate) fn strategy(&self) -> UpgradeStrategy {
        self.cfg.strategy
    }

    pub(crate) fn slots(&self) -> ImageSlots {
        self.cfg.images[self.cur]
    }

    pub(crate) fn area(&self, slot: Slot) -> Area {
        self.slots().area(slot)
    }

    pub(crate) fn geo(&self, slot: Slot) -> Res<AreaGeometry<'a>, F> {
        Ok(AreaGeometry::new(self.cfg.sectors, self.area(slot)).map_err(ConfigError::from)?)
    }

    pub(crate) fn scratch_area(&self) -> Res<Area, F> {
        self.cfg
            .scratch
            .ok_or(BootError::Config(crate::error::ConfigError::MissingScratch))
    }

    pub(crate) fn scratch_geo(&self) -> Res<AreaGeometry<'a>, F> {
        Ok(AreaGeometry::new(self.cfg.sectors, self.scratch_area()?).map_err(ConfigError::from)?)
    }

    pub(crate) fn trailer(&self, slot: Slot) -> Trailer {
        Trailer::new(self.cfg, self.area(slot), false)
    }

    pub(crate) fn scratch_trailer(&self) -> Res<Trailer, F> {
        Ok(Trailer::new(self.cfg, self.scratch_area()?, true))
    }

    pub(crate) fn hdr(&self, slot: Slot) -> ImageHeader {
        ImageHeader::decode(&self.raw[self.cur][slot.index()])
    }

    /// `boot_check_header_erased`: the magic word is all erased.
    pub(crate) fn header_erased(&self, slot: Slot) -> bool {
        self.fl.is_erased(&self.raw[self.cur][slot.index()][..4])
    }

    /// `BOOT_WRITE_SZ`.
    pub(crate) fn write_sz(&self) -> u32 {
        self.cfg.write_size
    }

    /// `boot_trailer_sz(BOOT_WRITE_SZ)` of a slot.
    pub(crate) fn trailer_sz(&self) -> u32 {
        self.trailer(Slot::Primary).lay.trailer_size()
    }

    /// Offset where the image starts in `slot` (`boot_get_state_secondary_offset`):
    /// one sector into the secondary slot for swap-offset, else 0.
    pub(crate) fn image_base(&self, slot: Slot) -> Res<u32, F> {
        if self.strategy() == UpgradeStrategy::SwapOffset && slot == Slot::Secondary {
            Ok(self.sec_off[self.cur])
        } else {
            Ok(0)
        }
    }

    // ---------------------------------------------------------------- headers

    /// `boot_read_image_headers`: `Ok(false)` when a header is missing where
    /// the swap status says it must be (swap-move/offset check the magic
    /// when given a status); a missing secondary header is tolerated unless
    /// `require_all`.
    pub(crate) fn read_image_headers(
        &mut self,
        require_all: bool,
        bs: Option<&Status>,
    ) -> Res<bool, F> {
        for slot in [Slot::Primary, Slot::Secondary] {
            let raw = if self.strategy() == UpgradeStrategy::SwapOffset {
                self.offset_read_header(slot, bs)?
            } else {
                let (area, off) = self.header_location(slot, bs)?;
                let mut raw = [0u8; 32];
                self.fl.read(area, off, &mut raw)?;
                raw
            };
            self.raw[self.cur][slot.index()] = raw;
            let checks_magic = matches!(
                self.strategy(),
                UpgradeStrategy::SwapMove | UpgradeStrategy::SwapOffset
            );
            if checks_magic && bs.is_some() && ImageHeader::decode(&raw).magic != IMAGE_MAGIC {
                return Ok(slot == Slot::Secondary && !require_all);
            }
        }
        Ok(true)
    }

    /// Where `slot`'s header currently is (`boot_read_image_header` of each
    /// strategy; mid-swap the headers may sit in the other slot or scratch).
    /// Before a swap has started, every header is in its own slot.
    fn header_location(&mut self, slot: Slot, bs: Option<&Status>) -> Res<(Area, u32), F> {
        let strategy = self.strategy();
        let in_place = Ok((self.area(slot), 0));
        let Some(bs) = bs.filter(|bs| !bs.is_reset(strategy)) else {
            return in_place;
        };
        match strategy {
            UpgradeStrategy::SwapScratch => {
                let swap_size = self.find_status_trailer()?.read_swap_size(&mut self.fl)?;
                self.scratch_header_location(slot, bs, swap_size)
            }
            UpgradeStrategy::SwapMove => {
                let swap_size = self.find_status_trailer()?.read_swap_size(&mut self.fl)?;
                self.move_header_location(slot, bs, swap_size)
            }
            UpgradeStrategy::SwapOffset | UpgradeStrategy::OverwriteOnly => in_place,
        }
    }

    /// `boot_read_image_size`: end of the unprotected TLV area.
    pub(crate) fn read_image_size(&mut self, slot: Slot) -> Res<Option<u32>, F> {
        let hdr = self.hdr(slot);
        let area = self.area(slot);
        let base = self.image_base(slot)?;
        let mut src = AreaSource {
            fl: &mut self.fl,
            area,
            base,
        };
        match TlvIter::begin(&mut src, &hdr, None, false) {
            Ok(it) => {
                let tot = it.end() - it.protected_end();
                self.unprot[self.cur][slot.index()] = tot as u16;
                Ok(Some(it.end()))
            }
            Err(TlvError::Read(BootError::Flash(e))) => Err(BootError::Flash(e)),
            Err(_) => Ok(None),
        }
    }

    // --------------------------------------------------------- decision table

    /// `boot_read_swap_state` of a slot of the current image.
    pub(crate) fn read_state(&mut self, slot: Slot) -> Res<TrailerState, F> {
        let t = self.trailer(slot);
        t.read_state(&mut self.fl)
    }

    /// `boot_swap_type_multi`.
    pub(crate) fn swap_type_multi(&mut self, image: usize) -> Res<SwapType, F> {
        let saved = self.cur;
        self.cur = image;
        let pri = self.read_state(Slot::Primary);
        let sec = self.read_state(Slot::Secondary);
        self.cur = saved;
        Ok(crate::decide_swap_type(&pri?, &sec?, self.strategy()))
    }

    /// `boot_validated_swap_type`.
    fn validated_swap_type(&mut self, bs: &Status) -> Res<SwapType, F> {
        let t = self.swap_type_multi(self.cur)?;
        if t.is_upgrade() {
            match self.validate_slot(Slot::Secondary, bs, t)? {
                Validity::Valid => Ok(t),
                Validity::NoBootable => Ok(SwapType::None),
            }
        } else {
            Ok(t)
        }
    }
}

/// Runs one boot; see [`boot`](crate::boot) and
/// [`boot_cached`](crate::boot_cached).
pub(crate) fn run<'f, F: NorFlash>(
    flash: &'f mut F,
    cfg: &BootConfig<'_>,
    cache: Option<&'f mut dyn ValidationCache<F>>,
) -> Res<BootResponse, F> {
    crate::check_config::<F>(cfg)?;
    let mut ld = Loader::new(flash, cfg);
    ld.cache = cache;
    let n = cfg.images.len();
    let mut has_upgrade = false;
    for i in 0..n {
        ld.prepare_image(i)?;
        has_upgrade |= ld.swap_type[i].is_upgrade();
    }
    if n > 1 && has_upgrade {
        ld.verify_dependencies()?;
    }
    for i in 0..n {
        ld.perform(i)?;
    }
    let mut rsp = BootResponse {
        images: [None; MAX_IMAGES],
        swap: [SwapType::None; MAX_IMAGES],
        resumed: ld.resumed,
        refused: ld.refused,
    };
    for i in 0..n {
        rsp.images[i] = Some(ld.finish_image(i)?);
        rsp.swap[i] = ld.swap_type[i];
    }
    Ok(rsp)
}
