//! Image validation in the boot flow (`boot_validate_slot`,
//! `boot_check_image`, `bootutil_max_image_size`), through the optional
//! [`ValidationCache`](crate::ValidationCache).

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::{
    validate, HashAlg, ImageFlags, TlvError, TlvIter, ValidateError, ValidateOptions, IMAGE_MAGIC,
};

use super::{Loader, Validity};
use crate::config::{DowngradePrevention, Slot, UpgradeStrategy};
use crate::error::{BootError, ReadBeyondSlot, SlotRefusal};
use crate::flash::Res;
use crate::source::AreaSource;
use crate::status::Status;
use crate::trailer::SwapType;

impl<F: NorFlash> Loader<'_, '_, '_, F> {
    // ------------------------------------------------------------- validation

    /// Why `boot_check_header_valid` refuses `slot`'s header, if it does.
    pub(crate) fn header_refusal(&self, slot: Slot) -> Option<SlotRefusal> {
        let h = self.hdr(slot);
        if h.magic != IMAGE_MAGIC {
            return Some(SlotRefusal::BadMagic(h.magic));
        }
        let size = h
            .img_size
            .checked_add(u32::from(h.hdr_size))
            .and_then(|s| s.checked_add(u32::from(h.protect_tlv_size)));
        match size {
            Some(s) if s < self.area(slot).size => {}
            _ => return Some(SlotRefusal::BeyondSlot),
        }
        // Built without MCUBOOT_ENC_IMAGES / MCUBOOT_DECOMPRESS_IMAGES: such
        // images are refused (see `ImageCipher` for the encryption seam).
        if h.flags.is_encrypted() {
            return Some(SlotRefusal::Encrypted);
        }
        if h.flags
            .intersects(ImageFlags::COMPRESSED_LZMA1 | ImageFlags::COMPRESSED_LZMA2)
        {
            return Some(SlotRefusal::Compressed);
        }
        None
    }

    /// `bootutil_max_image_size` for the configured strategy.
    pub(crate) fn max_image_size(&self) -> Res<u32, F> {
        match self.strategy() {
            UpgradeStrategy::OverwriteOnly => Ok(self.trailer(Slot::Primary).lay.swap_info_off()),
            UpgradeStrategy::SwapScratch => self.scratch_app_max_size(),
            UpgradeStrategy::SwapMove => self.move_app_max_size(),
            UpgradeStrategy::SwapOffset => self.offset_app_max_size(),
        }
    }

    pub(crate) fn validate_options(&self) -> Res<ValidateOptions, F> {
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
    /// validation cache when one is given: why the image does not
    /// validate, or `None` when it does.
    fn check_image(&mut self, slot: Slot) -> Res<Option<SlotRefusal>, F> {
        let cached = match self.cache.is_some() {
            true => self.cacheable_range(slot)?,
            false => None,
        };
        if let (Some(range), Some(cache)) = (&cached, self.cache.as_deref_mut()) {
            match cache.lookup(self.fl.dev, range.clone()) {
                Some(true) => return Ok(None),
                Some(false) => return Ok(Some(SlotRefusal::RememberedInvalid)),
                None => {}
            }
        }
        let refusal = self.validation(slot)?.err().map(SlotRefusal::Invalid);
        if let (Some(range), Some(cache)) = (cached, self.cache.as_deref_mut()) {
            cache.store(self.fl.dev, range, refusal.is_none());
        }
        Ok(refusal)
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

    /// `bootutil_img_validate` with its outcome: `None` when the image does
    /// not validate; flash errors abort.
    pub(crate) fn validated(&mut self, slot: Slot) -> Res<Option<mcuboot_image::Validated>, F> {
        Ok(self.validation(slot)?.ok())
    }

    /// `bootutil_img_validate` with why it refuses the image; flash errors
    /// abort.
    pub(crate) fn validation(
        &mut self,
        slot: Slot,
    ) -> Res<Result<mcuboot_image::Validated, ValidateError<ReadBeyondSlot>>, F> {
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
            Ok(v) => Ok(Ok(v)),
            Err(ValidateError::Read(BootError::Flash(e)))
            | Err(ValidateError::Tlv(TlvError::Read(BootError::Flash(e)))) => {
                Err(BootError::Flash(e))
            }
            // any other read error is an access beyond the slot: the
            // image's sizes point outside it, so the image is invalid
            Err(e) => Ok(Err(e.map_read(|_| ReadBeyondSlot))),
        }
    }

    /// Why the primary slot of the current image does not boot (the
    /// checks of step 4, `boot_validate_slot` on the primary slot, in
    /// order), or `None` when it does.
    pub(crate) fn primary_refusal(&mut self) -> Res<Option<SlotRefusal>, F> {
        let slot = Slot::Primary;
        if self.header_erased(slot) {
            return Ok(Some(SlotRefusal::Erased));
        }
        if self.hdr(slot).flags.contains(ImageFlags::NON_BOOTABLE) {
            return Ok(Some(SlotRefusal::NonBootable));
        }
        if let Some(r) = self.header_refusal(slot) {
            return Ok(Some(r));
        }
        Ok(self.validation(slot)?.err().map(SlotRefusal::Invalid))
    }

    /// `boot_validate_slot`. Invalid secondary images are scrambled.
    pub(crate) fn validate_slot(
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
        let refusal = match self.header_refusal(slot) {
            Some(r) => Some(r),
            None => self.check_image(slot)?,
        };
        if let Some(refusal) = refusal {
            if slot != Slot::Primary {
                // reported with the boot: the erased upgrade's reason
                self.refused[self.cur] = Some(refusal);
            }
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
}
