//! Payload encryption while signing (`-E`): a fresh AES key, wrapped for the
//! device in an unprotected TLV ([`crate::enc`]), and imgtool's rule on
//! which signing keys may go with which encryption keys.

use std::vec::Vec;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::error::SignError;
use crate::codec::header::ImageFlags;
use crate::enc::{self, AesKeyLen, EncError, EncTlvKind, HmacSha, Recipient};
use crate::SignatureKind;

/// Encryption of the payload: the AES key and its wrapped-key TLV.
pub struct Encryption {
    aes_key: Zeroizing<Vec<u8>>,
    key_len: AesKeyLen,
    tlv_kind: EncTlvKind,
    tlv_value: Vec<u8>,
    clear: bool,
}

impl core::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Encryption")
            .field("key_len", &self.key_len)
            .field("tlv_kind", &self.tlv_kind)
            .field("clear", &self.clear)
            .finish_non_exhaustive()
    }
}

impl Encryption {
    /// A fresh AES key of `key_len` wrapped for `recipient` (`-E`,
    /// `--encrypt-keylen`, `--hmac-sha`); with `clear` (`-c`) the payload
    /// stays plaintext but the image still carries the wrapped key.
    ///
    /// # Errors
    /// [`EncError`], e.g. [`EncError::HmacSha512Unsupported`] for
    /// HMAC-SHA512 with an EC P-256 recipient.
    pub fn new(
        recipient: &Recipient,
        key_len: AesKeyLen,
        hmac: HmacSha,
        clear: bool,
    ) -> Result<Self, EncError> {
        Self::with_rng(recipient, key_len, hmac, clear, &mut rand_core::OsRng)
    }

    /// [`Encryption::new`] drawing the key and the wrapping's randomness
    /// from `rng`.
    ///
    /// # Errors
    /// As [`Encryption::new`].
    pub fn with_rng(
        recipient: &Recipient,
        key_len: AesKeyLen,
        hmac: HmacSha,
        clear: bool,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, EncError> {
        let (aes_key, tlv_kind, tlv_value) = enc::wrap_new_key(recipient, key_len, hmac, rng)?;
        Ok(Self {
            aes_key,
            key_len,
            tlv_kind,
            tlv_value,
            clear,
        })
    }

    /// The wrapped-key TLV's kind.
    #[must_use]
    pub fn tlv_kind(&self) -> EncTlvKind {
        self.tlv_kind
    }

    /// The wrapped-key TLV's value.
    #[must_use]
    pub fn tlv_value(&self) -> &[u8] {
        &self.tlv_value
    }

    /// Whether the payload is kept in clear text (`-c/--clear`).
    #[must_use]
    pub fn is_clear(&self) -> bool {
        self.clear
    }

    /// The header flag announcing the AES key size.
    pub(super) fn header_flag(&self) -> ImageFlags {
        match self.key_len {
            AesKeyLen::Aes128 => ImageFlags::ENCRYPTED_AES128,
            AesKeyLen::Aes256 => ImageFlags::ENCRYPTED_AES256,
        }
    }

    /// Encrypts the payload in place (AES-CTR from counter 0), unless clear.
    pub(super) fn apply(&self, payload: &mut [u8]) -> Result<(), EncError> {
        if self.clear {
            return Ok(());
        }
        enc::aes_ctr_apply(&self.aes_key, 0, payload)
    }

    /// imgtool's rule (`main.py` `sign`): "Signing and encryption must use
    /// the same type of key" for EC and RSA signing keys.
    ///
    /// # Errors
    /// [`SignError::KeyPairing`].
    pub fn check_pairing(&self, signing: SignatureKind) -> Result<(), SignError> {
        let paired = match signing {
            SignatureKind::EcdsaP256 => self.tlv_kind == EncTlvKind::Ec256,
            // imgtool has no P-384 encryption, so no encryption key matches.
            SignatureKind::EcdsaP384 => false,
            SignatureKind::Rsa2048 | SignatureKind::Rsa3072 => self.tlv_kind == EncTlvKind::Rsa2048,
            SignatureKind::Ed25519 => true,
        };
        if paired {
            Ok(())
        } else {
            Err(SignError::KeyPairing {
                signing,
                encryption: self.tlv_kind,
            })
        }
    }
}
