//! Image list, state set and slot info (`bs_list`, `bs_set`,
//! `bs_slot_info`, `boot_serial.c:289-705`).

use super::{DeviceOp, Recovery, RecoveryDevice, Slot, SwapType, IMAGE_F_NON_BOOTABLE};
use crate::error::MgmtErr;
use crate::image::{
    ImageState, ImageStateResponse, ImageStateWriteRequest, SlotInfoImage, SlotInfoResponse,
    SlotInfoSlot,
};
use crate::os::RcResponse;

/// `IMAGE_HASH_SIZE` for SHA-256 images (`boot_serial.c:90-99`).
const IMAGE_HASH_SIZE: usize = 32;

/// The state flags of a slot for a swap type (`bs_list`).
fn flags(swap: SwapType, slot: Slot) -> [bool; 4] {
    // confirmed, active, pending, permanent
    let primary = slot == Slot::Primary;
    match swap {
        SwapType::None => [primary, primary, false, false],
        SwapType::Test => [primary, false, !primary, false],
        SwapType::Perm => [primary, false, !primary, !primary],
        SwapType::Revert => [!primary, primary, false, false],
        SwapType::Fail | SwapType::Panic => [false; 4],
    }
}

/// The validated images of every slot, in list order.
fn validated<D: RecoveryDevice>(
    rec: &mut Recovery,
    device: &mut D,
) -> Vec<(usize, Slot, super::SlotImage)> {
    let mut out = Vec::new();
    for image in 0..device.image_count() {
        for slot in [Slot::Primary, Slot::Secondary] {
            match device.validated_image(image, slot) {
                Ok(Some(found)) => out.push((image, slot, found)),
                Ok(None) => {}
                Err(e) => rec.device_failed(DeviceOp::Validate, e),
            }
        }
    }
    out
}

/// `bs_list`.
pub(super) fn list<D: RecoveryDevice>(rec: &mut Recovery, device: &mut D) -> Vec<u8> {
    let f = rec.config.features;
    let multi = device.image_count() > 1;
    let mut swaps = Vec::new();
    if f.image_state {
        for image in 0..device.image_count() {
            let swap = match device.swap_type(image) {
                Ok(t) => t,
                Err(e) => {
                    rec.device_failed(DeviceOp::SwapType, e);
                    SwapType::Panic
                }
            };
            swaps.push(swap);
        }
    }
    let images = validated(rec, device)
        .into_iter()
        .map(|(image, slot, found)| {
            let mut state = ImageState {
                image: multi.then_some(image as u32),
                slot: slot.number(),
                version: found.version.to_string(),
                hash: if f.image_hash { found.hash } else { None },
                ..ImageState::default()
            };
            if f.image_state {
                let swap = swaps.get(image).copied().unwrap_or(SwapType::Panic);
                let [confirmed, active, pending, permanent] = flags(swap, slot);
                let set = |b: bool| b.then_some(true);
                state.bootable = set(found.flags & IMAGE_F_NON_BOOTABLE == 0);
                state.confirmed = set(confirmed);
                state.active = set(active);
                state.pending = set(pending);
                state.permanent = set(permanent);
            }
            state
        })
        .collect();
    ImageStateResponse {
        images,
        split_status: None,
    }
    .encode_zcbor()
}

/// `bs_set`: `{"confirm": bool[, "hash": bstr]}` →
/// `boot_set_pending_multi(image, confirm)`, then the list.
pub(super) fn set<D: RecoveryDevice>(rec: &mut Recovery, body: &[u8], device: &mut D) -> Vec<u8> {
    let rc_reply = |rc: i64| RcResponse::new(rc).encode_zcbor();
    let inval = i64::from(MgmtErr::Inval.code());
    let Ok(req) = ImageStateWriteRequest::decode(body) else {
        return rc_reply(inval);
    };
    let confirm = req.confirm.unwrap_or(false);
    let hash = req.hash.unwrap_or_default();
    let mut image = 0usize;
    if rec.config.features.image_hash {
        if (hash.len() != IMAGE_HASH_SIZE && !hash.is_empty())
            || (hash.is_empty() && device.image_count() > 1)
        {
            return rc_reply(inval);
        }
        if !hash.is_empty() {
            let found = validated(rec, device)
                .into_iter()
                .find(|(_, _, img)| img.hash.as_deref() == Some(hash.as_slice()));
            match found {
                Some((i, _, _)) => image = i,
                None => return rc_reply(i64::from(MgmtErr::NoEnt.code())),
            }
        }
    }
    // Even a failed trailer write may have written part of it.
    rec.changed = true;
    match device.set_pending(image, confirm) {
        Ok(()) => list(rec, device),
        Err(e) => {
            let code = e.boot_rc();
            if let super::SetPendingError::Device(err) = e {
                rec.device_failed(DeviceOp::SetPending, err);
            }
            rc_reply(code)
        }
    }
}

/// `bs_slot_info` (read).
pub(super) fn slot_info<D: RecoveryDevice>(device: &mut D) -> Vec<u8> {
    let images = (0..device.image_count())
        .filter_map(|image| {
            let layout = device.layout(image)?;
            Some(SlotInfoImage {
                image: image as u32,
                slots: vec![
                    SlotInfoSlot {
                        slot: 0,
                        size: layout.primary_size,
                        upload_image_id: None,
                    },
                    SlotInfoSlot {
                        slot: 1,
                        size: layout.secondary_size,
                        // Without MCUBOOT_SERIAL_DIRECT_IMAGE_UPLOAD slot 1
                        // reports the image number.
                        upload_image_id: Some(image as u32),
                    },
                ],
                max_image_size: layout.max_image_size,
            })
        })
        .collect();
    SlotInfoResponse { images }.encode_zcbor()
}
