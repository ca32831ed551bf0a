//! Signature schemes and their verification (`image_ed25519.c`,
//! `image_ecdsa.c`, `image_rsa.c`).

use super::hash::{Digest, HashAlg};
use super::ValidateError;
use crate::codec::tlv::TlvKind;
use crate::source::{stream, ImageSource};

/// Signature algorithm the bootloader is built for (`MCUBOOT_SIGN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureKind {
    /// RSA-2048 PSS, TLV 0x20.
    Rsa2048,
    /// RSA-3072 PSS, TLV 0x23.
    Rsa3072,
    /// ECDSA P-256, TLV 0x22.
    EcdsaP256,
    /// ECDSA P-384, TLV 0x22.
    EcdsaP384,
    /// Ed25519, TLV 0x24.
    Ed25519,
}

impl SignatureKind {
    /// The TLV carrying this signature.
    #[must_use]
    pub const fn tlv(self) -> TlvKind {
        match self {
            Self::Rsa2048 => TlvKind::Rsa2048Pss,
            Self::Rsa3072 => TlvKind::Rsa3072Pss,
            Self::EcdsaP256 | Self::EcdsaP384 => TlvKind::EcdsaSig,
            Self::Ed25519 => TlvKind::Ed25519,
        }
    }

    /// The hash imgtool uses by default for this key type (§1.5).
    #[must_use]
    pub const fn default_hash(self) -> HashAlg {
        match self {
            Self::EcdsaP384 => HashAlg::Sha384,
            _ => HashAlg::Sha256,
        }
    }
}

impl core::fmt::Display for SignatureKind {
    /// The key type that makes this signature, as imgtool names it
    /// (`keygen -t`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::Ed25519 => "ed25519",
        })
    }
}

/// Ed25519 SubjectPublicKeyInfo prefix (RFC 8410; `imgtool getpub` output).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Raw 32-byte Ed25519 key from its 44-byte SPKI.
#[must_use]
pub fn ed25519_key_from_spki(spki: &[u8]) -> Option<[u8; 32]> {
    let rest = spki.strip_prefix(&ED25519_SPKI_PREFIX[..])?;
    rest.try_into().ok()
}

/// The DER `SEQUENCE` at the start of `sig`, dropping trailing padding
/// (`--pad-sig`): MCUboot parses the DER and ignores what follows.
fn der_prefix(sig: &[u8]) -> Option<&[u8]> {
    if *sig.first()? != 0x30 {
        return None;
    }
    let first = *sig.get(1)?;
    let (hdr, len) = match first {
        l if l < 0x80 => (2usize, usize::from(l)),
        0x81 => (3, usize::from(*sig.get(2)?)),
        _ => return None,
    };
    sig.get(..hdr.checked_add(len)?)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn verify_signature<S: ImageSource + ?Sized>(
    src: &mut S,
    kind: SignatureKind,
    key: &[u8],
    key_index: usize,
    sig: &[u8],
    digest: Option<&Digest>,
    pure: bool,
    hashed_len: u32,
) -> Result<bool, ValidateError<S::Error>> {
    let bad_key = || ValidateError::BadEmbeddedKey(key_index);
    match kind {
        SignatureKind::Ed25519 => {
            let raw = ed25519_key_from_spki(key).ok_or_else(bad_key)?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| bad_key())?;
            let Ok(sig) = <[u8; 64]>::try_from(sig) else {
                return Ok(false);
            };
            let sig = ed25519_dalek::Signature::from_bytes(&sig);
            if pure {
                let Ok(mut v) = vk.verify_stream(&sig) else {
                    return Ok(false);
                };
                stream(src, 0, hashed_len, |c| v.update(c)).map_err(ValidateError::Read)?;
                Ok(v.finalize_and_verify().is_ok())
            } else {
                let d = digest.map(Digest::as_bytes).unwrap_or_default();
                use ed25519_dalek::Verifier;
                Ok(vk.verify(d, &sig).is_ok())
            }
        }
        SignatureKind::EcdsaP256 => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            use p256::pkcs8::DecodePublicKey;
            let vk = p256::ecdsa::VerifyingKey::from_public_key_der(key).map_err(|_| bad_key())?;
            let Some(Ok(sig)) = der_prefix(sig).map(p256::ecdsa::Signature::from_der) else {
                return Ok(false);
            };
            let d = digest.map(Digest::as_bytes).unwrap_or_default();
            Ok(vk.verify_prehash(d, &sig).is_ok())
        }
        SignatureKind::EcdsaP384 => {
            use p384::ecdsa::signature::hazmat::PrehashVerifier;
            use p384::pkcs8::DecodePublicKey;
            let vk = p384::ecdsa::VerifyingKey::from_public_key_der(key).map_err(|_| bad_key())?;
            let Some(Ok(sig)) = der_prefix(sig).map(p384::ecdsa::Signature::from_der) else {
                return Ok(false);
            };
            let d = digest.map(Digest::as_bytes).unwrap_or_default();
            Ok(vk.verify_prehash(d, &sig).is_ok())
        }
        SignatureKind::Rsa2048 | SignatureKind::Rsa3072 => {
            #[cfg(feature = "rsa")]
            {
                let bits = if kind == SignatureKind::Rsa2048 {
                    2048
                } else {
                    3072
                };
                let d = digest.map(Digest::as_bytes).unwrap_or_default();
                Ok(super::rsa::verify_pss(key, bits, d, sig).map_err(|()| bad_key())?)
            }
            #[cfg(not(feature = "rsa"))]
            {
                let _ = (key, sig, digest);
                Err(ValidateError::Unsupported)
            }
        }
    }
}
