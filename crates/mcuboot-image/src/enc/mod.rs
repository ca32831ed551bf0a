//! MCUboot image encryption (host side): wrapping a fresh AES key for a
//! recipient, the payload cipher, and the bootloader's decryption.
//!
//! The scheme (reference mcuboot.md §5; MCUboot `boot/bootutil/src/encrypted.c`,
//! imgtool `image.py` `Image.create`/`ecies_hkdf`):
//!
//! * one random AES-128 or AES-256 key per image encrypts **only the payload**
//!   `[hdr_size, hdr_size + img_size)` with AES-CTR, counter block starting
//!   at zero ([`AesCtr`]);
//! * that key travels in one unprotected TLV, wrapped for the device
//!   ([`wrap_new_key`] / [`unwrap_key`]): RSA-2048 OAEP (`ENC_RSA2048`),
//!   ECIES-P256 (`ENC_EC256`), ECIES-X25519 with HMAC/HKDF-SHA256 or -SHA512
//!   (`ENC_X25519`, `ENC_X25519_SHA512`) or RFC 3394 AES key wrap (`ENC_KW`);
//! * the image hash and signature cover the **plaintext**, so a decrypted
//!   image ([`decrypt_image`]) verifies like an unencrypted one.
//!
//! ```
//! use mcuboot_image::enc::{self, AesKeyLen, DecryptionKey, HmacSha, Kek, Recipient};
//!
//! let kek = Kek::from_bytes(&[7u8; 16])?;
//! let recipient = Recipient::AesKw(kek.clone());
//! let (key, kind, tlv) =
//!     enc::wrap_new_key(&recipient, AesKeyLen::Aes128, HmacSha::Sha256, &mut rand_core::OsRng)?;
//! assert_eq!(kind, enc::EncTlvKind::Kw);
//! assert_eq!(tlv.len(), 24);
//!
//! let mut payload = *b"sixteen byte msg";
//! enc::aes_ctr_apply(&key, 0, &mut payload)?;
//! let unwrapped = enc::unwrap_key(&DecryptionKey::AesKw(kek), kind, &tlv)?;
//! enc::aes_ctr_apply(&unwrapped, 0, &mut payload)?;
//! assert_eq!(&payload, b"sixteen byte msg");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

extern crate std;

mod ctr;
mod decrypt;
mod keys;
mod layout;
mod wrap;

use std::vec::Vec;

use zeroize::Zeroizing;

use crate::TlvKind;

pub use ctr::{aes_ctr_apply, AesCtr};
pub use decrypt::{decrypt_image, decrypt_image_in_place};
pub use keys::{DecryptionKey, Kek, KeyError, Recipient};
pub use layout::LayoutError;
pub use wrap::{unwrap_key, wrap_key, wrap_new_key};

/// X9.62 uncompressed P-256 point size, `EC_PUBK_LEN` (`enc_key_public.h`).
const EC256_PUBKEY_LEN: usize = 65;
/// Raw X25519 public key size, `EC_PUBK_LEN` (`enc_key_public.h`).
const X25519_PUBKEY_LEN: usize = 32;
/// `ENC_RSA2048` TLV size, `BOOT_ENC_TLV_SIZE` (`enc_key_public.h`).
const RSA2048_TLV_LEN: usize = 256;
/// RFC 3394 adds one 8-byte integrity block (`BOOT_ENC_TLV_SIZE` for KW).
const KW_OVERHEAD: usize = 8;
/// AES block size; imgtool pads encrypted payloads to a multiple of it.
pub const AES_BLOCK_SIZE: usize = 16;

/// Size of the per-image AES key (`--encrypt-keylen 128|256`; header flag
/// `IMAGE_F_ENCRYPTED_AES128`/`AES256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AesKeyLen {
    /// AES-128, the imgtool default.
    Aes128,
    /// AES-256.
    Aes256,
}

impl AesKeyLen {
    /// Key size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// The header flag announcing this key size (`image.h`; mcuboot.md §1.2).
    pub const fn header_flag(self) -> u32 {
        match self {
            Self::Aes128 => 0x0000_0004,
            Self::Aes256 => 0x0000_0008,
        }
    }

    fn from_bytes(len: usize) -> Option<Self> {
        match len {
            16 => Some(Self::Aes128),
            32 => Some(Self::Aes256),
            _ => None,
        }
    }
}

/// Hash of the ECIES HKDF and HMAC (`--hmac-sha 256|512`). Only ECIES-X25519
/// supports SHA-512 (imgtool `create`); RSA and key wrap have no HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HmacSha {
    /// HMAC/HKDF-SHA256 (imgtool `auto` and `256`).
    #[default]
    Sha256,
    /// HMAC/HKDF-SHA512 (X25519 only; TLV `ENC_X25519_SHA512`).
    Sha512,
}

impl HmacSha {
    const fn tag_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// The TLV that carries the wrapped image key (`image.h` `IMAGE_TLV_ENC_*`;
/// mcuboot.md §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncTlvKind {
    /// `IMAGE_TLV_ENC_RSA2048` (0x30): RSA-OAEP-SHA256, 256 bytes.
    Rsa2048,
    /// `IMAGE_TLV_ENC_KW` (0x31): RFC 3394 wrap, 24 or 40 bytes.
    Kw,
    /// `IMAGE_TLV_ENC_EC256` (0x32): ECIES-P256, 65+32+16 or 65+32+32 bytes.
    Ec256,
    /// `IMAGE_TLV_ENC_X25519` (0x33): ECIES-X25519 SHA-256, 80 or 96 bytes.
    X25519,
    /// `IMAGE_TLV_ENC_X25519_SHA512` (0x34): ECIES-X25519 SHA-512, 112 or 128 bytes.
    X25519Sha512,
}

impl EncTlvKind {
    /// All encryption TLV kinds.
    pub const ALL: [Self; 5] = [
        Self::Rsa2048,
        Self::Kw,
        Self::Ec256,
        Self::X25519,
        Self::X25519Sha512,
    ];

    /// The codec's TLV kind.
    pub const fn tlv_kind(self) -> TlvKind {
        match self {
            Self::Rsa2048 => TlvKind::EncRsa2048,
            Self::Kw => TlvKind::EncKw,
            Self::Ec256 => TlvKind::EncEc256,
            Self::X25519 => TlvKind::EncX25519,
            Self::X25519Sha512 => TlvKind::EncX25519Sha512,
        }
    }

    /// The TLV type code (`image.h` `IMAGE_TLV_ENC_*`).
    pub const fn type_code(self) -> u16 {
        self.tlv_kind().code()
    }

    /// The kind for a TLV type code, if it is an encryption TLV.
    pub fn from_type_code(code: u16) -> Option<Self> {
        Self::try_from(TlvKind::from_code(code)).ok()
    }

    /// MCUboot's name for the TLV.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rsa2048 => "ENC_RSA2048",
            Self::Kw => "ENC_KW",
            Self::Ec256 => "ENC_EC256",
            Self::X25519 => "ENC_X25519",
            Self::X25519Sha512 => "ENC_X25519_SHA512",
        }
    }

    /// TLV value length for a key of `key_len` (`enc_key_public.h`).
    pub const fn tlv_len(self, key_len: AesKeyLen) -> usize {
        let k = key_len.bytes();
        match self {
            Self::Rsa2048 => RSA2048_TLV_LEN,
            Self::Kw => k + KW_OVERHEAD,
            Self::Ec256 => EC256_PUBKEY_LEN + HmacSha::Sha256.tag_len() + k,
            Self::X25519 => X25519_PUBKEY_LEN + HmacSha::Sha256.tag_len() + k,
            Self::X25519Sha512 => X25519_PUBKEY_LEN + HmacSha::Sha512.tag_len() + k,
        }
    }

    /// The TLV kinds a private key of this type can open.
    fn opened_by(self, key: &DecryptionKey) -> bool {
        matches!(
            (self, key),
            (Self::Rsa2048, DecryptionKey::Rsa2048(_))
                | (Self::Kw, DecryptionKey::AesKw(_))
                | (Self::Ec256, DecryptionKey::EcP256(_))
                | (Self::X25519 | Self::X25519Sha512, DecryptionKey::X25519(_))
        )
    }
}

impl From<EncTlvKind> for TlvKind {
    fn from(kind: EncTlvKind) -> Self {
        kind.tlv_kind()
    }
}

impl TryFrom<TlvKind> for EncTlvKind {
    /// The kind given back: it is not an encryption TLV.
    type Error = TlvKind;

    fn try_from(kind: TlvKind) -> Result<Self, TlvKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.tlv_kind() == kind)
            .ok_or(kind)
    }
}

impl core::fmt::Display for EncTlvKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of image encryption and decryption.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncError {
    /// A key file could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The image layout could not be read.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// An AES key that is neither 16 nor 32 bytes.
    #[error("an AES image key must be 16 or 32 bytes, got {0}")]
    AesKeyLength(usize),
    /// HMAC-SHA512 was asked for with a recipient other than X25519
    /// (imgtool: "Currently only ECIES-X25519 supports HMAC-SHA512").
    #[error("HMAC-SHA512 is only supported with X25519 encryption keys, not {0}")]
    HmacSha512Unsupported(&'static str),
    /// Key wrap needs the KEK and the image key to be the same size
    /// (MCUboot `key_unwrap`, `encrypted.c`).
    #[error("the AES key-wrap key is {kek} bits but the image key is {key} bits; MCUboot needs them equal")]
    KekSizeMismatch {
        /// KEK size in bits.
        kek: usize,
        /// Image key size in bits.
        key: usize,
    },
    /// The TLV kind does not match the private key's type.
    #[error("a {key} key cannot open an {kind} TLV")]
    WrongKeyType {
        /// The private key's type.
        key: &'static str,
        /// The TLV kind.
        kind: EncTlvKind,
    },
    /// The TLV has a length MCUboot would reject.
    #[error("{kind} TLV is {len} bytes, expected {expected}")]
    TlvLength {
        /// The TLV kind.
        kind: EncTlvKind,
        /// Its length.
        len: usize,
        /// The accepted lengths.
        expected: &'static str,
    },
    /// Authentication of the wrapped key failed: wrong private key or
    /// corrupted TLV. Deliberately says no more (no padding/MAC oracle).
    #[error(
        "could not unwrap the image key from the {0} TLV (wrong private key or corrupted TLV)"
    )]
    UnwrapFailed(EncTlvKind),
    /// Wrapping the key failed inside the cipher library.
    #[error("could not wrap the image key for {0}")]
    WrapFailed(&'static str),
    /// The image carries no encryption TLV this key can open.
    #[error("the image has no encryption TLV for a {0} key")]
    NoEncTlv(&'static str),
    /// The unwrapped key's size disagrees with the header's AES flag.
    #[error("the unwrapped key is {key} bits but the header announces AES-{flag}")]
    KeyLenFlagMismatch {
        /// Unwrapped key size in bits.
        key: usize,
        /// Size announced by the header flag.
        flag: usize,
    },
    /// A keystream offset beyond what the counter can address.
    #[error("AES-CTR offset {0} is out of range")]
    CounterOffset(u64),
}

/// The wrapped-key TLV to append to an image.
pub type EncTlv = (EncTlvKind, Vec<u8>);

/// A fresh image key with its wrapped-key TLV: `(plaintext key, kind, value)`.
pub type NewImageKey = (Zeroizing<Vec<u8>>, EncTlvKind, Vec<u8>);

#[cfg(test)]
mod tests;
