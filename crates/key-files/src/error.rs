//! Why a key file could not be read or written.

use der::asn1::ObjectIdentifier;

use crate::{KeyFormat, KeyKind};

/// Why a key file could not be read, or a key not encoded or generated.
///
/// Messages never quote key material: at most a PEM label, an OID, a size,
/// or the first few characters of input that is not a key file at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// No `-----BEGIN …-----` line.
    #[error("not a PEM key file: no -----BEGIN line{}", Prefix(.prefix.as_deref()))]
    NotPem {
        /// The first characters of the input, when they are plain text that
        /// cannot be key material (see [`KeyFileError::NotPem`]'s producer).
        prefix: Option<String>,
    },
    /// Bytes that are none of the DER structures this crate reads.
    #[error("not a DER key (expected PKCS#8, SubjectPublicKeyInfo, PKCS#1 or SEC1)")]
    NotDer,
    /// A `-----BEGIN` line with no matching `-----END` line.
    #[error("PEM block \"{label}\" has no matching -----END line")]
    UnterminatedPem {
        /// The block's label.
        label: String,
    },
    /// A PEM block whose body is not valid base64.
    #[error("PEM block \"{label}\" is not valid base64")]
    BadBase64 {
        /// The block's label.
        label: String,
    },
    /// PEM blocks were found, but none holds a key (a certificate, say).
    #[error("PEM block \"{label}\" is not a private or public key")]
    NoKeyBlock {
        /// The label of the first block found.
        label: String,
    },
    /// OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` PEM encryption with a
    /// `DEK-Info` cipher this crate does not decrypt, a malformed one, or
    /// none.
    #[error("the key is encrypted with OpenSSL's legacy PEM encryption and DEK-Info \"{cipher}\" (supported: AES-128-CBC, AES-256-CBC and DES-EDE3-CBC, each with its IV in hex)")]
    UnsupportedLegacyCipher {
        /// The cipher's name as the header gives it (at most 32
        /// characters).
        cipher: String,
    },
    /// An encrypted key (PKCS#8, or OpenSSL's legacy PEM encryption) and
    /// no password.
    #[error("the key is encrypted; a password is required")]
    PasswordRequired,
    /// The password does not decrypt the key.
    #[error("cannot decrypt the key: wrong password")]
    WrongPassword,
    /// An encrypted PKCS#8 key whose cipher or key derivation is not supported.
    #[error("the key is encrypted with an unsupported algorithm ({oid})")]
    UnsupportedEncryption {
        /// The encryption scheme, cipher or PRF.
        oid: ObjectIdentifier,
    },
    /// A key algorithm other than RSA, EC, Ed25519 and X25519.
    #[error("unsupported key algorithm {oid}")]
    UnsupportedAlgorithm {
        /// The algorithm identifier.
        oid: ObjectIdentifier,
        /// True in a private key (PKCS#8), false in a public one (SPKI).
        private: bool,
    },
    /// An EC key on a curve other than P-192, P-256 and P-384.
    #[error("unsupported EC curve {oid} (expected P-192, P-256 or P-384)")]
    UnsupportedCurve {
        /// The named curve.
        oid: ObjectIdentifier,
    },
    /// An EC key without a named curve.
    #[error("the EC key does not name its curve")]
    MissingCurve,
    /// An RSA modulus of another size than 2048, 3072 or 4096 bits.
    #[error("unsupported RSA key size {bits} bits (expected 2048, 3072 or 4096)")]
    UnsupportedRsaSize {
        /// The modulus size.
        bits: usize,
    },
    /// The DER structure is broken.
    #[error("malformed {format} key: {source}")]
    Malformed {
        /// What the bytes were read as.
        format: KeyFormat,
        /// The DER decoder's error (positions and tags, never contents).
        source: der::Error,
    },
    /// Well-formed DER holding an impossible key: inconsistent RSA
    /// parameters, a point not on the curve, a scalar out of range.
    #[error("the {format} key is invalid (inconsistent parameters or not on its curve)")]
    InvalidKey {
        /// What the bytes were read as.
        format: KeyFormat,
    },
    /// A private key was required and the file holds a public key.
    #[error("this is a public key; a private key is required")]
    PublicKeyOnly,
    /// The key type has no such encoding (Ed25519 and X25519 have no
    /// PKCS#1/SEC1 "traditional" form; only RSA has PKCS#1 public keys).
    #[error("{kind} keys have no {format} encoding")]
    NoSuchEncoding {
        /// The key's type.
        kind: KeyKind,
        /// The encoding asked for.
        format: KeyFormat,
    },
    /// Encoding a key failed (not expected for valid keys).
    #[error("cannot encode the key as {format}: {source}")]
    Encode {
        /// The encoding.
        format: KeyFormat,
        /// The encoder's error.
        source: der::Error,
    },
    /// Key generation failed (not expected).
    #[error("cannot generate a {kind} key")]
    Generate {
        /// The key type asked for.
        kind: KeyKind,
    },
}

/// Renders an optional input prefix for [`KeyFileError::NotPem`].
struct Prefix<'a>(Option<&'a str>);

impl core::fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(p) => write!(f, " (the file starts with {p:?})"),
            None => Ok(()),
        }
    }
}

/// The ASN.1 error inside a RustCrypto format error; `None` when the
/// failure was about the key itself (an inconsistent RSA key, a point off
/// its curve), not its encoding.
pub(crate) trait AsDerError {
    fn der_error(self) -> Option<der::Error>;
}

impl AsDerError for der::Error {
    fn der_error(self) -> Option<der::Error> {
        Some(self)
    }
}

impl AsDerError for pkcs8::Error {
    fn der_error(self) -> Option<der::Error> {
        match self {
            pkcs8::Error::Asn1(e) => Some(e),
            pkcs8::Error::PublicKey(e) => e.der_error(),
            _ => None,
        }
    }
}

impl AsDerError for spki::Error {
    fn der_error(self) -> Option<der::Error> {
        match self {
            spki::Error::Asn1(e) => Some(e),
            _ => None,
        }
    }
}

impl AsDerError for rsa::pkcs1::Error {
    fn der_error(self) -> Option<der::Error> {
        match self {
            rsa::pkcs1::Error::Asn1(e) => Some(e),
            rsa::pkcs1::Error::Pkcs8(e) => e.der_error(),
            _ => None,
        }
    }
}

impl AsDerError for sec1::Error {
    fn der_error(self) -> Option<der::Error> {
        match self {
            sec1::Error::Asn1(e) => Some(e),
            sec1::Error::Pkcs8(e) => e.der_error(),
            _ => None,
        }
    }
}

/// [`KeyFileError::Malformed`] (or [`KeyFileError::InvalidKey`]) for a key
/// read as `format`, from any RustCrypto format error.
pub(crate) fn malformed<E: AsDerError>(format: KeyFormat) -> impl FnOnce(E) -> KeyFileError {
    move |e| match e.der_error() {
        Some(source) => KeyFileError::Malformed { format, source },
        None => KeyFileError::InvalidKey { format },
    }
}

/// [`KeyFileError::Encode`] for `format`.
pub(crate) fn encode_failed<E: AsDerError>(format: KeyFormat) -> impl FnOnce(E) -> KeyFileError {
    move |e| KeyFileError::Encode {
        format,
        source: e
            .der_error()
            .unwrap_or_else(|| der::ErrorKind::Failed.into()),
    }
}
