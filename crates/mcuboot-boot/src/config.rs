//! Static description of the device: flash map, geometry and policy.
//!
//! The fields mirror what MCUboot takes from its compile-time configuration
//! (`mcuboot_config.h`) and from the flash-map backend (`flash_area_align()`,
//! `flash_area_get_sectors()`, `flash_area_erased_val()`), but are runtime
//! values so one binary can model every configuration.

use crate::error::ConfigError;
use crate::geometry::{Area, AreaGeometry, SectorLayout};

/// The two slots of one updatable image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageSlots {
    /// The slot the application runs from (`FLASH_AREA_IMAGE_PRIMARY`).
    pub primary: Area,
    /// The upgrade slot (`FLASH_AREA_IMAGE_SECONDARY`).
    pub secondary: Area,
}

impl ImageSlots {
    /// The area of `slot`.
    #[must_use]
    pub const fn area(&self, slot: Slot) -> Area {
        match slot {
            Slot::Primary => self.primary,
            Slot::Secondary => self.secondary,
        }
    }
}

/// Which slot of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Slot {
    /// `BOOT_SLOT_PRIMARY` (0).
    Primary,
    /// `BOOT_SLOT_SECONDARY` (1).
    Secondary,
}

impl Slot {
    /// The other slot of the image.
    #[must_use]
    pub const fn other(self) -> Self {
        match self {
            Slot::Primary => Slot::Secondary,
            Slot::Secondary => Slot::Primary,
        }
    }

    /// MCUboot's slot number (0 or 1).
    pub fn index(self) -> usize {
        match self {
            Slot::Primary => 0,
            Slot::Secondary => 1,
        }
    }
}

/// The upgrade strategy (exactly one is compiled into MCUboot; here it is
/// chosen at run time). Espressif port keys in parentheses.
///
/// Swap using scratch: regions of as many primary sectors as fit in the
/// scratch, from the top of the slot down; region `idx` (from 1) goes
/// through three states, each closed by one status record of its number at
/// entry `3·(idx-1) + state-1`:
///
/// | State | Steps |
/// |---|---|
/// | 1 | erase scratch; at idx 1 write a scratch trailer (swap_info, image_ok, swap_size, magic last) and, unless the region holds the primary trailer, re-initialise the primary trailer and erase scratch again; copy secondary → scratch |
/// | 2 | at idx 1 erase the secondary trailer; erase the secondary region; copy primary → secondary |
/// | 3 | erase the primary region; copy scratch → primary; if the status lived in scratch, move it and the trailer fields to the primary and erase scratch backwards |
///
/// Swap using move (`N` sectors to swap, one spare sector in the primary):
///
/// | Phase | Steps | Record |
/// |---|---|---|
/// | move, idx N…1 | erase `pri[idx]`, copy `pri[idx-1]` → `pri[idx]` | value 1 at entry `bs.idx-1` |
/// | swap 1, idx 1…N | erase `pri[idx-1]`, copy `sec[idx-1]` → `pri[idx-1]` | 1 at `M + 2(idx-1)` |
/// | swap 2, idx 1…N | erase `sec[idx-1]`, copy `pri[idx]` → `sec[idx-1]` | 2 at `M + 2(idx-1) + 1` |
///
/// Swap using offset (new image at secondary sector 1; two records per sector):
///
/// | Direction | State 1 | State 2 |
/// |---|---|---|
/// | upgrade, idx 0…last | erase `sec[idx]`, copy `pri[idx]` → `sec[idx]` | erase `pri[idx]`, copy `sec[idx+1]` → `pri[idx]` |
/// | revert, idx last…0 | erase `sec[idx+1]`, copy `pri[idx]` → `sec[idx+1]` | erase `pri[idx]`, copy `sec[idx]` → `pri[idx]` |
///
/// Overwrite-only: erase every primary sector, copy the whole secondary slot
/// (trailer included), erase the secondary's first and last sectors; no
/// status, an interrupted copy is redone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum UpgradeStrategy {
    /// `MCUBOOT_SWAP_USING_SCRATCH` (`CONFIG_ESP_BOOT_SWAP_USING_SCRATCH`, the port default).
    SwapScratch,
    /// `MCUBOOT_SWAP_USING_MOVE` (`CONFIG_ESP_BOOT_SWAP_USING_MOVE`).
    SwapMove,
    /// `MCUBOOT_SWAP_USING_OFFSET` (`CONFIG_ESP_BOOT_SWAP_USING_OFFSET`).
    SwapOffset,
    /// `MCUBOOT_OVERWRITE_ONLY` without `_FAST` (`CONFIG_ESP_BOOT_UPGRADE_ONLY`).
    OverwriteOnly,
}

impl UpgradeStrategy {
    /// Every strategy, in the order above.
    pub const ALL: [UpgradeStrategy; 4] = [
        UpgradeStrategy::SwapScratch,
        UpgradeStrategy::SwapMove,
        UpgradeStrategy::SwapOffset,
        UpgradeStrategy::OverwriteOnly,
    ];

    /// Short label: `swap-scratch`, `swap-move`, `swap-offset`,
    /// `overwrite-only` (as the simulator's configuration and reports name
    /// them).
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            UpgradeStrategy::SwapScratch => "swap-scratch",
            UpgradeStrategy::SwapMove => "swap-move",
            UpgradeStrategy::SwapOffset => "swap-offset",
            UpgradeStrategy::OverwriteOnly => "overwrite-only",
        }
    }

    /// `BOOT_STATUS_STATE_COUNT`: status records per swap step
    /// (`bootutil_priv.h`: 3 for scratch and move, 2 for offset).
    pub fn status_state_count(self) -> u32 {
        match self {
            UpgradeStrategy::SwapOffset => 2,
            _ => 3,
        }
    }

    /// Whether the strategy swaps (keeps the old image in the secondary slot).
    pub fn is_swap(self) -> bool {
        !matches!(self, UpgradeStrategy::OverwriteOnly)
    }
}

impl core::fmt::Display for UpgradeStrategy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.label())
    }
}

/// Software downgrade prevention (`MCUBOOT_DOWNGRADE_PREVENTION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum DowngradePrevention {
    /// No check.
    Off,
    /// Refuse an upgrade whose version is lower than the running one
    /// (`CONFIG_ESP_DOWNGRADE_PREVENTION`); equal versions are allowed.
    Version,
    /// Refuse an upgrade whose security counter is lower
    /// (`CONFIG_ESP_DOWNGRADE_PREVENTION_SECURITY_COUNTER`); equal allowed.
    SecurityCounter,
}

/// Everything the boot core needs to know about the device.
#[derive(Clone, Copy, Debug)]
pub struct BootConfig<'a> {
    /// One or two updatable images (`CONFIG_ESP_IMAGE_NUMBER`).
    pub images: &'a [ImageSlots],
    /// Scratch area; required for [`UpgradeStrategy::SwapScratch`].
    pub scratch: Option<Area>,
    /// The upgrade strategy.
    pub strategy: UpgradeStrategy,
    /// Downgrade prevention policy.
    pub downgrade: DowngradePrevention,
    /// `flash_area_align()`: the write size W used for trailer fields and
    /// status records (1..=32, a power of two, at most `max_align`, and a
    /// multiple of the flash's `WRITE_SIZE`). ESP: 4, or 32 with flash encryption.
    pub write_size: u32,
    /// The erase-sector map.
    pub sectors: SectorLayout<'a>,
    /// `BOOT_MAX_ALIGN` A: 8, 16 or 32. Selects the trailer magic variant and
    /// the field spacing. ESP: 8, or 32 with flash encryption.
    pub max_align: u32,
    /// `flash_area_erased_val()`: 0xff or 0x00.
    pub erased_val: u8,
    /// `BOOT_MAX_IMG_SECTORS` M (ESP: 512). Sizes the status area.
    pub max_sectors: u32,
    /// `MCUBOOT_BOOTSTRAP`: copy a valid secondary into an empty or invalid primary.
    /// Implies `MCUBOOT_OVERWRITE_ONLY_FAST` for that copy (as MCUboot's
    /// simulator build does, `sim/mcuboot-sys/build.rs`): only the image is
    /// copied and the primary's trailer magic is written.
    pub bootstrap: bool,
    /// Embedded public keys (`bootutil_keys[]`): the exact DER blobs whose
    /// hash appears in the KEYHASH TLV (SubjectPublicKeyInfo for EC/EdDSA,
    /// PKCS#1 RSAPublicKey for RSA), as `imgtool getpub` prints them.
    pub keys: &'a [&'a [u8]],
    /// The signature scheme built into the bootloader (`CONFIG_ESP_SIGN_EC256`,
    /// `_ED25519`, `_RSA` + `_RSA_LEN`); `None` = hash only (no `MCUBOOT_SIGN_*`).
    /// The image hash is SHA-384 for P-384, else SHA-256.
    pub signature: Option<mcuboot_image::SignatureKind>,
    /// Encrypted-image support (`MCUBOOT_ENC_IMAGES`): not implemented yet,
    /// must be `None`; see [`ImageCipher`](crate::ImageCipher).
    pub encryption: Option<&'a dyn crate::ImageCipher>,
}

/// Maximum number of images ([`BootConfig::images`]).
pub const MAX_IMAGES: usize = 2;

/// Largest accepted `max_sectors` (MCUboot's Kconfig allows far less; this
/// only keeps trailer arithmetic in range).
pub(crate) const MAX_SECTORS_LIMIT: u32 = 1 << 20;

impl BootConfig<'_> {
    /// Checks the configuration for consistency (areas, alignment, geometry).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.images.is_empty() || self.images.len() > MAX_IMAGES {
            return Err(ConfigError::ImageCount(self.images.len()));
        }
        if !matches!(self.max_align, 8 | 16 | 32) {
            return Err(ConfigError::MaxAlign(self.max_align));
        }
        let w = self.write_size;
        if w == 0 || !w.is_power_of_two() || w > 32 || w > self.max_align {
            return Err(ConfigError::WriteSize(w));
        }
        if !matches!(self.erased_val, 0x00 | 0xff) {
            return Err(ConfigError::ErasedValue(self.erased_val));
        }
        // Bounded so that status-area sizes (M * 3 * 32) fit in 32 bits.
        if self.max_sectors == 0 || self.max_sectors > MAX_SECTORS_LIMIT {
            return Err(ConfigError::MaxSectors(self.max_sectors));
        }
        if self.strategy == UpgradeStrategy::SwapScratch && self.scratch.is_none() {
            return Err(ConfigError::MissingScratch);
        }
        let mut all: [Option<Area>; 2 * MAX_IMAGES + 1] = [None; 2 * MAX_IMAGES + 1];
        for (i, img) in self.images.iter().enumerate() {
            all[2 * i] = Some(img.primary);
            all[2 * i + 1] = Some(img.secondary);
        }
        if self.strategy == UpgradeStrategy::SwapScratch {
            all[2 * MAX_IMAGES] = self.scratch;
        }
        for (i, a) in all.iter().enumerate() {
            let Some(a) = a else { continue };
            AreaGeometry::new(self.sectors, *a)?;
            for b in all.iter().skip(i + 1).flatten() {
                if a.overlaps(b) {
                    return Err(ConfigError::Overlap(*a, *b));
                }
            }
        }
        Ok(())
    }
}
