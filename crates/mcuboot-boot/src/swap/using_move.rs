//! Swap using move (`boot/bootutil/src/swap_move.c`, mcuboot.md §3.4).
//!
//! All sectors have the size `s` of primary sector 0; the primary slot needs
//! one spare sector above the image. `N` = `ceil(swap_size / s)`.
//!
//! | Phase | idx | Steps | Record (entry) |
//! |---|---|---|---|
//! | MOVE | N … 1 (bs.idx 1 … N) | at bs.idx 1: unless resuming from the primary's status, scramble the primary trailer and `swap_status_init(primary)`; scramble the secondary trailer. Erase `pri[idx]`, copy `pri[idx-1]` → `pri[idx]` | 1 at `bs.idx - 1` |
//! | SWAP state 1 | 1 … N | erase `pri[idx-1]`, copy `sec[idx-1]` → `pri[idx-1]` | 1 at `M + 2(idx-1)` |
//! | SWAP state 2 | 1 … N | erase `sec[idx-1]`, copy `pri[idx]` (the old sector idx-1, moved up) → `sec[idx-1]` | 2 at `M + 2(idx-1) + 1` |
//!
//! A REVERT that has not started yet first makes the secondary trailer look
//! like a permanent upgrade (`fixup_revert`), so a reset right after the
//! primary trailer is re-initialised still resumes.

use embedded_storage::nor_flash::NorFlash;

use super::SectorCopy;
use crate::config::Slot;
use crate::error::BootError;
use crate::flash::Res;
use crate::geometry::Area;
use crate::loader::Loader;
use crate::status::{Op, Source, Status};
use mcuboot_image::codec::trailer::align_up;

use crate::trailer::{MagicState, SwapType};

impl<F: NorFlash> Loader<'_, '_, '_, F> {
    /// Size of primary sector 0: the unit of swap-move and swap-offset.
    pub(crate) fn unit(&self) -> Res<u32, F> {
        Ok(self.geo(Slot::Primary)?.sector(0).1)
    }

    /// `boot_slots_compatible` (move): equal sector counts or one more in
    /// the primary, pairwise equal sector sizes.
    pub(crate) fn move_slots_compatible(&self) -> Res<bool, F> {
        let p = self.geo(Slot::Primary)?;
        let s = self.geo(Slot::Secondary)?;
        let (np, ns) = (p.num_sectors(), s.num_sectors());
        if np != ns && np != ns + 1 {
            return Ok(false);
        }
        if np > self.cfg.max_sectors {
            return Ok(false);
        }
        let mut last = 0;
        for i in 0..ns {
            last = p.sector(i).1;
            if last != s.sector(i).1 {
                return Ok(false);
            }
        }
        if np > ns && p.sector(ns).1 != last {
            return Ok(false);
        }
        Ok(true)
    }

    /// `app_max_size` (move): one spare sector in the primary and the
    /// sector-aligned trailer in both slots.
    pub(crate) fn move_app_max_size(&self) -> Res<u32, F> {
        let s = self.unit()?;
        let trailer = align_up(self.trailer_sz(), s);
        let np = self.geo(Slot::Primary)?.num_sectors();
        let ns = self.geo(Slot::Secondary)?.num_sectors();
        let pri = (np * s).saturating_sub(trailer).saturating_sub(s);
        let sec = (ns * s).saturating_sub(trailer);
        Ok(pri.min(sec))
    }

    /// `find_last_idx` (move): number of sectors covering `swap_size` (at least 1).
    fn move_last_idx(&self, swap_size: u32) -> Res<u32, F> {
        let s = self.unit()?;
        let n = swap_size.div_ceil(s).max(1);
        if n > self.geo(Slot::Primary)?.num_sectors() {
            // A corrupt swap_size (e.g. read back erased, issue #829).
            return Err(BootError::Panic { image: self.cur });
        }
        Ok(n)
    }

    /// `boot_read_image_header` (move): where the headers are mid-swap.
    pub(crate) fn move_header_location(
        &mut self,
        slot: Slot,
        bs: &Status,
        swap_size: u32,
    ) -> Res<(Area, u32), F> {
        let last = self.move_last_idx(swap_size)?;
        let sz = self.unit()?;
        let mut slot = slot;
        let mut off = 0;
        match bs.op {
            Op::Move => {
                if slot == Slot::Primary && bs.idx > last {
                    off = sz;
                }
            }
            Op::Swap => {
                if bs.idx > 1 && bs.idx <= last {
                    slot = slot.other();
                } else if bs.idx == 1 {
                    if slot == Slot::Primary {
                        off = sz;
                    } else if bs.state == 2 {
                        slot = Slot::Primary;
                    }
                }
            }
        }
        Ok((self.area(slot), off))
    }

    /// `fixup_revert`.
    fn move_fixup_revert(&mut self, bs: &Status) -> Res<(), F> {
        if bs.swap_type != SwapType::Revert || bs.op != Op::Move || bs.idx != 1 {
            return Ok(());
        }
        let tr = self.trailer(Slot::Secondary);
        if tr.read_magic(&mut self.fl)? == MagicState::Unset {
            self.scramble_trailer_sectors(Slot::Secondary)?;
            tr.write_image_ok(&mut self.fl)?;
            tr.write_swap_size(&mut self.fl, bs.swap_size)?;
            tr.write_magic(&mut self.fl)?;
        }
        Ok(())
    }

    /// `swap_run` (move).
    pub(crate) fn move_swap_run(&mut self, bs: &mut Status) -> Res<(), F> {
        let last = self.move_last_idx(bs.swap_size)?;
        let s = self.unit()?;
        if bs.is_reset(self.strategy()) {
            // A new swap needs a free sector above the image.
            let np = self.geo(Slot::Primary)?.num_sectors();
            let t = self.trailer_sz().div_ceil(s).max(1);
            let first_trailer_idx = np.saturating_sub(t);
            if last >= first_trailer_idx {
                bs.swap_type = SwapType::None;
                return Ok(());
            }
        }
        self.move_fixup_revert(bs)?;
        if bs.op == Op::Move {
            let mut idx = last;
            while idx > 0 {
                if i64::from(idx) <= i64::from(last) - i64::from(bs.idx) + 1 {
                    self.move_sector_up(idx, s, bs)?;
                }
                idx -= 1;
            }
            bs.idx = 1;
        }
        bs.op = Op::Swap;
        for idx in 1..=last {
            if idx >= bs.idx {
                self.move_swap_sectors(idx, s, bs)?;
            }
        }
        Ok(())
    }

    /// `boot_move_sector_up`: `pri[idx-1]` → `pri[idx]`.
    fn move_sector_up(&mut self, idx: u32, sz: u32, bs: &mut Status) -> Res<(), F> {
        let pgeo = self.geo(Slot::Primary)?;
        let pri = self.area(Slot::Primary);
        let new_off = pgeo.sector(idx).0;
        let old_off = pgeo.sector(idx - 1).0;
        if bs.idx == 1 {
            if bs.source != Source::Primary {
                self.scramble_trailer_sectors(Slot::Primary)?;
                let tr = self.trailer(Slot::Primary);
                self.swap_status_init(&tr, bs)?;
            }
            self.scramble_trailer_sectors(Slot::Secondary)?;
        }
        self.fl.erase_region(&pgeo, new_off, sz, false)?;
        self.fl.copy(pri, old_off, pri, new_off, sz)?;
        self.write_status(bs)?;
        bs.idx += 1;
        Ok(())
    }

    /// `boot_swap_sectors` (move): `sec[idx-1]` → `pri[idx-1]`, then the
    /// old sector, moved up to `pri[idx]`, → `sec[idx-1]`.
    fn move_swap_sectors(&mut self, idx: u32, sz: u32, bs: &mut Status) -> Res<(), F> {
        let pgeo = self.geo(Slot::Primary)?;
        let sgeo = self.geo(Slot::Secondary)?;
        let pri_off = pgeo.sector(idx - 1).0;
        let sec_off = sgeo.sector(idx - 1).0;
        let to_primary = SectorCopy {
            from: Slot::Secondary,
            from_off: sec_off,
            to: Slot::Primary,
            to_off: pri_off,
        };
        let to_secondary = SectorCopy {
            from: Slot::Primary,
            from_off: pgeo.sector(idx).0,
            to: Slot::Secondary,
            to_off: sec_off,
        };
        self.two_state_step(bs, sz, Some(to_primary), Some(to_secondary))
    }
}
