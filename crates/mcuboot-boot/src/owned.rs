//! [`OwnedBootConfig`]: a [`BootConfig`] that owns its slices (images, keys,
//! sector map), for hosts that build configurations at run time: the
//! simulator, its scenario tester, a device model. Behind the `alloc`
//! feature; the boot core itself never allocates.

use alloc::vec::Vec;

use embedded_storage::nor_flash::NorFlash;

use crate::cache::ValidationCache;
use crate::config::{BootConfig, DowngradePrevention, ImageSlots, Slot, UpgradeStrategy};
use crate::error::BootError;
use crate::geometry::{Area, SectorLayout, SectorRun};
use crate::loader::BootResponse;
use crate::trailer::TrailerState;
use mcuboot_image::SignatureKind;

/// Everything the boot core is configured with, owned; [`Self::with_config`]
/// lends out the borrowing [`BootConfig`]. Field meanings are those of
/// [`BootConfig`]; only the sector map differs: here it describes the
/// whole flash device from address 0, so a host can also build the
/// physical flash from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedBootConfig {
    /// One or two updatable images ([`BootConfig::images`]).
    pub images: Vec<ImageSlots>,
    /// Scratch area ([`BootConfig::scratch`]).
    pub scratch: Option<Area>,
    /// The upgrade strategy.
    pub strategy: UpgradeStrategy,
    /// Downgrade prevention policy.
    pub downgrade: DowngradePrevention,
    /// `flash_area_align()` ([`BootConfig::write_size`]).
    pub write_size: u32,
    /// `BOOT_MAX_ALIGN` ([`BootConfig::max_align`]).
    pub max_align: u32,
    /// `flash_area_erased_val()`: 0xff or 0x00.
    pub erased_val: u8,
    /// `BOOT_MAX_IMG_SECTORS` ([`BootConfig::max_sectors`]).
    pub max_sectors: u32,
    /// `MCUBOOT_BOOTSTRAP` ([`BootConfig::bootstrap`]).
    pub bootstrap: bool,
    /// Embedded public keys (DER, as `imgtool getpub` prints them).
    pub keys: Vec<Vec<u8>>,
    /// The signature scheme built into the bootloader; `None` = hash only.
    pub signature: Option<SignatureKind>,
    /// The physical sector map from address 0: `(sector size, count)` runs,
    /// in address order. One run is lent out as [`SectorLayout::Uniform`].
    pub sector_runs: Vec<(u32, u32)>,
}

impl OwnedBootConfig {
    /// The flash size the sector map covers, or `None` if it overflows
    /// 32 bits.
    #[must_use]
    pub fn flash_size(&self) -> Option<u32> {
        self.sector_runs
            .iter()
            .try_fold(0u32, |end, &(size, count)| {
                end.checked_add(size.checked_mul(count)?)
            })
    }

    /// Calls `f` with the boot core's view of this configuration (no
    /// image encryption).
    pub fn with_config<R>(&self, f: impl FnOnce(&BootConfig<'_>) -> R) -> R {
        let key_refs: Vec<&[u8]> = self.keys.iter().map(Vec::as_slice).collect();
        let runs: Vec<SectorRun>;
        let sectors = match self.sector_runs.as_slice() {
            [(size, _)] => SectorLayout::Uniform(*size),
            many => {
                let mut start = 0u32;
                runs = many
                    .iter()
                    .map(|&(sector_size, count)| {
                        let run = SectorRun {
                            start,
                            sector_size,
                            count,
                        };
                        start = start.wrapping_add(sector_size.wrapping_mul(count));
                        run
                    })
                    .collect();
                SectorLayout::Runs(&runs)
            }
        };
        let cfg = BootConfig {
            images: &self.images,
            scratch: self.scratch,
            strategy: self.strategy,
            downgrade: self.downgrade,
            write_size: self.write_size,
            sectors,
            max_align: self.max_align,
            erased_val: self.erased_val,
            max_sectors: self.max_sectors,
            bootstrap: self.bootstrap,
            keys: &key_refs,
            signature: self.signature,
            encryption: None,
        };
        f(&cfg)
    }

    /// [`crate::boot`] with this configuration.
    ///
    /// # Errors
    /// As [`crate::boot`].
    pub fn boot<F: NorFlash>(&self, flash: &mut F) -> Result<BootResponse, BootError<F::Error>> {
        self.with_config(|cfg| crate::boot(flash, cfg))
    }

    /// [`crate::boot_cached`] with this configuration.
    ///
    /// # Errors
    /// As [`crate::boot`].
    pub fn boot_cached<F: NorFlash>(
        &self,
        flash: &mut F,
        cache: &mut dyn ValidationCache<F>,
    ) -> Result<BootResponse, BootError<F::Error>> {
        self.with_config(|cfg| crate::boot_cached(flash, cfg, cache))
    }

    /// [`crate::set_pending`] for `image`.
    ///
    /// # Errors
    /// As [`crate::set_pending`].
    pub fn set_pending<F: NorFlash>(
        &self,
        flash: &mut F,
        image: usize,
        permanent: bool,
    ) -> Result<(), BootError<F::Error>> {
        self.with_config(|cfg| crate::set_pending(flash, cfg, image, permanent))
    }

    /// [`crate::set_confirmed`] for `image`.
    ///
    /// # Errors
    /// As [`crate::set_confirmed`].
    pub fn set_confirmed<F: NorFlash>(
        &self,
        flash: &mut F,
        image: usize,
    ) -> Result<(), BootError<F::Error>> {
        self.with_config(|cfg| crate::set_confirmed(flash, cfg, image))
    }

    /// [`crate::read_trailer`]: the decoded trailer of a slot.
    ///
    /// # Errors
    /// As [`crate::read_trailer`].
    pub fn trailer<F: NorFlash>(
        &self,
        flash: &mut F,
        image: usize,
        slot: Slot,
    ) -> Result<TrailerState, BootError<F::Error>> {
        self.with_config(|cfg| crate::read_trailer(flash, cfg, image, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(sector_runs: Vec<(u32, u32)>) -> OwnedBootConfig {
        OwnedBootConfig {
            images: alloc::vec![ImageSlots {
                primary: Area::new(0x20000, 0x20000),
                secondary: Area::new(0x40000, 0x20000),
            }],
            scratch: Some(Area::new(0x60000, 0x20000)),
            strategy: UpgradeStrategy::SwapScratch,
            downgrade: DowngradePrevention::Off,
            write_size: 4,
            max_align: 8,
            erased_val: 0xff,
            max_sectors: 128,
            bootstrap: false,
            keys: alloc::vec![alloc::vec![1, 2, 3]],
            signature: None,
            sector_runs,
        }
    }

    /// One run is lent as a uniform layout, several as runs with their
    /// start addresses; the keys and fields are passed through.
    #[test]
    fn lends_the_sector_map_and_keys() {
        let uniform = config(alloc::vec![(0x1000, 128)]);
        assert_eq!(uniform.flash_size(), Some(0x80000));
        uniform.with_config(|cfg| {
            assert_eq!(cfg.sectors, SectorLayout::Uniform(0x1000));
            assert_eq!(cfg.keys, &[&[1u8, 2, 3][..]]);
            assert_eq!(cfg.check(), Ok(()));
        });
        // STM32F4-like: 4 x 16 KiB, 64 KiB, 3 x 128 KiB.
        let mixed = config(alloc::vec![(0x4000, 4), (0x10000, 1), (0x20000, 3)]);
        assert_eq!(mixed.flash_size(), Some(0x80000));
        mixed.with_config(|cfg| {
            let SectorLayout::Runs(runs) = cfg.sectors else {
                panic!("expected runs, got {:?}", cfg.sectors);
            };
            let starts: alloc::vec::Vec<u32> = runs.iter().map(|r| r.start).collect();
            assert_eq!(starts, [0, 0x10000, 0x20000]);
            assert_eq!(cfg.check(), Ok(()));
        });
        assert_eq!(config(alloc::vec![(0x8000_0000, 2)]).flash_size(), None);
    }
}
