//! Bounded little-endian reads and writes over byte slices, in the style of
//! rustls' `codec::Reader`: every read either yields the next bytes or
//! `None`, so a short or malformed buffer can never index out of bounds.

/// A cursor over a byte slice that reads little-endian fields in order.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from the start of `buf`.
    pub(crate) const fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.buf.split_first_chunk::<N>()?;
        self.buf = rest;
        Some(*head)
    }

    /// The next little-endian `u16`.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    /// The next little-endian `u32`.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

/// Fills a fixed-size buffer field by field (the encoding side of
/// [`Reader`]); the caller's layout guarantees the fields fit exactly.
#[derive(Debug)]
pub(crate) struct ArrayWriter<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> ArrayWriter<N> {
    /// An empty (zeroed) buffer.
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends `bytes`; whatever would not fit is dropped (the layouts
    /// using this writer are exact, which the tests check).
    pub(crate) fn put(&mut self, bytes: &[u8]) -> &mut Self {
        let free = self.buf.get_mut(self.len..).unwrap_or_default();
        let n = bytes.len().min(free.len());
        free[..n].copy_from_slice(&bytes[..n]);
        self.len += n;
        self
    }

    /// Appends one byte.
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.put(&[v])
    }

    /// Appends a `u16` in byte order `e`.
    pub(crate) fn u16_in(&mut self, v: u16, e: super::Endian) -> &mut Self {
        self.put(&e.u16_bytes(v))
    }

    /// Appends a `u32` in byte order `e`.
    pub(crate) fn u32_in(&mut self, v: u32, e: super::Endian) -> &mut Self {
        self.put(&e.u32_bytes(v))
    }

    /// Appends `n` zero bytes.
    pub(crate) fn zeros(&mut self, n: usize) -> &mut Self {
        self.len = self.len.saturating_add(n).min(N);
        self
    }

    /// The encoded bytes.
    pub(crate) fn finish(&self) -> [u8; N] {
        debug_assert_eq!(self.len, N, "layout does not fill the buffer");
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Endian;

    #[test]
    fn reader_stops_at_the_end_without_consuming() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5]);
        assert_eq!(r.u16(), Some(0x0201));
        assert_eq!(r.u32(), None);
        assert_eq!(r.array::<3>(), Some([3, 4, 5]));
        assert_eq!(r.u16(), None);
    }

    #[test]
    fn array_writer_fills_in_order() {
        let mut w = ArrayWriter::<8>::new();
        w.u16_in(0x0102, Endian::Little)
            .zeros(2)
            .u32_in(0x0304_0506, Endian::Little);
        assert_eq!(w.finish(), [2, 1, 0, 0, 6, 5, 4, 3]);
    }

    #[test]
    fn array_writer_writes_big_endian_fields_most_significant_first() {
        let mut w = ArrayWriter::<8>::new();
        w.u16_in(0x0102, Endian::Big)
            .zeros(2)
            .u32_in(0x0304_0506, Endian::Big);
        assert_eq!(w.finish(), [1, 2, 0, 0, 3, 4, 5, 6]);
    }
}
