//! The image hash (`bootutil_img_hash.c`, `bootutil/crypto/sha.h`).

use core::fmt;

use sha2::Digest as _;

use super::ValidateError;
use crate::codec::header::ImageHeader;
use crate::codec::tlv::{TlvError, TlvKind};
use crate::source::{stream, ImageSource};

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

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
        let n = s.len().min(bytes.len());
        bytes[..n].copy_from_slice(&s[..n]);
        Self {
            bytes,
            // At most 64.
            len: u8::try_from(n).unwrap_or(u8::MAX),
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
