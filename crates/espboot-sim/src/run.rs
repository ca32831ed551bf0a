//! The boot core alone on a device: the [`OwnedBootConfig`] of a device's
//! flash map (the Espressif port: uniform sectors, no bootstrap) and one
//! boot of it. The harness itself (boot reports, sweeps) is `flash-sim`'s.

use flash_sim::flash::CutMode;
use flash_sim::run::{boot_with, BootReport};
use mcuboot_boot::owned::OwnedBootConfig;
use mcuboot_boot::{Area, ImageSlots, SignatureKind};

use crate::config::{FlashMap, Signature, Span};
use crate::device::Device;

/// The boot configuration of a device's flash map with its embedded keys
/// (DER).
pub fn boot_config(map: &FlashMap, keys: Vec<Vec<u8>>) -> OwnedBootConfig {
    let area = |s: Span| Area::new(s.offset, s.size);
    OwnedBootConfig {
        images: map
            .images
            .iter()
            .map(|p| ImageSlots {
                primary: area(p.primary),
                secondary: area(p.secondary),
            })
            .collect(),
        scratch: map.scratch.map(area),
        strategy: map.strategy,
        downgrade: map.downgrade,
        write_size: map.write_size,
        max_align: map.max_align,
        erased_val: map.erased_val,
        max_sectors: map.max_sectors,
        bootstrap: false,
        keys,
        signature: match map.signature {
            Signature::None => None,
            Signature::Ec256 => Some(SignatureKind::EcdsaP256),
            Signature::Ed25519 => Some(SignatureKind::Ed25519),
            Signature::Rsa2048 => Some(SignatureKind::Rsa2048),
            Signature::Rsa3072 => Some(SignatureKind::Rsa3072),
        },
        sector_runs: vec![(map.sector_size, map.flash_size / map.sector_size)],
    }
}

/// The boot configuration of a device (its map and embedded keys).
pub fn device_boot_config(device: &Device) -> OwnedBootConfig {
    let keys = device.settings.keys.iter().map(|k| k.der.clone()).collect();
    boot_config(&device.settings.map, keys)
}

/// Powers `device` on once, the boot core alone (no chip model). With
/// `cut = Some((n, mode))`, the power fails after `n` flash operations
/// (operation `n + 1` is cut).
pub fn boot(device: &mut Device, cut: Option<(u64, CutMode)>) -> BootReport {
    let config = device_boot_config(device);
    boot_with(&config, &mut device.flash, cut)
}
