//! MCUboot's view of key files: which keys imgtool accepts, the public key
//! bytes a bootloader embeds, and imgtool's `getpub`/`getpriv` encodings.
//!
//! Reading and writing key files (PEM of any line width, PKCS#8 incl.
//! encrypted, PKCS#1, SEC1, SPKI) is the [`key_files`] crate's, shared with
//! espsecure's commands; its types are re-exported here. imgtool accepts
//! RSA-2048/3072, ECDSA P-256/P-384, Ed25519 and X25519
//! (`imgtool/keys/__init__.py` `load`): [`load_pem`] and
//! [`check_supported`] refuse the rest.
//!
//! The public key bytes embedded in a bootloader (and hashed into KEYHASH)
//! are [`McubootKey::embedded_der`]: PKCS#1 `RSAPublicKey` for RSA,
//! SubjectPublicKeyInfo for everything else (reference/mcuboot.md §1.6).

use std::fmt::Write as _;
use std::string::String;
use std::vec::Vec;

use zeroize::Zeroizing;

pub use key_files::{KeyFile, KeyFileError, KeyKind, PrivateKey, PublicKey};

use crate::verify::SignatureKind;
use crate::HashAlg;

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

    /// The key-file type.
    #[must_use]
    pub const fn kind(self) -> KeyKind {
        match self {
            Self::Rsa2048 => KeyKind::RSA_2048,
            Self::Rsa3072 => KeyKind::RSA_3072,
            Self::EcdsaP256 => KeyKind::EcdsaP256,
            Self::EcdsaP384 => KeyKind::EcdsaP384,
            Self::Ed25519 => KeyKind::Ed25519,
            Self::X25519 => KeyKind::X25519,
        }
    }
}

impl From<KeyType> for KeyKind {
    fn from(t: KeyType) -> Self {
        t.kind()
    }
}

impl std::str::FromStr for KeyType {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or(KeyError::UnknownKeyType)
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key cannot be used with imgtool's rules, or not encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read or the key not encoded.
    #[error(transparent)]
    File(#[from] KeyFileError),
    /// A key type imgtool does not load (RSA-4096, P-192, …).
    #[error("imgtool does not support {0} keys (expected rsa-2048, rsa-3072, ecdsa-p256, ecdsa-p384, ed25519 or x25519)")]
    Unsupported(KeyKind),
    /// A name that is not one of [`KeyType::ALL`].
    #[error(
        "unknown key type (expected rsa-2048, rsa-3072, ecdsa-p256, ecdsa-p384, ed25519 or x25519)"
    )]
    UnknownKeyType,
    /// `getpriv` for a key type imgtool has no private encoding for.
    #[error("Operation not supported with {key} keys")]
    OperationNotSupported {
        /// imgtool's short name of the key type.
        key: &'static str,
    },
    /// `getpriv -f` with a format the key type lacks.
    #[error("{key} does not support {format}")]
    FormatNotSupported {
        /// imgtool's short name of the key type.
        key: &'static str,
        /// The format asked for.
        format: PrivateFormat,
    },
    /// `getpriv --minimal` found an unexpected RSA layout (imgtool's message).
    #[error("Error parsing {part} while minimizing")]
    Minimize {
        /// The field being skipped.
        part: &'static str,
    },
    /// `getpriv --minimal` found an unexpected EC layout (imgtool's message).
    #[error("Error parsing ecdsa key. Please submit an issue!")]
    MinimizeEcdsa,
}

/// Refuses key types imgtool does not load (`imgtool/keys/__init__.py`
/// `load`: RSA sizes in `RSA_KEY_SIZES`, curves secp256r1 and secp384r1).
///
/// # Errors
/// [`KeyError::Unsupported`].
pub fn check_supported(kind: KeyKind) -> Result<(), KeyError> {
    match kind {
        KeyKind::RSA_2048
        | KeyKind::RSA_3072
        | KeyKind::EcdsaP256
        | KeyKind::EcdsaP384
        | KeyKind::Ed25519
        | KeyKind::X25519 => Ok(()),
        other => Err(KeyError::Unsupported(other)),
    }
}

/// How imgtool 2.5.0's `keys.load` ends for a key that `cryptography`
/// loads but imgtool does not take (`imgtool/keys/__init__.py` `load`):
/// an exception its callers do not catch. [`core::fmt::Display`] gives
/// the last line of Python's traceback for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImgtoolLoadFailure {
    /// An RSA modulus size other than 2048 and 3072 bits: the message
    /// `keys.load` builds adds the integer size to a string, which Python
    /// refuses with a TypeError before the intended Exception is raised.
    RsaKeySize,
    /// An EC curve other than secp256r1 and secp384r1: a bare Exception
    /// naming the curve as OpenSSL names it.
    EcCurve(&'static str),
    /// A key type imgtool has no class for (Ed448, X448, DSA): a bare
    /// Exception naming cryptography's class of the key.
    UnknownType(&'static str),
}

impl ImgtoolLoadFailure {
    /// The failure for a key of `kind` that [`check_supported`] refuses.
    #[must_use]
    pub fn of_kind(kind: KeyKind) -> Option<Self> {
        if check_supported(kind).is_ok() {
            return None;
        }
        match kind {
            KeyKind::Rsa { .. } => Some(Self::RsaKeySize),
            KeyKind::EcdsaP192 => Some(Self::EcCurve("secp192r1")),
            _ => None,
        }
    }

    /// The failure for a key the shared loader refuses although
    /// `cryptography` loads it (an RSA size or a curve the loader does
    /// not read).
    #[must_use]
    pub fn of_file_error(err: &KeyFileError) -> Option<Self> {
        match err {
            KeyFileError::UnsupportedRsaSize { .. } => Some(Self::RsaKeySize),
            KeyFileError::UnsupportedCurve { oid } => {
                key_files::oid::curve_name(oid).map(Self::EcCurve)
            }
            KeyFileError::UnsupportedAlgorithm { oid, private } => {
                // cryptography's classes of the keys it loads
                // (cryptography/hazmat/bindings/_rust/openssl/*.pyi)
                // (OIDs: RFC 8410 id-X448 and id-Ed448, RFC 3279 id-dsa)
                use pkcs8::ObjectIdentifier as Oid;
                const CLASSES: [(Oid, &str, &str); 3] = [
                    (
                        Oid::new_unwrap("1.3.101.111"),
                        "x448.X448PrivateKey",
                        "x448.X448PublicKey",
                    ),
                    (
                        Oid::new_unwrap("1.3.101.113"),
                        "ed448.Ed448PrivateKey",
                        "ed448.Ed448PublicKey",
                    ),
                    (
                        Oid::new_unwrap("1.2.840.10040.4.1"),
                        "dsa.DSAPrivateKey",
                        "dsa.DSAPublicKey",
                    ),
                ];
                CLASSES
                    .iter()
                    .find(|(id, _, _)| id == oid)
                    .map(|(_, p, q)| Self::UnknownType(if *private { p } else { q }))
            }
            _ => None,
        }
    }

    /// The failure behind `err`, if it is one of these.
    #[must_use]
    pub fn of(err: &KeyError) -> Option<Self> {
        match err {
            KeyError::Unsupported(kind) => Self::of_kind(*kind),
            KeyError::File(e) => Self::of_file_error(e),
            _ => None,
        }
    }
}

impl core::fmt::Display for ImgtoolLoadFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::RsaKeySize => {
                f.write_str("TypeError: can only concatenate str (not \"int\") to str")
            }
            Self::EcCurve(name) => write!(f, "Exception: Unsupported EC curve: {name}"),
            Self::UnknownType(class) => write!(
                f,
                "Exception: Unknown key type: <class 'cryptography.hazmat.bindings._rust.openssl.{class}'>"
            ),
        }
    }
}

/// The MCUboot signature a key of `kind` makes, if it signs images.
fn signature_kind_of(kind: KeyKind) -> Option<SignatureKind> {
    match kind {
        KeyKind::RSA_2048 => Some(SignatureKind::Rsa2048),
        KeyKind::RSA_3072 => Some(SignatureKind::Rsa3072),
        KeyKind::EcdsaP256 => Some(SignatureKind::EcdsaP256),
        KeyKind::EcdsaP384 => Some(SignatureKind::EcdsaP384),
        KeyKind::Ed25519 => Some(SignatureKind::Ed25519),
        _ => None,
    }
}

/// The class imgtool 2.5.0's `keys.load` gives a key file
/// (`imgtool/keys/*.py`): one per key type, and a `…Public` class when the
/// file holds only the public key. `image.py` looks the class up in its
/// hash tables, and names it when it is missing from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImgtoolKeyClass {
    family: ImgtoolKeyFamily,
    public_only: bool,
}

/// imgtool's key modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImgtoolKeyFamily {
    Rsa,
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    X25519,
}

impl ImgtoolKeyClass {
    /// The class of a key of `kind` (`public_only` for a public key file),
    /// or `None` for a kind imgtool does not load ([`check_supported`]).
    #[must_use]
    pub fn of(kind: KeyKind, public_only: bool) -> Option<Self> {
        check_supported(kind).ok()?;
        let family = match kind {
            KeyKind::Rsa { .. } => ImgtoolKeyFamily::Rsa,
            KeyKind::EcdsaP256 => ImgtoolKeyFamily::EcdsaP256,
            KeyKind::EcdsaP384 => ImgtoolKeyFamily::EcdsaP384,
            KeyKind::Ed25519 => ImgtoolKeyFamily::Ed25519,
            KeyKind::X25519 => ImgtoolKeyFamily::X25519,
            _ => return None,
        };
        Some(Self {
            family,
            public_only,
        })
    }

    /// The private class of a key that makes `kind` signatures.
    #[must_use]
    pub fn of_signer(kind: SignatureKind) -> Self {
        let family = match kind {
            SignatureKind::Rsa2048 | SignatureKind::Rsa3072 => ImgtoolKeyFamily::Rsa,
            SignatureKind::EcdsaP256 => ImgtoolKeyFamily::EcdsaP256,
            SignatureKind::EcdsaP384 => ImgtoolKeyFamily::EcdsaP384,
            SignatureKind::Ed25519 => ImgtoolKeyFamily::Ed25519,
        };
        Self {
            family,
            public_only: false,
        }
    }

    /// Python's qualified name of the class, as `type(key)` prints it
    /// inside `<class '…'>`.
    #[must_use]
    pub fn python_name(&self) -> &'static str {
        use ImgtoolKeyFamily as F;
        match (self.family, self.public_only) {
            (F::Rsa, false) => "imgtool.keys.rsa.RSA",
            (F::Rsa, true) => "imgtool.keys.rsa.RSAPublic",
            (F::EcdsaP256, false) => "imgtool.keys.ecdsa.ECDSA256P1",
            (F::EcdsaP256, true) => "imgtool.keys.ecdsa.ECDSA256P1Public",
            (F::EcdsaP384, false) => "imgtool.keys.ecdsa.ECDSA384P1",
            (F::EcdsaP384, true) => "imgtool.keys.ecdsa.ECDSA384P1Public",
            (F::Ed25519, false) => "imgtool.keys.ed25519.Ed25519",
            (F::Ed25519, true) => "imgtool.keys.ed25519.Ed25519Public",
            (F::X25519, false) => "imgtool.keys.x25519.X25519",
            (F::X25519, true) => "imgtool.keys.x25519.X25519Public",
        }
    }

    /// The hashes `image.py` allows the class (`ALLOWED_KEY_SHA`, or
    /// `ALLOWED_PURE_KEY_SHA` for `pure`), the default first; `None` when
    /// the table has no entry for it, which `image.py`
    /// `key_and_user_sha_to_alg_and_tlv` refuses ("Could not find allowed
    /// hash algorithms for <class '…'>").
    #[must_use]
    pub fn allowed_hashes(&self, pure: bool) -> Option<&'static [HashAlg]> {
        use ImgtoolKeyFamily as F;
        let public_only = self.public_only;
        if pure {
            // ALLOWED_PURE_KEY_SHA: the private Ed25519 class only
            return (self.family == F::Ed25519 && !public_only).then_some(&[HashAlg::Sha512]);
        }
        Some(match self.family {
            // ALLOWED_KEY_SHA has no X25519Public
            F::X25519 if public_only => return None,
            F::X25519 => &[HashAlg::Sha256, HashAlg::Sha512],
            F::Rsa => &[HashAlg::Sha256],
            F::EcdsaP256 => crate::sign::allowed_hashes(SignatureKind::EcdsaP256, public_only),
            F::EcdsaP384 => &[HashAlg::Sha384],
            F::Ed25519 => &[HashAlg::Sha256, HashAlg::Sha512],
        })
    }
}

/// imgtool's rule for a signing key and an encryption key given together
/// (`imgtool/main.py` `sign`): an ECDSA signing key needs an encryption
/// key on its own curve, an RSA signing key an RSA one; any other signing
/// key takes any encryption key. `encryption` is the kind `keys.load`
/// gave the `-E` file.
#[must_use]
pub fn imgtool_keys_pair(signing: KeyKind, encryption: KeyKind) -> bool {
    match signing {
        KeyKind::EcdsaP256 | KeyKind::EcdsaP384 => encryption == signing,
        KeyKind::Rsa { .. } => matches!(encryption, KeyKind::Rsa { .. }),
        _ => true,
    }
}

/// Reads a PEM key file as imgtool's `keys.load` accepts it, through the
/// shared lenient loader ([`KeyFile::from_pem`]), then
/// [`check_supported`].
///
/// # Errors
/// [`KeyError::File`] (e.g. [`KeyFileError::PasswordRequired`]) or
/// [`KeyError::Unsupported`].
pub fn load_pem(pem: &[u8], password: Option<&[u8]>) -> Result<KeyFile, KeyError> {
    let file = KeyFile::from_pem(pem, password)?;
    check_supported(file.kind())?;
    Ok(file)
}

/// What MCUboot makes of a public key.
pub trait McubootKey {
    /// imgtool's `shortname()`, used in `getpub` symbol names (`rsa`,
    /// `ecdsa`, `ecdsap384`, `ed25519`, `x25519`).
    fn shortname(&self) -> &'static str;
    /// The signature this key verifies; `None` for X25519 and for types
    /// MCUboot cannot verify with.
    fn signature_kind(&self) -> Option<SignatureKind>;
    /// The bytes a bootloader embeds and KEYHASH hashes (`imgtool getpub
    /// -e raw`): PKCS#1 for RSA, SubjectPublicKeyInfo otherwise.
    ///
    /// # Errors
    /// Only if DER encoding fails (not expected for valid keys).
    fn embedded_der(&self) -> Result<Vec<u8>, KeyError>;
}

impl McubootKey for PublicKey {
    fn shortname(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "rsa",
            Self::P256(_) => "ecdsa",
            Self::P384(_) => "ecdsap384",
            Self::Ed25519(_) => "ed25519",
            Self::X25519(_) => "x25519",
            // Not an imgtool type; named in imgtool's pattern.
            _ => "ecdsap192",
        }
    }

    fn signature_kind(&self) -> Option<SignatureKind> {
        signature_kind_of(self.kind())
    }

    fn embedded_der(&self) -> Result<Vec<u8>, KeyError> {
        Ok(match self {
            Self::Rsa(_) => self.to_pkcs1_der()?,
            _ => self.to_spki_der()?,
        })
    }
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

/// The DER flavours of `imgtool getpriv -f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrivateFormat {
    /// `pkcs8`: PKCS#8 `PrivateKeyInfo`.
    Pkcs8,
    /// `openssl`: the traditional PKCS#1 (RSA) or SEC1 (EC) structure.
    Openssl,
}

impl PrivateFormat {
    /// imgtool's name (`pkcs8`, `openssl`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pkcs8 => "pkcs8",
            Self::Openssl => "openssl",
        }
    }
}

impl std::fmt::Display for PrivateFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// imgtool's `getpriv` DER (`keys/*.py` `get_private_bytes`): `format`
/// `None` is the key type's default (`openssl` for RSA, `pkcs8` otherwise);
/// `minimal` drops what MCUboot does not need (RSA CRT parameters, the EC
/// public key), byte for byte as imgtool does.
///
/// # Errors
/// [`KeyError::FormatNotSupported`] for a format the key type lacks,
/// [`KeyError::OperationNotSupported`] for Ed25519 (imgtool's messages).
pub fn private_key_der(
    key: &PrivateKey,
    format: Option<PrivateFormat>,
    minimal: bool,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use PrivateFormat::{Openssl, Pkcs8};
    let key_name = key.public_key().shortname();
    let (valid, default): (&[PrivateFormat], PrivateFormat) = match key {
        PrivateKey::Rsa(_) => (&[Openssl], Openssl),
        PrivateKey::P256(_) | PrivateKey::P384(_) => (&[Pkcs8, Openssl], Pkcs8),
        PrivateKey::X25519(_) => (&[Pkcs8], Pkcs8),
        _ => return Err(KeyError::OperationNotSupported { key: key_name }),
    };
    let format = format.unwrap_or(default);
    if !valid.contains(&format) {
        return Err(KeyError::FormatNotSupported {
            key: key_name,
            format,
        });
    }
    let der = match format {
        Pkcs8 => key.to_pkcs8_der()?,
        Openssl => key.to_traditional_der()?,
    };
    if !minimal {
        return Ok(der);
    }
    let bad = |part: &'static str| KeyError::Minimize { part };
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
        PrivateKey::P256(_) | PrivateKey::P384(_) if format == Pkcs8 => {
            // Offsets of imgtool's `_build_minimal_ecdsa_privkey` (P-256 layout).
            let off_pub = 68usize;
            let err = || KeyError::MinimizeEcdsa;
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
            let err = || KeyError::MinimizeEcdsa;
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
    format: Option<PrivateFormat>,
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
    /// image.py's tables, by the class a key file loads as: the public
    /// P-256 class also allows SHA-512, the pure table has the private
    /// Ed25519 class only, and there is no X25519Public entry.
    #[test]
    fn imgtool_key_classes_follow_image_pys_tables() {
        use super::{HashAlg, ImgtoolKeyClass};
        let class = |kind, public| ImgtoolKeyClass::of(kind, public).unwrap();
        let p256_public = class(KeyKind::EcdsaP256, true);
        assert_eq!(
            p256_public.python_name(),
            "imgtool.keys.ecdsa.ECDSA256P1Public"
        );
        assert_eq!(
            p256_public.allowed_hashes(false),
            Some(&[HashAlg::Sha256, HashAlg::Sha512][..])
        );
        assert_eq!(
            class(KeyKind::EcdsaP256, false).allowed_hashes(false),
            Some(&[HashAlg::Sha256][..])
        );
        assert_eq!(p256_public.allowed_hashes(true), None);
        assert_eq!(
            class(KeyKind::Ed25519, false).allowed_hashes(true),
            Some(&[HashAlg::Sha512][..])
        );
        assert_eq!(class(KeyKind::Ed25519, true).allowed_hashes(true), None);
        let x25519_public = class(KeyKind::X25519, true);
        assert_eq!(
            x25519_public.python_name(),
            "imgtool.keys.x25519.X25519Public"
        );
        assert_eq!(x25519_public.allowed_hashes(false), None);
        assert!(class(KeyKind::X25519, false)
            .allowed_hashes(false)
            .is_some());
        assert_eq!(
            class(KeyKind::RSA_3072, true).python_name(),
            "imgtool.keys.rsa.RSAPublic"
        );
        assert_eq!(ImgtoolKeyClass::of(KeyKind::EcdsaP192, false), None);
    }

    use super::*;
    use std::string::ToString;

    #[test]
    fn imgtool_key_types_load_and_others_are_refused() {
        for t in KeyType::ALL {
            let key = PrivateKey::generate(t).unwrap();
            assert_eq!(key.kind(), t.kind());
            let pem = key.to_pkcs8_pem(None).unwrap();
            assert_eq!(load_pem(pem.as_bytes(), None).unwrap().kind(), t.kind());
            assert_eq!(t.name().parse::<KeyType>().unwrap(), t);
        }
        let p192 = PrivateKey::generate(KeyKind::EcdsaP192).unwrap();
        let pem = p192.to_pkcs8_pem(None).unwrap();
        assert!(matches!(
            load_pem(pem.as_bytes(), None),
            Err(KeyError::Unsupported(KeyKind::EcdsaP192))
        ));
        assert!(matches!(
            check_supported(KeyKind::RSA_4096),
            Err(KeyError::Unsupported(KeyKind::RSA_4096))
        ));
        assert!(matches!(
            "rsa-4096".parse::<KeyType>(),
            Err(KeyError::UnknownKeyType)
        ));
    }

    #[test]
    fn imgtool_load_failures_and_key_pairs_follow_keys_load_and_sign() {
        use super::ImgtoolLoadFailure as F;
        assert_eq!(F::of_kind(KeyKind::RSA_4096), Some(F::RsaKeySize));
        assert_eq!(
            F::of_kind(KeyKind::EcdsaP192),
            Some(F::EcCurve("secp192r1"))
        );
        assert_eq!(F::of_kind(KeyKind::RSA_2048), None);
        assert_eq!(F::of_kind(KeyKind::X25519), None);
        let size = KeyFileError::UnsupportedRsaSize { bits: 1024 };
        assert_eq!(F::of(&KeyError::File(size)), Some(F::RsaKeySize));
        assert_eq!(
            F::of(&KeyError::Unsupported(KeyKind::EcdsaP192))
                .map(|f| f.to_string())
                .as_deref(),
            Some("Exception: Unsupported EC curve: secp192r1")
        );
        let ed448 = KeyFileError::UnsupportedAlgorithm {
            oid: pkcs8::ObjectIdentifier::new_unwrap("1.3.101.113"),
            private: false,
        };
        assert_eq!(
            F::of_file_error(&ed448).map(|f| f.to_string()).as_deref(),
            Some(
                "Exception: Unknown key type: \
                 <class 'cryptography.hazmat.bindings._rust.openssl.ed448.Ed448PublicKey'>"
            )
        );
        assert!(super::imgtool_keys_pair(
            KeyKind::EcdsaP384,
            KeyKind::EcdsaP384
        ));
        assert!(!super::imgtool_keys_pair(
            KeyKind::EcdsaP256,
            KeyKind::EcdsaP384
        ));
        assert!(!super::imgtool_keys_pair(
            KeyKind::RSA_2048,
            KeyKind::X25519
        ));
        assert!(super::imgtool_keys_pair(
            KeyKind::RSA_2048,
            KeyKind::RSA_3072
        ));
        assert!(super::imgtool_keys_pair(KeyKind::Ed25519, KeyKind::Ed25519));
    }

    #[test]
    fn embedded_der_is_pkcs1_for_rsa_and_spki_otherwise() {
        let rsa = PrivateKey::generate(KeyType::Rsa2048).unwrap().public_key();
        assert_eq!(rsa.embedded_der().unwrap(), rsa.to_pkcs1_der().unwrap());
        assert_eq!(rsa.signature_kind(), Some(SignatureKind::Rsa2048));
        let ed = PrivateKey::generate(KeyType::Ed25519).unwrap().public_key();
        assert_eq!(ed.embedded_der().unwrap(), ed.to_spki_der().unwrap());
        assert_eq!(ed.shortname(), "ed25519");
        let x = PrivateKey::generate(KeyType::X25519).unwrap().public_key();
        assert_eq!(x.signature_kind(), None);
    }

    #[test]
    fn getpriv_formats_follow_imgtool() {
        let ed = PrivateKey::generate(KeyType::Ed25519).unwrap();
        assert!(matches!(
            private_key_der(&ed, None, false),
            Err(KeyError::OperationNotSupported { key: "ed25519" })
        ));
        let rsa = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let err = private_key_der(&rsa, Some(PrivateFormat::Pkcs8), false).unwrap_err();
        assert_eq!(err.to_string(), "rsa does not support pkcs8");
        let minimal = private_key_der(&rsa, None, true).unwrap();
        let full = private_key_der(&rsa, None, false).unwrap();
        assert!(minimal.len() < full.len());
    }
}
