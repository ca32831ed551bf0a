//! Decrypting a whole encrypted image with the device key, as MCUboot does
//! when it copies the image to the primary slot.

extern crate std;

use std::vec::Vec;

use zeroize::Zeroizing;

use super::{aes_ctr_apply, layout, unwrap_key, DecryptionKey, EncError, LayoutError};

/// Finds the image's encryption TLV for `private`, unwraps the key and checks
/// it against the header's AES flag. Returns the key and the payload range.
fn image_key(
    image: &[u8],
    private: &DecryptionKey,
) -> Result<(Zeroizing<Vec<u8>>, core::ops::Range<usize>), EncError> {
    let layout = layout::parse(image)?;
    // MCUboot looks the TLV up by type over both areas
    // (`bootutil_tlv_iter_begin(..., BOOT_ENC_TLV, false)`), first match wins.
    let (kind, range) = layout
        .enc_tlvs
        .into_iter()
        .find(|(kind, _)| kind.opened_by(private))
        .ok_or(EncError::NoEncTlv(private.kind_name()))?;
    let tlv = image
        .get(range)
        .ok_or(EncError::NoEncTlv(private.kind_name()))?;
    let key = unwrap_key(private, kind, tlv)?;
    if key.len() != layout.key_len.bytes() {
        return Err(EncError::KeyLenFlagMismatch {
            key: key.len() * 8,
            flag: layout.key_len.bytes() * 8,
        });
    }
    Ok((key, layout.payload))
}

/// Decrypts an encrypted image in place: the payload becomes plaintext; the
/// header (flags included) and all TLVs are kept, which is what MCUboot
/// writes to the primary slot.
pub fn decrypt_image_in_place(image: &mut [u8], private: &DecryptionKey) -> Result<(), EncError> {
    let (key, payload) = image_key(image, private)?;
    let have = image.len();
    let need = payload.end;
    let data = image
        .get_mut(payload)
        .ok_or(LayoutError::PayloadTruncated { need, have })?;
    aes_ctr_apply(&key, 0, data)
}

/// Returns the decrypted copy of an encrypted image; see
/// [`decrypt_image_in_place`].
pub fn decrypt_image(image: &[u8], private: &DecryptionKey) -> Result<Vec<u8>, EncError> {
    let mut out = image.to_vec();
    decrypt_image_in_place(&mut out, private)?;
    Ok(out)
}
