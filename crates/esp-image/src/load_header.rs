//! The MCUboot port's app load header (`esp_image_load_header_t`,
//! `boot/espressif/hal/include/esp_mcuboot_image.h`) and the checks its
//! loader (`boot/espressif/port/esp_loader.c`) makes before copying an app
//! into RAM (mcuboot.md §7).
//!
//! The header sits at the start of the MCUboot payload (`slot + ih_hdr_size`);
//! every `*_flash_offset` is relative to the slot start.

use core::ops::Range;

use crate::{Chip, MemoryMap};

/// `header_magic` of the load header.
pub const LOAD_HEADER_MAGIC: u32 = 0xace6_37d3;
/// 24 little-endian words.
pub const LOAD_HEADER_LEN: usize = 96;

/// One RAM segment the loader copies from flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadSegment {
    /// RAM address the loader copies to (`*_dest_addr`), or for IROM/DROM
    /// the address the app maps the flash at (`*_map_addr`).
    pub dest_addr: u32,
    /// Offset from the slot start (`*_flash_offset`), which includes the
    /// MCUboot header.
    pub flash_offset: u32,
    /// Length in bytes (`*_size`); 0 for an unused RTC/LP segment.
    pub size: u32,
}

/// `esp_image_load_header_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadHeader {
    /// Where the loader jumps after copying (`entry_addr`); must lie in
    /// IRAM.
    pub entry_addr: u32,
    /// Code copied into IRAM (`iram_*`, words 2..5).
    pub iram: LoadSegment,
    /// Data copied into DRAM (`dram_*`, words 5..8).
    pub dram: LoadSegment,
    /// Code copied into RTC fast / LP memory (`lp_rtc_iram_*`, words
    /// 8..11); size 0 when unused.
    pub lp_rtc_iram: LoadSegment,
    /// Data copied into RTC slow / LP memory (`lp_rtc_dram_*`, words
    /// 11..14); size 0 when unused. The port skips it on deep-sleep wake.
    pub lp_rtc_dram: LoadSegment,
    /// XIP text, mapped by the app itself, not by MCUboot.
    pub irom: LoadSegment,
    /// XIP rodata, mapped by the app itself.
    pub drom: LoadSegment,
}

/// Which segment a loader error concerns, named as the port's log does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SegmentKind {
    /// [`LoadHeader::iram`].
    Iram,
    /// [`LoadHeader::dram`].
    Dram,
    /// [`LoadHeader::lp_rtc_iram`].
    RtcIram,
    /// [`LoadHeader::lp_rtc_dram`].
    RtcDram,
}

impl SegmentKind {
    /// The segment's name in messages (`IRAM`, `RTC/LP DRAM`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SegmentKind::Iram => "IRAM",
            SegmentKind::Dram => "DRAM",
            SegmentKind::RtcIram => "RTC/LP IRAM",
            SegmentKind::RtcDram => "RTC/LP DRAM",
        }
    }
}

/// Why the loader refused an app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Fewer than [`LOAD_HEADER_LEN`] bytes; carries the length given.
    #[error("load header is truncated: {0} bytes, expected 96")]
    Truncated(usize),
    /// The first word is not [`LOAD_HEADER_MAGIC`] (the port panics with
    /// "Load header magic verification failed"); carries the word.
    #[error("load header magic verification failed: {0:#010x}, expected 0xace637d3")]
    BadMagic(u32),
    /// A RAM segment's start or end lies outside the chip's RAM of its
    /// kind (or the chip has no RTC/LP memory for it).
    #[error("{} region {start:#010x}..{end:#010x} in load header is not valid for {chip}", kind.name())]
    OutOfRange {
        /// Which segment.
        kind: SegmentKind,
        /// The chip checked against.
        chip: Chip,
        /// The segment's destination address.
        start: u32,
        /// Destination address plus size (may exceed `u32::MAX`).
        end: u64,
    },
    /// The entry point is not in the chip's IRAM.
    #[error("application entry point {entry:#010x} is not in IRAM of {chip}")]
    EntryNotInIram {
        /// [`LoadHeader::entry_addr`].
        entry: u32,
        /// The chip checked against.
        chip: Chip,
    },
    /// A RAM segment would be copied over the running bootloader's
    /// `iram_loader_seg` or `dram_seg`.
    #[error(
        "{} segment {start:#010x}..{end:#010x} overlaps the bootloader's {region} \
         (IRAM {iram}, DRAM {dram}); move it in the app's linker script",
        kind.name(),
        iram = fmt_range(.iram),
        dram = fmt_range(.dram)
    )]
    OverlapsBootloader {
        /// Which segment.
        kind: SegmentKind,
        /// [`MemoryRegion::name`](crate::MemoryRegion::name) of the
        /// bootloader region hit.
        region: &'static str,
        /// The segment's destination address.
        start: u32,
        /// Destination address plus size.
        end: u64,
        /// The bootloader region on the instruction bus.
        iram: Option<Range<u32>>,
        /// The bootloader region on the data bus.
        dram: Option<Range<u32>>,
    },
    /// A RAM segment's flash range ends past the image.
    #[error("{} segment at slot offset {offset:#x} + {size:#x} runs past the image ({image_len:#x} bytes)", kind.name())]
    BeyondImage {
        /// Which segment.
        kind: SegmentKind,
        /// [`LoadSegment::flash_offset`].
        offset: u32,
        /// [`LoadSegment::size`].
        size: u32,
        /// The image length passed to [`LoadHeader::check`].
        image_len: u32,
    },
}

fn fmt_range(r: &Option<Range<u32>>) -> String {
    match r {
        Some(r) => format!("{:#010x}..{:#010x}", r.start, r.end),
        None => "-".to_owned(),
    }
}

impl LoadHeader {
    /// Parses the 96-byte header at the start of `bytes`.
    ///
    /// # Errors
    /// [`LoadError::Truncated`] or [`LoadError::BadMagic`].
    pub fn parse(bytes: &[u8]) -> Result<Self, LoadError> {
        let words: Vec<u32> = bytes
            .get(..LOAD_HEADER_LEN)
            .ok_or(LoadError::Truncated(bytes.len()))?
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        if words[0] != LOAD_HEADER_MAGIC {
            return Err(LoadError::BadMagic(words[0]));
        }
        let seg = |i: usize| LoadSegment {
            dest_addr: words[i],
            flash_offset: words[i + 1],
            size: words[i + 2],
        };
        Ok(LoadHeader {
            entry_addr: words[1],
            iram: seg(2),
            dram: seg(5),
            lp_rtc_iram: seg(8),
            lp_rtc_dram: seg(11),
            irom: seg(14),
            drom: seg(17),
        })
    }

    /// The header's 96 bytes.
    pub fn to_bytes(&self) -> [u8; LOAD_HEADER_LEN] {
        let mut words = [0u32; 24];
        words[0] = LOAD_HEADER_MAGIC;
        words[1] = self.entry_addr;
        for (i, s) in [
            self.iram,
            self.dram,
            self.lp_rtc_iram,
            self.lp_rtc_dram,
            self.irom,
            self.drom,
        ]
        .into_iter()
        .enumerate()
        {
            words[2 + 3 * i] = s.dest_addr;
            words[3 + 3 * i] = s.flash_offset;
            words[4 + 3 * i] = s.size;
        }
        let mut out = [0u8; LOAD_HEADER_LEN];
        for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// The RAM segments in the order the port copies them.
    pub fn ram_segments(&self) -> [(SegmentKind, LoadSegment); 4] {
        [
            (SegmentKind::Dram, self.dram),
            (SegmentKind::Iram, self.iram),
            (SegmentKind::RtcDram, self.lp_rtc_dram),
            (SegmentKind::RtcIram, self.lp_rtc_iram),
        ]
    }

    /// Checks the header as the port's `esp_app_image_load` does, and in
    /// addition refuses segments that would overwrite the running
    /// bootloader's `iram_loader_seg` or `dram_seg`, and segments whose
    /// flash range lies outside the `image_len` bytes of the slot.
    ///
    /// The port tests both the start and the end address with
    /// `esp_ptr_in_*`, whose upper bound is exclusive, so a segment ending
    /// exactly at the top of a region is refused; this mirrors that.
    ///
    /// # Errors
    /// The first [`LoadError`] found.
    pub fn check(&self, chip: Chip, map: &MemoryMap, image_len: u32) -> Result<(), LoadError> {
        let in_range = |r: &Range<u32>, a: u64| u64::from(r.start) <= a && a < u64::from(r.end);
        for (kind, seg) in self.ram_segments() {
            let start = seg.dest_addr;
            let end = u64::from(start) + u64::from(seg.size);
            let allowed: Option<&Range<u32>> = match kind {
                SegmentKind::Iram => Some(&map.iram),
                SegmentKind::Dram => Some(&map.dram),
                SegmentKind::RtcIram => map.rtc_fast.as_ref(),
                SegmentKind::RtcDram => map.rtc_slow.as_ref(),
            };
            let optional = matches!(kind, SegmentKind::RtcIram | SegmentKind::RtcDram);
            if optional && seg.size == 0 {
                continue;
            }
            let ok = allowed.is_some_and(|r| in_range(r, u64::from(start)) && in_range(r, end));
            if !ok {
                return Err(LoadError::OutOfRange {
                    kind,
                    chip,
                    start,
                    end,
                });
            }
            if u64::from(seg.flash_offset) + u64::from(seg.size) > u64::from(image_len) {
                return Err(LoadError::BeyondImage {
                    kind,
                    offset: seg.flash_offset,
                    size: seg.size,
                    image_len,
                });
            }
            if let Some(region) = map
                .bootloader_regions
                .iter()
                .find(|r| r.overlaps(start, seg.size))
            {
                return Err(LoadError::OverlapsBootloader {
                    kind,
                    region: region.name,
                    start,
                    end,
                    iram: region.iram.clone(),
                    dram: region.dram.clone(),
                });
            }
        }
        if !in_range(&map.iram, u64::from(self.entry_addr)) {
            return Err(LoadError::EntryNotInIram {
                entry: self.entry_addr,
                chip,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A header that fits every chip's free RAM below the loader regions.
    fn good(chip: Chip) -> LoadHeader {
        let map = chip.memory_map(false);
        let iram = map.iram.start + 0x1000;
        let dram = map.dram.start + 0x1000;
        LoadHeader {
            entry_addr: iram,
            iram: LoadSegment {
                dest_addr: iram,
                flash_offset: 0x80,
                size: 0x100,
            },
            dram: LoadSegment {
                dest_addr: dram,
                flash_offset: 0x180,
                size: 0x40,
            },
            ..LoadHeader::default()
        }
    }

    #[test]
    fn round_trip_and_accept() {
        for chip in Chip::ALL {
            let h = good(chip);
            assert_eq!(LoadHeader::parse(&h.to_bytes()), Ok(h));
            h.check(chip, &chip.memory_map(false), 0x1000).unwrap();
        }
    }

    #[test]
    fn overlap_with_loader_regions_names_the_region() {
        for chip in Chip::ALL {
            let map = chip.memory_map(false);
            for region in &map.bootloader_regions {
                let mut h = good(chip);
                // Put the DRAM segment over the region's data-bus alias, or
                // the IRAM segment over its instruction-bus range.
                if let Some(d) = &region.dram {
                    h.dram.dest_addr = d.start;
                } else if let Some(i) = &region.iram {
                    h.iram.dest_addr = i.start;
                }
                let err = h.check(chip, &map, 0x1000).unwrap_err();
                let msg = err.to_string();
                // ESP32's APP-CPU-cache loader region lies outside SOC IRAM,
                // so the range check fires first there.
                if chip == Chip::Esp32 && region.name == "iram_loader_seg" {
                    assert!(matches!(err, LoadError::OutOfRange { .. }), "{msg}");
                } else {
                    assert!(msg.contains(region.name), "{chip}: {msg}");
                }
            }
        }
    }

    #[test]
    fn entry_and_ranges_are_checked() {
        let chip = Chip::Esp32c3;
        let map = chip.memory_map(false);
        let mut h = good(chip);
        h.entry_addr = 0x4200_0000;
        assert!(matches!(
            h.check(chip, &map, 0x1000),
            Err(LoadError::EntryNotInIram { .. })
        ));
        let mut h = good(chip);
        h.iram.dest_addr = map.iram.end - 0x80;
        h.iram.size = 0x80; // ends exactly at SOC_IRAM_HIGH: the port refuses it
        assert!(matches!(
            h.check(chip, &map, 0x1000),
            Err(LoadError::OutOfRange { .. })
        ));
        let h = good(chip);
        assert!(matches!(
            h.check(chip, &map, 0x100),
            Err(LoadError::BeyondImage { .. })
        ));
        let mut bytes = h.to_bytes();
        bytes[0] ^= 1;
        assert!(matches!(
            LoadHeader::parse(&bytes),
            Err(LoadError::BadMagic(_))
        ));
    }

    proptest! {
        #[test]
        fn check_never_panics(words in proptest::array::uniform24(any::<u32>())) {
            let mut bytes = [0u8; 96];
            for (c, w) in bytes.chunks_exact_mut(4).zip(words) { c.copy_from_slice(&w.to_le_bytes()); }
            bytes[..4].copy_from_slice(&LOAD_HEADER_MAGIC.to_le_bytes());
            let h = LoadHeader::parse(&bytes).unwrap();
            for chip in Chip::ALL {
                let _ = h.check(chip, &chip.memory_map(true), u32::MAX);
            }
        }
    }
}
