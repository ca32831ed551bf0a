//! What the running application asks of MCUboot on a chip: `boot_set_confirmed`,
//! `boot_set_pending`, and writing an update into the secondary slot.

use super::*;

/// `boot_set_confirmed` / `boot_set_pending` as the running app calls them:
/// through the port's flash backend, with the flashed bootloader's
/// configuration.
pub fn app_call(device: &mut Device, image: usize, call: AppCall) -> Result<(), ChipError> {
    let (setup, crypt) = flashed_setup(device)?;
    if image >= setup.images.len() {
        return Err(ChipError::NoSuchImage {
            image,
            count: setup.images.len(),
        });
    }
    device.flash.power_cycle();
    if let AppCall::SetPending { .. } = call {
        check_upgrade_image(device, &setup, crypt.as_deref(), image)?;
    }
    let mut port = PortFlash::new(&mut device.flash, crypt.as_deref());
    let result = setup.with_config(|cfg| match call {
        AppCall::Confirm => mcuboot_boot::set_confirmed(&mut port, cfg, image),
        AppCall::SetPending { permanent } => {
            mcuboot_boot::set_pending(&mut port, cfg, image, permanent)
        }
    });
    result.map_err(ChipError::Boot)
}

/// What a running application's update agent does with a downloaded
/// image: erase `image`'s secondary slot and write `bytes` where MCUboot
/// looks for the upgrade (the slot start, one sector further for
/// swap-offset), both through the port's flash backend
/// (`flash_area_erase`/`flash_area_write`). With flash encryption on, the
/// image lands encrypted with the chip's own key, which the host never
/// has (a device-generated key): this is the only way to stage an update
/// on such a device.
pub fn app_write_update(
    device: &mut Device,
    image: usize,
    bytes: &[u8],
) -> Result<UpdateWritten, ChipError> {
    let (setup, crypt) = flashed_setup(device)?;
    let Some(slots) = setup.images.get(image) else {
        return Err(ChipError::NoSuchImage {
            image,
            count: setup.images.len(),
        });
    };
    let slot = slots.secondary;
    let offset = if setup.strategy == mcuboot_boot::UpgradeStrategy::SwapOffset {
        device.settings.map.sector_size
    } else {
        0
    };
    let align = setup.write_size.max(1) as usize;
    let mut padded = bytes.to_vec();
    padded.resize(bytes.len().div_ceil(align) * align, setup.erased_val);
    if padded.len() as u64 + u64::from(offset) > u64::from(slot.size) {
        return Err(ChipError::UpdateTooLarge {
            image,
            len: bytes.len(),
            room: slot.size.saturating_sub(offset),
        });
    }
    device.flash.power_cycle();
    let mut port = PortFlash::new(&mut device.flash, crypt.as_deref());
    port.erase(slot.offset, slot.offset + slot.size)
        .and_then(|()| port.write(slot.offset + offset, &padded))
        .map_err(ChipError::PortFlash)?;
    Ok(UpdateWritten {
        image,
        addr: slot.offset + offset,
        size: padded.len() as u32,
        encrypted: crypt.is_some(),
    })
}

/// What [`app_write_update`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UpdateWritten {
    /// Image number.
    pub image: usize,
    /// Where the update starts (the secondary slot's image start).
    pub addr: u32,
    /// Bytes written (padded to the port's write alignment).
    pub size: u32,
    /// Written through the chip's transparent flash encryption.
    pub encrypted: bool,
}

/// Refuses a `set-pending` of `image` whose secondary slot holds no image
/// header where MCUboot looks for one (the slot start, one sector further
/// for swap-offset), reading through the port's backend as the app would.
fn check_upgrade_image(
    device: &mut Device,
    setup: &OwnedBootConfig,
    crypt: Option<&dyn FlashCrypt>,
    image: usize,
) -> Result<(), ChipError> {
    let slot = setup.images[image].secondary;
    let offset = if setup.strategy == mcuboot_boot::UpgradeStrategy::SwapOffset {
        device.settings.map.sector_size
    } else {
        0
    };
    let at = slot.offset.saturating_add(offset);
    let mut raw = [0u8; mcuboot_image::IMAGE_HEADER_SIZE];
    device.flash.read(at, &mut raw)?;
    let erased = device.flash.geometry().erased_value();
    let refuse = |why| ChipError::NoUpgradeImage { image, slot, why };
    if raw.iter().all(|&b| b == erased) {
        return Err(refuse(if crypt.is_some() {
            NoUpgradeImage::ErasedEncrypted
        } else {
            NoUpgradeImage::Erased
        }));
    }
    let mut header = raw;
    if let Some(c) = crypt {
        c.decrypt(at, &mut header)?;
    }
    if header.iter().all(|&b| b == erased) {
        // Erased as the app sees it: the port wrote encrypted erased bytes.
        return Err(refuse(NoUpgradeImage::Erased));
    }
    mcuboot_image::ImageHeader::parse(&header)
        .map(drop)
        .map_err(|e| refuse(NoUpgradeImage::NotAnImage(e)))
}

/// What the running application asks MCUboot for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppCall {
    /// `boot_set_confirmed`: the running image marks itself good.
    Confirm,
    /// `boot_set_pending`: test (or, `permanent`, keep) the secondary
    /// slot's image at the next boot.
    SetPending {
        /// Keep the image without a test boot (`--permanent`).
        permanent: bool,
    },
}
