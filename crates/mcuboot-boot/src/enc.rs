//! The seam for encrypted images (`MCUBOOT_ENC_IMAGES`). Not implemented yet.
//!
//! MCUboot keeps encrypted images only in the secondary slot and plaintext in
//! the primary. Wiring an [`ImageCipher`] in needs, in this crate:
//! - validation of a secondary image hashes the *decrypted* payload
//!   (`MUST_DECRYPT`; the [`ImageSource`](mcuboot_image::ImageSource) over the
//!   secondary slot applies [`ImageCipher::apply`] to payload bytes);
//! - `Flash::copy` (`boot_copy_region`) decrypts when the destination is the
//!   primary slot and re-encrypts with the primary image's key when the
//!   source is the primary slot (never for scratch ↔ secondary);
//! - the trailer grows by two key fields of `ALIGN_UP(key_size, max_align)`
//!   below swap_size (slot 1's key below slot 0's) written by
//!   `swap_status_init` and read back on resumption.
//!
//! Until then, images with an `ENCRYPTED_*` flag are refused like MCUboot
//! built without `MCUBOOT_ENC_IMAGES` does, and a configured cipher is a
//! configuration error.

/// Decrypts/encrypts image payloads (AES-CTR, so both directions are the
/// same operation) and unwraps the per-image key from its ENC TLV.
pub trait ImageCipher {
    /// AES key size in bytes (16 or 32); sizes the trailer's key fields.
    fn key_size(&self) -> usize;

    /// Unwraps the AES key from the image's ENC TLV (`tlv_type` is the raw
    /// `it_type`) into `key` (`key_size()` bytes). `false` if impossible.
    fn unwrap_key(&self, tlv_type: u16, tlv: &[u8], key: &mut [u8]) -> bool;

    /// Applies the keystream for payload offset `payload_off` to `buf`.
    fn apply(&self, key: &[u8], payload_off: u32, buf: &mut [u8]);
}

impl core::fmt::Debug for dyn ImageCipher + '_ {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ImageCipher(key_size={})", self.key_size())
    }
}
