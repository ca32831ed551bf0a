//! What an Espressif ROM and the MCUboot port's loader know about a chip.
//!
//! - [`Chip`]: the seven supported chips, with the facts the ROM stage needs
//!   (image chip ID, second-stage bootloader offset, flash-encryption
//!   algorithm) and their RAM [`MemoryMap`].
//! - [`esp_image`]: the ESP image format (magic `0xE9`, segments, checksum,
//!   appended SHA-256) that the ROM loads the second-stage bootloader from.
//!   [`esp_image::EspImage::parse`] checks an image the way the ROM does;
//!   [`esp_image::EspImageBuilder`] writes one that `esptool image-info`
//!   accepts.
//! - [`image_info`]: an image as `esptool image-info` reads it, corrupt
//!   checksums and digests included, with the app or bootloader description.
//! - [`merge`]: `esptool merge-bin`: raw, Intel HEX and UF2 outputs, with
//!   esptool's rewrite of the bootloader's flash parameters.
//! - [`load_header`]: the `esp_image_load_header_t` at the start of an
//!   MCUboot image's payload, and the checks the port's loader makes before
//!   copying the app into RAM, plus the overlap check against the
//!   bootloader's own `iram_loader_seg` and `dram_seg` that the port leaves to
//!   the OS linker script (seed 000, "Memory map organization").
//!
//! ```
//! use esp_image::{Chip, esp_image::{EspImage, EspImageBuilder, Segment}};
//!
//! let chip = Chip::Esp32c3;
//! let bytes = EspImageBuilder::new(chip, 0x403c_e000)
//!     .segment(Segment::new(0x3fcd_5000, vec![1, 2, 3, 4]))
//!     .build();
//! let image = EspImage::parse(&bytes, chip)?;
//! assert_eq!(image.entry, 0x403c_e000);
//! assert_eq!(image.segments.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, unreachable_pub)]
pub mod chip;
pub mod esp_image;
pub mod image_info;
pub mod load_header;
pub mod merge;
pub mod rom_loader;

pub use chip::{Chip, FlashCryptAlgorithm, MemoryMap, MemoryRegion};
