//! Private keys: PKCS#8 (plain and encrypted), PKCS#1, SEC1; generation.

use der::asn1::{ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode};
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::{CryptoRngCore, OsRng, RngCore};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use crate::error::{encode_failed, malformed};
use crate::oid::{self, Algorithm};
use crate::public::check_rsa_bits;
use crate::{pem, KeyFileError, KeyFormat, KeyKind, P192SecretKey, PublicKey, RSA_BITS};

/// PBKDF2 iterations when [`PrivateKey::to_pkcs8_pem`] encrypts (PBES2,
/// PBKDF2-HMAC-SHA256, AES-256-CBC). The keys espboot has always written.
const PBKDF2_ITERATIONS: u32 = 100_000;

/// A private key of any type this crate reads. Secret material is zeroized
/// on drop by the underlying crates; `Debug` prints only the key type.
#[derive(Clone)]
#[non_exhaustive]
pub enum PrivateKey {
    /// RSA (2048, 3072 or 4096 bits when loaded from a file).
    Rsa(Box<rsa::RsaPrivateKey>),
    /// ECDSA P-192.
    P192(P192SecretKey),
    /// ECDSA P-256.
    P256(p256::SecretKey),
    /// ECDSA P-384.
    P384(p384::SecretKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
    /// X25519.
    X25519(x25519_dalek::StaticSecret),
}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PrivateKey({}, redacted)", self.kind())
    }
}

impl PrivateKey {
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

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            Self::P192(k) => PublicKey::P192(k.public_key()),
            Self::P256(k) => PublicKey::P256(k.public_key()),
            Self::P384(k) => PublicKey::P384(k.public_key()),
            Self::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            Self::X25519(k) => PublicKey::X25519(x25519_dalek::PublicKey::from(k)),
        }
    }

    /// A fresh key from the operating system's random generator (RSA with
    /// e = 65537, as OpenSSL, imgtool and espsecure generate it).
    ///
    /// # Errors
    /// [`KeyFileError::UnsupportedRsaSize`] outside [`crate::RSA_BITS`],
    /// [`KeyFileError::Generate`] if RSA generation fails.
    pub fn generate(kind: impl Into<KeyKind>) -> Result<Self, KeyFileError> {
        Self::generate_with(kind, &mut OsRng)
    }

    /// A fresh key from `rng`.
    ///
    /// # Errors
    /// As [`Self::generate`].
    pub fn generate_with(
        kind: impl Into<KeyKind>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, KeyFileError> {
        let kind = kind.into();
        Ok(match kind {
            KeyKind::Rsa { bits } => {
                if !RSA_BITS.contains(&bits) {
                    return Err(KeyFileError::UnsupportedRsaSize { bits });
                }
                let key = rsa::RsaPrivateKey::new(rng, bits)
                    .map_err(|_| KeyFileError::Generate { kind })?;
                Self::Rsa(Box::new(key))
            }
            KeyKind::EcdsaP192 => Self::P192(P192SecretKey::random(rng)),
            KeyKind::EcdsaP256 => Self::P256(p256::SecretKey::random(rng)),
            KeyKind::EcdsaP384 => Self::P384(p384::SecretKey::random(rng)),
            KeyKind::Ed25519 => Self::Ed25519(ed25519_dalek::SigningKey::generate(rng)),
            KeyKind::X25519 => {
                let mut bytes = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(&mut bytes[..]);
                Self::X25519(x25519_dalek::StaticSecret::from(*bytes))
            }
        })
    }

    /// Reads a DER PKCS#8 `PrivateKeyInfo` (v1, or v2 with the public key).
    ///
    /// # Errors
    /// [`KeyFileError::Malformed`] or [`KeyFileError::InvalidKey`] for bad
    /// input, `Unsupported*` for other algorithms, curves and RSA sizes.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyFileError> {
        let format = KeyFormat::Pkcs8;
        let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(malformed(format))?;
        Ok(match Algorithm::identify(&info.algorithm, true)? {
            Algorithm::Rsa => Self::rsa_from_pkcs1(info.private_key, format)?,
            Algorithm::EcP192 => {
                Self::P192(P192SecretKey::from_pkcs8_der(der).map_err(malformed(format))?)
            }
            Algorithm::EcP256 => {
                Self::P256(p256::SecretKey::from_pkcs8_der(der).map_err(malformed(format))?)
            }
            Algorithm::EcP384 => {
                Self::P384(p384::SecretKey::from_pkcs8_der(der).map_err(malformed(format))?)
            }
            Algorithm::Ed25519 => {
                let bytes = rfc8410_private_key(info.private_key)?;
                Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes))
            }
            Algorithm::X25519 => {
                let bytes = rfc8410_private_key(info.private_key)?;
                Self::X25519(x25519_dalek::StaticSecret::from(*bytes))
            }
        })
    }

    /// Reads a DER PKCS#8 `EncryptedPrivateKeyInfo` (PBES2, as OpenSSL,
    /// Python `cryptography` and imgtool write it).
    ///
    /// # Errors
    /// [`KeyFileError::WrongPassword`] when `password` does not decrypt it,
    /// [`KeyFileError::UnsupportedEncryption`] for ciphers and key
    /// derivations the `pkcs5` crate lacks, else as [`Self::from_pkcs8_der`].
    pub fn from_encrypted_pkcs8_der(der: &[u8], password: &[u8]) -> Result<Self, KeyFileError> {
        let format = KeyFormat::EncryptedPkcs8;
        let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der).map_err(malformed(format))?;
        let plain = info.decrypt(password).map_err(|e| match e {
            pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm {
                oid,
            })
            | pkcs8::Error::EncryptedPrivateKey(
                pkcs8::pkcs5::Error::AlgorithmParametersInvalid { oid },
            ) => KeyFileError::UnsupportedEncryption { oid },
            pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::NoPbes1CryptSupport) => {
                KeyFileError::UnsupportedEncryption {
                    oid: info.encryption_algorithm.oid(),
                }
            }
            _ => KeyFileError::WrongPassword,
        })?;
        // A wrong password passes the CBC padding check about once in 256
        // tries; the garbage then fails to parse as PKCS#8.
        Self::from_pkcs8_der(plain.as_bytes()).map_err(|e| match e {
            KeyFileError::Malformed { .. } => KeyFileError::WrongPassword,
            other => other,
        })
    }

    /// Reads a DER PKCS#1 `RSAPrivateKey`.
    ///
    /// # Errors
    /// As [`Self::from_pkcs8_der`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyFileError> {
        Self::rsa_from_pkcs1(der, KeyFormat::Pkcs1)
    }

    fn rsa_from_pkcs1(der: &[u8], format: KeyFormat) -> Result<Self, KeyFileError> {
        let parsed = rsa::pkcs1::RsaPrivateKey::from_der(der).map_err(malformed(format))?;
        check_rsa_bits(parsed.modulus.as_bytes().len())?;
        let key = rsa::RsaPrivateKey::from_pkcs1_der(der).map_err(malformed(format))?;
        check_rsa_bits(key.size())?;
        Ok(Self::Rsa(Box::new(key)))
    }

    /// Reads a DER SEC1 `ECPrivateKey` with its named curve (as OpenSSL
    /// writes it; the curve is required).
    ///
    /// # Errors
    /// [`KeyFileError::MissingCurve`] without the curve, else as
    /// [`Self::from_pkcs8_der`].
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyFileError> {
        let format = KeyFormat::Sec1;
        let key = sec1::EcPrivateKey::from_der(der).map_err(malformed(format))?;
        let curve = key
            .parameters
            .and_then(|p| p.named_curve())
            .ok_or(KeyFileError::MissingCurve)?;
        let invalid = malformed::<der::Error>(format);
        Ok(match Algorithm::from_curve(curve)? {
            Algorithm::EcP192 => Self::P192(P192SecretKey::try_from(key).map_err(invalid)?),
            Algorithm::EcP256 => Self::P256(p256::SecretKey::try_from(key).map_err(invalid)?),
            _ => Self::P384(p384::SecretKey::try_from(key).map_err(invalid)?),
        })
    }

    /// Unencrypted DER PKCS#8, as OpenSSL writes it (v1, no public key, for
    /// Ed25519 and X25519).
    ///
    /// # Errors
    /// Only if encoding fails (not expected).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
        let format = KeyFormat::Pkcs8;
        let doc = match self {
            Self::Rsa(k) => k.to_pkcs8_der(),
            Self::P192(k) => k.to_pkcs8_der(),
            Self::P256(k) => k.to_pkcs8_der(),
            Self::P384(k) => k.to_pkcs8_der(),
            Self::Ed25519(k) => return rfc8410_pkcs8(oid::ED25519, k.as_bytes()),
            Self::X25519(k) => return rfc8410_pkcs8(oid::X25519, k.as_bytes()),
        };
        doc.map(|d| Zeroizing::new(d.as_bytes().to_vec()))
            .map_err(encode_failed(format))
    }

    /// PKCS#8 PEM; encrypted (`ENCRYPTED PRIVATE KEY`: PBES2 with
    /// PBKDF2-HMAC-SHA256 and AES-256-CBC, fresh salt and IV) when a
    /// password is given. This is what `imgtool keygen` writes.
    ///
    /// # Errors
    /// Only if encoding or encryption fails (not expected).
    pub fn to_pkcs8_pem(&self, password: Option<&[u8]>) -> Result<Zeroizing<String>, KeyFileError> {
        let der = self.to_pkcs8_der()?;
        let Some(password) = password else {
            return pem::encode(KeyFormat::Pkcs8, &der);
        };
        let format = KeyFormat::EncryptedPkcs8;
        let info = pkcs8::PrivateKeyInfo::from_der(&der).map_err(encode_failed(format))?;
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut iv);
        let params =
            pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
                .map_err(|_| KeyFileError::Encode {
                    format,
                    source: der::ErrorKind::Failed.into(),
                })?;
        let doc = info
            .encrypt_with_params(params, password)
            .map_err(encode_failed(format))?;
        pem::encode(format, doc.as_bytes())
    }

    /// The "traditional" OpenSSL DER: PKCS#1 for RSA, SEC1 with the named
    /// curve and the public key for EC (what `openssl ec`, Python
    /// `cryptography`'s `TraditionalOpenSSL` and espsecure write).
    ///
    /// # Errors
    /// [`KeyFileError::NoSuchEncoding`] for Ed25519 and X25519.
    pub fn to_traditional_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        match self {
            Self::Rsa(k) => k
                .to_pkcs1_der()
                .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
                .map_err(encode_failed(KeyFormat::Pkcs1)),
            Self::P192(k) => sec1_der(
                &Zeroizing::new(k.to_bytes()),
                k.public_key().to_encoded_point(false).as_bytes(),
                oid::SECP192R1,
            ),
            Self::P256(k) => sec1_der(
                &Zeroizing::new(k.to_bytes()),
                k.public_key().to_encoded_point(false).as_bytes(),
                oid::SECP256R1,
            ),
            Self::P384(k) => sec1_der(
                &Zeroizing::new(k.to_bytes()),
                k.public_key().to_encoded_point(false).as_bytes(),
                oid::SECP384R1,
            ),
            Self::Ed25519(_) | Self::X25519(_) => Err(KeyFileError::NoSuchEncoding {
                kind: self.kind(),
                format: KeyFormat::Sec1,
            }),
        }
    }

    /// An ECDSA key's private scalar, big-endian, as many bytes as the
    /// curve's size (P-192: 24, P-256: 32, P-384: 48), as `cryptography`'s
    /// `private_numbers().private_value` written out at the key size; `None`
    /// for other key types.
    #[must_use]
    pub fn ecdsa_scalar(&self) -> Option<Zeroizing<Vec<u8>>> {
        match self {
            Self::P192(k) => Some(Zeroizing::new(Zeroizing::new(k.to_bytes()).to_vec())),
            Self::P256(k) => Some(Zeroizing::new(Zeroizing::new(k.to_bytes()).to_vec())),
            Self::P384(k) => Some(Zeroizing::new(Zeroizing::new(k.to_bytes()).to_vec())),
            Self::Rsa(_) | Self::Ed25519(_) | Self::X25519(_) => None,
        }
    }

    /// [`Self::to_traditional_der`] as PEM (`RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`): what `espsecure generate-signing-key` writes.
    ///
    /// # Errors
    /// As [`Self::to_traditional_der`].
    pub fn to_traditional_pem(&self) -> Result<Zeroizing<String>, KeyFileError> {
        let der = self.to_traditional_der()?;
        let format = if matches!(self, Self::Rsa(_)) {
            KeyFormat::Pkcs1
        } else {
            KeyFormat::Sec1
        };
        pem::encode(format, &der)
    }
}

/// RFC 8410 §7 `CurvePrivateKey`: the PKCS#8 `privateKey` OCTET STRING
/// holds another OCTET STRING with the 32-byte key.
fn rfc8410_private_key(private_key: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let format = KeyFormat::Pkcs8;
    let inner = OctetStringRef::from_der(private_key).map_err(malformed(format))?;
    let bytes: [u8; 32] = inner
        .as_bytes()
        .try_into()
        .map_err(|_| KeyFileError::InvalidKey { format })?;
    Ok(Zeroizing::new(bytes))
}

/// RFC 8410 §7 PKCS#8 v1: the OID, no parameters, the key as a nested
/// OCTET STRING.
fn rfc8410_pkcs8(
    algorithm: ObjectIdentifier,
    key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let format = KeyFormat::Pkcs8;
    let inner = Zeroizing::new(
        OctetStringRef::new(key)
            .and_then(|o| o.to_der())
            .map_err(encode_failed(format))?,
    );
    let info = pkcs8::PrivateKeyInfo::new(
        spki::AlgorithmIdentifierRef {
            oid: algorithm,
            parameters: None,
        },
        &inner,
    );
    info.to_der()
        .map(Zeroizing::new)
        .map_err(encode_failed(format))
}

/// SEC1 `ECPrivateKey` with the named curve and the public key. OpenSSL and
/// Python `cryptography` need the curve; `elliptic-curve`'s own SEC1
/// encoder leaves it out.
fn sec1_der(
    scalar: &[u8],
    public_point: &[u8],
    curve: ObjectIdentifier,
) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let key = sec1::EcPrivateKey {
        private_key: scalar,
        parameters: Some(sec1::EcParameters::NamedCurve(curve)),
        public_key: Some(public_point),
    };
    key.to_der()
        .map(Zeroizing::new)
        .map_err(encode_failed(KeyFormat::Sec1))
}
