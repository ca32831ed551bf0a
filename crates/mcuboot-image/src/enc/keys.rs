//! Encryption keys: the public side ([`Recipient`], what `imgtool sign -E`
//! takes) and the private side ([`DecryptionKey`], what the bootloader embeds).
//!
//! Key files are PEM or DER, read by the shared loader ([`key_files`], the
//! same rules as for signing keys), or, for AES key wrap, a base64 text
//! file holding the raw key-encryption key, the format of MCUboot's
//! `enc-aes128kw.b64` / `enc-aes256kw.b64`. Only the key types MCUboot can
//! decrypt with are accepted.

extern crate std;

use std::boxed::Box;

use key_files::{KeyFile, KeyFileError, KeyKind};
use pkcs8::der::Decode;
use rsa::traits::PublicKeyParts;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::AesKeyLen;

/// The only RSA modulus size MCUboot decrypts with: `ENC_RSA2048` is exactly
/// 256 bytes (`BOOT_ENC_TLV_SIZE`, `bootutil/enc_key_public.h`).
const RSA_ENC_MODULUS_BYTES: usize = 256;

/// Why a key file could not be used for image encryption.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file could not be read as a key (the shared loader).
    #[error(transparent)]
    File(#[from] KeyFileError),
    /// The key is of a type MCUboot cannot encrypt images for.
    #[error("{0} keys cannot encrypt MCUboot images (expected RSA-2048, EC P-256, X25519 or an AES key-wrap key)")]
    UnsupportedKeyType(KeyKind),
    /// RSA key of a size other than 2048 bits.
    #[error("RSA-{0} cannot encrypt MCUboot images (ENC_RSA2048 needs a 2048-bit key)")]
    RsaKeySize(usize),
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

fn check_rsa_size(n_bytes: usize) -> Result<(), KeyError> {
    if n_bytes == RSA_ENC_MODULUS_BYTES {
        Ok(())
    } else {
        Err(KeyError::RsaKeySize(n_bytes * 8))
    }
}

fn recipient_from(public: key_files::PublicKey) -> Result<Recipient, KeyError> {
    use key_files::PublicKey as P;
    match public {
        P::Rsa(k) => {
            check_rsa_size(k.size())?;
            Ok(Recipient::Rsa2048(k))
        }
        P::P256(k) => Ok(Recipient::EcP256(k)),
        P::X25519(k) => Ok(Recipient::X25519(k)),
        other => Err(KeyError::UnsupportedKeyType(other.kind())),
    }
}

fn decryption_key_from(private: key_files::PrivateKey) -> Result<DecryptionKey, KeyError> {
    use key_files::PrivateKey as P;
    match private {
        P::Rsa(k) => {
            check_rsa_size(k.size())?;
            Ok(DecryptionKey::Rsa2048(k))
        }
        P::P256(k) => Ok(DecryptionKey::EcP256(k)),
        P::X25519(k) => Ok(DecryptionKey::X25519(k)),
        other => Err(KeyError::UnsupportedKeyType(other.kind())),
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

/// A key file's key as either half.
fn any_key_from(file: KeyFile) -> Result<AnyKey, KeyError> {
    match file {
        KeyFile::Private(k) => Ok(AnyKey::Private(decryption_key_from(k)?)),
        KeyFile::Public(k) => Ok(AnyKey::Public(recipient_from(k)?)),
        _ => Err(KeyError::UnrecognizedFormat),
    }
}

/// DER through the shared loader, plus imgtool's `getpriv --minimal` RSA form.
fn any_key_from_der(der: &[u8], password: Option<&[u8]>) -> Result<AnyKey, KeyError> {
    match KeyFile::from_der(der, password) {
        Err(KeyFileError::NotDer) => {
            let key = minimal_rsa_from_der(der).ok_or(KeyFileError::NotDer)?;
            check_rsa_size(key.size())?;
            Ok(AnyKey::Private(DecryptionKey::Rsa2048(Box::new(key))))
        }
        other => any_key_from(other?),
    }
}

/// A PEM key file through the shared loader.
fn parse_pem(pem: &str, password: Option<&[u8]>) -> Result<AnyKey, KeyError> {
    any_key_from(KeyFile::from_pem(pem.as_bytes(), password)?)
}

/// True when the shared scanner finds a PEM block, wherever it starts (a
/// base64 KEK file never holds a `-----BEGIN` line).
fn looks_like_pem(text: &str) -> bool {
    key_files::pem::blocks(text.as_bytes()).next().is_some()
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
        let der = any_key_from_der(contents, password);
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

    /// The recipient of a key file the shared loader has read: a public
    /// key, or a private key's public half.
    ///
    /// # Errors
    /// [`KeyError::UnsupportedKeyType`] and the like for keys that cannot
    /// encrypt images.
    pub fn from_key_file(file: KeyFile) -> Result<Self, KeyError> {
        match any_key_from(file)? {
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
        match any_key_from_der(der, None)? {
            AnyKey::Private(k) => Ok(k),
            AnyKey::Public(_) => Err(KeyError::PublicKeyOnly),
        }
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
