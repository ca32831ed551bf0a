//! MCUboot image signing with a key held in a PKCS#11 token (`pkcs11`
//! feature): the token key goes through the same RustCrypto adapters as a
//! key file ([`KeySigner`](super::KeySigner)), so [`ImageBuilder`](super::ImageBuilder)
//! cannot tell them apart; the private key never leaves the token.

use std::vec::Vec;

use pkcs11_keys::{EcdsaKey, Ed25519Key, Pkcs11Key, RsaPssKey, TypedKey};

use super::signer::{
    EcdsaP256Signer, EcdsaP384Signer, Ed25519Signer, ImageSigner, PureImageSigner, RsaPssSigner,
};
use crate::keys::{check_supported, KeyError, PublicKey};

/// A token-held MCUboot signing key: RSA-2048/3072 PSS, ECDSA P-256/P-384
/// or Ed25519 (imgtool's signing key types).
#[non_exhaustive]
pub enum TokenSigner {
    /// Ed25519 (`CKM_EDDSA`; signs the digest, or the region with `--pure`).
    Ed25519(Ed25519Signer<Ed25519Key>),
    /// ECDSA P-256 (`CKM_ECDSA` over the SHA-256 digest).
    EcdsaP256(EcdsaP256Signer<EcdsaKey<p256::NistP256>>),
    /// ECDSA P-384 (`CKM_ECDSA` over the SHA-384 digest).
    EcdsaP384(EcdsaP384Signer<EcdsaKey<p384::NistP384>>),
    /// RSA-2048/3072 (`CKM_RSA_PKCS_PSS`, SHA-256, salt 32).
    Rsa(RsaPssSigner<RsaPssKey>),
}

impl core::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "TokenSigner({} on token {})",
            self.public_key().kind(),
            self.key().token_label()
        )
    }
}

impl TokenSigner {
    /// Wraps a token key; `pad_sig` pads ECDSA signatures as
    /// [`KeySigner::new`](super::KeySigner::new) does (`--pad-sig`).
    ///
    /// # Errors
    /// [`KeyError::Unsupported`] for a key imgtool cannot sign with (RSA
    /// other than 2048/3072 bits, P-192).
    pub fn new(key: Pkcs11Key, pad_sig: bool) -> Result<Self, KeyError> {
        let public = PublicKey::from(key.public_key().clone());
        let kind = public.kind();
        check_supported(kind)?;
        Ok(match TypedKey::from(key) {
            TypedKey::Ed25519(inner) => Self::Ed25519(Ed25519Signer { public, inner }),
            TypedKey::EcdsaP256(inner) => Self::EcdsaP256(EcdsaP256Signer {
                public,
                inner,
                pad_sig,
            }),
            TypedKey::EcdsaP384(inner) => Self::EcdsaP384(EcdsaP384Signer {
                public,
                inner,
                pad_sig,
            }),
            TypedKey::Rsa(inner) => Self::Rsa(RsaPssSigner { public, inner }),
            _ => return Err(KeyError::Unsupported(kind)),
        })
    }

    /// The token key.
    pub fn key(&self) -> &Pkcs11Key {
        match self {
            Self::Ed25519(s) => s.inner.key(),
            Self::EcdsaP256(s) => s.inner.key(),
            Self::EcdsaP384(s) => s.inner.key(),
            Self::Rsa(s) => s.inner.key(),
        }
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

impl ImageSigner for TokenSigner {
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
