//! The simulated MCUboot second-stage bootloader: an ESP-format image
//! (magic `0xE9`, esptool.md §5.1) whose content is its configuration,
//! since the virtual chip runs the port's boot flow natively.
//!
//! # Layout
//!
//! What `esptool elf2image` makes of the port's ELF (mcuboot.md §7): SPI
//! flash mode DIO, the flash size of `CONFIG_ESP_FLASH_SIZE`, frequency code
//! 0 (elf2image's default), legacy `min_rev` 3 on ESP32 and ESP32-C3 and 0
//! elsewhere (the port's `--min-rev`), `max_chip_rev_full` 65535 (elf2image's
//! default), SHA-256 appended. Two segments:
//!
//! 1. IRAM, at the start of the chip's bootloader `iram_loader_seg`
//!    ([`esp_image::MemoryMap::bootloader_regions`]), also the entry point:
//!    the text [`IRAM_MARKER`], not code.
//! 2. DRAM, at the start of the bootloader `dram_seg`: the configuration
//!    blob, format version 1:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "ESPBTCFG"          (BLOB_MAGIC)
//! 8       4     format version, u32 LE    (BLOB_VERSION = 1)
//! 12      4     JSON length N, u32 LE
//! 16      N     UTF-8 JSON:
//!               { "target": "esp32c3",
//!                 "config": { "CONFIG_...": "value", ... },   merged keys
//!                 "keys":   [ { "source": "path", "der": "<hex>" }, ... ] }
//! 16+N    0..3  zero padding to a multiple of 4 (ESP segment rule)
//! ```
//!
//! `keys[].der` is the embedded public key as the port's build embeds it
//! (`imgtool getpub`; [`EmbeddedKey`]).
//!
//! A Secure Boot V2 signature sector, when the image is signed
//! (`espsecure sign-data --version 2`), follows the image at
//! [`BootloaderContents::image_len`] rounded up to 4 KiB; parsing ignores
//! everything after the image.

use std::collections::BTreeMap;

use esp_image::esp_image::{
    EspImage, EspImageBuilder, EspImageError, FlashMode, FlashSize, Segment,
};
use esp_image::Chip;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, ConfigFile, FlashMap, SecurityConfig, Target};
use crate::device::EmbeddedKey;

/// First bytes of the configuration blob in the DRAM segment.
pub const BLOB_MAGIC: [u8; 8] = *b"ESPBTCFG";
/// The blob format this module writes and reads.
pub const BLOB_VERSION: u32 = 1;
/// Size of the blob header (magic, version, length).
const BLOB_HEADER_LEN: usize = 16;
/// Content of the IRAM segment: says what this image is to anyone who
/// dumps it.
pub const IRAM_MARKER: &[u8] =
    b"espboot simulated MCUboot bootloader: run natively by the espboot virtual chip\0";
/// `max_chip_rev_full` elf2image writes when none is given (esptool
/// `cmds.py` `elf2image`).
const ELF2IMAGE_MAX_REV_FULL: u16 = 65535;

/// Why a bootloader could not be built or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootloaderError {
    /// A target the port supports but the virtual chip has no model of.
    #[error("target {0} is not modelled by the virtual chip (supported: esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)")]
    NotModelled(Target),
    /// The configuration does not resolve to a valid flash map.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The flash size cannot be written in the image header.
    #[error("flash size {0:#x} cannot be encoded in an ESP image header (expected 1MB..128MB, a power of two)")]
    FlashSize(u32),
    /// The configuration blob does not fit the bootloader's `dram_seg`.
    #[error("the bootloader configuration ({len} bytes) does not fit the {chip} bootloader dram_seg ({capacity} bytes)")]
    TooLarge {
        /// The length in bytes.
        len: usize,
        /// The room for it in bytes.
        capacity: u32,
        /// The chip.
        chip: Chip,
    },
    /// The first byte is not the ESP image magic.
    #[error("not an ESP image: byte 0 of the bootloader is {found:#04x}, expected the magic 0xe9")]
    NotEspImage {
        /// What was found.
        found: u8,
    },
    /// An image built for another chip.
    #[error(
        "the bootloader is an image for {found} (chip ID {found_id}), this chip is an {expected}"
    )]
    WrongChip {
        /// What was found.
        found: &'static str,
        /// The image's chip ID.
        found_id: u16,
        /// What was expected.
        expected: Chip,
    },
    /// The image is damaged (checksum, SHA-256, truncation, segment table).
    #[error("bootloader image: {0}")]
    Image(EspImageError),
    /// A valid ESP image that espboot did not build.
    #[error("the bootloader has no espboot configuration segment: it is an ESP-IDF or other bootloader; the virtual chip can only run bootloaders made by `espboot sim build-bootloader`")]
    NoConfig,
    /// The configuration segment is damaged or of an unknown version.
    #[error("bad espboot configuration blob in the bootloader: {0}")]
    BadBlob(BadBlob),
}

/// What is wrong with the configuration segment of a bootloader.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BadBlob {
    /// The segment is shorter than its header.
    #[error("truncated header")]
    TruncatedHeader,
    /// A format version this espboot does not read.
    #[error("format version {found}, this espboot reads version {BLOB_VERSION}")]
    Version {
        /// The version in the segment.
        found: u32,
    },
    /// The JSON length runs past the segment.
    #[error("JSON length {len} runs past the segment ({segment} bytes)")]
    Length {
        /// The length in the header.
        len: usize,
        /// The segment's length.
        segment: usize,
    },
    /// The JSON does not parse (or, building, does not serialize).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The configuration names another chip than the image.
    #[error("configuration for target {target} in an image for {chip}")]
    WrongTarget {
        /// The configuration's target.
        target: Target,
        /// The image's chip.
        chip: Chip,
    },
}

/// What a simulated bootloader carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootloaderContents {
    /// The target it was built for.
    pub target: Target,
    /// The merged configuration keys it was built with. A
    /// `CONFIG_ESP_SIGN_KEY_FILE` in it is informational only (a host path,
    /// not resolved): the keys themselves are in `keys`.
    pub config: ConfigFile,
    /// The embedded public keys (`CONFIG_ESP_SIGN_KEY_FILE`).
    pub keys: Vec<EmbeddedKey>,
    /// Bytes of the ESP image, including checksum padding and the appended
    /// SHA-256.
    pub image_len: usize,
}

impl BootloaderContents {
    /// The flash map of the configuration the bootloader carries.
    ///
    /// # Errors
    /// The [`ConfigError`] of [`FlashMap::resolve`]; not expected for a
    /// bootloader made by [`build_bootloader`], which resolved it first.
    pub fn flash_map(&self) -> Result<FlashMap, ConfigError> {
        FlashMap::resolve(&self.config, None)
    }

    /// Offset, from the bootloader start, of the Secure Boot V2 signature
    /// sector `espsecure sign-data --version 2` appends: the image length
    /// rounded up to 4 KiB (esptool.md §1.4).
    pub fn signature_sector_offset(&self) -> usize {
        self.image_len.next_multiple_of(SIGNATURE_SECTOR_ALIGN)
    }
}

/// Secure Boot V2 signs whole 4 KiB sectors and puts its signature sector
/// on the next boundary (`sign_secure_boot_v2`, esptool.md §1.4).
const SIGNATURE_SECTOR_ALIGN: usize = 0x1000;

/// The JSON of the blob.
#[derive(Debug, Serialize, Deserialize)]
struct Blob {
    target: Target,
    config: BTreeMap<String, String>,
    keys: Vec<EmbeddedKey>,
}

/// Like [`super::modelled`], as an error for the unmodelled targets.
///
/// # Errors
/// [`BootloaderError::NotModelled`].
pub fn require_chip(target: Target) -> Result<Chip, BootloaderError> {
    target.chip().ok_or(BootloaderError::NotModelled(target))
}

/// Legacy `min_rev` the port passes to elf2image (mcuboot.md §7: esp32 3,
/// esp32c3 3, the others 0).
fn min_rev(chip: Chip) -> u8 {
    match chip {
        Chip::Esp32 | Chip::Esp32c3 => 3,
        _ => 0,
    }
}

/// Builds the bootloader image for `target` with the merged `config` and
/// the embedded `keys` (see [`ConfigFile::embedded_keys`]). The config is
/// resolved with [`FlashMap::resolve`] first, so a bad flash map is refused
/// here too.
///
/// # Errors
/// [`BootloaderError::NotModelled`], [`BootloaderError::Config`],
/// [`BootloaderError::FlashSize`], [`BootloaderError::TooLarge`].
pub fn build_bootloader(
    target: Target,
    config: &ConfigFile,
    keys: &[EmbeddedKey],
) -> Result<Vec<u8>, BootloaderError> {
    let chip = require_chip(target)?;
    let map = FlashMap::resolve(config, None)?;
    let flash_size =
        FlashSize::from_bytes(map.flash_size).ok_or(BootloaderError::FlashSize(map.flash_size))?;
    let memory = chip.memory_map(SecurityConfig::resolve(config).multi_processor_boot);
    let [iram_loader_seg, dram_seg] = &memory.bootloader_regions;
    // Every chip's iram_loader_seg has an instruction-bus range and every
    // dram_seg a data-bus one (checked by esp-image's tests); the fallbacks
    // only keep this total.
    let iram = iram_loader_seg.iram.clone().unwrap_or(memory.iram.clone());
    let dram = dram_seg.dram.clone().unwrap_or(memory.dram.clone());

    let json = serde_json::to_vec(&Blob {
        target,
        config: config.keys.clone(),
        keys: keys.to_vec(),
    })
    .map_err(|e| BootloaderError::BadBlob(BadBlob::Json(e)))?;
    let mut blob = Vec::with_capacity(BLOB_HEADER_LEN + json.len());
    blob.extend_from_slice(&BLOB_MAGIC);
    blob.extend_from_slice(&BLOB_VERSION.to_le_bytes());
    blob.extend_from_slice(&(json.len() as u32).to_le_bytes());
    blob.extend_from_slice(&json);
    let capacity = dram.end - dram.start;
    if blob.len().next_multiple_of(4) > capacity as usize {
        return Err(BootloaderError::TooLarge {
            len: blob.len(),
            capacity,
            chip,
        });
    }

    Ok(EspImageBuilder::new(chip, iram.start)
        .flash_params(FlashMode::Dio, flash_size, 0)
        .chip_revisions(min_rev(chip), 0, ELF2IMAGE_MAX_REV_FULL)
        .segment(Segment::new(iram.start, IRAM_MARKER.to_vec()))
        .segment(Segment::new(dram.start, blob))
        .build())
}

/// Parses the bootloader at the start of `bytes` (flash content from the
/// bootloader offset; anything after the image, such as a signature sector,
/// is ignored) as the ROM of `chip` would load it, and reads its
/// configuration.
///
/// # Errors
/// [`BootloaderError::NotEspImage`], [`BootloaderError::WrongChip`],
/// [`BootloaderError::Image`], [`BootloaderError::NoConfig`],
/// [`BootloaderError::BadBlob`].
pub fn parse_bootloader(chip: Chip, bytes: &[u8]) -> Result<BootloaderContents, BootloaderError> {
    let image = EspImage::parse(bytes, chip).map_err(|e| match e {
        EspImageError::BadMagic(found) => BootloaderError::NotEspImage { found },
        EspImageError::WrongChip {
            found, found_name, ..
        } => BootloaderError::WrongChip {
            found: found_name,
            found_id: found,
            expected: chip,
        },
        other => BootloaderError::Image(other),
    })?;
    let data = image
        .segments
        .iter()
        .find(|s| s.data.starts_with(&BLOB_MAGIC))
        .map(|s| s.data.as_slice())
        .ok_or(BootloaderError::NoConfig)?;
    let word = |at: usize| -> Result<u32, BootloaderError> {
        data.get(at..at + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map(u32::from_le_bytes)
            .ok_or(BootloaderError::BadBlob(BadBlob::TruncatedHeader))
    };
    let version = word(8)?;
    if version != BLOB_VERSION {
        return Err(BootloaderError::BadBlob(BadBlob::Version {
            found: version,
        }));
    }
    let len = word(12)? as usize;
    let json = data
        .get(BLOB_HEADER_LEN..BLOB_HEADER_LEN.saturating_add(len))
        .ok_or(BootloaderError::BadBlob(BadBlob::Length {
            len,
            segment: data.len(),
        }))?;
    let blob: Blob =
        serde_json::from_slice(json).map_err(|e| BootloaderError::BadBlob(BadBlob::Json(e)))?;
    if blob.target.chip() != Some(chip) {
        return Err(BootloaderError::BadBlob(BadBlob::WrongTarget {
            target: blob.target,
            chip,
        }));
    }
    Ok(BootloaderContents {
        target: blob.target,
        config: ConfigFile {
            keys: blob.config,
            key_file_base: None,
        },
        keys: blob.keys,
        image_len: image.len,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::Path;

    const MODELLED: [Target; 7] = [
        Target::Esp32,
        Target::Esp32s2,
        Target::Esp32s3,
        Target::Esp32c2,
        Target::Esp32c3,
        Target::Esp32c6,
        Target::Esp32h2,
    ];

    fn key() -> EmbeddedKey {
        EmbeddedKey {
            source: "keys/root.pem".into(),
            der: vec![0x30, 0x2a, 1, 2, 3],
        }
    }

    #[test]
    fn round_trip_for_every_modelled_chip() {
        for target in MODELLED {
            let mut config = target.default_config();
            config
                .apply_str("CONFIG_ESP_SIGN_EC256=y\n", Path::new("x.conf"))
                .unwrap();
            let bytes = build_bootloader(target, &config, &[key()]).unwrap();
            let chip = target.chip().unwrap();
            // Trailing bytes (padding, a signature sector) are ignored.
            let mut flash = bytes.clone();
            flash.resize(0x2000, 0xff);
            let parsed = parse_bootloader(chip, &flash).unwrap();
            assert_eq!(parsed.target, target);
            assert_eq!(parsed.config.keys, config.keys);
            assert_eq!(parsed.keys, vec![key()]);
            assert_eq!(parsed.image_len, bytes.len());
            assert_eq!(parsed.signature_sector_offset(), 0x1000);
            assert_eq!(
                parsed.flash_map().unwrap(),
                FlashMap::resolve(&config, None).unwrap()
            );

            let image = EspImage::parse(&bytes, chip).unwrap();
            let map = chip.memory_map(false);
            assert_eq!(image.flash_mode, FlashMode::Dio);
            assert_eq!(image.min_rev, min_rev(chip));
            assert_eq!(
                Some(image.entry),
                map.bootloader_regions[0].iram.as_ref().map(|r| r.start)
            );
            assert!(map.bootloader_regions[0].overlaps(image.segments[0].load_addr, 4));
            assert!(map.bootloader_regions[1].overlaps(image.segments[1].load_addr, 4));
            let size = FlashMap::resolve(&config, None).unwrap().flash_size;
            assert_eq!(image.flash_size.map(FlashSize::bytes), Some(size));
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_bootloader(Chip::Esp32c3, &bytes);
        }

        #[test]
        fn damaged_config_blobs_are_errors(at in 0usize..600, bit in 0u8..8) {
            let config = Target::Esp32c3.default_config();
            let mut bytes = build_bootloader(Target::Esp32c3, &config, &[key()]).unwrap();
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
            // Checksum and SHA-256 catch every flip except the hash-appended
            // flag (byte 23), which drops the hash check.
            if at != 23 {
                proptest::prop_assert!(parse_bootloader(Chip::Esp32c3, &bytes).is_err());
            }
        }
    }

    #[test]
    fn esp32_multi_processor_boot_moves_the_loader_segment() {
        let mut config = Target::Esp32.default_config();
        config
            .apply_str("CONFIG_ESP_MULTI_PROCESSOR_BOOT=y\n", Path::new("x.conf"))
            .unwrap();
        let bytes = build_bootloader(Target::Esp32, &config, &[]).unwrap();
        let image = EspImage::parse(&bytes, Chip::Esp32).unwrap();
        assert_eq!(image.entry, 0x400A_B900);
    }

    #[test]
    fn unmodelled_targets_are_refused() {
        for target in [Target::Esp32c5, Target::Esp32c61, Target::Esp32p4] {
            let err = build_bootloader(target, &target.default_config(), &[]).unwrap_err();
            assert!(matches!(err, BootloaderError::NotModelled(t) if t == target));
            assert!(err.to_string().contains("not modelled by the virtual chip"));
        }
    }

    #[test]
    fn bad_flash_map_and_flash_size_are_refused() {
        let mut config = Target::Esp32c3.default_config();
        config
            .apply_str(
                "CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS=0x100000\n",
                Path::new("x.conf"),
            )
            .unwrap();
        let err = build_bootloader(Target::Esp32c3, &config, &[]).unwrap_err();
        assert!(matches!(
            err,
            BootloaderError::Config(ConfigError::Overlap { .. })
        ));

        let mut config = Target::Esp32c3.default_config();
        config
            .apply_str("CONFIG_ESP_FLASH_SIZE=6MB\n", Path::new("x.conf"))
            .unwrap();
        let err = build_bootloader(Target::Esp32c3, &config, &[]).unwrap_err();
        assert!(
            matches!(err, BootloaderError::FlashSize(0x60_0000)),
            "{err}"
        );
    }

    #[test]
    fn oversized_configuration_is_refused() {
        let big = EmbeddedKey {
            source: "big".into(),
            der: vec![0; 0x10000],
        };
        let err = build_bootloader(Target::Esp32c3, &Target::Esp32c3.default_config(), &[big])
            .unwrap_err();
        assert!(matches!(err, BootloaderError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn parse_errors_name_what_is_wrong() {
        let config = Target::Esp32c3.default_config();
        let good = build_bootloader(Target::Esp32c3, &config, &[]).unwrap();

        let err = parse_bootloader(Chip::Esp32c3, &[0xff; 64]).unwrap_err();
        assert!(matches!(err, BootloaderError::NotEspImage { found: 0xff }));
        assert!(err.to_string().contains("not an ESP image"));

        let err = parse_bootloader(Chip::Esp32s3, &good).unwrap_err();
        assert!(
            matches!(
                err,
                BootloaderError::WrongChip {
                    found: "esp32c3",
                    expected: Chip::Esp32s3,
                    ..
                }
            ),
            "{err}"
        );

        let mut bad = good.clone();
        bad[40] ^= 1; // segment data: checksum and hash no longer match
        assert!(matches!(
            parse_bootloader(Chip::Esp32c3, &bad),
            Err(BootloaderError::Image(EspImageError::BadChecksum { .. }))
        ));
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            parse_bootloader(Chip::Esp32c3, &bad),
            Err(BootloaderError::Image(EspImageError::BadHash))
        ));

        // An ESP-IDF-like bootloader: valid image, no configuration.
        let idf = EspImageBuilder::new(Chip::Esp32c3, 0x403c_e000)
            .segment(Segment::new(0x3fcd_5000, vec![0x50; 16]))
            .build();
        let err = parse_bootloader(Chip::Esp32c3, &idf).unwrap_err();
        assert!(matches!(err, BootloaderError::NoConfig));
        assert!(err.to_string().contains("espboot sim build-bootloader"));

        // Damaged blobs: unknown version, length past the segment, bad JSON,
        // wrong target.
        let blob_image = |blob: Vec<u8>| {
            EspImageBuilder::new(Chip::Esp32c3, 0x403d_0000)
                .segment(Segment::new(0x3fcd_5000, blob))
                .build()
        };
        let header = |version: u32, len: u32| {
            let mut b = BLOB_MAGIC.to_vec();
            b.extend_from_slice(&version.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            b
        };
        for (blob, what) in [
            (header(2, 0), "format version 2"),
            (header(1, 1000), "runs past the segment"),
            (
                [header(1, 4), b"{no}".to_vec()].concat(),
                "key must be a string",
            ),
            (
                {
                    let json = br#"{"target":"esp32s3","config":{},"keys":[]}"#;
                    [header(1, json.len() as u32), json.to_vec()].concat()
                },
                "target esp32s3",
            ),
            (BLOB_MAGIC[..].to_vec(), "truncated header"),
        ] {
            let err = parse_bootloader(Chip::Esp32c3, &blob_image(blob)).unwrap_err();
            assert!(matches!(err, BootloaderError::BadBlob(_)), "{err}");
            assert!(err.to_string().contains(what), "{err}");
        }
    }
}
