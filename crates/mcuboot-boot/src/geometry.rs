//! Flash geometry: areas and the erase sectors they span. A leaf module:
//! the configuration, its errors and the flash access all build on it.

use core::fmt;

/// A flash area (slot or scratch) in absolute flash addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Area {
    /// Absolute start address in flash.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

impl Area {
    /// Creates an area.
    #[must_use]
    pub const fn new(offset: u32, size: u32) -> Self {
        Self { offset, size }
    }

    /// One past the last byte, or `None` on overflow.
    #[must_use]
    pub fn end(&self) -> Option<u32> {
        self.offset.checked_add(self.size)
    }

    pub(crate) fn overlaps(&self, other: &Area) -> bool {
        let (a0, a1) = (
            u64::from(self.offset),
            u64::from(self.offset) + u64::from(self.size),
        );
        let (b0, b1) = (
            u64::from(other.offset),
            u64::from(other.offset) + u64::from(other.size),
        );
        a0 < b1 && b0 < a1
    }
}

/// A run of equally sized erase sectors, in absolute flash addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SectorRun {
    /// Absolute address of the first sector of the run.
    pub start: u32,
    /// Size of each sector.
    pub sector_size: u32,
    /// Number of sectors.
    pub count: u32,
}

/// The erase-sector map of the flash device (what MCUboot gets from
/// `flash_area_get_sectors()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectorLayout<'a> {
    /// Every sector has this size, starting at address 0 (ESP: 4 KiB).
    Uniform(u32),
    /// Non-uniform devices (e.g. STM32F4's 16/64/128 KiB sectors): runs of
    /// equal sectors covering at least every configured area.
    Runs(&'a [SectorRun]),
}

/// An area does not fit the sector layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GeometryError {
    /// A sector size of zero.
    SectorSize(u32),
    /// An area is empty or wraps around the address space.
    AreaRange(Area),
    /// An area does not start and end on sector boundaries of the layout.
    NotSectorAligned(Area),
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SectorSize(s) => write!(f, "sector size {s}: expected non-zero"),
            Self::AreaRange(a) => write!(
                f,
                "area {:#x}+{:#x}: empty or beyond the address space",
                a.offset, a.size
            ),
            Self::NotSectorAligned(a) => write!(
                f,
                "area {:#x}+{:#x} does not start and end on sector boundaries",
                a.offset, a.size
            ),
        }
    }
}

impl core::error::Error for GeometryError {}

/// The sectors of one area.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AreaGeometry<'a> {
    /// The area.
    pub(crate) area: Area,
    layout: SectorLayout<'a>,
    count: u32,
}

impl<'a> AreaGeometry<'a> {
    /// The sectors of `area` in `layout`.
    ///
    /// # Errors
    /// [`GeometryError`] for an empty or wrapping area, a zero sector size,
    /// or an area that does not start and end on sector boundaries.
    pub(crate) fn new(layout: SectorLayout<'a>, area: Area) -> Result<Self, GeometryError> {
        let end = area
            .end()
            .filter(|_| area.size > 0)
            .ok_or(GeometryError::AreaRange(area))?;
        let count = match layout {
            SectorLayout::Uniform(s) => {
                if s == 0 {
                    return Err(GeometryError::SectorSize(s));
                }
                if !area.offset.is_multiple_of(s) || !area.size.is_multiple_of(s) {
                    return Err(GeometryError::NotSectorAligned(area));
                }
                area.size / s
            }
            SectorLayout::Runs(runs) => {
                let mut n = 0u32;
                let mut at = area.offset;
                while at < end {
                    let (start, size) =
                        sector_containing(runs, at).ok_or(GeometryError::NotSectorAligned(area))?;
                    if start != at {
                        return Err(GeometryError::NotSectorAligned(area));
                    }
                    at = at.checked_add(size).ok_or(GeometryError::AreaRange(area))?;
                    n += 1;
                }
                if at != end {
                    return Err(GeometryError::NotSectorAligned(area));
                }
                n
            }
        };
        Ok(Self {
            area,
            layout,
            count,
        })
    }

    /// Number of sectors in the area.
    pub(crate) fn num_sectors(&self) -> u32 {
        self.count
    }

    /// (area-relative offset, size) of sector `i`.
    pub(crate) fn sector(&self, i: u32) -> (u32, u32) {
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
    pub(crate) fn sector_at(&self, off: u32) -> (u32, u32, u32) {
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
