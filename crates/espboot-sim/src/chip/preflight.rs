//! Write-time checks: what `espboot sim write` refuses before it writes
//! anything (skipped with `--force`, like `esptool --force`).
//!
//! The rules, from the chip's and the port's point of view:
//! - nothing is written beyond the flash;
//! - at the chip's bootloader offset (the ROM's `BOOTLOADER_FLASH_OFFSET`,
//!   esptool.md §5.1) goes an ESP image (magic `0xE9`) for this chip;
//! - an ESP image anywhere else would never be loaded by the ROM;
//! - at an image start goes an MCUboot image (magic `0x96f3b83d`,
//!   mcuboot.md §1.1) that fits the slot: the image start is the slot start,
//!   except in swap-offset's secondary slots, where MCUboot looks for the new
//!   image one sector in (`boot_get_image_offset`, swap_offset.c) and an
//!   image at the slot start is rejected and erased;
//! - an image padded with its trailer (`imgtool sign --pad`) ends at the slot
//!   end, where MCUboot reads the trailer;
//! - an MCUboot image anywhere else would never be found by the bootloader;
//! - one write never straddles the boundary of a region of the flash map
//!   (bootloader, slots, scratch).
//!
//! Other data, such as raw blobs between the regions, is allowed. The
//! checks look at the plaintext being written: with flash encryption on,
//! the caller passes the data before encryption.

use esp_image::esp_image::{EspImage, EspImageError, ESP_IMAGE_MAGIC, HEADER_LEN, MAX_SEGMENTS};
use esp_image::Chip;
use mcuboot_boot::UpgradeStrategy;
use mcuboot_image::codec::trailer::{max_align_of_magic, MAGIC_SIZE};
use mcuboot_image::{ImageHeader, IMAGE_HEADER_SIZE, IMAGE_MAGIC, TLV_INFO_MAGIC};

use crate::config::{FlashMap, Span, Target};

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
    /// A write beyond the end of the flash.
    #[error("write {addr:#x}..{end:#x} ends beyond the flash size {flash_size:#x}")]
    BeyondFlash {
        /// The write's address.
        addr: u32,
        /// Where the write ends (exclusive).
        end: u64,
        /// The flash size.
        flash_size: u32,
    },
    #[error(
        "data at the {target} bootloader offset {addr:#x} is not a bootloader image: {reason}"
    )]
    /// Something other than an ESP image at the bootloader offset.
    NotBootloaderImage {
        /// The device's target.
        target: Target,
        /// The write's address.
        addr: u32,
        /// Why.
        reason: EspImageError,
    },
    /// An ESP image for another chip at the bootloader offset.
    #[error("the ESP image at the bootloader offset {addr:#x} is for {found}, this device is an {expected}")]
    WrongChip {
        /// The write's address.
        addr: u32,
        /// What was found.
        found: String,
        /// What was expected.
        expected: Target,
    },
    /// An ESP image somewhere the ROM never loads from.
    #[error("an ESP image (for {found}) written at {addr:#x}: the {target} ROM loads its bootloader from {bootloader_offset:#x} only; image slots take MCUboot images")]
    EspImageMisplaced {
        /// The write's address.
        addr: u32,
        /// What was found.
        found: String,
        /// The device's target.
        target: Target,
        /// Where the ROM loads its bootloader from.
        bootloader_offset: u32,
    },
    /// Something other than an MCUboot image at a slot start.
    #[error("data written at the start of the {slot} {range} is not an MCUboot image (magic {found:#010x}, expected 0x96f3b83d)")]
    NotMcubootImage {
        /// The slot.
        slot: String,
        /// Its range.
        range: Span,
        /// What was found.
        found: u32,
    },
    /// The image does not fit between its image start and the slot end
    /// (`room`); `sign_size` is the `imgtool sign -S` that fits.
    #[error(
        "the MCUboot image at {addr:#x} is {size:#x} bytes, more than the {room:#x} bytes from \
         there to the end of the {slot} {range} (sign with -S {room:#x})"
    )]
    ImageTooLarge {
        /// The write's address.
        addr: u32,
        /// The image's size in bytes.
        size: u64,
        /// The slot.
        slot: String,
        /// Its range.
        range: Span,
        /// Bytes from the image start to the slot end.
        room: u32,
    },
    #[error("an MCUboot image written at {addr:#x}, which is not an image start (images start at {starts})")]
    /// An MCUboot image where no image starts.
    McubootMisplaced {
        /// The write's address.
        addr: u32,
        /// The image starts.
        starts: String,
    },
    /// swap-offset: the new image goes one sector into the secondary slot
    /// (`boot_get_image_offset`, swap_offset.c); at the slot start MCUboot
    /// rejects it and erases the slot.
    #[error(
        "an MCUboot image written at the start of the {slot} {range}: with swap-offset MCUboot \
         looks for the new image one sector in, at {image_start:#x} (sign it with -S \
         {sign_size:#x} so that the padded image ends at the slot end)"
    )]
    SwapOffsetSlotStart {
        /// The slot.
        slot: String,
        /// Its range.
        range: Span,
        /// Where MCUboot looks for the new image.
        image_start: u32,
        /// The `imgtool sign -S` that makes the padded image end at the slot end.
        sign_size: u32,
    },
    /// An image padded with its trailer that does not end at the slot end:
    /// MCUboot reads the trailer at the slot end and finds none.
    #[error(
        "the padded MCUboot image at {addr:#x} ends at {end:#x}, not at the end of the {slot} \
         {range} where MCUboot reads its trailer (sign it with -S {sign_size:#x})"
    )]
    PaddedImageEnd {
        /// The write's address.
        addr: u32,
        /// Where the padded image ends (exclusive).
        end: u64,
        /// The slot.
        slot: String,
        /// Its range.
        range: Span,
        /// The `imgtool sign -S` that makes the padded image end at the slot end.
        sign_size: u32,
    },
    /// A write across a region boundary of the flash map.
    #[error("write {addr:#x}..{end:#x} crosses the boundary of the {region} {range}")]
    CrossesRegion {
        /// The write's address.
        addr: u32,
        /// Where the write ends (exclusive).
        end: u64,
        /// The region.
        region: String,
        /// Its range.
        range: Span,
    },
}

/// Where MCUboot looks for the image in `slot`: the slot start, except for
/// a secondary slot under swap-offset, where the new image starts one sector
/// in (`boot_get_image_offset`, swap_offset.c; mcuboot.md §3.5).
pub fn image_start(map: &FlashMap, slot: Span, secondary: bool) -> u32 {
    if secondary && map.strategy == UpgradeStrategy::SwapOffset {
        slot.offset + map.sector_size.min(slot.size)
    } else {
        slot.offset
    }
}

/// Every slot with its name and [`image_start`], in map order.
fn image_starts(map: &FlashMap) -> Vec<(String, Span, u32)> {
    let mut out = Vec::new();
    for (i, pair) in map.images.iter().enumerate() {
        out.push((
            format!("image {i} primary slot"),
            pair.primary,
            image_start(map, pair.primary, false),
        ));
        out.push((
            format!("image {i} secondary slot"),
            pair.secondary,
            image_start(map, pair.secondary, true),
        ));
    }
    out
}

/// True when `data` ends with an MCUboot trailer magic (any `BOOT_MAX_ALIGN`
/// form): an image signed with `--pad` or `--confirm`.
fn ends_with_trailer_magic(data: &[u8]) -> bool {
    let tail = data
        .len()
        .checked_sub(MAGIC_SIZE as usize)
        .and_then(|at| data.get(at..))
        .and_then(|t| <&[u8; 16]>::try_from(t).ok());
    tail.is_some_and(|t| max_align_of_magic(t).is_some())
}

/// True when `data` starts like an ESP image header: magic, 1..=16
/// segments, a known flash mode, a known chip ID and a hash-appended byte
/// of 0 or 1 (esptool.md §5.1). Random data rarely passes all of these.
fn looks_like_esp_image(data: &[u8]) -> Option<u16> {
    let header = data.get(..HEADER_LEN)?;
    let chip_id = u16::from_le_bytes([header[12], header[13]]);
    let plausible = header[0] == ESP_IMAGE_MAGIC
        && (1..=MAX_SEGMENTS).contains(&usize::from(header[1]))
        && header[2] <= 3
        && header[23] <= 1
        && Chip::from_image_chip_id(chip_id).is_some();
    plausible.then_some(chip_id)
}

fn chip_name(chip_id: u16) -> String {
    Chip::from_image_chip_id(chip_id)
        .map_or_else(|| format!("chip ID {chip_id}"), |c| c.name().to_owned())
}

/// The extent of the MCUboot image at the start of `data`, as its header
/// and TLV info declare it (header, payload, protected and unprotected
/// TLVs), or the data length when those are not readable.
fn mcuboot_image_len(header: &ImageHeader, data: &[u8]) -> u64 {
    let Some(hashed) = header.hashed_len() else {
        return u64::MAX;
    };
    let at = hashed as usize;
    let tlvs = data
        .get(at..at + 4)
        .filter(|info| u16::from_le_bytes([info[0], info[1]]) == TLV_INFO_MAGIC)
        .map_or(0, |info| u64::from(u16::from_le_bytes([info[2], info[3]])));
    (u64::from(hashed) + tlvs).max(data.len() as u64)
}

/// Checks a write of `data` (plaintext) at `addr` on a `target` device with
/// flash map `map`, before anything is written.
///
/// # Errors
/// The first [`PreflightError`] found.
pub fn check_write(
    target: Target,
    map: &FlashMap,
    addr: u32,
    data: &[u8],
) -> Result<(), PreflightError> {
    let end = u64::from(addr) + data.len() as u64;
    if end > u64::from(map.flash_size) {
        return Err(PreflightError::BeyondFlash {
            addr,
            end,
            flash_size: map.flash_size,
        });
    }
    let chip = target.chip();
    let bootloader_offset = chip.map_or(map.bootloader.offset, Chip::bootloader_offset);

    if addr == bootloader_offset {
        // Unmodelled targets: no image parser for them, accept as is.
        if let Some(chip) = chip {
            match EspImage::parse(data, chip) {
                Ok(_) => {}
                Err(EspImageError::WrongChip { found, .. }) => {
                    return Err(PreflightError::WrongChip {
                        addr,
                        found: chip_name(found),
                        expected: target,
                    })
                }
                Err(reason) => {
                    return Err(PreflightError::NotBootloaderImage {
                        target,
                        addr,
                        reason,
                    })
                }
            }
        }
    } else if let Some(chip_id) = looks_like_esp_image(data) {
        return Err(PreflightError::EspImageMisplaced {
            addr,
            found: chip_name(chip_id),
            target,
            bootloader_offset,
        });
    }

    let starts = image_starts(map);
    let magic = data
        .get(..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]));
    if let Some((slot, range, start)) = starts.iter().find(|(_, _, start)| *start == addr) {
        let header = data
            .get(..IMAGE_HEADER_SIZE)
            .and_then(|h| ImageHeader::parse(h).ok())
            .ok_or_else(|| PreflightError::NotMcubootImage {
                slot: slot.clone(),
                range: *range,
                found: magic.unwrap_or(0),
            })?;
        let room = (range.end() - u64::from(*start)) as u32;
        let size = mcuboot_image_len(&header, data);
        if size > u64::from(room) {
            return Err(PreflightError::ImageTooLarge {
                addr,
                size,
                slot: slot.clone(),
                range: *range,
                room,
            });
        }
        if ends_with_trailer_magic(data) && end != range.end() {
            return Err(PreflightError::PaddedImageEnd {
                addr,
                end,
                slot: slot.clone(),
                range: *range,
                sign_size: room,
            });
        }
    } else if magic == Some(IMAGE_MAGIC) {
        if let Some((slot, range, start)) = starts
            .iter()
            .find(|(_, range, start)| range.offset == addr && *start != addr)
        {
            return Err(PreflightError::SwapOffsetSlotStart {
                slot: slot.clone(),
                range: *range,
                image_start: *start,
                sign_size: (range.end() - u64::from(*start)) as u32,
            });
        }
        let starts = starts
            .iter()
            .map(|(name, _, start)| format!("{start:#x} ({name})"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(PreflightError::McubootMisplaced { addr, starts });
    }

    if !data.is_empty() {
        for (region, range) in map.regions() {
            let overlaps = u64::from(addr) < range.end() && end > u64::from(range.offset);
            let inside = addr >= range.offset && end <= range.end();
            if overlaps && !inside {
                return Err(PreflightError::CrossesRegion {
                    addr,
                    end,
                    region,
                    range,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::chip::bootloader::build_bootloader;

    fn map(target: Target) -> FlashMap {
        FlashMap::resolve(&target.default_config(), None).unwrap()
    }

    fn mcuboot_image(payload: usize) -> Vec<u8> {
        let hdr = ImageHeader {
            magic: IMAGE_MAGIC,
            hdr_size: 32,
            img_size: payload as u32,
            ..ImageHeader::default()
        };
        let mut image = hdr.to_bytes().to_vec();
        image.resize(32 + payload, 0xAB);
        image.extend_from_slice(&[0x07, 0x69, 4, 0]);
        image
    }

    #[test]
    fn valid_writes_pass() {
        let t = Target::Esp32c3;
        let m = map(t);
        let boot = build_bootloader(t, &t.default_config(), &[]).unwrap();
        check_write(t, &m, 0x0, &boot).unwrap();
        check_write(t, &m, 0x20000, &mcuboot_image(1000)).unwrap();
        check_write(t, &m, 0x1E0000, &mcuboot_image(1000)).unwrap();
        // Raw data between regions and inside a region (not at its start).
        check_write(t, &m, 0x10000, &[0xE9; 16]).unwrap();
        check_write(t, &m, 0x21000, &[1; 100]).unwrap();
        check_write(t, &m, 0x1000, &[]).unwrap();
        // ESP32: the bootloader lives at 0x1000.
        let t = Target::Esp32;
        let boot = build_bootloader(t, &t.default_config(), &[]).unwrap();
        check_write(t, &map(t), 0x1000, &boot).unwrap();
    }

    #[test]
    fn every_refusal_names_the_place() {
        let t = Target::Esp32c3;
        let m = map(t);
        let boot = build_bootloader(t, &t.default_config(), &[]).unwrap();
        let s3_boot =
            build_bootloader(Target::Esp32s3, &Target::Esp32s3.default_config(), &[]).unwrap();
        let cases: Vec<(u32, Vec<u8>, &str)> = vec![
            (0x3FFFF0, vec![0; 32], "ends beyond the flash size 0x400000"),
            (
                0x0,
                vec![0xff; 64],
                "not a bootloader image: not an ESP image",
            ),
            (
                0x0,
                s3_boot.clone(),
                "is for esp32s3, this device is an esp32c3",
            ),
            (0x20000, boot.clone(), "loads its bootloader from 0x0 only"),
            (0x8000, s3_boot, "(for esp32s3) written at 0x8000"),
            (
                0x20000,
                vec![0; 64],
                "start of the image 0 primary slot 0x20000..0x1e0000",
            ),
            (
                0x1E0000,
                mcuboot_image(0x1C0000),
                "to the end of the image 0 secondary slot 0x1e0000..0x3a0000 (sign with -S 0x1c0000)",
            ),
            (
                0x30000,
                mcuboot_image(10),
                "images start at 0x20000 (image 0 primary slot), 0x1e0000",
            ),
            (
                0x1F000,
                vec![0; 0x2000],
                "crosses the boundary of the image 0 primary slot",
            ),
            (
                0xE000,
                vec![0; 0x2000],
                "crosses the boundary of the bootloader 0x0..0xf000",
            ),
        ];
        for (addr, data, what) in cases {
            let err = check_write(t, &m, addr, &data).unwrap_err();
            assert!(err.to_string().contains(what), "{addr:#x}: {err}");
        }
        // A damaged bootloader is refused with the image error.
        let mut bad = boot;
        bad[40] ^= 1;
        assert!(matches!(
            check_write(t, &m, 0, &bad),
            Err(PreflightError::NotBootloaderImage {
                reason: EspImageError::BadChecksum { .. },
                ..
            })
        ));
    }

    proptest::proptest! {
        #[test]
        fn check_never_panics(
            addr in 0u32..0x40_0000,
            head in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            len in 0usize..0x3000,
            magic in 0u8..3,
        ) {
            let prefix: &[u8] = match magic {
                0 => &IMAGE_MAGIC.to_le_bytes(),
                1 => &[ESP_IMAGE_MAGIC],
                _ => &[],
            };
            let mut data = [prefix, &head].concat();
            data.resize(data.len().max(len), 0xff);
            for target in [Target::Esp32, Target::Esp32c3, Target::Esp32p4] {
                let _ = check_write(target, &map(target), addr, &data);
            }
        }
    }

    /// An image signed with `--pad` and the slot size as `-S`: header,
    /// payload, TLVs, erased bytes, then the trailer magic at the very end.
    fn padded_image(payload: usize, sign_size: usize) -> Vec<u8> {
        let mut image = mcuboot_image(payload);
        image.resize(sign_size - MAGIC_SIZE as usize, 0xff);
        image.extend_from_slice(&mcuboot_image::codec::trailer::MAGIC_ALIGN8);
        image
    }

    #[test]
    fn swap_offset_images_go_one_sector_into_the_secondary_slot() {
        let t = Target::Esp32c3;
        let mut config = t.default_config();
        config
            .apply_str(
                "CONFIG_ESP_BOOT_SWAP_USING_SCRATCH=n\nCONFIG_ESP_BOOT_SWAP_USING_OFFSET=y\n",
                std::path::Path::new("offset.conf"),
            )
            .unwrap();
        let m = FlashMap::resolve(&config, None).unwrap();
        assert_eq!(m.strategy, UpgradeStrategy::SwapOffset);
        // The primary slot's image starts at the slot start, padded to it.
        check_write(t, &m, 0x20000, &padded_image(1000, 0x1C0000)).unwrap();
        // The new image one sector in, padded to end at the slot end.
        check_write(t, &m, 0x1E1000, &padded_image(1000, 0x1BF000)).unwrap();
        check_write(t, &m, 0x1E1000, &mcuboot_image(1000)).unwrap();
        // At the slot start MCUboot would reject and erase it.
        let err = check_write(t, &m, 0x1E0000, &mcuboot_image(1000)).unwrap_err();
        assert_eq!(
            err,
            PreflightError::SwapOffsetSlotStart {
                slot: "image 0 secondary slot".into(),
                range: Span {
                    offset: 0x1E0000,
                    size: 0x1C0000
                },
                image_start: 0x1E1000,
                sign_size: 0x1BF000,
            }
        );
        // Padded to the whole slot, it does not fit one sector in.
        let err = check_write(t, &m, 0x1E1000, &padded_image(1000, 0x1C0000)).unwrap_err();
        assert!(err.to_string().contains("(sign with -S 0x1bf000)"), "{err}");
        // The other strategies: the new image at the slot start.
        let m = map(t);
        check_write(t, &m, 0x1E0000, &padded_image(1000, 0x1C0000)).unwrap();
        let err = check_write(t, &m, 0x1E1000, &mcuboot_image(1000)).unwrap_err();
        assert!(
            matches!(err, PreflightError::McubootMisplaced { .. }),
            "{err}"
        );
    }

    #[test]
    fn padded_images_end_at_the_slot_end() {
        let t = Target::Esp32c3;
        let err = check_write(t, &map(t), 0x1E0000, &padded_image(1000, 0x1BF000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the padded MCUboot image at 0x1e0000 ends at 0x39f000, not at the end of the image 0 \
             secondary slot 0x1e0000..0x3a0000 where MCUboot reads its trailer (sign it with -S \
             0x1c0000)"
        );
    }

    #[test]
    fn esp32_bootloader_offset_is_0x1000() {
        let t = Target::Esp32;
        let boot = build_bootloader(t, &t.default_config(), &[]).unwrap();
        let err = check_write(t, &map(t), 0x0, &boot).unwrap_err();
        assert!(
            matches!(
                err,
                PreflightError::EspImageMisplaced {
                    bootloader_offset: 0x1000,
                    ..
                }
            ),
            "{err}"
        );
    }
}
