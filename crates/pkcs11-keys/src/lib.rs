//! Signing keys held in a PKCS#11 token (an HSM, a smart card, SoftHSM2),
//! behind the same RustCrypto `signature` traits as key files.
//!
//! The private key never leaves the token: the host hashes, the token
//! signs the digest (or, for Ed25519, the message) and returns the
//! signature, which is checked against the token's public key before use.
//!
//! - **Finding a key.** A [`KeyLocator`] names the vendor's module (shared
//!   library), the token ([`TokenSelector`]: label, serial, slot id, …), the
//!   key objects ([`ObjectSelector`]: `CKA_LABEL` and/or `CKA_ID`) and the
//!   user [`Pin`] (zeroized, never printed). It comes from an RFC 7512 URI
//!   ([`Pkcs11Uri`]: `pkcs11:token=…;object=…?module-path=…&pin-source=…`)
//!   or from espsecure's `--hsm-config` file ([`HsmConfig`]).
//! - **Opening it.** [`Pkcs11Key::open`] loads the module (once per
//!   process), picks the token, logs in, finds the private key and reads
//!   its public key ([`PublicKey`], the RustCrypto type; SPKI DER through
//!   `spki::EncodePublicKey`). [`read_public_key`] reads only the public
//!   key (espsecure's `verify-signature --hsm`). [`Pkcs11Key::generate`]
//!   makes a new key pair inside the token.
//! - **Signing.** [`TypedKey`] turns it into the signer its
//!   [`KeyAlgorithm`] calls for:
//!   - [`RsaPssKey`]: `CKM_RSA_PKCS_PSS` (SHA-256, MGF1-SHA-256, salt 32,
//!     as espsecure and imgtool sign) → `PrehashSigner` /
//!     `RandomizedPrehashSigner<rsa::pss::Signature>`, for Secure Boot V2
//!     (RSA-3072) and MCUboot (RSA-2048/3072);
//!   - [`EcdsaKey`]: `CKM_ECDSA` over a digest → `PrehashSigner<
//!     ecdsa::Signature<C>>` for P-192, P-256 and P-384;
//!   - [`Ed25519Key`]: `CKM_EDDSA` → `Signer<ed25519::Signature>`.
//!
//! Errors are typed ([`Pkcs11Error`], [`UriError`], [`HsmConfigError`]) and
//! name the module, token and object, never the PIN.
//!
//! # Examples
//!
//! A URI and an espsecure `--hsm-config` naming the same key resolve to
//! the same locator; messages show the URI without its PIN:
//!
//! ```
//! use pkcs11_keys::{HsmConfig, ObjectSelector, Pkcs11Uri, TokenSelector, UriError};
//!
//! let uri: Pkcs11Uri = "pkcs11:slot-id=1108821954;object=sbv2-key\
//!     ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234"
//!     .parse()?;
//! let from_uri = uri.locator(None)?;
//! let config = HsmConfig::parse(
//!     "[hsm_config]\n\
//!      pkcs11_lib = /usr/lib/softhsm/libsofthsm2.so\n\
//!      credentials = 1234\n\
//!      slot = 1108821954\n\
//!      label = sbv2-key\n",
//! )?;
//! let from_config = config.locator();
//! assert_eq!(from_uri.module, from_config.module);
//! assert_eq!(from_uri.token, TokenSelector::with_slot_id(1108821954));
//! assert_eq!(from_uri.token, from_config.token);
//! assert_eq!(from_config.key, ObjectSelector::with_label("sbv2-key"));
//! assert_eq!(
//!     from_uri.to_string(),
//!     "pkcs11:slot-id=1108821954;object=sbv2-key?module-path=/usr/lib/softhsm/libsofthsm2.so"
//! );
//! assert!(matches!(
//!     "pkcs11:objcet=sbv2-key".parse::<Pkcs11Uri>(),
//!     Err(UriError::UnknownAttribute { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sign a Secure Boot V2 image digest with a token-held P-256 key (the
//! module, token and key are those of the reader's HSM):
//!
//! ```no_run
//! use pkcs11_keys::{Pkcs11Key, Pkcs11Uri, TypedKey};
//! use sha2::{Digest, Sha256};
//! use signature::hazmat::{PrehashSigner, PrehashVerifier};
//! use signature::Keypair;
//!
//! let uri: Pkcs11Uri = "pkcs11:token=factory;object=secure-boot-0\
//!     ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/hsm-pin"
//!     .parse()?;
//! let key = Pkcs11Key::open(&uri.locator(None)?)?;
//! println!("{} key on token {}", key.algorithm(), key.token_label());
//!
//! let digest = Sha256::digest(b"the image, padded to 4 KiB");
//! match TypedKey::from(key) {
//!     TypedKey::EcdsaP256(signer) => {
//!         let signature: p256::ecdsa::Signature = signer.sign_prehash(&digest)?;
//!         signer.verifying_key().verify_prehash(&digest, &signature)?;
//!     }
//!     other => println!("not a P-256 key: {}", other.key().algorithm()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs, unreachable_pub)]

mod error;
mod generate;
mod hsm_config;
mod key;
mod locator;
mod module;
mod pin;
mod public_key;
mod signers;
mod uri;

pub use error::{KeyClass, Pkcs11Error};
pub use hsm_config::{
    HsmConfig, HsmConfigError, HsmConfigFile, HsmUse, InterpolationProblem, Secret,
};
pub use key::{
    read_public_key, read_public_key_uri, slots_with_token, Pkcs11Key, RSA_PSS_SALT_LEN,
};
pub use locator::{KeyLocator, ObjectSelector, TokenSelector};
pub use pin::{Pin, PinFileError};
pub use public_key::{KeyAlgorithm, P192PublicKey, PublicKey};
pub use signers::{EcdsaKey, Ed25519Key, RsaPssKey, TypedKey};
pub use uri::{redact_pin, ObjectType, PinSpec, Pkcs11Uri, UriError};

/// The `cryptoki` crate this one is built on (its `RvError` appears in
/// [`Pkcs11Error`]).
pub use cryptoki;
