//! Key files as imgtool reads and writes them (`imgtool/keys/*.py`):
//! PEM PKCS#8 (optionally encrypted), PKCS#1 RSA, SEC1 EC, SubjectPublicKeyInfo.
//!
//! The public key bytes embedded in a bootloader (and hashed into KEYHASH)
//! are [`PublicKey::embedded_der`]: PKCS#1 `RSAPublicKey` for RSA,
//! SubjectPublicKeyInfo for everything else (reference/mcuboot.md §1.6).

use std::fmt::Write as _;
use std::string::{String, ToString};
use std::vec::Vec;

use pkcs8::der::Decode;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding, ObjectIdentifier};
use rand_core::{CryptoRngCore, OsRng, RngCore};
use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey,
};
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use crate::verify::SignatureKind;

/// `rsaEncryption` (RFC 8017).
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480).
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (RFC 5480).
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (RFC 5480).
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `id-Ed25519` (RFC 8410).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `id-X25519` (RFC 8410).
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");

/// PKCS#8 v1 prefix of an Ed25519 private key, as OpenSSL writes it (RFC 8410 §7).
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// PKCS#8 v1 prefix of an X25519 private key (RFC 8410 §7).
const X25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];
/// SubjectPublicKeyInfo prefix of an X25519 public key (RFC 8410 §4).
const X25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
];
/// SubjectPublicKeyInfo prefix of an Ed25519 public key (RFC 8410 §4).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// PBKDF2 iterations for password-protected key files.
const PBKDF2_ITERATIONS: u32 = 100_000;

/// Key types of `imgtool keygen -t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// `rsa-2048`.
    Rsa2048,
    /// `rsa-3072`.
    Rsa3072,
    /// `ecdsa-p256`.
    EcdsaP256,
    /// `ecdsa-p384`.
    EcdsaP384,
    /// `ed25519`.
    Ed25519,
    /// `x25519` (encryption only).
    X25519,
}

impl KeyType {
    /// All types, in imgtool's order.
    pub const ALL: [Self; 6] = [
        Self::Rsa2048,
        Self::Rsa3072,
        Self::EcdsaP256,
        Self::EcdsaP384,
        Self::Ed25519,
        Self::X25519,
    ];

    /// imgtool's name (`rsa-2048`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::Ed25519 => "ed25519",
            Self::X25519 => "x25519",
        }
    }
}

impl std::str::FromStr for KeyType {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| KeyError::Unsupported(s.to_string()))
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key could not be read, generated or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a PEM document.
    #[error("not a PEM key file ({0})")]
    NotPem(String),
    /// An encrypted key and no password was given.
    #[error("the key is encrypted; a password is required (--password)")]
    PasswordRequired,
    /// Decryption failed (wrong password or unsupported cipher).
    #[error("cannot decrypt the key: wrong password or unsupported encryption")]
    Decrypt,
    /// OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` PEM encryption.
    #[error("legacy OpenSSL-encrypted PEM is not supported; convert it to encrypted PKCS#8 (openssl pkcs8 -topk8)")]
    LegacyEncryption,
    /// A key algorithm, curve or size imgtool does not support.
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// The DER inside the PEM is malformed.
    #[error("malformed {label} key: {reason}")]
    Malformed {
        /// PEM label.
        label: String,
        /// What failed.
        reason: String,
    },
    /// Encoding a key failed.
    #[error("cannot encode the key: {0}")]
    Encode(String),
    /// An operation the key type does not support (e.g. signing with X25519).
    #[error("{0}")]
    Usage(String),
}

fn malformed(label: &str, e: impl std::fmt::Display) -> KeyError {
    KeyError::Malformed {
        label: label.to_string(),
        reason: e.to_string(),
    }
}

/// A public key of any type imgtool handles.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// RSA-2048 or RSA-3072.
    Rsa(rsa::RsaPublicKey),
    /// ECDSA P-256.
    P256(p256::PublicKey),
    /// ECDSA P-384.
    P384(p384::PublicKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// X25519 (encryption).
    X25519(x25519_dalek::PublicKey),
}

impl PublicKey {
    /// imgtool's `shortname()`, used in `getpub` symbol names.
    #[must_use]
    pub fn shortname(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "rsa",
            Self::P256(_) => "ecdsa",
            Self::P384(_) => "ecdsap384",
            Self::Ed25519(_) => "ed25519",
            Self::X25519(_) => "x25519",
        }
    }

    /// Human name of the key type.
    #[must_use]
    pub fn type_name(&self) -> String {
        match self {
            Self::Rsa(k) => std::format!("rsa-{}", k.size() * 8),
            Self::P256(_) => "ecdsa-p256".into(),
            Self::P384(_) => "ecdsa-p384".into(),
            Self::Ed25519(_) => "ed25519".into(),
            Self::X25519(_) => "x25519".into(),
        }
    }

    /// The signature this key verifies, `None` for X25519.
    #[must_use]
    pub fn signature_kind(&self) -> Option<SignatureKind> {
        match self {
            Self::Rsa(k) if k.size() == 256 => Some(SignatureKind::Rsa2048),
            Self::Rsa(_) => Some(SignatureKind::Rsa3072),
            Self::P256(_) => Some(SignatureKind::EcdsaP256),
            Self::P384(_) => Some(SignatureKind::EcdsaP384),
            Self::Ed25519(_) => Some(SignatureKind::Ed25519),
            Self::X25519(_) => None,
        }
    }

    /// The bytes a bootloader embeds and KEYHASH hashes (`imgtool getpub -e raw`):
    /// PKCS#1 for RSA, SubjectPublicKeyInfo otherwise.
    ///
    /// # Errors
    /// Only if DER encoding fails (not expected for valid keys).
    pub fn embedded_der(&self) -> Result<Vec<u8>, KeyError> {
        let enc = |e: &dyn std::fmt::Display| KeyError::Encode(e.to_string());
        match self {
            Self::Rsa(k) => Ok(k.to_pkcs1_der().map_err(|e| enc(&e))?.into_vec()),
            _ => self.spki_der(),
        }
    }

    /// SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// Only if DER encoding fails.
    pub fn spki_der(&self) -> Result<Vec<u8>, KeyError> {
        let enc = |e: &dyn std::fmt::Display| KeyError::Encode(e.to_string());
        Ok(match self {
            Self::Rsa(k) => k.to_public_key_der().map_err(|e| enc(&e))?.into_vec(),
            Self::P256(k) => k.to_public_key_der().map_err(|e| enc(&e))?.into_vec(),
            Self::P384(k) => k.to_public_key_der().map_err(|e| enc(&e))?.into_vec(),
            Self::Ed25519(k) => [&ED25519_SPKI_PREFIX[..], k.as_bytes()].concat(),
            Self::X25519(k) => [&X25519_SPKI_PREFIX[..], k.as_bytes()].concat(),
        })
    }

    /// SubjectPublicKeyInfo PEM (`imgtool getpub -e pem`).
    ///
    /// # Errors
    /// Only if encoding fails.
    pub fn spki_pem(&self) -> Result<String, KeyError> {
        let der = self.spki_der()?;
        pem_encode("PUBLIC KEY", &der).map(|s| s.to_string())
    }

    /// Parses SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`KeyError`] for other algorithms or malformed input.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let label = "PUBLIC";
        let spki =
            pkcs8::spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| malformed(label, e))?;
        let oid = spki.algorithm.oid;
        let raw = spki.subject_public_key.raw_bytes();
        if oid == OID_RSA {
            let k = rsa::RsaPublicKey::from_pkcs1_der(raw).map_err(|e| malformed(label, e))?;
            check_rsa_size(k.size())?;
            Ok(Self::Rsa(k))
        } else if oid == OID_EC {
            let curve = spki
                .algorithm
                .parameters_oid()
                .map_err(|e| malformed(label, e))?;
            if curve == OID_P256 {
                Ok(Self::P256(
                    p256::PublicKey::from_sec1_bytes(raw).map_err(|e| malformed(label, e))?,
                ))
            } else if curve == OID_P384 {
                Ok(Self::P384(
                    p384::PublicKey::from_sec1_bytes(raw).map_err(|e| malformed(label, e))?,
                ))
            } else {
                Err(KeyError::Unsupported(std::format!("EC curve {curve}")))
            }
        } else if oid == OID_ED25519 {
            let b: [u8; 32] = raw
                .try_into()
                .map_err(|_| malformed(label, "Ed25519 key is not 32 bytes"))?;
            Ok(Self::Ed25519(
                ed25519_dalek::VerifyingKey::from_bytes(&b).map_err(|e| malformed(label, e))?,
            ))
        } else if oid == OID_X25519 {
            let b: [u8; 32] = raw
                .try_into()
                .map_err(|_| malformed(label, "X25519 key is not 32 bytes"))?;
            Ok(Self::X25519(x25519_dalek::PublicKey::from(b)))
        } else {
            Err(KeyError::Unsupported(std::format!("algorithm {oid}")))
        }
    }
}

fn check_rsa_size(bytes: usize) -> Result<(), KeyError> {
    match bytes * 8 {
        2048 | 3072 => Ok(()),
        bits => Err(KeyError::Unsupported(std::format!(
            "RSA key size {bits} (expected 2048 or 3072)"
        ))),
    }
}

/// A private key of any type imgtool handles. Secret material is zeroized
/// on drop by the underlying crates.
#[non_exhaustive]
pub enum PrivateKey {
    /// RSA-2048 or RSA-3072.
    Rsa(std::boxed::Box<rsa::RsaPrivateKey>),
    /// ECDSA P-256.
    P256(p256::SecretKey),
    /// ECDSA P-384.
    P384(p384::SecretKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
    /// X25519 (encryption).
    X25519(x25519_dalek::StaticSecret),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secret material.
        write!(f, "PrivateKey({})", self.public_key().type_name())
    }
}

impl PrivateKey {
    /// A fresh key from the OS random generator.
    ///
    /// # Errors
    /// RSA generation failure (not expected).
    pub fn generate(kind: KeyType) -> Result<Self, KeyError> {
        Self::generate_with(kind, &mut OsRng)
    }

    /// A fresh key from `rng`.
    ///
    /// # Errors
    /// RSA generation failure (not expected).
    pub fn generate_with(kind: KeyType, rng: &mut impl CryptoRngCore) -> Result<Self, KeyError> {
        Ok(match kind {
            KeyType::Rsa2048 | KeyType::Rsa3072 => {
                let bits = if kind == KeyType::Rsa2048 { 2048 } else { 3072 };
                let k = rsa::RsaPrivateKey::new(rng, bits)
                    .map_err(|e| KeyError::Encode(e.to_string()))?;
                Self::Rsa(std::boxed::Box::new(k))
            }
            KeyType::EcdsaP256 => Self::P256(p256::SecretKey::random(rng)),
            KeyType::EcdsaP384 => Self::P384(p384::SecretKey::random(rng)),
            KeyType::Ed25519 => Self::Ed25519(ed25519_dalek::SigningKey::generate(rng)),
            KeyType::X25519 => {
                let mut b = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(&mut b[..]);
                Self::X25519(x25519_dalek::StaticSecret::from(*b))
            }
        })
    }

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            Self::P256(k) => PublicKey::P256(k.public_key()),
            Self::P384(k) => PublicKey::P384(k.public_key()),
            Self::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            Self::X25519(k) => PublicKey::X25519(x25519_dalek::PublicKey::from(k)),
        }
    }

    /// Unencrypted PKCS#8 DER, as OpenSSL writes it (v1 for Ed25519/X25519).
    ///
    /// # Errors
    /// Only if encoding fails.
    pub fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let enc = |e: &dyn std::fmt::Display| KeyError::Encode(e.to_string());
        Ok(match self {
            Self::Rsa(k) => {
                Zeroizing::new(k.to_pkcs8_der().map_err(|e| enc(&e))?.as_bytes().to_vec())
            }
            Self::P256(k) => {
                Zeroizing::new(k.to_pkcs8_der().map_err(|e| enc(&e))?.as_bytes().to_vec())
            }
            Self::P384(k) => {
                Zeroizing::new(k.to_pkcs8_der().map_err(|e| enc(&e))?.as_bytes().to_vec())
            }
            Self::Ed25519(k) => Zeroizing::new([&ED25519_PKCS8_PREFIX[..], k.as_bytes()].concat()),
            Self::X25519(k) => Zeroizing::new([&X25519_PKCS8_PREFIX[..], k.as_bytes()].concat()),
        })
    }

    /// The "traditional OpenSSL" DER (`imgtool getpriv -f openssl`): PKCS#1
    /// for RSA, SEC1 for EC; other types have none.
    ///
    /// # Errors
    /// [`KeyError::Usage`] for Ed25519/X25519.
    pub fn openssl_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let enc = |e: &dyn std::fmt::Display| KeyError::Encode(e.to_string());
        match self {
            Self::Rsa(k) => Ok(Zeroizing::new(
                k.to_pkcs1_der().map_err(|e| enc(&e))?.as_bytes().to_vec(),
            )),
            Self::P256(k) => sec1_with_curve(
                &k.to_bytes(),
                k.public_key().to_sec1_bytes().as_ref(),
                OID_P256,
            ),
            Self::P384(k) => sec1_with_curve(
                &k.to_bytes(),
                k.public_key().to_sec1_bytes().as_ref(),
                OID_P384,
            ),
            other => Err(KeyError::Usage(std::format!(
                "{} does not support openssl",
                other.public_key().shortname()
            ))),
        }
    }

    /// PKCS#8 PEM, encrypted (PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC) when a
    /// password is given, like imgtool's `export_private`.
    ///
    /// # Errors
    /// Only if encoding or encryption fails.
    pub fn to_pkcs8_pem(&self, password: Option<&[u8]>) -> Result<Zeroizing<String>, KeyError> {
        let der = self.pkcs8_der()?;
        match password {
            None => pem_encode("PRIVATE KEY", &der),
            Some(pw) => {
                let info = pkcs8::PrivateKeyInfo::from_der(&der)
                    .map_err(|e| KeyError::Encode(e.to_string()))?;
                let mut salt = [0u8; 16];
                let mut iv = [0u8; 16];
                OsRng.fill_bytes(&mut salt);
                OsRng.fill_bytes(&mut iv);
                let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(
                    PBKDF2_ITERATIONS,
                    &salt,
                    &iv,
                )
                .map_err(|e| KeyError::Encode(e.to_string()))?;
                let doc = info
                    .encrypt_with_params(params, pw)
                    .map_err(|e| KeyError::Encode(e.to_string()))?;
                pem_encode("ENCRYPTED PRIVATE KEY", doc.as_bytes())
            }
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let label = "PKCS#8";
        let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(|e| malformed(label, e))?;
        let oid = info.algorithm.oid;
        if oid == OID_RSA {
            let k = rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| malformed(label, e))?;
            check_rsa_size(k.size())?;
            Ok(Self::Rsa(std::boxed::Box::new(k)))
        } else if oid == OID_EC {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|e| malformed(label, e))?;
            if curve == OID_P256 {
                Ok(Self::P256(
                    p256::SecretKey::from_pkcs8_der(der).map_err(|e| malformed(label, e))?,
                ))
            } else if curve == OID_P384 {
                Ok(Self::P384(
                    p384::SecretKey::from_pkcs8_der(der).map_err(|e| malformed(label, e))?,
                ))
            } else {
                Err(KeyError::Unsupported(std::format!("EC curve {curve}")))
            }
        } else if oid == OID_ED25519 {
            Ok(Self::Ed25519(
                ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|e| malformed(label, e))?,
            ))
        } else if oid == OID_X25519 {
            // privateKey is an OCTET STRING wrapping the 32-byte key (RFC 8410 §7).
            let inner = info.private_key;
            let key: [u8; 32] = inner
                .strip_prefix(&[0x04, 0x20][..])
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| malformed(label, "X25519 key is not a 32-byte OCTET STRING"))?;
            Ok(Self::X25519(x25519_dalek::StaticSecret::from(key)))
        } else {
            Err(KeyError::Unsupported(std::format!("algorithm {oid}")))
        }
    }

    fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        let label = "EC";
        let k = sec1::EcPrivateKey::from_der(der).map_err(|e| malformed(label, e))?;
        let curve = k
            .parameters
            .and_then(|p| p.named_curve())
            .ok_or_else(|| malformed(label, "no named curve"))?;
        if curve == OID_P256 {
            Ok(Self::P256(
                p256::SecretKey::from_sec1_der(der).map_err(|e| malformed(label, e))?,
            ))
        } else if curve == OID_P384 {
            Ok(Self::P384(
                p384::SecretKey::from_sec1_der(der).map_err(|e| malformed(label, e))?,
            ))
        } else {
            Err(KeyError::Unsupported(std::format!("EC curve {curve}")))
        }
    }
}

/// SEC1 `ECPrivateKey` with the named curve, as OpenSSL's traditional format.
fn sec1_with_curve(
    secret: &[u8],
    public: &[u8],
    curve: ObjectIdentifier,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use pkcs8::der::Encode as _;
    let key = sec1::EcPrivateKey {
        private_key: secret,
        parameters: Some(sec1::EcParameters::NamedCurve(curve)),
        public_key: Some(public),
    };
    key.to_der()
        .map(Zeroizing::new)
        .map_err(|e| KeyError::Encode(e.to_string()))
}

fn pem_encode(label: &str, der: &[u8]) -> Result<Zeroizing<String>, KeyError> {
    pkcs8::der::pem::encode_string(label, LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|e| KeyError::Encode(e.to_string()))
}

/// What a key file holds.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyFile {
    /// A key pair.
    Private(PrivateKey),
    /// A public key only.
    Public(PublicKey),
}

impl KeyFile {
    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Private(k) => k.public_key(),
            Self::Public(k) => k.clone(),
        }
    }

    /// Parses a PEM key file as imgtool's `keys.load` accepts it.
    ///
    /// # Errors
    /// [`KeyError::PasswordRequired`] for an encrypted key without
    /// `password`, [`KeyError::Decrypt`] for a wrong one, others for
    /// malformed or unsupported keys.
    pub fn from_pem(pem: &[u8], password: Option<&[u8]>) -> Result<Self, KeyError> {
        let text = std::str::from_utf8(pem).map_err(|_| KeyError::NotPem("not text".into()))?;
        if text.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(KeyError::LegacyEncryption);
        }
        let (label, der) = first_key_block(text)?;
        let der = Zeroizing::new(der);
        match label {
            "PRIVATE KEY" => Ok(Self::Private(PrivateKey::from_pkcs8_der(&der)?)),
            "ENCRYPTED PRIVATE KEY" => {
                let pw = password.ok_or(KeyError::PasswordRequired)?;
                let enc = pkcs8::EncryptedPrivateKeyInfo::from_der(&der)
                    .map_err(|e| malformed(label, e))?;
                let plain = enc.decrypt(pw).map_err(|_| KeyError::Decrypt)?;
                Ok(Self::Private(PrivateKey::from_pkcs8_der(plain.as_bytes())?))
            }
            "RSA PRIVATE KEY" => {
                let k =
                    rsa::RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| malformed(label, e))?;
                check_rsa_size(k.size())?;
                Ok(Self::Private(PrivateKey::Rsa(std::boxed::Box::new(k))))
            }
            "EC PRIVATE KEY" => Ok(Self::Private(PrivateKey::from_sec1_der(&der)?)),
            "PUBLIC KEY" => Ok(Self::Public(PublicKey::from_spki_der(&der)?)),
            "RSA PUBLIC KEY" => {
                let k = rsa::RsaPublicKey::from_pkcs1_der(&der).map_err(|e| malformed(label, e))?;
                check_rsa_size(k.size())?;
                Ok(Self::Public(PublicKey::Rsa(k)))
            }
            other => Err(KeyError::Unsupported(std::format!("PEM label {other:?}"))),
        }
    }
}

/// The first PEM block that is not `EC PARAMETERS` (which `openssl ecparam
/// -genkey` puts before the key); text around the blocks is ignored, as
/// OpenSSL does. CRLF line ends are accepted.
fn first_key_block(text: &str) -> Result<(&'static str, Vec<u8>), KeyError> {
    let text = text.replace("\r\n", "\n");
    let mut rest = text.as_str();
    let mut last_err = None;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let Some(end_label) = block.find("-----END ") else {
            return Err(KeyError::NotPem("no -----END line".into()));
        };
        let end = block[end_label..]
            .find('\n')
            .map_or(block.len(), |n| end_label + n);
        let (head, tail) = block.split_at(end);
        rest = tail;
        match pkcs8::der::pem::decode_vec(head.trim_end().as_bytes()) {
            Ok(("EC PARAMETERS", der)) => drop(Zeroizing::new(der)),
            Ok((label, der)) => {
                let label: &'static str = match label {
                    "PRIVATE KEY" => "PRIVATE KEY",
                    "ENCRYPTED PRIVATE KEY" => "ENCRYPTED PRIVATE KEY",
                    "RSA PRIVATE KEY" => "RSA PRIVATE KEY",
                    "EC PRIVATE KEY" => "EC PRIVATE KEY",
                    "PUBLIC KEY" => "PUBLIC KEY",
                    "RSA PUBLIC KEY" => "RSA PUBLIC KEY",
                    other => {
                        return Err(KeyError::Unsupported(std::format!("PEM label {other:?}")))
                    }
                };
                return Ok((label, der));
            }
            Err(e) => last_err = Some(e.to_string()),
        }
    }
    Err(KeyError::NotPem(
        last_err.unwrap_or_else(|| "no -----BEGIN line".into()),
    ))
}

/// `/* Autogenerated ... */` banner of imgtool's C/Rust emitters (`keys/general.py`).
const AUTOGEN_MESSAGE: &str = "/* Autogenerated by imgtool.py, do not edit. */";

/// Formats bytes the way imgtool's `_emit` does: eight `0x..,` per line.
fn emit_bytes(out: &mut String, header: &str, trailer: &str, bytes: &[u8]) {
    out.push_str(AUTOGEN_MESSAGE);
    out.push('\n');
    out.push_str(header);
    for (i, b) in bytes.iter().enumerate() {
        out.push_str(if i % 8 == 0 { "\n    " } else { " " });
        let _ = write!(out, "0x{b:02x},");
    }
    out.push('\n');
    out.push_str(trailer);
    out.push('\n');
}

/// `imgtool getpub -e lang-c` text.
///
/// # Errors
/// Only if encoding fails.
pub fn public_key_c(key: &PublicKey, suffix: &str) -> Result<String, KeyError> {
    let bytes = key.embedded_der()?;
    let name = key.shortname();
    let mut out = String::new();
    emit_bytes(
        &mut out,
        &std::format!("const unsigned char {name}_pub_key{suffix}[] = {{"),
        "};",
        &bytes,
    );
    let _ = writeln!(
        out,
        "const unsigned int {name}_pub_key{suffix}_len = {};",
        bytes.len()
    );
    Ok(out)
}

/// `imgtool getpub -e lang-rust` text.
///
/// # Errors
/// Only if encoding fails.
pub fn public_key_rust(key: &PublicKey, suffix: &str) -> Result<String, KeyError> {
    let bytes = key.embedded_der()?;
    let name = key.shortname().to_uppercase();
    let suffix = suffix.to_uppercase();
    let mut out = String::new();
    emit_bytes(
        &mut out,
        &std::format!("static {name}_PUB_KEY{suffix}: &[u8] = &["),
        "];",
        &bytes,
    );
    Ok(out)
}

/// SHA-256 of [`PublicKey::embedded_der`] (`imgtool getpubhash`; always SHA-256).
///
/// # Errors
/// Only if encoding fails.
pub fn public_key_hash(key: &PublicKey) -> Result<[u8; 32], KeyError> {
    use sha2::Digest as _;
    Ok(sha2::Sha256::digest(key.embedded_der()?).into())
}

/// `imgtool getpubhash -e lang-c` text.
///
/// # Errors
/// Only if encoding fails.
pub fn public_key_hash_c(key: &PublicKey, suffix: &str) -> Result<String, KeyError> {
    let hash = public_key_hash(key)?;
    let name = key.shortname();
    let mut out = String::new();
    emit_bytes(
        &mut out,
        &std::format!("const unsigned char {name}_pub_key_hash{suffix}[] = {{"),
        "};",
        &hash,
    );
    let _ = writeln!(
        out,
        "const unsigned int {name}_pub_key_hash{suffix}_len = {};",
        hash.len()
    );
    Ok(out)
}

/// imgtool's `getpriv` DER (`keys/*.py` `get_private_bytes`): `format` is
/// `pkcs8` or `openssl` (`None` = the key type's default: `openssl` for RSA,
/// `pkcs8` otherwise); `minimal` drops what MCUboot does not need (RSA CRT
/// parameters, the EC public key), byte for byte as imgtool does.
///
/// # Errors
/// [`KeyError::Usage`] for a format the key type lacks (imgtool's messages),
/// or Ed25519 (unsupported).
pub fn private_key_der(
    key: &PrivateKey,
    format: Option<&str>,
    minimal: bool,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let name = key.public_key().shortname();
    let (valid, default): (&[&str], &str) = match key {
        PrivateKey::Rsa(_) => (&["openssl"], "openssl"),
        PrivateKey::P256(_) | PrivateKey::P384(_) => (&["pkcs8", "openssl"], "pkcs8"),
        PrivateKey::X25519(_) => (&["pkcs8"], "pkcs8"),
        PrivateKey::Ed25519(_) => {
            return Err(KeyError::Usage(std::format!(
                "Operation not supported with {name} keys"
            )))
        }
    };
    let format = format.unwrap_or(default);
    if !valid.contains(&format) {
        return Err(KeyError::Usage(std::format!(
            "{name} does not support {format}"
        )));
    }
    let der = if format == "pkcs8" {
        key.pkcs8_der()?
    } else {
        key.openssl_der()?
    };
    if !minimal {
        return Ok(der);
    }
    let bad = |what: &str| KeyError::Usage(std::format!("Error parsing {what} while minimizing"));
    match key {
        PrivateKey::Rsa(_) => {
            // PKCS#1: SEQUENCE(82 LL LL){version, n, e, d, p, q, dp, dq, qinv};
            // keep up to q (`_build_minimal_rsa_privkey`).
            let mut b = der.to_vec();
            let mut off = 7usize;
            let byte = |b: &[u8], i: usize| b.get(i).copied().ok_or_else(|| bad("the key"));
            if byte(&b, off + 1)? != 0x82 {
                return Err(bad("N"));
            }
            off += ((usize::from(byte(&b, off + 2)?) << 8) | usize::from(byte(&b, off + 3)?)) + 4;
            if byte(&b, off + 1)? != 0x03 {
                return Err(bad("E"));
            }
            off += usize::from(byte(&b, off + 2)?) + 4;
            if byte(&b, off + 1)? != 0x82 {
                return Err(bad("D"));
            }
            off += ((usize::from(byte(&b, off + 2)?) << 8) | usize::from(byte(&b, off + 3)?)) + 4;
            if byte(&b, off + 1)? != 0x81 {
                return Err(bad("P"));
            }
            off += usize::from(byte(&b, off + 2)?) + 3;
            if byte(&b, off + 1)? != 0x81 {
                return Err(bad("Q"));
            }
            off += usize::from(byte(&b, off + 2)?) + 3;
            if b.len() < off || off < 4 {
                return Err(bad("the key"));
            }
            b[2] = ((off - 4) >> 8) as u8;
            b[3] = (off - 4) as u8;
            b.truncate(off);
            Ok(Zeroizing::new(b))
        }
        PrivateKey::P256(_) | PrivateKey::P384(_) if format == "pkcs8" => {
            // Offsets of imgtool's `_build_minimal_ecdsa_privkey` (P-256 layout).
            let off_pub = 68usize;
            let err = || KeyError::Usage("Error parsing ecdsa key. Please submit an issue!".into());
            if der.get(off_pub) != Some(&0xa1) {
                return Err(err());
            }
            let len_pub = usize::from(*der.get(off_pub + 1).ok_or_else(err)?) + 2;
            let mut b = der[..off_pub].to_vec();
            let len_pub = u8::try_from(len_pub).map_err(|_| err())?;
            if b[29] != 0x30 || b[27] != 0x04 || b[0] != 0x30 || b[1] != 0x81 {
                return Err(err());
            }
            b[30] = b[30].wrapping_sub(len_pub);
            b[28] = b[28].wrapping_sub(len_pub);
            b[2] = b[2].wrapping_sub(len_pub);
            if b[2] < 0x80 {
                b.remove(1);
            }
            Ok(Zeroizing::new(b))
        }
        PrivateKey::P256(_) | PrivateKey::P384(_) => {
            let off_pub = 51usize;
            let err = || KeyError::Usage("Error parsing ecdsa key. Please submit an issue!".into());
            if der.get(off_pub) != Some(&0xa1) {
                return Err(err());
            }
            let len_pub = der
                .get(off_pub + 1)
                .map(|l| l.wrapping_add(2))
                .ok_or_else(err)?;
            let mut b = der[..off_pub].to_vec();
            b[1] = b[1].wrapping_sub(len_pub);
            Ok(Zeroizing::new(b))
        }
        _ => Ok(der),
    }
}

/// `imgtool getpriv` text: [`private_key_der`] as a C array `enc_priv_key`.
///
/// # Errors
/// As [`private_key_der`].
pub fn private_key_c(
    key: &PrivateKey,
    format: Option<&str>,
    minimal: bool,
) -> Result<Zeroizing<String>, KeyError> {
    let der = private_key_der(key, format, minimal)?;
    let mut out = Zeroizing::new(String::new());
    emit_bytes(
        &mut out,
        "const unsigned char enc_priv_key[] = {",
        "};",
        &der,
    );
    let _ = writeln!(out, "const unsigned int enc_priv_key_len = {};", der.len());
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `openssl ecparam -genkey` output: an EC PARAMETERS block, then a SEC1
    /// key; also with CRLF line ends.
    #[test]
    fn sec1_key_after_ec_parameters_block_with_crlf() {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let params = pem_encode(
            "EC PARAMETERS",
            &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        )
        .unwrap();
        let sec1 = pem_encode("EC PRIVATE KEY", &key.openssl_der().unwrap()).unwrap();
        let text = std::format!("{}{}", *params, *sec1).replace('\n', "\r\n");
        let KeyFile::Private(loaded) = KeyFile::from_pem(text.as_bytes(), None).unwrap() else {
            panic!("expected a private key");
        };
        assert_eq!(loaded.public_key(), key.public_key());
    }

    #[test]
    fn encrypted_pkcs8_needs_the_right_password() {
        let key = PrivateKey::generate(KeyType::Ed25519).unwrap();
        let pem = key.to_pkcs8_pem(Some(b"pw")).unwrap();
        assert!(matches!(
            KeyFile::from_pem(pem.as_bytes(), None),
            Err(KeyError::PasswordRequired)
        ));
        assert!(matches!(
            KeyFile::from_pem(pem.as_bytes(), Some(b"nope")),
            Err(KeyError::Decrypt)
        ));
        let loaded = KeyFile::from_pem(pem.as_bytes(), Some(b"pw")).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
    }
}
