//! What decryption needs from an image, read through the crate's header and
//! TLV codec ([`ImageHeader`], [`SliceTlvs`]).

extern crate std;

use core::ops::Range;
use std::vec::Vec;

use super::{AesKeyLen, EncTlvKind};
use crate::{HeaderError, ImageFlags, ImageHeader, OutOfBounds, SliceTlvs, TlvError};

/// Why an image's layout could not be read for decryption.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutError {
    /// The header is not a valid MCUboot header.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The TLV areas are malformed (MCUboot's iterator would fail).
    #[error(transparent)]
    Tlv(#[from] TlvError<OutOfBounds>),
    /// The image ends inside its payload.
    #[error("image truncated: the payload ends at offset {need}, the image has {have} bytes")]
    PayloadTruncated {
        /// End offset of the payload.
        need: usize,
        /// Image length.
        have: usize,
    },
    /// Neither encryption flag is set.
    #[error("the image is not encrypted (no IMAGE_F_ENCRYPTED_AES128/AES256 flag)")]
    NotEncrypted,
    /// Both encryption flags are set; MCUboot rejects such headers
    /// (`boot_check_header_valid`, reference mcuboot.md §1.1).
    #[error("the image sets both IMAGE_F_ENCRYPTED_AES128 and IMAGE_F_ENCRYPTED_AES256")]
    BothAesFlags,
}

/// What decryption needs to know about an encrypted image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncryptedLayout {
    /// The encrypted payload, `[hdr_size, hdr_size + img_size)`.
    pub payload: Range<usize>,
    /// AES key size from the header flags.
    pub key_len: AesKeyLen,
    /// The encryption TLVs, in MCUboot's iteration order (protected area
    /// first), with their value ranges.
    pub enc_tlvs: Vec<(EncTlvKind, Range<usize>)>,
}

/// Reads the header and the encryption TLVs of an encrypted image.
pub(crate) fn parse(image: &[u8]) -> Result<EncryptedLayout, LayoutError> {
    let hdr = ImageHeader::parse(image)?;
    let key_len = match (
        hdr.flags.contains(ImageFlags::ENCRYPTED_AES128),
        hdr.flags.contains(ImageFlags::ENCRYPTED_AES256),
    ) {
        (false, false) => return Err(LayoutError::NotEncrypted),
        (true, true) => return Err(LayoutError::BothAesFlags),
        (true, false) => AesKeyLen::Aes128,
        (false, true) => AesKeyLen::Aes256,
    };
    // `parse` checked hdr_size + img_size does not overflow u32, which
    // always fits usize on the hosts this std-only module targets.
    let start = usize::from(hdr.hdr_size);
    let payload = start..start + hdr.img_size as usize;
    if payload.end > image.len() {
        return Err(LayoutError::PayloadTruncated {
            need: payload.end,
            have: image.len(),
        });
    }
    let mut enc_tlvs = Vec::new();
    for entry in SliceTlvs::new(image, &hdr)? {
        let (entry, _) = entry?;
        if let Ok(kind) = EncTlvKind::try_from(entry.kind) {
            let at = entry.offset as usize;
            enc_tlvs.push((kind, at..at + usize::from(entry.len)));
        }
    }
    Ok(EncryptedLayout {
        payload,
        key_len,
        enc_tlvs,
    })
}
