//! Reading and writing the image trailer at the end of every slot (and of
//! the scratch area). Its format — the magic, the flags, the layout and its
//! sizes — is defined once in `mcuboot_image::codec::trailer`, which the
//! signer uses too (reference mcuboot.md §2); a field write is W bytes
//! (`flash_area_align()`), the magic write `ALIGN_UP(16, A)` bytes.

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::codec::trailer::{align_down, align_up, magic_for, TrailerLayout, FLAG_SET};

use crate::config::{BootConfig, UpgradeStrategy};
use crate::error::{BootError, ConfigError};
use crate::flash::{Flash, Res};
use crate::geometry::Area;

/// Decoded trailer magic (`BOOT_MAGIC_GOOD/BAD/UNSET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum MagicState {
    /// Equal to the expected magic.
    Good,
    /// Neither erased nor the expected magic.
    Bad,
    /// All bytes erased.
    Unset,
}

/// Decoded image_ok / copy_done flag (`BOOT_FLAG_SET/BAD/UNSET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum FlagState {
    /// 0x01.
    Set,
    /// Any other non-erased value.
    Bad,
    /// Erased.
    Unset,
}

/// Swap types (`BOOT_SWAP_TYPE_*`, `bootutil_public.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum SwapType {
    /// 1: no swap.
    None,
    /// 2: swap once, revert unless confirmed.
    Test,
    /// 3: swap permanently.
    Perm,
    /// 4: swap back to the previous image.
    Revert,
    /// 5: the upgrade image was invalid.
    Fail,
}

impl SwapType {
    /// The on-flash value of the swap_info low nibble.
    pub fn raw(self) -> u8 {
        match self {
            SwapType::None => 1,
            SwapType::Test => 2,
            SwapType::Perm => 3,
            SwapType::Revert => 4,
            SwapType::Fail => 5,
        }
    }

    /// `BOOT_IS_UPGRADE`: TEST, PERM or REVERT.
    pub fn is_upgrade(self) -> bool {
        matches!(self, SwapType::Test | SwapType::Perm | SwapType::Revert)
    }

    /// Lower-case name as printed by MCUboot's log and `espboot sim`.
    pub fn name(self) -> &'static str {
        match self {
            SwapType::None => "none",
            SwapType::Test => "test",
            SwapType::Perm => "perm",
            SwapType::Revert => "revert",
            SwapType::Fail => "fail",
        }
    }
}

/// The decoded trailer of one area (`struct boot_swap_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrailerState {
    /// Magic.
    pub magic: MagicState,
    /// Swap type from swap_info (`None` when erased or > REVERT).
    pub swap_type: SwapType,
    /// Image number from swap_info (0 when erased or invalid).
    pub image_num: u8,
    /// copy_done flag.
    pub copy_done: FlagState,
    /// image_ok flag.
    pub image_ok: FlagState,
}

/// One area's trailer: its size S, whether it is the scratch area (room for
/// one sector's status records), and the shared layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    /// Area size S.
    pub(crate) size: u32,
    /// The scratch area's trailer (`boot_scratch_trailer_sz`).
    pub(crate) scratch: bool,
    /// Sizes and field positions (`bootutil_misc.h`).
    pub(crate) fields: TrailerLayout,
}

impl Layout {
    pub(crate) fn for_area(cfg: &BootConfig<'_>, area: Area, scratch: bool) -> Self {
        let strategy = cfg.strategy;
        Layout {
            size: area.size,
            scratch,
            fields: TrailerLayout {
                status_states: strategy.status_state_count(),
                swap_offset: strategy == UpgradeStrategy::SwapOffset,
                ..TrailerLayout::new(cfg.max_align, cfg.write_size, cfg.max_sectors)
            },
        }
    }

    /// `BOOT_MAX_ALIGN`.
    pub(crate) fn max_align(&self) -> u32 {
        self.fields.max_align
    }
    /// `BOOT_STATUS_STATE_COUNT`.
    pub(crate) fn states(&self) -> u32 {
        self.fields.status_states
    }
    pub(crate) fn magic_off(&self) -> u32 {
        self.fields.magic_off(self.size)
    }
    pub(crate) fn image_ok_off(&self) -> u32 {
        self.fields.image_ok_off(self.size)
    }
    pub(crate) fn copy_done_off(&self) -> u32 {
        self.fields.copy_done_off(self.size)
    }
    pub(crate) fn swap_info_off(&self) -> u32 {
        self.fields.swap_info_off(self.size)
    }
    pub(crate) fn unprot_tlv_sizes_off(&self) -> u32 {
        self.fields.unprot_tlv_sizes_off(self.size)
    }
    pub(crate) fn swap_size_off(&self) -> u32 {
        self.fields.swap_size_off(self.size)
    }
    /// `boot_trailer_sz(W)`.
    pub(crate) fn trailer_size(&self) -> u32 {
        self.fields.size()
    }
    /// `boot_scratch_trailer_sz(W)`.
    pub(crate) fn scratch_trailer_size(&self) -> u32 {
        self.fields.scratch_size()
    }
    /// `boot_status_off`.
    pub(crate) fn status_off(&self) -> u32 {
        let from_end = if self.scratch {
            self.scratch_trailer_size()
        } else {
            self.trailer_size()
        };
        self.size.saturating_sub(from_end)
    }
    /// `boot_status_entries`.
    pub(crate) fn status_entries(&self) -> u32 {
        if self.scratch {
            self.states()
        } else {
            self.states() * self.fields.max_sectors
        }
    }
    /// Checks that the trailer fits in the area.
    pub(crate) fn check(&self, area: Area) -> Result<(), ConfigError> {
        let need = if self.scratch {
            self.scratch_trailer_size()
        } else {
            self.trailer_size()
        };
        if need > self.size {
            return Err(ConfigError::TrailerTooLarge(area));
        }
        Ok(())
    }
}

/// Reads and writes one area's trailer.
pub(crate) struct Trailer {
    pub area: Area,
    pub lay: Layout,
}

impl Trailer {
    pub(crate) fn new(cfg: &BootConfig<'_>, area: Area, scratch: bool) -> Self {
        Trailer {
            area,
            lay: Layout::for_area(cfg, area, scratch),
        }
    }

    fn read_flag<F: NorFlash>(&self, fl: &mut Flash<'_, F>, off: u32) -> Res<FlagState, F> {
        let mut b = [0u8; 1];
        fl.read(self.area, off, &mut b)?;
        Ok(if fl.is_erased(&b) {
            FlagState::Unset
        } else if b[0] == FLAG_SET {
            FlagState::Set
        } else {
            FlagState::Bad
        })
    }

    pub(crate) fn read_magic<F: NorFlash>(&self, fl: &mut Flash<'_, F>) -> Res<MagicState, F> {
        let mut m = [0u8; 16];
        fl.read(self.area, self.lay.magic_off(), &mut m)?;
        Ok(if fl.is_erased(&m) {
            MagicState::Unset
        } else if m == magic_for(self.lay.max_align()) {
            MagicState::Good
        } else {
            MagicState::Bad
        })
    }

    pub(crate) fn read_image_ok<F: NorFlash>(&self, fl: &mut Flash<'_, F>) -> Res<FlagState, F> {
        self.read_flag(fl, self.lay.image_ok_off())
    }

    /// Raw swap_info byte.
    pub(crate) fn read_swap_info_raw<F: NorFlash>(
        &self,
        fl: &mut Flash<'_, F>,
    ) -> Res<(u8, bool), F> {
        let mut b = [0u8; 1];
        fl.read(self.area, self.lay.swap_info_off(), &mut b)?;
        Ok((b[0], fl.is_erased(&b)))
    }

    /// `boot_read_swap_state`.
    pub(crate) fn read_state<F: NorFlash>(&self, fl: &mut Flash<'_, F>) -> Res<TrailerState, F> {
        let magic = self.read_magic(fl)?;
        let (info, erased) = self.read_swap_info_raw(fl)?;
        let (swap_type, image_num) = match (erased, info & 0x0f) {
            (false, 2) => (SwapType::Test, info >> 4),
            (false, 3) => (SwapType::Perm, info >> 4),
            (false, 4) => (SwapType::Revert, info >> 4),
            // NONE keeps its image number; erased or > REVERT decode as
            // NONE, image 0 (`boot_read_swap_state`). A raw 0 matches no
            // decision-table row and is treated like NONE everywhere.
            (false, 0 | 1) => (SwapType::None, info >> 4),
            _ => (SwapType::None, 0),
        };
        let copy_done = self.read_flag(fl, self.lay.copy_done_off())?;
        let image_ok = self.read_flag(fl, self.lay.image_ok_off())?;
        Ok(TrailerState {
            magic,
            swap_type,
            image_num,
            copy_done,
            image_ok,
        })
    }

    /// `boot_read_swap_size`.
    pub(crate) fn read_swap_size<F: NorFlash>(&self, fl: &mut Flash<'_, F>) -> Res<u32, F> {
        let mut b = [0u8; 4];
        fl.read(self.area, self.lay.swap_size_off(), &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// `boot_read_unprotected_tlv_sizes`: (primary, secondary).
    pub(crate) fn read_unprot_tlv_sizes<F: NorFlash>(
        &self,
        fl: &mut Flash<'_, F>,
    ) -> Res<(u16, u16), F> {
        let mut b = [0u8; 4];
        fl.read(self.area, self.lay.unprot_tlv_sizes_off(), &mut b)?;
        let v = u32::from_le_bytes(b);
        Ok(((v & 0xffff) as u16, (v >> 16) as u16))
    }

    /// `boot_write_trailer`: `data` padded with the erased value to a multiple of W.
    fn write_field<F: NorFlash>(&self, fl: &mut Flash<'_, F>, off: u32, data: &[u8]) -> Res<(), F> {
        let mut buf = [fl.erased; 32];
        let n = align_up(data.len() as u32, self.lay.fields.write_size) as usize;
        buf[..data.len()].copy_from_slice(data);
        fl.write(self.area, off, &buf[..n])
    }

    pub(crate) fn write_magic<F: NorFlash>(&self, fl: &mut Flash<'_, F>) -> Res<(), F> {
        let mut buf = [fl.erased; 32];
        let n = self.lay.fields.magic_align_size() as usize;
        buf[n - 16..n].copy_from_slice(&magic_for(self.lay.max_align()));
        let off = align_down(self.lay.magic_off(), self.lay.max_align());
        fl.write(self.area, off, &buf[..n])
    }

    pub(crate) fn write_image_ok<F: NorFlash>(&self, fl: &mut Flash<'_, F>) -> Res<(), F> {
        self.write_field(fl, self.lay.image_ok_off(), &[FLAG_SET])
    }

    pub(crate) fn write_copy_done<F: NorFlash>(&self, fl: &mut Flash<'_, F>) -> Res<(), F> {
        self.write_field(fl, self.lay.copy_done_off(), &[FLAG_SET])
    }

    pub(crate) fn write_swap_info<F: NorFlash>(
        &self,
        fl: &mut Flash<'_, F>,
        swap_type: SwapType,
        image: u8,
    ) -> Res<(), F> {
        self.write_field(
            fl,
            self.lay.swap_info_off(),
            &[(image << 4) | swap_type.raw()],
        )
    }

    pub(crate) fn write_swap_size<F: NorFlash>(
        &self,
        fl: &mut Flash<'_, F>,
        size: u32,
    ) -> Res<(), F> {
        self.write_field(fl, self.lay.swap_size_off(), &size.to_le_bytes())
    }

    pub(crate) fn write_unprot_tlv_sizes<F: NorFlash>(
        &self,
        fl: &mut Flash<'_, F>,
        primary: u16,
        secondary: u16,
    ) -> Res<(), F> {
        let v = (u32::from(secondary) << 16) | u32::from(primary);
        self.write_field(fl, self.lay.unprot_tlv_sizes_off(), &v.to_le_bytes())
    }

    /// `boot_write_status`: one record of value `state` at entry `entry`.
    pub(crate) fn write_status_entry<F: NorFlash>(
        &self,
        fl: &mut Flash<'_, F>,
        entry: u32,
        state: u8,
    ) -> Res<(), F> {
        let off = self.lay.status_off() + entry * self.lay.fields.write_size;
        self.write_field(fl, off, &[state])
    }
}

/// Convenience for the public API: errors for bad image indices.
pub(crate) fn image_slots<E>(
    cfg: &BootConfig<'_>,
    image: usize,
) -> Result<crate::config::ImageSlots, BootError<E>> {
    cfg.images
        .get(image)
        .copied()
        .ok_or(BootError::Config(ConfigError::ImageIndex(image)))
}
