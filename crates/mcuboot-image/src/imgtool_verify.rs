//! imgtool 2.5.0's own `verify` walk (`image.py` `Image.verify`), for the
//! `imgtool` personality.
//!
//! MCUboot's validation ([`crate::validate`]) refuses a malformed image
//! early and for one reason. imgtool reads the same bytes differently: it
//! unpacks the header and each TLV header with `struct.unpack` (a short
//! read is a `struct.error`), slices the rest with Python's forgiving
//! slices, reads a TLV's type from its low byte only, looks for the first
//! hash TLV that matches and the first signature that verifies, and calls
//! methods some key classes lack. A script reads imgtool's verdict line or
//! its exception, so the personality walks the image as imgtool does.
//!
//! ```
//! use mcuboot_image::imgtool_verify::{imgtool_verify, ImgtoolVerdict};
//! // 16 bytes: the header's first unpack succeeds, the version's fails
//! let verdict = imgtool_verify(&[0u8; 16], None);
//! assert_eq!(
//!     verdict,
//!     ImgtoolVerdict::Exception("struct.error: unpack requires a buffer of 8 bytes".into())
//! );
//! ```

use std::string::{String, ToString};
use std::vec::Vec;

use key_files::{KeyFile, KeyKind};

use crate::codec::header::IMAGE_MAGIC;
use crate::codec::tlv::{TlvKind, TLV_INFO_MAGIC, TLV_PROT_INFO_MAGIC};
use crate::keys::McubootKey as _;
use crate::HashAlg;

/// How imgtool's `verify` ends (`VerifyResult`, or an exception).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImgtoolVerdict {
    /// `OK`: the version's four parts, the digest of the hash TLV that
    /// matched (if one did before the verdict), and a pure signature.
    Ok {
        /// Major, minor, revision, build.
        version: [u32; 4],
        /// The matched hash TLV's digest.
        digest: Option<Vec<u8>>,
        /// The pure Ed25519 signature that verified.
        signature: Option<Vec<u8>>,
    },
    /// `INVALID_MAGIC`.
    InvalidMagic,
    /// `INVALID_TLV_INFO_MAGIC`.
    InvalidTlvInfoMagic,
    /// `INVALID_HASH`: a hash TLV that does not match.
    InvalidHash,
    /// `INVALID_SIGNATURE`: no TLV verified.
    InvalidSignature,
    /// `KEY_MISMATCH`: a hash TLV the key's class does not allow.
    KeyMismatch,
    /// An exception imgtool does not catch: its traceback's last line.
    Exception(String),
}

/// TLV_INFO_SIZE and TLV_SIZE (`image.py`).
const INFO_SIZE: usize = 4;
/// A TLV's header: type byte, a byte imgtool skips, length.
const TLV_SIZE: usize = 4;

/// Python's `b[start:end]`, for non-negative bounds.
fn slice(b: &[u8], start: usize, end: usize) -> &[u8] {
    let start = start.min(b.len());
    &b[start..end.clamp(start, b.len())]
}

/// `struct.unpack` of `len` bytes: Python's error when the slice is short.
fn unpack(b: &[u8], start: usize, len: usize) -> Result<&[u8], ImgtoolVerdict> {
    let bytes = slice(b, start, start.saturating_add(len));
    if bytes.len() == len {
        Ok(bytes)
    } else {
        Err(ImgtoolVerdict::Exception(std::format!(
            "struct.error: unpack requires a buffer of {len} bytes"
        )))
    }
}

fn u16_at(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn u32_at(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The key imgtool loaded, as its Python class behaves in `verify`.
struct Key<'a> {
    file: &'a KeyFile,
    private: bool,
}

impl Key<'_> {
    /// imgtool's class name (`keys/*.py`), for its AttributeErrors.
    fn class(&self) -> &'static str {
        match (self.file.kind(), self.private) {
            (KeyKind::EcdsaP256, false) => "ECDSA256P1Public",
            (KeyKind::EcdsaP256, true) => "ECDSA256P1",
            (KeyKind::EcdsaP384, false) => "ECDSA384P1Public",
            (KeyKind::EcdsaP384, true) => "ECDSA384P1",
            (KeyKind::Ed25519, false) => "Ed25519Public",
            (KeyKind::Ed25519, true) => "Ed25519",
            (KeyKind::X25519, false) => "X25519Public",
            (KeyKind::X25519, true) => "X25519",
            (_, false) => "RSAPublic",
            (_, true) => "RSA",
        }
    }

    /// `tlv_matches_key_type`: whether `ALLOWED_KEY_SHA[type(key)]` lists
    /// the hash (a class the table lacks matches none).
    fn allows(&self, hash: HashAlg) -> bool {
        let allowed: &[HashAlg] = match (self.file.kind(), self.private) {
            (KeyKind::EcdsaP384, _) => &[HashAlg::Sha384],
            (KeyKind::EcdsaP256, true) => &[HashAlg::Sha256],
            (KeyKind::EcdsaP256, false) => &[HashAlg::Sha256, HashAlg::Sha512],
            (KeyKind::Ed25519, _) | (KeyKind::X25519, true) => &[HashAlg::Sha256, HashAlg::Sha512],
            (KeyKind::X25519, false) => &[],
            _ => &[HashAlg::Sha256],
        };
        allowed.contains(&hash)
    }

    /// `TLV_VALUES[key.sig_tlv()]`: the signature TLV's type byte, or the
    /// KeyError of a name the table lacks.
    fn signature_tlv(&self) -> Result<u8, ImgtoolVerdict> {
        let kind = match self.file.kind() {
            KeyKind::EcdsaP256 | KeyKind::EcdsaP384 => TlvKind::EcdsaSig,
            KeyKind::Ed25519 => TlvKind::Ed25519,
            KeyKind::X25519 => {
                return Err(ImgtoolVerdict::Exception("KeyError: 'X25519'".to_string()))
            }
            KeyKind::RSA_3072 => TlvKind::Rsa3072Pss,
            _ => TlvKind::Rsa2048Pss,
        };
        Ok(kind.code() as u8)
    }

    /// The non-pure signature check: `key.verify(sig, payload)` where the
    /// class has it, else `key.verify_digest(sig, digest)`.
    fn verify(
        &self,
        sig: &[u8],
        payload: &[u8],
        digest: Option<&[u8]>,
    ) -> Result<bool, ImgtoolVerdict> {
        let public = self.file.public_key();
        let der = public.embedded_der().unwrap_or_default();
        match self.file.kind() {
            KeyKind::Ed25519 => {
                // Ed25519's verify_digest over the hash TLV's digest
                let Some(digest) = digest else {
                    return Err(ImgtoolVerdict::Exception(
                        // cryptography adds a note to the exception
                        "TypeError: Cannot convert \"<class 'NoneType'>\" instance to a buffer.\nwhile processing 'data'"
                            .to_string(),
                    ));
                };
                Ok(ed25519_verify(&der, sig, digest))
            }
            KeyKind::X25519 => Err(self.no_attribute()),
            KeyKind::EcdsaP256 | KeyKind::EcdsaP384 => {
                // `signature[:signature[1] + 2]` drops the padding
                let Some(&len) = sig.get(1) else {
                    return Err(ImgtoolVerdict::Exception(
                        "IndexError: index out of range".to_string(),
                    ));
                };
                let sig = slice(sig, 0, usize::from(len) + 2);
                Ok(ecdsa_verify(self.file.kind(), &der, sig, payload))
            }
            kind => Ok(rsa_verify(kind, &der, sig, payload)),
        }
    }

    /// The pure signature check: `key.verify_digest(sig, hash_region)`.
    fn verify_pure(&self, sig: &[u8], region: &[u8]) -> Result<bool, ImgtoolVerdict> {
        match self.file.kind() {
            KeyKind::Ed25519 => {
                let der = self.file.public_key().embedded_der().unwrap_or_default();
                Ok(ed25519_verify(&der, sig, region))
            }
            _ => Err(self.no_attribute()),
        }
    }

    /// The AttributeError of a class without `verify_digest` (the X25519
    /// private key's `verify_digest` calls a `verify` that cryptography's
    /// X25519 public key lacks).
    fn no_attribute(&self) -> ImgtoolVerdict {
        ImgtoolVerdict::Exception(if self.file.kind() == KeyKind::X25519 && self.private {
            // cryptography's X25519 public key class, as Python 3.11 names it
            "AttributeError: 'cryptography.hazmat.bindings._rust.openssl.x25519.' object has no attribute 'verify'"
                .to_string()
        } else {
            std::format!(
                "AttributeError: '{}' object has no attribute 'verify_digest'",
                self.class()
            )
        })
    }
}

fn ed25519_verify(spki: &[u8], sig: &[u8], message: &[u8]) -> bool {
    use ed25519_dalek::Verifier as _;
    let key = crate::ed25519_key_from_spki(spki)
        .and_then(|raw| ed25519_dalek::VerifyingKey::from_bytes(&raw).ok());
    let sig = <[u8; 64]>::try_from(sig)
        .ok()
        .map(|s| ed25519_dalek::Signature::from_bytes(&s));
    match (key, sig) {
        (Some(key), Some(sig)) => key.verify(message, &sig).is_ok(),
        _ => false,
    }
}

/// ECDSA over SHA-256 (P-256) or SHA-384 (P-384) of `payload`, with a DER
/// signature (`ec.ECDSA(SHA256())` / `ec.ECDSA(SHA384())`).
fn ecdsa_verify(kind: KeyKind, spki: &[u8], sig: &[u8], payload: &[u8]) -> bool {
    use p256::ecdsa::signature::Verifier as _;
    use p256::pkcs8::DecodePublicKey as _;
    if kind == KeyKind::EcdsaP384 {
        let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki);
        let sig = p384::ecdsa::Signature::from_der(sig);
        matches!((key, sig), (Ok(k), Ok(s)) if k.verify(payload, &s).is_ok())
    } else {
        let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki);
        let sig = p256::ecdsa::Signature::from_der(sig);
        matches!((key, sig), (Ok(k), Ok(s)) if k.verify(payload, &s).is_ok())
    }
}

/// RSA-PSS with SHA-256 and a 32-byte salt over `payload`.
fn rsa_verify(kind: KeyKind, pkcs1: &[u8], sig: &[u8], payload: &[u8]) -> bool {
    let bits = if kind == KeyKind::RSA_3072 {
        3072
    } else {
        2048
    };
    let digest = HashAlg::Sha256.digest(payload);
    crate::verify::rsa::verify_pss(pkcs1, bits, digest.as_bytes(), sig).unwrap_or(false)
}

/// The hash a TLV type byte names (`TLV_SHA_TO_SHA_AND_ALG`).
fn hash_of(tlv_type: u8) -> Option<HashAlg> {
    [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512]
        .into_iter()
        .find(|alg| alg.tlv().code() == u16::from(tlv_type))
}

/// Walks `image` as imgtool 2.5.0's `Image.verify` does, with the key
/// file `key` (`-k`) if given.
#[must_use]
pub fn imgtool_verify(image: &[u8], key: Option<&KeyFile>) -> ImgtoolVerdict {
    let key = key.map(|file| Key {
        file,
        private: matches!(file, KeyFile::Private(_)),
    });
    walk(image, key.as_ref()).unwrap_or_else(|end| end)
}

fn walk(b: &[u8], key: Option<&Key<'_>>) -> Result<ImgtoolVerdict, ImgtoolVerdict> {
    // struct.unpack('IIHHI', b[:16]) and ('BBHI', b[20:28]), both before
    // the magic is looked at (native order: little-endian)
    let header = unpack(b, 0, 16)?;
    let raw_version = unpack(b, 20, 8)?;
    let version = [
        u32::from(raw_version[0]),
        u32::from(raw_version[1]),
        u32::from(u16_at(&raw_version[2..])),
        u32_at(&raw_version[4..]),
    ];
    if u32_at(header) != IMAGE_MAGIC {
        return Ok(ImgtoolVerdict::InvalidMagic);
    }
    let header_size = usize::from(u16_at(&header[8..]));
    let image_size = u32_at(&header[12..]) as usize;
    let mut tlv_off = header_size + image_size;
    let info = unpack(b, tlv_off, INFO_SIZE)?;
    let (mut magic, mut tlv_tot) = (u16_at(info), usize::from(u16_at(&info[2..])));
    if magic == TLV_PROT_INFO_MAGIC {
        tlv_off += tlv_tot;
        let info = unpack(b, tlv_off, INFO_SIZE)?;
        (magic, tlv_tot) = (u16_at(info), usize::from(u16_at(&info[2..])));
    }
    if magic != TLV_INFO_MAGIC {
        return Ok(ImgtoolVerdict::InvalidTlvInfoMagic);
    }
    let hashed = tlv_off;
    let hash_region = slice(b, 0, hashed);
    let tlv_end = tlv_off + tlv_tot;
    // each TLV: its type's low byte and its length
    let tlv_at = |off: usize| -> Result<(u8, usize), ImgtoolVerdict> {
        let tlv = unpack(b, off, TLV_SIZE)?;
        Ok((tlv[0], usize::from(u16_at(&tlv[2..]))))
    };
    // first, whether any TLV is SIG_PURE
    let mut pure = false;
    let mut off = tlv_off + INFO_SIZE;
    while off < tlv_end {
        let (tlv_type, len) = tlv_at(off)?;
        if u16::from(tlv_type) == TlvKind::SigPure.code() {
            pure = true;
            break;
        }
        off += TLV_SIZE + len;
    }
    let mut digest: Option<Vec<u8>> = None;
    let mut off = tlv_off + INFO_SIZE;
    while off < tlv_end {
        let (tlv_type, len) = tlv_at(off)?;
        let value = slice(b, off + TLV_SIZE, off + TLV_SIZE + len);
        if let Some(alg) = hash_of(tlv_type) {
            if key.is_some_and(|k| !k.allows(alg)) {
                return Ok(ImgtoolVerdict::KeyMismatch);
            }
            let computed = alg.digest(hash_region).as_bytes().to_vec();
            if computed != value {
                return Ok(ImgtoolVerdict::InvalidHash);
            }
            digest = Some(computed);
            if key.is_none() {
                return Ok(ImgtoolVerdict::Ok {
                    version,
                    digest,
                    signature: None,
                });
            }
        } else if let Some(key) = key {
            if !pure && tlv_type == key.signature_tlv()? {
                if key.verify(value, hash_region, digest.as_deref())? {
                    return Ok(ImgtoolVerdict::Ok {
                        version,
                        digest,
                        signature: None,
                    });
                }
            } else if pure
                && u16::from(tlv_type) == TlvKind::Ed25519.code()
                && key.verify_pure(value, hash_region)?
            {
                return Ok(ImgtoolVerdict::Ok {
                    version,
                    digest: None,
                    signature: Some(value.to_vec()),
                });
            }
        }
        off += TLV_SIZE + len;
    }
    Ok(ImgtoolVerdict::InvalidSignature)
}
