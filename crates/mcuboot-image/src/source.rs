//! Where image bytes come from: a flash area, a file, or a slice in memory.

#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

/// Random-access reader over an image (or a whole slot), addressed from the
/// image's first byte (the header).
///
/// The boot core implements this over a flash area, so verification never
/// needs the image in RAM; host code uses `&[u8]`.
pub trait ImageSource {
    /// Error of the underlying storage.
    type Error;

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`.
    ///
    /// # Errors
    /// When the range cannot be read (for example it lies outside the area).
    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error>;
}

impl<S: ImageSource + ?Sized> ImageSource for &mut S {
    type Error = S::Error;

    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), S::Error> {
        (**self).read_at(offset, buf)
    }
}

/// A read outside the bounds of an in-memory image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBounds {
    /// First byte requested.
    pub offset: u32,
    /// Number of bytes requested.
    pub len: usize,
}

impl core::fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "read of {} bytes at offset {:#x} is past the end of the image",
            self.len, self.offset
        )
    }
}

impl core::error::Error for OutOfBounds {}

impl ImageSource for &[u8] {
    type Error = OutOfBounds;

    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        let err = OutOfBounds {
            offset,
            len: buf.len(),
        };
        let start = usize::try_from(offset).map_err(|_| err)?;
        let end = start.checked_add(buf.len()).ok_or(err)?;
        let src = self.get(start..end).ok_or(err)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Size of the stack buffer used when streaming an image through a hash or a
/// signature verifier. Small on purpose: the boot core has little stack.
pub(crate) const CHUNK: usize = 256;

/// Feeds `len` bytes starting at `offset` to `sink`, `CHUNK` bytes at a time.
pub(crate) fn stream<S: ImageSource + ?Sized>(
    src: &mut S,
    offset: u32,
    len: u32,
    mut sink: impl FnMut(&[u8]),
) -> Result<(), S::Error> {
    let mut buf = [0u8; CHUNK];
    let mut done: u32 = 0;
    while done < len {
        let n = core::cmp::min(CHUNK as u32, len - done);
        // `n <= CHUNK`, so the slice is in bounds.
        let chunk = &mut buf[..n as usize];
        src.read_at(offset + done, chunk)?;
        sink(chunk);
        done += n;
    }
    Ok(())
}

/// An [`ImageSource`] over any seekable reader (a file), for host tools that
/// validate large images without loading them.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct IoSource<R>(pub R);

#[cfg(feature = "std")]
impl<R: std::io::Read + std::io::Seek> ImageSource for IoSource<R> {
    type Error = std::io::Error;

    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), std::io::Error> {
        self.0.seek(std::io::SeekFrom::Start(u64::from(offset)))?;
        self.0.read_exact(buf)
    }
}
