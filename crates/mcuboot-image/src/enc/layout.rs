//! The few header and TLV fields decryption needs, read with bounds checks.
//!
//! Deliberately minimal: it follows the TLV iterator rules of MCUboot's
//! `boot/bootutil/src/tlv.c` (reference mcuboot.md §1.3) and will give way to
//! the crate's full header/TLV codec once that lands.

extern crate std;

use core::ops::Range;
use std::vec::Vec;

use super::AesKeyLen;

/// `IMAGE_MAGIC` (`boot/bootutil/include/bootutil/image.h`; mcuboot.md §1.1).
const IMAGE_MAGIC: u32 = 0x96f3_b83d;
/// `IMAGE_HEADER_SIZE` (`image.h`).
const IMAGE_HEADER_SIZE: usize = 32;
/// `IMAGE_TLV_INFO_MAGIC`, unprotected TLV area (`image.h`; mcuboot.md §1.3).
const TLV_INFO_MAGIC: u16 = 0x6907;
/// `IMAGE_TLV_PROT_INFO_MAGIC`, protected TLV area (`image.h`).
const TLV_PROT_INFO_MAGIC: u16 = 0x6908;
/// Size of `struct image_tlv_info` and of `struct image_tlv` (`image.h`).
const TLV_HEADER_SIZE: usize = 4;
/// `IMAGE_F_ENCRYPTED_AES128` (`image.h`; mcuboot.md §1.2).
const FLAG_ENCRYPTED_AES128: u32 = 0x0000_0004;
/// `IMAGE_F_ENCRYPTED_AES256` (`image.h`; mcuboot.md §1.2).
const FLAG_ENCRYPTED_AES256: u32 = 0x0000_0008;

/// Why an image's layout could not be read for decryption.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutError {
    /// The image ends before a field it declares.
    #[error("image truncated: {what} needs bytes up to offset {need}, the image has {have}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// End offset it needs.
        need: usize,
        /// Image length.
        have: usize,
    },
    /// The header magic is not `IMAGE_MAGIC`.
    #[error("not an MCUboot image (magic 0x{0:08x}, expected 0x96f3b83d)")]
    BadMagic(u32),
    /// `ih_hdr_size` smaller than the 32-byte header.
    #[error("header size {0} is smaller than the 32-byte image header")]
    HeaderTooSmall(usize),
    /// Neither encryption flag is set.
    #[error("the image is not encrypted (no IMAGE_F_ENCRYPTED_AES128/AES256 flag)")]
    NotEncrypted,
    /// Both encryption flags are set; MCUboot rejects such headers.
    #[error("the image sets both IMAGE_F_ENCRYPTED_AES128 and IMAGE_F_ENCRYPTED_AES256")]
    BothAesFlags,
    /// A TLV info header has the wrong magic.
    #[error("bad TLV info magic 0x{found:04x} at offset {offset}")]
    BadTlvInfoMagic {
        /// Offset of the info header.
        offset: usize,
        /// Magic found there.
        found: u16,
    },
    /// `ih_protect_tlv_size` disagrees with the protected area's own size.
    #[error("protected TLV size mismatch: header says {header}, TLV area says {area}")]
    ProtectedSizeMismatch {
        /// `ih_protect_tlv_size`.
        header: usize,
        /// `it_tlv_tot` of the protected info header.
        area: usize,
    },
    /// A TLV entry runs past the end of its area.
    #[error("TLV at offset {offset} runs past the end of its area")]
    TlvOverrun {
        /// Offset of the TLV entry.
        offset: usize,
    },
}

/// What decryption needs to know about an encrypted image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncryptedLayout {
    /// The encrypted payload, `[hdr_size, hdr_size + img_size)`.
    pub payload: Range<usize>,
    /// AES key size from the header flags.
    pub key_len: AesKeyLen,
    /// Every TLV (protected first, as MCUboot iterates), type and value range.
    pub tlvs: Vec<(u16, Range<usize>)>,
}

fn read<const N: usize>(
    image: &[u8],
    at: usize,
    what: &'static str,
) -> Result<[u8; N], LayoutError> {
    let end = at.checked_add(N).ok_or(LayoutError::Truncated {
        what,
        need: usize::MAX,
        have: image.len(),
    })?;
    image
        .get(at..end)
        .and_then(|s| s.try_into().ok())
        .ok_or(LayoutError::Truncated {
            what,
            need: end,
            have: image.len(),
        })
}

fn u16_at(image: &[u8], at: usize, what: &'static str) -> Result<u16, LayoutError> {
    Ok(u16::from_le_bytes(read::<2>(image, at, what)?))
}

fn u32_at(image: &[u8], at: usize, what: &'static str) -> Result<u32, LayoutError> {
    Ok(u32::from_le_bytes(read::<4>(image, at, what)?))
}

/// Reads the TLVs of one area `[start + 4, end)` into `out`.
fn read_area(
    image: &[u8],
    start: usize,
    end: usize,
    out: &mut Vec<(u16, Range<usize>)>,
) -> Result<(), LayoutError> {
    let mut off = start + TLV_HEADER_SIZE;
    while off < end {
        if end - off < TLV_HEADER_SIZE {
            return Err(LayoutError::TlvOverrun { offset: off });
        }
        let kind = u16_at(image, off, "TLV header")?;
        let len = usize::from(u16_at(image, off + 2, "TLV header")?);
        let value = off + TLV_HEADER_SIZE..off + TLV_HEADER_SIZE + len;
        if value.end > end {
            return Err(LayoutError::TlvOverrun { offset: off });
        }
        out.push((kind, value.clone()));
        off = value.end;
    }
    Ok(())
}

/// Reads the header and the TLV areas of an encrypted image.
pub(crate) fn parse(image: &[u8]) -> Result<EncryptedLayout, LayoutError> {
    let magic = u32_at(image, 0, "image header")?;
    if magic != IMAGE_MAGIC {
        return Err(LayoutError::BadMagic(magic));
    }
    read::<IMAGE_HEADER_SIZE>(image, 0, "image header")?;
    let hdr_size = usize::from(u16_at(image, 8, "image header")?);
    let protect_tlv_size = usize::from(u16_at(image, 10, "image header")?);
    // u32 always fits usize on the hosts this std-only module targets.
    let img_size = u32_at(image, 12, "image header")? as usize;
    let flags = u32_at(image, 16, "image header")?;
    if hdr_size < IMAGE_HEADER_SIZE {
        return Err(LayoutError::HeaderTooSmall(hdr_size));
    }
    let key_len = match (
        flags & FLAG_ENCRYPTED_AES128 != 0,
        flags & FLAG_ENCRYPTED_AES256 != 0,
    ) {
        (false, false) => return Err(LayoutError::NotEncrypted),
        (true, true) => return Err(LayoutError::BothAesFlags),
        (true, false) => AesKeyLen::Aes128,
        (false, true) => AesKeyLen::Aes256,
    };
    let payload = hdr_size..hdr_size + img_size;
    if payload.end > image.len() {
        return Err(LayoutError::Truncated {
            what: "payload",
            need: payload.end,
            have: image.len(),
        });
    }

    // TLV areas, as `bootutil_tlv_iter_begin` (tlv.c) reads them.
    let mut tlvs = Vec::new();
    let mut off = payload.end;
    let info_magic = u16_at(image, off, "TLV info")?;
    if info_magic == TLV_PROT_INFO_MAGIC {
        let tot = usize::from(u16_at(image, off + 2, "TLV info")?);
        if tot != protect_tlv_size {
            return Err(LayoutError::ProtectedSizeMismatch {
                header: protect_tlv_size,
                area: tot,
            });
        }
        let end = off + tot;
        if end > image.len() {
            return Err(LayoutError::Truncated {
                what: "protected TLV area",
                need: end,
                have: image.len(),
            });
        }
        read_area(image, off, end, &mut tlvs)?;
        off = end;
    } else if protect_tlv_size != 0 {
        return Err(LayoutError::ProtectedSizeMismatch {
            header: protect_tlv_size,
            area: 0,
        });
    }
    let info_magic = u16_at(image, off, "TLV info")?;
    if info_magic != TLV_INFO_MAGIC {
        return Err(LayoutError::BadTlvInfoMagic {
            offset: off,
            found: info_magic,
        });
    }
    let tot = usize::from(u16_at(image, off + 2, "TLV info")?);
    let end = off + tot;
    if end > image.len() {
        return Err(LayoutError::Truncated {
            what: "TLV area",
            need: end,
            have: image.len(),
        });
    }
    read_area(image, off, end, &mut tlvs)?;
    Ok(EncryptedLayout {
        payload,
        key_len,
        tlvs,
    })
}
