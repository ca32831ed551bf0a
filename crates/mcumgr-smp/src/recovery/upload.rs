//! Upload (`bs_upload`, `boot_serial.c:897-1218`, serial.md §6.4).
//!
//! 1. `off == 0` resets the upload: the image number is taken from the
//!    request (default 0), `len` must be present and at most the primary
//!    slot's size, and the whole slot is erased unless erasing
//!    progressively.
//! 2. Another offset than the expected one is answered
//!    `{"rc": 0, "off": expected}` (the client resends from there).
//! 3. `off + len(data) > len` is `EINVAL`.
//! 4. With progressive erase, the sectors up to the chunk's last byte are
//!    erased first.
//! 5. The chunk is written trimmed to a multiple of `flash_area_align()`;
//!    only the image's last chunk writes its remainder, padded with 0xff to
//!    one alignment unit. The reply is `{"rc": 0, "off": new offset}`.
//! 6. When the image is complete and erasing progressively, the sector of
//!    the trailer's status area is erased.
//!
//! Failed erases and writes answer `EINVAL` (the trailer erase `EUNKNOWN`);
//! nothing is validated at upload time.

use super::{DeviceOp, Event, Recovery, RecoveryDevice};
use crate::error::MgmtErr;
use crate::image::{ImageUploadRequest, ImageUploadResponse};

/// `bs_upload`'s static state.
#[derive(Debug, Default)]
pub(super) struct UploadState {
    /// `img_num`.
    image: u32,
    /// `img_size`.
    size: u64,
    /// `curr_off`.
    off: u64,
    /// `not_yet_erased` (progressive erase).
    not_yet_erased: u64,
}

fn rc(e: MgmtErr) -> i64 {
    i64::from(e.code())
}

pub(super) fn upload<D: RecoveryDevice>(
    rec: &mut Recovery,
    body: &[u8],
    device: &mut D,
) -> Vec<u8> {
    let (req_off, req_len, code) = match ImageUploadRequest::decode(body) {
        Ok(req) => {
            let (off, len) = (req.off, req.data.len());
            (off, len, chunk(rec, &req, device))
        }
        Err(_) => (0, 0, rc(MgmtErr::Inval)),
    };
    let st = &rec.upload;
    rec.events.push(Event::Upload {
        image: st.image,
        off: req_off,
        len: req_len,
        next: u32::try_from(st.off).unwrap_or(u32::MAX),
        rc: code,
    });
    ImageUploadResponse {
        rc: Some(code),
        // `curr_off` is a uint32_t put with zcbor_uint32_put.
        off: (code == 0).then_some(st.off as u32),
        matched: None,
    }
    .encode_zcbor()
}

/// One chunk; returns the reply's `rc`.
fn chunk<D: RecoveryDevice>(rec: &mut Recovery, req: &ImageUploadRequest, device: &mut D) -> i64 {
    let off = u64::from(req.off);
    if off == 0 {
        rec.upload.image = req.image.unwrap_or(0);
    }
    let image = rec.upload.image as usize;
    let Some(layout) = device.layout(image) else {
        // flash_area_open fails for an image the map does not have.
        return rc(MgmtErr::Inval);
    };
    let data = req.data.as_slice();
    let data_len = data.len() as u64;
    if off == 0 {
        rec.upload.off = 0;
        let Some(size) = req.len else {
            return rc(MgmtErr::Inval);
        };
        let size = u64::from(size);
        if size > u64::from(layout.primary_size) {
            return rc(MgmtErr::Inval);
        }
        match rec.config.erase {
            super::EraseMode::WholeSlot => {
                rec.changed = true;
                if let Err(e) = device.erase(image, 0, layout.primary_size) {
                    rec.device_failed(DeviceOp::Erase, e);
                    return rc(MgmtErr::Inval);
                }
                rec.events.push(Event::Erased {
                    image: image as u32,
                    offset: 0,
                    len: layout.primary_size,
                });
            }
            super::EraseMode::Progressive => rec.upload.not_yet_erased = 0,
        }
        rec.upload.size = size;
    } else if off != rec.upload.off {
        return 0;
    } else if rec.upload.off + data_len > rec.upload.size {
        return rc(MgmtErr::Inval);
    }

    let curr = rec.upload.off;
    if rec.config.erase == super::EraseMode::Progressive {
        // erase_range(not_yet_erased, curr_off + len - 1); off_t is signed.
        let end = curr as i64 + data_len as i64 - 1;
        match erase_range(rec, device, image, &layout, rec.upload.not_yet_erased, end) {
            Some(next) => rec.upload.not_yet_erased = next,
            None => return rc(MgmtErr::Inval),
        }
    }

    let align = u64::from(layout.align.max(1));
    let mut rem = data_len % align;
    let aligned = data_len - rem;
    if curr + aligned + rem < rec.upload.size {
        rem = 0;
    }
    let Ok(at) = u32::try_from(curr) else {
        return rc(MgmtErr::Inval);
    };
    if aligned > 0 {
        rec.changed = true;
        if let Err(e) = device.write(image, at, &data[..aligned as usize]) {
            rec.device_failed(DeviceOp::Write, e);
            return rc(MgmtErr::Inval);
        }
    }
    if rem > 0 {
        let mut unit = vec![0xffu8; align as usize];
        unit[..rem as usize].copy_from_slice(&data[aligned as usize..]);
        let Ok(tail_at) = u32::try_from(curr + aligned) else {
            return rc(MgmtErr::Inval);
        };
        rec.changed = true;
        if let Err(e) = device.write(image, tail_at, &unit) {
            rec.device_failed(DeviceOp::Write, e);
            return rc(MgmtErr::Inval);
        }
    }
    rec.upload.off = curr + aligned + rem;
    if rec.upload.off == rec.upload.size && rec.config.erase == super::EraseMode::Progressive {
        // The trailer's sector must end up erased.
        let sector = u64::from(layout.sector_size.max(1));
        let start = u64::from(layout.status_offset) / sector * sector;
        if erase_range(rec, device, image, &layout, start, start as i64).is_none() {
            return rc(MgmtErr::Unknown);
        }
    }
    0
}

/// `erase_range(fap, start, end)`: erases the sectors from `start` through
/// the one holding `end`; returns the first offset past them, `start` when
/// `end < start`, `None` on failure or when `end` is beyond the slot.
fn erase_range<D: RecoveryDevice>(
    rec: &mut Recovery,
    device: &mut D,
    image: usize,
    layout: &super::ImageLayout,
    start: u64,
    end: i64,
) -> Option<u64> {
    if end >= i64::from(layout.primary_size) {
        return None;
    }
    if end < start as i64 {
        return Some(start);
    }
    let sector = u64::from(layout.sector_size.max(1));
    let last_end = (end as u64 / sector + 1) * sector;
    let len = u32::try_from(last_end - start).ok()?;
    let offset = u32::try_from(start).ok()?;
    rec.changed = true;
    if let Err(e) = device.erase(image, offset, len) {
        rec.device_failed(DeviceOp::Erase, e);
        return None;
    }
    rec.events.push(Event::Erased {
        image: image as u32,
        offset,
        len,
    });
    Some(last_end)
}
