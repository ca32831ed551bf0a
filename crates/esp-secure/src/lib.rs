//! Espressif host security: Secure Boot V2 signature blocks and flash
//! encryption, byte-compatible with espsecure (esptool 5.6.0).
//!
//! # Overview
//!
//! * [`sbv2`]: Secure Boot V2.
//!   - [`sbv2::SigningKey`] / [`sbv2::PublicKey`]: RSA-3072 and ECDSA
//!     P-192/P-256/P-384 keys, read from the PEM files espsecure reads and
//!     writes through the shared `key-files` loader (`TryFrom<KeyFile>`
//!     applies Secure Boot V2's rules). [`sbv2::PublicKey::digest`] is the
//!     32-byte key digest burned into eFuse.
//!   - [`sbv2::SignatureBlock`]: the 1216-byte block codec (bounded,
//!     CRC-checked parsing with typed [`sbv2::BlockError`]s).
//!   - [`sbv2::sign_image`] with any [`sbv2::Sbv2Signer`] (key files,
//!     pre-calculated signatures, HSMs through the RustCrypto `signature`
//!     traits), [`sbv2::verify_image`] / [`sbv2::verify_blocks`] (per-slot
//!     outcomes, as espsecure reports them), [`sbv2::signature_info`], and
//!     [`sbv2::verify_with_digests`], the ROM's check against eFuse digests.
//! * [`sbv1`]: Secure Boot V1 (ESP32): the appended ECDSA P-256 signature,
//!   the private key digest and the digested bootloader.
//! * [`sdc`]: Secure Debug Controller certificates and the SDC key digest.
//! * [`flash_encryption`]: [`flash_encryption::Esp32FlashCrypt`] (ESP32
//!   AES-256 with address key tweak) and [`flash_encryption::XtsFlashCrypt`]
//!   (XTS-AES-128/256), both through the [`flash_encryption::FlashCrypt`]
//!   trait: in place on aligned chunks, or streamed in constant memory.
//!
//! # Example
//!
//! ```
//! use esp_secure::sbv2::{self, SignOptions, SigningKey, SigningScheme};
//! use esp_secure::flash_encryption::{FlashCrypt, FlashEncryptionKey, XtsFlashCrypt};
//!
//! // Sign an application image and check it as the ROM would.
//! let key = SigningKey::generate(SigningScheme::Ecdsa256)?;
//! let app = vec![0xA5u8; 10_000];
//! let signed = sbv2::sign_image(&app, &[&key], SignOptions::default())?;
//! assert_eq!(signed.bytes.len(), 12_288 + 4096);
//! let efuse_digest = key.public_key().digest();
//! assert_eq!(sbv2::verify_with_digests(&signed.bytes, &[efuse_digest])?, 0);
//!
//! // Encrypt it for flash offset 0x10000 with a 256-bit XTS-AES key.
//! let fe_key = FlashEncryptionKey::from_bytes(&[0x11; 32]);
//! let crypt = XtsFlashCrypt::new(&fe_key)?;
//! let mut flash = signed.bytes.clone();
//! crypt.encrypt(0x10000, &mut flash)?;
//! crypt.decrypt(0x10000, &mut flash)?;
//! assert_eq!(flash, signed.bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod flash_encryption;
mod keys;
pub mod sbv1;
pub mod sbv2;
pub mod sdc;
