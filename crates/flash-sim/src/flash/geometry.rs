//! The sector map of a flash device.

use std::ops::Range;

/// Errors building a flash geometry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GeometryError {
    /// No sectors at all.
    #[error("sector map is empty")]
    Empty,
    /// A sector size (first) that is zero or not a multiple of the write
    /// size (second).
    #[error("sector size {0:#x} is not a positive multiple of the write size {1}")]
    BadSector(u32, u32),
    /// A write size that is not a power of two up to 32.
    #[error("write size {0} is not one of 1, 2, 4, 8, 16, 32")]
    BadWriteSize(u32),
    /// The sector map exceeds the 32-bit address space.
    #[error("flash larger than 4 GiB")]
    TooLarge,
}

/// The physical layout of a flash device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Start offset of every sector, plus the capacity as a final entry.
    pub(super) bounds: Vec<u32>,
    /// Size of every sector when uniform (fast address → sector lookup).
    pub(super) uniform: Option<u32>,
    pub(super) write_size: u32,
    pub(super) erased: u8,
}

impl Geometry {
    /// Uniform sectors: `count` sectors of `sector_size` bytes.
    pub fn uniform(
        sector_size: u32,
        count: u32,
        write_size: u32,
        erased: u8,
    ) -> Result<Self, GeometryError> {
        Self::from_runs(&[(sector_size, count)], write_size, erased)
    }

    /// A sector map given as runs of `(sector size, count)`, from address 0.
    pub fn from_runs(
        runs: &[(u32, u32)],
        write_size: u32,
        erased: u8,
    ) -> Result<Self, GeometryError> {
        if !matches!(write_size, 1 | 2 | 4 | 8 | 16 | 32) {
            return Err(GeometryError::BadWriteSize(write_size));
        }
        let mut bounds = vec![0u32];
        let mut at: u64 = 0;
        for &(size, count) in runs {
            if size == 0 || size % write_size != 0 {
                return Err(GeometryError::BadSector(size, write_size));
            }
            for _ in 0..count {
                at += u64::from(size);
                bounds.push(u32::try_from(at).map_err(|_| GeometryError::TooLarge)?);
            }
        }
        if bounds.len() < 2 {
            return Err(GeometryError::Empty);
        }
        let first = bounds[1];
        let uniform = runs
            .iter()
            .all(|&(s, c)| c == 0 || s == first)
            .then_some(first);
        Ok(Self {
            bounds,
            uniform,
            write_size,
            erased,
        })
    }

    /// Total size in bytes.
    pub fn capacity(&self) -> u32 {
        self.bounds.last().copied().unwrap_or(0)
    }

    /// Program granularity in bytes (MCUboot's `flash_area_align()`).
    pub fn write_size(&self) -> u32 {
        self.write_size
    }

    /// The value every byte has after an erase.
    pub fn erased_value(&self) -> u8 {
        self.erased
    }

    /// Number of sectors.
    pub fn sector_count(&self) -> usize {
        self.bounds.len() - 1
    }

    /// The sector holding `address` (which must be below the capacity).
    pub fn sector_index(&self, address: u32) -> usize {
        match self.uniform {
            Some(size) => (address / size) as usize,
            None => match self.bounds.binary_search(&address) {
                Ok(i) => i,
                Err(i) => i - 1,
            },
        }
    }

    /// The byte range of sector `index`.
    pub fn sector(&self, index: usize) -> Range<u32> {
        self.bounds[index]..self.bounds[index + 1]
    }

    /// Whether `address` is a sector boundary (the capacity counts as one).
    pub fn is_sector_boundary(&self, address: u32) -> bool {
        match self.uniform {
            Some(size) => address.is_multiple_of(size) && address <= self.capacity(),
            None => self.bounds.binary_search(&address).is_ok(),
        }
    }

    /// Sizes of the sectors covering `offset..offset+size` (a flash area), or
    /// `None` if the area does not start and end on sector boundaries.
    pub fn area_sectors(&self, offset: u32, size: u32) -> Option<Vec<u32>> {
        let end = offset.checked_add(size)?;
        if !self.is_sector_boundary(offset)
            || !self.is_sector_boundary(end)
            || end > self.capacity()
        {
            return None;
        }
        let first = self.sector_index(offset);
        let last = self.sector_index(end - 1);
        Some(
            (first..=last)
                .map(|i| self.sector(i).len() as u32)
                .collect(),
        )
    }
}
