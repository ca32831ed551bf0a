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

use crate::config::{Area, BootConfig, SectorLayout, SectorRun};
use crate::error::{BootError, ConfigError};

/// `BUF_SZ` of `boot_copy_region` (`loader.c`: 1024 unless `BOOT_MAX_ALIGN` > 1024).
pub(crate) const COPY_CHUNK: usize = 1024;

/// The sectors of one area.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AreaGeometry<'a> {
    pub area: Area,
    layout: SectorLayout<'a>,
    count: u32,
}

impl<'a> AreaGeometry<'a> {
    pub fn new(cfg: &BootConfig<'a>, area: Area) -> Result<Self, ConfigError> {
        let end = area.end().ok_or(ConfigError::AreaRange(area))?;
        let count = match cfg.sectors {
            SectorLayout::Uniform(s) => {
                if s == 0 {
                    return Err(ConfigError::SectorSize(s));
                }
                if !area.offset.is_multiple_of(s) || !area.size.is_multiple_of(s) {
                    return Err(ConfigError::NotSectorAligned(area));
                }
                area.size / s
            }
            SectorLayout::Runs(runs) => {
                let mut n = 0u32;
                let mut at = area.offset;
                while at < end {
                    let (start, size) =
                        sector_containing(runs, at).ok_or(ConfigError::NotSectorAligned(area))?;
                    if start != at {
                        return Err(ConfigError::NotSectorAligned(area));
                    }
                    at = at.checked_add(size).ok_or(ConfigError::AreaRange(area))?;
                    n += 1;
                }
                if at != end {
                    return Err(ConfigError::NotSectorAligned(area));
                }
                n
            }
        };
        Ok(Self {
            area,
            layout: cfg.sectors,
            count,
        })
    }

    /// Number of sectors in the area.
    pub fn num_sectors(&self) -> u32 {
        self.count
    }

    /// (area-relative offset, size) of sector `i`.
    pub fn sector(&self, i: u32) -> (u32, u32) {
        match self.layout {
            SectorLayout::Uniform(s) => (i * s, s),
            SectorLayout::Runs(runs) => {
                let mut at = self.area.offset;
                let mut k = 0;
                loop {
                    let Some((_, size)) = sector_containing(runs, at) else {
                        return (at - self.area.offset, 0);
                    };
                    if k == i {
                        return (at - self.area.offset, size);
                    }
                    at += size;
                    k += 1;
                }
            }
        }
    }

    /// (index, area-relative start, size) of the sector holding `off`.
    pub fn sector_at(&self, off: u32) -> (u32, u32, u32) {
        match self.layout {
            SectorLayout::Uniform(s) => (off / s, off / s * s, s),
            SectorLayout::Runs(_) => {
                let mut i = 0;
                loop {
                    let (o, sz) = self.sector(i);
                    if sz == 0 || off < o + sz || i + 1 >= self.count {
                        return (i, o, sz);
                    }
                    i += 1;
                }
            }
        }
    }
}

/// Absolute (start, size) of the sector containing `addr` in a run list.
fn sector_containing(runs: &[SectorRun], addr: u32) -> Option<(u32, u32)> {
    for r in runs {
        if r.sector_size == 0 {
            continue;
        }
        let len = u64::from(r.sector_size) * u64::from(r.count);
        if addr >= r.start && u64::from(addr - r.start) < len {
            let k = (addr - r.start) / r.sector_size;
            return Some((r.start + k * r.sector_size, r.sector_size));
        }
    }
    None
}

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
    pub fn read(&mut self, area: Area, off: u32, buf: &mut [u8]) -> Res<(), F> {
        let abs = bounds(area, off, buf.len())?;
        self.dev.read(abs, buf).map_err(BootError::Flash)
    }

    pub fn write(&mut self, area: Area, off: u32, data: &[u8]) -> Res<(), F> {
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
    pub fn erase_region(
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
    pub fn scramble_area(&mut self, geo: &AreaGeometry<'_>) -> Res<(), F> {
        self.erase_region(geo, 0, geo.area.size, false)
    }

    /// `boot_copy_region` (no encryption): copies in [`COPY_CHUNK`]-byte
    /// pieces. The destination must be erased.
    pub fn copy(
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
    pub fn is_erased(&self, buf: &[u8]) -> bool {
        !buf.is_empty() && buf.iter().all(|&b| b == self.erased)
    }
}
