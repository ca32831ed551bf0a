//! Encryption keys: the public side ([`Recipient`], what `imgtool sign -E`
//! takes) and the private side ([`DecryptionKey`], what the bootloader embeds).
//!
//! Key files are PEM, read by the crate's key loader ([`crate::keys::KeyFile`],
//! the same rules as for signing keys), DER (what a bootloader embeds,
//! `imgtool getpriv`), or, for AES key wrap, a base64 text file holding the
//! raw key-encryption key, the format of MCUboot's `enc-aes128kw.b64` /
//! `enc-aes256kw.b64`. Only the key types MCUboot can decrypt with are
//! accepted.

extern crate std;

use std::boxed::Box;
use std::string::String;

use pkcs8::der::{asn1::OctetStringRef, Decode};
use pkcs8::{DecodePrivateKey, ObjectIdentifier, PrivateKeyInfo};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::AesKeyLen;

/// `rsaEncryption` (RFC 8017 appendix C).
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480 §2.1.1).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (RFC 5480 §2.1.1.1).
const OID_SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (RFC 5480 §2.1.1.1), only recognised to name it in errors.
const OID_SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `id-X25519` (RFC 8410 §3).
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
/// `id-Ed25519` (RFC 8410 §3), only recognised to name it in errors.
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The only RSA modulus size MCUboot decrypts with: `ENC_RSA2048` is exactly
/// 256 bytes (`BOOT_ENC_TLV_SIZE`, `bootutil/enc_key_public.h`).
const RSA_ENC_MODULUS_BYTES: usize = 256;

/// Why a key file could not be used for image encryption.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM file could not be read as a key (crate key loader).
    #[error(transparent)]
    File(#[from] crate::keys::KeyError),
    /// The key is of a type MCUboot cannot encrypt images for.
    #[error("{0} keys cannot encrypt MCUboot images (expected RSA-2048, EC P-256, X25519 or an AES key-wrap key)")]
    UnsupportedKeyType(String),
    /// RSA key of a size other than 2048 bits.
    #[error("RSA-{0} cannot encrypt MCUboot images (ENC_RSA2048 needs a 2048-bit key)")]
    RsaKeySize(usize),
    /// The key's DER structure is wrong for its declared type.
    #[error("malformed {kind} key ({reason})")]
    Malformed {
        /// Key type being decoded.
        kind: &'static str,
        /// Decoder message.
        reason: String,
    },
    /// A public key was given where the private key is needed.
    #[error("this is a public key; decryption needs the private key")]
    PublicKeyOnly,
    /// A key-wrap key that is neither 16 nor 32 bytes.
    #[error("an AES key-wrap key must be 16 or 32 bytes, got {0}")]
    KekLength(usize),
    /// Neither PEM, DER nor a base64 key-wrap key.
    #[error("expected a PEM or DER key, or a base64-encoded 16/32-byte AES key-wrap key")]
    UnrecognizedFormat,
}

/// An AES key-encryption key for RFC 3394 key wrap (`ENC_KW`), 16 or 32
/// bytes. MCUboot requires its size to equal the image key's size
/// (`key_unwrap`, `boot/bootutil/src/encrypted.c`).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Kek {
    bytes: [u8; 32],
    len: usize,
}

impl Kek {
    /// A KEK from its raw bytes (16 for AES-128, 32 for AES-256).
    pub fn from_bytes(key: &[u8]) -> Result<Self, KeyError> {
        if key.len() != 16 && key.len() != 32 {
            return Err(KeyError::KekLength(key.len()));
        }
        let mut bytes = [0u8; 32];
        bytes[..key.len()].copy_from_slice(key);
        Ok(Self {
            bytes,
            len: key.len(),
        })
    }

    /// A KEK from base64 text (surrounding whitespace ignored), the format of
    /// MCUboot's `enc-aes128kw.b64`.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        use base64ct::Encoding;
        let raw = Zeroizing::new(
            base64ct::Base64::decode_vec(text.trim()).map_err(|_| KeyError::UnrecognizedFormat)?,
        );
        Self::from_bytes(&raw)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The AES key size this KEK wraps (MCUboot: same as the KEK's size).
    pub fn key_len(&self) -> AesKeyLen {
        if self.len == 32 {
            AesKeyLen::Aes256
        } else {
            AesKeyLen::Aes128
        }
    }
}

impl core::fmt::Debug for Kek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Kek({} bits, secret)", self.len * 8)
    }
}

/// The public side of an image-encryption key: whom the per-image AES key is
/// wrapped for (imgtool `sign -E FILE`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Recipient {
    /// RSA-2048, RSAES-OAEP with SHA-256 (`ENC_RSA2048`).
    Rsa2048(rsa::RsaPublicKey),
    /// ECIES over P-256 (`ENC_EC256`).
    EcP256(p256::PublicKey),
    /// ECIES over X25519 (`ENC_X25519` / `ENC_X25519_SHA512`).
    X25519(x25519_dalek::PublicKey),
    /// RFC 3394 AES key wrap with a shared KEK (`ENC_KW`).
    AesKw(Kek),
}

/// The private side: the key the bootloader embeds to unwrap image keys.
#[derive(Clone)]
#[non_exhaustive]
pub enum DecryptionKey {
    /// RSA-2048 private key (zeroized on drop by `rsa`).
    Rsa2048(Box<rsa::RsaPrivateKey>),
    /// P-256 private scalar (zeroized on drop by `elliptic-curve`).
    EcP256(p256::SecretKey),
    /// X25519 private key (zeroized on drop, `x25519-dalek` `zeroize`).
    X25519(x25519_dalek::StaticSecret),
    /// The shared AES key-wrap KEK.
    AesKw(Kek),
}

impl core::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Rsa2048(_) => "DecryptionKey::Rsa2048(secret)",
            Self::EcP256(_) => "DecryptionKey::EcP256(secret)",
            Self::X25519(_) => "DecryptionKey::X25519(secret)",
            Self::AesKw(_) => "DecryptionKey::AesKw(secret)",
        })
    }
}

/// A parsed key file: either half, as imgtool accepts either for `-E`.
enum AnyKey {
    Public(Recipient),
    Private(DecryptionKey),
}

fn malformed(kind: &'static str) -> impl FnOnce(core::fmt::Arguments<'_>) -> KeyError {
    move |reason| KeyError::Malformed {
        kind,
        reason: std::format!("{reason}"),
    }
}

fn check_rsa_size(n_bytes: usize) -> Result<(), KeyError> {
    if n_bytes == RSA_ENC_MODULUS_BYTES {
        Ok(())
    } else {
        Err(KeyError::RsaKeySize(n_bytes * 8))
    }
}

fn key_type_name(oid: ObjectIdentifier, params: Option<ObjectIdentifier>) -> String {
    match (oid, params) {
        (OID_EC_PUBLIC_KEY, Some(OID_SECP384R1)) => "EC P-384".into(),
        (OID_EC_PUBLIC_KEY, _) => "EC (non-P-256)".into(),
        (OID_ED25519, _) => "Ed25519".into(),
        (oid, _) => std::format!("OID {oid}"),
    }
}

/// Decodes a PKCS#8 `PrivateKeyInfo` into a decryption key.
fn from_pkcs8_der(der: &[u8]) -> Result<DecryptionKey, KeyError> {
    let info =
        PrivateKeyInfo::from_der(der).map_err(|e| malformed("PKCS#8")(format_args!("{e}")))?;
    let oid = info.algorithm.oid;
    let params = info.algorithm.parameters_oid().ok();
    match (oid, params) {
        (OID_RSA_ENCRYPTION, _) => {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|e| malformed("RSA")(format_args!("{e}")))?;
            check_rsa_size(key.size())?;
            Ok(DecryptionKey::Rsa2048(Box::new(key)))
        }
        (OID_EC_PUBLIC_KEY, Some(OID_SECP256R1)) => {
            let key = p256::SecretKey::from_pkcs8_der(der)
                .map_err(|e| malformed("EC P-256")(format_args!("{e}")))?;
            Ok(DecryptionKey::EcP256(key))
        }
        (OID_X25519, _) => {
            // RFC 8410 §7: privateKey is an OCTET STRING wrapping the
            // 32-byte CurvePrivateKey OCTET STRING.
            let inner = OctetStringRef::from_der(info.private_key)
                .map_err(|e| malformed("X25519")(format_args!("{e}")))?;
            let raw: [u8; 32] = inner.as_bytes().try_into().map_err(|_| {
                malformed("X25519")(format_args!(
                    "private key is {} bytes, expected 32",
                    inner.as_bytes().len()
                ))
            })?;
            let secret = x25519_dalek::StaticSecret::from(raw);
            let mut raw = raw;
            raw.zeroize();
            Ok(DecryptionKey::X25519(secret))
        }
        (oid, params) => Err(KeyError::UnsupportedKeyType(key_type_name(oid, params))),
    }
}

fn recipient_from(public: crate::keys::PublicKey) -> Result<Recipient, KeyError> {
    use crate::keys::PublicKey as P;
    match public {
        P::Rsa(k) => {
            check_rsa_size(k.size())?;
            Ok(Recipient::Rsa2048(k))
        }
        P::P256(k) => Ok(Recipient::EcP256(k)),
        P::X25519(k) => Ok(Recipient::X25519(k)),
        other => Err(KeyError::UnsupportedKeyType(other.type_name())),
    }
}

fn decryption_key_from(private: crate::keys::PrivateKey) -> Result<DecryptionKey, KeyError> {
    use crate::keys::PrivateKey as P;
    match private {
        P::Rsa(k) => {
            check_rsa_size(k.size())?;
            Ok(DecryptionKey::Rsa2048(k))
        }
        P::P256(k) => Ok(DecryptionKey::EcP256(k)),
        P::X25519(k) => Ok(DecryptionKey::X25519(k)),
        other => Err(KeyError::UnsupportedKeyType(other.public_key().type_name())),
    }
}

/// imgtool's `getpriv --minimal` RSA form: PKCS#1 cut after the primes,
/// `SEQUENCE { 0, n, e, d, p, q }` (imgtool `keys/rsa.py`
/// `_build_minimal_rsa_privkey`), which MCUboot's own parser accepts.
fn minimal_rsa_from_der(der: &[u8]) -> Option<rsa::RsaPrivateKey> {
    use pkcs8::der::asn1::UintRef;
    let fields: std::vec::Vec<UintRef<'_>> = Decode::from_der(der).ok()?;
    let [version, n, e, d, p, q] = fields.as_slice() else {
        return None;
    };
    if !version.as_bytes().iter().all(|&b| b == 0) {
        return None;
    }
    let int = |u: &UintRef<'_>| rsa::BigUint::from_bytes_be(u.as_bytes());
    let key =
        rsa::RsaPrivateKey::from_components(int(n), int(e), int(d), std::vec![int(p), int(q)])
            .ok()?;
    key.validate().ok()?;
    Some(key)
}

/// Decodes a DER `SubjectPublicKeyInfo` into a recipient.
fn from_spki_der(der: &[u8]) -> Result<Recipient, KeyError> {
    recipient_from(crate::keys::PublicKey::from_spki_der(der)?)
}

/// A PEM key file through the crate's key loader.
fn parse_pem(pem: &str, password: Option<&[u8]>) -> Result<AnyKey, KeyError> {
    match crate::keys::KeyFile::from_pem(pem.as_bytes(), password)? {
        crate::keys::KeyFile::Private(k) => Ok(AnyKey::Private(decryption_key_from(k)?)),
        crate::keys::KeyFile::Public(k) => Ok(AnyKey::Public(recipient_from(k)?)),
    }
}

fn looks_like_pem(text: &str) -> bool {
    text.trim_start().starts_with("-----BEGIN ")
}

/// True when `bytes` is exactly one DER SEQUENCE (tag 0x30 and a definite
/// length covering the rest). A bare tag check is not enough: base64 text may
/// start with `0` (0x30), as MCUboot's own `enc-aes128kw.b64` does.
fn looks_like_der_sequence(bytes: &[u8]) -> bool {
    let (header, body) = match bytes {
        [0x30, n, ..] if *n < 0x80 => (2, usize::from(*n)),
        [0x30, 0x81, n, ..] => (3, usize::from(*n)),
        [0x30, 0x82, hi, lo, ..] => (4, usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => return false,
    };
    header + body == bytes.len()
}

fn parse_file(contents: &[u8], password: Option<&[u8]>) -> Result<AnyKey, KeyError> {
    if looks_like_der_sequence(contents) {
        let der = match from_spki_der(contents) {
            Ok(r) => Ok(AnyKey::Public(r)),
            Err(_) => DecryptionKey::from_der(contents).map(AnyKey::Private),
        };
        // Text that merely looks like DER (base64 starting "0+", say) goes on
        // to the text formats below.
        if der.is_ok() || core::str::from_utf8(contents).is_err() {
            return der;
        }
    }
    let text = core::str::from_utf8(contents).map_err(|_| KeyError::UnrecognizedFormat)?;
    if looks_like_pem(text) {
        parse_pem(text, password)
    } else {
        Ok(AnyKey::Private(DecryptionKey::AesKw(Kek::from_base64(
            text,
        )?)))
    }
}

impl Recipient {
    /// Reads a recipient from PEM: a public key (SPKI, or PKCS#1 for RSA) or
    /// a private key, whose public half is used (imgtool accepts both).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        match parse_pem(pem, None)? {
            AnyKey::Public(r) => Ok(r),
            AnyKey::Private(k) => Ok(k.recipient()),
        }
    }

    /// Reads a recipient from the contents of a key file: PEM as in
    /// [`Recipient::from_pem`], DER (SubjectPublicKeyInfo or a private key
    /// as [`DecryptionKey::from_der`] reads it), else a base64 AES key-wrap
    /// KEK.
    pub fn from_file_contents(contents: &[u8]) -> Result<Self, KeyError> {
        match parse_file(contents, None)? {
            AnyKey::Public(r) => Ok(r),
            AnyKey::Private(k) => Ok(k.recipient()),
        }
    }

    /// Short name of the key type, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Rsa2048(_) => "RSA-2048",
            Self::EcP256(_) => "EC P-256",
            Self::X25519(_) => "X25519",
            Self::AesKw(_) => "AES key wrap",
        }
    }
}

impl DecryptionKey {
    /// Reads a private key from PEM: PKCS#8 (RSA, EC P-256, X25519; an
    /// `ENCRYPTED PRIVATE KEY` needs `password`), PKCS#1 RSA or SEC1 EC.
    pub fn from_pem(pem: &str, password: Option<&[u8]>) -> Result<Self, KeyError> {
        match parse_pem(pem, password)? {
            AnyKey::Private(k) => Ok(k),
            AnyKey::Public(_) => Err(KeyError::PublicKeyOnly),
        }
    }

    /// Reads a private key from DER, the bytes a bootloader embeds (`imgtool
    /// getpriv`): PKCS#8 (RSA, EC P-256, X25519, also the `--minimal` form),
    /// PKCS#1 RSA or SEC1 EC (`-f openssl`).
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        if PrivateKeyInfo::from_der(der).is_ok() {
            return from_pkcs8_der(der);
        }
        if let Some(key) = rsa::RsaPrivateKey::from_pkcs1_der(der)
            .ok()
            .or_else(|| minimal_rsa_from_der(der))
        {
            check_rsa_size(key.size())?;
            return Ok(Self::Rsa2048(Box::new(key)));
        }
        p256::SecretKey::from_sec1_der(der)
            .map(Self::EcP256)
            .map_err(|_| KeyError::Malformed {
                kind: "DER private",
                reason: "neither PKCS#8, PKCS#1 RSA nor SEC1 EC P-256".into(),
            })
    }

    /// Reads a private key from the contents of a key file: PEM as in
    /// [`DecryptionKey::from_pem`], DER as in [`DecryptionKey::from_der`],
    /// else a base64 AES key-wrap KEK.
    pub fn from_file_contents(contents: &[u8], password: Option<&[u8]>) -> Result<Self, KeyError> {
        match parse_file(contents, password)? {
            AnyKey::Private(k) => Ok(k),
            AnyKey::Public(_) => Err(KeyError::PublicKeyOnly),
        }
    }

    /// The matching public side.
    pub fn recipient(&self) -> Recipient {
        match self {
            Self::Rsa2048(k) => Recipient::Rsa2048(k.to_public_key()),
            Self::EcP256(k) => Recipient::EcP256(k.public_key()),
            Self::X25519(k) => Recipient::X25519(x25519_dalek::PublicKey::from(k)),
            Self::AesKw(k) => Recipient::AesKw(k.clone()),
        }
    }

    /// Short name of the key type, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Rsa2048(_) => "RSA-2048",
            Self::EcP256(_) => "EC P-256",
            Self::X25519(_) => "X25519",
            Self::AesKw(_) => "AES key wrap",
        }
    }
}
