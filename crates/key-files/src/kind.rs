//! What a key is ([`KeyKind`]) and how its bytes are laid out ([`KeyFormat`]).

/// RSA modulus sizes this crate reads and generates. imgtool signs with
/// 2048 and 3072 (`imgtool/keys/rsa.py` `RSA_KEY_SIZES`), Secure Boot V2
/// with 3072 (espsecure `_load_sbv2_signing_key`); 4096 is what HSM
/// exports commonly hold, so it loads and each tool names its own limit.
pub const RSA_BITS: [usize; 3] = [2048, 3072, 4096];

/// The type of a key, for messages, generation and each tool's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA with a modulus of `bits` bits (one of [`RSA_BITS`] when loaded).
    Rsa {
        /// Modulus size.
        bits: usize,
    },
    /// ECDSA on NIST P-192 (Secure Boot V2 only).
    EcdsaP192,
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// X25519 (key agreement: MCUboot image encryption).
    X25519,
}

impl KeyKind {
    /// RSA-2048.
    pub const RSA_2048: Self = Self::Rsa { bits: 2048 };
    /// RSA-3072.
    pub const RSA_3072: Self = Self::Rsa { bits: 3072 };
    /// RSA-4096.
    pub const RSA_4096: Self = Self::Rsa { bits: 4096 };

    /// True for the kinds that sign (everything but X25519).
    #[must_use]
    pub fn can_sign(self) -> bool {
        self != Self::X25519
    }
}

/// imgtool's spelling (`rsa-2048`, `ecdsa-p256`, `ed25519`, …), which
/// espsecure's messages also understand.
impl core::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "rsa-{bits}"),
            Self::EcdsaP192 => f.write_str("ecdsa-p192"),
            Self::EcdsaP256 => f.write_str("ecdsa-p256"),
            Self::EcdsaP384 => f.write_str("ecdsa-p384"),
            Self::Ed25519 => f.write_str("ed25519"),
            Self::X25519 => f.write_str("x25519"),
        }
    }
}

/// A key encoding: the DER structure and, for PEM, its label (RFC 7468).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyFormat {
    /// PKCS#8 `PrivateKeyInfo` (RFC 5208/5958), PEM `PRIVATE KEY`.
    Pkcs8,
    /// PKCS#8 `EncryptedPrivateKeyInfo` (RFC 5958 §3, PBES2),
    /// PEM `ENCRYPTED PRIVATE KEY`.
    EncryptedPkcs8,
    /// PKCS#1 `RSAPrivateKey` (RFC 8017 A.1.2), PEM `RSA PRIVATE KEY`.
    Pkcs1,
    /// PKCS#1 `RSAPublicKey` (RFC 8017 A.1.1), PEM `RSA PUBLIC KEY`.
    Pkcs1Public,
    /// SEC1 `ECPrivateKey` (RFC 5915), PEM `EC PRIVATE KEY`.
    Sec1,
    /// X.509 `SubjectPublicKeyInfo` (RFC 5280 §4.1), PEM `PUBLIC KEY`.
    Spki,
}

impl KeyFormat {
    /// Every format, private ones first (the order PEM blocks are preferred in).
    pub const ALL: [Self; 6] = [
        Self::Pkcs8,
        Self::EncryptedPkcs8,
        Self::Pkcs1,
        Self::Sec1,
        Self::Spki,
        Self::Pkcs1Public,
    ];

    /// The PEM label (RFC 7468 §§10-13, OpenSSL's traditional labels).
    #[must_use]
    pub fn pem_label(self) -> &'static str {
        match self {
            Self::Pkcs8 => "PRIVATE KEY",
            Self::EncryptedPkcs8 => "ENCRYPTED PRIVATE KEY",
            Self::Pkcs1 => "RSA PRIVATE KEY",
            Self::Pkcs1Public => "RSA PUBLIC KEY",
            Self::Sec1 => "EC PRIVATE KEY",
            Self::Spki => "PUBLIC KEY",
        }
    }

    /// The format a PEM label names, if it names a key.
    #[must_use]
    pub fn from_pem_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.pem_label() == label)
    }

    /// True when the format holds a private key.
    #[must_use]
    pub fn is_private(self) -> bool {
        !matches!(self, Self::Spki | Self::Pkcs1Public)
    }
}

impl core::fmt::Display for KeyFormat {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Pkcs8 => "PKCS#8",
            Self::EncryptedPkcs8 => "encrypted PKCS#8",
            Self::Pkcs1 => "PKCS#1 RSA private",
            Self::Pkcs1Public => "PKCS#1 RSA public",
            Self::Sec1 => "SEC1 EC private",
            Self::Spki => "SubjectPublicKeyInfo",
        })
    }
}
