//! Swap using offset (`boot/bootutil/src/swap_offset.c`, mcuboot.md §3.5).
//!
//! A new image is written one sector into the secondary slot. With `s` the
//! sector size and `last` = `ceil(swap_size / s) - 1`, upgrade and revert
//! run sector by sector with two status records each (entry `2·(bs.idx-1) +
//! state-1` in the primary trailer):
//!
//! | Direction | idx | State 1 (record 1) | State 2 (record 2) |
//! |---|---|---|---|
//! | upgrade | 0 … last | erase `sec[idx]`, copy `pri[idx]` → `sec[idx]` (skipped past the old image) | erase `pri[idx]`, copy `sec[idx+1]` → `pri[idx]` (skipped past the new image) |
//! | revert | last … 0 | erase `sec[idx+1]`, copy `pri[idx]` → `sec[idx+1]` | erase `pri[idx]`, copy `sec[idx]` → `pri[idx]` |
//!
//! Before the first step, `fixup_revert` marks the secondary (copy_done +
//! trailer) so a reset right after the primary trailer is re-initialised
//! still resumes a revert (decision-table row 0), then the primary trailer
//! is initialised (with the two unprotected TLV sizes, which cannot be
//! recomputed mid-swap) and the secondary trailer scrambled. A finished
//! revert erases secondary sector 0 and the secondary trailer.

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::{ImageHeader, IMAGE_MAGIC};

use super::SectorCopy;
use crate::config::Slot;
use crate::error::BootError;
use crate::flash::Res;
use crate::loader::Loader;
use crate::status::{Op, Source, Status};
use mcuboot_image::codec::trailer::align_up;

use crate::trailer::{MagicState, SwapType};

impl<F: NorFlash> Loader<'_, '_, '_, F> {
    /// `boot_slots_compatible` (offset): equal sector counts or one more in
    /// the secondary, pairwise equal sizes.
    pub(crate) fn offset_slots_compatible(&self) -> Res<bool, F> {
        let p = self.geo(Slot::Primary)?;
        let s = self.geo(Slot::Secondary)?;
        let (np, ns) = (p.num_sectors(), s.num_sectors());
        if np != ns && np + 1 != ns {
            return Ok(false);
        }
        if np > self.cfg.max_sectors {
            return Ok(false);
        }
        for i in 0..ns.saturating_sub(1) {
            if p.sector(i).1 != s.sector(i).1 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `app_max_size` (offset): the secondary loses one sector to the offset.
    pub(crate) fn offset_app_max_size(&self) -> Res<u32, F> {
        let s = self.unit()?;
        let trailer = align_up(self.trailer_sz(), s);
        let np = self.geo(Slot::Primary)?.num_sectors();
        let ns = self.geo(Slot::Secondary)?.num_sectors();
        let pri = (np * s).saturating_sub(trailer);
        let sec = (ns * s).saturating_sub(trailer).saturating_sub(s);
        Ok(pri.min(sec))
    }

    /// `find_last_idx` (offset): index of the last sector covering `swap_size`.
    fn offset_last_idx(&self, swap_size: u32) -> Res<u32, F> {
        let s = self.unit()?;
        let last = swap_size.div_ceil(s).max(1) - 1;
        if last >= self.geo(Slot::Primary)?.num_sectors() {
            return Err(BootError::Panic { image: self.cur });
        }
        Ok(last)
    }

    fn is_revert(&mut self, bs: &Status) -> Res<bool, F> {
        Ok(bs.swap_type == SwapType::Revert || self.swap_type_multi(self.cur)? == SwapType::Revert)
    }

    /// `boot_read_image_header` (offset): locates the header of `slot`
    /// (which may be in the other slot, or at sector 0 or 1 of the
    /// secondary) and records where the secondary image starts.
    pub(crate) fn offset_read_header(
        &mut self,
        slot: Slot,
        bs: Option<&Status>,
    ) -> Res<[u8; 32], F> {
        let sec_sector = self.geo(Slot::Secondary)?.sector(0).1;
        let mut phys = slot;
        let mut off = 0;
        let mut check_other = true;
        match bs {
            None => {
                if slot == Slot::Secondary && self.swap_type_multi(self.cur)? != SwapType::Revert {
                    off = sec_sector;
                }
            }
            Some(bs) if !bs.is_reset(self.strategy()) => {
                check_other = false;
                let tr = self.find_status_trailer()?;
                let swap_size = tr.read_swap_size(&mut self.fl)?;
                let last = self.offset_last_idx(swap_size)?;
                let sz = self.unit()?;
                let done = bs.idx - 1;
                if self.is_revert(bs)? {
                    match slot {
                        // `BOOT_STATUS_STATE_1` is 2; MCUboot also tests
                        // `BOOT_STATUS_STATE_2` (3) for the secondary, which
                        // swap-offset's two states never reach.
                        Slot::Primary => {
                            if done > last || (done == last && bs.state == 2) {
                                (phys, off) = (Slot::Secondary, sz);
                            }
                        }
                        Slot::Secondary => {
                            if done > last {
                                phys = Slot::Primary;
                            }
                        }
                    }
                } else {
                    match slot {
                        Slot::Primary => {
                            // The old primary header sits in secondary sector 0
                            // from the first state-1 copy on. MCUboot tests
                            // `bs->idx <= last_idx`, mixing a 1-based index with a
                            // 0-based one: resuming at the last sector it reads the
                            // new image's header instead, under-counts the old
                            // image's sectors and skips copying its last sector
                            // (the secondary then no longer holds a valid old
                            // image). Here the comparison is 0-based; the records
                            // and everything written stay the same otherwise.
                            if (bs.idx > 1 || bs.state == 2) && done <= last {
                                phys = Slot::Secondary;
                            }
                        }
                        Slot::Secondary => {
                            if bs.idx > 1 {
                                phys = Slot::Primary;
                            } else {
                                off = sz;
                            }
                        }
                    }
                }
            }
            Some(bs) => {
                if !self.is_revert(bs)? && slot == Slot::Secondary {
                    off = sec_sector;
                }
            }
        }
        let area = self.area(phys);
        let mut raw = [0u8; 32];
        self.fl.read(area, off, &mut raw)?;
        let magic_ok = |raw: &[u8; 32]| ImageHeader::decode(raw).magic == IMAGE_MAGIC;
        if check_other && !magic_ok(&raw) && phys == Slot::Secondary {
            off = if self.swap_type_multi(self.cur)? != SwapType::Revert {
                0
            } else {
                sec_sector
            };
            self.fl.read(area, off, &mut raw)?;
        }
        let record = if self.cfg.bootstrap {
            bs.is_some() || !self.sec_off_set[self.cur]
        } else {
            bs.is_some()
        };
        if magic_ok(&raw) && record && phys == Slot::Secondary {
            self.sec_off_set[self.cur] = true;
            self.sec_off[self.cur] = off;
        }
        Ok(raw)
    }

    /// The unprotected TLV sizes recorded by `read_image_size`, for the trailer.
    pub(crate) fn unprotected_tlv_sizes(&mut self) -> Res<(u16, u16), F> {
        Ok((self.unprot[self.cur][0], self.unprot[self.cur][1]))
    }

    /// `fixup_revert` (offset).
    fn offset_fixup_revert(&mut self, bs: &Status) -> Res<(), F> {
        if bs.swap_type != SwapType::Revert || bs.idx != 1 {
            return Ok(());
        }
        let tr = self.trailer(Slot::Secondary);
        if tr.read_magic(&mut self.fl)? == MagicState::Unset {
            self.scramble_trailer_sectors(Slot::Secondary)?;
            tr.write_copy_done(&mut self.fl)?;
            self.swap_status_init(&tr, bs)?;
        }
        Ok(())
    }

    /// `swap_run` (offset).
    pub(crate) fn offset_swap_run(&mut self, bs: &mut Status) -> Res<(), F> {
        let last = self.offset_last_idx(bs.swap_size)?;
        let s = self.unit()?;
        if bs.is_reset(self.strategy()) {
            let np = self.geo(Slot::Primary)?.num_sectors();
            let t = self.trailer_sz().div_ceil(s).max(1);
            if last >= np.saturating_sub(t) {
                bs.swap_type = SwapType::None;
                return Ok(());
            }
        }
        self.offset_fixup_revert(bs)?;
        if bs.idx == 1 {
            if bs.source != Source::Primary {
                self.scramble_trailer_sectors(Slot::Primary)?;
                let tr = self.trailer(Slot::Primary);
                self.swap_status_init(&tr, bs)?;
            }
            self.scramble_trailer_sectors(Slot::Secondary)?;
        }
        let (tlv_pri, tlv_sec) = self
            .trailer(Slot::Primary)
            .read_unprot_tlv_sizes(&mut self.fl)?;
        bs.op = Op::Swap;
        let used = |h: ImageHeader, tlv: u16| -> u64 {
            let total = u64::from(h.hdr_size)
                + u64::from(tlv)
                + u64::from(h.protect_tlv_size)
                + u64::from(h.img_size);
            total.div_ceil(u64::from(s))
        };
        let used_pri = used(self.hdr(Slot::Primary), tlv_pri);
        let used_sec = used(self.hdr(Slot::Secondary), tlv_sec);
        if self.is_revert(bs)? {
            for idx in 0..=last {
                if idx >= bs.idx - 1 {
                    let m = last - idx;
                    let skip_p = u64::from(m) > used_pri;
                    let skip_s = u64::from(m) > used_sec;
                    self.offset_revert_sectors(m, s, bs, skip_p, skip_s)?;
                }
            }
            let sgeo = self.geo(Slot::Secondary)?;
            self.fl.erase_region(&sgeo, 0, s, false)?;
            self.scramble_trailer_sectors(Slot::Secondary)?;
        } else {
            for idx in 0..=last {
                if idx >= bs.idx - 1 {
                    let skip_p = u64::from(idx) > used_pri;
                    let skip_s = u64::from(idx) > used_sec;
                    self.offset_swap_sectors(idx, s, bs, skip_p, skip_s)?;
                }
            }
        }
        Ok(())
    }

    /// `boot_swap_sectors` (offset upgrade): `pri[idx]` → `sec[idx]` (the
    /// old image moves down one sector), then `sec[idx+1]` → `pri[idx]`.
    fn offset_swap_sectors(
        &mut self,
        idx: u32,
        sz: u32,
        bs: &mut Status,
        skip_primary: bool,
        skip_secondary: bool,
    ) -> Res<(), F> {
        let pgeo = self.geo(Slot::Primary)?;
        let sgeo = self.geo(Slot::Secondary)?;
        let pri_off = pgeo.sector(idx).0;
        let old_down = SectorCopy {
            from: Slot::Primary,
            from_off: pri_off,
            to: Slot::Secondary,
            to_off: sgeo.sector(idx).0,
        };
        let new_in = SectorCopy {
            from: Slot::Secondary,
            from_off: pgeo.sector(idx + 1).0,
            to: Slot::Primary,
            to_off: pri_off,
        };
        self.two_state_step(
            bs,
            sz,
            (!skip_primary).then_some(old_down),
            (!skip_secondary).then_some(new_in),
        )
    }

    /// `boot_swap_sectors_revert` (offset): `pri[idx]` → `sec[idx+1]`, then
    /// `sec[idx]` → `pri[idx]`.
    fn offset_revert_sectors(
        &mut self,
        idx: u32,
        sz: u32,
        bs: &mut Status,
        skip_primary: bool,
        skip_secondary: bool,
    ) -> Res<(), F> {
        let pgeo = self.geo(Slot::Primary)?;
        let sgeo = self.geo(Slot::Secondary)?;
        let pri_off = pgeo.sector(idx).0;
        let new_up = SectorCopy {
            from: Slot::Primary,
            from_off: pri_off,
            to: Slot::Secondary,
            to_off: sgeo.sector(idx + 1).0,
        };
        let old_in = SectorCopy {
            from: Slot::Secondary,
            from_off: pgeo.sector(idx).0,
            to: Slot::Primary,
            to_off: pri_off,
        };
        self.two_state_step(
            bs,
            sz,
            (!skip_primary).then_some(new_up),
            (!skip_secondary).then_some(old_in),
        )
    }
}
