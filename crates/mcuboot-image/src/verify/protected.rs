//! The protected TLVs the boot core reads: the security counter and the
//! dependencies (`bootutil_get_img_security_cnt`, `boot_verify_slot_dependencies`).

use crate::codec::dependency::Dependency;
use crate::codec::header::ImageHeader;
use crate::codec::tlv::{find_protected, TlvError, TlvIter, TlvKind};
use crate::source::ImageSource;

/// The SEC_CNT TLV of the protected area (`bootutil_get_img_security_cnt`).
///
/// # Errors
/// [`TlvError`] when the area is malformed or the TLV is not 4 bytes
/// ([`TlvError::Overrun`] at its offset).
pub fn security_counter<S: ImageSource + ?Sized>(
    src: &mut S,
    hdr: &ImageHeader,
) -> Result<Option<u32>, TlvError<S::Error>> {
    let Some(e) = find_protected(src, hdr, TlvKind::SecCnt)? else {
        return Ok(None);
    };
    if e.len != 4 {
        return Err(TlvError::Overrun { offset: e.offset });
    }
    let mut b = [0u8; 4];
    e.read(src, &mut b).map_err(TlvError::Read)?;
    Ok(Some(u32::from_le_bytes(b)))
}

/// Iterator over the protected DEPENDENCY TLVs.
#[derive(Debug, Clone)]
pub struct Dependencies(TlvIter);

impl Dependencies {
    /// Starts at the first DEPENDENCY TLV of the protected area.
    ///
    /// # Errors
    /// [`TlvError`] when the area is malformed.
    pub fn begin<S: ImageSource + ?Sized>(
        src: &mut S,
        hdr: &ImageHeader,
    ) -> Result<Self, TlvError<S::Error>> {
        Ok(Self(TlvIter::begin(
            src,
            hdr,
            Some(TlvKind::Dependency),
            true,
        )?))
    }

    /// The next dependency.
    ///
    /// # Errors
    /// [`TlvError`]; a DEPENDENCY that is not 12 bytes is an overrun.
    pub fn next<S: ImageSource + ?Sized>(
        &mut self,
        src: &mut S,
    ) -> Result<Option<Dependency>, TlvError<S::Error>> {
        let Some(e) = self.0.next(src)? else {
            return Ok(None);
        };
        if usize::from(e.len) != Dependency::SIZE {
            return Err(TlvError::Overrun { offset: e.offset });
        }
        let mut b = [0u8; 12];
        e.read(src, &mut b).map_err(TlvError::Read)?;
        Ok(Some(Dependency::from_bytes(&b)))
    }
}
