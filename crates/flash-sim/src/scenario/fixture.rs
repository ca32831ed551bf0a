//! A flash with the images of one image pair installed, like MCUboot
//! sim's `Images`, and the checks the scenarios share.

use embedded_storage::nor_flash::NorFlash;
use mcuboot_boot::owned::OwnedBootConfig;
use mcuboot_boot::{magic_for, Area, BootError, FlagState, MagicState, Slot, UpgradeStrategy};

use super::error::{flash, ScenarioError};
use super::{ImageMaker, ImageSpec};
use crate::flash::{CutMode, FlashError, SimFlash};
use crate::run::new_flash;

/// Payload sizes: the primary image spans a little over 5 sectors of 4 KiB,
/// the upgrade a little over 7, so swaps cross sector and region boundaries
/// and the sizes differ (copy size = the larger).
pub const PRIMARY_PAYLOAD: u32 = 0x5000 + 0x123;
/// Payload size of the upgrade images (see [`PRIMARY_PAYLOAD`]).
pub const UPGRADE_PAYLOAD: u32 = 0x7000 + 0x2d4;

/// A flash with the images of one image pair installed.
pub struct Fixture {
    /// The boot configuration.
    pub setup: OwnedBootConfig,
    /// The flash with the images installed.
    pub flash: SimFlash,
    /// Per image: the original (primary) and upgrade images.
    pub primaries: Vec<Vec<u8>>,
    /// Per image: the upgrade, if the image has one.
    pub upgrades: Vec<Option<Vec<u8>>>,
}

impl Fixture {
    /// An erased flash for `setup`.
    pub fn empty(setup: OwnedBootConfig) -> Result<Self, ScenarioError> {
        let flash = new_flash(&setup)?;
        Ok(Self {
            setup,
            flash,
            primaries: Vec::new(),
            upgrades: Vec::new(),
        })
    }

    /// Offset of a new upgrade image in the secondary slot: sector 1 for
    /// swap-offset (mcuboot.md §3.5), else 0.
    pub fn upgrade_offset(&self, image: usize) -> u32 {
        if self.setup.strategy == UpgradeStrategy::SwapOffset {
            let g = self.flash.geometry();
            let base = self.setup.images[image].secondary.offset;
            g.sector(g.sector_index(base)).len() as u32
        } else {
            0
        }
    }

    /// Programs `bytes` at `area + off` (padded with the erased value to the
    /// write size), on erased flash.
    pub fn install(&mut self, area: Area, off: u32, bytes: &[u8]) -> Result<(), ScenarioError> {
        let w = self.setup.write_size as usize;
        let mut buf = bytes.to_vec();
        buf.resize(buf.len().div_ceil(w) * w, self.setup.erased_val);
        if off as usize + buf.len() > area.size as usize {
            return Err(ScenarioError::DoesNotFit { bytes: bytes.len() });
        }
        self.flash
            .write(area.offset + off, &buf)
            .map_err(flash("installing image"))
    }

    /// Image 0's `current` image in its primary slot and `upgrade` staged
    /// in its secondary slot (at [`upgrade_offset`](Self::upgrade_offset)),
    /// as imgtool `--pad` writes it, and with `--confirm` (a permanent
    /// upgrade) when `permanent` and the strategy swaps.
    pub fn stage_upgrade(
        &mut self,
        current: Vec<u8>,
        upgrade: Vec<u8>,
        permanent: bool,
    ) -> Result<(), ScenarioError> {
        let slots = self.setup.images[0];
        self.install(slots.primary, 0, &current)?;
        self.install(slots.secondary, self.upgrade_offset(0), &upgrade)?;
        self.mark_magic(slots.secondary)?;
        if permanent && is_swap(&self.setup) {
            self.mark_image_ok(slots.secondary)?;
        }
        self.primaries.push(current);
        self.upgrades.push(Some(upgrade));
        Ok(())
    }

    /// imgtool `--pad`: the trailer magic at the end of `area`.
    pub fn mark_magic(&mut self, area: Area) -> Result<(), ScenarioError> {
        let a = self.setup.max_align;
        let len = 16u32.div_ceil(a) * a;
        let mut buf = vec![self.setup.erased_val; len as usize];
        let magic = magic_for(a);
        let start = buf.len() - 16;
        buf[start..].copy_from_slice(&magic);
        self.flash
            .write(area.offset + area.size - len, &buf)
            .map_err(flash("writing magic"))
    }

    /// imgtool `--confirm`: image_ok at `S - (ALIGN_UP(16, A) + A)`.
    pub fn mark_image_ok(&mut self, area: Area) -> Result<(), ScenarioError> {
        let a = self.setup.max_align;
        let off = area.size - (16u32.div_ceil(a) * a + a);
        let mut buf = vec![self.setup.erased_val; self.setup.write_size as usize];
        buf[0] = 0x01;
        self.flash
            .write(area.offset + off, &buf)
            .map_err(flash("writing image_ok"))
    }

    /// Whether `area + off` holds exactly `image`.
    pub fn holds(&self, area: Area, off: u32, image: &[u8]) -> bool {
        let start = (area.offset + off) as usize;
        self.flash.data().get(start..start + image.len()) == Some(image)
    }

    /// The primary slot of `image` holds `bytes`.
    pub fn primary_holds(&self, image: usize, bytes: &[u8]) -> bool {
        self.holds(self.setup.images[image].primary, 0, bytes)
    }

    /// The secondary slot of `image` holds `bytes` (at offset 0, or at
    /// sector 1 for swap-offset, as MCUboot's sim accepts).
    pub fn secondary_holds(&self, image: usize, bytes: &[u8]) -> bool {
        let area = self.setup.images[image].secondary;
        self.holds(area, 0, bytes) || self.holds(area, self.upgrade_offset(image), bytes)
    }

    /// One boot; `Ok` with the response, `Err` with the reason.
    pub fn boot(&mut self) -> Result<mcuboot_boot::BootResponse, ScenarioError> {
        self.flash.power_cycle();
        self.setup
            .boot(&mut self.flash)
            .map_err(ScenarioError::Boot)
    }

    /// One boot with the power cut at operation `at` (1-based); `Ok(true)`
    /// when it was interrupted, `Ok(false)` when it finished first.
    pub fn boot_cut(&mut self, at: u64, mode: CutMode) -> Result<bool, ScenarioError> {
        self.flash.power_cycle();
        self.flash.arm_power_cut(at, mode);
        let r = self.setup.boot(&mut self.flash);
        self.flash.power_cycle();
        match r {
            Err(BootError::Flash(FlashError::PowerLost { .. })) => Ok(true),
            Ok(_) => Ok(false),
            Err(e) => Err(ScenarioError::CutBoot(e)),
        }
    }

    /// Checks a slot's trailer; overwrite-only is exempt, as in MCUboot's
    /// sim (`verify_trailer`), because it copies the secondary trailer.
    pub fn check_trailer(
        &mut self,
        slot: Slot,
        magic: Option<MagicState>,
        image_ok: Option<FlagState>,
        copy_done: Option<FlagState>,
    ) -> Result<(), ScenarioError> {
        if self.setup.strategy == UpgradeStrategy::OverwriteOnly {
            return Ok(());
        }
        for image in 0..self.setup.images.len() {
            let t = self
                .setup
                .trailer(&mut self.flash, image, slot)
                .map_err(|source| ScenarioError::Call {
                    call: "reading trailer",
                    source,
                })?;
            let ok = magic.is_none_or(|m| m == t.magic)
                && image_ok.is_none_or(|f| f == t.image_ok)
                && copy_done.is_none_or(|f| f == t.copy_done);
            if !ok {
                return Err(ScenarioError::Trailer {
                    image,
                    slot,
                    magic: t.magic,
                    image_ok: t.image_ok,
                    copy_done: t.copy_done,
                    expected_magic: magic,
                    expected_image_ok: image_ok,
                    expected_copy_done: copy_done,
                });
            }
        }
        Ok(())
    }
}

/// `make_image`: image A in the primary slot(s), upgrade B in the
/// secondary slot(s) with the trailer magic (a TEST upgrade; `permanent`
/// adds image_ok, a PERM upgrade).
pub fn upgrade_fixture(
    combo_setup: OwnedBootConfig,
    maker: &dyn ImageMaker,
    permanent: bool,
) -> Result<Fixture, ScenarioError> {
    let mut fx = Fixture::empty(combo_setup)?;
    for image in 0..fx.setup.images.len() {
        let seed = image as u32 * 16;
        let a = maker.make(&ImageSpec::new(
            seed + 1,
            PRIMARY_PAYLOAD,
            &format!("{}.0.1+0", image * 20),
        ))?;
        let b = maker.make(&ImageSpec::new(
            seed + 2,
            UPGRADE_PAYLOAD,
            &format!("{}.0.1+1", image * 20 + 1),
        ))?;
        let slots = fx.setup.images[image];
        fx.install(slots.primary, 0, &a)?;
        let off = fx.upgrade_offset(image);
        fx.install(slots.secondary, off, &b)?;
        fx.mark_magic(slots.secondary)?;
        if permanent {
            fx.mark_image_ok(slots.secondary)?;
        }
        fx.primaries.push(a);
        fx.upgrades.push(Some(b));
    }
    Ok(fx)
}

pub(super) fn all_primaries(fx: &Fixture, upgraded: bool) -> bool {
    (0..fx.setup.images.len()).all(|i| {
        let want = if upgraded {
            fx.upgrades[i].as_deref()
        } else {
            Some(fx.primaries[i].as_slice())
        };
        want.is_some_and(|w| fx.primary_holds(i, w))
    })
}

pub(super) fn all_secondaries_hold_originals(fx: &Fixture) -> bool {
    (0..fx.setup.images.len()).all(|i| fx.secondary_holds(i, &fx.primaries[i]))
}

pub(super) fn is_swap(setup: &OwnedBootConfig) -> bool {
    setup.strategy != UpgradeStrategy::OverwriteOnly
}
