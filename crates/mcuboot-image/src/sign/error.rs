//! Why an image could not be signed, and what was only worth a warning.
//! Errors name the option they concern as a [`SignField`], never a
//! command-line flag: the caller maps fields to its own names.

use core::fmt;
use std::boxed::Box;

use crate::codec::tlv::{CustomTlvError, TlvWriteError};
use crate::enc::{EncError, EncTlvKind};
use crate::keys::KeyError;
use crate::{HashAlg, SignatureKind};

/// The option (or input) an error or warning concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignField {
    /// [`super::SignOptions::header_size`].
    HeaderSize,
    /// [`super::SignOptions::slot_size`].
    SlotSize,
    /// [`super::SignOptions::align`].
    Align,
    /// [`super::SignOptions::max_align`].
    MaxAlign,
    /// [`super::SignOptions::max_sectors`].
    MaxSectors,
    /// [`super::SignOptions::erased_val`].
    ErasedValue,
    /// [`super::SignOptions::load_address`].
    LoadAddress,
    /// [`super::SignOptions::signing`]: the hash choice.
    Hash,
    /// [`super::SignOptions::signing`]: pure signing.
    Pure,
    /// [`super::SignOptions::boot_record`].
    BootRecord,
    /// [`super::SignOptions::dependencies`].
    Dependencies,
    /// [`super::SignOptions::custom_tlvs`].
    CustomTlvs,
    /// [`super::SignOptions::vid`].
    Vid,
    /// [`super::SignOptions::cid`].
    Cid,
    /// The signer ([`super::ImageBuilder::signer`]).
    Signer,
    /// The encryption ([`super::ImageBuilder::encryption`]).
    Encryption,
    /// The input image.
    Input,
    /// The output image.
    Output,
}

/// An option's value, or a combination of options, that imgtool refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// The header size is below the 32-byte header.
    #[error("{0:#x} is below the minimum {IMAGE_HEADER_SIZE}", IMAGE_HEADER_SIZE = crate::IMAGE_HEADER_SIZE)]
    HeaderSizeTooSmall(u32),
    /// The header size does not fit the 16-bit `ih_hdr_size`.
    #[error("{0:#x} does not fit the 16-bit header field")]
    HeaderSizeTooLarge(u32),
    /// The write alignment is not 1, 2, 4, 8, 16 or 32.
    #[error("{0} is not one of 1, 2, 4, 8, 16, 32")]
    Align(u32),
    /// The maximum alignment is not 8, 16 or 32.
    #[error("{0} is not one of 8, 16, 32")]
    MaxAlign(u32),
    /// The erased value is neither 0 nor 0xff.
    #[error("{0:#x} is neither 0 nor 0xff")]
    ErasedValue(u8),
    /// A RAM load address and a fixed flash address together.
    #[error("a RAM load address and a fixed flash address cannot be used together")]
    LoadAddressConflict,
    /// Pure signing with an explicit hash choice.
    #[error("pure signing fixes the hash algorithm; it cannot be chosen as well")]
    PureWithHash,
    /// Pure signing with a key type that cannot make pure signatures.
    #[error("an {0} key cannot make pure signatures (only ed25519)")]
    PureNeedsEd25519(SignatureKind),
    /// A hash algorithm the key type does not allow (`ALLOWED_KEY_SHA`).
    #[error("{hash} is not allowed with an {key} key (allowed: {allowed})", allowed = HashList(allowed))]
    HashNotAllowed {
        /// The chosen hash.
        hash: HashAlg,
        /// The signing key's type.
        key: SignatureKind,
        /// What the key type allows.
        allowed: &'static [HashAlg],
    },
    /// The boot record's software type is too long.
    #[error("the software type has {chars} characters; at most {max}", max = super::MAX_SW_TYPE_LENGTH)]
    BootRecordTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// A custom TLV type outside the custom range.
    #[error(transparent)]
    CustomTlvType(#[from] CustomTlvError),
    /// The same custom TLV type twice.
    #[error("custom TLV {0:#x} already exists")]
    DuplicateCustomTlv(u16),
    /// A custom TLV value longer than a TLV holds.
    #[error("the value of TLV {kind:#x} is {len} bytes; a TLV holds at most 65535")]
    CustomTlvTooLong {
        /// The TLV type.
        kind: u16,
        /// The value's length.
        len: usize,
    },
    /// A custom TLV value given as `0x…` with an odd number of characters
    /// after the prefix (imgtool's "Custom TLV length is odd.").
    #[error("the value has an odd number of hex digits after 0x")]
    CustomTlvOdd,
    /// A custom TLV value given as `0x…` that Python's `bytes.fromhex`
    /// refuses: the character at `position` (counted after `0x`; the end
    /// of the text when a byte's second digit is missing) is not a hex
    /// digit where one is expected.
    #[error("character {position} after 0x is not a hex digit (pairs of hex digits, blanks between pairs)")]
    CustomTlvHex {
        /// Where, in characters after the `0x`.
        position: usize,
    },
    /// A dependency list imgtool cannot read.
    #[error(transparent)]
    Dependencies(#[from] super::protected::DependencyError),
    /// A vendor UUID imgtool cannot read.
    #[error(transparent)]
    Vid(super::protected::UuidError),
    /// A class UUID imgtool cannot read.
    #[error(transparent)]
    Cid(super::protected::UuidError),
}

impl OptionError {
    /// The option this error concerns.
    #[must_use]
    pub const fn field(&self) -> SignField {
        match self {
            Self::HeaderSizeTooSmall(_) | Self::HeaderSizeTooLarge(_) => SignField::HeaderSize,
            Self::Align(_) => SignField::Align,
            Self::MaxAlign(_) => SignField::MaxAlign,
            Self::ErasedValue(_) => SignField::ErasedValue,
            Self::LoadAddressConflict => SignField::LoadAddress,
            Self::PureWithHash | Self::PureNeedsEd25519(_) => SignField::Pure,
            Self::HashNotAllowed { .. } => SignField::Hash,
            Self::BootRecordTooLong { .. } => SignField::BootRecord,
            Self::CustomTlvType(_)
            | Self::DuplicateCustomTlv(_)
            | Self::CustomTlvTooLong { .. }
            | Self::CustomTlvOdd
            | Self::CustomTlvHex { .. } => SignField::CustomTlvs,
            Self::Dependencies(_) => SignField::Dependencies,
            Self::Vid(_) => SignField::Vid,
            Self::Cid(_) => SignField::Cid,
        }
    }
}

/// `a, b` for a list of hash names.
struct HashList(&'static [HashAlg]);

impl fmt::Display for HashList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, h) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(h.name())?;
        }
        Ok(())
    }
}

/// Which trailer the slot must hold besides the image ([`SignError::TooLarge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrailerRule {
    /// A swap trailer with status records for this many sectors of this
    /// write size.
    Swap {
        /// `BOOT_MAX_IMG_SECTORS`.
        max_sectors: u32,
        /// The write alignment.
        align: u32,
    },
    /// Overwrite-only: the bootloader reserves `4 * max_align + magic`
    /// (its `boot_trailer_info_sz`), not imgtool's `2 * max_align + magic`.
    OverwriteOnly,
}

impl fmt::Display for TrailerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Swap { max_sectors, align } => write!(
                f,
                "swap status for {max_sectors} sectors at write alignment {align}"
            ),
            Self::OverwriteOnly => f.write_str(
                "overwrite-only: the bootloader reserves 4*max-align + magic for its trailer",
            ),
        }
    }
}

/// Why an image could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// An option's value or a combination of options.
    #[error(transparent)]
    Option(#[from] OptionError),
    /// The input does not start with `header_size` zero bytes (and the
    /// header area was not to be prepended).
    #[error("the first {0:#x} bytes of the input (the header area) are not zero")]
    HeaderNotZero(u32),
    /// The input is shorter than the header area it should contain.
    #[error("the input ({len:#x} bytes) is shorter than the header size {header:#x}")]
    InputTooShort {
        /// Input length.
        len: u64,
        /// Header size.
        header: u32,
    },
    /// The image and its trailer do not fit the slot.
    #[error("image size ({image:#x}) + trailer ({trailer:#x}) exceeds the slot size {slot:#x} by {excess:#x} bytes ({rule})", excess = image + trailer - slot)]
    TooLarge {
        /// Image length with its TLVs.
        image: u64,
        /// Trailer size.
        trailer: u64,
        /// Slot size.
        slot: u64,
        /// Which trailer was assumed.
        rule: TrailerRule,
    },
    /// The payload is too large for the 32-bit `ih_img_size`.
    #[error("the payload ({0:#x} bytes) does not fit the 32-bit image size field")]
    ImageTooLarge(u64),
    /// A TLV or TLV area does not fit its length field.
    #[error(transparent)]
    Tlv(#[from] TlvWriteError),
    /// A key that cannot sign (X25519 is for encryption).
    #[error("an x25519 key cannot sign (it is for encryption)")]
    CannotSign,
    /// The signer failed.
    #[error("signing failed")]
    Signature(#[source] signature::Error),
    /// The signer's public key could not be encoded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Wrapping the image key or encrypting the payload failed.
    #[error(transparent)]
    Encryption(#[from] EncError),
    /// imgtool's rule: an EC or RSA signing key needs an encryption key of
    /// the same type.
    #[error("an {encryption} encryption key cannot be combined with an {signing} signing key (imgtool requires the same key type)")]
    KeyPairing {
        /// The signing key's type.
        signing: SignatureKind,
        /// The encryption TLV the other key makes.
        encryption: EncTlvKind,
    },
    /// liblzma refused to compress (`--compression`).
    #[error("cannot compress the payload")]
    Compress(#[source] liblzma::stream::Error),
    /// The input could not be read.
    #[error("cannot read the input")]
    ReadInput(#[source] std::io::Error),
    /// The input ended before the length announced for it, or went on
    /// after it.
    #[error("the input changed while it was read")]
    InputChanged,
    /// The output could not be written.
    #[error("cannot write the output")]
    WriteOutput(#[source] std::io::Error),
    /// An Intel HEX output without an address: the input had none and none
    /// was given.
    #[error("an Intel HEX output needs an address and the input has none")]
    HexAddressRequired,
    /// The slot placed at the Intel HEX output's address ends past 4 GiB,
    /// where an extended address record cannot reach.
    #[error("the Intel HEX output would reach past 4 GiB")]
    HexPastFourGiB(#[source] crate::hexfile::UpperAddressOverflow),
    /// The compressed image, the second build of
    /// [`super::sign_compressed`], failed after the first was built and
    /// its payload compressed (imgtool has printed `report` by then).
    #[error("{error}")]
    Compressed {
        /// The compression that was decided on.
        report: super::CompressionReport,
        /// Why the second build failed.
        error: Box<SignError>,
    },
}

impl SignError {
    /// The option or input this error concerns, if one.
    #[must_use]
    pub fn field(&self) -> Option<SignField> {
        Some(match self {
            Self::Option(e) => e.field(),
            Self::HeaderNotZero(_) | Self::InputTooShort { .. } => SignField::HeaderSize,
            Self::TooLarge { .. } => SignField::SlotSize,
            Self::CannotSign | Self::Signature(_) | Self::Key(_) => SignField::Signer,
            Self::Encryption(_) | Self::KeyPairing { .. } => SignField::Encryption,
            Self::ReadInput(_)
            | Self::Compress(_)
            | Self::InputChanged
            | Self::ImageTooLarge(_) => SignField::Input,
            Self::WriteOutput(_) | Self::HexAddressRequired | Self::HexPastFourGiB(_) => {
                SignField::Output
            }
            Self::Tlv(TlvWriteError::AreaTooLong { .. }) => SignField::CustomTlvs,
            Self::Compressed { error, .. } => return error.field(),
            Self::Tlv(_) => return None,
        })
    }
}

/// Something worth telling that does not stop signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignWarning {
    /// The image fits the slot only with imgtool's default sector count:
    /// the Espressif port's 512 sectors need a larger trailer.
    EspressifSectorCount {
        /// Image length with its TLVs.
        image: u64,
        /// The trailer with the Espressif sector count.
        trailer: u64,
        /// Slot size.
        slot: u64,
    },
}

impl fmt::Display for SignWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EspressifSectorCount {
                image,
                trailer,
                slot,
            } => write!(
                f,
                "image size ({image:#x}) + trailer ({trailer:#x}) exceeds the slot size {slot:#x} \
                 with {esp} sectors (the Espressif port's count); it fits only with the default \
                 {default}",
                esp = crate::codec::trailer::ESPRESSIF_MAX_SECTORS,
                default = crate::codec::trailer::DEFAULT_MAX_SECTORS,
            ),
        }
    }
}
