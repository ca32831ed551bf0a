//! [`ValidationMemo`]: the byte-exact validation cache of the sweep's
//! resuming boots.

use std::ops::Range;

use mcuboot_boot::ValidationCache;

use crate::flash::SimFlash;

/// Validation results remembered together with a copy of the image bytes
/// they were computed from: [`ValidationCache::lookup`] answers only when
/// the flash holds those exact bytes again (a full comparison, far cheaper
/// than hashing), so a modified image is always validated afresh. Serves
/// one boot configuration; keeps the last few images.
#[derive(Debug, Default)]
pub struct ValidationMemo {
    entries: Vec<(Range<u32>, Vec<u8>, bool)>,
}

impl ValidationMemo {
    /// Images remembered at most (a sweep sees the old and the new image
    /// of each of at most two image pairs).
    const CAPACITY: usize = 8;

    fn bytes<'f>(flash: &'f SimFlash, image: &Range<u32>) -> Option<&'f [u8]> {
        flash.data().get(image.start as usize..image.end as usize)
    }
}

impl ValidationCache<SimFlash> for ValidationMemo {
    fn lookup(&mut self, flash: &mut SimFlash, image: Range<u32>) -> Option<bool> {
        let now = Self::bytes(flash, &image)?;
        self.entries
            .iter()
            .find(|(range, bytes, _)| *range == image && bytes.as_slice() == now)
            .map(|&(_, _, valid)| valid)
    }

    fn store(&mut self, flash: &mut SimFlash, image: Range<u32>, valid: bool) {
        let Some(now) = Self::bytes(flash, &image) else {
            return;
        };
        if self.entries.len() >= Self::CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push((image, now.to_vec(), valid));
    }
}
