//! App payloads for the MCUboot Espressif port: what `espboot sim build-app`
//! writes, ready to be signed into an MCUboot image.
//!
//! The port does not boot ESP-IDF app images: the payload of the MCUboot
//! image starts with the load header (`esp_image_load_header_t`, magic
//! `0xace637d3`, [`LoadHeader`]) and the loader copies the IRAM, DRAM and
//! optional RTC segments it lists into RAM, then jumps to the entry point
//! (mcuboot.md §7, `port/esp_loader.c`).
//!
//! # Layout (slot offsets)
//!
//! ```text
//! 0x00  MCUboot header, 32 bytes (imgtool sign -H 32 --pad-header)
//! 0x20  load header, 96 bytes              <- payload offset 0
//! 0x80  IRAM segment: marker, image number, version text, zero padded
//! ...   DRAM segment: the same identification text, zero padded
//! ...   RTC fast segment, with `rtc: true` on chips that have one
//! ...   filler up to `size` bytes of payload (not loaded: stands in for
//!       the XIP text and rodata the app maps itself)
//! ```
//!
//! Every `*_flash_offset` in the load header is relative to the **slot
//! start**, which includes the MCUboot header (the port reads the load
//! header at `slot + ih_hdr_size`). The payload therefore assumes that the
//! image is signed with a 32-byte header: `imgtool sign -H 32 --pad-header`
//! or `espboot image sign -H 32 --pad-header`, as the port's documentation
//! prescribes. Another header size shifts every segment and the loader
//! copies the wrong bytes.
//!
//! # RAM placement
//!
//! Segments go into the chip's app RAM, clear of the bootloader's
//! `iram_loader_seg` and `dram_seg` (seed 000, "Memory map organization").
//! IRAM and DRAM are two bus views of the same SRAM on most chips, so the
//! DRAM segment is placed where its IRAM alias does not meet the IRAM
//! segment. Image 1 (multi image, and the APP CPU image of
//! `CONFIG_ESP_MULTI_PROCESSOR_BOOT` on ESP32/ESP32-S3) is placed 16 KiB
//! higher on both buses, disjoint from image 0 while both sit in RAM.

use esp_image::load_header::{LoadError, LoadHeader, LoadSegment, LOAD_HEADER_LEN};
use esp_image::Chip;
use mcuboot_image::{ImageVersion, VersionError};

/// The MCUboot header size the payload is laid out for (`-H 32`).
pub const MCUBOOT_HEADER_SIZE: u32 = 32;
/// First bytes of the IRAM segment.
pub const APP_MARKER: &[u8] = b"espboot sim app\0";
/// How far image 1's segments sit above image 0's, on both buses.
const IMAGE1_SHIFT: u32 = 0x4000;
/// Segments are padded to this many bytes (ESP segment and loader word
/// alignment), and to at least `MIN_SEGMENT_LEN`.
const SEGMENT_ALIGN: usize = 16;
const MIN_SEGMENT_LEN: usize = 64;

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOptions {
    /// The app's version text (`maj.min.rev+build`), embedded so that
    /// payloads of different versions differ. Should match the version the
    /// image is signed with.
    pub version: String,
    /// Image number: 0, or 1 for the second image of a multi-image setup.
    pub image: usize,
    /// `CONFIG_ESP_MULTI_PROCESSOR_BOOT` (ESP32, ESP32-S3): the bootloader's
    /// memory map for that mode is used for the checks.
    pub multi_processor: bool,
    /// Pad the payload to exactly this many bytes.
    pub size: Option<usize>,
    /// Put the IRAM segment (and the entry point) here instead.
    pub iram_addr: Option<u32>,
    /// Put the DRAM segment here instead.
    pub dram_addr: Option<u32>,
    /// Also carry an RTC fast memory segment (chips that have one).
    pub rtc: bool,
    /// Skip the loader's checks: builds a deliberately bad app, to rehearse
    /// the loader's refusal.
    pub unchecked: bool,
}

impl AppOptions {
    /// Image 0, version `version`, default placement, checked.
    pub fn new(version: &str) -> Self {
        AppOptions {
            version: version.to_owned(),
            image: 0,
            multi_processor: false,
            size: None,
            iram_addr: None,
            dram_addr: None,
            rtc: false,
            unchecked: false,
        }
    }
}

/// Why an app payload was not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error("--version {text:?}: {source}")]
    /// `--version` is not an MCUboot version.
    Version {
        /// The version as given.
        text: String,
        /// Why.
        source: VersionError,
    },
    #[error("--image {0}: expected 0 or 1")]
    /// `--image` beyond the two images the port loads.
    ImageNumber(usize),
    #[error("--multi-processor: {0} has no APP CPU (only esp32 and esp32s3 do)")]
    /// Image 1 (multi-processor boot) on a chip with one CPU.
    NoAppCpu(Chip),
    #[error("--rtc: {0} has no RTC fast memory")]
    /// An RTC fast-memory segment on a chip without one.
    NoRtc(Chip),
    #[error("--size {requested}: the payload needs at least {minimum} bytes")]
    /// `--size` below what the segments need.
    SizeTooSmall {
        /// The requested size.
        requested: usize,
        /// The smallest size the segments fit in.
        minimum: usize,
    },
    #[error("--size {0}: a payload must stay below 4 GiB")]
    /// `--size` beyond what a 32-bit length holds.
    SizeTooLarge(usize),
    /// The layout fails the port loader's checks.
    #[error("the app would be refused by the bootloader: {0} (--unchecked builds it anyway)")]
    Refused(#[from] LoadError),
}

/// Default RAM addresses of image 0's IRAM and DRAM segments: near the
/// bottom of app RAM, below the bootloader's regions on every chip. The
/// IRAM/DRAM bus offsets (`SOC_I_D_OFFSET` in ESP-IDF `soc.h`) are noted
/// where the buses alias the same SRAM, to show the segments stay apart.
fn default_addresses(chip: Chip) -> (u32, u32) {
    match chip {
        // SRAM0 (IRAM only) and SRAM2 (DRAM only): no aliasing.
        Chip::Esp32 => (0x4008_0000, 0x3FFB_0000),
        // IRAM = DRAM + 0x70000: IRAM 0x40028000 is DRAM 0x3FFB8000.
        Chip::Esp32s2 => (0x4002_8000, 0x3FFC_0000),
        // IRAM = DRAM + 0x6F0000: IRAM 0x40380000 is DRAM 0x3FC90000.
        Chip::Esp32s3 => (0x4038_0000, 0x3FCA_0000),
        // IRAM = DRAM + 0x6E0000: IRAM 0x40380000 is DRAM 0x3FCA0000.
        Chip::Esp32c2 => (0x4038_0000, 0x3FCB_0000),
        // IRAM = DRAM + 0x700000: IRAM 0x40380000 is DRAM 0x3FC80000.
        Chip::Esp32c3 => (0x4038_0000, 0x3FC9_0000),
        // One address space for both buses.
        Chip::Esp32c6 | Chip::Esp32h2 => (0x4080_0000, 0x4081_0000),
    }
}

fn padded(mut data: Vec<u8>) -> Vec<u8> {
    let len = data
        .len()
        .max(MIN_SEGMENT_LEN)
        .next_multiple_of(SEGMENT_ALIGN);
    data.resize(len, 0);
    data
}

/// Deterministic filler that differs per version and image, so that slot
/// contents of two payloads differ everywhere (a swap that mixes sectors
/// shows).
fn filler(seed_text: &str, len: usize) -> Vec<u8> {
    // FNV-1a of the text seeds a xorshift32 stream.
    let mut state = seed_text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    }) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// An image whose MCUboot header is not the size its load header was laid
/// out for: a RAM segment's flash offset (counted from the slot start)
/// points into the MCUboot header or the load header, so the port's loader
/// would copy header bytes instead of the segment and the app would crash
/// on silicon (`esp_loader.c` copies `*_flash_offset` from the slot start).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error(
    "the load header's {segment} segment is at slot offset {offset:#x}, inside the image's \
     headers (MCUboot header {hdr_size:#x} bytes, then the 96-byte load header, up to \
     {headers_end:#x}): the app is laid out for a {MCUBOOT_HEADER_SIZE}-byte MCUboot header \
     and the loader would copy the wrong bytes; sign it with -H {MCUBOOT_HEADER_SIZE} \
     --pad-header"
)]
pub struct HeaderSizeMismatch {
    /// `IRAM`, `DRAM`, ...
    pub segment: &'static str,
    /// The segment's `*_flash_offset`.
    pub offset: u32,
    /// The image's MCUboot header size (`imgtool sign -H`).
    pub hdr_size: u32,
    /// End of the MCUboot header plus the load header.
    pub headers_end: u32,
}

/// Checks that every RAM segment of `header` starts after the image's
/// headers when the image has an `hdr_size`-byte MCUboot header.
///
/// # Errors
/// [`HeaderSizeMismatch`] naming the lowest segment inside the headers.
pub fn check_header_size(header: &LoadHeader, hdr_size: u32) -> Result<(), HeaderSizeMismatch> {
    let headers_end = hdr_size.saturating_add(LOAD_HEADER_LEN as u32);
    match header
        .ram_segments()
        .into_iter()
        .filter(|(_, seg)| seg.size > 0 && seg.flash_offset < headers_end)
        .min_by_key(|(_, seg)| seg.flash_offset)
    {
        Some((kind, seg)) => Err(HeaderSizeMismatch {
            segment: kind.name(),
            offset: seg.flash_offset,
            hdr_size,
            headers_end,
        }),
        None => Ok(()),
    }
}

/// The version an app built by [`build_app`] carries in its IRAM segment
/// (`maj.min.rev+build`), read from `image` (an MCUboot image from its slot
/// start); `None` for other apps or when the segment is not where the load
/// header says.
pub fn built_version(image: &[u8]) -> Option<String> {
    let header =
        mcuboot_image::ImageHeader::parse(image.get(..mcuboot_image::IMAGE_HEADER_SIZE)?).ok()?;
    let at = usize::from(header.hdr_size);
    let load = LoadHeader::parse(image.get(at..at + LOAD_HEADER_LEN)?).ok()?;
    let start = load.iram.flash_offset as usize;
    let iram = image.get(start..start.checked_add(load.iram.size as usize)?)?;
    let ident = iram.strip_prefix(APP_MARKER)?;
    let text = std::str::from_utf8(ident.split(|b| *b == 0).next()?).ok()?;
    let (_, rest) = text.split_once(" version ")?;
    let (version, _) = rest.split_once(" (")?;
    Some(version.to_string())
}

/// Builds the payload of an MCUboot image for `chip` (see the module
/// documentation for the layout; it assumes `-H 32`).
///
/// # Errors
/// [`AppError`] for bad options, and [`AppError::Refused`] when the layout
/// fails [`LoadHeader::check`] against the chip's memory map (unless
/// `unchecked`).
pub fn build_app(chip: Chip, opts: &AppOptions) -> Result<Vec<u8>, AppError> {
    let version: ImageVersion = opts.version.parse().map_err(|source| AppError::Version {
        text: opts.version.clone(),
        source,
    })?;
    let shift = match opts.image {
        0 => 0,
        1 => IMAGE1_SHIFT,
        n => return Err(AppError::ImageNumber(n)),
    };
    if opts.multi_processor && !chip.has_app_cpu() {
        return Err(AppError::NoAppCpu(chip));
    }
    let map = chip.memory_map(opts.multi_processor);
    let (iram_default, dram_default) = default_addresses(chip);
    let iram_addr = opts.iram_addr.unwrap_or(iram_default + shift);
    let dram_addr = opts.dram_addr.unwrap_or(dram_default + shift);

    let ident = format!(
        "{chip} image {} version {version} ({})",
        opts.image, opts.version
    );
    let iram = padded([APP_MARKER, ident.as_bytes()].concat());
    let dram = padded(ident.clone().into_bytes());
    let rtc = if opts.rtc {
        let range = map.rtc_fast.clone().ok_or(AppError::NoRtc(chip))?;
        Some((range.start + shift / 16, padded(ident.clone().into_bytes())))
    } else {
        None
    };

    let mut body = Vec::new();
    let mut next_offset = MCUBOOT_HEADER_SIZE + LOAD_HEADER_LEN as u32;
    let mut place = |dest_addr: u32, data: &[u8]| {
        let seg = LoadSegment {
            dest_addr,
            flash_offset: next_offset,
            size: data.len() as u32,
        };
        body.extend_from_slice(data);
        next_offset += data.len() as u32;
        seg
    };
    let iram_seg = place(iram_addr, &iram);
    let dram_seg = place(dram_addr, &dram);
    let rtc_seg = rtc.map(|(addr, data)| place(addr, &data));
    let header = LoadHeader {
        entry_addr: iram_addr,
        iram: iram_seg,
        dram: dram_seg,
        lp_rtc_iram: rtc_seg.unwrap_or_default(),
        ..LoadHeader::default()
    };

    let mut payload = header.to_bytes().to_vec();
    payload.extend_from_slice(&body);
    if let Some(size) = opts.size {
        if size < payload.len() {
            return Err(AppError::SizeTooSmall {
                requested: size,
                minimum: payload.len(),
            });
        }
        if (size as u64).saturating_add(u64::from(MCUBOOT_HEADER_SIZE)) > u64::from(u32::MAX) {
            return Err(AppError::SizeTooLarge(size));
        }
        let extra = size - payload.len();
        payload.extend_from_slice(&filler(&ident, extra));
    }
    if !opts.unchecked {
        let image_len = MCUBOOT_HEADER_SIZE + payload.len() as u32;
        header.check(chip, &map, image_len)?;
    }
    Ok(payload)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(payload: &[u8]) -> LoadHeader {
        LoadHeader::parse(payload).unwrap()
    }

    /// The RAM ranges a header loads, on both buses where known.
    fn ranges(h: &LoadHeader) -> Vec<(u32, u32)> {
        h.ram_segments()
            .into_iter()
            .filter(|(_, s)| s.size > 0)
            .map(|(_, s)| (s.dest_addr, s.dest_addr + s.size))
            .collect()
    }

    #[test]
    fn default_apps_pass_the_loader_checks_on_every_chip() {
        for chip in Chip::ALL {
            for mp in [false, true] {
                if mp && !chip.has_app_cpu() {
                    continue;
                }
                let mut images = Vec::new();
                for image in [0, 1] {
                    let opts = AppOptions {
                        image,
                        multi_processor: mp,
                        rtc: chip.memory_map(mp).rtc_fast.is_some(),
                        ..AppOptions::new("1.2.3+4")
                    };
                    let payload = build_app(chip, &opts).unwrap();
                    let h = header(&payload);
                    h.check(chip, &chip.memory_map(mp), 32 + payload.len() as u32)
                        .unwrap();
                    // Segment bytes sit where the header says, counted from
                    // the slot start (32-byte MCUboot header first).
                    let iram = &payload[h.iram.flash_offset as usize - 32..];
                    assert!(iram.starts_with(APP_MARKER), "{chip}");
                    images.push(h);
                }
                // Image 0 and image 1 never share RAM.
                for a in ranges(&images[0]) {
                    for b in ranges(&images[1]) {
                        assert!(a.1 <= b.0 || b.1 <= a.0, "{chip}: {a:x?} {b:x?}");
                    }
                }
            }
        }
    }

    /// An MCUboot image of `payload` with an `hdr_size`-byte header, as
    /// `imgtool sign -H hdr_size --pad-header -v version` lays it out.
    fn signed(payload: &[u8], hdr_size: u16, version: &str) -> Vec<u8> {
        let header = mcuboot_image::ImageHeader {
            magic: mcuboot_image::IMAGE_MAGIC,
            hdr_size,
            img_size: payload.len() as u32,
            version: version.parse().unwrap(),
            ..mcuboot_image::ImageHeader::default()
        };
        let mut image = header.to_bytes().to_vec();
        image.resize(usize::from(hdr_size), 0);
        image.extend_from_slice(payload);
        image
    }

    #[test]
    fn header_size_and_built_version() {
        let payload = build_app(Chip::Esp32c3, &AppOptions::new("2.0.0")).unwrap();
        let h = header(&payload);
        check_header_size(&h, 32).unwrap();
        let err = check_header_size(&h, 0x200).unwrap_err();
        assert_eq!(
            (err.segment, err.offset, err.headers_end),
            ("IRAM", 0x80, 0x260)
        );
        assert!(
            err.to_string().contains("sign it with -H 32 --pad-header"),
            "{err}"
        );
        assert_eq!(
            built_version(&signed(&payload, 32, "1.0.0")).as_deref(),
            Some("2.0.0+0")
        );
        // with the wrong header size the segment is not where it says
        assert_eq!(built_version(&signed(&payload, 0x200, "2.0.0")), None);
        assert_eq!(built_version(&signed(&[0; 200], 32, "1.0.0")), None);
    }

    #[test]
    fn versions_differ_and_size_pads() {
        let a = build_app(Chip::Esp32c3, &AppOptions::new("1.0.0")).unwrap();
        let b = build_app(Chip::Esp32c3, &AppOptions::new("2.0.0")).unwrap();
        assert_ne!(a, b);
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("version 1.0.0+0"), "{text}");
        let big = AppOptions {
            size: Some(1 << 20),
            ..AppOptions::new("1.0.0")
        };
        let big = build_app(Chip::Esp32c3, &big).unwrap();
        assert_eq!(big.len(), 1 << 20);
        assert_eq!(&big[..a.len()], &a[..]);
        let small = AppOptions {
            size: Some(10),
            ..AppOptions::new("1.0.0")
        };
        assert!(matches!(
            build_app(Chip::Esp32c3, &small),
            Err(AppError::SizeTooSmall { requested: 10, .. })
        ));
    }

    #[test]
    fn bad_layouts_are_refused_unless_unchecked() {
        for chip in Chip::ALL {
            let map = chip.memory_map(false);
            for region in &map.bootloader_regions {
                let mut opts = AppOptions::new("1.0.0");
                match (&region.iram, &region.dram) {
                    (_, Some(d)) => opts.dram_addr = Some(d.start),
                    (Some(i), None) => opts.iram_addr = Some(i.start),
                    (None, None) => continue,
                }
                let err = build_app(chip, &opts).unwrap_err();
                assert!(matches!(err, AppError::Refused(_)), "{chip}: {err}");
                opts.unchecked = true;
                let payload = build_app(chip, &opts).unwrap();
                assert!(header(&payload).check(chip, &map, 0x10000).is_err());
            }
        }
    }

    #[test]
    fn bad_options_are_named() {
        let bad_version = AppOptions::new("1.x");
        assert!(matches!(
            build_app(Chip::Esp32c3, &bad_version),
            Err(AppError::Version { .. })
        ));
        let image2 = AppOptions {
            image: 2,
            ..AppOptions::new("1")
        };
        assert_eq!(
            build_app(Chip::Esp32c3, &image2),
            Err(AppError::ImageNumber(2))
        );
        let mp = AppOptions {
            multi_processor: true,
            ..AppOptions::new("1")
        };
        assert_eq!(
            build_app(Chip::Esp32c3, &mp),
            Err(AppError::NoAppCpu(Chip::Esp32c3))
        );
        let rtc = AppOptions {
            rtc: true,
            ..AppOptions::new("1")
        };
        assert_eq!(
            build_app(Chip::Esp32c2, &rtc),
            Err(AppError::NoRtc(Chip::Esp32c2))
        );
        let huge = AppOptions {
            size: Some(usize::MAX),
            ..AppOptions::new("1")
        };
        assert!(matches!(
            build_app(Chip::Esp32c3, &huge),
            Err(AppError::SizeTooLarge(_))
        ));
    }
}
