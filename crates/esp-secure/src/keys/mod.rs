//! Secure Boot V2 keys: schemes, the key types SBv2 accepts, generation.
//!
//! Key files are read by the shared loader ([`key_files`], the one imgtool's
//! commands use too): any PEM line width, PKCS#1 `RSA PRIVATE KEY`, SEC1
//! `EC PRIVATE KEY`, PKCS#8 `PRIVATE KEY` (also encrypted, with a
//! password) and SPKI `PUBLIC KEY`. What Secure Boot V2 accepts is checked
//! here (`_load_sbv2_signing_key`, `_load_sbv2_pub_key` in
//! espsecure/__init__.py L364-L416): RSA-3072 and ECDSA P-192/P-256/P-384.
//! Keys are written the way `generate-signing-key` writes them
//! (traditional OpenSSL PEM: PKCS#1 or SEC1), public keys as SPKI.

use ecdsa::elliptic_curve::sec1::ToEncodedPoint;
use ecdsa::elliptic_curve::NonZeroScalar;
use key_files::{KeyFile, KeyFileError, KeyKind};
use p192::NistP192;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
use signature::SignatureEncoding;
use zeroize::Zeroizing;

pub use key_files::{P192PublicKey, P192SecretKey};

/// RSA modulus size Secure Boot V2 supports (`_load_sbv2_signing_key`).
pub const RSA_BITS: usize = 3072;
/// Bytes of an RSA-3072 modulus or signature.
pub const RSA_BYTES: usize = RSA_BITS / 8;
/// PSS salt length espsecure uses (reference/esptool.md §1.2).
pub const RSA_PSS_SALT_LEN: usize = 32;

/// A Secure Boot V2 signing scheme (espsecure `--scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningScheme {
    /// RSA-3072, RSA-PSS with SHA-256, MGF1-SHA-256, salt 32.
    Rsa3072,
    /// ECDSA on NIST P-192 over SHA-256.
    Ecdsa192,
    /// ECDSA on NIST P-256 over SHA-256.
    Ecdsa256,
    /// ECDSA on NIST P-384 over SHA-384.
    Ecdsa384,
}

impl SigningScheme {
    /// All schemes, in espsecure's `--scheme` order.
    pub const ALL: [SigningScheme; 4] = [
        Self::Rsa3072,
        Self::Ecdsa192,
        Self::Ecdsa256,
        Self::Ecdsa384,
    ];

    /// espsecure's name (`rsa3072`, `ecdsa192`, `ecdsa256`, `ecdsa384`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa3072 => "rsa3072",
            Self::Ecdsa192 => "ecdsa192",
            Self::Ecdsa256 => "ecdsa256",
            Self::Ecdsa384 => "ecdsa384",
        }
    }

    /// Parses espsecure's name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// True for the ECDSA schemes.
    pub fn is_ecdsa(self) -> bool {
        self != Self::Rsa3072
    }

    /// The image digest length: 48 (SHA-384) for P-384, else 32 (SHA-256).
    pub fn image_digest_len(self) -> usize {
        if self == Self::Ecdsa384 {
            48
        } else {
            32
        }
    }

    /// The image digest this scheme signs.
    pub fn image_digest(self, image: &[u8]) -> Vec<u8> {
        if self == Self::Ecdsa384 {
            sha2::Sha384::digest(image).to_vec()
        } else {
            Sha256::digest(image).to_vec()
        }
    }

    /// Curve size in bytes for ECDSA (coordinate / scalar length).
    pub(crate) fn ecdsa_coordinate_len(self) -> usize {
        match self {
            Self::Ecdsa192 => 24,
            Self::Ecdsa256 => 32,
            Self::Ecdsa384 => 48,
            Self::Rsa3072 => 0,
        }
    }
}

impl std::fmt::Display for SigningScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key cannot be used for Secure Boot V2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read, or a key not encoded.
    #[error(transparent)]
    File(#[from] KeyFileError),
    /// A private key was required but the file holds a public key.
    #[error("this is a public key; a private signing key is required")]
    PublicKeyGiven,
    /// RSA of a size other than 3072 bits.
    #[error("RSA key has {0} bits; Secure Boot V2 supports only RSA-3072")]
    RsaKeySize(usize),
    /// An EC key on another curve, or another key algorithm.
    #[error(
        "{0} keys are not supported; Secure Boot V2 supports RSA-3072 and ECDSA NIST P-192, P-256, P-384"
    )]
    Unsupported(KeyKind),
    /// Key material stored in a signature block is not a valid key.
    #[error("the public key in the signature block is invalid")]
    InvalidBlockKey,
}

/// A Secure Boot V2 verification key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// RSA-3072.
    Rsa3072(RsaPublicKey),
    /// ECDSA P-192.
    Ecdsa192(P192PublicKey),
    /// ECDSA P-256.
    Ecdsa256(p256::PublicKey),
    /// ECDSA P-384.
    Ecdsa384(p384::PublicKey),
}

/// A Secure Boot V2 signing key (zeroized on drop by the inner types).
#[derive(Clone)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // a handful per process
pub enum SigningKey {
    /// RSA-3072.
    Rsa3072(RsaPrivateKey),
    /// ECDSA P-192.
    Ecdsa192(P192SecretKey),
    /// ECDSA P-256.
    Ecdsa256(p256::SecretKey),
    /// ECDSA P-384.
    Ecdsa384(p384::SecretKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, redacted)", self.scheme())
    }
}

/// A Secure Boot V2 signature in its standard (big-endian) form, before
/// it is laid out little-endian in a signature block.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sbv2Signature {
    /// RSA-PSS signature, 384 bytes big-endian (what
    /// `openssl pkeyutl -sign -pkeyopt rsa_padding_mode:pss` writes).
    Rsa3072(Box<[u8; RSA_BYTES]>),
    /// ECDSA P-192 (r, s).
    Ecdsa192(p192::ecdsa::Signature),
    /// ECDSA P-256 (r, s).
    Ecdsa256(p256::ecdsa::Signature),
    /// ECDSA P-384 (r, s).
    Ecdsa384(p384::ecdsa::Signature),
}

impl Sbv2Signature {
    /// The scheme this signature belongs to.
    pub fn scheme(&self) -> SigningScheme {
        match self {
            Self::Rsa3072(_) => SigningScheme::Rsa3072,
            Self::Ecdsa192(_) => SigningScheme::Ecdsa192,
            Self::Ecdsa256(_) => SigningScheme::Ecdsa256,
            Self::Ecdsa384(_) => SigningScheme::Ecdsa384,
        }
    }

    /// Parses a pre-calculated signature file as espsecure's `--signature`
    /// (`generate_signature_block_using_pre_calculated_signature`, L741):
    /// raw 384-byte big-endian RSA-PSS, or DER `ECDSA-Sig-Value`.
    pub fn from_external(scheme: SigningScheme, bytes: &[u8]) -> Result<Self, signature::Error> {
        Ok(match scheme {
            SigningScheme::Rsa3072 => {
                let raw: [u8; RSA_BYTES] = bytes.try_into().map_err(|_| signature::Error::new())?;
                Self::Rsa3072(Box::new(raw))
            }
            SigningScheme::Ecdsa192 => Self::Ecdsa192(p192::ecdsa::Signature::from_der(bytes)?),
            SigningScheme::Ecdsa256 => Self::Ecdsa256(p256::ecdsa::Signature::from_der(bytes)?),
            SigningScheme::Ecdsa384 => Self::Ecdsa384(p384::ecdsa::Signature::from_der(bytes)?),
        })
    }

    /// An RSA-3072 PSS signature (from a key file or a token), left-padded
    /// to the 384 bytes of the modulus as the block stores it.
    pub(crate) fn from_rsa_pss(sig: &rsa::pss::Signature) -> Result<Self, signature::Error> {
        let bytes = sig.to_vec();
        let mut raw = [0u8; RSA_BYTES];
        let start = RSA_BYTES
            .checked_sub(bytes.len())
            .ok_or_else(signature::Error::new)?;
        raw[start..].copy_from_slice(&bytes);
        Ok(Self::Rsa3072(Box::new(raw)))
    }

    /// The signature as laid out in a block: RSA reversed (little-endian);
    /// ECDSA `r_LE ‖ s_LE` (reference/esptool.md §1.2-1.3).
    pub(crate) fn block_bytes(&self) -> Vec<u8> {
        fn rs_le(r: &[u8], s: &[u8]) -> Vec<u8> {
            let mut out: Vec<u8> = r.iter().rev().copied().collect();
            out.extend(s.iter().rev());
            out
        }
        match self {
            Self::Rsa3072(raw) => raw.iter().rev().copied().collect(),
            Self::Ecdsa192(sig) => {
                let (r, s) = sig.split_bytes();
                rs_le(&r, &s)
            }
            Self::Ecdsa256(sig) => {
                let (r, s) = sig.split_bytes();
                rs_le(&r, &s)
            }
            Self::Ecdsa384(sig) => {
                let (r, s) = sig.split_bytes();
                rs_le(&r, &s)
            }
        }
    }

    /// The inverse of [`Self::block_bytes`]; `field` is the block's whole
    /// signature field (P-192 carries 16 bytes of padding).
    pub(crate) fn from_block_bytes(
        scheme: SigningScheme,
        field: &[u8],
    ) -> Result<Self, signature::Error> {
        fn be(le: &[u8]) -> Vec<u8> {
            le.iter().rev().copied().collect()
        }
        let n = scheme.ecdsa_coordinate_len();
        let rs = |field: &[u8]| -> Result<(Vec<u8>, Vec<u8>), signature::Error> {
            let r = field.get(..n).ok_or_else(signature::Error::new)?;
            let s = field.get(n..2 * n).ok_or_else(signature::Error::new)?;
            Ok((be(r), be(s)))
        };
        Ok(match scheme {
            SigningScheme::Rsa3072 => {
                let le = field.get(..RSA_BYTES).ok_or_else(signature::Error::new)?;
                let raw: [u8; RSA_BYTES] =
                    be(le).try_into().map_err(|_| signature::Error::new())?;
                Self::Rsa3072(Box::new(raw))
            }
            SigningScheme::Ecdsa192 => {
                let (r, s) = rs(field)?;
                Self::Ecdsa192(p192::ecdsa::Signature::from_scalars(
                    *p192::FieldBytes::from_slice(&r),
                    *p192::FieldBytes::from_slice(&s),
                )?)
            }
            SigningScheme::Ecdsa256 => {
                let (r, s) = rs(field)?;
                Self::Ecdsa256(p256::ecdsa::Signature::from_scalars(
                    *p256::FieldBytes::from_slice(&r),
                    *p256::FieldBytes::from_slice(&s),
                )?)
            }
            SigningScheme::Ecdsa384 => {
                let (r, s) = rs(field)?;
                Self::Ecdsa384(p384::ecdsa::Signature::from_scalars(
                    *p384::FieldBytes::from_slice(&r),
                    *p384::FieldBytes::from_slice(&s),
                )?)
            }
        })
    }
}

impl TryFrom<key_files::PrivateKey> for SigningKey {
    type Error = KeyError;

    fn try_from(key: key_files::PrivateKey) -> Result<Self, KeyError> {
        use key_files::PrivateKey as P;
        match key {
            P::Rsa(k) if k.size() * 8 == RSA_BITS => Ok(Self::Rsa3072(*k)),
            P::Rsa(k) => Err(KeyError::RsaKeySize(k.size() * 8)),
            P::P192(k) => Ok(Self::Ecdsa192(k)),
            P::P256(k) => Ok(Self::Ecdsa256(k)),
            P::P384(k) => Ok(Self::Ecdsa384(k)),
            other => Err(KeyError::Unsupported(other.kind())),
        }
    }
}

/// A key file as espsecure's `--keyfile` for signing: the private key.
impl TryFrom<KeyFile> for SigningKey {
    type Error = KeyError;

    fn try_from(file: KeyFile) -> Result<Self, KeyError> {
        match file {
            KeyFile::Private(k) => Self::try_from(k),
            _ => Err(KeyError::PublicKeyGiven),
        }
    }
}

impl From<SigningKey> for key_files::PrivateKey {
    fn from(key: SigningKey) -> Self {
        match key {
            SigningKey::Rsa3072(k) => Self::Rsa(Box::new(k)),
            SigningKey::Ecdsa192(k) => Self::P192(k),
            SigningKey::Ecdsa256(k) => Self::P256(k),
            SigningKey::Ecdsa384(k) => Self::P384(k),
        }
    }
}

impl TryFrom<key_files::PublicKey> for PublicKey {
    type Error = KeyError;

    fn try_from(key: key_files::PublicKey) -> Result<Self, KeyError> {
        use key_files::PublicKey as P;
        match key {
            P::Rsa(k) if k.size() * 8 == RSA_BITS => Ok(Self::Rsa3072(k)),
            P::Rsa(k) => Err(KeyError::RsaKeySize(k.size() * 8)),
            P::P192(k) => Ok(Self::Ecdsa192(k)),
            P::P256(k) => Ok(Self::Ecdsa256(k)),
            P::P384(k) => Ok(Self::Ecdsa384(k)),
            other => Err(KeyError::Unsupported(other.kind())),
        }
    }
}

/// A key file as espsecure's verification `--keyfile`: a public key, or
/// the public half of a private key (`_get_sbv2_pub_key`). A private key
/// of a type SBv2 refuses is refused, as espsecure loads it as a signing
/// key first.
impl TryFrom<KeyFile> for PublicKey {
    type Error = KeyError;

    fn try_from(file: KeyFile) -> Result<Self, KeyError> {
        match file {
            KeyFile::Private(k) => Ok(SigningKey::try_from(k)?.public_key()),
            KeyFile::Public(k) => Self::try_from(k),
            _ => Err(KeyError::Unsupported(file.kind())),
        }
    }
}

impl From<PublicKey> for key_files::PublicKey {
    fn from(key: PublicKey) -> Self {
        match key {
            PublicKey::Rsa3072(k) => Self::Rsa(k),
            PublicKey::Ecdsa192(k) => Self::P192(k),
            PublicKey::Ecdsa256(k) => Self::P256(k),
            PublicKey::Ecdsa384(k) => Self::P384(k),
        }
    }
}

impl SigningKey {
    /// Loads a PEM private key (PKCS#1, SEC1 or PKCS#8, unencrypted), as
    /// espsecure's `--keyfile` for signing. For encrypted keys read the
    /// file with [`KeyFile::from_pem`] and a password, then convert.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        Self::try_from(KeyFile::from_pem(text.as_bytes(), None)?)
    }

    /// Generates a fresh key for `scheme` (RSA with e = 65537, as espsecure).
    pub fn generate(scheme: SigningScheme) -> Result<Self, KeyError> {
        let kind = match scheme {
            SigningScheme::Rsa3072 => KeyKind::RSA_3072,
            SigningScheme::Ecdsa192 => KeyKind::EcdsaP192,
            SigningScheme::Ecdsa256 => KeyKind::EcdsaP256,
            SigningScheme::Ecdsa384 => KeyKind::EcdsaP384,
        };
        Self::try_from(key_files::PrivateKey::generate(kind)?)
    }

    /// The key as traditional OpenSSL PEM (`RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY` with the named curve), like `generate-signing-key`.
    pub fn to_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        Ok(key_files::PrivateKey::from(self.clone()).to_traditional_pem()?)
    }

    /// The scheme of this key.
    pub fn scheme(&self) -> SigningScheme {
        match self {
            Self::Rsa3072(_) => SigningScheme::Rsa3072,
            Self::Ecdsa192(_) => SigningScheme::Ecdsa192,
            Self::Ecdsa256(_) => SigningScheme::Ecdsa256,
            Self::Ecdsa384(_) => SigningScheme::Ecdsa384,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Rsa3072(k) => PublicKey::Rsa3072(k.to_public_key()),
            Self::Ecdsa192(k) => PublicKey::Ecdsa192(k.public_key()),
            Self::Ecdsa256(k) => PublicKey::Ecdsa256(k.public_key()),
            Self::Ecdsa384(k) => PublicKey::Ecdsa384(k.public_key()),
        }
    }

    /// Signs an image digest (SHA-256, or SHA-384 for P-384) through the
    /// RustCrypto `RandomizedPrehashSigner` trait: RSA-PSS with a random
    /// salt of 32 bytes, ECDSA with a random nonce, as espsecure.
    pub fn sign_prehash(&self, digest: &[u8]) -> Result<Sbv2Signature, signature::Error> {
        let mut rng = rand_core::OsRng;
        Ok(match self {
            Self::Rsa3072(k) => {
                let signer = rsa::pss::BlindedSigningKey::<Sha256>::new_with_salt_len(
                    k.clone(),
                    RSA_PSS_SALT_LEN,
                );
                let sig: rsa::pss::Signature = signer.sign_prehash_with_rng(&mut rng, digest)?;
                Sbv2Signature::from_rsa_pss(&sig)?
            }
            Self::Ecdsa192(k) => {
                Sbv2Signature::Ecdsa192(P192Signer(k).sign_prehash_with_rng(&mut rng, digest)?)
            }
            Self::Ecdsa256(k) => {
                let signer = p256::ecdsa::SigningKey::from(k);
                Sbv2Signature::Ecdsa256(signer.sign_prehash_with_rng(&mut rng, digest)?)
            }
            Self::Ecdsa384(k) => {
                let signer = p384::ecdsa::SigningKey::from(k);
                Sbv2Signature::Ecdsa384(signer.sign_prehash_with_rng(&mut rng, digest)?)
            }
        })
    }
}

/// ECDSA P-192 signing. The `p192` crate ships verification only (NIST
/// SP 800-131A discourages P-192 signatures), but ESP32-C2/C6/H2 Secure Boot
/// accepts P-192 and espsecure signs with it, so this adapter provides the
/// `RandomizedPrehashSigner` the other curves get from their crates, on top
/// of the generic `ecdsa::hazmat::sign_prehashed`.
struct P192Signer<'a>(&'a P192SecretKey);

impl RandomizedPrehashSigner<p192::ecdsa::Signature> for P192Signer<'_> {
    fn sign_prehash_with_rng(
        &self,
        rng: &mut impl rand_core::CryptoRngCore,
        prehash: &[u8],
    ) -> Result<p192::ecdsa::Signature, signature::Error> {
        let z = ecdsa::hazmat::bits2field::<NistP192>(prehash)?;
        let d = *self.0.to_nonzero_scalar();
        loop {
            let k = NonZeroScalar::<NistP192>::random(&mut *rng);
            // A zero r or s (negligible probability) is retried with a new k.
            if let Ok((sig, _)) = ecdsa::hazmat::sign_prehashed::<NistP192, _>(&d, *k, &z) {
                return Ok(sig);
            }
        }
    }
}

impl PublicKey {
    /// Loads a PEM key for verification: a public key (SPKI) or any private
    /// key espsecure accepts (its public half), as `_get_sbv2_pub_key`.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        Self::try_from(KeyFile::from_pem(text.as_bytes(), None)?)
    }

    /// The public key as SPKI PEM (`extract-public-key --version 2`).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        Ok(key_files::PublicKey::from(self.clone()).to_spki_pem()?)
    }

    /// The scheme of this key.
    pub fn scheme(&self) -> SigningScheme {
        match self {
            Self::Rsa3072(_) => SigningScheme::Rsa3072,
            Self::Ecdsa192(_) => SigningScheme::Ecdsa192,
            Self::Ecdsa256(_) => SigningScheme::Ecdsa256,
            Self::Ecdsa384(_) => SigningScheme::Ecdsa384,
        }
    }

    /// The key exactly as the signature block stores it, the bytes the
    /// eFuse digest covers (reference/esptool.md §1.5):
    /// RSA `n_LE(384) ‖ e_LE32 ‖ rinv_LE(384) ‖ m'_LE32` (776 bytes);
    /// ECDSA `curve_id ‖ X_LE ‖ Y_LE`, padded with zeros to 1 + 64 bytes
    /// for P-192/P-256, 1 + 96 bytes for P-384.
    pub fn block_key_field(&self) -> Vec<u8> {
        match self {
            Self::Rsa3072(k) => rsa_key_field(k),
            Self::Ecdsa192(k) => ec_key_field(CURVE_ID_P192, &k.to_encoded_point(false), 24, 64),
            Self::Ecdsa256(k) => ec_key_field(CURVE_ID_P256, &k.to_encoded_point(false), 32, 64),
            Self::Ecdsa384(k) => ec_key_field(CURVE_ID_P384, &k.to_encoded_point(false), 48, 96),
        }
    }

    /// The Secure Boot V2 public key digest: SHA-256 of
    /// [`Self::block_key_field`], the 32 bytes burned into eFuse
    /// (`digest-sbv2-public-key`, `burn-key-digest`).
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.block_key_field()).into()
    }

    /// Rebuilds a key from a block's key field (see
    /// [`Self::block_key_field`]).
    pub(crate) fn from_block_key_field(
        scheme: SigningScheme,
        field: &[u8],
    ) -> Result<Self, KeyError> {
        let be = |le: &[u8]| -> Vec<u8> { le.iter().rev().copied().collect() };
        match scheme {
            SigningScheme::Rsa3072 => {
                let n = field.get(..RSA_BYTES).ok_or(KeyError::InvalidBlockKey)?;
                let e = field
                    .get(RSA_BYTES..RSA_BYTES + 4)
                    .ok_or(KeyError::InvalidBlockKey)?;
                let e = u32::from_le_bytes(e.try_into().map_err(|_| KeyError::InvalidBlockKey)?);
                let key = RsaPublicKey::new(BigUint::from_bytes_le(n), BigUint::from(e))
                    .map_err(|_| KeyError::InvalidBlockKey)?;
                if key.size() * 8 != RSA_BITS {
                    return Err(KeyError::InvalidBlockKey);
                }
                Ok(Self::Rsa3072(key))
            }
            _ => {
                let n = scheme.ecdsa_coordinate_len();
                let x = field.get(1..1 + n).ok_or(KeyError::InvalidBlockKey)?;
                let y = field
                    .get(1 + n..1 + 2 * n)
                    .ok_or(KeyError::InvalidBlockKey)?;
                let mut sec1 = vec![0x04];
                sec1.extend(be(x));
                sec1.extend(be(y));
                let bad = |_| KeyError::InvalidBlockKey;
                Ok(match scheme {
                    SigningScheme::Ecdsa192 => {
                        Self::Ecdsa192(P192PublicKey::from_sec1_bytes(&sec1).map_err(bad)?)
                    }
                    SigningScheme::Ecdsa256 => {
                        Self::Ecdsa256(p256::PublicKey::from_sec1_bytes(&sec1).map_err(bad)?)
                    }
                    _ => Self::Ecdsa384(p384::PublicKey::from_sec1_bytes(&sec1).map_err(bad)?),
                })
            }
        }
    }

    /// Verifies `signature` over an image digest (SHA-256, or SHA-384 for
    /// P-384) with the parameters espsecure and the ROM use.
    pub fn verify_prehash(
        &self,
        digest: &[u8],
        signature: &Sbv2Signature,
    ) -> Result<(), signature::Error> {
        match (self, signature) {
            (Self::Rsa3072(k), Sbv2Signature::Rsa3072(raw)) => {
                let verifier = rsa::pss::VerifyingKey::<Sha256>::new_with_salt_len(
                    k.clone(),
                    RSA_PSS_SALT_LEN,
                );
                let sig = rsa::pss::Signature::try_from(&raw[..])?;
                verifier.verify_prehash(digest, &sig)
            }
            (Self::Ecdsa192(k), Sbv2Signature::Ecdsa192(sig)) => {
                p192::ecdsa::VerifyingKey::from(k).verify_prehash(digest, sig)
            }
            (Self::Ecdsa256(k), Sbv2Signature::Ecdsa256(sig)) => {
                p256::ecdsa::VerifyingKey::from(k).verify_prehash(digest, sig)
            }
            (Self::Ecdsa384(k), Sbv2Signature::Ecdsa384(sig)) => {
                p384::ecdsa::VerifyingKey::from(k).verify_prehash(digest, sig)
            }
            _ => Err(signature::Error::new()),
        }
    }
}

/// Curve ids in ECDSA blocks (`CURVE_ID_P192/P256/P384`,
/// espsecure/__init__.py L33-L51).
pub(crate) const CURVE_ID_P192: u8 = 1;
pub(crate) const CURVE_ID_P256: u8 = 2;
pub(crate) const CURVE_ID_P384: u8 = 3;

fn ec_key_field(
    curve_id: u8,
    point: &impl AsRef<[u8]>,
    coordinate_len: usize,
    field_len: usize,
) -> Vec<u8> {
    // Uncompressed SEC1: 04 ‖ X ‖ Y, big-endian.
    let point = point.as_ref();
    let mut out = vec![curve_id];
    let x = point.get(1..1 + coordinate_len).unwrap_or_default();
    let y = point
        .get(1 + coordinate_len..1 + 2 * coordinate_len)
        .unwrap_or_default();
    out.extend(x.iter().rev());
    out.extend(y.iter().rev());
    out.resize(1 + field_len, 0);
    out
}

/// The low 32 bits of `x`.
fn low_u32(x: &BigUint) -> u32 {
    let mut le = x.to_bytes_le();
    le.resize(4, 0);
    u32::from_le_bytes([le[0], le[1], le[2], le[3]])
}

fn rsa_key_field(key: &RsaPublicKey) -> Vec<u8> {
    let n = key.n();
    let mut out = Vec::with_capacity(2 * RSA_BYTES + 8);
    let mut n_le = n.to_bytes_le();
    n_le.resize(RSA_BYTES, 0);
    out.extend(&n_le);
    // The ROM reads e as a u32 (struct "<I" in generate_rsa_signature_block).
    out.extend(low_u32(key.e()).to_le_bytes());
    // rinv = R^2 mod n with R = 2^3072 (Montgomery constant for the ROM).
    let rinv: BigUint = (BigUint::from(1u8) << (2 * RSA_BITS)) % n;
    let mut rinv_le = rinv.to_bytes_le();
    rinv_le.resize(RSA_BYTES, 0);
    out.extend(&rinv_le);
    // m' = -n^-1 mod 2^32
    out.extend(modinv_2_32(low_u32(n)).wrapping_neg().to_le_bytes());
    out
}

/// cryptography's `rsa._modinv(n, 1 << 32)` (the extended Euclidean
/// algorithm espsecure's `_get_sbv2_rsa_primitives` calls) for a modulus
/// whose low word is `n0`: n's inverse modulo 2^32 when n is odd, and
/// whatever the algorithm ends with when n is even (cryptography loads an
/// even modulus, and espsecure digests it).
fn modinv_2_32(n0: u32) -> u32 {
    // The first step divides n by 2^32: its remainder is n0, and the
    // quotient only touches the coefficient that step discards.
    let (mut a, mut b) = (1i64 << 32, i64::from(n0));
    let (mut x1, mut x2) = (0i64, 1i64);
    while b > 0 {
        let (q, r) = (a / b, a % b);
        (a, b, x1, x2) = (b, r, x2, x1 - q * x2);
    }
    // Python's `%`: the non-negative remainder; |x1| stays below 2^32
    x1.rem_euclid(1 << 32) as u32
}

#[cfg(test)]
mod tests;

/// Why a file is not a usable Secure Boot V2 verification key, as
/// espsecure's `_get_sbv2_pub_key` decides it: by the PEM label the file
/// holds first, then by the key (`espsecure/__init__.py` 5.6.0
/// `_get_sbv2_pub_key`, `_load_sbv2_pub_key`, `_load_private_key_unified`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerificationKeyError {
    /// No private or public key PEM label in the file.
    #[error("not a PEM private or public key")]
    NotPem,
    /// The file has a private key label (`private`) or a public key label,
    /// but the key is refused.
    #[error("{error}")]
    Key {
        /// Whether espsecure read the file as a private key.
        private: bool,
        /// Why.
        #[source]
        error: KeyError,
    },
}

impl PublicKey {
    /// Loads a Secure Boot V2 verification key file the way espsecure's
    /// `_get_sbv2_pub_key` does: a private key label anywhere in the file
    /// makes it a private key (its public half is used), else a public key
    /// label a public key, else it is refused.
    pub fn from_verification_file(data: &[u8]) -> Result<Self, VerificationKeyError> {
        let has = |label: &[u8]| data.windows(label.len()).any(|w| w == label);
        let private = [
            b"-BEGIN RSA PRIVATE KEY".as_slice(),
            b"-BEGIN EC PRIVATE KEY",
            b"-BEGIN PRIVATE KEY",
        ]
        .iter()
        .any(|l| has(l));
        if !private && !has(b"-BEGIN PUBLIC KEY") {
            return Err(VerificationKeyError::NotPem);
        }
        KeyFile::from_pem(data, None)
            .map_err(KeyError::from)
            .and_then(Self::try_from)
            .map_err(|error| VerificationKeyError::Key { private, error })
    }
}
