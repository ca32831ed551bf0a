//! [`ImageSource`] over a flash area, so `mcuboot-image` can hash and verify
//! an image straight from flash with a small stack buffer.

use embedded_storage::nor_flash::NorFlash;
use mcuboot_image::ImageSource;

use crate::error::BootError;
use crate::flash::Flash;
use crate::geometry::Area;

/// Reads an image that starts `base` bytes into `area`
/// (`base` is non-zero only for a new image in swap-offset's secondary slot).
pub(crate) struct AreaSource<'s, 'f, F> {
    pub fl: &'s mut Flash<'f, F>,
    pub area: Area,
    pub base: u32,
}

impl<F: NorFlash> ImageSource for AreaSource<'_, '_, F> {
    type Error = BootError<F::Error>;

    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
        let off = self
            .base
            .checked_add(offset)
            .ok_or(BootError::OutOfBounds { area: self.area })?;
        self.fl.read(self.area, off, buf)
    }
}
