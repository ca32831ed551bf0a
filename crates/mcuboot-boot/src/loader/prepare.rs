//! Step 1 of the boot flow (`boot_prepare_image_for_update`, `loader.c`):
//! finish an interrupted swap, or decide the swap type and validate the
//! upgrade.

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::IMAGE_MAGIC;

use super::{Loader, Validity};
use crate::config::{Slot, UpgradeStrategy};
use crate::flash::Res;
use crate::status::Status;
use crate::trailer::SwapType;

impl<F: NorFlash> Loader<'_, '_, '_, F> {
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
    pub(crate) fn prepare_image(&mut self, image: usize) -> Res<(), F> {
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
}
