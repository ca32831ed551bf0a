//! Reading the TLV areas (`boot/bootutil/src/tlv.c`).

use core::fmt;

use super::{TlvKind, TLV_HEADER_SIZE, TLV_INFO_MAGIC, TLV_PROT_INFO_MAGIC};
use crate::codec::header::ImageHeader;
use crate::source::{ImageSource, OutOfBounds};

/// The TLV area is malformed (`tlv.c` returns -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlvError<E> {
    /// The source could not be read.
    Read(E),
    /// `hdr_size + img_size + sizes` overflows.
    Overflow,
    /// A protected info header whose size differs from `ih_protect_tlv_size`.
    ProtectedSizeMismatch {
        /// `ih_protect_tlv_size`.
        header: u16,
        /// `it_tlv_tot` of the protected info header.
        info: u16,
    },
    /// `ih_protect_tlv_size` is non-zero but there is no protected area.
    MissingProtectedArea,
    /// The unprotected info header does not carry magic 0x6907.
    BadInfoMagic(u16),
    /// An info header's total is smaller than the info header itself.
    BadInfoSize(u16),
    /// A TLV's header or data runs past the end of its area.
    Overrun {
        /// Offset of the TLV header.
        offset: u32,
    },
}

impl<E: fmt::Display> fmt::Display for TlvError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "cannot read the TLV area: {e}"),
            Self::Overflow => f.write_str("TLV area offsets overflow 32 bits"),
            Self::ProtectedSizeMismatch { header, info } => write!(
                f,
                "protected TLV area size {info:#x} differs from the header's {header:#x}"
            ),
            Self::MissingProtectedArea => {
                f.write_str("header announces protected TLVs but there is no protected TLV area")
            }
            Self::BadInfoMagic(m) => {
                write!(
                    f,
                    "bad TLV info magic {m:#06x} (expected {TLV_INFO_MAGIC:#06x})"
                )
            }
            Self::BadInfoSize(s) => write!(f, "TLV info size {s:#x} is below 4"),
            Self::Overrun { offset } => {
                write!(f, "TLV at offset {offset:#x} runs past the end of its area")
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for TlvError<E> {}

impl<E> TlvError<E> {
    /// The same error with the read error converted by `f` (for example
    /// into [`core::convert::Infallible`] once read errors are handled).
    pub fn map_read<G>(self, f: impl FnOnce(E) -> G) -> TlvError<G> {
        match self {
            Self::Read(e) => TlvError::Read(f(e)),
            Self::Overflow => TlvError::Overflow,
            Self::ProtectedSizeMismatch { header, info } => {
                TlvError::ProtectedSizeMismatch { header, info }
            }
            Self::MissingProtectedArea => TlvError::MissingProtectedArea,
            Self::BadInfoMagic(m) => TlvError::BadInfoMagic(m),
            Self::BadInfoSize(s) => TlvError::BadInfoSize(s),
            Self::Overrun { offset } => TlvError::Overrun { offset },
        }
    }
}

/// One TLV found by [`TlvIter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlvEntry {
    /// Its type.
    pub kind: TlvKind,
    /// Offset of its data from the image start.
    pub offset: u32,
    /// Length of its data.
    pub len: u16,
    /// True when it lies in the protected (hashed) area.
    pub protected: bool,
}

impl TlvEntry {
    /// Reads its data into `buf`, which must be exactly `len` bytes.
    ///
    /// # Errors
    /// The source's error.
    pub fn read<S: ImageSource + ?Sized>(
        &self,
        src: &mut S,
        buf: &mut [u8],
    ) -> Result<(), S::Error> {
        src.read_at(self.offset, buf)
    }

    /// Borrow its data from an in-memory image.
    #[must_use]
    pub fn data<'a>(&self, image: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.offset).ok()?;
        image.get(start..start.checked_add(usize::from(self.len))?)
    }
}

/// Iterator over an image's TLVs (`struct image_tlv_iter`, `tlv.c`).
///
/// It does not hold the source (the boot core keeps its flash area), so
/// [`TlvIter::next`] takes it on each call.
#[derive(Debug, Clone)]
pub struct TlvIter {
    filter: Option<TlvKind>,
    prot_only: bool,
    has_prot: bool,
    tlv_off: u32,
    prot_end: u32,
    tlv_end: u32,
    /// Offset of the first info header (`BOOT_TLV_OFF`).
    start: u32,
}

impl TlvIter {
    /// `bootutil_tlv_iter_begin`: validates the info headers. `filter` selects
    /// one type (`None` = `IMAGE_TLV_ANY`); `prot_only` stops at the end of
    /// the protected area.
    ///
    /// # Errors
    /// [`TlvError`] when the info headers are inconsistent or unreadable.
    pub fn begin<S: ImageSource + ?Sized>(
        src: &mut S,
        hdr: &ImageHeader,
        filter: Option<TlvKind>,
        prot_only: bool,
    ) -> Result<Self, TlvError<S::Error>> {
        let off = hdr.tlv_offset().ok_or(TlvError::Overflow)?;
        let (mut magic, mut tot) = read_pair(src, off)?;
        if magic == TLV_PROT_INFO_MAGIC {
            if hdr.protect_tlv_size != tot {
                return Err(TlvError::ProtectedSizeMismatch {
                    header: hdr.protect_tlv_size,
                    info: tot,
                });
            }
            // tlv.c has no such check; without it a protected size below 4
            // would make the iterator step over the unprotected info header.
            if u32::from(tot) < TLV_HEADER_SIZE {
                return Err(TlvError::BadInfoSize(tot));
            }
            let next = off.checked_add(u32::from(tot)).ok_or(TlvError::Overflow)?;
            (magic, tot) = read_pair(src, next)?;
        } else if hdr.protect_tlv_size != 0 {
            return Err(TlvError::MissingProtectedArea);
        }
        if magic != TLV_INFO_MAGIC {
            return Err(TlvError::BadInfoMagic(magic));
        }
        if u32::from(tot) < TLV_HEADER_SIZE {
            return Err(TlvError::BadInfoSize(tot));
        }
        let prot_end = off
            .checked_add(u32::from(hdr.protect_tlv_size))
            .ok_or(TlvError::Overflow)?;
        let tlv_end = prot_end
            .checked_add(u32::from(tot))
            .ok_or(TlvError::Overflow)?;
        Ok(Self {
            filter: filter.filter(|k| *k != TlvKind::Any),
            prot_only,
            has_prot: hdr.protect_tlv_size > 0,
            tlv_off: off + TLV_HEADER_SIZE,
            prot_end,
            tlv_end,
            start: off,
        })
    }

    /// Offset of the first TLV info header (`BOOT_TLV_OFF`).
    #[must_use]
    pub fn start(&self) -> u32 {
        self.start
    }

    /// End of the protected area (equals [`Self::start`] when there is none).
    #[must_use]
    pub fn protected_end(&self) -> u32 {
        self.prot_end
    }

    /// End of the unprotected area: the image's last byte + 1.
    #[must_use]
    pub fn end(&self) -> u32 {
        self.tlv_end
    }

    /// `bootutil_tlv_iter_next`: the next matching TLV, `Ok(None)` at the end.
    ///
    /// # Errors
    /// [`TlvError`] when a TLV overruns its area or the source fails; the
    /// iterator should not be used after an error.
    pub fn next<S: ImageSource + ?Sized>(
        &mut self,
        src: &mut S,
    ) -> Result<Option<TlvEntry>, TlvError<S::Error>> {
        while self.tlv_off < self.tlv_end {
            if self.has_prot && self.tlv_off == self.prot_end {
                self.tlv_off += TLV_HEADER_SIZE;
                // An empty unprotected area after protected TLVs: done.
                if self.tlv_off >= self.tlv_end {
                    return Ok(None);
                }
            }
            if self.prot_only && self.tlv_off >= self.prot_end {
                return Ok(None);
            }
            let at = self.tlv_off;
            let in_prot = at < self.prot_end;
            let area_end = if in_prot { self.prot_end } else { self.tlv_end };
            let data_off = at.checked_add(TLV_HEADER_SIZE).ok_or(TlvError::Overflow)?;
            if data_off > area_end {
                return Err(TlvError::Overrun { offset: at });
            }
            let (code, len) = read_pair(src, at)?;
            let next = data_off
                .checked_add(u32::from(len))
                .ok_or(TlvError::Overflow)?;
            if next > area_end {
                return Err(TlvError::Overrun { offset: at });
            }
            self.tlv_off = next;
            let kind = TlvKind::from_code(code);
            if self.filter.is_none_or(|f| f == kind) {
                return Ok(Some(TlvEntry {
                    kind,
                    offset: data_off,
                    len,
                    protected: in_prot,
                }));
            }
        }
        Ok(None)
    }
}

/// Reads the two `u16` fields of an info header (`it_magic`, `it_tlv_tot`)
/// or a TLV header (`it_type`, `it_len`) at `off`.
fn read_pair<S: ImageSource + ?Sized>(
    src: &mut S,
    off: u32,
) -> Result<(u16, u16), TlvError<S::Error>> {
    let mut raw = [0u8; 4];
    src.read_at(off, &mut raw).map_err(TlvError::Read)?;
    let [a, b, c, d] = raw;
    Ok((u16::from_le_bytes([a, b]), u16::from_le_bytes([c, d])))
}

/// Finds the first TLV of `kind` in the protected area, reading at most
/// `buf.len()` bytes of its data into `buf`; returns the entry.
///
/// # Errors
/// [`TlvError`] when the TLV area is malformed.
pub fn find_protected<S: ImageSource + ?Sized>(
    src: &mut S,
    hdr: &ImageHeader,
    kind: TlvKind,
) -> Result<Option<TlvEntry>, TlvError<S::Error>> {
    let mut it = TlvIter::begin(src, hdr, Some(kind), true)?;
    it.next(src)
}

/// An in-memory image's TLVs as a standard iterator (host convenience).
#[derive(Debug, Clone)]
pub struct SliceTlvs<'a> {
    image: &'a [u8],
    iter: TlvIter,
    failed: bool,
}

impl<'a> SliceTlvs<'a> {
    /// Starts iterating all TLVs of `image`.
    ///
    /// # Errors
    /// [`TlvError`] when the info headers are inconsistent.
    pub fn new(image: &'a [u8], hdr: &ImageHeader) -> Result<Self, TlvError<OutOfBounds>> {
        let mut src = image;
        let iter = TlvIter::begin(&mut src, hdr, None, false)?;
        Ok(Self {
            image,
            iter,
            failed: false,
        })
    }

    /// The underlying iterator state (area bounds).
    #[must_use]
    pub fn bounds(&self) -> &TlvIter {
        &self.iter
    }
}

impl<'a> Iterator for SliceTlvs<'a> {
    type Item = Result<(TlvEntry, &'a [u8]), TlvError<OutOfBounds>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let mut src = self.image;
        match self.iter.next(&mut src) {
            Ok(Some(e)) => match e.data(self.image) {
                Some(d) => Some(Ok((e, d))),
                None => {
                    self.failed = true;
                    Some(Err(TlvError::Read(OutOfBounds {
                        offset: e.offset,
                        len: usize::from(e.len),
                    })))
                }
            },
            Ok(None) => None,
            Err(err) => {
                self.failed = true;
                Some(Err(err))
            }
        }
    }
}
