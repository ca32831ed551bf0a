//! The one table of algorithm and curve identifiers the key files use.
//!
//! Each constant is checked against the RustCrypto crate that implements
//! the algorithm (see the tests), so a typo cannot survive.

pub use der::asn1::ObjectIdentifier;

/// `rsaEncryption` (RFC 8017 appendix A.1), in PKCS#8 and SPKI.
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480 §2.1.1); the curve is the parameter.
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp192r1` / `prime192v1` (RFC 5480 §2.1.1.1).
pub const SECP192R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.1");
/// `secp256r1` / `prime256v1` (RFC 5480 §2.1.1.1).
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (RFC 5480 §2.1.1.1).
pub const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `id-X25519` (RFC 8410 §3).
pub const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
/// `id-Ed25519` (RFC 8410 §3).
pub const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The short name OpenSSL (and so Python's `cryptography`, whose
/// `EllipticCurve.name` tools print) gives a named curve, for the curves
/// other than the three this crate reads that such tools load: SEC 2
/// (`secp224r1`, `secp256k1`, `secp521r1`) and RFC 5639 (`brainpoolP*r1`).
#[must_use]
pub fn curve_name(curve: &ObjectIdentifier) -> Option<&'static str> {
    const NAMES: [(&str, &str); 9] = [
        ("1.2.840.10045.3.1.1", "secp192r1"),
        ("1.2.840.10045.3.1.7", "secp256r1"),
        ("1.3.132.0.34", "secp384r1"),
        ("1.3.132.0.33", "secp224r1"),
        ("1.3.132.0.10", "secp256k1"),
        ("1.3.132.0.35", "secp521r1"),
        ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1"),
        ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1"),
        ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1"),
    ];
    NAMES
        .iter()
        .find(|(oid, _)| ObjectIdentifier::new_unwrap(oid) == *curve)
        .map(|(_, name)| *name)
}

/// A key algorithm this crate reads, from an `AlgorithmIdentifier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Rsa,
    EcP192,
    EcP256,
    EcP384,
    Ed25519,
    X25519,
}

impl Algorithm {
    /// Identifies the algorithm of a PKCS#8 or SPKI `AlgorithmIdentifier`.
    /// (`private`: found in a private key, which the error records.)
    pub(crate) fn identify(
        algorithm: &spki::AlgorithmIdentifierRef<'_>,
        private: bool,
    ) -> Result<Self, crate::KeyFileError> {
        match algorithm.oid {
            RSA_ENCRYPTION => Ok(Self::Rsa),
            EC_PUBLIC_KEY => {
                let curve = algorithm
                    .parameters_oid()
                    .map_err(|_| crate::KeyFileError::MissingCurve)?;
                Self::from_curve(curve)
            }
            ED25519 => Ok(Self::Ed25519),
            X25519 => Ok(Self::X25519),
            oid => Err(crate::KeyFileError::UnsupportedAlgorithm { oid, private }),
        }
    }

    /// The ECDSA algorithm of a named curve.
    pub(crate) fn from_curve(curve: ObjectIdentifier) -> Result<Self, crate::KeyFileError> {
        match curve {
            SECP192R1 => Ok(Self::EcP192),
            SECP256R1 => Ok(Self::EcP256),
            SECP384R1 => Ok(Self::EcP384),
            oid => Err(crate::KeyFileError::UnsupportedCurve { oid }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pkcs8::AssociatedOid;

    #[test]
    fn curve_oids_match_the_curve_crates() {
        assert_eq!(SECP192R1, p192::NistP192::OID);
        assert_eq!(SECP256R1, p256::NistP256::OID);
        assert_eq!(SECP384R1, p384::NistP384::OID);
        assert_eq!(EC_PUBLIC_KEY, sec1::ALGORITHM_OID);
        assert_eq!(RSA_ENCRYPTION, rsa::pkcs1::ALGORITHM_OID);
    }

    #[test]
    fn curve_names_are_openssls() {
        assert_eq!(curve_name(&SECP256R1), Some("secp256r1"));
        assert_eq!(curve_name(&SECP384R1), Some("secp384r1"));
        assert_eq!(
            curve_name(&ObjectIdentifier::new_unwrap("1.3.132.0.35")),
            Some("secp521r1")
        );
        assert_eq!(curve_name(&ED25519), None);
    }
}
