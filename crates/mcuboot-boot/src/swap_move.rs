//! Swap using move (`boot/bootutil/src/swap_move.c`) and swap using offset
//! (`swap_offset.c`). Not implemented yet: the slots are reported as
//! incompatible, so no upgrade is ever started (MCUboot's behaviour for
//! incompatible slots) and the primary image boots.

use embedded_storage::nor_flash::NorFlash;

use crate::config::{Area, Slot};
use crate::error::BootError;
use crate::flash::Res;
use crate::loader::Loader;
use crate::status::Status;

impl<F: NorFlash> Loader<'_, '_, '_, F> {
    pub(crate) fn move_slots_compatible(&self) -> Res<bool, F> {
        Ok(false)
    }
    pub(crate) fn offset_slots_compatible(&self) -> Res<bool, F> {
        Ok(false)
    }
    pub(crate) fn move_app_max_size(&self) -> Res<u32, F> {
        Ok(self.area(Slot::Primary).size)
    }
    pub(crate) fn offset_app_max_size(&self) -> Res<u32, F> {
        Ok(self.area(Slot::Primary).size)
    }
    pub(crate) fn move_header_location(
        &mut self,
        slot: Slot,
        _bs: Option<&Status>,
    ) -> Res<(Area, u32), F> {
        Ok((self.area(slot), 0))
    }
    pub(crate) fn offset_header_location(
        &mut self,
        slot: Slot,
        _bs: Option<&Status>,
    ) -> Res<(Area, u32), F> {
        let base = self.image_base(slot)?;
        Ok((self.area(slot), base))
    }
    pub(crate) fn move_swap_run(&mut self, _bs: &mut Status) -> Res<(), F> {
        Err(BootError::Panic { image: self.cur })
    }
    pub(crate) fn offset_swap_run(&mut self, _bs: &mut Status) -> Res<(), F> {
        Err(BootError::Panic { image: self.cur })
    }
    /// Size of one secondary sector: where a new swap-offset image starts.
    pub(crate) fn secondary_offset(&self) -> Res<u32, F> {
        Ok(self.geo(Slot::Secondary)?.sector(0).1)
    }
    /// Unprotected TLV area sizes (primary, secondary) for the swap-offset trailer.
    pub(crate) fn unprotected_tlv_sizes(&mut self) -> Res<(u16, u16), F> {
        Ok((0, 0))
    }
}
