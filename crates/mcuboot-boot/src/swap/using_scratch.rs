//! Swap using scratch (`boot/bootutil/src/swap_scratch.c`, mcuboot.md §3.3).
//!
//! The slots are swapped region by region from the top down; a region is
//! as many primary sectors as fit in the scratch area. Each region `idx`
//! (1-based, counted from the top) goes through three states, each ending
//! with one status record of that state's number:
//!
//! | State | Steps | Record |
//! |---|---|---|
//! | 1 | erase scratch; at idx 1: `swap_status_init(scratch)`, and unless the region holds the trailer, scramble the primary trailer, `swap_status_init(primary)`, erase scratch again; copy secondary → scratch | 1 |
//! | 2 | at idx 1: scramble the secondary trailer; erase the secondary region (not its trailer sectors again); copy primary → secondary | 2 |
//! | 3 | if the region holds the trailer: scramble the primary trailer; erase the primary region; copy scratch → primary; if the trailer lived in scratch: copy its 2 records, image_ok, swap_info, swap_size and magic to the primary, then erase the scratch backwards | 3 |
//!
//! While the top region holds the trailer (`use_scratch`), its first two
//! records go to the scratch trailer. A record is never rewritten, the
//! magic is the commit point of a trailer, and resumption re-runs the first
//! unfinished state of the first unfinished region.

use embedded_storage::nor_flash::NorFlash;

use crate::config::{Slot, UpgradeStrategy};
use crate::error::BootError;
use crate::flash::Res;
use crate::geometry::Area;
use crate::loader::Loader;
use crate::status::Status;
use crate::trailer::{FlagState, SwapType};

impl<F: NorFlash> Loader<'_, '_, '_, F> {
    /// `boot_slots_compatible` (scratch and overwrite-only).
    pub(crate) fn scratch_slots_compatible(&self) -> Res<bool, F> {
        let p = self.geo(Slot::Primary)?;
        let s = self.geo(Slot::Secondary)?;
        let (np, ns) = (p.num_sectors(), s.num_sectors());
        if np > self.cfg.max_sectors || ns > self.cfg.max_sectors {
            return Ok(false);
        }
        let scratch_sz = if self.strategy() == UpgradeStrategy::OverwriteOnly {
            None
        } else {
            Some(self.scratch_area()?.size)
        };
        let (mut i, mut j) = (0u32, 0u32);
        let (mut sz0, mut sz1) = (0u32, 0u32);
        let (mut pri_total, mut sec_total) = (0u32, 0u32);
        let mut smaller = 0u8;
        while i < np || j < ns {
            if sz0 == sz1 {
                if i >= np || j >= ns {
                    return Ok(false);
                }
                sz0 += p.sector(i).1;
                sz1 += s.sector(j).1;
                i += 1;
                j += 1;
            } else if sz0 < sz1 {
                if i >= np || smaller == 2 {
                    return Ok(false);
                }
                sz0 += p.sector(i).1;
                smaller = 1;
                i += 1;
            } else {
                if j >= ns || smaller == 1 {
                    return Ok(false);
                }
                sz1 += s.sector(j).1;
                smaller = 2;
                j += 1;
            }
            if let Some(scr) = scratch_sz {
                if sz0 == sz1 {
                    pri_total += sz0;
                    sec_total += sz1;
                    if sz0 > scr || sz1 > scr {
                        return Ok(false);
                    }
                    smaller = 0;
                    sz0 = 0;
                    sz1 = 0;
                }
            }
        }
        // Overwrite-only never adds to the totals, so only the sector
        // pairing is checked (`#ifndef MCUBOOT_OVERWRITE_ONLY` in C).
        Ok(i == np && j == ns && pri_total == sec_total)
    }

    /// `app_max_size` + `app_max_size_adjust_to_trailer` (scratch).
    pub(crate) fn scratch_app_max_size(&self) -> Res<u32, F> {
        if !self.scratch_slots_compatible()? {
            return Ok(0);
        }
        let slot_sz = self.area(Slot::Primary).size;
        let trailer_sz = self.trailer_sz();
        let slot_trailer_off = slot_sz.saturating_sub(trailer_sz);
        let end_p = self.first_trailer_sector_end(Slot::Primary)?;
        let end_s = self.first_trailer_sector_end(Slot::Secondary)?;
        let end = end_p.max(end_s);
        let in_first = end.saturating_sub(slot_trailer_off);
        let scratch_tr = self.scratch_trailer()?.lay.scratch_trailer_size();
        let padding = scratch_tr.saturating_sub(in_first);
        Ok(slot_trailer_off.saturating_sub(padding))
    }

    /// `boot_get_first_trailer_sector`.
    fn first_trailer_sector(&self, slot: Slot) -> Res<u32, F> {
        let g = self.geo(slot)?;
        let tsz = self.trailer_sz();
        let mut k = g.num_sectors() - 1;
        let mut acc = g.sector(k).1;
        while acc < tsz && k > 0 {
            k -= 1;
            acc += g.sector(k).1;
        }
        Ok(k)
    }

    /// `get_first_trailer_sector_end_off`.
    fn first_trailer_sector_end(&self, slot: Slot) -> Res<u32, F> {
        let g = self.geo(slot)?;
        let (o, s) = g.sector(self.first_trailer_sector(slot)?);
        Ok(o + s)
    }

    // ------------------------------------------------------------ header reads

    /// `boot_read_image_header` (scratch): mid-swap, headers move.
    pub(crate) fn scratch_header_location(
        &mut self,
        slot: Slot,
        bs: &Status,
        swap_size: u32,
    ) -> Res<(Area, u32), F> {
        let count = self.find_swap_count(swap_size)?;
        let done = bs.idx - 1;
        if done >= count {
            return Ok((self.area(slot.other()), 0));
        }
        if done + 1 == count {
            if slot == Slot::Secondary && bs.state >= 2 {
                return Ok((self.scratch_area()?, 0));
            }
            if slot == Slot::Primary && bs.state >= 3 {
                return Ok((self.area(Slot::Secondary), 0));
            }
        }
        Ok((self.area(slot), 0))
    }

    // ------------------------------------------------------------- the swap

    /// `boot_copy_sz`: the region ending at primary sector `last` that fits
    /// in the scratch area; returns (first sector, size).
    fn copy_sz(&self, last: u32) -> Res<(u32, u32), F> {
        let g = self.geo(Slot::Primary)?;
        let scratch = self.scratch_area()?.size;
        let mut sz = 0u32;
        let mut i = last as i64;
        while i >= 0 {
            let n = sz + g.sector(i as u32).1;
            if n > scratch {
                break;
            }
            sz = n;
            i -= 1;
        }
        Ok(((i + 1) as u32, sz))
    }

    /// `find_last_sector_idx`: the last primary sector to swap so that both
    /// slots cover `copy_size` on a common boundary.
    fn find_last_sector_idx(&self, copy_size: u32) -> Res<u32, F> {
        let p = self.geo(Slot::Primary)?;
        let s = self.geo(Slot::Secondary)?;
        let (mut ps, mut ss) = (0u64, 0u64);
        let (mut ip, mut is) = (0u32, 0u32);
        let copy = u64::from(copy_size);
        loop {
            if ps < copy || ps < ss {
                if ip >= p.num_sectors() {
                    // A corrupt swap_size (e.g. erased 0xffffffff, issue #829).
                    return Err(BootError::Panic { image: self.cur });
                }
                ps += u64::from(p.sector(ip).1);
                ip += 1;
            }
            if ss < copy || ss < ps {
                if is >= s.num_sectors() {
                    return Err(BootError::Panic { image: self.cur });
                }
                ss += u64::from(s.sector(is).1);
                is += 1;
            }
            if ps >= copy && ss >= copy && ps == ss {
                break;
            }
        }
        Ok(ip.saturating_sub(1))
    }

    /// `find_swap_count`.
    fn find_swap_count(&self, copy_size: u32) -> Res<u32, F> {
        let mut last = self.find_last_sector_idx(copy_size)? as i64;
        let mut n = 0;
        while last >= 0 {
            let (first, _) = self.copy_sz(last as u32)?;
            last = i64::from(first) - 1;
            n += 1;
        }
        Ok(n)
    }

    /// `swap_run` (scratch).
    pub(crate) fn scratch_swap_run(&mut self, bs: &mut Status) -> Res<(), F> {
        let mut last = self.find_last_sector_idx(bs.swap_size)? as i64;
        let mut swap_idx = 0u32;
        while last >= 0 {
            let (first, sz) = self.copy_sz(last as u32)?;
            if swap_idx >= bs.idx - 1 {
                self.swap_sectors(first, sz, bs)?;
            }
            last = i64::from(first) - 1;
            swap_idx += 1;
        }
        Ok(())
    }

    /// `boot_swap_sectors`: one region, resumable at any state.
    fn swap_sectors(&mut self, first: u32, sz: u32, bs: &mut Status) -> Res<(), F> {
        let pri = self.area(Slot::Primary);
        let sec = self.area(Slot::Secondary);
        let scratch = self.scratch_area()?;
        let pgeo = self.geo(Slot::Primary)?;
        let sgeo = self.geo(Slot::Secondary)?;
        let scr_geo = self.scratch_geo()?;
        let scr_tr = self.scratch_trailer()?;
        let pri_tr = self.trailer(Slot::Primary);

        let img_off = pgeo.sector(first).0;
        let trailer_sz = self.trailer_sz();
        let first_trailer_pri = self.first_trailer_sector(Slot::Primary)?;
        let mut copy_sz = sz;
        if img_off + sz > pgeo.sector(first_trailer_pri).0 {
            // Unsigned arithmetic as in C: when the trailer spans more than
            // this region the value wraps and the cap below applies.
            copy_sz = pri.size.wrapping_sub(img_off).wrapping_sub(trailer_sz);
            let scratch_trailer_off = scr_tr.lay.status_off();
            if copy_sz > scratch_trailer_off {
                copy_sz = scratch_trailer_off;
            }
        }
        bs.use_scratch = bs.idx == 1 && copy_sz != sz;

        if bs.state == 1 {
            self.fl.erase_region(&scr_geo, 0, scratch.size, false)?;
            if bs.idx == 1 {
                // The scratch trailer keeps swap_type safe while the primary
                // trailer is erased.
                self.swap_status_init(&scr_tr, bs)?;
                if !bs.use_scratch {
                    self.scramble_trailer_sectors(Slot::Primary)?;
                    self.swap_status_init(&pri_tr, bs)?;
                    self.fl.erase_region(&scr_geo, 0, scratch.size, false)?;
                }
            }
            self.fl.copy(sec, img_off, scratch, 0, copy_sz)?;
            self.write_status(bs)?;
            bs.state = 2;
        }

        if bs.state == 2 {
            let mut erase_sz = sz;
            if bs.idx == 1 {
                self.scramble_trailer_sectors(Slot::Secondary)?;
                if bs.use_scratch {
                    let k = self.first_trailer_sector(Slot::Secondary)?;
                    erase_sz = sgeo.sector(k).0.saturating_sub(img_off);
                }
            }
            if erase_sz > 0 {
                self.fl.erase_region(&sgeo, img_off, erase_sz, false)?;
            }
            self.fl.copy(pri, img_off, sec, img_off, copy_sz)?;
            self.write_status(bs)?;
            bs.state = 3;
        }

        if bs.state == 3 {
            let mut erase_sz = sz;
            if bs.use_scratch {
                self.scramble_trailer_sectors(Slot::Primary)?;
                erase_sz = pgeo.sector(first_trailer_pri).0.saturating_sub(img_off);
            }
            if erase_sz > 0 {
                self.fl.erase_region(&pgeo, img_off, erase_sz, false)?;
            }
            self.fl.copy(scratch, 0, pri, img_off, copy_sz)?;
            if bs.use_scratch {
                let w = self.write_sz();
                let st_off = scr_tr.lay.status_off();
                self.fl
                    .copy(scratch, st_off, pri, img_off + copy_sz, 2 * w)?;
                let st = scr_tr.read_state(&mut self.fl)?;
                if st.image_ok == FlagState::Set {
                    pri_tr.write_image_ok(&mut self.fl)?;
                }
                if st.swap_type != SwapType::None {
                    pri_tr.write_swap_info(&mut self.fl, st.swap_type, self.cur as u8)?;
                }
                pri_tr.write_swap_size(&mut self.fl, bs.swap_size)?;
                pri_tr.write_magic(&mut self.fl)?;
            }
            let erase_scratch = bs.use_scratch;
            bs.use_scratch = false;
            self.write_status(bs)?;
            bs.idx += 1;
            bs.state = 1;
            if erase_scratch {
                // Backwards: a reset during a forward erase could leave the
                // scratch trailer valid and replay a stale status.
                self.fl.erase_region(&scr_geo, 0, scratch.size, true)?;
            }
        }
        Ok(())
    }
}
