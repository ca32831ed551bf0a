//! What a device is, for `sim new`'s report: target, whether the virtual
//! chip models it, the flash map, and where each slot's image goes.

use serde::Serialize;

use super::Device;
use mcuboot_boot::UpgradeStrategy;

use crate::chip::preflight::image_start;
use crate::config::{FlashMap, Span, Target};

/// A device's target, flash map and image placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSummary {
    /// The chip.
    pub target: Target,
    /// The virtual chip models the target (ROM stage, eFuses, Secure Boot,
    /// flash encryption); otherwise MCUboot's boot core runs alone.
    pub chip_model: bool,
    /// The flash map.
    pub map: FlashMap,
    /// Per image number, where its images go.
    pub images: Vec<ImagePlacement>,
}

/// Where one image number's two images go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImagePlacement {
    /// The primary slot.
    pub primary: SlotPlacement,
    /// The secondary slot.
    pub secondary: SlotPlacement,
}

/// One slot and where MCUboot looks for the image in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlotPlacement {
    /// Slot start.
    pub offset: u32,
    /// Slot size.
    pub size: u32,
    /// Where the image goes: the slot start, or one sector in for
    /// swap-offset's secondary slot.
    pub image_start: u32,
    /// The `imgtool sign -S` whose padded image ends at the slot end.
    pub sign_size: u32,
}

impl DeviceSummary {
    /// The summary of `device`.
    pub fn of(device: &Device) -> Self {
        let map = &device.settings.map;
        let place = |slot: Span, secondary: bool| {
            let start = image_start(map, slot, secondary);
            SlotPlacement {
                offset: slot.offset,
                size: slot.size,
                image_start: start,
                sign_size: (slot.end() - u64::from(start)) as u32,
            }
        };
        let images = map
            .images
            .iter()
            .map(|pair| ImagePlacement {
                primary: place(pair.primary, false),
                secondary: place(pair.secondary, true),
            })
            .collect();
        Self {
            target: device.settings.target,
            chip_model: device.settings.target.chip().is_some(),
            map: map.clone(),
            images,
        }
    }

    /// For swap-offset, the one line saying where new images go (`None`
    /// for the strategies that take them at the slot start).
    pub fn new_image_note(&self) -> Option<String> {
        if self.map.strategy != UpgradeStrategy::SwapOffset {
            return None;
        }
        let places: Vec<String> = self
            .images
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "image {i} at {:#x} (sign with -S {:#x})",
                    p.secondary.image_start, p.secondary.sign_size
                )
            })
            .collect();
        Some(format!(
            "swap-offset: new images go one sector into the secondary slot: {}",
            places.join(", ")
        ))
    }
}
