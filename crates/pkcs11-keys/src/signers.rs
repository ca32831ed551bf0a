//! The RustCrypto `signature` traits over a [`Pkcs11Key`], one typed
//! signer per algorithm, as key files have them (`rsa::pss::SigningKey`,
//! `p256::ecdsa::SigningKey`, `ed25519_dalek::SigningKey`).
//!
//! Every signature the token returns is verified with the public key read
//! from the token before it is handed out, so a public key object that
//! belongs to another key pair cannot yield an image that fails to boot.

use ecdsa::elliptic_curve::{generic_array::ArrayLength, CurveArithmetic, PrimeCurve};
use ecdsa::hazmat::{DigestPrimitive, VerifyPrimitive};
use ecdsa::SignatureSize;
use sha2::{Digest, Sha256};
use signature::hazmat::{PrehashSigner, PrehashVerifier, RandomizedPrehashSigner};
use signature::{Keypair, RandomizedSigner, Signer, Verifier};

use crate::error::Pkcs11Error;
use crate::key::Pkcs11Key;
use crate::public_key::{KeyAlgorithm, PublicKey};

fn wrong_algorithm(key: &Pkcs11Key, expected: &'static str) -> Pkcs11Error {
    Pkcs11Error::WrongAlgorithm {
        selector: key.selector().to_owned(),
        expected,
        actual: key.algorithm(),
    }
}

fn mismatch(key: &Pkcs11Key) -> signature::Error {
    signature::Error::from_source(Pkcs11Error::SignatureMismatch {
        mechanism: key.mechanism_name(),
        selector: key.selector().to_owned(),
        token: key.token_label().to_owned(),
    })
}

fn malformed(key: &Pkcs11Key, len: usize) -> signature::Error {
    signature::Error::from_source(Pkcs11Error::MalformedSignature {
        mechanism: key.mechanism_name(),
        token: key.token_label().to_owned(),
        len,
    })
}

/// RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (what Secure Boot
/// V2 and MCUboot verify) by a token-held RSA key of any size.
///
/// The token draws the salt, so the RNG of [`RandomizedPrehashSigner`] is
/// not used; the trait is implemented because MCUboot's RSA adapter and
/// `rsa::pss::SigningKey` use it.
#[derive(Debug)]
pub struct RsaPssKey {
    key: Pkcs11Key,
    verifying_key: rsa::pss::VerifyingKey<Sha256>,
}

impl RsaPssKey {
    /// The token key.
    pub fn key(&self) -> &Pkcs11Key {
        &self.key
    }

    /// The RSA public key.
    pub fn public_key(&self) -> &rsa::RsaPublicKey {
        match self.key.public_key() {
            PublicKey::Rsa(key) => key,
            _ => unreachable!("checked when the RsaPssKey was made"),
        }
    }
}

impl TryFrom<Pkcs11Key> for RsaPssKey {
    type Error = Pkcs11Error;
    fn try_from(key: Pkcs11Key) -> Result<Self, Pkcs11Error> {
        let PublicKey::Rsa(public) = key.public_key() else {
            return Err(wrong_algorithm(&key, "an RSA key"));
        };
        let verifying_key = rsa::pss::VerifyingKey::new(public.clone());
        Ok(Self { key, verifying_key })
    }
}

impl PrehashSigner<rsa::pss::Signature> for RsaPssKey {
    /// Signs a SHA-256 digest.
    fn sign_prehash(&self, prehash: &[u8]) -> signature::Result<rsa::pss::Signature> {
        let raw = self
            .key
            .sign_raw(prehash)
            .map_err(signature::Error::from_source)?;
        let len = raw.len();
        let signature =
            rsa::pss::Signature::try_from(raw.as_slice()).map_err(|_| malformed(&self.key, len))?;
        self.verifying_key
            .verify_prehash(prehash, &signature)
            .map_err(|_| mismatch(&self.key))?;
        Ok(signature)
    }
}

impl RandomizedPrehashSigner<rsa::pss::Signature> for RsaPssKey {
    fn sign_prehash_with_rng(
        &self,
        _rng: &mut impl signature::rand_core::CryptoRngCore,
        prehash: &[u8],
    ) -> signature::Result<rsa::pss::Signature> {
        self.sign_prehash(prehash)
    }
}

impl Signer<rsa::pss::Signature> for RsaPssKey {
    /// Hashes `msg` with SHA-256 on the host and signs the digest.
    fn try_sign(&self, msg: &[u8]) -> signature::Result<rsa::pss::Signature> {
        self.sign_prehash(&Sha256::digest(msg))
    }
}

impl RandomizedSigner<rsa::pss::Signature> for RsaPssKey {
    fn try_sign_with_rng(
        &self,
        _rng: &mut impl signature::rand_core::CryptoRngCore,
        msg: &[u8],
    ) -> signature::Result<rsa::pss::Signature> {
        self.try_sign(msg)
    }
}

impl Keypair for RsaPssKey {
    type VerifyingKey = rsa::pss::VerifyingKey<Sha256>;
    fn verifying_key(&self) -> Self::VerifyingKey {
        self.verifying_key.clone()
    }
}

/// ECDSA by a token-held key on curve `C` (`p192::NistP192`,
/// `p256::NistP256`, `p384::NistP384`): the host hashes, the token signs
/// the digest with `CKM_ECDSA` and returns `r || s`.
#[derive(Debug)]
pub struct EcdsaKey<C>
where
    C: PrimeCurve + CurveArithmetic,
{
    key: Pkcs11Key,
    verifying_key: ecdsa::VerifyingKey<C>,
}

impl<C> EcdsaKey<C>
where
    C: PrimeCurve + CurveArithmetic,
{
    /// The token key.
    pub fn key(&self) -> &Pkcs11Key {
        &self.key
    }
}

macro_rules! ecdsa_try_from {
    ($curve:ty, $variant:ident, $name:literal) => {
        impl TryFrom<Pkcs11Key> for EcdsaKey<$curve> {
            type Error = Pkcs11Error;
            fn try_from(key: Pkcs11Key) -> Result<Self, Pkcs11Error> {
                let PublicKey::$variant(public) = key.public_key() else {
                    return Err(wrong_algorithm(&key, $name));
                };
                let verifying_key = ecdsa::VerifyingKey::from(*public);
                Ok(Self { key, verifying_key })
            }
        }
    };
}
ecdsa_try_from!(p192::NistP192, EcdsaP192, "an ECDSA P-192 key");
ecdsa_try_from!(p256::NistP256, EcdsaP256, "an ECDSA P-256 key");
ecdsa_try_from!(p384::NistP384, EcdsaP384, "an ECDSA P-384 key");

impl<C> PrehashSigner<ecdsa::Signature<C>> for EcdsaKey<C>
where
    C: PrimeCurve + CurveArithmetic,
    C::AffinePoint: VerifyPrimitive<C>,
    SignatureSize<C>: ArrayLength<u8>,
{
    /// Signs a digest (SHA-256 for P-192/P-256 and SHA-384 for P-384 in
    /// Secure Boot V2; the token truncates longer digests to the curve).
    fn sign_prehash(&self, prehash: &[u8]) -> signature::Result<ecdsa::Signature<C>> {
        let raw = self
            .key
            .sign_raw(prehash)
            .map_err(signature::Error::from_source)?;
        let signature =
            ecdsa::Signature::<C>::from_slice(&raw).map_err(|_| malformed(&self.key, raw.len()))?;
        self.verifying_key
            .verify_prehash(prehash, &signature)
            .map_err(|_| mismatch(&self.key))?;
        Ok(signature)
    }
}

impl<C> Signer<ecdsa::Signature<C>> for EcdsaKey<C>
where
    C: PrimeCurve + CurveArithmetic + DigestPrimitive,
    C::AffinePoint: VerifyPrimitive<C>,
    SignatureSize<C>: ArrayLength<u8>,
{
    /// Hashes `msg` with the curve's digest (SHA-256 for P-256, SHA-384
    /// for P-384) on the host and signs the digest.
    fn try_sign(&self, msg: &[u8]) -> signature::Result<ecdsa::Signature<C>> {
        self.sign_prehash(&C::Digest::digest(msg))
    }
}

impl<C> Keypair for EcdsaKey<C>
where
    C: PrimeCurve + CurveArithmetic,
{
    type VerifyingKey = ecdsa::VerifyingKey<C>;
    fn verifying_key(&self) -> Self::VerifyingKey {
        self.verifying_key
    }
}

/// Pure Ed25519 (`CKM_EDDSA` without parameters) by a token-held key: the
/// token receives the whole message (MCUboot signs the image digest, or
/// the hashed region in pure mode).
#[derive(Debug)]
pub struct Ed25519Key {
    key: Pkcs11Key,
    verifying_key: ed25519_dalek::VerifyingKey,
}

impl Ed25519Key {
    /// The token key.
    pub fn key(&self) -> &Pkcs11Key {
        &self.key
    }
}

impl TryFrom<Pkcs11Key> for Ed25519Key {
    type Error = Pkcs11Error;
    fn try_from(key: Pkcs11Key) -> Result<Self, Pkcs11Error> {
        let PublicKey::Ed25519(public) = key.public_key() else {
            return Err(wrong_algorithm(&key, "an Ed25519 key"));
        };
        let verifying_key = *public;
        Ok(Self { key, verifying_key })
    }
}

impl Signer<ed25519_dalek::Signature> for Ed25519Key {
    fn try_sign(&self, msg: &[u8]) -> signature::Result<ed25519_dalek::Signature> {
        let raw = self
            .key
            .sign_raw(msg)
            .map_err(signature::Error::from_source)?;
        let signature = ed25519_dalek::Signature::from_slice(&raw)
            .map_err(|_| malformed(&self.key, raw.len()))?;
        self.verifying_key
            .verify(msg, &signature)
            .map_err(|_| mismatch(&self.key))?;
        Ok(signature)
    }
}

impl Keypair for Ed25519Key {
    type VerifyingKey = ed25519_dalek::VerifyingKey;
    fn verifying_key(&self) -> Self::VerifyingKey {
        self.verifying_key
    }
}

/// A [`Pkcs11Key`] as the typed signer its algorithm calls for.
#[derive(Debug)]
#[non_exhaustive]
pub enum TypedKey {
    /// RSA-PSS.
    Rsa(RsaPssKey),
    /// ECDSA P-192.
    EcdsaP192(EcdsaKey<p192::NistP192>),
    /// ECDSA P-256.
    EcdsaP256(EcdsaKey<p256::NistP256>),
    /// ECDSA P-384.
    EcdsaP384(EcdsaKey<p384::NistP384>),
    /// Ed25519.
    Ed25519(Ed25519Key),
}

impl TypedKey {
    /// The token key.
    pub fn key(&self) -> &Pkcs11Key {
        match self {
            Self::Rsa(k) => k.key(),
            Self::EcdsaP192(k) => k.key(),
            Self::EcdsaP256(k) => k.key(),
            Self::EcdsaP384(k) => k.key(),
            Self::Ed25519(k) => k.key(),
        }
    }
}

impl From<Pkcs11Key> for TypedKey {
    fn from(key: Pkcs11Key) -> Self {
        // Each conversion succeeds for the algorithm it is chosen by.
        let typed = match key.algorithm() {
            KeyAlgorithm::Rsa { .. } => RsaPssKey::try_from(key).map(Self::Rsa),
            KeyAlgorithm::EcdsaP192 => EcdsaKey::try_from(key).map(Self::EcdsaP192),
            KeyAlgorithm::EcdsaP256 => EcdsaKey::try_from(key).map(Self::EcdsaP256),
            KeyAlgorithm::EcdsaP384 => EcdsaKey::try_from(key).map(Self::EcdsaP384),
            KeyAlgorithm::Ed25519 => Ed25519Key::try_from(key).map(Self::Ed25519),
        };
        typed.unwrap_or_else(|_| unreachable!("the algorithm selects the matching signer"))
    }
}
