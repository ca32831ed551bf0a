//! The ESP image format the ROM loads the second-stage bootloader from
//! (`esp_image_header_t`; esptool `bin_image.py`, esptool.md §5.1).
//!
//! ```text
//! 0   u8   magic 0xE9
//! 1   u8   segment count
//! 2   u8   SPI flash mode (0 QIO, 1 QOUT, 2 DIO, 3 DOUT)
//! 3   u8   flash size (high nibble) | flash frequency (low nibble)
//! 4   u32  entry point
//! 8   u8   WP pin (0xEE: disabled)
//! 9   3    SPI pin drive strengths
//! 12  u16  chip ID
//! 14  u8   legacy min_rev
//! 15  u16  min_chip_rev_full
//! 17  u16  max_chip_rev_full
//! 19  4    reserved
//! 23  u8   hash appended (0 or 1)
//! 24  ...  segments: u32 load address, u32 length, data
//!     ...  zero padding up to offset % 16 == 15, then the checksum byte
//!     32   SHA-256 of everything before it, when hash appended
//! ```

use sha2::{Digest, Sha256};

use crate::Chip;

/// `ESPLoader.ESP_IMAGE_MAGIC`.
pub const ESP_IMAGE_MAGIC: u8 = 0xE9;
/// Seed of the XOR checksum (`ESPLoader.ESP_CHECKSUM_MAGIC`).
pub const ESP_CHECKSUM_MAGIC: u8 = 0xEF;
/// Common + extended header size.
pub const HEADER_LEN: usize = 24;
/// The ROM loads at most 16 segments (`ESP_IMAGE_MAX_SEGMENTS`).
pub const MAX_SEGMENTS: usize = 16;
/// esptool refuses segments of 16 MiB or more.
pub const MAX_SEGMENT_LEN: u32 = 16 * 1024 * 1024;
/// WP pin value meaning "not used".
pub const WP_PIN_DISABLED: u8 = 0xEE;

/// SPI flash mode, header byte 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashMode {
    /// Quad I/O: address and data on four lines (esptool `qio`).
    Qio = 0,
    /// Quad output: address on one line, data on four (esptool `qout`).
    Qout = 1,
    /// Dual I/O: address and data on two lines (esptool `dio`), what the
    /// MCUboot port's build uses.
    Dio = 2,
    /// Dual output: address on one line, data on two (esptool `dout`).
    Dout = 3,
}

impl FlashMode {
    /// esptool's name (`qio`, `qout`, `dio`, `dout`; `FLASH_MODES`).
    pub fn name(self) -> &'static str {
        match self {
            FlashMode::Qio => "qio",
            FlashMode::Qout => "qout",
            FlashMode::Dio => "dio",
            FlashMode::Dout => "dout",
        }
    }

    /// The mode for header byte 2, if it is one of the four codes.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => FlashMode::Qio,
            1 => FlashMode::Qout,
            2 => FlashMode::Dio,
            3 => FlashMode::Dout,
            _ => return None,
        })
    }
}

/// Flash size, the high nibble of header byte 3 (ESP32 family encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashSize {
    /// 1 MB (esptool `1MB`).
    Mb1 = 0,
    /// 2 MB (esptool `2MB`).
    Mb2 = 1,
    /// 4 MB (esptool `4MB`), the MCUboot port's default.
    Mb4 = 2,
    /// 8 MB (esptool `8MB`).
    Mb8 = 3,
    /// 16 MB (esptool `16MB`).
    Mb16 = 4,
    /// 32 MB (esptool `32MB`).
    Mb32 = 5,
    /// 64 MB (esptool `64MB`).
    Mb64 = 6,
    /// 128 MB (esptool `128MB`).
    Mb128 = 7,
}

impl FlashSize {
    /// The size in bytes.
    pub fn bytes(self) -> u32 {
        (1024 * 1024) << (self as u32)
    }

    /// The encoding for a size in bytes, if it is one the header can hold.
    pub fn from_bytes(bytes: u32) -> Option<Self> {
        [
            FlashSize::Mb1,
            FlashSize::Mb2,
            FlashSize::Mb4,
            FlashSize::Mb8,
            FlashSize::Mb16,
            FlashSize::Mb32,
            FlashSize::Mb64,
            FlashSize::Mb128,
        ]
        .into_iter()
        .find(|s| s.bytes() == bytes)
    }

    /// esptool's name (`4MB`; `FLASH_SIZES`).
    pub fn name(self) -> &'static str {
        match self {
            FlashSize::Mb1 => "1MB",
            FlashSize::Mb2 => "2MB",
            FlashSize::Mb4 => "4MB",
            FlashSize::Mb8 => "8MB",
            FlashSize::Mb16 => "16MB",
            FlashSize::Mb32 => "32MB",
            FlashSize::Mb64 => "64MB",
            FlashSize::Mb128 => "128MB",
        }
    }

    /// The size esptool calls `name` (`4MB`), if the header can hold it.
    pub fn from_name(name: &str) -> Option<Self> {
        (0..8u8)
            .filter_map(Self::from_nibble)
            .find(|s| s.name() == name)
    }

    /// The size encoded by the high nibble `n` of header byte 3.
    pub fn from_nibble(n: u8) -> Option<Self> {
        Self::from_bytes((1024 * 1024u32).checked_shl(u32::from(n))?).filter(|s| *s as u8 == n)
    }
}

/// One loadable segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Address the ROM copies the data to (RAM) or where the cache maps it
    /// (flash-mapped IROM/DROM).
    pub load_addr: u32,
    /// The segment's bytes. In a parsed image its length is a multiple of
    /// 4; [`EspImageBuilder::segment`] pads it to one.
    pub data: Vec<u8>,
}

impl Segment {
    /// A segment loaded at `load_addr` holding `data`.
    pub fn new(load_addr: u32, data: Vec<u8>) -> Self {
        Segment { load_addr, data }
    }
}

/// Why an ESP image was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EspImageError {
    /// The bytes end before a part of the image that the header says is
    /// there.
    #[error("image is truncated: {what} needs bytes up to offset {needed:#x}, file has {len:#x}")]
    Truncated {
        /// The part being read ("the image header", "segment data", ...).
        what: &'static str,
        /// Offset just past the end of that part.
        needed: usize,
        /// Length of the input.
        len: usize,
    },
    /// Byte 0 is not [`ESP_IMAGE_MAGIC`]; carries the byte found.
    #[error("not an ESP image: magic byte is {0:#04x}, expected 0xe9")]
    BadMagic(u8),
    /// The segment count (byte 1) is over [`MAX_SEGMENTS`]; carries the
    /// count.
    #[error("image has {0} segments, the ROM loads at most 16")]
    TooManySegments(u8),
    /// A segment's length is not a multiple of 4 or is at least
    /// [`MAX_SEGMENT_LEN`], which esptool's loader refuses.
    #[error("segment {index} length {len:#x} is not a multiple of 4 or is 16 MiB or more")]
    BadSegmentLength {
        /// Zero-based position of the segment in the image.
        index: usize,
        /// The length from its segment header.
        len: u32,
    },
    /// Byte 2 is not one of the [`FlashMode`] codes; carries the byte.
    #[error("unknown SPI flash mode {0} in header byte 2")]
    BadFlashMode(u8),
    /// Byte 23 is neither 0 nor 1 (esptool raises `Invalid value for
    /// append_digest field` here); carries the byte.
    #[error("invalid hash-appended byte {0} (expected 0 or 1)")]
    BadHashAppended(u8),
    /// The header's chip ID is not the expected chip's `IMAGE_CHIP_ID`.
    #[error("image is for chip ID {found} ({found_name}), expected {expected} ({expected_name})")]
    WrongChip {
        /// Chip ID in the image header.
        found: u16,
        /// Name of the chip with that ID, or `"unknown"`.
        found_name: &'static str,
        /// [`Chip::image_chip_id`] of the expected chip.
        expected: u16,
        /// [`Chip::name`] of the expected chip.
        expected_name: &'static str,
    },
    /// The checksum byte does not equal [`ESP_CHECKSUM_MAGIC`] XOR every
    /// segment data byte.
    #[error("checksum mismatch: stored {stored:#04x}, computed {computed:#04x}")]
    BadChecksum {
        /// The checksum byte in the image.
        stored: u8,
        /// The checksum computed over the segment data.
        computed: u8,
    },
    /// The hash-appended flag is set and the 32 bytes after the checksum
    /// are not the SHA-256 of everything before them.
    #[error("appended SHA-256 does not match the image")]
    BadHash,
}

/// A parsed and checked ESP image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspImage {
    /// `IMAGE_CHIP_ID` from bytes 12..14 (see [`Chip::from_image_chip_id`]).
    pub chip_id: u16,
    /// SPI flash mode, byte 2.
    pub flash_mode: FlashMode,
    /// `None` when the nibble is not a size this crate knows.
    pub flash_size: Option<FlashSize>,
    /// Chip-specific frequency code (esptool `FLASH_FREQUENCY`).
    pub flash_freq: u8,
    /// Entry point address, bytes 4..8: where the ROM jumps after loading.
    pub entry: u32,
    /// SPI WP pin, byte 8; [`WP_PIN_DISABLED`] when not used.
    pub wp_pin: u8,
    /// Legacy minimum chip revision, byte 14 (deprecated in favour of
    /// `min_chip_rev_full`).
    pub min_rev: u8,
    /// Minimum chip revision as major * 100 + minor, bytes 15..17.
    pub min_chip_rev_full: u16,
    /// Maximum chip revision as major * 100 + minor, bytes 17..19.
    pub max_chip_rev_full: u16,
    /// Byte 23: a SHA-256 of the image follows the checksum byte.
    pub hash_appended: bool,
    /// The segments in file order.
    pub segments: Vec<Segment>,
    /// Offset of the checksum byte.
    pub checksum_offset: usize,
    /// Bytes covered by the image, up to and including the appended hash
    /// (esptool's `data_length` plus the hash). A Secure Boot V2 signature
    /// sector, if any, starts at the next 4 KiB boundary after this.
    pub len: usize,
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn need(bytes: &[u8], what: &'static str, needed: usize) -> Result<(), EspImageError> {
    if bytes.len() < needed {
        Err(EspImageError::Truncated {
            what,
            needed,
            len: bytes.len(),
        })
    } else {
        Ok(())
    }
}

impl EspImage {
    /// Parses `bytes` as an image for `chip` and checks it as the ROM does:
    /// magic, segment table, chip ID, XOR checksum and appended SHA-256.
    /// Trailing bytes (padding, a signature sector) are allowed.
    ///
    /// # Errors
    /// [`EspImageError`] naming the first check that failed.
    pub fn parse(bytes: &[u8], chip: Chip) -> Result<Self, EspImageError> {
        let image = Self::parse_any_chip(bytes)?;
        if image.chip_id != chip.image_chip_id() {
            return Err(EspImageError::WrongChip {
                found: image.chip_id,
                found_name: Chip::from_image_chip_id(image.chip_id).map_or("unknown", Chip::name),
                expected: chip.image_chip_id(),
                expected_name: chip.name(),
            });
        }
        Ok(image)
    }

    /// Like [`EspImage::parse`] without the chip-ID check.
    ///
    /// # Errors
    /// [`EspImageError`] naming the first check that failed.
    pub fn parse_any_chip(bytes: &[u8]) -> Result<Self, EspImageError> {
        need(bytes, "the image header", HEADER_LEN)?;
        if bytes[0] != ESP_IMAGE_MAGIC {
            return Err(EspImageError::BadMagic(bytes[0]));
        }
        let count = bytes[1];
        if usize::from(count) > MAX_SEGMENTS {
            return Err(EspImageError::TooManySegments(count));
        }
        let flash_mode =
            FlashMode::from_byte(bytes[2]).ok_or(EspImageError::BadFlashMode(bytes[2]))?;
        let hash_appended = match bytes[23] {
            0 => false,
            1 => true,
            other => return Err(EspImageError::BadHashAppended(other)),
        };
        let mut segments = Vec::with_capacity(usize::from(count));
        let mut checksum = ESP_CHECKSUM_MAGIC;
        let mut pos = HEADER_LEN;
        for index in 0..usize::from(count) {
            need(bytes, "a segment header", pos + 8)?;
            let load_addr = u32_at(bytes, pos);
            let len = u32_at(bytes, pos + 4);
            if !len.is_multiple_of(4) || len >= MAX_SEGMENT_LEN {
                return Err(EspImageError::BadSegmentLength { index, len });
            }
            let start = pos + 8;
            let end = start + len as usize;
            need(bytes, "segment data", end)?;
            let data = bytes[start..end].to_vec();
            checksum = data.iter().fold(checksum, |acc, b| acc ^ b);
            segments.push(Segment { load_addr, data });
            pos = end;
        }
        let checksum_offset = pos + (15 - pos % 16);
        need(bytes, "the checksum", checksum_offset + 1)?;
        let stored = bytes[checksum_offset];
        if stored != checksum {
            return Err(EspImageError::BadChecksum {
                stored,
                computed: checksum,
            });
        }
        let mut len = checksum_offset + 1;
        if hash_appended {
            need(bytes, "the appended SHA-256", len + 32)?;
            let digest = Sha256::digest(&bytes[..len]);
            if digest.as_slice() != &bytes[len..len + 32] {
                return Err(EspImageError::BadHash);
            }
            len += 32;
        }
        Ok(EspImage {
            chip_id: u16_at(bytes, 12),
            flash_mode,
            flash_size: FlashSize::from_nibble(bytes[3] >> 4),
            flash_freq: bytes[3] & 0x0F,
            entry: u32_at(bytes, 4),
            wp_pin: bytes[8],
            min_rev: bytes[14],
            min_chip_rev_full: u16_at(bytes, 15),
            max_chip_rev_full: u16_at(bytes, 17),
            hash_appended,
            segments,
            checksum_offset,
            len,
        })
    }
}

/// Writes ESP images (what `esptool elf2image` produces from an ELF).
#[derive(Debug, Clone)]
pub struct EspImageBuilder {
    chip: Chip,
    entry: u32,
    flash_mode: FlashMode,
    flash_size: FlashSize,
    flash_freq: u8,
    min_rev: u8,
    min_chip_rev_full: u16,
    max_chip_rev_full: u16,
    hash_appended: bool,
    segments: Vec<Segment>,
}

impl EspImageBuilder {
    /// An image for `chip` starting at `entry`: DIO, 4 MB, frequency code 0,
    /// SHA-256 appended, as the MCUboot port's build passes to esptool.
    pub fn new(chip: Chip, entry: u32) -> Self {
        EspImageBuilder {
            chip,
            entry,
            flash_mode: FlashMode::Dio,
            flash_size: FlashSize::Mb4,
            flash_freq: 0,
            min_rev: 0,
            min_chip_rev_full: 0,
            max_chip_rev_full: 0,
            hash_appended: true,
            segments: Vec::new(),
        }
    }

    /// Whether to append the SHA-256 (header byte 23; esptool
    /// `elf2image` appends it unless told not to).
    #[must_use]
    pub fn hash_appended(mut self, appended: bool) -> Self {
        self.hash_appended = appended;
        self
    }

    /// Sets header bytes 2 and 3: SPI flash mode, size, and the
    /// chip-specific frequency code (esptool `FLASH_FREQUENCY` in
    /// `esptool/targets/<chip>.py`; only its low nibble is kept).
    #[must_use]
    pub fn flash_params(mut self, mode: FlashMode, size: FlashSize, freq_code: u8) -> Self {
        self.flash_mode = mode;
        self.flash_size = size;
        self.flash_freq = freq_code & 0x0F;
        self
    }

    /// Sets the chip revision range the image accepts: the legacy
    /// `min_rev` byte and `min_chip_rev_full`/`max_chip_rev_full`
    /// (major * 100 + minor, esptool `--min-rev-full`/`--max-rev-full`).
    #[must_use]
    pub fn chip_revisions(mut self, min_rev: u8, min_full: u16, max_full: u16) -> Self {
        self.min_rev = min_rev;
        self.min_chip_rev_full = min_full;
        self.max_chip_rev_full = max_full;
        self
    }

    /// Adds a segment; its data is zero-padded to a multiple of 4 bytes, as
    /// esptool does.
    #[must_use]
    pub fn segment(mut self, mut segment: Segment) -> Self {
        let padded = segment.data.len().next_multiple_of(4);
        segment.data.resize(padded, 0);
        self.segments.push(segment);
        self
    }

    /// Serializes the image: header, segments, checksum, SHA-256. At most
    /// 16 segments of under 16 MiB each, as the ROM requires; the caller
    /// keeps to that (checked by debug assertions).
    pub fn build(&self) -> Vec<u8> {
        debug_assert!(self.segments.len() <= MAX_SEGMENTS);
        let mut out = vec![
            ESP_IMAGE_MAGIC,
            self.segments.len() as u8,
            self.flash_mode as u8,
            ((self.flash_size as u8) << 4) | self.flash_freq,
        ];
        out.extend_from_slice(&self.entry.to_le_bytes());
        out.push(WP_PIN_DISABLED);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&self.chip.image_chip_id().to_le_bytes());
        out.push(self.min_rev);
        out.extend_from_slice(&self.min_chip_rev_full.to_le_bytes());
        out.extend_from_slice(&self.max_chip_rev_full.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(u8::from(self.hash_appended));
        let mut checksum = ESP_CHECKSUM_MAGIC;
        for seg in &self.segments {
            debug_assert!((seg.data.len() as u64) < u64::from(MAX_SEGMENT_LEN));
            out.extend_from_slice(&seg.load_addr.to_le_bytes());
            out.extend_from_slice(&(seg.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&seg.data);
            checksum = seg.data.iter().fold(checksum, |acc, b| acc ^ b);
        }
        let pad = 15 - out.len() % 16;
        out.resize(out.len() + pad, 0);
        out.push(checksum);
        if self.hash_appended {
            let digest = Sha256::digest(&out);
            out.extend_from_slice(&digest);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(chip: Chip) -> Vec<u8> {
        EspImageBuilder::new(chip, 0x4038_0000)
            .segment(Segment::new(0x3FC8_0000, vec![0xAA; 7]))
            .segment(Segment::new(0x4038_0000, vec![0x55; 64]))
            .build()
    }

    #[test]
    fn built_images_parse_back() {
        for chip in Chip::ALL {
            let bytes = sample(chip);
            let image = EspImage::parse(&bytes, chip).unwrap();
            assert_eq!(image.len, bytes.len());
            assert_eq!(image.checksum_offset % 16, 15);
            assert_eq!(
                image.segments[0].data,
                [0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0]
            );
            assert_eq!(image.flash_size, Some(FlashSize::Mb4));
        }
    }

    #[test]
    fn wrong_chip_is_named() {
        let bytes = sample(Chip::Esp32c3);
        let err = EspImage::parse(&bytes, Chip::Esp32s3).unwrap_err();
        assert!(err.to_string().contains("esp32c3"), "{err}");
    }

    #[test]
    fn any_flipped_byte_in_the_hashed_part_is_detected() {
        let bytes = sample(Chip::Esp32c3);
        for i in 0..bytes.len() {
            if i == 23 {
                // Clearing the hash-appended flag drops the hash check by
                // design; only Secure Boot's signature covers that byte.
                continue;
            }
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(
                EspImage::parse(&bad, Chip::Esp32c3).is_err(),
                "flip at {i} accepted"
            );
        }
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = EspImage::parse_any_chip(&bytes);
        }

        #[test]
        fn truncation_is_an_error(cut in 0usize..200) {
            let bytes = sample(Chip::Esp32);
            let cut = cut.min(bytes.len() - 1);
            prop_assert!(EspImage::parse_any_chip(&bytes[..cut]).is_err());
        }
    }
}
