//! Image validation as the bootloader does it (`boot/bootutil/src/image_validate.c`,
//! reference/mcuboot.md §1.5, §1.6): [`hash`], key lookup, [`signature`],
//! TLV allow-list, and the [`protected`] TLVs the boot core reads.
//!
//! Everything streams through [`ImageSource`] with a small stack buffer, so
//! the boot core can validate an image in flash without an allocator (RSA
//! aside: the `rsa` feature needs `alloc`).

// Validation runs in the `no_std` boot core.
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

use core::fmt;

use subtle::ConstantTimeEq;

mod hash;
mod protected;
#[cfg(feature = "rsa")]
pub(crate) mod rsa;
mod signature;

pub use hash::{image_hash, Digest, HashAlg, Hasher};
pub use protected::{security_counter, Dependencies};
pub use signature::{ed25519_key_from_spki, SignatureKind};

use crate::codec::header::ImageHeader;
use crate::codec::tlv::{TlvError, TlvIter, TlvKind};
use crate::source::ImageSource;
use signature::verify_signature;

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

impl<E> ValidateError<E> {
    /// The same error with the read error converted by `f` (for example
    /// into [`core::convert::Infallible`] once read errors are handled).
    pub fn map_read<G>(self, f: impl FnOnce(E) -> G) -> ValidateError<G> {
        match self {
            Self::Read(e) => ValidateError::Read(f(e)),
            Self::Tlv(e) => ValidateError::Tlv(e.map_read(f)),
            Self::HashMissing => ValidateError::HashMissing,
            Self::HashLength(l) => ValidateError::HashLength(l),
            Self::HashMismatch => ValidateError::HashMismatch,
            Self::KeyHashLength(l) => ValidateError::KeyHashLength(l),
            Self::BadEmbeddedKey(i) => ValidateError::BadEmbeddedKey(i),
            Self::NoMatchingKey => ValidateError::NoMatchingKey,
            Self::SignatureInvalid => ValidateError::SignatureInvalid,
            Self::SigPureMissing => ValidateError::SigPureMissing,
            Self::TlvNotAllowed(k) => ValidateError::TlvNotAllowed(k),
            Self::TooLarge { end, max } => ValidateError::TooLarge { end, max },
            Self::Unsupported => ValidateError::Unsupported,
        }
    }
}

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
