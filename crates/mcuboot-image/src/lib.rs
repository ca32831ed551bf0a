//! MCUboot image format: header and TLV codec, and validation as the
//! bootloader does it, all `no_std` and allocation-free (RSA aside); behind
//! the `std` feature, building and signing images the way imgtool does.
//!
//! Principal items:
//! - [`codec`]: the on-flash formats, decoded and encoded in one place:
//!   [`ImageHeader`] (32 bytes), [`ImageFlags`], [`ImageVersion`]
//!   (`maj.min.rev+build`, imgtool's parsing rules); [`TlvKind`] (every
//!   `IMAGE_TLV_*` type), [`TlvIter`] (mirrors `boot/bootutil/src/tlv.c`),
//!   [`SliceTlvs`] for in-memory images, [`codec::tlv::TlvWriter`];
//!   [`Dependency`]; the slot trailer ([`codec::trailer`]: boot magic,
//!   flags, [`codec::trailer::TrailerLayout`]), shared by the signer and
//!   the boot core;
//! - [`ImageSource`]: random-access reads from flash, a file or a slice;
//! - [`validate`] with [`ValidateOptions`]: hash, key lookup, signature
//!   (Ed25519 incl. pure, ECDSA P-256/P-384, RSA-2048/3072 PSS with the
//!   `rsa` feature), TLV allow-list; [`security_counter`], [`Dependencies`].
//!
//! Host side (`std` feature, default):
//! - [`keys`]: imgtool's key rules on top of the shared `key-files` loader
//!   (PEM of any line width; PKCS#8 incl. encrypted, PKCS#1, SEC1, SPKI),
//!   the embedded public key bytes, `getpub`/`getpriv` encodings;
//! - [`sign`]: `imgtool sign`: [`sign::SignOptions`] →
//!   [`sign::ImageBuilder`] → [`sign::BuiltImage::write_to`], with every
//!   signer behind [`sign::ImageSigner`] (key file, HSM, `--fix-sig`);
//! - [`enc`]: image encryption (key wrapping, AES-CTR, decryption);
//! - [`hexfile`]: Intel HEX exactly as imgtool's `intelhex` writes it.
//!
//! Features: `alloc`, `rsa` (RSA-PSS verification; needs `alloc`), `std`
//! (default; everything host-side).
//!
//! ```
//! use mcuboot_image::{ImageHeader, ImageVersion, SliceTlvs, TlvKind, IMAGE_MAGIC};
//!
//! // A minimal unsigned image: header, 4 payload bytes, an empty TLV area.
//! let hdr = ImageHeader {
//!     magic: IMAGE_MAGIC,
//!     hdr_size: 32,
//!     img_size: 4,
//!     version: "1.2.3+4".parse::<ImageVersion>()?,
//!     ..ImageHeader::default()
//! };
//! let mut image = hdr.to_bytes().to_vec();
//! image.extend_from_slice(&[1, 2, 3, 4]);
//! image.extend_from_slice(&[0x07, 0x69, 4, 0]); // unprotected info, tot = 4
//!
//! let parsed = ImageHeader::parse(&image)?;
//! assert_eq!(parsed.version.to_string(), "1.2.3+4");
//! assert_eq!(SliceTlvs::new(&image, &parsed)?.count(), 0);
//! assert_eq!(TlvKind::from_code(0x10), TlvKind::Sha256);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, unreachable_pub)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod codec;
mod source;
mod verify;

pub use codec::dependency::Dependency;
pub use codec::header::{
    HeaderError, ImageFlags, ImageHeader, ReadHeaderError, IMAGE_HEADER_SIZE, IMAGE_MAGIC,
    IMAGE_MAGIC_V1,
};
pub use codec::tlv::{
    find_protected, SliceTlvs, TlvEntry, TlvError, TlvIter, TlvKind, TLV_HEADER_SIZE,
    TLV_INFO_MAGIC, TLV_PROT_INFO_MAGIC,
};
pub use codec::version::{version_parts, ImageVersion, VersionError, VersionField};
#[cfg(feature = "std")]
pub use source::IoSource;
pub use source::{ImageSource, OutOfBounds};
pub use verify::{
    allowed_unprotected, ed25519_key_from_spki, image_hash, security_counter, validate,
    Dependencies, Digest, HashAlg, Hasher, SignatureKind, ValidateError, ValidateOptions,
    Validated,
};

#[cfg(feature = "std")]
pub mod enc;
/// Intel HEX exactly as imgtool's `intelhex` writes it (the shared
/// `intel-hex` crate).
#[cfg(feature = "std")]
pub use intel_hex as hexfile;
#[cfg(feature = "std")]
pub mod imgtool_verify;
#[cfg(feature = "std")]
pub mod keys;
#[cfg(feature = "std")]
pub mod sign;
