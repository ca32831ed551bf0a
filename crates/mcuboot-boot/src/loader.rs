//! The boot flow (`context_boot_go`, `boot/bootutil/src/loader.c`) for the
//! swap and overwrite strategies.
//!
//! | Step | MCUboot | Here |
//! |---|---|---|
//! | 1 | per image: read sectors, `boot_prepare_image_for_update` (resume an interrupted swap, or decide the swap type and validate the upgrade) | [`Loader::prepare_image`] |
//! | 2 | multi-image: `boot_verify_dependencies` | [`Loader::verify_dependencies`] |
//! | 3 | per image: downgrade check, `boot_perform_update`, or set image_ok for FAIL | [`Loader::perform`] |
//! | 4 | per image: validate the primary slot (`MCUBOOT_VALIDATE_PRIMARY_SLOT`) | [`Loader::finish_image`] |

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::{
    validate, Dependencies, HashAlg, ImageFlags, ImageHeader, TlvError, TlvIter, ValidateError,
    ValidateOptions, IMAGE_MAGIC,
};

use crate::cache::ValidationCache;
use crate::config::{
    Area, BootConfig, DowngradePrevention, ImageSlots, Slot, UpgradeStrategy, MAX_IMAGES,
};
use crate::error::BootError;
use crate::flash::{AreaGeometry, Flash, Res};
use crate::source::AreaSource;
use crate::status::Status;
use crate::trailer::{FlagState, MagicState, SwapType, Trailer, TrailerState};

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
    pub fn new(dev: &'f mut F, cfg: &'c BootConfig<'a>) -> Self {
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
            sec_off: [0; MAX_IMAGES],
            sec_off_set: [false; MAX_IMAGES],
            unprot: [[0; 2]; MAX_IMAGES],
            status: Status::reset(cfg.strategy),
            cache: None,
        }
    }

    pub fn strategy(&self) -> UpgradeStrategy {
        self.cfg.strategy
    }

    pub fn slots(&self) -> ImageSlots {
        self.cfg.images[self.cur]
    }

    pub fn area(&self, slot: Slot) -> Area {
        match slot {
            Slot::Primary => self.slots().primary,
            Slot::Secondary => self.slots().secondary,
        }
    }

    pub fn geo(&self, slot: Slot) -> Res<AreaGeometry<'a>, F> {
        Ok(AreaGeometry::new(self.cfg, self.area(slot))?)
    }

    pub fn scratch_area(&self) -> Res<Area, F> {
        self.cfg
            .scratch
            .ok_or(BootError::Config(crate::error::ConfigError::MissingScratch))
    }

    pub fn scratch_geo(&self) -> Res<AreaGeometry<'a>, F> {
        Ok(AreaGeometry::new(self.cfg, self.scratch_area()?)?)
    }

    pub fn trailer(&self, slot: Slot) -> Trailer {
        Trailer::new(self.cfg, self.area(slot), false)
    }

    pub fn scratch_trailer(&self) -> Res<Trailer, F> {
        Ok(Trailer::new(self.cfg, self.scratch_area()?, true))
    }

    pub fn hdr(&self, slot: Slot) -> ImageHeader {
        ImageHeader::decode(&self.raw[self.cur][slot.index()])
    }

    /// `boot_check_header_erased`: the magic word is all erased.
    pub fn header_erased(&self, slot: Slot) -> bool {
        self.fl.is_erased(&self.raw[self.cur][slot.index()][..4])
    }

    /// `BOOT_WRITE_SZ`.
    pub fn write_sz(&self) -> u32 {
        self.cfg.write_size
    }

    /// `boot_trailer_sz(BOOT_WRITE_SZ)` of a slot.
    pub fn trailer_sz(&self) -> u32 {
        self.trailer(Slot::Primary).lay.trailer_size()
    }

    /// Offset where the image starts in `slot` (`boot_get_state_secondary_offset`):
    /// one sector into the secondary slot for swap-offset, else 0.
    pub fn image_base(&self, slot: Slot) -> Res<u32, F> {
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
    pub fn read_image_headers(&mut self, require_all: bool, bs: Option<&Status>) -> Res<bool, F> {
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
    fn header_location(&mut self, slot: Slot, bs: Option<&Status>) -> Res<(Area, u32), F> {
        match self.strategy() {
            UpgradeStrategy::SwapScratch => self.scratch_header_location(slot, bs),
            UpgradeStrategy::SwapMove => self.move_header_location(slot, bs),
            UpgradeStrategy::SwapOffset | UpgradeStrategy::OverwriteOnly => {
                Ok((self.area(slot), 0))
            }
        }
    }

    /// `boot_read_image_size`: end of the unprotected TLV area.
    pub fn read_image_size(&mut self, slot: Slot) -> Res<Option<u32>, F> {
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

    // ------------------------------------------------------------- validation

    /// `boot_check_header_valid`.
    fn header_valid(&self, slot: Slot) -> bool {
        let h = self.hdr(slot);
        if h.magic != IMAGE_MAGIC {
            return false;
        }
        let size = h
            .img_size
            .checked_add(u32::from(h.hdr_size))
            .and_then(|s| s.checked_add(u32::from(h.protect_tlv_size)));
        match size {
            Some(s) if s < self.area(slot).size => {}
            _ => return false,
        }
        // Built without MCUBOOT_ENC_IMAGES / MCUBOOT_DECOMPRESS_IMAGES: such
        // images are refused (see `ImageCipher` for the encryption seam).
        if h.flags.is_encrypted() {
            return false;
        }
        if h.flags
            .intersects(ImageFlags::COMPRESSED_LZMA1 | ImageFlags::COMPRESSED_LZMA2)
        {
            return false;
        }
        true
    }

    /// `bootutil_max_image_size` for the configured strategy.
    pub fn max_image_size(&self) -> Res<u32, F> {
        match self.strategy() {
            UpgradeStrategy::OverwriteOnly => Ok(self.trailer(Slot::Primary).lay.swap_info_off()),
            UpgradeStrategy::SwapScratch => self.scratch_app_max_size(),
            UpgradeStrategy::SwapMove => self.move_app_max_size(),
            UpgradeStrategy::SwapOffset => self.offset_app_max_size(),
        }
    }

    pub fn validate_options(&self) -> Res<ValidateOptions, F> {
        let hash = self
            .cfg
            .signature
            .map_or(HashAlg::Sha256, |s| s.default_hash());
        let mut o = ValidateOptions::new(hash)
            .tlv_allow_list(true)
            .max_image_size(self.max_image_size()?);
        if let Some(s) = self.cfg.signature {
            o = o.with_signature(s);
        }
        Ok(o)
    }

    /// `boot_check_image` / `bootutil_img_validate`, through the
    /// validation cache when one is given.
    fn check_image(&mut self, slot: Slot) -> Res<bool, F> {
        let cached = match self.cache.is_some() {
            true => self.cacheable_range(slot)?,
            false => None,
        };
        if let (Some(range), Some(cache)) = (&cached, self.cache.as_deref_mut()) {
            if let Some(valid) = cache.lookup(self.fl.dev, range.clone()) {
                return Ok(valid);
            }
        }
        let valid = self.validate_image(slot)?;
        if let (Some(range), Some(cache)) = (cached, self.cache.as_deref_mut()) {
            cache.store(self.fl.dev, range, valid);
        }
        Ok(valid)
    }

    /// The absolute flash range whose bytes alone decide `slot`'s
    /// validation result: from the image start to the end of its TLV area,
    /// provided the header held in memory is the one on flash (mid-swap it
    /// may have been read elsewhere). `None` when that cannot be
    /// established; the image is then validated without the cache.
    fn cacheable_range(&mut self, slot: Slot) -> Res<Option<core::ops::Range<u32>>, F> {
        let raw = self.raw[self.cur][slot.index()];
        let hdr = self.hdr(slot);
        let area = self.area(slot);
        let base = self.image_base(slot)?;
        let mut on_flash = [0u8; 32];
        match self.fl.read(area, base, &mut on_flash) {
            Ok(()) => {}
            Err(BootError::Flash(e)) => return Err(BootError::Flash(e)),
            Err(_) => return Ok(None),
        }
        if on_flash != raw {
            return Ok(None);
        }
        let mut src = AreaSource {
            fl: &mut self.fl,
            area,
            base,
        };
        let end = match TlvIter::begin(&mut src, &hdr, None, false) {
            Ok(it) => it.end(),
            Err(TlvError::Read(BootError::Flash(e))) => return Err(BootError::Flash(e)),
            Err(_) => return Ok(None),
        };
        let start = area.offset.checked_add(base);
        let stop = start.and_then(|s| s.checked_add(end));
        Ok(match (start, stop, area.end()) {
            (Some(s), Some(e), Some(area_end)) if e <= area_end => Some(s..e),
            _ => None,
        })
    }

    /// `bootutil_img_validate` proper.
    fn validate_image(&mut self, slot: Slot) -> Res<bool, F> {
        Ok(self.validated(slot)?.is_some())
    }

    /// `bootutil_img_validate` with its outcome: `None` when the image
    /// does not validate; flash errors abort.
    pub(crate) fn validated(&mut self, slot: Slot) -> Res<Option<mcuboot_image::Validated>, F> {
        let hdr = self.hdr(slot);
        let opts = self.validate_options()?;
        let area = self.area(slot);
        let base = self.image_base(slot)?;
        let keys = self.cfg.keys;
        let mut src = AreaSource {
            fl: &mut self.fl,
            area,
            base,
        };
        match validate(&mut src, &hdr, keys, &opts) {
            Ok(v) => Ok(Some(v)),
            Err(ValidateError::Read(BootError::Flash(e)))
            | Err(ValidateError::Tlv(TlvError::Read(BootError::Flash(e)))) => {
                Err(BootError::Flash(e))
            }
            Err(_) => Ok(None),
        }
    }

    /// `boot_validate_slot`. Invalid secondary images are scrambled.
    pub fn validate_slot(
        &mut self,
        slot: Slot,
        bs: &Status,
        expected: SwapType,
    ) -> Res<Validity, F> {
        let hdr = self.hdr(slot);
        if self.header_erased(slot) || hdr.flags.contains(ImageFlags::NON_BOOTABLE) {
            if slot != Slot::Primary && self.strategy().is_swap() {
                // A trailer left behind by an interrupted erase could keep a
                // new image from being accepted: drop it.
                self.scramble_trailer_sectors(Slot::Secondary)?;
                if self.strategy() == UpgradeStrategy::SwapMove
                    && (bs.swap_type == SwapType::Revert
                        || self.swap_type_multi(self.cur)? == SwapType::Revert)
                {
                    self.scramble_trailer_sectors(Slot::Primary)?;
                }
            }
            return Ok(Validity::NoBootable);
        }
        if self.strategy() == UpgradeStrategy::SwapOffset
            && slot != Slot::Primary
            && bs.is_reset(self.strategy())
            && matches!(expected, SwapType::Test | SwapType::Perm)
        {
            // A new image must start at sector 1; one at sector 0 was
            // uploaded to the wrong address (`swap_offset.c`).
            let mut m = [0u8; 4];
            self.fl.read(self.area(Slot::Secondary), 0, &mut m)?;
            if u32::from_le_bytes(m) == IMAGE_MAGIC {
                return self.invalid_slot(slot);
            }
        }
        if self.strategy() == UpgradeStrategy::OverwriteOnly
            && self.cfg.downgrade != DowngradePrevention::Off
            && slot != Slot::Primary
        {
            let sec = self.hdr(Slot::Secondary).version;
            let pri = self.hdr(Slot::Primary).version;
            if sec.compare(&pri, false).is_lt() && !self.header_erased(Slot::Primary) {
                let geo = self.geo(slot)?;
                self.fl.scramble_area(&geo)?;
                return Ok(Validity::NoBootable);
            }
        }
        if !self.header_valid(slot) || !self.check_image(slot)? {
            return self.invalid_slot(slot);
        }
        Ok(Validity::Valid)
    }

    fn invalid_slot(&mut self, slot: Slot) -> Res<Validity, F> {
        if slot != Slot::Primary {
            let geo = self.geo(slot)?;
            self.fl.scramble_area(&geo)?;
        }
        Ok(Validity::NoBootable)
    }

    // --------------------------------------------------------- decision table

    /// `boot_read_swap_state` of a slot of the current image.
    pub fn read_state(&mut self, slot: Slot) -> Res<TrailerState, F> {
        let t = self.trailer(slot);
        t.read_state(&mut self.fl)
    }

    /// `boot_swap_type_multi`.
    pub fn swap_type_multi(&mut self, image: usize) -> Res<SwapType, F> {
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

    // ---------------------------------------------------------------- step 1

    /// `boot_slots_compatible` for the configured strategy.
    fn slots_compatible(&self) -> Res<bool, F> {
        match self.strategy() {
            UpgradeStrategy::SwapScratch | UpgradeStrategy::OverwriteOnly => {
                self.scratch_slots_compatible()
            }
            UpgradeStrategy::SwapMove => self.move_slots_compatible(),
            UpgradeStrategy::SwapOffset => self.offset_slots_compatible(),
        }
    }

    /// `boot_prepare_image_for_update`.
    pub fn prepare_image(&mut self, image: usize) -> Res<(), F> {
        self.cur = image;
        let strategy = self.strategy();
        self.read_image_headers(false, None)?;
        if !self.slots_compatible()? {
            self.swap_type[image] = SwapType::None;
            return Ok(());
        }
        let mut bs = Status::reset(strategy);
        let r = self.prepare_with_status(image, &mut bs);
        self.status = bs;
        r
    }

    fn prepare_with_status(&mut self, image: usize, bs: &mut Status) -> Res<(), F> {
        let strategy = self.strategy();
        if strategy.is_swap() {
            self.swap_read_status(bs)?;
            // Headers must be re-read: mid-swap they may sit elsewhere.
            let ok = self.read_image_headers(!bs.is_reset(strategy), Some(bs))?;
            let bootstrapping = self.cfg.bootstrap && self.header_erased(Slot::Primary);
            if !ok && !bootstrapping {
                self.swap_type[image] = SwapType::None;
                return Ok(());
            }
        }
        if !bs.is_reset(strategy) {
            self.review_image_swap_types(true);
            self.complete_partial_swap(bs)?;
            self.read_image_headers(false, None)?;
            self.resumed[image] = Some(bs.swap_type);
            self.swap_type[image] = SwapType::None;
            return Ok(());
        }
        let t = if bs.swap_type == SwapType::None {
            self.validated_swap_type(bs)?
        } else {
            match self.validate_slot(Slot::Secondary, bs, SwapType::None)? {
                Validity::Valid => bs.swap_type,
                Validity::NoBootable => SwapType::Fail,
            }
        };
        self.swap_type[image] = t;
        self.review_image_swap_types(false);

        if self.cfg.bootstrap && self.swap_type[image] == SwapType::None {
            let pri_ok = self.validate_slot(Slot::Primary, bs, SwapType::None)?;
            if self.header_erased(Slot::Primary) || pri_ok != Validity::Valid {
                let sec_magic = self.hdr(Slot::Secondary).magic == IMAGE_MAGIC;
                let sec_ok = self.validate_slot(Slot::Secondary, bs, SwapType::None)?;
                if sec_magic && sec_ok == Validity::Valid {
                    self.swap_type[image] = SwapType::Revert;
                }
            }
        }
        Ok(())
    }

    /// `boot_review_image_swap_types`: a reboot between two images' upgrades
    /// makes the earlier, finished ones look like REVERT.
    fn review_image_swap_types(&mut self, aborted: bool) {
        if self.cur == 0 {
            return;
        }
        if !aborted && matches!(self.swap_type[self.cur], SwapType::None | SwapType::Revert) {
            return;
        }
        for t in self.swap_type.iter_mut().take(self.cur) {
            if *t == SwapType::Revert {
                *t = SwapType::None;
            }
        }
    }

    /// `boot_complete_partial_swap`.
    fn complete_partial_swap(&mut self, bs: &mut Status) -> Res<(), F> {
        self.swap_image(bs)?;
        self.after_swap(bs.swap_type)
    }

    /// image_ok for PERM/REVERT, copy_done for every upgrade.
    fn after_swap(&mut self, t: SwapType) -> Res<(), F> {
        if matches!(t, SwapType::Revert | SwapType::Perm) {
            self.set_image_ok_primary()?;
        }
        if t.is_upgrade() {
            let tr = self.trailer(Slot::Primary);
            tr.write_copy_done(&mut self.fl)?;
        }
        Ok(())
    }

    /// `swap_set_image_ok`.
    fn set_image_ok_primary(&mut self) -> Res<(), F> {
        let tr = self.trailer(Slot::Primary);
        if tr.read_image_ok(&mut self.fl)? == FlagState::Unset {
            tr.write_image_ok(&mut self.fl)?;
        }
        Ok(())
    }

    /// `boot_swap_image`: swap (or resume swapping) the two slots.
    pub fn swap_image(&mut self, bs: &mut Status) -> Res<(), F> {
        let strategy = self.strategy();
        if bs.is_reset(strategy) {
            let mut copy_size = 0;
            if self.hdr(Slot::Primary).magic == IMAGE_MAGIC {
                copy_size = self
                    .read_image_size(Slot::Primary)?
                    .ok_or(BootError::Panic { image: self.cur })?;
            }
            let mut size = 0;
            if self.hdr(Slot::Secondary).magic == IMAGE_MAGIC {
                size = self
                    .read_image_size(Slot::Secondary)?
                    .ok_or(BootError::Panic { image: self.cur })?;
            }
            bs.swap_size = copy_size.max(size);
        } else {
            let tr = self.find_status_trailer()?;
            bs.swap_size = tr.read_swap_size(&mut self.fl)?;
        }
        match strategy {
            UpgradeStrategy::SwapScratch => self.scratch_swap_run(bs),
            UpgradeStrategy::SwapMove => self.move_swap_run(bs),
            UpgradeStrategy::SwapOffset => self.offset_swap_run(bs),
            UpgradeStrategy::OverwriteOnly => Err(BootError::Panic { image: self.cur }),
        }
    }

    /// `boot_find_status`: the scratch trailer if its magic is good, else the primary's.
    pub fn find_status_trailer(&mut self) -> Res<Trailer, F> {
        if self.strategy() == UpgradeStrategy::SwapScratch {
            let t = self.scratch_trailer()?;
            if t.read_magic(&mut self.fl)? == MagicState::Good {
                return Ok(t);
            }
        }
        Ok(self.trailer(Slot::Primary))
    }

    /// `swap_scramble_trailer_sectors`: erase, backwards, every sector from the
    /// one holding the start of the trailer to the end of the slot.
    pub fn scramble_trailer_sectors(&mut self, slot: Slot) -> Res<(), F> {
        let geo = self.geo(slot)?;
        let size = geo.area.size;
        let start = size.saturating_sub(self.trailer_sz());
        let (_, off, _) = geo.sector_at(start);
        self.fl.erase_region(&geo, off, size - off, true)
    }

    /// `swap_status_init`: swap_info, image_ok (copied from the secondary),
    /// swap_size, [TLV sizes], then the magic last: the commit point.
    pub fn swap_status_init(&mut self, tr: &Trailer, bs: &Status) -> Res<(), F> {
        let sec = self.read_state(Slot::Secondary)?;
        if bs.swap_type != SwapType::None {
            tr.write_swap_info(&mut self.fl, bs.swap_type, self.cur as u8)?;
        }
        if sec.image_ok == FlagState::Set {
            tr.write_image_ok(&mut self.fl)?;
        }
        tr.write_swap_size(&mut self.fl, bs.swap_size)?;
        if self.strategy() == UpgradeStrategy::SwapOffset {
            let (p, s) = self.unprotected_tlv_sizes()?;
            tr.write_unprot_tlv_sizes(&mut self.fl, p, s)?;
        }
        tr.write_magic(&mut self.fl)
    }

    /// `boot_write_status`.
    pub fn write_status(&mut self, bs: &Status) -> Res<(), F> {
        let tr = if bs.use_scratch {
            self.scratch_trailer()?
        } else {
            self.trailer(Slot::Primary)
        };
        let entry = self.status_entry(bs);
        tr.write_status_entry(&mut self.fl, entry, bs.state)
    }

    // ---------------------------------------------------------------- step 2

    /// `boot_verify_dependencies` (swap and overwrite modes): any unmet or
    /// malformed dependency disables every upgrade.
    pub fn verify_dependencies(&mut self) -> Res<(), F> {
        let n = self.cfg.images.len();
        for image in 0..n {
            self.cur = image;
            let slot = if matches!(self.swap_type[image], SwapType::None | SwapType::Fail) {
                Slot::Primary
            } else {
                Slot::Secondary
            };
            if !self.slot_dependencies_met(slot)? {
                for t in self.swap_type.iter_mut().take(n) {
                    *t = SwapType::None;
                }
                break;
            }
        }
        Ok(())
    }

    /// `boot_verify_slot_dependencies` + `boot_verify_slot_dependency`.
    fn slot_dependencies_met(&mut self, slot: Slot) -> Res<bool, F> {
        let hdr = self.hdr(slot);
        let area = self.area(slot);
        let base = self.image_base(slot)?;
        let n = self.cfg.images.len();
        let swap_types = self.swap_type;
        let raw = self.raw;
        let mut src = AreaSource {
            fl: &mut self.fl,
            area,
            base,
        };
        let mut deps = match Dependencies::begin(&mut src, &hdr) {
            Ok(d) => d,
            Err(TlvError::Read(BootError::Flash(e))) => return Err(BootError::Flash(e)),
            Err(_) => return Ok(false),
        };
        loop {
            let dep = match deps.next(&mut src) {
                Ok(Some(d)) => d,
                Ok(None) => return Ok(true),
                Err(TlvError::Read(BootError::Flash(e))) => return Err(BootError::Flash(e)),
                Err(_) => return Ok(false),
            };
            let id = usize::from(dep.image_id);
            if id >= n {
                return Ok(false);
            }
            let dep_slot = if swap_types[id].is_upgrade() {
                Slot::Secondary
            } else {
                Slot::Primary
            };
            let v = ImageHeader::decode(&raw[id][dep_slot.index()]).version;
            if v.compare(&dep.version, false).is_lt() {
                // MCUboot first lowers this image's swap type
                // (TEST/PERM -> NONE, NONE -> REVERT); the caller then
                // disables every upgrade anyway.
                return Ok(false);
            }
        }
    }

    // ---------------------------------------------------------------- step 3

    /// `check_downgrade_prevention` (swap modes, TEST/PERM only).
    fn downgrade_prevented(&mut self) -> Res<bool, F> {
        if !self.strategy().is_swap() {
            return Ok(false);
        }
        let prevented = match self.cfg.downgrade {
            DowngradePrevention::Off => return Ok(false),
            DowngradePrevention::Version => self
                .hdr(Slot::Secondary)
                .version
                .compare(&self.hdr(Slot::Primary).version, false)
                .is_lt(),
            DowngradePrevention::SecurityCounter => match self.security_counter(Slot::Primary)? {
                None => false,
                Some(pri) => match self.security_counter(Slot::Secondary)? {
                    None => true,
                    Some(sec) => pri > sec,
                },
            },
        };
        if prevented {
            let geo = self.geo(Slot::Secondary)?;
            self.fl.scramble_area(&geo)?;
        }
        Ok(prevented)
    }

    /// `bootutil_get_img_security_cnt`: `None` when absent or unreadable.
    fn security_counter(&mut self, slot: Slot) -> Res<Option<u32>, F> {
        let hdr = self.hdr(slot);
        let area = self.area(slot);
        let base = self.image_base(slot)?;
        let mut src = AreaSource {
            fl: &mut self.fl,
            area,
            base,
        };
        match mcuboot_image::security_counter(&mut src, &hdr) {
            Ok(v) => Ok(v),
            Err(TlvError::Read(BootError::Flash(e))) => Err(BootError::Flash(e)),
            Err(_) => Ok(None),
        }
    }

    /// Loop 3 of `context_boot_go` for one image.
    pub fn perform(&mut self, image: usize) -> Res<(), F> {
        self.cur = image;
        let mut bs = if self.cfg.images.len() == 1 {
            self.status
        } else {
            Status::reset(self.strategy())
        };
        bs.swap_type = self.swap_type[image];
        match self.swap_type[image] {
            SwapType::None => {}
            SwapType::Test | SwapType::Perm => {
                if self.downgrade_prevented()? {
                    self.swap_type[image] = SwapType::None;
                } else {
                    self.perform_update(&mut bs)?;
                }
            }
            SwapType::Revert => self.perform_update(&mut bs)?,
            SwapType::Fail => {
                if self.strategy().is_swap() {
                    self.set_image_ok_primary()?;
                }
            }
        }
        Ok(())
    }

    /// `boot_perform_update`.
    fn perform_update(&mut self, bs: &mut Status) -> Res<(), F> {
        if self.strategy() == UpgradeStrategy::OverwriteOnly {
            return self.copy_image();
        }
        if self.cfg.bootstrap {
            let v = self.validate_slot(Slot::Primary, bs, SwapType::None)?;
            if self.header_erased(Slot::Primary) || v != Validity::Valid {
                self.copy_image()?;
            } else {
                self.swap_image(bs)?;
            }
        } else {
            self.swap_image(bs)?;
        }
        self.after_swap(self.swap_type[self.cur])
    }

    /// `boot_copy_image` (overwrite-only; also MCUBOOT_BOOTSTRAP in swap
    /// modes): erase the primary sector by sector, copy the secondary slot,
    /// then erase the secondary's first and last sectors
    /// (`MCUBOOT_OVERWRITE_ONLY_KEEP_BACKUP` off; move/offset keep the first).
    ///
    /// The "fast" variant (`MCUBOOT_OVERWRITE_ONLY_FAST || SWAP_USING_MOVE ||
    /// SWAP_USING_OFFSET` in `loader.c`) copies only the image, erases the
    /// trailer sectors and writes the primary's magic. Plain overwrite-only
    /// copies the whole slot, trailer included, and writes no magic.
    /// With [`BootConfig::bootstrap`](crate::BootConfig::bootstrap) the fast
    /// variant is used in every strategy: MCUboot's simulator build
    /// (`sim/mcuboot-sys/build.rs`) defines `MCUBOOT_OVERWRITE_ONLY_FAST`
    /// together with `MCUBOOT_BOOTSTRAP` unless swap-move/offset is selected,
    /// and its `run_bootstrap` test expects magic GOOD in the primary.
    fn copy_image(&mut self) -> Res<(), F> {
        let pgeo = self.geo(Slot::Primary)?;
        let mut size = 0u32;
        let move_or_offset = matches!(
            self.strategy(),
            UpgradeStrategy::SwapMove | UpgradeStrategy::SwapOffset
        );
        let fast = move_or_offset || self.cfg.bootstrap;
        let src_size = if fast {
            self.read_image_size(Slot::Secondary)?
                .ok_or(BootError::Panic { image: self.cur })?
        } else {
            0
        };
        for i in 0..pgeo.num_sectors() {
            let (off, sz) = pgeo.sector(i);
            self.fl.erase_region(&pgeo, off, sz, false)?;
            if fast && size + sz >= src_size {
                size = src_size;
                size += self.write_sz() - (size % self.write_sz());
                break;
            }
            size += sz;
        }
        if fast {
            let tsz = self.trailer_sz();
            let mut i = pgeo.num_sectors();
            let mut sz = 0;
            let mut off = 0;
            while sz < tsz && i > 0 {
                i -= 1;
                let (o, s) = pgeo.sector(i);
                sz += s;
                off = o;
            }
            self.fl.erase_region(&pgeo, off, sz, false)?;
        }
        // Swap-offset bootstraps from secondary sector 1, whatever was found.
        let src_off = if self.strategy() == UpgradeStrategy::SwapOffset {
            self.geo(Slot::Secondary)?.sector(0).1
        } else {
            0
        };
        let (pri, sec) = (self.area(Slot::Primary), self.area(Slot::Secondary));
        self.fl.copy(sec, src_off, pri, 0, size)?;
        if fast {
            self.trailer(Slot::Primary).write_magic(&mut self.fl)?;
        }
        let sgeo = self.geo(Slot::Secondary)?;
        if !move_or_offset {
            let (o, s) = sgeo.sector(0);
            self.fl.erase_region(&sgeo, o, s, false)?;
        }
        let (o, s) = sgeo.sector(sgeo.num_sectors() - 1);
        self.fl.erase_region(&sgeo, o, s, false)
    }

    // ---------------------------------------------------------------- step 4

    /// Loop 4 of `context_boot_go`: validate the primary slot.
    pub fn finish_image(&mut self, image: usize) -> Res<BootedImage, F> {
        self.cur = image;
        if self.swap_type[image] != SwapType::None {
            self.read_image_headers(false, None)?;
        }
        let bs = Status::reset(self.strategy());
        if self.validate_slot(Slot::Primary, &bs, SwapType::None)? != Validity::Valid {
            return Err(BootError::NoBootableImage { image });
        }
        Ok(BootedImage {
            image,
            slot: Slot::Primary,
            area: self.area(Slot::Primary),
            header: self.hdr(Slot::Primary),
        })
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
    };
    for i in 0..n {
        rsp.images[i] = Some(ld.finish_image(i)?);
        rsp.swap[i] = ld.swap_type[i];
    }
    Ok(rsp)
}
