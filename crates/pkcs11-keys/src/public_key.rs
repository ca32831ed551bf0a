//! A token key's algorithm and public key, decoded from its PKCS#11
//! attributes into the RustCrypto types.

use std::fmt;

use spki::der::asn1::{ObjectIdentifier, OctetStringRef, PrintableStringRef};
use spki::der::Decode;
use spki::EncodePublicKey;

/// `p192` has no `PublicKey` alias; this is the generic `elliptic-curve`
/// type for its curve (as esp-secure names it).
pub type P192PublicKey = ecdsa::elliptic_curve::PublicKey<p192::NistP192>;

/// What a token key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA with a modulus of `bits` bits (signs RSA-PSS).
    Rsa {
        /// Modulus size.
        bits: usize,
    },
    /// ECDSA over NIST P-192.
    EcdsaP192,
    /// ECDSA over NIST P-256.
    EcdsaP256,
    /// ECDSA over NIST P-384.
    EcdsaP384,
    /// Ed25519 (pure EdDSA).
    Ed25519,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "RSA-{bits}"),
            Self::EcdsaP192 => f.write_str("ECDSA P-192"),
            Self::EcdsaP256 => f.write_str("ECDSA P-256"),
            Self::EcdsaP384 => f.write_str("ECDSA P-384"),
            Self::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

/// A token key's public key as the RustCrypto type of its algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// RSA.
    Rsa(rsa::RsaPublicKey),
    /// ECDSA P-192.
    EcdsaP192(P192PublicKey),
    /// ECDSA P-256.
    EcdsaP256(p256::PublicKey),
    /// ECDSA P-384.
    EcdsaP384(p384::PublicKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            Self::Rsa(key) => KeyAlgorithm::Rsa {
                bits: rsa::traits::PublicKeyParts::size(key) * 8,
            },
            Self::EcdsaP192(_) => KeyAlgorithm::EcdsaP192,
            Self::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
            Self::EcdsaP384(_) => KeyAlgorithm::EcdsaP384,
            Self::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }
}

/// The key-file crate's public key type, so the Secure Boot V2 and MCUboot
/// rules for which keys they accept (written once, for key files) apply to
/// token keys unchanged.
impl From<PublicKey> for key_files::PublicKey {
    fn from(key: PublicKey) -> Self {
        match key {
            PublicKey::Rsa(k) => Self::Rsa(k),
            PublicKey::EcdsaP192(k) => Self::P192(k),
            PublicKey::EcdsaP256(k) => Self::P256(k),
            PublicKey::EcdsaP384(k) => Self::P384(k),
            PublicKey::Ed25519(k) => Self::Ed25519(k),
        }
    }
}

/// SubjectPublicKeyInfo DER/PEM of whichever key it is (what
/// `openssl pkey -pubout` and espsecure `extract-public-key` write).
impl EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> spki::Result<spki::Document> {
        match self {
            Self::Rsa(key) => key.to_public_key_der(),
            Self::EcdsaP192(key) => key.to_public_key_der(),
            Self::EcdsaP256(key) => key.to_public_key_der(),
            Self::EcdsaP384(key) => key.to_public_key_der(),
            Self::Ed25519(key) => key.to_public_key_der(),
        }
    }
}

/// OIDs of the named curves `CKA_EC_PARAMS` carries (RFC 5480 §2.1.1.1,
/// RFC 8410 §3).
const OID_P192: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The `CKA_EC_PARAMS` OID of a curve (`None` for RSA).
pub(crate) fn ec_params_oid(algorithm: KeyAlgorithm) -> Option<ObjectIdentifier> {
    match algorithm {
        KeyAlgorithm::EcdsaP192 => Some(OID_P192),
        KeyAlgorithm::EcdsaP256 => Some(OID_P256),
        KeyAlgorithm::EcdsaP384 => Some(OID_P384),
        KeyAlgorithm::Ed25519 => Some(OID_ED25519),
        KeyAlgorithm::Rsa { .. } => None,
    }
}

/// Why attributes do not make a supported public key (the caller adds the
/// token and selector).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeProblem {
    /// A key type or curve we do not sign with, described.
    Unsupported(String),
    /// An attribute that does not decode.
    Malformed(&'static str),
}

/// The curve a `CKA_EC_PARAMS` value names: a DER OID, or for Edwards
/// keys the PrintableString `edwards25519` (PKCS#11 3.0 §2.3.5).
pub(crate) fn curve_from_ec_params(params: &[u8]) -> Result<KeyAlgorithm, DecodeProblem> {
    if let Ok(oid) = ObjectIdentifier::from_der(params) {
        return match oid {
            OID_P192 => Ok(KeyAlgorithm::EcdsaP192),
            OID_P256 => Ok(KeyAlgorithm::EcdsaP256),
            OID_P384 => Ok(KeyAlgorithm::EcdsaP384),
            OID_ED25519 => Ok(KeyAlgorithm::Ed25519),
            other => Err(DecodeProblem::Unsupported(format!(
                "an EC key on curve OID {other}"
            ))),
        };
    }
    match PrintableStringRef::from_der(params) {
        Ok(name) if name.as_str() == "edwards25519" => Ok(KeyAlgorithm::Ed25519),
        Ok(name) => Err(DecodeProblem::Unsupported(format!(
            "an EC key on curve {}",
            name.as_str()
        ))),
        Err(_) => Err(DecodeProblem::Malformed("CKA_EC_PARAMS")),
    }
}

/// Decodes `CKA_EC_POINT`: PKCS#11 says a DER OCTET STRING around the
/// point, but some modules return the bare point, so both are tried.
fn ec_point_candidates(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let wrapped = OctetStringRef::from_der(value).ok().map(|s| s.as_bytes());
    wrapped.into_iter().chain(std::iter::once(value))
}

/// An EC or Edwards public key from its curve and `CKA_EC_POINT`.
pub(crate) fn ec_public_key(
    curve: KeyAlgorithm,
    ec_point: &[u8],
) -> Result<PublicKey, DecodeProblem> {
    let malformed = DecodeProblem::Malformed("CKA_EC_POINT");
    let mut candidates = ec_point_candidates(ec_point);
    let key = match curve {
        KeyAlgorithm::EcdsaP192 => candidates.find_map(|p| {
            P192PublicKey::from_sec1_bytes(p)
                .ok()
                .map(PublicKey::EcdsaP192)
        }),
        KeyAlgorithm::EcdsaP256 => candidates.find_map(|p| {
            p256::PublicKey::from_sec1_bytes(p)
                .ok()
                .map(PublicKey::EcdsaP256)
        }),
        KeyAlgorithm::EcdsaP384 => candidates.find_map(|p| {
            p384::PublicKey::from_sec1_bytes(p)
                .ok()
                .map(PublicKey::EcdsaP384)
        }),
        KeyAlgorithm::Ed25519 => candidates.find_map(|p| {
            let bytes: [u8; 32] = p.try_into().ok()?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .ok()
                .map(PublicKey::Ed25519)
        }),
        KeyAlgorithm::Rsa { .. } => None,
    };
    key.ok_or(malformed)
}

/// An RSA public key from `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT`.
pub(crate) fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Result<PublicKey, DecodeProblem> {
    let n = rsa::BigUint::from_bytes_be(modulus);
    let e = rsa::BigUint::from_bytes_be(exponent);
    rsa::RsaPublicKey::new(n, e)
        .map(PublicKey::Rsa)
        .map_err(|_| DecodeProblem::Malformed("CKA_MODULUS/CKA_PUBLIC_EXPONENT"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spki::der::Encode;

    #[test]
    fn curves_by_oid_and_edwards_name() {
        for (oid, curve) in [
            (OID_P192, KeyAlgorithm::EcdsaP192),
            (OID_P256, KeyAlgorithm::EcdsaP256),
            (OID_P384, KeyAlgorithm::EcdsaP384),
            (OID_ED25519, KeyAlgorithm::Ed25519),
        ] {
            let der = oid.to_der().expect("der");
            assert_eq!(curve_from_ec_params(&der), Ok(curve));
        }
        let name = PrintableStringRef::new("edwards25519").expect("printable");
        let der = name.to_der().expect("der");
        assert_eq!(curve_from_ec_params(&der), Ok(KeyAlgorithm::Ed25519));
        // secp256k1
        let k1 = ObjectIdentifier::new_unwrap("1.3.132.0.10")
            .to_der()
            .expect("der");
        assert!(matches!(
            curve_from_ec_params(&k1),
            Err(DecodeProblem::Unsupported(s)) if s.contains("1.3.132.0.10")
        ));
        assert_eq!(
            curve_from_ec_params(&[0x30, 0x00]),
            Err(DecodeProblem::Malformed("CKA_EC_PARAMS"))
        );
    }

    #[test]
    fn ec_point_wrapped_or_bare() {
        // The P-256 generator, uncompressed.
        let point = hex::decode(
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296\
             4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
        )
        .expect("hex");
        let wrapped = OctetStringRef::new(&point)
            .expect("octets")
            .to_der()
            .expect("der");
        let a = ec_public_key(KeyAlgorithm::EcdsaP256, &wrapped).expect("wrapped");
        let b = ec_public_key(KeyAlgorithm::EcdsaP256, &point).expect("bare");
        assert_eq!(a, b);
        assert_eq!(
            ec_public_key(KeyAlgorithm::EcdsaP384, &wrapped),
            Err(DecodeProblem::Malformed("CKA_EC_POINT"))
        );
    }
}
