//! Secure Boot V1 (ESP32 only): ECDSA P-256 signatures appended to an app,
//! the private key digest, and the bootloader digest the ROM checks.
//!
//! Every function here is byte-compatible with espsecure 5.6.0
//! (`sign_secure_boot_v1`, `verify_signature_v1`, `extract_public_key`
//! with `--version 1`, `digest_private_key`, `digest_secure_bootloader` in
//! espsecure/__init__.py L115-L1375). Signing is deterministic (RFC 6979,
//! as espsecure's `deterministic_signing=True`), so signatures compare
//! byte for byte with the reference tool.

use aes::cipher::{BlockEncrypt, KeyInit};
use ecdsa::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256, Sha512};
use signature::Signer;
use zeroize::Zeroizing;

/// Bytes of the block `sign-data --version 1` appends: a 4-byte version
/// word (0) and the raw signature `r ‖ s` (big-endian, 32 bytes each).
pub const SIGNATURE_BLOCK_LEN: usize = 4 + 64;

/// The only signature block version espsecure writes and reads
/// (`struct.pack("I", 0)`, "allow for different curves/formats later").
pub const SIGNATURE_VERSION: u32 = 0;

/// Length of the IV at the front of a digested bootloader
/// (`digest_secure_bootloader`: 128 bytes, the SHA-512 block size).
pub const BOOTLOADER_IV_LEN: usize = 128;

/// The digested bootloader's image starts at 0x1000: IV, 64-byte digest,
/// 0xFF filler (`f.write(b"\xff" * (0x1000 - f.tell()))`).
pub const BOOTLOADER_IMAGE_OFFSET: usize = 0x1000;

/// Why a Secure Boot V1 operation failed. Texts are espsecure's where it
/// raises a `FatalError` for the same case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Sbv1Error {
    /// The signed file is shorter than a signature block.
    #[error("the file is {0} bytes, shorter than the {SIGNATURE_BLOCK_LEN}-byte signature block")]
    TooShort(usize),
    /// The signature block's version word is not 0.
    #[error("Signature block has version {0}. This version of espsecure only supports version 0.")]
    Version(u32),
    /// The signature does not verify with the key.
    #[error("Signature is not valid.")]
    InvalidSignature,
    /// A raw public key (64 bytes `x ‖ y`) is not a point on P-256.
    #[error("the 64 bytes are not a NIST P-256 public key")]
    InvalidPublicKey,
    /// A secure boot key file is not 16, 24, 32 or 64 bytes
    /// (`_load_hardware_key`).
    #[error("Key file contains wrong length ({0} bytes), 16, 24, 32 or 64 expected.")]
    KeyLength(usize),
    /// A 512-bit key: `_load_hardware_key` reads it, but the digest is
    /// AES-256 (espsecure stops with cryptography's `ValueError`).
    #[error("a 512-bit key cannot digest a bootloader; the secure boot digest takes 128-, 192- or 256-bit keys")]
    Key512,
}

/// Signs `data` as `sign-data --version 1`: returns the 68-byte block to
/// append (version word 0, then `r ‖ s`).
pub fn sign(key: &p256::SecretKey, data: &[u8]) -> [u8; SIGNATURE_BLOCK_LEN] {
    // RFC 6979 over SHA-256, as cryptography's deterministic ECDSA.
    let signer = p256::ecdsa::SigningKey::from(key);
    let sig: p256::ecdsa::Signature = signer.sign(data);
    block(&sig)
}

/// Builds the block from a pre-calculated raw signature (`--signature`:
/// `r ‖ s`, big-endian) after checking it over `data` with `key`, as
/// espsecure back-verifies before writing.
pub fn block_from_raw_signature(
    key: &p256::PublicKey,
    data: &[u8],
    raw: &[u8],
) -> Result<[u8; SIGNATURE_BLOCK_LEN], Sbv1Error> {
    let sig = signature_from_raw(raw)?;
    verify_signature(key, data, &sig)?;
    Ok(block(&sig))
}

fn block(sig: &p256::ecdsa::Signature) -> [u8; SIGNATURE_BLOCK_LEN] {
    let mut out = [0u8; SIGNATURE_BLOCK_LEN];
    out[..4].copy_from_slice(&SIGNATURE_VERSION.to_le_bytes());
    out[4..].copy_from_slice(&sig.to_bytes());
    out
}

fn signature_from_raw(raw: &[u8]) -> Result<p256::ecdsa::Signature, Sbv1Error> {
    p256::ecdsa::Signature::from_slice(raw).map_err(|_| Sbv1Error::InvalidSignature)
}

fn verify_signature(
    key: &p256::PublicKey,
    data: &[u8],
    sig: &p256::ecdsa::Signature,
) -> Result<(), Sbv1Error> {
    use signature::Verifier;
    p256::ecdsa::VerifyingKey::from(key)
        .verify(data, sig)
        .map_err(|_| Sbv1Error::InvalidSignature)
}

/// The signed data of a V1-signed file: everything before the block.
pub fn signed_data(signed: &[u8]) -> Result<&[u8], Sbv1Error> {
    signed
        .len()
        .checked_sub(SIGNATURE_BLOCK_LEN)
        .map(|n| &signed[..n])
        .ok_or(Sbv1Error::TooShort(signed.len()))
}

/// Verifies a file signed by [`sign`] (`verify-signature --version 1`):
/// the version word, then the signature over the data before the block.
pub fn verify(key: &p256::PublicKey, signed: &[u8]) -> Result<(), Sbv1Error> {
    let data = signed_data(signed)?;
    let tail = &signed[data.len()..];
    let version = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if version != SIGNATURE_VERSION {
        return Err(Sbv1Error::Version(version));
    }
    verify_signature(key, data, &signature_from_raw(&tail[4..])?)
}

/// The raw public key `x ‖ y` (big-endian), what `extract-public-key
/// --version 1` writes and the ESP32 bootloader embeds. The Secure Debug
/// Controller certificate uses the same layout.
pub fn public_key_raw(key: &p256::PublicKey) -> [u8; 64] {
    let point = key.to_encoded_point(false);
    let mut out = [0u8; 64];
    // Uncompressed SEC1 is 04 ‖ X ‖ Y.
    out.copy_from_slice(&point.as_bytes()[1..65]);
    out
}

/// Reads a raw public key `x ‖ y` (`verify-signature --version 1` accepts
/// the 64-byte file [`public_key_raw`] writes).
pub fn public_key_from_raw(raw: &[u8; 64]) -> Result<p256::PublicKey, Sbv1Error> {
    let mut sec1 = [0u8; 65];
    sec1[0] = 0x04;
    sec1[1..].copy_from_slice(raw);
    p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| Sbv1Error::InvalidPublicKey)
}

/// `digest-private-key`: SHA-256 of the 32-byte big-endian private scalar,
/// the secure boot key burned into BLOCK2 (truncated to 24 bytes by the
/// caller for the 3/4 coding scheme).
pub fn private_key_digest(key: &p256::SecretKey) -> Zeroizing<[u8; 32]> {
    let scalar = Zeroizing::new(key.to_bytes());
    Zeroizing::new(Sha256::digest(scalar.as_slice()).into())
}

/// The AES-256 key of the secure boot digest from a key file's bytes, as
/// `_load_hardware_key(keyfile, False)`: 32 bytes as they are, 24 bytes
/// extended with bytes 8..16 (3/4 coding scheme), 16 bytes hashed with
/// SHA-256.
pub fn bootloader_digest_key(raw: &[u8]) -> Result<Zeroizing<[u8; 32]>, Sbv1Error> {
    let mut key = Zeroizing::new([0u8; 32]);
    match raw.len() {
        32 => key.copy_from_slice(raw),
        24 => {
            key[..24].copy_from_slice(raw);
            key[24..].copy_from_slice(&raw[8..16]);
        }
        16 => key.copy_from_slice(&Sha256::digest(raw)),
        64 => return Err(Sbv1Error::Key512),
        n => return Err(Sbv1Error::KeyLength(n)),
    }
    Ok(key)
}

/// The image the secure boot engine digests: without an appended SHA-256
/// that ends within the first 32 bytes of the last 128-byte block (the ROM
/// stops at the end of that block), then padded with 0xFF to 128 bytes.
fn engine_image(image: &[u8], append_digest: bool) -> Vec<u8> {
    let mut plain = image.to_vec();
    if append_digest && plain.len() % 128 <= 32 {
        plain.truncate(plain.len() - plain.len() % 128);
    }
    let rem = plain.len() % 128;
    if rem != 0 {
        plain.resize(plain.len() + 128 - rem, 0xFF);
    }
    plain
}

/// `digest-secure-bootloader`: the flashable `IV ‖ digest ‖ 0xFF… ‖ image`
/// (image at 0x1000). The digest is SHA-512 over AES-256-ECB of
/// `IV ‖ image`, each 16-byte block reversed on the way in, the output
/// block reversed and each word byte-swapped on the way out, and the
/// digest's words stored byte-swapped (the hardware's word order).
/// `append_digest` is the image header's byte 23. `iv` is
/// [`BOOTLOADER_IV_LEN`] bytes; a shorter test IV is taken as espsecure
/// takes it (`iv_file.read(128)`): the image follows it directly and a
/// trailing partial AES block is left out of the digest.
pub fn digest_secure_bootloader(
    key: &[u8; 32],
    iv: &[u8],
    image: &[u8],
    append_digest: bool,
) -> Vec<u8> {
    let iv = &iv[..iv.len().min(BOOTLOADER_IV_LEN)];
    let plain_image = engine_image(image, append_digest);
    let cipher = aes::Aes256::new(key.into());
    let mut digest = Sha512::new();
    let mut plain = iv.to_vec();
    plain.extend_from_slice(&plain_image);
    for chunk in plain.chunks_exact(16) {
        let mut block = aes::Block::default();
        for (dst, src) in block.iter_mut().zip(chunk.iter().rev()) {
            *dst = *src;
        }
        cipher.encrypt_block(&mut block);
        block.reverse();
        for word in block.chunks(4) {
            digest.update([word[3], word[2], word[1], word[0]]);
        }
    }
    let digest = digest.finalize();
    let mut out = Vec::with_capacity(BOOTLOADER_IMAGE_OFFSET + plain_image.len());
    out.extend_from_slice(iv);
    for word in digest.chunks(4) {
        out.extend([word[3], word[2], word[1], word[0]]);
    }
    out.resize(BOOTLOADER_IMAGE_OFFSET, 0xFF);
    out.extend_from_slice(&plain_image);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> p256::SecretKey {
        p256::SecretKey::from_slice(&[0x42; 32]).unwrap()
    }

    #[test]
    fn signed_file_verifies_and_a_flipped_byte_does_not() {
        let data = vec![0x5Au8; 1000];
        let mut signed = data.clone();
        signed.extend(sign(&key(), &data));
        assert_eq!(signed.len(), 1000 + SIGNATURE_BLOCK_LEN);
        assert_eq!(verify(&key().public_key(), &signed), Ok(()));
        signed[10] ^= 1;
        assert_eq!(
            verify(&key().public_key(), &signed),
            Err(Sbv1Error::InvalidSignature)
        );
    }

    #[test]
    fn signing_is_deterministic_like_espsecure() {
        assert_eq!(sign(&key(), b"abc"), sign(&key(), b"abc"));
    }

    #[test]
    fn version_word_other_than_zero_is_refused() {
        let mut signed = b"data".to_vec();
        signed.extend(sign(&key(), b"data"));
        signed[4] = 1;
        assert_eq!(
            verify(&key().public_key(), &signed),
            Err(Sbv1Error::Version(1))
        );
    }

    #[test]
    fn raw_public_key_round_trips() {
        let pk = key().public_key();
        assert_eq!(public_key_from_raw(&public_key_raw(&pk)), Ok(pk));
    }

    #[test]
    fn bootloader_key_extends_192_bit_keys_with_bytes_8_to_16() {
        let raw: Vec<u8> = (0..24).collect();
        let key = bootloader_digest_key(&raw).unwrap();
        assert_eq!(&key[..24], &raw[..]);
        assert_eq!(&key[24..], &raw[8..16]);
        assert_eq!(
            bootloader_digest_key(&[0; 20]),
            Err(Sbv1Error::KeyLength(20))
        );
    }

    #[test]
    fn digested_bootloader_pads_the_image_to_128_bytes_at_0x1000() {
        let out = digest_secure_bootloader(&[1; 32], &[2; 128], &[3; 200], false);
        assert_eq!(out.len(), 0x1000 + 256);
        assert_eq!(&out[..128], &[2; 128][..]);
        assert!(out[192..0x1000].iter().all(|b| *b == 0xFF));
        assert_eq!(&out[0x1000..0x1000 + 200], &[3; 200][..]);
        assert!(out[0x1000 + 200..].iter().all(|b| *b == 0xFF));
        // An appended digest ending in the first 32 bytes of a block is cut.
        let cut = digest_secure_bootloader(&[1; 32], &[2; 128], &[3; 256 + 32], true);
        assert_eq!(cut.len(), 0x1000 + 256);
    }
}
