//! [`ValidationMemo`]: the byte-exact validation cache of the sweep's
//! resuming boots.

use std::ops::Range;

use mcuboot_boot::ValidationCache;

use crate::flash::SimFlash;

/// A flash the boot core reads that is the simulated flash itself or a
/// backend over it (a flash-encryption layer) whose reads are a function of
/// the physical bytes: the [`ValidationMemo`] compares those.
pub trait PhysicalFlash {
    /// The physical flash underneath.
    fn physical(&self) -> &SimFlash;

    /// The physical bytes that reading `range` through this flash depends
    /// on: `range` itself for plain flash; a decrypting backend widens it
    /// to whole cipher blocks.
    fn depends_on(&self, range: Range<u32>) -> Range<u32> {
        range
    }
}

impl PhysicalFlash for SimFlash {
    fn physical(&self) -> &SimFlash {
        self
    }
}

/// Validation results remembered together with a copy of the physical
/// bytes they were computed from: [`ValidationCache::lookup`] answers only
/// when the flash holds those exact bytes again (a full comparison, far
/// cheaper than hashing), so a modified image is always validated afresh.
/// Serves one boot configuration (and, over a decrypting backend, one
/// flash-encryption key, as one device has); keeps the last few images.
#[derive(Debug, Default)]
pub struct ValidationMemo {
    entries: Vec<(Range<u32>, Vec<u8>, bool)>,
}

impl ValidationMemo {
    /// Images remembered at most (a sweep sees the old and the new image
    /// of each of at most two image pairs).
    const CAPACITY: usize = 8;

    fn bytes<'f, F: PhysicalFlash>(flash: &'f F, image: &Range<u32>) -> Option<&'f [u8]> {
        let range = flash.depends_on(image.clone());
        flash
            .physical()
            .data()
            .get(range.start as usize..range.end as usize)
    }
}

impl<F: PhysicalFlash> ValidationCache<F> for ValidationMemo {
    fn lookup(&mut self, flash: &mut F, image: Range<u32>) -> Option<bool> {
        let now = Self::bytes(flash, &image)?;
        self.entries
            .iter()
            .find(|(range, bytes, _)| *range == image && bytes.as_slice() == now)
            .map(|&(_, _, valid)| valid)
    }

    fn store(&mut self, flash: &mut F, image: Range<u32>, valid: bool) {
        let Some(now) = Self::bytes(flash, &image) else {
            return;
        };
        if self.entries.len() >= Self::CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push((image, now.to_vec(), valid));
    }
}
