//! The resolved flash map: the slots, the scratch and the geometry the
//! boot core runs with, from `bootloader.conf` and the target's defaults.

use std::fmt;

use mcuboot_boot::{DowngradePrevention, UpgradeStrategy};
use serde::{Deserialize, Serialize};

use super::{parse_flash_size, ConfigError, ConfigFile};

/// A byte range of the flash, `offset..offset+size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The first byte.
    pub offset: u32,
    /// The length in bytes.
    pub size: u32,
}

impl Span {
    /// End address (exclusive), saturating.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.size)
    }

    fn overlaps(&self, other: &Span) -> bool {
        u64::from(self.offset) < other.end() && u64::from(other.offset) < self.end()
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.offset, self.end())
    }
}

/// The image signature scheme (`CONFIG_ESP_SIGN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Signature {
    /// No signature key configured: images are checked by hash only.
    None,
    /// `CONFIG_ESP_SIGN_EC256`: ECDSA P-256.
    Ec256,
    /// `CONFIG_ESP_SIGN_ED25519`.
    Ed25519,
    /// `CONFIG_ESP_SIGN_RSA` with 2048-bit keys.
    Rsa2048,
    /// `CONFIG_ESP_SIGN_RSA` with 3072-bit keys.
    Rsa3072,
}

/// One image's two slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotPair {
    /// The primary slot (the image runs from here).
    pub primary: Span,
    /// The secondary slot (updates go here).
    pub secondary: Span,
}

/// Sector size of the ESP SPI flash as the port's flash backend reports it
/// (`FLASH_SECTOR_SIZE`, `port/esp_mcuboot.c`, mcuboot.md §7).
pub const ESP_SECTOR_SIZE: u32 = 0x1000;
/// `MCUBOOT_MAX_IMG_SECTORS` of the port (`mcuboot_config.h`, mcuboot.md §7).
pub use mcuboot_image::codec::trailer::ESPRESSIF_MAX_SECTORS as ESP_MAX_IMG_SECTORS;
/// `flash_area_align()` of the port without flash encryption (mcuboot.md §7).
pub const ESP_WRITE_SIZE: u32 = 4;
/// `flash_area_align()` and `MCUBOOT_BOOT_MAX_ALIGN` with flash encryption.
pub const ESP_ENCRYPTED_ALIGN: u32 = 32;
/// `BOOT_MAX_ALIGN` default (mcuboot.md §2.1).
pub use mcuboot_image::codec::trailer::DEFAULT_MAX_ALIGN;

/// The flash map and boot options resolved from a merged configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashMap {
    /// The flash size in bytes (`CONFIG_ESPTOOLPY_FLASHSIZE`).
    pub flash_size: u32,
    /// The erase sector size.
    pub sector_size: u32,
    /// The second-stage bootloader region.
    pub bootloader: Span,
    /// The slots of each image (one, or two with multi-image boot).
    pub images: Vec<SlotPair>,
    /// The swap-scratch area.
    pub scratch: Option<Span>,
    /// The upgrade strategy (the port's `mcuboot_config.h`:
    /// `CONFIG_ESP_BOOT_SWAP_USING_SCRATCH` is the default).
    pub strategy: UpgradeStrategy,
    /// Downgrade prevention
    /// (`CONFIG_ESP_DOWNGRADE_PREVENTION[_SECURITY_COUNTER]`).
    pub downgrade: DowngradePrevention,
    /// The image signature type the bootloader checks.
    pub signature: Signature,
    /// `flash_area_align()`: the write granularity.
    pub write_size: u32,
    /// `BOOT_MAX_ALIGN`: the trailer's alignment.
    pub max_align: u32,
    /// The value of erased flash.
    pub erased_val: u8,
    /// `MCUBOOT_MAX_IMG_SECTORS`.
    pub max_sectors: u32,
}

/// One line: flash size, strategy and every region, e.g. `4 MiB flash,
/// swap using scratch; bootloader 0x0..0xf000, image 0 primary slot
/// 0x10000..0x1d0000, …`.
impl fmt::Display for FlashMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.flash_size.is_multiple_of(1 << 20) {
            write!(f, "{} MiB flash", self.flash_size >> 20)?;
        } else {
            write!(f, "{:#x} bytes of flash", self.flash_size)?;
        }
        write!(f, ", {}", self.strategy)?;
        for (i, (name, span)) in self.regions().iter().enumerate() {
            f.write_str(if i == 0 { "; " } else { ", " })?;
            write!(f, "{name} {span}")?;
        }
        Ok(())
    }
}

impl FlashMap {
    /// Resolves `config`; `flash_size` (from the command line) overrides
    /// `CONFIG_ESP_FLASH_SIZE`. Checks that regions are inside the flash,
    /// sector aligned and disjoint.
    pub fn resolve(config: &ConfigFile, flash_size: Option<u32>) -> Result<Self, ConfigError> {
        let flash_size = match flash_size {
            Some(size) => size,
            None => {
                let text = config
                    .get("CONFIG_ESP_FLASH_SIZE")
                    .ok_or(ConfigError::Missing("CONFIG_ESP_FLASH_SIZE"))?;
                parse_flash_size(text).ok_or_else(|| ConfigError::Value {
                    key: "CONFIG_ESP_FLASH_SIZE".into(),
                    value: text.into(),
                    expected: "a flash size such as 4MB",
                })?
            }
        };
        for unsupported in [
            "CONFIG_ESP_BOOT_DIRECT_XIP",
            "CONFIG_ESP_BOOT_RAM_LOAD",
            "CONFIG_ESP_SINGLE_APPLICATION_SLOT",
        ] {
            if config.is_set(unsupported) {
                return Err(ConfigError::Unsupported(unsupported));
            }
        }
        let modes: Vec<(&'static str, UpgradeStrategy)> = [
            (
                "CONFIG_ESP_BOOT_SWAP_USING_SCRATCH",
                UpgradeStrategy::SwapScratch,
            ),
            ("CONFIG_ESP_BOOT_SWAP_USING_MOVE", UpgradeStrategy::SwapMove),
            (
                "CONFIG_ESP_BOOT_SWAP_USING_OFFSET",
                UpgradeStrategy::SwapOffset,
            ),
            (
                "CONFIG_ESP_BOOT_UPGRADE_ONLY",
                UpgradeStrategy::OverwriteOnly,
            ),
        ]
        .into_iter()
        .filter(|(k, _)| config.is_set(k))
        .collect();
        let strategy = match modes.as_slice() {
            [] => UpgradeStrategy::SwapScratch,
            [(_, s)] => *s,
            [(a, _), (b, _), ..] => {
                let (a, b) = (*a, *b);
                return Err(ConfigError::Conflict { a, b });
            }
        };
        let downgrade = if config.is_set("CONFIG_ESP_DOWNGRADE_PREVENTION") {
            if config.is_set("CONFIG_ESP_DOWNGRADE_PREVENTION_SECURITY_COUNTER") {
                DowngradePrevention::SecurityCounter
            } else {
                DowngradePrevention::Version
            }
        } else {
            // The port only reads the _SECURITY_COUNTER key inside
            // `#ifdef CONFIG_ESP_DOWNGRADE_PREVENTION` (mcuboot_config.h).
            DowngradePrevention::Off
        };
        let signature = if config.is_set("CONFIG_ESP_SIGN_RSA") {
            match config.get("CONFIG_ESP_SIGN_RSA_LEN").unwrap_or("2048") {
                "2048" => Signature::Rsa2048,
                "3072" => Signature::Rsa3072,
                other => {
                    return Err(ConfigError::Value {
                        key: "CONFIG_ESP_SIGN_RSA_LEN".into(),
                        value: other.into(),
                        expected: "2048 or 3072",
                    })
                }
            }
        } else if config.is_set("CONFIG_ESP_SIGN_EC256") {
            Signature::Ec256
        } else if config.is_set("CONFIG_ESP_SIGN_ED25519") {
            Signature::Ed25519
        } else {
            Signature::None
        };
        let image_number = config.number("CONFIG_ESP_IMAGE_NUMBER")?.unwrap_or(1);
        if !(1..=2).contains(&image_number) {
            return Err(ConfigError::Value {
                key: "CONFIG_ESP_IMAGE_NUMBER".into(),
                value: image_number.to_string(),
                expected: "1 or 2",
            });
        }
        let app_size = config.required("CONFIG_ESP_APPLICATION_SIZE")?;
        let slot = |key: &'static str| -> Result<Span, ConfigError> {
            Ok(Span {
                offset: config.required(key)?,
                size: app_size,
            })
        };
        let mut images = vec![SlotPair {
            primary: slot("CONFIG_ESP_IMAGE0_PRIMARY_START_ADDRESS")?,
            secondary: slot("CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS")?,
        }];
        if image_number == 2 {
            images.push(SlotPair {
                primary: slot("CONFIG_ESP_IMAGE1_PRIMARY_START_ADDRESS")?,
                secondary: slot("CONFIG_ESP_IMAGE1_SECONDARY_START_ADDRESS")?,
            });
        }
        let scratch = match strategy {
            UpgradeStrategy::SwapScratch => Some(Span {
                offset: config.required("CONFIG_ESP_SCRATCH_OFFSET")?,
                size: config.required("CONFIG_ESP_SCRATCH_SIZE")?,
            }),
            _ => None,
        };
        let bootloader = Span {
            offset: config.number("CONFIG_ESP_BOOTLOADER_OFFSET")?.unwrap_or(0),
            size: config.required("CONFIG_ESP_BOOTLOADER_SIZE")?,
        };
        let encrypted = config.is_set("CONFIG_SECURE_FLASH_ENC_ENABLED");
        let map = FlashMap {
            flash_size,
            sector_size: ESP_SECTOR_SIZE,
            bootloader,
            images,
            scratch,
            strategy,
            downgrade,
            signature,
            write_size: if encrypted {
                ESP_ENCRYPTED_ALIGN
            } else {
                ESP_WRITE_SIZE
            },
            max_align: if encrypted {
                ESP_ENCRYPTED_ALIGN
            } else {
                DEFAULT_MAX_ALIGN
            },
            erased_val: 0xff,
            max_sectors: ESP_MAX_IMG_SECTORS,
        };
        map.validate()?;
        Ok(map)
    }

    /// Every region with its name, for validation and counters.
    pub fn regions(&self) -> Vec<(String, Span)> {
        let mut out = vec![("bootloader".to_string(), self.bootloader)];
        for (i, pair) in self.images.iter().enumerate() {
            out.push((format!("image {i} primary slot"), pair.primary));
            out.push((format!("image {i} secondary slot"), pair.secondary));
        }
        if let Some(scratch) = self.scratch {
            out.push(("scratch".to_string(), scratch));
        }
        out
    }

    /// Checks that regions are non-empty, inside the flash, on sector
    /// boundaries (slots and scratch) and pairwise disjoint.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let regions = self.regions();
        for (name, span) in &regions {
            if span.end() > u64::from(self.flash_size) {
                return Err(ConfigError::BeyondFlash {
                    name: name.clone(),
                    range: *span,
                    flash_size: self.flash_size,
                });
            }
            if name != "bootloader"
                && (span.size == 0
                    || span.offset % self.sector_size != 0
                    || span.size % self.sector_size != 0)
            {
                return Err(ConfigError::Unaligned {
                    name: name.clone(),
                    range: *span,
                    sector: self.sector_size,
                });
            }
        }
        for (i, (a, sa)) in regions.iter().enumerate() {
            for (b, sb) in &regions[i + 1..] {
                if sa.overlaps(sb) {
                    return Err(ConfigError::Overlap {
                        a: a.clone(),
                        a_range: *sa,
                        b: b.clone(),
                        b_range: *sb,
                    });
                }
            }
        }
        Ok(())
    }
}
