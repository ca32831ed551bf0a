//! [`KeyFile`]: what a key file holds, and the one loader for PEM and DER.

use crate::pem::{self, PemBlock};
use crate::{KeyFileError, KeyFormat, KeyKind, PrivateKey, PublicKey};

/// What a key file holds: a key pair or a public key.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum KeyFile {
    /// A private key (and so its public half).
    Private(PrivateKey),
    /// A public key only.
    Public(PublicKey),
}

impl KeyFile {
    /// Reads a PEM key file the way OpenSSL-based tools (imgtool,
    /// espsecure) do:
    ///
    /// * any line width, CRLF or LF, text before, between and after blocks;
    /// * the first private key block wins (`PRIVATE KEY`, `ENCRYPTED
    ///   PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`), else the first
    ///   public one (`PUBLIC KEY`, `RSA PUBLIC KEY`); other blocks, such as
    ///   the `EC PARAMETERS` that `openssl ecparam -genkey` writes first,
    ///   are skipped;
    /// * an encrypted key (PKCS#8, or OpenSSL's legacy PEM encryption)
    ///   needs `password`; a password given for an unencrypted key is
    ///   ignored.
    ///
    /// # Errors
    /// [`KeyFileError::NotPem`] without any block,
    /// [`KeyFileError::NoKeyBlock`] when no block is a key,
    /// [`KeyFileError::PasswordRequired`] / [`KeyFileError::WrongPassword`]
    /// for encrypted keys, others for malformed or unsupported keys.
    pub fn from_pem(input: &[u8], password: Option<&[u8]>) -> Result<Self, KeyFileError> {
        let mut first_label = None;
        let mut first_public: Option<(PemBlock<'_>, KeyFormat)> = None;
        for block in pem::blocks(input) {
            let block = block?;
            first_label.get_or_insert(block.label());
            match block.format() {
                Some(format) if format.is_private() => {
                    let der = block.decode_with(password)?;
                    return Self::from_der_as(&der, format, password).map_err(|e| match e {
                        // A wrong password passes the CBC padding check
                        // about once in 256 tries; the garbage then fails
                        // to parse.
                        KeyFileError::Malformed { .. } if block.is_legacy_encrypted() => {
                            KeyFileError::WrongPassword
                        }
                        other => other,
                    });
                }
                Some(format) => {
                    first_public.get_or_insert((block, format));
                }
                None => {}
            }
        }
        if let Some((block, format)) = first_public {
            return Self::from_der_as(&block.decode()?, format, password);
        }
        Err(match first_label {
            Some(label) => KeyFileError::NoKeyBlock {
                label: label.to_owned(),
            },
            None => KeyFileError::NotPem {
                prefix: pem::harmless_prefix(input),
            },
        })
    }

    /// Reads a PEM file's first block as a public key (`PUBLIC KEY` or
    /// `RSA PUBLIC KEY`), as cryptography's `load_pem_public_key` does: a
    /// public key block after another block is not looked for.
    ///
    /// # Errors
    /// [`KeyFileError::NoKeyBlock`] when the first block is no public
    /// key, [`KeyFileError::NotPem`] without a block, else as
    /// [`Self::from_pem`].
    pub fn public_from_pem(input: &[u8]) -> Result<Self, KeyFileError> {
        let Some(block) = pem::blocks(input).next() else {
            return Err(KeyFileError::NotPem {
                prefix: pem::harmless_prefix(input),
            });
        };
        let block = block?;
        match block.format().filter(|f| !f.is_private()) {
            Some(format) => Self::from_der_as(&block.decode()?, format, None),
            None => Err(KeyFileError::NoKeyBlock {
                label: block.label().to_owned(),
            }),
        }
    }

    /// Reads DER bytes in `format`.
    ///
    /// # Errors
    /// As [`Self::from_pem`].
    pub fn from_der_as(
        der: &[u8],
        format: KeyFormat,
        password: Option<&[u8]>,
    ) -> Result<Self, KeyFileError> {
        // a P-256 or P-384 key with its curve spelled out loads as that
        // curve's, as OpenSSL loads it
        let named = match format {
            KeyFormat::Pkcs8 | KeyFormat::Sec1 | KeyFormat::Spki => {
                crate::explicit::with_named_curves(der)
            }
            _ => None,
        };
        let der = named.as_deref().unwrap_or(der);
        Ok(match format {
            KeyFormat::Pkcs8 => Self::Private(PrivateKey::from_pkcs8_der(der)?),
            KeyFormat::EncryptedPkcs8 => {
                let password = password.ok_or(KeyFileError::PasswordRequired)?;
                Self::Private(PrivateKey::from_encrypted_pkcs8_der(der, password)?)
            }
            KeyFormat::Pkcs1 => Self::Private(PrivateKey::from_pkcs1_der(der)?),
            KeyFormat::Sec1 => Self::Private(PrivateKey::from_sec1_der(der)?),
            KeyFormat::Spki => Self::Public(PublicKey::from_spki_der(der)?),
            KeyFormat::Pkcs1Public => Self::Public(PublicKey::from_pkcs1_der(der)?),
        })
    }

    /// Reads DER bytes of any format, recognised by structure: PKCS#8
    /// (plain or encrypted), SubjectPublicKeyInfo, PKCS#1 (private or
    /// public) or SEC1. The first structure that parses decides; its
    /// errors are returned as they are.
    ///
    /// # Errors
    /// [`KeyFileError::NotDer`] when no structure parses, else as
    /// [`Self::from_pem`].
    pub fn from_der(der: &[u8], password: Option<&[u8]>) -> Result<Self, KeyFileError> {
        let format = sniff_der(der).ok_or(KeyFileError::NotDer)?;
        Self::from_der_as(der, format, password)
    }

    /// Reads a key file in PEM or DER: PEM when the bytes contain a
    /// `-----BEGIN ` line, else DER.
    ///
    /// # Errors
    /// As [`Self::from_pem`] and [`Self::from_der`].
    pub fn from_bytes(input: &[u8], password: Option<&[u8]>) -> Result<Self, KeyFileError> {
        if pem::blocks(input).next().is_some() {
            Self::from_pem(input, password)
        } else {
            Self::from_der(input, password).map_err(|e| match e {
                KeyFileError::NotDer => KeyFileError::NotPem {
                    prefix: pem::harmless_prefix(input),
                },
                other => other,
            })
        }
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Private(k) => k.public_key(),
            Self::Public(k) => k.clone(),
        }
    }

    /// The key's type.
    #[must_use]
    pub fn kind(&self) -> KeyKind {
        match self {
            Self::Private(k) => k.kind(),
            Self::Public(k) => k.kind(),
        }
    }

    /// True when the file holds a private key.
    #[must_use]
    pub fn is_private(&self) -> bool {
        matches!(self, Self::Private(_))
    }

    /// The private key.
    ///
    /// # Errors
    /// [`KeyFileError::PublicKeyOnly`] for a public key file.
    pub fn into_private(self) -> Result<PrivateKey, KeyFileError> {
        match self {
            Self::Private(k) => Ok(k),
            Self::Public(_) => Err(KeyFileError::PublicKeyOnly),
        }
    }
}

impl From<PrivateKey> for KeyFile {
    fn from(key: PrivateKey) -> Self {
        Self::Private(key)
    }
}

impl From<PublicKey> for KeyFile {
    fn from(key: PublicKey) -> Self {
        Self::Public(key)
    }
}

/// Which DER structure `der` is, by parsing each in turn (they differ in
/// their first fields, so at most one parses).
pub(crate) fn sniff_der(der: &[u8]) -> Option<KeyFormat> {
    use der::Decode;
    let parses = |format: KeyFormat| match format {
        KeyFormat::Pkcs8 => pkcs8::PrivateKeyInfo::from_der(der).is_ok(),
        KeyFormat::EncryptedPkcs8 => pkcs8::EncryptedPrivateKeyInfo::from_der(der).is_ok(),
        KeyFormat::Spki => spki::SubjectPublicKeyInfoRef::from_der(der).is_ok(),
        KeyFormat::Pkcs1 => rsa::pkcs1::RsaPrivateKey::from_der(der).is_ok(),
        KeyFormat::Pkcs1Public => rsa::pkcs1::RsaPublicKey::from_der(der).is_ok(),
        KeyFormat::Sec1 => sec1::EcPrivateKey::from_der(der).is_ok(),
    };
    KeyFormat::ALL.into_iter().find(|&f| parses(f))
}
