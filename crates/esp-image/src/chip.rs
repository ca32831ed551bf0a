//! The supported chips and the per-chip facts the ROM and the MCUboot port
//! depend on.

use core::fmt;
use core::ops::Range;
use core::str::FromStr;

/// An Espressif chip supported by the MCUboot port and espboot.
///
/// Deliberately exhaustive: adding a chip must fail every `match` that has
/// not been taught its facts (eFuse tables, memory map, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::exhaustive_enums)]
pub enum Chip {
    /// ESP32: dual-core Xtensa LX6, ROM loads the bootloader from 0x1000,
    /// legacy AES flash encryption (`IMAGE_CHIP_ID` 0).
    Esp32,
    /// ESP32-S2: single-core Xtensa LX7, bootloader at 0x1000
    /// (`IMAGE_CHIP_ID` 2).
    Esp32s2,
    /// ESP32-S3: dual-core Xtensa LX7 (`IMAGE_CHIP_ID` 9).
    Esp32s3,
    /// ESP32-C2 (ESP8684): single-core RISC-V, no RTC memory
    /// (`IMAGE_CHIP_ID` 12).
    Esp32c2,
    /// ESP32-C3: single-core RISC-V (`IMAGE_CHIP_ID` 5).
    Esp32c3,
    /// ESP32-C6: single-core RISC-V HP core with an LP core
    /// (`IMAGE_CHIP_ID` 13).
    Esp32c6,
    /// ESP32-H2: single-core RISC-V (`IMAGE_CHIP_ID` 16).
    Esp32h2,
}

/// How the chip's flash encryption transforms data (esptool.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashCryptAlgorithm {
    /// ESP32: AES-256 per 32-byte block with an address-derived key tweak
    /// and FLASH_CRYPT_CONFIG.
    Esp32Legacy,
    /// Every later chip: XTS-AES over 128-byte data units.
    XtsAes,
}

/// A named RAM region, with its address on the instruction bus (IRAM) and on
/// the data bus (DRAM) where the chip maps it on both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryRegion {
    /// The region's name in the linker script (`iram_loader_seg`,
    /// `dram_seg`), used in error messages.
    pub name: &'static str,
    /// Half-open address range on the instruction bus, `None` when the
    /// region is not reachable there.
    pub iram: Option<Range<u32>>,
    /// Half-open address range on the data bus, `None` when the region is
    /// not reachable there.
    pub dram: Option<Range<u32>>,
}

impl MemoryRegion {
    /// True when `[start, start + len)` touches the region on either bus.
    pub fn overlaps(&self, start: u32, len: u32) -> bool {
        let end = u64::from(start) + u64::from(len);
        [&self.iram, &self.dram]
            .into_iter()
            .flatten()
            .any(|r| len > 0 && u64::from(start) < u64::from(r.end) && end > u64::from(r.start))
    }
}

/// The RAM a chip's loader may copy an app into, and the regions the
/// MCUboot port's own code and data occupy while it loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryMap {
    /// `SOC_IRAM_LOW..SOC_IRAM_HIGH` (ESP-IDF `soc/<chip>/include/soc/soc.h`).
    pub iram: Range<u32>,
    /// `SOC_DRAM_LOW..SOC_DRAM_HIGH` (same file).
    pub dram: Range<u32>,
    /// RTC fast (LP) memory, `SOC_RTC_IRAM_LOW..HIGH`, when the chip has it.
    pub rtc_fast: Option<Range<u32>>,
    /// RTC slow (LP) memory, `SOC_RTC_DATA_LOW..HIGH`, when the chip has it.
    pub rtc_slow: Option<Range<u32>>,
    /// The bootloader's `iram_loader_seg` and `dram_seg`
    /// (`boot/espressif/port/<chip>/ld/bootloader.ld`, as drawn in seed 000
    /// "Memory map organization for OS compatibility"). An app segment
    /// copied over them would overwrite the loader while it runs.
    pub bootloader_regions: [MemoryRegion; 2],
}

impl Chip {
    /// Every supported chip, in espefuse's order.
    pub const ALL: [Chip; 7] = [
        Chip::Esp32,
        Chip::Esp32s2,
        Chip::Esp32s3,
        Chip::Esp32c2,
        Chip::Esp32c3,
        Chip::Esp32c6,
        Chip::Esp32h2,
    ];

    /// The name the reference tools use (`--chip esp32c3`).
    pub fn name(self) -> &'static str {
        match self {
            Chip::Esp32 => "esp32",
            Chip::Esp32s2 => "esp32s2",
            Chip::Esp32s3 => "esp32s3",
            Chip::Esp32c2 => "esp32c2",
            Chip::Esp32c3 => "esp32c3",
            Chip::Esp32c6 => "esp32c6",
            Chip::Esp32h2 => "esp32h2",
        }
    }

    /// `IMAGE_CHIP_ID` in the ESP image extended header (esptool.md §5.1).
    pub fn image_chip_id(self) -> u16 {
        match self {
            Chip::Esp32 => 0,
            Chip::Esp32s2 => 2,
            Chip::Esp32c3 => 5,
            Chip::Esp32s3 => 9,
            Chip::Esp32c2 => 12,
            Chip::Esp32c6 => 13,
            Chip::Esp32h2 => 16,
        }
    }

    /// Chip for an `IMAGE_CHIP_ID`, if supported.
    pub fn from_image_chip_id(id: u16) -> Option<Chip> {
        Chip::ALL.into_iter().find(|c| c.image_chip_id() == id)
    }

    /// Where the ROM reads the second-stage bootloader
    /// (`BOOTLOADER_FLASH_OFFSET` in esptool's targets; esptool.md §5.1).
    pub fn bootloader_offset(self) -> u32 {
        match self {
            Chip::Esp32 | Chip::Esp32s2 => 0x1000,
            _ => 0x0,
        }
    }

    /// esptool's `CHIP_NAME` (`ESP32-C3`), as `image-info` prints it.
    pub fn display_name(self) -> &'static str {
        match self {
            Chip::Esp32 => "ESP32",
            Chip::Esp32s2 => "ESP32-S2",
            Chip::Esp32s3 => "ESP32-S3",
            Chip::Esp32c2 => "ESP32-C2",
            Chip::Esp32c3 => "ESP32-C3",
            Chip::Esp32c6 => "ESP32-C6",
            Chip::Esp32h2 => "ESP32-H2",
        }
    }

    /// The UF2 family ID esptool's `merge-bin --format uf2` writes
    /// (`UF2_FAMILY_ID` in `esptool/targets/<chip>.py`).
    pub fn uf2_family_id(self) -> u32 {
        match self {
            Chip::Esp32 => 0x1C5F_21B0,
            Chip::Esp32s2 => 0xBFDD_4EEE,
            Chip::Esp32s3 => 0xC47E_5767,
            Chip::Esp32c2 => 0x2B88_D29C,
            Chip::Esp32c3 => 0xD42B_A06C,
            Chip::Esp32c6 => 0x540D_DF62,
            Chip::Esp32h2 => 0x3327_26F6,
        }
    }

    /// The flash frequency names and their header codes, in esptool's
    /// order (`FLASH_FREQUENCY` in `esptool/targets/<chip>.py`). A code can
    /// have two names (ESP32-C6: `80m` and `40m` are both 0); esptool
    /// prints the first.
    pub fn flash_frequencies(self) -> &'static [(&'static str, u8)] {
        match self {
            Chip::Esp32 | Chip::Esp32s2 | Chip::Esp32s3 | Chip::Esp32c3 => {
                &[("80m", 0xF), ("40m", 0x0), ("26m", 0x1), ("20m", 0x2)]
            }
            Chip::Esp32c2 => &[("60m", 0xF), ("30m", 0x0), ("20m", 0x1), ("15m", 0x2)],
            Chip::Esp32c6 => &[("80m", 0x0), ("40m", 0x0), ("20m", 0x2)],
            Chip::Esp32h2 => &[("48m", 0xF), ("24m", 0x0), ("16m", 0x1), ("12m", 0x2)],
        }
    }

    /// esptool's `MEMORY_MAP` (`esptool/targets/<chip>.py`): half-open
    /// address ranges and the memory type names `image-info` lists for a
    /// segment starting in them, in esptool's order.
    pub fn memory_types(self) -> &'static [(u32, u32, &'static str)] {
        match self {
            Chip::Esp32 => &[
                (0x0000_0000, 0x0001_0000, "PADDING"),
                (0x3F40_0000, 0x3F80_0000, "DROM"),
                (0x3F80_0000, 0x3FC0_0000, "EXTRAM_DATA"),
                (0x3FF8_0000, 0x3FF8_2000, "RTC_DRAM"),
                (0x3FF9_0000, 0x4000_0000, "BYTE_ACCESSIBLE"),
                (0x3FFA_E000, 0x4000_0000, "DRAM"),
                (0x3FFE_0000, 0x3FFF_FFFC, "DIRAM_DRAM"),
                (0x4000_0000, 0x4007_0000, "IROM"),
                (0x4007_0000, 0x4007_8000, "CACHE_PRO"),
                (0x4007_8000, 0x4008_0000, "CACHE_APP"),
                (0x4008_0000, 0x400A_0000, "IRAM"),
                (0x400A_0000, 0x400B_FFFC, "DIRAM_IRAM"),
                (0x400C_0000, 0x400C_2000, "RTC_IRAM"),
                (0x400D_0000, 0x4040_0000, "IROM"),
                (0x5000_0000, 0x5000_2000, "RTC_DATA"),
            ],
            Chip::Esp32s2 => &[
                (0x0000_0000, 0x0001_0000, "PADDING"),
                (0x3F00_0000, 0x3FF8_0000, "DROM"),
                (0x3F50_0000, 0x3FF8_0000, "EXTRAM_DATA"),
                (0x3FF9_E000, 0x3FFA_0000, "RTC_DRAM"),
                (0x3FF9_E000, 0x4000_0000, "BYTE_ACCESSIBLE"),
                (0x3FF9_E000, 0x4007_2000, "MEM_INTERNAL"),
                (0x3FFB_0000, 0x4000_0000, "DRAM"),
                (0x4000_0000, 0x4001_A100, "IROM_MASK"),
                (0x4002_0000, 0x4007_0000, "IRAM"),
                (0x4007_0000, 0x4007_2000, "RTC_IRAM"),
                (0x4008_0000, 0x4080_0000, "IROM"),
                (0x5000_0000, 0x5000_2000, "RTC_DATA"),
            ],
            Chip::Esp32s3 => &[
                (0x0000_0000, 0x0001_0000, "PADDING"),
                (0x3C00_0000, 0x3D00_0000, "DROM"),
                (0x3D00_0000, 0x3E00_0000, "EXTRAM_DATA"),
                (0x600F_E000, 0x6010_0000, "RTC_DRAM"),
                (0x3FC8_8000, 0x3FD0_0000, "BYTE_ACCESSIBLE"),
                (0x3FC8_8000, 0x403E_2000, "MEM_INTERNAL"),
                (0x3FC8_8000, 0x3FD0_0000, "DRAM"),
                (0x4000_0000, 0x4001_A100, "IROM_MASK"),
                (0x4037_0000, 0x403E_0000, "IRAM"),
                (0x600F_E000, 0x6010_0000, "RTC_IRAM"),
                (0x4200_0000, 0x4280_0000, "IROM"),
                (0x5000_0000, 0x5000_2000, "RTC_DATA"),
            ],
            Chip::Esp32c2 => &[
                (0x0000_0000, 0x0001_0000, "PADDING"),
                (0x3C00_0000, 0x3C40_0000, "DROM"),
                (0x3FCA_0000, 0x3FCE_0000, "DRAM"),
                (0x3FC8_8000, 0x3FD0_0000, "BYTE_ACCESSIBLE"),
                (0x3FF0_0000, 0x3FF5_0000, "DROM_MASK"),
                (0x4000_0000, 0x4009_0000, "IROM_MASK"),
                (0x4200_0000, 0x4240_0000, "IROM"),
                (0x4037_C000, 0x403C_0000, "IRAM"),
            ],
            Chip::Esp32c3 => &[
                (0x0000_0000, 0x0001_0000, "PADDING"),
                (0x3C00_0000, 0x3C80_0000, "DROM"),
                (0x3FC8_0000, 0x3FCE_0000, "DRAM"),
                (0x3FC8_8000, 0x3FD0_0000, "BYTE_ACCESSIBLE"),
                (0x3FF0_0000, 0x3FF2_0000, "DROM_MASK"),
                (0x4000_0000, 0x4006_0000, "IROM_MASK"),
                (0x4200_0000, 0x4280_0000, "IROM"),
                (0x4037_C000, 0x403E_0000, "IRAM"),
                (0x5000_0000, 0x5000_2000, "RTC_IRAM"),
                (0x5000_0000, 0x5000_2000, "RTC_DRAM"),
                (0x600F_E000, 0x6010_0000, "MEM_INTERNAL2"),
            ],
            Chip::Esp32c6 | Chip::Esp32h2 => &[
                (0x0000_0000, 0x0001_0000, "PADDING"),
                (0x4200_0000, 0x4300_0000, "DROM"),
                (0x4080_0000, 0x4088_0000, "DRAM"),
                (0x4080_0000, 0x4088_0000, "BYTE_ACCESSIBLE"),
                (0x4004_AC00, 0x4005_0000, "DROM_MASK"),
                (0x4000_0000, 0x4004_AC00, "IROM_MASK"),
                (0x4200_0000, 0x4300_0000, "IROM"),
                (0x4080_0000, 0x4088_0000, "IRAM"),
                (0x5000_0000, 0x5000_4000, "RTC_IRAM"),
                (0x5000_0000, 0x5000_4000, "RTC_DRAM"),
                (0x600F_E000, 0x6010_0000, "MEM_INTERNAL2"),
            ],
        }
    }

    /// The chip's flash-encryption algorithm.
    pub fn flash_crypt_algorithm(self) -> FlashCryptAlgorithm {
        match self {
            Chip::Esp32 => FlashCryptAlgorithm::Esp32Legacy,
            _ => FlashCryptAlgorithm::XtsAes,
        }
    }

    /// True for the dual-core chips that can start image 1 on the APP CPU
    /// (`CONFIG_ESP_MULTI_PROCESSOR_BOOT`, mcuboot.md §7).
    pub fn has_app_cpu(self) -> bool {
        matches!(self, Chip::Esp32 | Chip::Esp32s3)
    }

    /// The chip's RAM map. `multi_processor_boot` selects the ESP32 layout
    /// where `iram_loader_seg` moves out of the APP CPU cache.
    pub fn memory_map(self, multi_processor_boot: bool) -> MemoryMap {
        // Bootloader regions, IRAM range then its DRAM alias.
        let both = |name, i: Range<u32>, d: Range<u32>| MemoryRegion {
            name,
            iram: Some(i),
            dram: Some(d),
        };
        match self {
            Chip::Esp32 => MemoryMap {
                iram: 0x4008_0000..0x400A_0000,
                dram: 0x3FFA_E000..0x4000_0000,
                rtc_fast: Some(0x400C_0000..0x400C_2000),
                rtc_slow: Some(0x5000_0000..0x5000_2000),
                bootloader_regions: if multi_processor_boot {
                    [
                        // SRAM1 is addressed in reverse on the two buses.
                        both(
                            "iram_loader_seg",
                            0x400A_B900..0x400B_1E00,
                            0x3FFE_E200..0x3FFF_4700,
                        ),
                        both(
                            "dram_seg",
                            0x400A_0000..0x400A_B900,
                            0x3FFF_4700..0x4000_0000,
                        ),
                    ]
                } else {
                    [
                        // The APP CPU cache, free while the APP CPU is halted.
                        MemoryRegion {
                            name: "iram_loader_seg",
                            iram: Some(0x4007_8000..0x4008_0000),
                            dram: None,
                        },
                        both(
                            "dram_seg",
                            0x400A_0000..0x400A_B900,
                            0x3FFF_4700..0x4000_0000,
                        ),
                    ]
                },
            },
            Chip::Esp32s2 => MemoryMap {
                iram: 0x4002_0000..0x4007_0000,
                dram: 0x3FFB_0000..0x4000_0000,
                rtc_fast: Some(0x4007_0000..0x4007_2000),
                rtc_slow: Some(0x5000_0000..0x5000_2000),
                bootloader_regions: [
                    both(
                        "iram_loader_seg",
                        0x4005_0000..0x4005_6000,
                        0x3FFE_0000..0x3FFE_6000,
                    ),
                    both(
                        "dram_seg",
                        0x4005_6000..0x4007_0000,
                        0x3FFE_6000..0x4000_0000,
                    ),
                ],
            },
            Chip::Esp32s3 => MemoryMap {
                iram: 0x4037_0000..0x403E_0000,
                dram: 0x3FC8_8000..0x3FD0_0000,
                rtc_fast: Some(0x600F_E000..0x6010_0000),
                rtc_slow: Some(0x5000_0000..0x5000_2000),
                bootloader_regions: [
                    both(
                        "iram_loader_seg",
                        0x403B_A000..0x403C_0000,
                        0x3FCC_A000..0x3FCD_0000,
                    ),
                    both(
                        "dram_seg",
                        0x403C_0000..0x403E_0000,
                        0x3FCD_0000..0x3FCF_0000,
                    ),
                ],
            },
            Chip::Esp32c2 => MemoryMap {
                iram: 0x4037_C000..0x403C_0000,
                dram: 0x3FCA_0000..0x3FCE_0000,
                rtc_fast: None,
                rtc_slow: None,
                bootloader_regions: [
                    both(
                        "iram_loader_seg",
                        0x403A_9B70..0x403B_0B70,
                        0x3FCC_9B70..0x3FCD_0B70,
                    ),
                    both(
                        "dram_seg",
                        0x403B_0B70..0x403C_0000,
                        0x3FCD_0B70..0x3FCE_0000,
                    ),
                ],
            },
            Chip::Esp32c3 => MemoryMap {
                iram: 0x4037_C000..0x403E_0000,
                dram: 0x3FC8_0000..0x3FCE_0000,
                // The C3's only RTC memory serves both roles.
                rtc_fast: Some(0x5000_0000..0x5000_2000),
                rtc_slow: None,
                bootloader_regions: [
                    both(
                        "iram_loader_seg",
                        0x403D_0000..0x403D_5000,
                        0x3FCD_0000..0x3FCD_5000,
                    ),
                    both(
                        "dram_seg",
                        0x403D_5000..0x403E_0000,
                        0x3FCD_5000..0x3FCE_0000,
                    ),
                ],
            },
            Chip::Esp32c6 => MemoryMap {
                // HP SRAM is one address range on both buses.
                iram: 0x4080_0000..0x4088_0000,
                dram: 0x4080_0000..0x4088_0000,
                rtc_fast: Some(0x5000_0000..0x5000_4000),
                rtc_slow: Some(0x5000_0000..0x5000_4000),
                bootloader_regions: [
                    both(
                        "iram_loader_seg",
                        0x4086_9610..0x4087_0610,
                        0x4086_9610..0x4087_0610,
                    ),
                    both(
                        "dram_seg",
                        0x4087_0610..0x4088_0000,
                        0x4087_0610..0x4088_0000,
                    ),
                ],
            },
            Chip::Esp32h2 => MemoryMap {
                iram: 0x4080_0000..0x4085_0000,
                dram: 0x4080_0000..0x4085_0000,
                rtc_fast: Some(0x5000_0000..0x5000_1000),
                rtc_slow: Some(0x5000_0000..0x5000_1000),
                bootloader_regions: [
                    both(
                        "iram_loader_seg",
                        0x4083_9FD0..0x4084_0FD0,
                        0x4083_9FD0..0x4084_0FD0,
                    ),
                    both(
                        "dram_seg",
                        0x4084_0FD0..0x4085_0000,
                        0x4084_0FD0..0x4085_0000,
                    ),
                ],
            },
        }
    }
}

impl fmt::Display for Chip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A chip name that is not one of [`Chip::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chip {0:?} (expected one of esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)")]
pub struct UnknownChip(
    /// The name as the user gave it.
    pub String,
);

impl FromStr for Chip {
    type Err = UnknownChip;

    /// Accepts `esp32c3`, `ESP32-C3` and `esp32_c3`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Chip::ALL
            .into_iter()
            .find(|c| c.name() == norm)
            .ok_or_else(|| UnknownChip(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_accept_reference_spellings() {
        for chip in Chip::ALL {
            assert_eq!(chip.name().parse::<Chip>(), Ok(chip));
            assert_eq!(Chip::from_image_chip_id(chip.image_chip_id()), Some(chip));
        }
        assert_eq!("ESP32-C3".parse::<Chip>(), Ok(Chip::Esp32c3));
        assert!("esp8266".parse::<Chip>().is_err());
    }

    #[test]
    fn bootloader_data_regions_lie_inside_dram() {
        for chip in Chip::ALL {
            for mp in [false, true] {
                let map = chip.memory_map(mp);
                for region in &map.bootloader_regions {
                    assert!(region.iram.is_some() || region.dram.is_some());
                    for r in [&region.iram, &region.dram].into_iter().flatten() {
                        assert!(r.start < r.end, "{chip} {}", region.name);
                    }
                    if let Some(r) = &region.dram {
                        let ok = map.dram.start <= r.start && r.end <= map.dram.end;
                        assert!(ok, "{chip} {} {r:x?}", region.name);
                    }
                }
            }
        }
    }

    #[test]
    fn overlap_is_half_open() {
        let region = &Chip::Esp32c3.memory_map(false).bootloader_regions[0];
        assert!(region.overlaps(0x403D_4FFC, 4));
        assert!(!region.overlaps(0x403C_F000, 0x1000)); // ends exactly at the start
        assert!(region.overlaps(0x3FCD_0000, 1)); // through the DRAM alias
        assert!(!region.overlaps(0x403D_0000, 0));
    }
}
