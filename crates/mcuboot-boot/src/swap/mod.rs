//! The swap strategies (`swap_scratch.c`, `swap_move.c`, `swap_offset.c`)
//! and what they share: the swap entry point, the status records and the
//! trailer initialisation that commits a swap, and the sector step of the
//! two-state strategies (move, offset).

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::IMAGE_MAGIC;

use crate::config::{Slot, UpgradeStrategy};
use crate::error::BootError;
use crate::flash::Res;
use crate::loader::Loader;
use crate::status::Status;
use crate::trailer::{FlagState, MagicState, SwapType, Trailer};

mod using_move;
mod using_offset;
mod using_scratch;

impl<F: NorFlash> Loader<'_, '_, '_, F> {
    /// `boot_complete_partial_swap`.
    pub(crate) fn complete_partial_swap(&mut self, bs: &mut Status) -> Res<(), F> {
        self.swap_image(bs)?;
        self.after_swap(bs.swap_type)
    }

    /// image_ok for PERM/REVERT, copy_done for every upgrade.
    pub(crate) fn after_swap(&mut self, t: SwapType) -> Res<(), F> {
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
    pub(crate) fn set_image_ok_primary(&mut self) -> Res<(), F> {
        let tr = self.trailer(Slot::Primary);
        if tr.read_image_ok(&mut self.fl)? == FlagState::Unset {
            tr.write_image_ok(&mut self.fl)?;
        }
        Ok(())
    }

    /// `boot_swap_image`: swap (or resume swapping) the two slots.
    pub(crate) fn swap_image(&mut self, bs: &mut Status) -> Res<(), F> {
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
    pub(crate) fn find_status_trailer(&mut self) -> Res<Trailer, F> {
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
    pub(crate) fn scramble_trailer_sectors(&mut self, slot: Slot) -> Res<(), F> {
        let geo = self.geo(slot)?;
        let size = geo.area.size;
        let start = size.saturating_sub(self.trailer_sz());
        let (_, off, _) = geo.sector_at(start);
        self.fl.erase_region(&geo, off, size - off, true)
    }

    /// `swap_status_init`: swap_info, image_ok (copied from the secondary),
    /// swap_size, [TLV sizes], then the magic last: the commit point.
    pub(crate) fn swap_status_init(&mut self, tr: &Trailer, bs: &Status) -> Res<(), F> {
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
    pub(crate) fn write_status(&mut self, bs: &Status) -> Res<(), F> {
        let tr = if bs.use_scratch {
            self.scratch_trailer()?
        } else {
            self.trailer(Slot::Primary)
        };
        let entry = self.status_entry(bs);
        tr.write_status_entry(&mut self.fl, entry, bs.state)
    }

    /// One sector step of swap-move and swap-offset (`boot_swap_sectors`):
    /// two states, each copying one sector (or skipping the copy) and
    /// closing with its status record, resumable at `bs.state`.
    pub(crate) fn two_state_step(
        &mut self,
        bs: &mut Status,
        sz: u32,
        first: Option<SectorCopy>,
        second: Option<SectorCopy>,
    ) -> Res<(), F> {
        if bs.state == 1 {
            if let Some(copy) = first {
                self.copy_sector(copy, sz)?;
            }
            self.write_status(bs)?;
            bs.state = 2;
        }
        if bs.state == 2 {
            if let Some(copy) = second {
                self.copy_sector(copy, sz)?;
            }
            self.write_status(bs)?;
            bs.idx += 1;
            bs.state = 1;
        }
        Ok(())
    }

    /// Erases the destination sector, then copies `sz` bytes into it.
    fn copy_sector(&mut self, copy: SectorCopy, sz: u32) -> Res<(), F> {
        let to = self.geo(copy.to)?;
        self.fl.erase_region(&to, copy.to_off, sz, false)?;
        let from = self.area(copy.from);
        self.fl.copy(from, copy.from_off, to.area, copy.to_off, sz)
    }
}

/// A sector copy within an image's slots (area-relative offsets).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SectorCopy {
    pub(crate) from: Slot,
    pub(crate) from_off: u32,
    pub(crate) to: Slot,
    pub(crate) to_off: u32,
}
