//! What `esptool image-info` reads from an ESP image: the header fields as
//! stored (invalid values included), every segment with its file offset,
//! the stored and computed checksum and SHA-256, and the application or
//! bootloader description (`esptool/cmds.py` `image_info`,
//! `bin_image.py` `ESP32FirmwareImage`).
//!
//! Unlike [`crate::esp_image::EspImage::parse`], which refuses what the ROM
//! refuses, [`ImageInfo::read`] is as lenient as esptool: a wrong checksum
//! or digest is reported, not an error. It fails only where esptool's loader
//! stops.

use sha2::{Digest, Sha256};

use crate::esp_image::{ESP_CHECKSUM_MAGIC, ESP_IMAGE_MAGIC, MAX_SEGMENTS};
use crate::Chip;

/// The ESP8266 "v2" image magic `image-info` also accepts as an image
/// (`ESP8266V2FirmwareImage.IMAGE_V2_MAGIC`).
const ESP8266_V2_MAGIC: u8 = 0xEA;

/// `esp_app_desc_t.magic_word` (ESP-IDF `esp_app_desc.h`; esptool
/// `_parse_app_info`).
const APP_DESC_MAGIC: u32 = 0xABCD_5432;
/// `esp_app_desc_t` is 256 bytes.
const APP_DESC_LEN: usize = 256;
/// `esp_bootloader_desc_t.magic_byte` (esptool `_parse_bootloader_info`).
const BOOTLOADER_DESC_MAGIC: u8 = 0x50;
/// `esp_bootloader_desc_t` is 80 bytes.
const BOOTLOADER_DESC_LEN: usize = 80;

/// Chips esptool 5.6.0 knows by `IMAGE_CHIP_ID` that espboot does not
/// support (`esptool/targets/*.py`): `image-info` names them in its
/// `Chip ID:` line.
const OTHER_ESPTOOL_CHIPS: &[(u16, &str)] = &[
    (18, "ESP32-P4"),
    (20, "ESP32-C61"),
    (23, "ESP32-C5"),
    (25, "ESP32-H21"),
    (28, "ESP32-H4"),
    (31, "ESP32-E22"),
    (32, "ESP32-S31"),
];

/// esptool's `CHIP_NAME` for an `IMAGE_CHIP_ID`, for the chips espboot
/// supports and the ones it does not.
pub fn esptool_chip_name(chip_id: u16) -> Option<&'static str> {
    Chip::from_image_chip_id(chip_id)
        .map(Chip::display_name)
        .or_else(|| {
            OTHER_ESPTOOL_CHIPS
                .iter()
                .find(|(id, _)| *id == chip_id)
                .map(|(_, name)| *name)
        })
}

/// Why `image-info` could not read an image. The texts of the variants
/// esptool raises as `FatalError` are esptool's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageInfoError {
    /// The file is empty.
    #[error("Image is empty.")]
    Empty,
    /// Byte 0 is neither 0xE9 nor 0xEA; carries the byte.
    #[error("This is not a valid image (invalid magic number: {0:#x}).")]
    NotAnImage(u8),
    /// Byte 0 is 0xEA (an ESP8266 v2 image) where an ESP32-family image
    /// was expected; carries the byte.
    #[error("Invalid firmware image magic={0:#x}")]
    BadMagic(u8),
    /// The header's chip ID (or the header's shape) says ESP8266 or a chip
    /// espboot does not support; esptool would describe it.
    #[error("images for {0} are not supported by espboot (esptool image-info describes them)")]
    UnsupportedChip(String),
    /// The file ends inside the 24-byte header or a segment header, where
    /// esptool stops with a Python `struct.error`.
    #[error("unpack requires a buffer of {needed} bytes ({what} at offset {offset:#x})")]
    TruncatedHeader {
        /// "the image header" or "a segment header".
        what: &'static str,
        /// Offset of that header.
        offset: usize,
        /// Its length.
        needed: usize,
    },
    /// Byte 23 is neither 0 nor 1 (esptool raises a `RuntimeError`).
    #[error("Invalid value for append_digest field ({0:#04x}). Should be 0 or 1.")]
    BadAppendDigest(u8),
    /// A segment's data runs past the end of the file.
    #[error("End of file reading segment {addr:#x}, length {len} (actual length {actual})")]
    SegmentPastEnd {
        /// The segment's load address.
        addr: u32,
        /// Its length from the segment header.
        len: u32,
        /// The bytes the file still had.
        actual: usize,
    },
    /// The file ends before the checksum byte (esptool stops with a Python
    /// `TypeError`).
    #[error("the image ends before its checksum byte at offset {0:#x}")]
    NoChecksum(usize),
    /// More than 16 segments.
    #[error("Invalid segment count {0} (max 16). Usually this indicates a linker script problem.")]
    TooManySegments(usize),
    /// The first DROM segment is shorter than an `esp_app_desc_t` (esptool
    /// stops with a Python `struct.error`).
    #[error("unpack requires a buffer of 256 bytes (the application description)")]
    AppDescTooShort,
    /// A text field of the description is not UTF-8 (esptool stops with a
    /// Python `UnicodeDecodeError`).
    #[error("'utf-8' codec can't decode the {0} field of the image description")]
    DescNotUtf8(&'static str),
}

impl ImageInfoError {
    /// True for the errors esptool reports as `A fatal error occurred: …`
    /// (exit status 2); the others stop esptool with a Python exception
    /// (exit status 1).
    pub fn is_esptool_fatal(&self) -> bool {
        matches!(
            self,
            ImageInfoError::Empty
                | ImageInfoError::NotAnImage(_)
                | ImageInfoError::BadMagic(_)
                | ImageInfoError::SegmentPastEnd { .. }
                | ImageInfoError::TooManySegments(_)
                | ImageInfoError::UnsupportedChip(_)
        )
    }
}

/// One segment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoSegment {
    /// Load address.
    pub addr: u32,
    /// Offset of the segment header in the file.
    pub file_offset: usize,
    /// The data.
    pub data: Vec<u8>,
}

impl InfoSegment {
    /// The chip's memory type names covering the segment's start address,
    /// in esptool's order (`ImageSegment.get_memory_type`).
    pub fn memory_types(&self, chip: Chip) -> Vec<&'static str> {
        chip.memory_types()
            .iter()
            .filter(|(start, end, _)| *start <= self.addr && self.addr < *end)
            .map(|(_, _, name)| *name)
            .collect()
    }
}

/// The appended SHA-256: what the file holds and what esptool computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCheck {
    /// SHA-256 of the image up to and including the checksum byte.
    pub calculated: [u8; 32],
    /// The (up to) 32 bytes after the checksum byte.
    pub stored: Vec<u8>,
    /// Bytes covered by the digest (esptool's `data_length`).
    pub data_length: usize,
}

impl DigestCheck {
    /// True when the stored digest is the computed one.
    pub fn is_valid(&self) -> bool {
        self.stored == self.calculated
    }
}

/// `esp_app_desc_t` at the start of the first DROM segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDesc {
    /// `secure_version` (anti-rollback).
    pub secure_version: u32,
    /// `version`, NUL bytes removed.
    pub version: String,
    /// `project_name`, NUL bytes removed.
    pub project_name: String,
    /// `time`, NUL bytes removed.
    pub time: String,
    /// `date`, NUL bytes removed.
    pub date: String,
    /// `idf_ver`, NUL bytes removed.
    pub idf_ver: String,
    /// `app_elf_sha256`.
    pub app_elf_sha256: [u8; 32],
    /// `min_efuse_blk_rev_full` (major * 100 + minor).
    pub min_efuse_blk_rev_full: u16,
    /// `max_efuse_blk_rev_full` (major * 100 + minor).
    pub max_efuse_blk_rev_full: u16,
    /// `mmu_page_size` as a power of two, 0 when not set.
    pub mmu_page_size_log2: u8,
}

/// `esp_bootloader_desc_t` at the start of a DRAM segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootloaderDesc {
    /// `version`.
    pub version: u32,
    /// `idf_ver`, NUL bytes removed.
    pub idf_ver: String,
    /// `date_time`, NUL bytes removed.
    pub date_time: String,
}

/// The description `image-info` prints after the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Description {
    /// An application's `esp_app_desc_t`.
    App(AppDesc),
    /// A bootloader's `esp_bootloader_desc_t`.
    Bootloader(BootloaderDesc),
}

/// An ESP image as `esptool image-info` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The chip the image was read as.
    pub chip: Chip,
    /// Header byte 2 as stored.
    pub flash_mode: u8,
    /// Header byte 3 as stored: size (high nibble), frequency (low).
    pub flash_size_freq: u8,
    /// Entry point.
    pub entry: u32,
    /// WP pin, byte 8.
    pub wp_pin: u8,
    /// SPI pin drive strengths, bytes 9..12: clk, q, d, cs, hd, wp.
    pub drive: [u8; 6],
    /// `IMAGE_CHIP_ID`, bytes 12..14.
    pub chip_id: u16,
    /// Legacy `min_rev`, byte 14.
    pub min_rev: u8,
    /// `min_chip_rev_full`.
    pub min_rev_full: u16,
    /// `max_chip_rev_full`.
    pub max_rev_full: u16,
    /// Segments in file order.
    pub segments: Vec<InfoSegment>,
    /// The checksum byte as stored.
    pub stored_checksum: u8,
    /// The checksum computed over the segment data.
    pub calculated_checksum: u8,
    /// The appended digest, when byte 23 is 1.
    pub digest: Option<DigestCheck>,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes a fixed-size text field as esptool's `sanitize_string`: UTF-8,
/// every NUL removed.
fn text_field(bytes: &[u8], name: &'static str) -> Result<String, ImageInfoError> {
    std::str::from_utf8(bytes)
        .map(|s| s.replace('\0', ""))
        .map_err(|_| ImageInfoError::DescNotUtf8(name))
}

/// The chip `image-info` reads an image as when `--chip` is not given
/// (esptool `_parse_image_info_header`): the magic must be an image's, then
/// the chip ID byte names the chip.
///
/// # Errors
/// [`ImageInfoError::Empty`], [`ImageInfoError::NotAnImage`], or
/// [`ImageInfoError::UnsupportedChip`] where esptool would fall back to
/// ESP8266 or describe a chip espboot does not support.
pub fn detect_chip(bytes: &[u8]) -> Result<Chip, ImageInfoError> {
    check_magic(bytes)?;
    let ext = bytes.get(8..24).unwrap_or_default();
    let esp8266 = || ImageInfoError::UnsupportedChip("ESP8266".to_owned());
    match ext.last() {
        Some(0 | 1) => {}
        _ => return Err(esp8266()),
    }
    // esptool reads only the low byte of the chip ID here.
    let id = u16::from(ext[4]);
    match Chip::from_image_chip_id(id) {
        Some(chip) => Ok(chip),
        None => Err(esptool_chip_name(id)
            .map(|name| ImageInfoError::UnsupportedChip(name.to_owned()))
            .unwrap_or_else(esp8266)),
    }
}

/// The check `image-info` makes first, with or without `--chip`.
///
/// # Errors
/// [`ImageInfoError::Empty`] or [`ImageInfoError::NotAnImage`].
pub fn check_magic(bytes: &[u8]) -> Result<(), ImageInfoError> {
    match bytes.first() {
        None => Err(ImageInfoError::Empty),
        Some(&m) if m == ESP_IMAGE_MAGIC || m == ESP8266_V2_MAGIC => Ok(()),
        Some(&m) => Err(ImageInfoError::NotAnImage(m)),
    }
}

impl ImageInfo {
    /// Reads `bytes` as an image for `chip` the way esptool's
    /// `ESP32FirmwareImage` loader does.
    ///
    /// # Errors
    /// [`ImageInfoError`] where esptool's loader stops.
    pub fn read(bytes: &[u8], chip: Chip) -> Result<Self, ImageInfoError> {
        if bytes.len() < 8 {
            return Err(ImageInfoError::TruncatedHeader {
                what: "the image header",
                offset: 0,
                needed: 8,
            });
        }
        if bytes[0] != ESP_IMAGE_MAGIC {
            return Err(ImageInfoError::BadMagic(bytes[0]));
        }
        if bytes.len() < 24 {
            return Err(ImageInfoError::TruncatedHeader {
                what: "the extended header",
                offset: 8,
                needed: 16,
            });
        }
        let append_digest = match bytes[23] {
            0 => false,
            1 => true,
            other => return Err(ImageInfoError::BadAppendDigest(other)),
        };
        let count = usize::from(bytes[1]);
        let mut segments = Vec::with_capacity(count.min(MAX_SEGMENTS + 1));
        let mut calculated_checksum = ESP_CHECKSUM_MAGIC;
        let mut pos = 24usize;
        for _ in 0..count {
            let header = bytes
                .get(pos..pos + 8)
                .ok_or(ImageInfoError::TruncatedHeader {
                    what: "a segment header",
                    offset: pos,
                    needed: 8,
                })?;
            let addr = le32(header, 0);
            let len = le32(header, 4);
            let start = pos + 8;
            let available = bytes.len() - start;
            let len_usize = len as usize;
            if available < len_usize {
                return Err(ImageInfoError::SegmentPastEnd {
                    addr,
                    len,
                    actual: available,
                });
            }
            let data = bytes[start..start + len_usize].to_vec();
            calculated_checksum = data.iter().fold(calculated_checksum, |acc, b| acc ^ b);
            segments.push(InfoSegment {
                addr,
                file_offset: pos,
                data,
            });
            pos = start + len_usize;
        }
        let checksum_offset = pos + (15 - pos % 16);
        let stored_checksum = *bytes
            .get(checksum_offset)
            .ok_or(ImageInfoError::NoChecksum(checksum_offset))?;
        let data_length = checksum_offset + 1;
        let digest = append_digest.then(|| {
            let end = (data_length + 32).min(bytes.len());
            DigestCheck {
                calculated: Sha256::digest(&bytes[..data_length]).into(),
                stored: bytes[data_length..end].to_vec(),
                data_length,
            }
        });
        if segments.len() > MAX_SEGMENTS {
            return Err(ImageInfoError::TooManySegments(segments.len()));
        }
        let split = |b: u8| [b & 0x0F, b >> 4];
        let [clk, q] = split(bytes[9]);
        let [d, cs] = split(bytes[10]);
        let [hd, wp] = split(bytes[11]);
        Ok(ImageInfo {
            chip,
            flash_mode: bytes[2],
            flash_size_freq: bytes[3],
            entry: le32(bytes, 4),
            wp_pin: bytes[8],
            drive: [clk, q, d, cs, hd, wp],
            chip_id: le16(bytes, 12),
            min_rev: bytes[14],
            min_rev_full: le16(bytes, 15),
            max_rev_full: le16(bytes, 17),
            segments,
            stored_checksum,
            calculated_checksum,
            digest,
        })
    }

    /// The application or bootloader description esptool prints: the
    /// `esp_app_desc_t` at the start of the first DROM segment, else the
    /// `esp_bootloader_desc_t` at the start of the last DRAM segment of at
    /// least 80 bytes; `None` when the chosen one lacks its magic.
    ///
    /// # Errors
    /// [`ImageInfoError::AppDescTooShort`] or
    /// [`ImageInfoError::DescNotUtf8`], where esptool stops.
    pub fn description(&self) -> Result<Option<Description>, ImageInfoError> {
        let mut app: Option<&[u8]> = None;
        let mut boot: Option<&[u8]> = None;
        for seg in &self.segments {
            let types = seg.memory_types(self.chip);
            if types.contains(&"DROM") && app.is_none() {
                app = Some(&seg.data);
            } else if types.contains(&"DRAM") && seg.data.len() >= BOOTLOADER_DESC_LEN {
                boot = Some(&seg.data);
            }
        }
        // esptool tests the segment's bytes for truthiness: an empty DROM
        // segment counts as none.
        if let Some(seg) = app.filter(|s| !s.is_empty()) {
            let d = seg
                .get(..APP_DESC_LEN)
                .ok_or(ImageInfoError::AppDescTooShort)?;
            if le32(d, 0) != APP_DESC_MAGIC {
                return Ok(None);
            }
            let mut sha = [0u8; 32];
            sha.copy_from_slice(&d[144..176]);
            return Ok(Some(Description::App(AppDesc {
                secure_version: le32(d, 4),
                version: text_field(&d[16..48], "version")?,
                project_name: text_field(&d[48..80], "project_name")?,
                time: text_field(&d[80..96], "time")?,
                date: text_field(&d[96..112], "date")?,
                idf_ver: text_field(&d[112..144], "idf_ver")?,
                app_elf_sha256: sha,
                min_efuse_blk_rev_full: le16(d, 176),
                max_efuse_blk_rev_full: le16(d, 178),
                mmu_page_size_log2: d[180],
            })));
        }
        let Some(d) = boot else { return Ok(None) };
        if d[0] != BOOTLOADER_DESC_MAGIC {
            return Ok(None);
        }
        Ok(Some(Description::Bootloader(BootloaderDesc {
            version: le32(d, 4),
            idf_ver: text_field(&d[8..40], "idf_ver")?,
            date_time: text_field(&d[40..64], "date_time")?,
        })))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::esp_image::{EspImageBuilder, Segment};

    #[test]
    fn reads_what_the_builder_writes_and_reports_corruption() {
        let chip = Chip::Esp32c3;
        let mut bytes = EspImageBuilder::new(chip, 0x403c_e000)
            .segment(Segment::new(0x3fcd_5000, vec![7; 100]))
            .build();
        let info = ImageInfo::read(&bytes, chip).unwrap();
        assert_eq!(info.stored_checksum, info.calculated_checksum);
        assert!(info.digest.as_ref().unwrap().is_valid());
        assert_eq!(info.segments[0].file_offset, 24);
        assert_eq!(
            info.segments[0].memory_types(chip),
            ["DRAM", "BYTE_ACCESSIBLE"]
        );
        assert_eq!(detect_chip(&bytes), Ok(chip));
        bytes[40] ^= 1;
        let info = ImageInfo::read(&bytes, chip).unwrap();
        assert_ne!(info.stored_checksum, info.calculated_checksum);
        assert!(!info.digest.unwrap().is_valid());
    }

    #[test]
    fn truncations_are_errors_never_panics() {
        let bytes = EspImageBuilder::new(Chip::Esp32, 0x4008_0000)
            .segment(Segment::new(0x3ffb_0000, vec![1; 300]))
            .build();
        for cut in 0..bytes.len() {
            let _ = detect_chip(&bytes[..cut]);
            if let Ok(info) = ImageInfo::read(&bytes[..cut], Chip::Esp32) {
                let _ = info.description();
            }
        }
        assert_eq!(detect_chip(&[]), Err(ImageInfoError::Empty));
        assert_eq!(detect_chip(b"hello"), Err(ImageInfoError::NotAnImage(b'h')));
    }
}
