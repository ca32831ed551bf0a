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
