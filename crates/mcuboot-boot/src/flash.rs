//! Area-relative flash access over `embedded-storage`, mirroring MCUboot's
//! `flash_area_*` backend and the erase/scramble/copy helpers of
//! `bootutil_area.c` and `loader.c`.
//!
//! Every `NorFlash::write` and `NorFlash::erase` issued here is one "flash
//! operation" in the sense of MCUboot's simulator (`sim/mcuboot-sys/csupport/run.c`
//! counts `flash_area_write`/`flash_area_erase` calls), so the granularity
//! matters: erases go one sector at a time and copies go in
//! [`COPY_CHUNK`]-byte pieces, exactly like MCUboot.

use embedded_storage::nor_flash::NorFlash;

use crate::error::BootError;
use crate::geometry::{Area, AreaGeometry};

/// `BUF_SZ` of `boot_copy_region` (`loader.c`: 1024 unless `BOOT_MAX_ALIGN` > 1024).
pub(crate) const COPY_CHUNK: usize = 1024;

/// The flash device plus the few settings every access needs.
pub(crate) struct Flash<'f, F> {
    pub dev: &'f mut F,
    pub erased: u8,
}

pub(crate) type Res<T, F> =
    Result<T, BootError<<F as embedded_storage::nor_flash::ErrorType>::Error>>;

fn bounds<E>(area: Area, off: u32, len: usize) -> Result<u32, BootError<E>> {
    let len = u32::try_from(len).map_err(|_| BootError::OutOfBounds { area })?;
    match off.checked_add(len) {
        Some(end) if end <= area.size => Ok(area.offset + off),
        _ => Err(BootError::OutOfBounds { area }),
    }
}

impl<F: NorFlash> Flash<'_, F> {
    pub(crate) fn read(&mut self, area: Area, off: u32, buf: &mut [u8]) -> Res<(), F> {
        let abs = bounds(area, off, buf.len())?;
        self.dev.read(abs, buf).map_err(BootError::Flash)
    }

    pub(crate) fn write(&mut self, area: Area, off: u32, data: &[u8]) -> Res<(), F> {
        let abs = bounds(area, off, data.len())?;
        self.dev.write(abs, data).map_err(BootError::Flash)
    }

    /// One erase operation over `[off, off+len)` (one sector).
    fn erase_one(&mut self, area: Area, off: u32, len: u32) -> Res<(), F> {
        let abs = bounds(area, off, len as usize)?;
        self.dev.erase(abs, abs + len).map_err(BootError::Flash)
    }

    /// `boot_erase_region`: erases every sector touched by `[off, off+size)`,
    /// one sector per operation, forwards or backwards.
    pub(crate) fn erase_region(
        &mut self,
        geo: &AreaGeometry<'_>,
        off: u32,
        size: u32,
        backwards: bool,
    ) -> Res<(), F> {
        if size == 0 {
            return Ok(());
        }
        let area = geo.area;
        bounds::<F::Error>(area, off, size as usize)?;
        let (first, _, _) = geo.sector_at(off);
        let (last, _, _) = geo.sector_at(off + size - 1);
        if backwards {
            let mut i = last + 1;
            while i > first {
                i -= 1;
                let (o, s) = geo.sector(i);
                self.erase_one(area, o, s)?;
            }
        } else {
            for i in first..=last {
                let (o, s) = geo.sector(i);
                self.erase_one(area, o, s)?;
            }
        }
        Ok(())
    }

    /// `boot_scramble_slot` without `MCUBOOT_MINIMAL_SCRAMBLE`: erase the
    /// whole area, forwards.
    pub(crate) fn scramble_area(&mut self, geo: &AreaGeometry<'_>) -> Res<(), F> {
        self.erase_region(geo, 0, geo.area.size, false)
    }

    /// `boot_copy_region` (no encryption): copies in [`COPY_CHUNK`]-byte
    /// pieces. The destination must be erased.
    pub(crate) fn copy(
        &mut self,
        src: Area,
        src_off: u32,
        dst: Area,
        dst_off: u32,
        size: u32,
    ) -> Res<(), F> {
        let mut buf = [0u8; COPY_CHUNK];
        let mut done = 0u32;
        while done < size {
            let n = core::cmp::min(COPY_CHUNK as u32, size - done) as usize;
            let chunk = &mut buf[..n];
            self.read(src, src_off + done, chunk)?;
            self.write(dst, dst_off + done, chunk)?;
            done += n as u32;
        }
        Ok(())
    }

    /// `bootutil_buffer_is_erased`.
    pub(crate) fn is_erased(&self, buf: &[u8]) -> bool {
        !buf.is_empty() && buf.iter().all(|&b| b == self.erased)
    }
}
