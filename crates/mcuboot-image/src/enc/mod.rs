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

mod keys;
mod layout;

use std::boxed::Box;
use std::vec::Vec;

use aes::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use hmac::{Mac, SimpleHmac};
use rand_core::CryptoRngCore;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::TlvKind;

pub use keys::{DecryptionKey, Kek, KeyError, Recipient};
pub use layout::LayoutError;

/// `info` string of the HKDF step of MCUboot's ECIES (`boot_decrypt_key`,
/// `encrypted.c`; imgtool `ecies_hkdf`).
const ECIES_HKDF_INFO: &[u8] = b"MCUBoot_ECIES_v1";
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

/// Draws a fresh AES key of `key_len` and wraps it for `recipient`.
///
/// Returns the plaintext key (to encrypt the payload with [`AesCtr`]), the
/// TLV kind and the TLV value, laid out as imgtool and MCUboot expect.
/// `hmac` only matters for ECIES; SHA-512 is accepted for X25519 only, like
/// imgtool, and ignored for RSA and key wrap (imgtool ignores it for RSA too).
pub fn wrap_new_key(
    recipient: &Recipient,
    key_len: AesKeyLen,
    hmac: HmacSha,
    rng: &mut impl CryptoRngCore,
) -> Result<NewImageKey, EncError> {
    let mut key = Zeroizing::new(std::vec![0u8; key_len.bytes()]);
    rng.fill_bytes(&mut key);
    let (kind, tlv) = wrap_key(recipient, &key, hmac, rng)?;
    Ok((key, kind, tlv))
}

/// Wraps a given AES key (16 or 32 bytes) for `recipient`; see
/// [`wrap_new_key`]. The ECIES ephemeral key and RSA padding come from `rng`.
pub fn wrap_key(
    recipient: &Recipient,
    key: &[u8],
    hmac: HmacSha,
    rng: &mut impl CryptoRngCore,
) -> Result<EncTlv, EncError> {
    let key_len = AesKeyLen::from_bytes(key.len()).ok_or(EncError::AesKeyLength(key.len()))?;
    match recipient {
        Recipient::Rsa2048(public) => {
            let tlv = public
                .encrypt(rng, rsa::Oaep::new::<Sha256>(), key)
                .map_err(|_| EncError::WrapFailed("RSA-OAEP"))?;
            Ok((EncTlvKind::Rsa2048, tlv))
        }
        Recipient::AesKw(kek) => {
            if kek.key_len() != key_len {
                return Err(EncError::KekSizeMismatch {
                    kek: kek.as_bytes().len() * 8,
                    key: key.len() * 8,
                });
            }
            let mut tlv = std::vec![0u8; key.len() + KW_OVERHEAD];
            kw_apply(kek, key, &mut tlv, true).map_err(|_| EncError::WrapFailed("AES key wrap"))?;
            Ok((EncTlvKind::Kw, tlv))
        }
        Recipient::EcP256(public) => {
            if hmac != HmacSha::Sha256 {
                return Err(EncError::HmacSha512Unsupported("EC P-256"));
            }
            let ephemeral = p256::ecdh::EphemeralSecret::random(rng);
            let shared = ephemeral.diffie_hellman(public);
            // X9.62 uncompressed point, as imgtool (`Encoding.X962`,
            // `UncompressedPoint`) and MCUboot (`EC_PUBK_LEN` = 65) use.
            let eph_pub = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &ephemeral.public_key(),
                false,
            );
            let tlv = ecies_seal(
                eph_pub.as_bytes(),
                shared.raw_secret_bytes(),
                key,
                HmacSha::Sha256,
            )?;
            Ok((EncTlvKind::Ec256, tlv))
        }
        Recipient::X25519(public) => {
            let ephemeral = x25519_dalek::EphemeralSecret::random_from_rng(&mut *rng);
            let eph_pub = x25519_dalek::PublicKey::from(&ephemeral);
            let shared = ephemeral.diffie_hellman(public);
            if !shared.was_contributory() {
                return Err(EncError::WrapFailed("X25519 (low-order public key)"));
            }
            let tlv = ecies_seal(eph_pub.as_bytes(), shared.as_bytes(), key, hmac)?;
            let kind = match hmac {
                HmacSha::Sha256 => EncTlvKind::X25519,
                HmacSha::Sha512 => EncTlvKind::X25519Sha512,
            };
            Ok((kind, tlv))
        }
    }
}

/// Unwraps the image key from an encryption TLV, as MCUboot's
/// `boot_decrypt_key` does. The key length follows from the TLV length.
pub fn unwrap_key(
    private: &DecryptionKey,
    kind: EncTlvKind,
    tlv: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EncError> {
    if !kind.opened_by(private) {
        return Err(EncError::WrongKeyType {
            key: private.kind_name(),
            kind,
        });
    }
    let key_len = [AesKeyLen::Aes128, AesKeyLen::Aes256]
        .into_iter()
        .find(|&l| kind.tlv_len(l) == tlv.len())
        .ok_or(EncError::TlvLength {
            kind,
            len: tlv.len(),
            expected: match kind {
                EncTlvKind::Rsa2048 => "256",
                EncTlvKind::Kw => "24 or 40",
                EncTlvKind::Ec256 => "113 or 129",
                EncTlvKind::X25519 => "80 or 96",
                EncTlvKind::X25519Sha512 => "112 or 128",
            },
        })?;
    match private {
        DecryptionKey::Rsa2048(secret) => {
            // Blinded decryption: the TLV is attacker-controlled input.
            let key = Zeroizing::new(
                secret
                    .decrypt_blinded(&mut rand_core::OsRng, rsa::Oaep::new::<Sha256>(), tlv)
                    .map_err(|_| EncError::UnwrapFailed(kind))?,
            );
            if AesKeyLen::from_bytes(key.len()).is_none() {
                return Err(EncError::UnwrapFailed(kind));
            }
            Ok(key)
        }
        DecryptionKey::AesKw(kek) => {
            if kek.key_len() != key_len {
                return Err(EncError::KekSizeMismatch {
                    kek: kek.as_bytes().len() * 8,
                    key: key_len.bytes() * 8,
                });
            }
            let mut key = Zeroizing::new(std::vec![0u8; key_len.bytes()]);
            kw_apply(kek, tlv, &mut key, false).map_err(|_| EncError::UnwrapFailed(kind))?;
            Ok(key)
        }
        DecryptionKey::EcP256(secret) => {
            let (eph_pub, rest) = tlv.split_at(EC256_PUBKEY_LEN);
            // MCUboot reads an uncompressed point (`EC_PUBK_LEN` = 65).
            if eph_pub.first() != Some(&0x04) {
                return Err(EncError::UnwrapFailed(kind));
            }
            let eph_pub = p256::PublicKey::from_sec1_bytes(eph_pub)
                .map_err(|_| EncError::UnwrapFailed(kind))?;
            let shared =
                p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), eph_pub.as_affine());
            ecies_open(
                kind,
                shared.raw_secret_bytes(),
                rest,
                key_len,
                HmacSha::Sha256,
            )
        }
        DecryptionKey::X25519(secret) => {
            let (eph_pub, rest) = tlv.split_at(X25519_PUBKEY_LEN);
            let eph_pub: [u8; 32] = eph_pub
                .try_into()
                .map_err(|_| EncError::UnwrapFailed(kind))?;
            let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(eph_pub));
            if !shared.was_contributory() {
                return Err(EncError::UnwrapFailed(kind));
            }
            let hmac = if kind == EncTlvKind::X25519Sha512 {
                HmacSha::Sha512
            } else {
                HmacSha::Sha256
            };
            ecies_open(kind, shared.as_bytes(), rest, key_len, hmac)
        }
    }
}

fn kw_apply(kek: &Kek, input: &[u8], out: &mut [u8], wrap: bool) -> Result<(), aes_kw::Error> {
    match kek.key_len() {
        AesKeyLen::Aes128 => {
            let kek = aes_kw::KekAes128::try_from(kek.as_bytes())?;
            if wrap {
                kek.wrap(input, out)
            } else {
                kek.unwrap(input, out)
            }
        }
        AesKeyLen::Aes256 => {
            let kek = aes_kw::KekAes256::try_from(kek.as_bytes())?;
            if wrap {
                kek.wrap(input, out)
            } else {
                kek.unwrap(input, out)
            }
        }
    }
}

/// HKDF(salt none, IKM = shared, info "MCUBoot_ECIES_v1"), split into the
/// AES key (first `key_len` bytes) and the HMAC key (the rest, hash-sized).
fn ecies_derive(
    shared: &[u8],
    key_len: AesKeyLen,
    hmac: HmacSha,
) -> Result<Zeroizing<Vec<u8>>, EncError> {
    let mut okm = Zeroizing::new(std::vec![0u8; key_len.bytes() + hmac.tag_len()]);
    let expanded = match hmac {
        HmacSha::Sha256 => {
            hkdf::Hkdf::<Sha256>::new(None, shared).expand(ECIES_HKDF_INFO, &mut okm)
        }
        HmacSha::Sha512 => {
            hkdf::Hkdf::<Sha512>::new(None, shared).expand(ECIES_HKDF_INFO, &mut okm)
        }
    };
    // The requested length is far below HKDF's 255-block limit.
    expanded.map_err(|_| EncError::WrapFailed("HKDF"))?;
    Ok(okm)
}

fn ecies_tag(mac_key: &[u8], cipherkey: &[u8], hmac: HmacSha) -> Vec<u8> {
    // `SimpleHmac::new_from_slice` accepts any key length; the error arm is
    // unreachable but handled without panicking.
    match hmac {
        HmacSha::Sha256 => SimpleHmac::<Sha256>::new_from_slice(mac_key)
            .map(|mut m| {
                m.update(cipherkey);
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default(),
        HmacSha::Sha512 => SimpleHmac::<Sha512>::new_from_slice(mac_key)
            .map(|mut m| {
                m.update(cipherkey);
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default(),
    }
}

/// Builds `eph_pub ‖ tag ‖ cipherkey` (imgtool `create`: `pubk + mac + cipherkey`).
fn ecies_seal(
    eph_pub: &[u8],
    shared: &[u8],
    key: &[u8],
    hmac: HmacSha,
) -> Result<Vec<u8>, EncError> {
    let key_len = AesKeyLen::from_bytes(key.len()).ok_or(EncError::AesKeyLength(key.len()))?;
    let okm = ecies_derive(shared, key_len, hmac)?;
    let (enc_key, mac_key) = okm.split_at(key_len.bytes());
    let mut cipherkey = Zeroizing::new(key.to_vec());
    aes_ctr_apply(enc_key, 0, &mut cipherkey)?;
    let tag = ecies_tag(mac_key, &cipherkey, hmac);
    if tag.len() != hmac.tag_len() {
        return Err(EncError::WrapFailed("HMAC"));
    }
    let mut tlv = Vec::with_capacity(eph_pub.len() + tag.len() + key.len());
    tlv.extend_from_slice(eph_pub);
    tlv.extend_from_slice(&tag);
    tlv.extend_from_slice(&cipherkey);
    Ok(tlv)
}

/// Checks the tag (constant time, like MCUboot) and decrypts the key.
/// `rest` is `tag ‖ cipherkey`.
fn ecies_open(
    kind: EncTlvKind,
    shared: &[u8],
    rest: &[u8],
    key_len: AesKeyLen,
    hmac: HmacSha,
) -> Result<Zeroizing<Vec<u8>>, EncError> {
    let (tag, cipherkey) = rest.split_at(hmac.tag_len().min(rest.len()));
    if cipherkey.len() != key_len.bytes() {
        return Err(EncError::UnwrapFailed(kind));
    }
    let okm = ecies_derive(shared, key_len, hmac)?;
    let (enc_key, mac_key) = okm.split_at(key_len.bytes());
    let expected = ecies_tag(mac_key, cipherkey, hmac);
    if expected.len() != tag.len() || !bool::from(expected.ct_eq(tag)) {
        return Err(EncError::UnwrapFailed(kind));
    }
    let mut key = Zeroizing::new(cipherkey.to_vec());
    aes_ctr_apply(enc_key, 0, &mut key)?;
    Ok(key)
}

enum CtrCipher {
    Aes128(Box<ctr::Ctr128BE<aes::Aes128>>),
    Aes256(Box<ctr::Ctr128BE<aes::Aes256>>),
}

/// MCUboot's payload cipher: AES-CTR whose counter block for payload byte
/// `o` is `00×12 ‖ BE32(o / 16)` (`boot_enc_encrypt`/`boot_enc_decrypt`,
/// `encrypted.c`), i.e. standard big-endian CTR with an all-zero initial
/// block, as imgtool uses (`modes.CTR(bytes(16))`). The 128-bit counter
/// agrees with MCUboot's 32-bit one for every payload below 64 GiB, which
/// covers every valid image (`ih_img_size` is a u32).
///
/// Stateful so large payloads can be processed in chunks at any offset;
/// encryption and decryption are the same operation. The AES key schedule
/// and the buffered keystream are zeroized on drop (`aes`/`ctr` `zeroize`
/// features).
pub struct AesCtr {
    cipher: CtrCipher,
}

impl AesCtr {
    /// A cipher for a 16- or 32-byte image key.
    pub fn new(key: &[u8]) -> Result<Self, EncError> {
        let iv = [0u8; AES_BLOCK_SIZE];
        let cipher = match key.len() {
            16 => CtrCipher::Aes128(Box::new(
                ctr::Ctr128BE::<aes::Aes128>::new_from_slices(key, &iv)
                    .map_err(|_| EncError::AesKeyLength(key.len()))?,
            )),
            32 => CtrCipher::Aes256(Box::new(
                ctr::Ctr128BE::<aes::Aes256>::new_from_slices(key, &iv)
                    .map_err(|_| EncError::AesKeyLength(key.len()))?,
            )),
            n => return Err(EncError::AesKeyLength(n)),
        };
        Ok(Self { cipher })
    }

    /// XORs the keystream for payload offsets `offset..offset + data.len()`
    /// into `data` (encrypts or decrypts).
    pub fn apply_at(&mut self, offset: u64, data: &mut [u8]) -> Result<(), EncError> {
        match &mut self.cipher {
            CtrCipher::Aes128(c) => {
                c.try_seek(offset)
                    .map_err(|_| EncError::CounterOffset(offset))?;
                c.try_apply_keystream(data)
                    .map_err(|_| EncError::CounterOffset(offset))
            }
            CtrCipher::Aes256(c) => {
                c.try_seek(offset)
                    .map_err(|_| EncError::CounterOffset(offset))?;
                c.try_apply_keystream(data)
                    .map_err(|_| EncError::CounterOffset(offset))
            }
        }
    }
}

impl core::fmt::Debug for AesCtr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AesCtr(secret)")
    }
}

/// One-shot [`AesCtr`]: XORs the keystream for payload offsets
/// `offset..offset + data.len()` into `data`.
pub fn aes_ctr_apply(key: &[u8], offset: u64, data: &mut [u8]) -> Result<(), EncError> {
    AesCtr::new(key)?.apply_at(offset, data)
}

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

#[cfg(test)]
mod tests;
