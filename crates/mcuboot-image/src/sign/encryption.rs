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
    /// `None` for an encryption key imgtool pairs but has no wrapping
    /// for ([`Encryption::for_imgtool_key`]).
    tlv_kind: Option<EncTlvKind>,
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

/// Whether imgtool 2.5.0 refuses `hmac` for an `-E` key of `kind` once
/// it encrypts (imgtool/image.py `create`: RSA ignores `--hmac-sha`, and
/// of the other keys only X25519 takes HMAC-SHA512). It refuses nowhere
/// else: not when it exports what is to be signed, nor in the plaintext
/// build that decides whether compression pays.
#[must_use]
pub fn imgtool_refuses_hmac(kind: crate::keys::KeyKind, hmac: HmacSha) -> bool {
    use crate::keys::KeyKind;
    hmac == HmacSha::Sha512 && !matches!(kind, KeyKind::Rsa { .. } | KeyKind::X25519)
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
            tlv_kind: Some(tlv_kind),
            tlv_value,
            clear,
        })
    }

    /// The encryption imgtool 2.5.0 makes for the `-E` key `file`
    /// (imgtool/image.py `create`): a key it wraps for (RSA of either
    /// size, EC P-256, X25519) as [`Encryption::new`]; for any other key it loads (EC
    /// P-384, Ed25519) it still sets the header flag, pads and encrypts
    /// the payload with a fresh AES key, but writes no TLV carrying that
    /// key, so no device can decrypt the image.
    ///
    /// # Errors
    /// As [`Encryption::new`]; [`EncError::HmacSha512Unsupported`] for
    /// HMAC-SHA512 without an X25519 key; [`EncError::Key`] for a key
    /// that cannot encrypt at all.
    pub fn for_imgtool_key(
        file: crate::keys::KeyFile,
        key_len: AesKeyLen,
        hmac: HmacSha,
        clear: bool,
    ) -> Result<Self, EncError> {
        use crate::keys::KeyKind;
        let kind = file.kind();
        if let crate::keys::PublicKey::Rsa(public) = file.public_key() {
            // RSA-OAEP with whichever RSA key imgtool loads (3072 bits
            // too), into the ENCRSA2048 TLV all the same
            return Self::new(&Recipient::Rsa2048(public), key_len, hmac, clear);
        }
        if !matches!(kind, KeyKind::EcdsaP384 | KeyKind::Ed25519) {
            let recipient = Recipient::from_key_file(file)?;
            return Self::new(&recipient, key_len, hmac, clear);
        }
        if imgtool_refuses_hmac(kind, hmac) {
            return Err(EncError::HmacSha512Unsupported(match kind {
                KeyKind::Ed25519 => "Ed25519",
                _ => "EC P-384",
            }));
        }
        let mut aes_key = Zeroizing::new(std::vec![0u8; key_len.bytes()]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut aes_key);
        Ok(Self {
            aes_key,
            key_len,
            tlv_kind: None,
            tlv_value: Vec::new(),
            clear,
        })
    }

    /// The wrapped-key TLV's kind; `None` when no TLV carries the key
    /// ([`Encryption::for_imgtool_key`]).
    #[must_use]
    pub fn tlv_kind(&self) -> Option<EncTlvKind> {
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
        let Some(tlv_kind) = self.tlv_kind else {
            // only made for the keys imgtool's own rule has paired
            return Ok(());
        };
        let paired = match signing {
            SignatureKind::EcdsaP256 => tlv_kind == EncTlvKind::Ec256,
            // imgtool has no P-384 encryption, so no encryption key matches.
            SignatureKind::EcdsaP384 => false,
            SignatureKind::Rsa2048 | SignatureKind::Rsa3072 => tlv_kind == EncTlvKind::Rsa2048,
            SignatureKind::Ed25519 => true,
        };
        if paired {
            Ok(())
        } else {
            Err(SignError::KeyPairing {
                signing,
                encryption: tlv_kind,
            })
        }
    }
}
