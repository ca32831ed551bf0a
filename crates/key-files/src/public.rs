//! Public keys: SubjectPublicKeyInfo and PKCS#1 `RSAPublicKey`.

use der::asn1::BitStringRef;
use der::{Decode, Encode};
use pkcs8::EncodePublicKey;
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;

use crate::error::{encode_failed, malformed};
use crate::oid::{self, Algorithm};
use crate::{KeyFileError, KeyFormat, KeyKind, P192PublicKey, RSA_BITS};

/// A public key of any type this crate reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// RSA (2048, 3072 or 4096 bits when loaded from a file).
    Rsa(rsa::RsaPublicKey),
    /// ECDSA P-192.
    P192(P192PublicKey),
    /// ECDSA P-256.
    P256(p256::PublicKey),
    /// ECDSA P-384.
    P384(p384::PublicKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// X25519.
    X25519(x25519_dalek::PublicKey),
}

/// Refuses RSA moduli outside [`RSA_BITS`].
pub(crate) fn check_rsa_bits(bytes: usize) -> Result<(), KeyFileError> {
    let bits = bytes * 8;
    if RSA_BITS.contains(&bits) {
        Ok(())
    } else {
        Err(KeyFileError::UnsupportedRsaSize { bits })
    }
}

/// The key of `parsed` when its modulus being even is all the `rsa` crate
/// refuses: cryptography (OpenSSL's RSA public key checks) loads such a
/// key, and espsecure computes its Secure Boot V2 digest and finds that it
/// signed nothing; the `rsa` crate requires an odd modulus.
fn even_modulus(parsed: &rsa::pkcs1::RsaPublicKey<'_>) -> Option<rsa::RsaPublicKey> {
    let modulus = parsed.modulus.as_bytes();
    if modulus.last().is_none_or(|b| b & 1 == 1) {
        return None;
    }
    let n = rsa::BigUint::from_bytes_be(modulus);
    let e = rsa::BigUint::from_bytes_be(parsed.public_exponent.as_bytes());
    // n + 1 has the same size: every other check the `rsa` crate makes
    // judges it as it would judge n
    rsa::RsaPublicKey::new(&n + 1u8, e.clone()).ok()?;
    Some(rsa::RsaPublicKey::new_unchecked(n, e))
}

impl PublicKey {
    /// The key's type.
    #[must_use]
    pub fn kind(&self) -> KeyKind {
        match self {
            Self::Rsa(k) => KeyKind::Rsa { bits: k.size() * 8 },
            Self::P192(_) => KeyKind::EcdsaP192,
            Self::P256(_) => KeyKind::EcdsaP256,
            Self::P384(_) => KeyKind::EcdsaP384,
            Self::Ed25519(_) => KeyKind::Ed25519,
            Self::X25519(_) => KeyKind::X25519,
        }
    }

    /// Reads a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`KeyFileError::Malformed`] or [`KeyFileError::InvalidKey`] for bad
    /// input, `Unsupported*` for other algorithms, curves and RSA sizes.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyFileError> {
        let format = KeyFormat::Spki;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(malformed(format))?;
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyFileError::Malformed {
                format,
                source: der::Tag::BitString.value_error(),
            })?;
        let invalid = |_: p256::elliptic_curve::Error| KeyFileError::InvalidKey { format };
        Ok(match Algorithm::identify(&spki.algorithm, false)? {
            Algorithm::Rsa => Self::from_pkcs1_der(raw)?,
            Algorithm::EcP192 => Self::P192(P192PublicKey::from_sec1_bytes(raw).map_err(invalid)?),
            Algorithm::EcP256 => {
                Self::P256(p256::PublicKey::from_sec1_bytes(raw).map_err(invalid)?)
            }
            Algorithm::EcP384 => {
                Self::P384(p384::PublicKey::from_sec1_bytes(raw).map_err(invalid)?)
            }
            Algorithm::Ed25519 => {
                let bytes: [u8; 32] = raw
                    .try_into()
                    .map_err(|_| KeyFileError::InvalidKey { format })?;
                Self::Ed25519(
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                        .map_err(|_| KeyFileError::InvalidKey { format })?,
                )
            }
            Algorithm::X25519 => {
                let bytes: [u8; 32] = raw
                    .try_into()
                    .map_err(|_| KeyFileError::InvalidKey { format })?;
                Self::X25519(x25519_dalek::PublicKey::from(bytes))
            }
        })
    }

    /// Reads a DER PKCS#1 `RSAPublicKey`.
    ///
    /// # Errors
    /// As [`Self::from_spki_der`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyFileError> {
        let format = KeyFormat::Pkcs1Public;
        // Check the size before `rsa` builds the key: it refuses moduli
        // over 4096 bits with an error that would read as "malformed".
        let parsed = rsa::pkcs1::RsaPublicKey::from_der(der).map_err(malformed(format))?;
        check_rsa_bits(parsed.modulus.as_bytes().len())?;
        let key = match rsa::RsaPublicKey::from_pkcs1_der(der) {
            Ok(key) => key,
            Err(e) => even_modulus(&parsed).ok_or_else(|| malformed(format)(e))?,
        };
        check_rsa_bits(key.size())?;
        Ok(Self::Rsa(key))
    }

    /// DER `SubjectPublicKeyInfo`, as OpenSSL writes it.
    ///
    /// # Errors
    /// Only if encoding fails (not expected).
    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyFileError> {
        let format = KeyFormat::Spki;
        let doc = match self {
            Self::Rsa(k) => k.to_public_key_der(),
            Self::P192(k) => k.to_public_key_der(),
            Self::P256(k) => k.to_public_key_der(),
            Self::P384(k) => k.to_public_key_der(),
            Self::Ed25519(k) => return rfc8410_spki(oid::ED25519, k.as_bytes()),
            Self::X25519(k) => return rfc8410_spki(oid::X25519, k.as_bytes()),
        };
        doc.map(|d| d.into_vec()).map_err(encode_failed(format))
    }

    /// `SubjectPublicKeyInfo` PEM (`PUBLIC KEY`, 64 columns, LF).
    ///
    /// # Errors
    /// Only if encoding fails (not expected).
    pub fn to_spki_pem(&self) -> Result<String, KeyFileError> {
        let der = self.to_spki_der()?;
        crate::pem::encode(KeyFormat::Spki, &der).map(|pem| pem.to_string())
    }

    /// DER PKCS#1 `RSAPublicKey`.
    ///
    /// # Errors
    /// [`KeyFileError::NoSuchEncoding`] for other key types.
    pub fn to_pkcs1_der(&self) -> Result<Vec<u8>, KeyFileError> {
        let format = KeyFormat::Pkcs1Public;
        match self {
            Self::Rsa(k) => k
                .to_pkcs1_der()
                .map(|d| d.into_vec())
                .map_err(encode_failed(format)),
            other => Err(KeyFileError::NoSuchEncoding {
                kind: other.kind(),
                format,
            }),
        }
    }
}

/// RFC 8410 §4 `SubjectPublicKeyInfo`: the OID, no parameters, the raw key.
fn rfc8410_spki(
    algorithm: der::asn1::ObjectIdentifier,
    raw: &[u8],
) -> Result<Vec<u8>, KeyFileError> {
    let format = KeyFormat::Spki;
    let spki = spki::SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: algorithm,
            parameters: None,
        },
        subject_public_key: BitStringRef::from_bytes(raw).map_err(encode_failed(format))?,
    };
    spki.to_der().map_err(encode_failed(format))
}
