//! Key files as imgtool and espsecure read them: one lenient PEM scanner,
//! one DER loader and one OID table for every key type either tool takes.
//!
//! # Overview
//!
//! * [`KeyFile::from_pem`] reads a PEM file: any line width (OpenSSL's 64,
//!   the 76 of many HSM exports), CRLF, text around the blocks, an
//!   `EC PARAMETERS` block before the key; the first private key wins over
//!   public ones. [`KeyFile::from_der`] recognises DER by structure, and
//!   [`KeyFile::from_bytes`] takes either.
//! * Formats ([`KeyFormat`]): PKCS#8 (plain and password-encrypted, PBES2),
//!   PKCS#1 (RSA private and public), SEC1 (EC private),
//!   SubjectPublicKeyInfo.
//! * Key types ([`KeyKind`], [`PrivateKey`], [`PublicKey`]): RSA
//!   ([`RSA_BITS`]: 2048, 3072, 4096), ECDSA P-192, P-256, P-384, Ed25519
//!   and X25519, each held in its RustCrypto type. Secret material is
//!   zeroized on drop and never printed by `Debug`.
//! * Writers: [`PrivateKey::to_pkcs8_pem`] (optionally encrypted, what
//!   `imgtool keygen` writes), [`PrivateKey::to_traditional_pem`] (PKCS#1 or
//!   SEC1, what `espsecure generate-signing-key` writes),
//!   [`PublicKey::to_spki_pem`]; [`pem::encode`] for any DER.
//! * Errors ([`KeyFileError`]) are typed and never quote key material.
//!
//! This crate loads keys and never signs. Each tool turns a [`PrivateKey`]
//! into a RustCrypto signer (`p256::ecdsa::SigningKey`, `rsa::pss::…`) and
//! signs through the `signature` traits, so a key that lives in an HSM
//! plugs into the same path: it implements those traits and supplies its
//! [`PublicKey`], read with [`PublicKey::from_spki_der`] from the SPKI the
//! HSM exports. Which key types and sizes a tool accepts is the tool's
//! decision (imgtool: RSA-2048/3072, P-256, P-384, Ed25519, X25519; Secure
//! Boot V2: RSA-3072, P-192, P-256, P-384).
//!
//! # Example
//!
//! ```
//! use key_files::{KeyFile, KeyFileError, KeyKind, PrivateKey};
//!
//! // A P-256 key as imgtool writes it, then re-wrapped at 76 columns with
//! // CRLF line ends, as an HSM export might be.
//! let key = PrivateKey::generate(KeyKind::EcdsaP256)?;
//! let pem = key.to_pkcs8_pem(None)?;
//! let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
//! let mut wide = String::from("exported by an HSM\r\n-----BEGIN PRIVATE KEY-----\r\n");
//! for line in body.as_bytes().chunks(76) {
//!     wide.push_str(std::str::from_utf8(line)?);
//!     wide.push_str("\r\n");
//! }
//! wide.push_str("-----END PRIVATE KEY-----\r\n");
//!
//! let loaded = KeyFile::from_pem(wide.as_bytes(), None)?;
//! assert_eq!(loaded.kind(), KeyKind::EcdsaP256);
//! assert_eq!(loaded.public_key(), key.public_key());
//!
//! // Password-protected PKCS#8: typed errors tell the caller what to do.
//! let locked = key.to_pkcs8_pem(Some(b"secret"))?;
//! assert!(matches!(
//!     KeyFile::from_pem(locked.as_bytes(), None),
//!     Err(KeyFileError::PasswordRequired)
//! ));
//! assert!(KeyFile::from_pem(locked.as_bytes(), Some(b"secret"))?.is_private());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs, unreachable_pub)]

mod error;
mod explicit;
mod file;
mod kind;
mod legacy;
pub mod oid;
pub mod pem;
mod private;
mod public;
pub mod strict;

pub use error::KeyFileError;
pub use file::KeyFile;
pub use kind::{KeyFormat, KeyKind, RSA_BITS};
pub use private::PrivateKey;
pub use public::PublicKey;

/// A P-192 secret key: `p192` ships no alias like `p256::SecretKey`, so
/// this is the generic `elliptic-curve` type for its curve.
pub type P192SecretKey = p192::elliptic_curve::SecretKey<p192::NistP192>;
/// A P-192 public key (see [`P192SecretKey`]).
pub type P192PublicKey = p192::elliptic_curve::PublicKey<p192::NistP192>;

// Re-exported so users name exactly the versions this crate's types hold.
pub use {ed25519_dalek, p192, p256, p384, rsa, x25519_dalek};
