//! Image validation as the bootloader does it (`boot/bootutil/src/image_validate.c`,
//! reference/mcuboot.md §1.5, §1.6): hash, key lookup, signature, TLV allow-list.
//!
//! Everything streams through [`ImageSource`] with a small stack buffer, so
//! the boot core can validate an image in flash without an allocator (RSA
//! aside: the `rsa` feature needs `alloc`).

use core::fmt;

use sha2::Digest as _;
use subtle::ConstantTimeEq;

use crate::header::{ImageHeader, ImageVersion};
use crate::source::{stream, ImageSource};
use crate::tlv::{TlvError, TlvIter, TlvKind};

/// Image hash algorithm (`bootutil/crypto/sha.h`; the hash TLV type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-256, TLV 0x10 (default).
    Sha256,
    /// SHA-384, TLV 0x11 (ECDSA P-384).
    Sha384,
    /// SHA-512, TLV 0x12 (`--sha 512`, pure signatures).
    Sha512,
}

impl HashAlg {
    /// Digest length in bytes.
    #[must_use]
    pub const fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
    /// The TLV carrying this hash.
    #[must_use]
    pub const fn tlv(self) -> TlvKind {
        match self {
            Self::Sha256 => TlvKind::Sha256,
            Self::Sha384 => TlvKind::Sha384,
            Self::Sha512 => TlvKind::Sha512,
        }
    }
    /// The algorithm whose TLV is `kind`.
    #[must_use]
    pub const fn from_tlv(kind: TlvKind) -> Option<Self> {
        match kind {
            TlvKind::Sha256 => Some(Self::Sha256),
            TlvKind::Sha384 => Some(Self::Sha384),
            TlvKind::Sha512 => Some(Self::Sha512),
            _ => None,
        }
    }
    /// The name imgtool and the boot record use (`"SHA256"`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA256",
            Self::Sha384 => "SHA384",
            Self::Sha512 => "SHA512",
        }
    }
    /// A fresh incremental hasher.
    #[must_use]
    pub fn hasher(self) -> Hasher {
        match self {
            Self::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Self::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Self::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
    /// One-shot digest of `data`.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(data);
        h.finalize()
    }
}

/// Incremental hasher for one [`HashAlg`].
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-384.
    Sha384(sha2::Sha384),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }
    /// The digest.
    #[must_use]
    pub fn finalize(self) -> Digest {
        match self {
            Self::Sha256(h) => Digest::from_slice(&h.finalize()),
            Self::Sha384(h) => Digest::from_slice(&h.finalize()),
            Self::Sha512(h) => Digest::from_slice(&h.finalize()),
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hasher")
    }
}

/// A digest of up to 64 bytes, kept on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    bytes: [u8; 64],
    len: u8,
}

impl Digest {
    fn from_slice(s: &[u8]) -> Self {
        let mut bytes = [0u8; 64];
        let n = s.len().min(64);
        bytes[..n].copy_from_slice(&s[..n]);
        Self {
            bytes,
            len: n as u8,
        }
    }
    /// The digest bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Hash of the region `[0, hdr_size + img_size + protect_tlv_size)`
/// (`bootutil_img_hash.c`), streamed from `src`.
///
/// # Errors
/// The source's read error.
pub fn image_hash<S: ImageSource + ?Sized>(
    src: &mut S,
    hdr: &ImageHeader,
    alg: HashAlg,
) -> Result<Digest, ValidateError<S::Error>> {
    let len = hdr
        .hashed_len()
        .ok_or(ValidateError::Tlv(TlvError::Overflow))?;
    let mut h = alg.hasher();
    stream(src, 0, len, |c| h.update(c)).map_err(ValidateError::Read)?;
    Ok(h.finalize())
}

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

/// How the bootloader is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidateOptions {
    /// The expected hash TLV (`EXPECTED_HASH_TLV`).
    pub hash: HashAlg,
    /// The expected signature (`EXPECTED_SIG_TLV`); `None` = hash only.
    pub signature: Option<SignatureKind>,
    /// `MCUBOOT_SIGN_PURE`: the signature covers the region itself and
    /// SIG_PURE (value 1) is required.
    pub pure: bool,
    /// `MCUBOOT_USE_TLV_ALLOW_LIST`: refuse unexpected unprotected TLVs.
    pub tlv_allow_list: bool,
    /// `bootutil_max_image_size()`: the unprotected TLV area must end at or
    /// before this offset.
    pub max_image_size: Option<u32>,
}

impl ValidateOptions {
    /// Hash-only validation with `hash`.
    #[must_use]
    pub const fn new(hash: HashAlg) -> Self {
        Self {
            hash,
            signature: None,
            pure: false,
            tlv_allow_list: false,
            max_image_size: None,
        }
    }
    /// Requires a `kind` signature by an embedded key.
    #[must_use]
    pub const fn with_signature(mut self, kind: SignatureKind) -> Self {
        self.signature = Some(kind);
        self
    }
    /// Pure signatures (`MCUBOOT_SIGN_PURE`).
    #[must_use]
    pub const fn pure(mut self, on: bool) -> Self {
        self.pure = on;
        self
    }
    /// The TLV allow-list (`MCUBOOT_USE_TLV_ALLOW_LIST`).
    #[must_use]
    pub const fn tlv_allow_list(mut self, on: bool) -> Self {
        self.tlv_allow_list = on;
        self
    }
    /// The slot's maximum image size.
    #[must_use]
    pub const fn max_image_size(mut self, max: u32) -> Self {
        self.max_image_size = Some(max);
        self
    }
}

/// The outcome of a successful validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Validated {
    /// The image hash (absent in pure mode).
    pub hash: Option<Digest>,
    /// Index in `keys` of the key whose signature decided, if a signature
    /// was required.
    pub key_index: Option<usize>,
    /// End of the unprotected TLV area: the image's total length.
    pub image_end: u32,
}

/// Validation failed. Signature failures are deliberately opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidateError<E> {
    /// The source could not be read.
    Read(E),
    /// The TLV area is malformed.
    Tlv(TlvError<E>),
    /// No TLV of the expected hash type.
    HashMissing,
    /// The hash TLV has the wrong length.
    HashLength(u16),
    /// The image does not match its hash TLV.
    HashMismatch,
    /// A KEYHASH TLV longer than the hash.
    KeyHashLength(u16),
    /// An embedded key cannot be parsed for the configured signature type.
    BadEmbeddedKey(usize),
    /// No KEYHASH/PUBKEY matched an embedded key, so no signature could be checked.
    NoMatchingKey,
    /// No valid signature (wrong, malformed, or missing).
    SignatureInvalid,
    /// Pure mode without a SIG_PURE TLV of value 1.
    SigPureMissing,
    /// A TLV not on the allow-list in the unprotected area.
    TlvNotAllowed(TlvKind),
    /// The image (with its TLVs) is larger than the slot allows.
    TooLarge {
        /// End of the image's TLVs.
        end: u32,
        /// The maximum.
        max: u32,
    },
    /// The signature kind needs a crate feature that is off (`rsa`).
    Unsupported,
}

impl<E: fmt::Display> fmt::Display for ValidateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "cannot read the image: {e}"),
            Self::Tlv(e) => e.fmt(f),
            Self::HashMissing => f.write_str("the image has no hash TLV of the expected type"),
            Self::HashLength(l) => write!(f, "hash TLV has a wrong length ({l})"),
            Self::HashMismatch => f.write_str("image hash does not match its hash TLV"),
            Self::KeyHashLength(l) => write!(f, "KEYHASH TLV is too long ({l})"),
            Self::BadEmbeddedKey(i) => {
                write!(f, "public key #{i} cannot be used for this signature type")
            }
            Self::NoMatchingKey => f.write_str("the image is not signed by any of the given keys"),
            Self::SignatureInvalid => f.write_str("signature verification failed"),
            Self::SigPureMissing => {
                f.write_str("pure signature required but the image has no SIG_PURE TLV")
            }
            Self::TlvNotAllowed(k) => write!(f, "TLV {k} is not allowed in the unprotected area"),
            Self::TooLarge { end, max } => write!(
                f,
                "image ends at {end:#x}, beyond the maximum image size {max:#x}"
            ),
            Self::Unsupported => f.write_str("this signature type is not supported by this build"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for ValidateError<E> {}

impl<E> From<TlvError<E>> for ValidateError<E> {
    fn from(e: TlvError<E>) -> Self {
        match e {
            TlvError::Read(r) => Self::Read(r),
            other => Self::Tlv(other),
        }
    }
}

/// Unprotected TLVs accepted with `MCUBOOT_USE_TLV_ALLOW_LIST` (`image_validate.c`
/// `allowed_unprot_tlvs`). Both X25519 variants are listed; the C side lists
/// only the one it is built for.
const ALLOWED_UNPROTECTED: [TlvKind; 16] = [
    TlvKind::KeyHash,
    TlvKind::PubKey,
    TlvKind::Sha256,
    TlvKind::Sha384,
    TlvKind::Sha512,
    TlvKind::Rsa2048Pss,
    TlvKind::Ecdsa224,
    TlvKind::EcdsaSig,
    TlvKind::Rsa3072Pss,
    TlvKind::Ed25519,
    TlvKind::SigPure,
    TlvKind::EncRsa2048,
    TlvKind::EncKw,
    TlvKind::EncEc256,
    TlvKind::EncX25519,
    TlvKind::EncX25519Sha512,
];

/// True when `kind` may appear in the unprotected area under the allow-list.
#[must_use]
pub fn allowed_unprotected(kind: TlvKind) -> bool {
    ALLOWED_UNPROTECTED.contains(&kind)
}

/// Largest signature TLV read (RSA-3072: 384 bytes).
const MAX_SIG: usize = 512;

/// `bootutil_img_validate`: checks the hash, finds the signing key among
/// `keys` (DER as embedded in the bootloader: SubjectPublicKeyInfo for EC
/// and Ed25519, PKCS#1 RSAPublicKey for RSA) by KEYHASH or PUBKEY, and
/// verifies the signature. The last signature whose key is known decides,
/// as in MCUboot.
///
/// # Errors
/// [`ValidateError`]; every signature failure is [`ValidateError::SignatureInvalid`]
/// or [`ValidateError::NoMatchingKey`].
pub fn validate<S: ImageSource + ?Sized>(
    src: &mut S,
    hdr: &ImageHeader,
    keys: &[&[u8]],
    opts: &ValidateOptions,
) -> Result<Validated, ValidateError<S::Error>> {
    let hashed_len = hdr
        .hashed_len()
        .ok_or(ValidateError::Tlv(TlvError::Overflow))?;
    let hash = if opts.pure {
        let mut it = TlvIter::begin(src, hdr, Some(TlvKind::SigPure), false)?;
        let entry = it.next(src)?.ok_or(ValidateError::SigPureMissing)?;
        let mut v = [0u8; 1];
        if entry.len != 1 {
            return Err(ValidateError::SigPureMissing);
        }
        entry.read(src, &mut v).map_err(ValidateError::Read)?;
        if v[0] != 1 {
            return Err(ValidateError::SigPureMissing);
        }
        None
    } else {
        Some(image_hash(src, hdr, opts.hash)?)
    };

    let mut it = TlvIter::begin(src, hdr, None, false)?;
    if let Some(max) = opts.max_image_size {
        if it.end() > max {
            return Err(ValidateError::TooLarge { end: it.end(), max });
        }
    }
    let mut hash_valid = false;
    let mut key_id: Option<usize> = None;
    let mut valid_signature: Option<usize> = None;
    let mut saw_key_match = false;
    let sig_tlv = opts.signature.map(SignatureKind::tlv);

    while let Some(entry) = it.next(src)? {
        if opts.tlv_allow_list && !entry.protected && !allowed_unprotected(entry.kind) {
            return Err(ValidateError::TlvNotAllowed(entry.kind));
        }
        if !opts.pure && entry.kind == opts.hash.tlv() {
            let want = hash.as_ref().map(Digest::as_bytes).unwrap_or_default();
            if usize::from(entry.len) != want.len() {
                return Err(ValidateError::HashLength(entry.len));
            }
            let mut buf = [0u8; 64];
            let got = &mut buf[..want.len()];
            entry.read(src, got).map_err(ValidateError::Read)?;
            if !bool::from(got.ct_eq(want)) {
                return Err(ValidateError::HashMismatch);
            }
            hash_valid = true;
        } else if entry.kind == TlvKind::KeyHash && opts.signature.is_some() {
            if usize::from(entry.len) > opts.hash.digest_len() {
                return Err(ValidateError::KeyHashLength(entry.len));
            }
            let mut buf = [0u8; 64];
            let got = &mut buf[..usize::from(entry.len)];
            entry.read(src, got).map_err(ValidateError::Read)?;
            key_id = find_key_by_hash(keys, got, opts.hash);
            saw_key_match |= key_id.is_some();
        } else if entry.kind == TlvKind::PubKey && opts.signature.is_some() {
            key_id = find_key_by_value(src, keys, entry.offset, entry.len)?;
            saw_key_match |= key_id.is_some();
        } else if Some(entry.kind) == sig_tlv {
            let (Some(kind), Some(k)) = (opts.signature, key_id.take()) else {
                continue;
            };
            let key = keys
                .get(k)
                .copied()
                .ok_or(ValidateError::BadEmbeddedKey(k))?;
            let mut buf = [0u8; MAX_SIG];
            let ok = match buf.get_mut(..usize::from(entry.len)) {
                Some(sig) => {
                    entry.read(src, sig).map_err(ValidateError::Read)?;
                    let sig: &[u8] = sig;
                    verify_signature(src, kind, key, k, sig, hash.as_ref(), opts.pure, hashed_len)?
                }
                None => false,
            };
            valid_signature = if ok { Some(k) } else { None };
        }
    }

    if !opts.pure && !hash_valid {
        return Err(ValidateError::HashMissing);
    }
    if opts.signature.is_some() && valid_signature.is_none() {
        return Err(if saw_key_match {
            ValidateError::SignatureInvalid
        } else {
            ValidateError::NoMatchingKey
        });
    }
    Ok(Validated {
        hash,
        key_index: valid_signature,
        image_end: it.end(),
    })
}

/// `bootutil_find_key`: the first key whose hash starts with `keyhash`.
/// An empty KEYHASH matches nothing (MCUboot would match the first key).
fn find_key_by_hash(keys: &[&[u8]], keyhash: &[u8], alg: HashAlg) -> Option<usize> {
    if keyhash.is_empty() {
        return None;
    }
    keys.iter().position(|k| {
        let d = alg.digest(k);
        d.as_bytes()
            .get(..keyhash.len())
            .is_some_and(|p| bool::from(p.ct_eq(keyhash)))
    })
}

/// A PUBKEY TLV: the embedded key with exactly these bytes.
fn find_key_by_value<S: ImageSource + ?Sized>(
    src: &mut S,
    keys: &[&[u8]],
    offset: u32,
    len: u16,
) -> Result<Option<usize>, ValidateError<S::Error>> {
    for (i, k) in keys.iter().enumerate() {
        if k.len() != usize::from(len) {
            continue;
        }
        let mut same = true;
        let mut pos = 0usize;
        let mut buf = [0u8; crate::source::CHUNK];
        while pos < k.len() {
            let n = (k.len() - pos).min(buf.len());
            let chunk = &mut buf[..n];
            src.read_at(offset + pos as u32, chunk)
                .map_err(ValidateError::Read)?;
            same &= k.get(pos..pos + n) == Some(&chunk[..]);
            pos += n;
        }
        if same {
            return Ok(Some(i));
        }
    }
    Ok(None)
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
fn verify_signature<S: ImageSource + ?Sized>(
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
                Ok(crate::rsa_verify::verify_pss(key, bits, d, sig).map_err(|()| bad_key())?)
            }
            #[cfg(not(feature = "rsa"))]
            {
                let _ = (key, sig, digest);
                Err(ValidateError::Unsupported)
            }
        }
    }
}

/// The SEC_CNT TLV of the protected area (`bootutil_get_img_security_cnt`).
///
/// # Errors
/// [`TlvError`] when the area is malformed or the TLV is not 4 bytes
/// ([`TlvError::Overrun`] at its offset).
pub fn security_counter<S: ImageSource + ?Sized>(
    src: &mut S,
    hdr: &ImageHeader,
) -> Result<Option<u32>, TlvError<S::Error>> {
    let Some(e) = crate::tlv::find_protected(src, hdr, TlvKind::SecCnt)? else {
        return Ok(None);
    };
    if e.len != 4 {
        return Err(TlvError::Overrun { offset: e.offset });
    }
    let mut b = [0u8; 4];
    e.read(src, &mut b).map_err(TlvError::Read)?;
    Ok(Some(u32::from_le_bytes(b)))
}

/// A DEPENDENCY TLV (`struct image_dependency`, `image.h`; imgtool packs `<B3xBBHI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependency {
    /// Index of the image depended upon.
    pub image_id: u8,
    /// Its minimum version.
    pub version: ImageVersion,
}

impl Dependency {
    /// Encoded size.
    pub const SIZE: usize = 12;

    /// The 12-byte TLV value.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0] = self.image_id;
        b[4..].copy_from_slice(&self.version.to_bytes());
        b
    }

    /// Decodes a 12-byte TLV value.
    #[must_use]
    pub fn from_bytes(b: &[u8; 12]) -> Self {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[4..]);
        Self {
            image_id: b[0],
            version: ImageVersion::from_bytes(&v),
        }
    }
}

/// Iterator over the protected DEPENDENCY TLVs.
#[derive(Debug, Clone)]
pub struct Dependencies(TlvIter);

impl Dependencies {
    /// Starts at the first DEPENDENCY TLV of the protected area.
    ///
    /// # Errors
    /// [`TlvError`] when the area is malformed.
    pub fn begin<S: ImageSource + ?Sized>(
        src: &mut S,
        hdr: &ImageHeader,
    ) -> Result<Self, TlvError<S::Error>> {
        Ok(Self(TlvIter::begin(
            src,
            hdr,
            Some(TlvKind::Dependency),
            true,
        )?))
    }

    /// The next dependency.
    ///
    /// # Errors
    /// [`TlvError`]; a DEPENDENCY that is not 12 bytes is an overrun.
    pub fn next<S: ImageSource + ?Sized>(
        &mut self,
        src: &mut S,
    ) -> Result<Option<Dependency>, TlvError<S::Error>> {
        let Some(e) = self.0.next(src)? else {
            return Ok(None);
        };
        if usize::from(e.len) != Dependency::SIZE {
            return Err(TlvError::Overrun { offset: e.offset });
        }
        let mut b = [0u8; 12];
        e.read(src, &mut b).map_err(TlvError::Read)?;
        Ok(Some(Dependency::from_bytes(&b)))
    }
}
