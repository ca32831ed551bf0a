//! The plan's key sources: the Secure Boot V2 public keys (`secure_boot.keys`,
//! PEM files or keys in a PKCS#11 token) whose digests are burned, and the
//! flash-encryption key (the plan's key file, or generated per device and
//! never written).
//!
//! A token key is read through `pkcs11-keys` (its public key only: the
//! private key never leaves the token) and checked by the same Secure Boot
//! V2 rules as a key file (`esp_secure::sbv2::PublicKey`).

use esp_secure::flash_encryption::FlashEncryptionKey;
use esp_secure::sbv2::{KeyError, PublicKey};
use zeroize::Zeroizing;

use crate::plan::{KeySource, Plan};
use crate::run::RunError;

/// Why a key source gives no Secure Boot V2 public key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySourceError {
    /// The PEM file cannot be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),
    /// The key is not one Secure Boot V2 accepts (or not a key).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The token, module, PIN or object is not usable.
    #[error(transparent)]
    Token(#[from] pkcs11_keys::Pkcs11Error),
}

impl KeySource {
    /// The Secure Boot V2 public key: from the PEM file (public or private
    /// key), or read from the token the PKCS#11 URI names.
    ///
    /// # Errors
    /// [`KeySourceError`]; messages never carry the PIN.
    pub fn sbv2_public_key(&self) -> Result<PublicKey, KeySourceError> {
        match self {
            KeySource::File(path) => {
                let pem = std::fs::read_to_string(path).map_err(KeySourceError::Read)?;
                Ok(PublicKey::from_pem(&pem)?)
            }
            KeySource::Pkcs11(uri) => {
                Ok(PublicKey::try_from(pkcs11_keys::read_public_key_uri(uri)?)?)
            }
        }
    }
}

/// The Secure Boot V2 digest of a key source.
pub(crate) fn key_digest(key: &KeySource) -> Result<[u8; 32], RunError> {
    key.sbv2_public_key()
        .map(|public| public.digest())
        .map_err(|e| RunError::Key {
            key: key.to_string(),
            reason: e.to_string(),
        })
}

/// The flash-encryption key: the plan's key file, or a fresh key.
pub(crate) fn flash_key(plan: &Plan, bits: u32) -> Result<FlashEncryptionKey, RunError> {
    match plan
        .flash_encryption
        .as_ref()
        .and_then(|f| f.key_file.as_ref())
    {
        Some(path) => std::fs::read(path)
            .map(Zeroizing::new)
            .map(|bytes| FlashEncryptionKey::from_bytes(&bytes))
            .map_err(|source| RunError::Firmware {
                path: path.display().to_string(),
                source,
            }),
        None => Ok(FlashEncryptionKey::generate(bits as usize)),
    }
}
