//! Who signs: [`ImageSigner`] and its adapters over the RustCrypto
//! `signature` traits, so a key file, an HSM (PKCS#11) or a signature made
//! elsewhere (`--fix-sig`) all go through one path.
//!
//! Prehash and pure signing are separate capabilities, as in RustCrypto
//! (`signature::hazmat::PrehashSigner` vs `signature::Signer`): every
//! scheme signs the image digest ([`ImageSigner::sign_digest`]); only
//! schemes that sign the message itself (Ed25519) offer a
//! [`PureImageSigner`].

use std::vec::Vec;

use super::error::{OptionError, SignError};
use super::options::Signing;
use crate::keys::{McubootKey as _, PrivateKey, PublicKey};
use crate::{HashAlg, SignatureKind};

/// A signer of MCUboot images.
pub trait ImageSigner {
    /// The public key (selects the signature TLV and the hash, feeds
    /// KEYHASH/PUBKEY).
    fn public_key(&self) -> &PublicKey;

    /// True when only the public key is available (imgtool allows
    /// `--sha 512` with a public P-256 key).
    fn public_only(&self) -> bool {
        false
    }

    /// Signs the image digest (the hash TLV's value).
    ///
    /// # Errors
    /// [`signature::Error`] from the signing backend.
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, signature::Error>;

    /// The pure signer of this scheme, if it can sign the hashed region
    /// itself (`--pure`; Ed25519 only).
    fn pure(&self) -> Option<&dyn PureImageSigner> {
        None
    }
}

/// Pure signing: the signature covers the hashed region (header, payload,
/// protected TLVs) rather than its digest (`MCUBOOT_SIGN_PURE`).
pub trait PureImageSigner {
    /// Signs `region`.
    ///
    /// # Errors
    /// [`signature::Error`] from the signing backend.
    fn sign_region(&self, region: &[u8]) -> Result<Vec<u8>, signature::Error>;
}

/// The hashes imgtool allows for a key type (`image.py` `ALLOWED_KEY_SHA`),
/// the default first. A public P-256 key (an external signature) also
/// allows SHA-512.
#[must_use]
pub fn allowed_hashes(kind: SignatureKind, public_only: bool) -> &'static [HashAlg] {
    match kind {
        SignatureKind::EcdsaP384 => &[HashAlg::Sha384],
        SignatureKind::EcdsaP256 if public_only => &[HashAlg::Sha256, HashAlg::Sha512],
        SignatureKind::EcdsaP256 | SignatureKind::Rsa2048 | SignatureKind::Rsa3072 => {
            &[HashAlg::Sha256]
        }
        SignatureKind::Ed25519 => &[HashAlg::Sha256, HashAlg::Sha512],
    }
}

/// The image hash for `signing` with `signer` (`image.py`
/// `key_and_user_sha_to_alg_and_tlv`): without a signer the choice as is;
/// with one, its key type's default or an allowed choice; pure signing
/// uses SHA-512 and needs a pure signer.
///
/// # Errors
/// [`SignError::CannotSign`] for an X25519 key, [`OptionError`] for a
/// choice the key does not allow.
pub fn select_hash(
    signer: Option<&dyn ImageSigner>,
    signing: Signing,
) -> Result<HashAlg, SignError> {
    let Some(signer) = signer else {
        return Ok(match signing {
            Signing::Prehash(choice) => choice.alg(),
            Signing::Pure => HashAlg::Sha256,
        });
    };
    let kind = signer
        .public_key()
        .signature_kind()
        .ok_or(SignError::CannotSign)?;
    match signing {
        Signing::Pure if kind == SignatureKind::Ed25519 && signer.pure().is_some() => {
            Ok(HashAlg::Sha512)
        }
        Signing::Pure => Err(OptionError::PureNeedsEd25519(kind).into()),
        Signing::Prehash(choice) => {
            let allowed = allowed_hashes(kind, signer.public_only());
            let hash = choice.alg();
            match (choice, allowed.first()) {
                (super::HashChoice::Auto, Some(default)) => Ok(*default),
                _ if allowed.contains(&hash) => Ok(hash),
                _ => Err(OptionError::HashNotAllowed {
                    hash,
                    key: kind,
                    allowed,
                }
                .into()),
            }
        }
    }
}

/// Pads an ECDSA DER signature with zeros to `len` (`--pad-sig`,
/// `keys/ecdsa.py`). Python's `b'\0' * negative` is empty: never truncate.
fn pad_der(mut der: Vec<u8>, pad_sig: bool, len: usize) -> Vec<u8> {
    if pad_sig && der.len() < len {
        der.resize(len, 0);
    }
    der
}

/// Any RustCrypto Ed25519 signer (a key file, an HSM) as an [`ImageSigner`]
/// that can also sign pure.
#[derive(Debug)]
pub struct Ed25519Signer<S> {
    /// The signer's public key.
    pub public: PublicKey,
    /// The signer.
    pub inner: S,
}

impl<S: signature::Signer<ed25519_dalek::Signature>> ImageSigner for Ed25519Signer<S> {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.inner.try_sign(digest)?.to_bytes().to_vec())
    }
    fn pure(&self) -> Option<&dyn PureImageSigner> {
        Some(self)
    }
}

impl<S: signature::Signer<ed25519_dalek::Signature>> PureImageSigner for Ed25519Signer<S> {
    fn sign_region(&self, region: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.inner.try_sign(region)?.to_bytes().to_vec())
    }
}

/// The ECDSA adapters differ only in the curve and imgtool's padded length.
macro_rules! ecdsa_signer {
    ($(#[$doc:meta])* $name:ident, $curve:ident, $padded:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<S> {
            /// The signer's public key.
            pub public: PublicKey,
            /// The signer.
            pub inner: S,
            /// `--pad-sig`.
            pub pad_sig: bool,
        }

        impl<S: signature::hazmat::PrehashSigner<$curve::ecdsa::Signature>> ImageSigner
            for $name<S>
        {
            fn public_key(&self) -> &PublicKey {
                &self.public
            }
            fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, signature::Error> {
                let sig = self.inner.sign_prehash(digest)?;
                Ok(pad_der(sig.to_der().as_bytes().to_vec(), self.pad_sig, $padded))
            }
        }
    };
}

ecdsa_signer!(
    /// Any RustCrypto ECDSA P-256 prehash signer as an [`ImageSigner`]
    /// (DER, zero-padded to 72 bytes with `pad_sig`).
    EcdsaP256Signer,
    p256,
    72
);

ecdsa_signer!(
    /// Any RustCrypto ECDSA P-384 prehash signer as an [`ImageSigner`]
    /// (DER, zero-padded to 103 bytes with `pad_sig`).
    EcdsaP384Signer,
    p384,
    103
);

/// Any RustCrypto randomized RSA-PSS prehash signer as an [`ImageSigner`]
/// (MCUboot: SHA-256, MGF1-SHA-256, salt length 32, `image_rsa.c`).
#[derive(Debug)]
pub struct RsaPssSigner<S> {
    /// The signer's public key.
    pub public: PublicKey,
    /// The signer.
    pub inner: S,
}

impl<S: signature::hazmat::RandomizedPrehashSigner<rsa::pss::Signature>> ImageSigner
    for RsaPssSigner<S>
{
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, signature::Error> {
        use signature::SignatureEncoding;
        let sig = self
            .inner
            .sign_prehash_with_rng(&mut rand_core::OsRng, digest)?;
        Ok(sig.to_vec())
    }
}

/// MCUboot's fixed RSA-PSS salt length (`image_rsa.c`).
const RSA_PSS_SALT_LEN: usize = 32;

/// A key pair read from a file: one of the RustCrypto adapters above, so a
/// file key and an external signer go through the same code.
#[non_exhaustive]
pub enum KeySigner {
    /// Ed25519.
    Ed25519(Ed25519Signer<ed25519_dalek::SigningKey>),
    /// ECDSA P-256.
    EcdsaP256(EcdsaP256Signer<p256::ecdsa::SigningKey>),
    /// ECDSA P-384.
    EcdsaP384(EcdsaP384Signer<p384::ecdsa::SigningKey>),
    /// RSA-2048/3072 PSS.
    Rsa(RsaPssSigner<rsa::pss::SigningKey<sha2::Sha256>>),
}

impl core::fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print key material.
        write!(f, "KeySigner({})", self.public_key().kind())
    }
}

impl KeySigner {
    /// Wraps a private key; `pad_sig` pads ECDSA signatures with zeros to
    /// 72 (P-256) or 103 (P-384) bytes (`--pad-sig`, `keys/ecdsa.py`).
    ///
    /// # Errors
    /// [`SignError::CannotSign`] for X25519, which cannot sign.
    pub fn new(key: PrivateKey, pad_sig: bool) -> Result<Self, SignError> {
        let public = key.public_key();
        Ok(match key {
            PrivateKey::Ed25519(k) => Self::Ed25519(Ed25519Signer { public, inner: k }),
            PrivateKey::P256(k) => Self::EcdsaP256(EcdsaP256Signer {
                public,
                inner: p256::ecdsa::SigningKey::from(&k),
                pad_sig,
            }),
            PrivateKey::P384(k) => Self::EcdsaP384(EcdsaP384Signer {
                public,
                inner: p384::ecdsa::SigningKey::from(&k),
                pad_sig,
            }),
            PrivateKey::Rsa(k) => Self::Rsa(RsaPssSigner {
                public,
                inner: rsa::pss::SigningKey::new_with_salt_len(*k, RSA_PSS_SALT_LEN),
            }),
            _ => return Err(SignError::CannotSign),
        })
    }

    fn as_signer(&self) -> &dyn ImageSigner {
        match self {
            Self::Ed25519(s) => s,
            Self::EcdsaP256(s) => s,
            Self::EcdsaP384(s) => s,
            Self::Rsa(s) => s,
        }
    }
}

impl ImageSigner for KeySigner {
    fn public_key(&self) -> &PublicKey {
        self.as_signer().public_key()
    }
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, signature::Error> {
        self.as_signer().sign_digest(digest)
    }
    fn pure(&self) -> Option<&dyn PureImageSigner> {
        match self {
            Self::Ed25519(s) => Some(s),
            _ => None,
        }
    }
}

/// A signature made elsewhere (`--fix-sig` with `--fix-sig-pubkey`): it
/// stands for whatever the image's digest or region was signed with.
#[derive(Debug)]
pub struct FixedSigner {
    /// The signer's public key.
    pub public: PublicKey,
    /// True when the key file held only the public key.
    pub public_only: bool,
    /// The raw signature bytes (already base64-decoded).
    pub signature: Vec<u8>,
}

impl ImageSigner for FixedSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn public_only(&self) -> bool {
        self.public_only
    }
    fn sign_digest(&self, _digest: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.signature.clone())
    }
    fn pure(&self) -> Option<&dyn PureImageSigner> {
        Some(self)
    }
}

impl PureImageSigner for FixedSigner {
    fn sign_region(&self, _region: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.signature.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Regression: `--pad-sig` used to cut 104-byte P-384 DER signatures to
    /// 103 bytes; imgtool only ever appends zeros.
    #[test]
    fn regression_pad_sig_never_truncates_p384_signatures() {
        let key = PrivateKey::generate(crate::keys::KeyType::EcdsaP384).unwrap();
        let signer = KeySigner::new(key, true).unwrap();
        let mut seen_long = false;
        for i in 0u8..=255 {
            let digest = HashAlg::Sha384.digest(&[i]);
            let sig = signer.sign_digest(digest.as_bytes()).unwrap();
            let der_len = usize::from(sig[1]) + 2;
            assert!(sig.len() >= der_len, "signature truncated");
            assert_eq!(sig.len(), der_len.max(103));
            seen_long |= der_len == 104;
        }
        assert!(seen_long, "no 104-byte signature in 256 tries");
    }

    #[test]
    fn only_ed25519_signs_pure_and_hash_choices_follow_imgtool() {
        let ed = KeySigner::new(
            PrivateKey::generate(crate::keys::KeyType::Ed25519).unwrap(),
            false,
        )
        .unwrap();
        let p256 = KeySigner::new(
            PrivateKey::generate(crate::keys::KeyType::EcdsaP256).unwrap(),
            false,
        )
        .unwrap();
        assert!(ed.pure().is_some() && p256.pure().is_none());
        assert_eq!(
            select_hash(Some(&ed), Signing::Pure).unwrap(),
            HashAlg::Sha512
        );
        assert!(matches!(
            select_hash(Some(&p256), Signing::Pure),
            Err(SignError::Option(OptionError::PureNeedsEd25519(
                SignatureKind::EcdsaP256
            )))
        ));
        let sha512 = Signing::Prehash(super::super::HashChoice::Sha512);
        assert_eq!(select_hash(Some(&ed), sha512).unwrap(), HashAlg::Sha512);
        assert!(matches!(
            select_hash(Some(&p256), sha512),
            Err(SignError::Option(OptionError::HashNotAllowed { .. }))
        ));
        assert_eq!(select_hash(None, sha512).unwrap(), HashAlg::Sha512);
    }
}
