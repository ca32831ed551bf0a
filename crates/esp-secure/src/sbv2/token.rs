//! Secure Boot V2 signing with a key held in a PKCS#11 token (`pkcs11`
//! feature): the token key becomes an [`Sbv2Signer`], so it signs through
//! the same [`sign_image`](super::sign_image) / [`sign_stream`](super::sign_stream)
//! path as a key file, and every signature is verified against the block's
//! public key before it is embedded.

use pkcs11_keys::{Pkcs11Key, TypedKey};
use signature::hazmat::PrehashSigner as _;

use super::{KeyError, PublicKey, Sbv2Signature, Sbv2Signer};

/// The Secure Boot V2 verification key of a token key's public key: the
/// same rules as for key files (RSA-3072, ECDSA P-192/P-256/P-384).
impl TryFrom<pkcs11_keys::PublicKey> for PublicKey {
    type Error = KeyError;

    fn try_from(key: pkcs11_keys::PublicKey) -> Result<Self, KeyError> {
        Self::try_from(key_files::PublicKey::from(key))
    }
}

/// A token-held Secure Boot V2 signing key (RSA-3072 PSS, ECDSA P-192,
/// P-256 or P-384). The private key never leaves the token: the host
/// hashes the image, the token signs the digest.
#[derive(Debug)]
pub struct TokenSigner {
    public_key: PublicKey,
    key: TypedKey,
}

impl TokenSigner {
    /// The token key.
    pub fn key(&self) -> &Pkcs11Key {
        self.key.key()
    }
}

impl TryFrom<Pkcs11Key> for TokenSigner {
    type Error = KeyError;

    /// # Errors
    /// [`KeyError::RsaKeySize`] or [`KeyError::Unsupported`] for a key
    /// Secure Boot V2 cannot use (RSA other than 3072 bits, Ed25519).
    fn try_from(key: Pkcs11Key) -> Result<Self, KeyError> {
        let public_key = PublicKey::try_from(key.public_key().clone())?;
        Ok(Self {
            public_key,
            key: TypedKey::from(key),
        })
    }
}

impl Sbv2Signer for TokenSigner {
    fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }

    fn sign_prehash(&self, image_digest: &[u8]) -> Result<Sbv2Signature, signature::Error> {
        match &self.key {
            TypedKey::Rsa(k) => Sbv2Signature::from_rsa_pss(&k.sign_prehash(image_digest)?),
            TypedKey::EcdsaP192(k) => Ok(Sbv2Signature::Ecdsa192(k.sign_prehash(image_digest)?)),
            TypedKey::EcdsaP256(k) => Ok(Sbv2Signature::Ecdsa256(k.sign_prehash(image_digest)?)),
            TypedKey::EcdsaP384(k) => Ok(Sbv2Signature::Ecdsa384(k.sign_prehash(image_digest)?)),
            // `try_from` accepted only the schemes above.
            _ => Err(signature::Error::new()),
        }
    }
}
