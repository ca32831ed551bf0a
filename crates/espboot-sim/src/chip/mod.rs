//! The virtual ESP chip around the simulated flash.
//!
//! - [`port_flash::PortFlash`]: the MCUboot Espressif port's flash backend
//!   (`boot/espressif/port/esp_mcuboot.c`) with the chip's transparent flash
//!   encryption, as the boot core sees the flash on a real device.
//! - [`bootloader`]: the simulated second-stage bootloader, an ESP image
//!   carrying its configuration ([`bootloader::build_bootloader`],
//!   [`bootloader::parse_bootloader`]).
//! - [`app`]: app payloads with the port's load header
//!   ([`app::build_app`]).
//! - [`preflight`]: what `sim write` refuses before writing
//!   ([`preflight::check_write`]); [`flash_write`]: `sim write` itself
//!   ([`flash_write::write_files`], `--encrypt`, download mode).
//! - [`fuses`]: what the hardware reads from the eFuses (flash-encryption
//!   key, Secure Boot V2 digests).
//! - [`boot`]: one power-on: the ROM stage, the port's first boot, MCUboot
//!   and app loading ([`boot::power_on`]).
//!
//! ```
//! use espboot_sim::chip::{app, bootloader, preflight};
//! use espboot_sim::config::{FlashMap, Target};
//!
//! let target = Target::Esp32c3;
//! let config = target.default_config();
//! let map = FlashMap::resolve(&config, None)?;
//!
//! // The bootloader carries its configuration; the ROM finds it at 0x0.
//! let image = bootloader::build_bootloader(target, &config, &[])?;
//! let chip = bootloader::require_chip(target)?;
//! assert_eq!(bootloader::parse_bootloader(chip, &image)?.target, target);
//! preflight::check_write(target, &map, 0x0, &image)?;
//! // ...and nowhere else.
//! assert!(preflight::check_write(target, &map, 0x20000, &image).is_err());
//!
//! // An app payload is not an MCUboot image until it is signed.
//! let payload = app::build_app(chip, &app::AppOptions::new("1.0.0"))?;
//! assert!(preflight::check_write(target, &map, 0x20000, &payload).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod app;
pub mod boot;
pub mod bootloader;
pub mod flash_write;
pub mod fuses;
pub mod port_flash;
pub mod preflight;

use crate::config::Target;

/// The chip a target is modelled as, if the virtual chip models it: the
/// same as [`Target::chip`], kept for existing callers.
pub fn modelled(target: Target) -> Option<esp_image::Chip> {
    target.chip()
}

/// Espressif's OUI (IEEE registry: `7C:DF:A1`, one of the blocks the
/// factory MACs of ESP32-S2/S3/C3 parts come from): the first three bytes
/// of every virtual device's factory MAC.
const ESPRESSIF_OUI: [u8; 3] = [0x7C, 0xDF, 0xA1];

/// A factory MAC for a new virtual device, deterministic from `name` (the
/// device's directory name): Espressif's OUI, then three bytes of the
/// (folded) 64-bit FNV-1a hash of the name. Real chips leave the factory with a
/// distinct MAC each; espefuse's virtual chip has none (all zeros).
pub fn factory_mac(name: &str) -> [u8; 6] {
    // FNV-1a 64 (offset basis and prime of the FNV specification)
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    });
    // fold the high half in: FNV's top bytes barely change with the last
    // characters, and device names often differ only there
    let [.., a, b, c] = (hash ^ (hash >> 32)).to_be_bytes();
    let [o0, o1, o2] = ESPRESSIF_OUI;
    [o0, o1, o2, a, b, c]
}

/// Programs a factory MAC into `efuses` as the factory does (straight into
/// the eFuse array, no controller traces in the register image): `MAC`,
/// and on the ESP32 its `MAC_CRC`. `mac` is in display order
/// (`7c:df:a1:…`), which is the field's memory order reversed.
pub fn program_factory_mac(
    efuses: &mut esp_efuse::Efuses,
    mac: [u8; 6],
) -> Result<(), esp_efuse::EfuseError> {
    use esp_efuse::Field;
    let mut memory_order = mac;
    memory_order.reverse();
    program_field(efuses, Field::Mac, &memory_order)?;
    if efuses.chip() == esp_image::Chip::Esp32 {
        program_field(efuses, Field::MacCrc, &[esp_efuse::esp32_mac_crc(&mac)])?;
    }
    Ok(())
}

/// ORs `bytes` (memory order, at most the field's length) into `field`'s bits.
fn program_field(
    efuses: &mut esp_efuse::Efuses,
    field: esp_efuse::Field,
    bytes: &[u8],
) -> Result<(), esp_efuse::EfuseError> {
    let def = efuses.def(field)?;
    let block = usize::from(def.block);
    let offset = def.bit_offset().unwrap_or(0);
    let mut words = vec![0u32; efuses.block_len_words(block)];
    for bit in 0..(def.bit_len as usize).min(bytes.len() * 8) {
        let set = bytes
            .get(bit / 8)
            .is_some_and(|b| b & (1 << (bit % 8)) != 0);
        let at = offset + bit;
        if let (true, Some(w)) = (set, words.get_mut(at / 32)) {
            *w |= 1 << (at % 32);
        }
    }
    efuses.program_block(block, &words)?;
    Ok(())
}

/// The eFuses of a new chip: blank, as espefuse's virtual chip starts,
/// except that an ESP32 is a v3.0 (ECO3) part (`CHIP_VER_REV1` and
/// `CHIP_VER_REV2` burned), the revision the port is built for
/// (`--min-rev 3`, mcuboot.md §7) and the first with Secure Boot V2.
pub fn new_efuses(chip: esp_image::Chip) -> esp_efuse::Efuses {
    use esp_efuse::{Burn, Field};
    let mut efuses = esp_efuse::Efuses::new(chip);
    if chip == esp_image::Chip::Esp32 {
        // one batch, as `espefuse burn-efuse CHIP_VER_REV1 1 CHIP_VER_REV2 1`
        let burned = efuses
            .stage(Field::ChipVerRev1, Burn::All)
            .and_then(|_| efuses.stage(Field::ChipVerRev2, Burn::All))
            .and_then(|_| efuses.commit());
        // both fields exist in the generated ESP32 table and start at 0
        debug_assert!(burned.is_ok());
    }
    efuses
}
