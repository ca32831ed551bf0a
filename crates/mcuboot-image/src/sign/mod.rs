//! Building and signing images the way imgtool 2.5.0 does
//! (`imgtool/image.py` `Image.create`, `pad_to`, `_trailer_size`;
//! reference/mcuboot.md §1, §2.4). Outputs are byte-identical to imgtool's
//! for deterministic signatures (Ed25519) and unsigned images.
//!
//! One path from options to bytes:
//! 1. [`SignOptions`] ([`options`](self::SignOptions)): typed choices
//!    ([`Trailer`], [`Signing`], [`HashChoice`], [`LoadAddress`],
//!    [`PublicKeyFormat`], [`SecurityCounter`], [`VectorToSign`]) and the
//!    [protected TLVs](CustomTlvs) in imgtool's text forms
//!    ([`parse_dependencies`], [`parse_vid_cid`], [`custom_tlv_value`]);
//! 2. a signer: [`ImageSigner`] (prehash, every scheme) with an optional
//!    [`PureImageSigner`] (Ed25519), implemented over the RustCrypto
//!    `signature` traits by [`Ed25519Signer`], [`EcdsaP256Signer`],
//!    [`EcdsaP384Signer`], [`RsaPssSigner`] (so a key file, an HSM or a
//!    KMS plug in alike), [`KeySigner`] for key files and [`FixedSigner`]
//!    for `--fix-sig`; an optional [`Encryption`];
//! 3. [`ImageBuilder::build`] from an [`Input`] → [`BuiltImage`] (header and
//!    protected TLVs known);
//! 4. [`BuiltImage::write_to`] an [`OutputFormat`] → [`SignedImage`]: the
//!    only writer, streaming large binaries with reading, hashing and
//!    writing overlapped, padding to the slot, or writing Intel HEX.
//!
//! Errors ([`SignError`], [`OptionError`]) name the option they concern as
//! a [`SignField`], so a command line can name its own flag.
//!
//! ```
//! use mcuboot_image::keys::{KeyType, McubootKey as _, PrivateKey};
//! use mcuboot_image::sign::{ImageBuilder, Input, KeySigner, OutputFormat, SignOptions};
//! use mcuboot_image::{validate, HashAlg, ImageHeader, SignatureKind, ValidateOptions};
//!
//! let key = PrivateKey::generate(KeyType::Ed25519)?;
//! let embedded = key.public_key().embedded_der()?;
//! let signer = KeySigner::new(key, false)?;
//!
//! let mut opts = SignOptions::new("1.0.0".parse()?, 0x20, 0x1_0000);
//! opts.pad_header = true;
//! let mut image = Vec::new();
//! ImageBuilder::new(&opts)
//!     .signer(Some(&signer))
//!     .build(Input::Bytes { data: b"application".to_vec(), address: None })?
//!     .write_to(&mut image, OutputFormat::Binary)?;
//!
//! let hdr = ImageHeader::parse(&image)?;
//! let check = ValidateOptions::new(HashAlg::Sha256).with_signature(SignatureKind::Ed25519);
//! validate(&mut &image[..], &hdr, &[&embedded], &check)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod build;
mod compress;
mod encryption;
mod error;
mod imgtool_save;
mod options;
mod protected;
mod signer;
mod stream;
mod write;

pub use build::{BuiltImage, ImageBuilder, Input};
pub use compress::{sign_compressed, Compression, CompressionReport};
pub use encryption::{imgtool_refuses_hmac, Encryption};
pub use error::{OptionError, SignError, SignField, SignWarning, TrailerRule};
pub use imgtool_save::{imgtool_save, ImgtoolLayout, SaveRefusal, Saved};
pub use options::{
    HashChoice, LoadAddress, PublicKeyFormat, SecurityCounter, SignOptions, Signing, SlotCheck,
    Trailer, VectorToSign, MAX_SW_TYPE_LENGTH,
};
pub use protected::{
    boot_record, custom_tlv_value, parse_dependencies, parse_dependency_parts, parse_uuid,
    parse_vid_cid, protected_area_size, CustomTlvs, DependencyError, DependencyParts, UuidError,
};
pub use signer::{
    allowed_hashes, select_hash, EcdsaP256Signer, EcdsaP384Signer, Ed25519Signer, FixedSigner,
    ImageSigner, KeySigner, PureImageSigner, RsaPssSigner,
};
pub use write::{OutputFormat, SignedImage};

#[cfg(feature = "pkcs11")]
mod token;
#[cfg(feature = "pkcs11")]
pub use token::TokenSigner;

#[cfg(test)]
mod tests;
