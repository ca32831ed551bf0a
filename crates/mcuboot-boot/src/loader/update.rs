//! Steps 2 to 4 of the boot flow (`context_boot_go`, `loader.c`):
//! dependencies between images, downgrade prevention and the update
//! itself (swap, or copy for overwrite-only and bootstrap), then the
//! validation of what will run.

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::{Dependencies, ImageHeader, TlvError};

use super::{BootedImage, Loader, Validity};
use crate::config::{DowngradePrevention, Slot, UpgradeStrategy};
use crate::error::BootError;
use crate::flash::Res;
use crate::source::AreaSource;
use crate::status::Status;
use crate::trailer::SwapType;

impl<F: NorFlash> Loader<'_, '_, '_, F> {
    // ---------------------------------------------------------------- step 2

    /// `boot_verify_dependencies` (swap and overwrite modes): any unmet or
    /// malformed dependency disables every upgrade.
    pub(crate) fn verify_dependencies(&mut self) -> Res<(), F> {
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
    pub(crate) fn perform(&mut self, image: usize) -> Res<(), F> {
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
    pub(crate) fn finish_image(&mut self, image: usize) -> Res<BootedImage, F> {
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
