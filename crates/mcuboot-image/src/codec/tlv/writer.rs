//! Writing a TLV area, byte for byte as imgtool's `TLV` class
//! (`image.py`): records `<type:u16><len:u16><value>` after an info
//! header `<magic:u16><total:u16>`, in the image's [`Endian`], and no area
//! at all when empty.

use alloc::vec::Vec;
use core::fmt;

use super::{TlvArea, TlvKind, TLV_HEADER_SIZE};
use crate::codec::Endian;

/// Builds one TLV area. imgtool packs predefined types as `BBH` and custom
/// ones as `HH`; every predefined type is below 0x100, so in little-endian
/// both are the 16-bit type followed by the length.
#[derive(Debug, Clone)]
pub struct TlvWriter {
    area: TlvArea,
    /// The info header's 4 bytes (filled in by [`TlvWriter::finish`]), then
    /// the records.
    buf: Vec<u8>,
    /// The byte order of the info header, lengths and vendor types.
    endian: Endian,
}

/// A TLV or a TLV area does not fit its 16-bit length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlvWriteError {
    /// One value is longer than 65535 bytes.
    ValueTooLong {
        /// The TLV's type.
        kind: TlvKind,
        /// Its value's length.
        len: usize,
    },
    /// The area with its info header is longer than 65535 bytes.
    AreaTooLong {
        /// Which area.
        area: TlvArea,
        /// Its length with the info header.
        len: usize,
    },
}

impl fmt::Display for TlvWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ValueTooLong { kind, len } => write!(
                f,
                "the {kind} TLV would be {len} bytes, more than the 65535 a TLV length field can hold"
            ),
            Self::AreaTooLong { area, len } => write!(
                f,
                "the {area} TLV area would be {len} bytes, more than the 65535 its length field can hold"
            ),
        }
    }
}

impl core::error::Error for TlvWriteError {}

impl TlvWriter {
    /// An empty area.
    #[must_use]
    pub fn new(area: TlvArea) -> Self {
        Self::new_in(area, Endian::Little)
    }

    /// An empty area whose fields are written in byte order `endian`.
    #[must_use]
    pub fn new_in(area: TlvArea, endian: Endian) -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&[0; TLV_HEADER_SIZE as usize]);
        Self { area, buf, endian }
    }

    /// Appends one TLV.
    ///
    /// # Errors
    /// [`TlvWriteError::ValueTooLong`] when `value` exceeds 65535 bytes.
    pub fn push(&mut self, kind: TlvKind, value: &[u8]) -> Result<&mut Self, TlvWriteError> {
        let len = u16::try_from(value.len()).map_err(|_| TlvWriteError::ValueTooLong {
            kind,
            len: value.len(),
        })?;
        // imgtool packs predefined types as `BB` (type, 0): the same bytes
        // in either order; vendor types as `H` in the image's order.
        let code = match kind {
            TlvKind::Vendor(v) => self.endian.u16_bytes(v),
            other => other.code().to_le_bytes(),
        };
        self.buf.extend_from_slice(&code);
        self.buf.extend_from_slice(&self.endian.u16_bytes(len));
        self.buf.extend_from_slice(value);
        Ok(self)
    }

    /// True when no TLV was pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.buf.len() == TLV_HEADER_SIZE as usize
    }

    /// The encoded area: the info header and the records, or nothing for an
    /// empty area (`TLV.get`).
    ///
    /// # Errors
    /// [`TlvWriteError::AreaTooLong`] when the total exceeds 65535 bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, TlvWriteError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let total = u16::try_from(self.buf.len()).map_err(|_| TlvWriteError::AreaTooLong {
            area: self.area,
            len: self.buf.len(),
        })?;
        let [m0, m1] = self.endian.u16_bytes(self.area.info_magic());
        let [t0, t1] = self.endian.u16_bytes(total);
        self.buf
            .splice(..TLV_HEADER_SIZE as usize, [m0, m1, t0, t1]);
        Ok(self.buf)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{ImageHeader, SliceTlvs, IMAGE_MAGIC};

    #[test]
    fn written_areas_read_back() {
        let mut prot = TlvWriter::new(TlvArea::Protected);
        prot.push(TlvKind::SecCnt, &7u32.to_le_bytes()).unwrap();
        prot.push(TlvKind::Vendor(0x1a0), b"hi").unwrap();
        let prot = prot.finish().unwrap();
        assert_eq!(&prot[..4], &[0x08, 0x69, 18, 0]);
        let mut unprot = TlvWriter::new(TlvArea::Unprotected);
        unprot.push(TlvKind::Sha256, &[9; 32]).unwrap();
        let unprot = unprot.finish().unwrap();

        let hdr = ImageHeader {
            magic: IMAGE_MAGIC,
            hdr_size: 32,
            img_size: 3,
            protect_tlv_size: u16::try_from(prot.len()).unwrap(),
            ..ImageHeader::default()
        };
        let mut image = hdr.to_bytes().to_vec();
        image.extend_from_slice(&[1, 2, 3]);
        image.extend_from_slice(&prot);
        image.extend_from_slice(&unprot);
        let found: Vec<_> = SliceTlvs::new(&image, &hdr)
            .unwrap()
            .map(|t| t.map(|(e, d)| (e.kind, d.to_vec(), e.protected)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            found,
            [
                (TlvKind::SecCnt, 7u32.to_le_bytes().to_vec(), true),
                (TlvKind::Vendor(0x1a0), b"hi".to_vec(), true),
                (TlvKind::Sha256, [9; 32].to_vec(), false),
            ]
        );
    }

    #[test]
    fn empty_areas_vanish_and_oversized_ones_are_refused() {
        assert!(TlvWriter::new(TlvArea::Protected)
            .finish()
            .unwrap()
            .is_empty());
        let big = alloc::vec![0u8; 0x1_0000];
        assert_eq!(
            TlvWriter::new(TlvArea::Unprotected)
                .push(TlvKind::PubKey, &big)
                .err(),
            Some(TlvWriteError::ValueTooLong {
                kind: TlvKind::PubKey,
                len: 0x1_0000
            })
        );
        let mut w = TlvWriter::new(TlvArea::Protected);
        w.push(TlvKind::Vendor(0xa0), &big[..40_000]).unwrap();
        w.push(TlvKind::Vendor(0xa1), &big[..40_000]).unwrap();
        assert_eq!(
            w.finish(),
            Err(TlvWriteError::AreaTooLong {
                area: TlvArea::Protected,
                len: 80_012
            })
        );
    }
}
