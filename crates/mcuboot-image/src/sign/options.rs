//! What shapes a signed image: [`SignOptions`] and its typed parts, and
//! the slot arithmetic imgtool derives from them (`image.py`
//! `_trailer_size`, `check_trailer`).

use std::string::String;
use std::vec::Vec;

use super::error::OptionError;
use super::protected::CustomTlvs;
use crate::codec::header::{ImageFlags, IMAGE_HEADER_SIZE};
use crate::codec::trailer::{TrailerLayout, DEFAULT_MAX_ALIGN, DEFAULT_MAX_SECTORS};
use crate::{Dependency, HashAlg, ImageVersion};

/// How the slot-size check counts an overwrite-only trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlotCheck {
    /// As the bootloader reserves it (`boot_trailer_info_sz`: four
    /// alignments and the magic, and the encryption keys), so that an
    /// image that passes also boots.
    #[default]
    Bootloader,
    /// As imgtool's `check_trailer` counts it (`_trailer_size`: two
    /// alignments and the aligned magic), which lets through images a
    /// bootloader's trailer would overlap.
    Imgtool,
}

/// What is written after the image when it is padded to the slot
/// (`--pad`, `--test`, `--confirm`; `image.py` `pad_to`, `save`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trailer {
    /// No padding: the image ends with its TLVs.
    #[default]
    None,
    /// `--pad`: erased bytes to the slot end, then the boot magic.
    Pad,
    /// `--test`: as [`Trailer::Pad`]; an Intel HEX output also carries an
    /// erased image_ok field.
    Test,
    /// `--confirm`: as [`Trailer::Pad`] with image_ok set.
    Confirm,
}

impl Trailer {
    /// imgtool's flags as one choice: `--confirm` and `--test` imply
    /// `--pad`, and `--confirm` wins over `--test`.
    #[must_use]
    pub const fn from_flags(pad: bool, test: bool, confirm: bool) -> Self {
        if confirm {
            Self::Confirm
        } else if test {
            Self::Test
        } else if pad {
            Self::Pad
        } else {
            Self::None
        }
    }

    /// Whether the image is padded to the slot size.
    #[must_use]
    pub const fn pads(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// `--sha`: the image hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashChoice {
    /// The key type's default (SHA-256 when unsigned).
    #[default]
    Auto,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashChoice {
    /// The algorithm, [`HashChoice::Auto`] resolving to SHA-256.
    #[must_use]
    pub const fn alg(self) -> HashAlg {
        match self {
            Self::Auto | Self::Sha256 => HashAlg::Sha256,
            Self::Sha384 => HashAlg::Sha384,
            Self::Sha512 => HashAlg::Sha512,
        }
    }
}

/// What the signature covers. Pure signing is a separate capability of a
/// signer ([`super::PureImageSigner`]), which only Ed25519 has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// The image hash (prehash signing), with this hash choice.
    Prehash(HashChoice),
    /// `--pure`: the hashed region itself (Ed25519 only); the hash is the
    /// key type's own and the image carries SIG_PURE.
    Pure,
}

impl Default for Signing {
    fn default() -> Self {
        Self::Prehash(HashChoice::Auto)
    }
}

impl Signing {
    /// imgtool's `--pure` and `--sha` as one choice: pure signing fixes the
    /// hash algorithm.
    ///
    /// # Errors
    /// [`OptionError::PureWithHash`] for `--pure` with a `--sha` other
    /// than `auto`.
    pub fn from_flags(pure: bool, hash: HashChoice) -> Result<Self, OptionError> {
        match (pure, hash) {
            (false, h) => Ok(Self::Prehash(h)),
            (true, HashChoice::Auto) => Ok(Self::Pure),
            (true, _) => Err(OptionError::PureWithHash),
        }
    }

    /// Whether this is pure signing.
    #[must_use]
    pub const fn is_pure(self) -> bool {
        matches!(self, Self::Pure)
    }
}

/// `--public-key-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublicKeyFormat {
    /// KEYHASH TLV (default).
    #[default]
    Hash,
    /// PUBKEY TLV with the full key.
    Full,
}

/// `-s/--security-counter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityCounter {
    /// An explicit value.
    Value(u32),
    /// `auto`: from the version (`major << 24 | minor << 16 | revision`).
    Auto,
}

/// `--vector-to-sign`: output what an external signer must sign instead of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorToSign {
    /// Header, payload and protected TLVs.
    Payload,
    /// Their digest.
    Digest,
}

/// Where the image runs from (`-L/--load-addr`, `-F/--rom-fixed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadAddress {
    /// Executed in place from the primary slot.
    #[default]
    Slot,
    /// Copied to this RAM address (`IMAGE_F_RAM_LOAD`).
    Ram(u32),
    /// Built for this flash address (`IMAGE_F_ROM_FIXED`).
    RomFixed(u32),
}

impl LoadAddress {
    /// imgtool's two options as one choice; zero means unset, as in
    /// imgtool (`Image.__init__`, `add_header`).
    ///
    /// # Errors
    /// [`OptionError::LoadAddressConflict`] when both are non-zero.
    pub fn from_flags(load_addr: Option<u32>, rom_fixed: Option<u32>) -> Result<Self, OptionError> {
        match (load_addr.unwrap_or(0), rom_fixed.unwrap_or(0)) {
            (0, 0) => Ok(Self::Slot),
            (ram, 0) => Ok(Self::Ram(ram)),
            (0, rom) => Ok(Self::RomFixed(rom)),
            (_, _) => Err(OptionError::LoadAddressConflict),
        }
    }

    /// `ih_load_addr` and the flag announcing it (none for address 0).
    #[must_use]
    pub const fn header_fields(self) -> (u32, ImageFlags) {
        match self {
            Self::Slot | Self::Ram(0) | Self::RomFixed(0) => (0, ImageFlags::empty()),
            Self::Ram(a) => (a, ImageFlags::RAM_LOAD),
            Self::RomFixed(a) => (a, ImageFlags::ROM_FIXED),
        }
    }
}

/// imgtool's `MAX_SW_TYPE_LENGTH` (`image.py`): the longest `--boot-record`.
pub const MAX_SW_TYPE_LENGTH: usize = 12;

/// Every `imgtool sign` option that shapes the image.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignOptions {
    /// `-v`.
    pub version: ImageVersion,
    /// `-H`: bytes before the payload, the header included.
    pub header_size: u32,
    /// `--pad-header`: the input lacks the header area; prepend it.
    pub pad_header: bool,
    /// `-S`: the slot size (0: no size check, no padding possible).
    pub slot_size: u32,
    /// `--pad`, `--test`, `--confirm`.
    pub trailer: Trailer,
    /// `--align`: the flash write size (1, 2, 4, 8, 16 or 32).
    pub align: u32,
    /// `--max-align` (8, 16 or 32; default `max(8, align)`).
    pub max_align: Option<u32>,
    /// `-M` (default 128).
    pub max_sectors: Option<u32>,
    /// `--overwrite-only`.
    pub overwrite_only: bool,
    /// How the slot-size check counts an overwrite-only trailer.
    pub slot_check: SlotCheck,
    /// `-L` / `-F`.
    pub load_address: LoadAddress,
    /// `-R`: the value of erased flash (0xff or 0).
    pub erased_val: u8,
    /// `-s`.
    pub security_counter: Option<SecurityCounter>,
    /// `-d`.
    pub dependencies: Vec<Dependency>,
    /// `--boot-record`: the software type (at most
    /// [`MAX_SW_TYPE_LENGTH`] characters).
    pub boot_record: Option<String>,
    /// `--custom-tlv` / `--custom-tlv-file`, in order.
    pub custom_tlvs: CustomTlvs,
    /// `--non-bootable`.
    pub non_bootable: bool,
    /// `--public-key-format`.
    pub public_key_format: PublicKeyFormat,
    /// `--sha` / `--pure`.
    pub signing: Signing,
    /// `--vector-to-sign`.
    pub vector_to_sign: Option<VectorToSign>,
    /// `--save-enctlv`: the trailer keeps the whole encryption TLV.
    pub save_enctlv: bool,
    /// `--vid`: vendor UUID (see [`super::parse_uuid`]).
    pub vid: Option<uuid::Uuid>,
    /// `--cid`: image class UUID (see [`super::parse_uuid`]).
    pub cid: Option<uuid::Uuid>,
    /// `-e`: the byte order of the header, TLV areas and trailer magic.
    pub endian: crate::codec::Endian,
    /// The embedded public key (DER, as `getpub -e raw` prints it) whose
    /// hash the boot record names as its signer when no signer is given:
    /// imgtool takes it from `--fix-sig-pubkey`, or from a `-k` key that
    /// cannot sign (X25519), for a vector exported to be signed elsewhere.
    pub boot_record_signer: Option<Vec<u8>>,
    /// The compression of the payload this image carries (set by
    /// [`super::sign_compressed`] for its second image: the header flags).
    pub(super) compression: super::Compression,
    /// DECOMP_* TLVs of the second image of [`super::sign_compressed`].
    pub(super) compression_tlvs: Vec<(crate::codec::tlv::TlvKind, Vec<u8>)>,
}

impl SignOptions {
    /// imgtool's defaults for the required `-v`, `-H` and `-S`.
    #[must_use]
    pub fn new(version: ImageVersion, header_size: u32, slot_size: u32) -> Self {
        Self {
            version,
            header_size,
            pad_header: false,
            slot_size,
            trailer: Trailer::None,
            align: 1,
            max_align: None,
            max_sectors: None,
            overwrite_only: false,
            slot_check: SlotCheck::Bootloader,
            load_address: LoadAddress::Slot,
            erased_val: 0xff,
            security_counter: None,
            dependencies: Vec::new(),
            boot_record: None,
            custom_tlvs: CustomTlvs::default(),
            non_bootable: false,
            public_key_format: PublicKeyFormat::Hash,
            signing: Signing::default(),
            vector_to_sign: None,
            save_enctlv: false,
            vid: None,
            cid: None,
            endian: crate::codec::Endian::Little,
            boot_record_signer: None,
            compression: super::Compression::Disabled,
            compression_tlvs: Vec::new(),
        }
    }

    /// Checks the values imgtool checks before building.
    ///
    /// # Errors
    /// The first [`OptionError`] found; [`OptionError::field`] names the option.
    pub fn check(&self) -> Result<(), OptionError> {
        if (self.header_size as usize) < IMAGE_HEADER_SIZE {
            return Err(OptionError::HeaderSizeTooSmall(self.header_size));
        }
        if u16::try_from(self.header_size).is_err() {
            return Err(OptionError::HeaderSizeTooLarge(self.header_size));
        }
        if !matches!(self.align, 1 | 2 | 4 | 8 | 16 | 32) {
            return Err(OptionError::Align(self.align));
        }
        if let Some(m) = self.max_align {
            if !matches!(m, 8 | 16 | 32) {
                return Err(OptionError::MaxAlign(m));
            }
        }
        if !matches!(self.erased_val, 0 | 0xff) {
            return Err(OptionError::ErasedValue(self.erased_val));
        }
        if let Some(sw_type) = &self.boot_record {
            let chars = sw_type.chars().count();
            if chars > MAX_SW_TYPE_LENGTH {
                return Err(OptionError::BootRecordTooLong { chars });
            }
        }
        Ok(())
    }

    /// The effective `--max-align`.
    #[must_use]
    pub fn effective_max_align(&self) -> u32 {
        self.max_align.unwrap_or(DEFAULT_MAX_ALIGN.max(self.align))
    }

    /// The trailer layout with `max_sectors` sectors, for an image whose
    /// encryption TLV is `enc_tlv_len` bytes (imgtool reserves key fields
    /// of 16 bytes, or of the whole TLV with `--save-enctlv`).
    #[must_use]
    pub fn trailer_layout(&self, max_sectors: u32, enc_tlv_len: Option<usize>) -> TrailerLayout {
        let enc_key_size = match enc_tlv_len {
            None => 0,
            Some(len) if self.save_enctlv => u32::try_from(len).unwrap_or(u32::MAX),
            Some(_) => 16,
        };
        TrailerLayout {
            enc_key_size,
            ..TrailerLayout::new(self.effective_max_align(), self.align, max_sectors)
        }
    }

    /// imgtool's `_trailer_size` with `max_sectors` sectors: the swap
    /// trailer, or for overwrite-only just image_ok and the magic.
    #[must_use]
    pub fn trailer_size_with(&self, max_sectors: u32, enc_tlv_len: Option<usize>) -> u32 {
        let layout = self.trailer_layout(max_sectors, enc_tlv_len);
        if self.overwrite_only {
            return layout
                .max_align
                .saturating_mul(2)
                .saturating_add(layout.magic_align_size());
        }
        layout.size()
    }

    /// imgtool's `_trailer_size` with the configured `-M`.
    #[must_use]
    pub fn trailer_size(&self, enc_tlv_len: Option<usize>) -> u32 {
        self.trailer_size_with(self.max_sectors_or_default(), enc_tlv_len)
    }

    /// `-M`, or imgtool's default.
    #[must_use]
    pub fn max_sectors_or_default(&self) -> u32 {
        self.max_sectors.unwrap_or(DEFAULT_MAX_SECTORS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_sizes_match_reference_table() {
        // reference/mcuboot.md §2.3: 128 sectors, W = A = 8 -> 3120 bytes.
        let mut o = SignOptions::new(ImageVersion::default(), 32, 0x10000);
        o.align = 8;
        assert_eq!(o.trailer_size(None), 3120);
        o.align = 32;
        o.max_align = Some(32);
        assert_eq!(o.trailer_size(None), 12448);
        o.overwrite_only = true;
        assert_eq!(o.trailer_size(None), 2 * 32 + 32);
    }

    #[test]
    fn flags_become_one_choice() {
        assert_eq!(Trailer::from_flags(false, true, true), Trailer::Confirm);
        assert_eq!(Trailer::from_flags(false, true, false), Trailer::Test);
        assert_eq!(Trailer::from_flags(true, false, false), Trailer::Pad);
        assert_eq!(Trailer::from_flags(false, false, false), Trailer::None);
        assert_eq!(
            Signing::from_flags(true, HashChoice::Sha256),
            Err(OptionError::PureWithHash)
        );
        assert_eq!(
            LoadAddress::from_flags(Some(0x100), Some(0x200)),
            Err(OptionError::LoadAddressConflict)
        );
        assert_eq!(
            LoadAddress::from_flags(Some(0), Some(0x200)),
            Ok(LoadAddress::RomFixed(0x200))
        );
    }
}
